"""Eighteenth break round, the delegation family's findings: an InvoicePaid WHMCS does not confirm (a hook resent, a
payment staff took back) made a staff task to refund money never received, and could renew what nobody paid for
(HIGH 1)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests

from tests.conftest import WEBHOOK_SECRET, BridgeWorld
from tests.test_delegation_renewal_e2e import World, asked, due, owner_invoice, pay, world
from whmcs_bridge.intake import signing

__all__ = ["world"]  # the fixture, used by name


def hook(world: BridgeWorld, kind: str, data: dict[str, Any]) -> int:
    """The PHP hook's event, signed, sent to the bridge's receiver: its HTTP status."""
    event = {
        "type": kind,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": {"whmcs_url": world.sandbox.url, "hook_version": 2},
        "data": data,
    }
    body = json.dumps(event).encode()
    headers = signing.headers(WEBHOOK_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    return requests.post(world.public + "/hooks/whmcs", data=body, headers=headers, timeout=10).status_code


def staff_tasks(world: World, client: int) -> list[str]:
    return [n["note"] for n in world.sandbox.rows("client_notes", client_id=client) if "STAFF TASK" in n["note"]]


def test_an_invoice_paid_whmcs_does_not_show_after_the_owner_paid_first_asks_no_refund(world: World):
    """The owner paid first, the agency's invoice was cancelled with nothing on it; then an InvoicePaid for it
    arrives. WHMCS shows it cancelled and unpaid: no refund task, no email to the agency."""
    invoice = owner_invoice(world)
    grant_id, invoices = asked(world)
    pay(world, invoice["id"], "OWNER-1")
    world.settle(4)
    mine = invoices[0]["id"]
    assert world.sandbox.rows("invoices", id=mine)[0]["status"] == "Cancelled"
    mails_before = len(world.emails(10))
    assert hook(world, "InvoicePaid", {"invoiceid": mine, "userid": 10}) == 202
    world.settle(4)
    assert staff_tasks(world, 10) == [] and staff_tasks(world, 11) == []
    assert len(world.emails(10)) == mails_before, [e["subject"] for e in world.emails(10)[mails_before:]]
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, owner paid" in shown and "nothing paid" in shown, shown


def test_an_invoice_paid_whmcs_does_not_show_renews_nothing_until_it_is_paid(world: World):
    """The agency's renewal invoice is open and unpaid; an InvoicePaid for it arrives: nothing is renewed for a
    payment WHMCS does not show. The agency then really pays: renewed once."""
    before = due(world)
    grant_id, invoices = asked(world)
    mine = invoices[0]["id"]
    assert hook(world, "InvoicePaid", {"invoiceid": mine, "userid": 10}) == 202
    world.settle(4)
    assert due(world) == before
    assert world.sandbox.rows("invoices", id=mine)[0]["status"] == "Unpaid"
    assert staff_tasks(world, 10) == [] and staff_tasks(world, 11) == []
    pay(world, mine, "CARD-1")
    world.settle(4)
    assert due(world) != before
    renewed_once = due(world)
    world.settle(4)
    assert due(world) == renewed_once
    assert "renewed" in world.run("delegations", "show", grant_id).output
