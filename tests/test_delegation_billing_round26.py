"""Issue 16, twenty-sixth round (delegation billing, from the twenty-fifth break round's open findings): after a write
answered past the timeout, the owner's invoice paid and then cut (its payments above what it bills now) was missed
(F2); in payer mode the owner paying its order invoice while its items came off it left the order Pending (F4); the
owner's part payment during the renewal's write was told as "paid twice" (F6); a payment after the grant's last day
passed while delegation was off was told as "paid twice" (F8)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_billing_round24 import owner_pays_during_the_write
from tests.test_delegation_payer_e2e import world_with
from tests.test_delegation_renewal_e2e import agency_invoices, asked, due, next_month, owner_invoice, pay
from tests.test_delegation_renewal_round23 import pay_once_updating
from tests.test_delegation_renewal_settle_e2e import World, agency_world
from tests.test_resync import switch


@pytest.fixture
def slow(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


def past_grace(world: World, times: int = 4) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")  # past the call's grace
    for _ in range(times):
        world.run("tick", "--at", at)


def grant_notes(world: World, grant_id: str, client: int = 10) -> list[str]:
    return [n["note"] for n in world.sandbox.rows("client_notes", client_id=client) if grant_id in n["note"]]


def with_domain_line(world: World) -> dict[str, Any]:
    """The owner's #2 bills the hosting and the domain (14.95 + 9.95), so the renewal deletes its line, not the
    invoice."""
    invoice = owner_invoice(world)
    world.sandbox.control(
        "line",
        {
            "invoice": invoice["id"],
            "type": "Domain",
            "relid": 11,
            "description": "Domain Renewal - boulangerie-dupont.fr - 1 Year/s (17/07/2027 - 16/07/2028)",
            "amount": "9.95",
            "taxed": False,
        },
    )
    return invoice


def test_the_owner_paying_its_kept_invoice_during_a_write_answered_after_the_timeout_is_paid_twice(slow: World):
    """F2 (HIGH): the owner's #2 keeps its domain line, so the renewal deletes only the hosting's line; that write is
    held 3 s while the bridge gives up after 1 s, and the owner pays #2 in full (24.90) meanwhile. After the late
    answer #2 is Paid, 9.95 billed and 24.90 paid on it: the owner paid the renewed period too. The service moved one
    period, the renewal is "paid twice", staff refund the delegate and restore #2's line, and the owner is not told
    the agency paid."""
    world = slow
    sandbox = world.sandbox
    invoice = with_domain_line(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 3)
    past_grace(world)
    [now] = sandbox.rows("invoices", id=invoice["id"])
    assert (now["status"], now["total"]) == ("Paid", "9.95"), now  # the repro's facts
    assert due(world) == next_month(before)
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = grant_notes(world, grant_id)
    assert any(f"#{invoice['id']} " in n and "Paid" in n and "24.90" in n for n in notes), notes
    assert not [e for e in world.emails(11) if "was paid by" in e["subject"]]


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


def owner_pays_order_during_lines_off(
    world: BridgeWorld, addon: str | None = None, owner_pays_by: Callable[[Any, int], None] = pay_once_updating
) -> tuple[int, int, int]:
    """Payer mode: the agency's user orders for client 12; the bridge's UpdateInvoice taking the order's items off
    the owner's order invoice is held 3 s in WHMCS, and the owner pays that invoice meanwhile (`owner_pays_by`: in
    full by default). The order, the owner's invoice, the agency's invoice."""
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()
    sandbox.control("faults", {"delay_s": 3, "count": 1, "actions": ["UpdateInvoice"]})
    made = sandbox.control(
        "checkout",
        {"client_id": 12, "user_id": 1, "pid": 3, "domain": "martin-new.fr", **({"addon": addon} if addon else {})},
    )
    owners = int(made["InvoiceID"])
    owner_pays = threading.Thread(target=owner_pays_by, args=(world, owners))
    owner_pays.start()
    try:
        world.settle(6)
    finally:
        owner_pays.join()
    time.sleep(3)
    world.settle(6)
    [mine] = [i for i in sandbox.rows("invoices", client_id=10) if f"Order #{made['OrderID']}" in i["notes"]]
    return int(made["OrderID"]), owners, int(mine["id"])


@pytest.mark.parametrize("addon", [None, "5.00"])
def test_the_owner_paying_its_order_invoice_while_its_items_come_off_it_is_a_staff_task(
    payer: BridgeWorld, addon: str | None
):
    """F4 (HIGH): the owner paid its order invoice while the bridge's write taking the order's items off it was held
    in WHMCS; the write then landed (the invoice Cancelled, or Paid with the addon alone, holding the owner's money).
    The owner paid the order: the agency's invoice is cancelled and the agency told it has nothing to pay; staff get
    one sticky task naming the owner's invoice, what WHMCS shows on it, and the order to accept; the owner's account
    is not told that the order's items came off its invoice and wait for the agency."""
    sandbox = payer.sandbox
    order, owners, mine = owner_pays_order_during_lines_off(payer, addon)
    [now] = sandbox.rows("invoices", id=owners)
    assert now["status"] == ("Paid" if addon else "Cancelled"), now  # the repro's facts
    assert sandbox.rows("invoices", id=mine)[0]["status"] == "Cancelled"
    assert any("nothing for you to pay" in e["subject"] for e in payer.emails(10))
    paid = "26.90" if addon else "21.90"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"] and paid in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"], [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
    assert f"invoice #{owners} " in tasks[0]["note"] and f"order #{order} " in tasks[0]["note"], tasks[0]["note"]
    assert "accept" in tasks[0]["note"] and now["status"] in tasks[0]["note"], tasks[0]["note"]
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
    assert not [n for n in notes if "accepted when the contact pays" in n], notes


def pay_part_once_updating(world: World, invoice: int, amount: str) -> None:
    """The owner pays `amount` of `invoice` as soon as WHMCS has received the bridge's UpdateInvoice (held there)."""
    for _ in range(600):
        if world.sandbox.control("faults")["count"] == 0:
            world.sandbox.control(
                "act",
                {
                    "action": "AddInvoicePayment",
                    "invoiceid": invoice,
                    "transid": "CARD-OWNER-PART",
                    "gateway": "stripe",
                    "amount": amount,
                },
            )
            return
        time.sleep(0.05)


def test_the_owner_part_paying_during_the_write_is_renewed_for_the_delegate_and_the_owners_part_refunded(slow: World):
    """F6 (MEDIUM): the owner pays 5.00 of its #2 while the renewal's cancel of #2 is held in WHMCS (within the
    timeout). WHMCS renews nothing for a part payment; the bridge renews the service once for the delegate's payment.
    The renewal is "renewed", not "paid twice"; staff get one sticky task on the owner's account naming #2 Cancelled
    with the owner's 5.00 on it, to refund or credit the owner, and no task asks to refund the delegate."""
    world = slow
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    part = functools.partial(pay_part_once_updating, amount="5.00")
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 0.8, owner_pays_by=part)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    assert due(world) == next_month(before)  # renewed once, by the bridge, for the delegate's payment
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, renewed" in shown, shown
    assert not [n for n in grant_notes(world, grant_id) if "STAFF TASK" in n], grant_notes(world, grant_id)
    tasks = [n for n in grant_notes(world, grant_id, 11) if "STAFF TASK" in n]
    assert len(tasks) == 1 and f"#{invoice['id']} " in tasks[0] and "5.00" in tasks[0], tasks
    assert "Cancelled" in tasks[0] and "refund or credit" in tasks[0].lower(), tasks


