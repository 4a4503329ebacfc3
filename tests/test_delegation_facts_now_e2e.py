"""Facts over memory for grants (issue 16, ninth break round): what a grant does is decided from what WHMCS says
now, not from what the bridge saw when it was made: a paid renewal of a service staff moved to another client
renews nothing (H5); a renewal applied to a service WHMCS shows suspended tells staff, not the owner, that it is
still suspended (H4); a consent accepted after staff moved the service activates nothing (M1); a closed client
neither receives nor gives a grant, and a grant whose side WHMCS shows closed stops acting (M2). The agency
scenario, the real receiver and consent pages, the CLI as staff run it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, asked, due, owner_invoice, pay, staff_tasks


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def test_a_paid_renewal_of_a_service_moved_to_another_client_renews_nothing(world: World):
    """H5: the agency is invoiced the renewal of owner 11's service 110; staff move 110 to client 12; the agency
    pays. Nothing is renewed, owner 11's invoice is left as it is, owner 11 is not told it was renewed; one staff
    task says the agency paid for a service that now belongs to client #12; the agency is told it was not renewed,
    and the grant's show says WHMCS has the service under another client."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("move", {"service": 110, "client": 12})
    world.settle()
    mails = len(world.emails(11)), len(world.emails(12))
    pay(world, invoices[0]["id"], "CARD-H5")
    world.settle(4)
    assert due(world) == before
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    assert [i["amount"] for i in sandbox.rows("invoice_items", invoice_id=invoice["id"])] == ["14.95"]
    assert not any("renewed until" in n["note"] for n in sandbox.rows("client_notes"))
    assert (len(world.emails(11)), len(world.emails(12))) == mails
    [task] = staff_tasks(world, 10)
    assert "belongs to client #12" in task["note"] and "14.95" in task["note"], task["note"]
    told = [e for e in world.emails(10) if f"#{invoices[0]['id']}" in e["subject"]]
    assert len(told) == 1 and "no longer" in told[0]["message"], [e["subject"] for e in world.emails(10)]
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, needs staff" in shown, shown
    assert "service #110 belongs to client #12 in WHMCS now" in shown, shown
