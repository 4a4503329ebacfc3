"""Eighteenth break round, the delegation family's findings: an InvoicePaid WHMCS does not confirm (a hook resent, a
payment staff took back) made a staff task to refund money never received, and could renew what nobody paid for
(HIGH 1); a welcome template whose subject staff made print the password gave that subject, password included, to
the delegate's notice and kept it in the outbox, the audit chain, the grant's history and the poller's log events
(HIGH 2); what a client wrote in a ticket stayed in the inbox for good (MEDIUM 2); a grant revoked while the
agency had paid part of its renewal invoice told it the invoice "has been cancelled", which it was not (MEDIUM 1)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.conftest import WEBHOOK_SECRET, BridgeWorld, Sandbox
from tests.test_delegation_identity_e2e import grant, stored_text, world_with, worlds
from tests.test_delegation_renewal_e2e import World, asked, due, owner_invoice, pay, pay_part, world
from whmcs_bridge.intake import signing

__all__ = ["world", "worlds"]  # the fixtures, used by name


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


def test_a_credential_templates_notice_never_carries_its_subject(sandbox: Sandbox, tmp_path: Path, worlds):
    """Staff edited WHMCS's hosting welcome template (its name kept) so that its subject prints the password. The
    delegate's notice names the email by its template, and the subject is kept nowhere at rest."""
    world = world_with(sandbox, tmp_path, worlds)
    sandbox.control(
        "template",
        {
            "name": "Hosting Account Welcome Email",
            "type": "product",
            "subject": "Welcome {$service_domain} - your password is {$service_password}",
            "message": "<p>Your password: {$service_password}</p>",
        },
    )
    grant(world, "--service", "110")
    world.settle()
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Hosting Account Welcome Email"})
    world.settle()
    password = sandbox.rows("services", id=110)[0]["password"]
    [owners] = [e for e in world.emails(11) if "your password is" in e["subject"]]
    assert password in owners["subject"]  # the template does print it: what WHMCS sent the owner
    told = [e for e in world.emails(10) if "Hosting Account Welcome Email" in e["subject"] + e["message"]]
    assert told, [e["subject"] for e in world.emails(10)]
    for mail in world.emails(10):
        assert password not in mail["subject"] + mail["message"], mail["subject"]
    world.run("tick")
    assert password.encode() not in stored_text(tmp_path / "state.db")


def test_what_a_client_wrote_in_a_ticket_is_not_kept_once_decided(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    grant(world, "--service", "110")
    world.settle()
    words = "Please send me the FTP login of boulangerie-dupont.fr, my cousin Zebulon-Quartz needs it"
    sandbox.post("OpenTicket", deptid=1, clientid=11, subject="FTP for Zebulon-Quartz", message=words)
    world.settle(4)
    world.run("tick")
    kept = stored_text(tmp_path / "state.db")
    assert b"Zebulon-Quartz" not in kept


def test_a_grant_ended_with_a_part_paid_renewal_invoice_tells_the_agency_no_falsehood(world: World):
    """The agency paid 5.00 of its 14.95 renewal invoice, then the owner revoked the grant. The invoice is not
    cancelled (staff refund or credit the 5.00); the end email does not say it was."""
    grant_id, invoices = asked(world)
    mine = invoices[0]["id"]
    pay_part(world, mine, "PART-1", "5.00")
    world.settle(4)
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    world.settle(4)
    assert world.sandbox.rows("invoices", id=mine)[0]["status"] == "Unpaid"
    [ended] = [e for e in world.emails(10) if "has ended" in e["subject"]]
    text = ended["message"]
    assert "has been cancelled" not in text and f"#{mine}" in text, text
    assert "refund or credit" in text, text
    assert staff_tasks(world, 10) or staff_tasks(world, 11)