def test_a_renewal_paid_after_the_grants_last_day_passed_while_delegation_was_off_is_grant_ended(
    sandbox: Sandbox, tmp_path: Path
):
    """F8 (MEDIUM): the grant's last day is tomorrow and the delegate's renewal invoice is open; delegation is turned
    off, three days pass, the delegate pays; turned on again, nothing is renewed (the grant's end passed), and the
    task and the history say the grant ended before it was renewed, not that the owner paid too."""
    sandbox.load("agency")
    world = World(sandbox, tmp_path)
    try:
        world.run("tick")
        before = due(world)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        out = world.run(
            "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--expires", tomorrow,
            "--by", "alice", "--basis", "owner's email",
        ).output  # fmt: skip
        grant_id = out.split()[0]
        world.settle()
        world.run("delegations", "renew", grant_id, "--by", "lena")
        world.settle(4)
        [mine] = agency_invoices(world)
        switch(world, "delegation", False)
        later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
        world.run("tick", "--at", later)
        pay(world, mine["id"], "CARD-LATE")
        sandbox.control("hooks")
        world.run("tick", "--at", later)
        switch(world, "delegation", True)
        for _ in range(4):
            world.run("tick", "--at", later)
        assert due(world) == before  # nothing renewed
        shown = world.run("delegations", "show", grant_id).output
        assert "paid twice" not in shown and "renewal 1: service #110, grant ended" in shown, shown
        notes = [n for n in grant_notes(world, grant_id) if "STAFF TASK" in n]
        assert notes and not [n for n in notes if "the owner paid invoice" in n], notes
    finally:
        world.close()


def test_the_owner_paying_while_delegation_was_off_withdraws_the_delegates_invoice_once_it_is_on(
    sandbox: Sandbox, tmp_path: Path
):
    """F3 (MEDIUM): delegation is turned off while the delegate's renewal invoice is open; the owner pays its own
    invoice; turned on again, the resync re-reads the owner's invoice each renewal waits on too: the owner paid first,
    the delegate's invoice is cancelled, nothing renewed by the bridge."""
    sandbox.load("agency")
    world = World(sandbox, tmp_path)
    try:
        world.run("tick")
        invoice = owner_invoice(world)
        grant_id, [mine] = asked(world)
        switch(world, "delegation", False)
        world.settle()
        pay(world, invoice["id"], "CARD-OWNER-OFF")
        world.settle()  # the payment is polled and consumed while delegation is off
        assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Unpaid"
        switch(world, "delegation", True)
        world.settle(4)
        assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Cancelled"
        assert "renewal 1: service #110, owner paid" in world.run("delegations", "show", grant_id).output
        assert [c for c in sandbox.calls() if c["action"] == "UpdateClientProduct"] == []
    finally:
        world.close()
