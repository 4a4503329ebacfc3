"""Issue 16, twenty-fourth break round, delegation billing HIGH 6 (repro_paid_while_disabled): delegation was turned
off while an agency's renewal invoice was open; the agency paid it; turned on again, delegation's resync re-read
services, users and orders, not the renewal invoices its grants wait on: the renewal stayed "invoiced" for good, the
service was not renewed and the owner's invoice still billed the period. The resync now re-reads the invoice each
live grant's renewal waits on, and one WHMCS shows paid (or cancelled) reaches the rules as the poller would have
told it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, agency_invoices, asked, due, next_month, owner_invoice, pay
from tests.test_resync import switch


def test_a_renewal_paid_while_delegation_was_off_is_applied_once_it_is_on_again(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("agency")
    world = World(sandbox, tmp_path)
    try:
        world.run("tick")
        invoice = owner_invoice(world)
        before = due(world)
        _, [mine] = asked(world)
        switch(world, "delegation", False)
        world.settle()
        pay(world, mine["id"], "CARD-WHILE-OFF")
        world.settle()  # the payment is polled and consumed while delegation is off
        assert due(world) == before
        switch(world, "delegation", True)
        world.settle(4)  # the first pass resyncs (its rules' fingerprint changed), the next ones decide
        assert due(world) == next_month(before)
        assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"  # it billed nothing else
        world.run("resync", "--family", "delegation")
        world.settle(3)
        assert due(world) == next_month(before)  # renewed once
        assert [i["status"] for i in agency_invoices(world)] == ["Paid"]
    finally:
        world.close()
