"""Twenty-sixth break round (delegation billing), open findings F6 to F8: in payer mode the owner's order invoice going
Payment Pending before the bridge took the order's items off it left both paying for one order with nobody told (F6);
the owner paying part of its order invoice while those items came off it was named by no task (F7); the delegate's
renewal invoice paid and refunded while delegation was off stayed "invoiced" for good (F8)."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_billing_round26 import owner_pays_order_during_lines_off, pay_part_once_updating, payer
from tests.test_delegation_payer_e2e import pay
from tests.test_delegation_renewal_e2e import asked, due
from tests.test_delegation_renewal_settle_e2e import World
from tests.test_resync import switch

__all__ = ["payer"]  # the fixture, used by name


def staff_tasks(world: BridgeWorld, client: int = 12) -> list[str]:
    return [n["note"] for n in world.sandbox.rows("client_notes", client_id=client) if "STAFF TASK" in n["note"]]


def pending_once_creating(world: BridgeWorld, invoice: int) -> None:
    """The owner's payment of `invoice` is on its way (Payment Pending) as soon as WHMCS has received the bridge's
    CreateInvoice for the agency (held there), so before the order's items can come off it."""
    for _ in range(600):
        if world.sandbox.control("faults")["count"] == 0:
            world.sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice, "status": "Payment Pending"})
            return
        time.sleep(0.05)


def owner_pending_before_lines_off(world: BridgeWorld) -> tuple[int, int, int]:
    """Payer mode: the agency's user orders for client 12 (21.90); the owner's order invoice goes Payment Pending
    while the agency's invoice is being made. The order, the owner's invoice, the agency's invoice."""
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()
    sandbox.control("faults", {"delay_s": 2, "count": 1, "actions": ["CreateInvoice"]})
    made = sandbox.control("checkout", {"client_id": 12, "user_id": 1, "pid": 3, "domain": "martin-new.fr"})
    owners = int(made["InvoiceID"])
    pending = threading.Thread(target=pending_once_creating, args=(world, owners))
    pending.start()
    try:
        world.settle(6)
    finally:
        pending.join()
    world.settle(4)
    [mine] = [i for i in sandbox.rows("invoices", client_id=10) if f"Order #{made['OrderID']}" in i["notes"]]
    return int(made["OrderID"]), owners, int(mine["id"])


def test_the_owners_payment_pending_before_the_lines_off_is_a_staff_task_and_clearing_after_the_agency_paid_a_refund(
    payer: BridgeWorld,
):
    """F6 (HIGH): the owner's order invoice is Payment Pending when the bridge would take the order's items off it:
    nothing is taken off, and staff hear at once that two payments may come for one order. The agency pays: the order
    is accepted for it. The owner's payment then clears: one sticky staff task names the owner (client 12), its
    invoice and the 21.90 to refund or credit."""
    sandbox = payer.sandbox
    order, owners, mine = owner_pending_before_lines_off(payer)
    [now] = sandbox.rows("invoices", id=owners)
    assert now["status"] == "Payment Pending" and now["total"] == "21.90", now  # the repro's facts
    told = staff_tasks(payer)
    assert len(told) == 1 and f"#{owners} " in told[0] and "Payment Pending" in told[0], told
    assert f"#{mine} " in told[0], told
    pay(payer, mine, "CARD-AGENCY")
    payer.settle(4)
    assert [o["status"] for o in sandbox.rows("orders", id=order)] == ["Active"]
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
    assert [n for n in notes if f"items are still on invoice #{owners}," in n], notes  # not "came off"
    assert not [n for n in notes if f"came off invoice #{owners}" in n], notes
    pay(payer, owners, "BANK-OWNER")
    payer.settle(4)
    assert sandbox.rows("invoices", id=owners)[0]["status"] == "Paid"
    both = [t for t in staff_tasks(payer) if t not in told]
    both = [t for t in both if "21.90" in t and f"invoice #{owners}," in t]
    assert len(both) == 1, staff_tasks(payer)
    assert "refund or credit this client" in both[0].lower(), both[0]
    shown = payer.run("delegations", "show", f"o{order}-10").output  # the order's technical grant
    assert f"order #{order}: paid twice" in shown, shown


def test_the_owners_pending_payment_clearing_first_withdraws_the_agencys_invoice(payer: BridgeWorld):
    """F6 (HIGH), the other order: the owner's pending payment clears before the agency pays: the owner paid the
    order; the agency's invoice is cancelled and the agency told it has nothing to pay."""
    sandbox = payer.sandbox
    _, owners, mine = owner_pending_before_lines_off(payer)
    pay(payer, owners, "BANK-OWNER")
    payer.settle(4)
    assert sandbox.rows("invoices", id=owners)[0]["status"] == "Paid"
    assert sandbox.rows("invoices", id=mine)[0]["status"] == "Cancelled"
    assert any("nothing for you to pay" in e["subject"] for e in payer.emails(10))


def test_the_owner_part_paying_its_order_invoice_while_its_items_come_off_it_is_a_staff_task(payer: BridgeWorld):
    """F7 (HIGH): the owner pays 15.00 of its order invoice (order 21.90 + addon 5.00) while the bridge's write taking
    the order's items off it is held in WHMCS: the invoice is left Unpaid billing 5.00 with 15.00 on it. The agency's
    invoice stays (the owner paid no order); staff get one sticky task naming the owner's 15.00 on that invoice."""
    sandbox = payer.sandbox
    part = functools.partial(pay_part_once_updating, amount="15.00")
    order, owners, mine = owner_pays_order_during_lines_off(payer, "5.00", owner_pays_by=part)
    [now] = sandbox.rows("invoices", id=owners)
    assert (now["status"], now["total"]) == ("Unpaid", "5.00"), now  # the repro's facts
    assert sandbox.rows("invoices", id=mine)[0]["status"] == "Unpaid"
    tasks = [t for t in staff_tasks(payer) if "15.00" in t]
    assert len(tasks) == 1 and f"#{owners} " in tasks[0] and "refund or credit" in tasks[0].lower(), staff_tasks(payer)
    pay(payer, mine, "CARD-AGENCY")
    payer.settle(4)
    assert [o["status"] for o in sandbox.rows("orders", id=order)] == ["Active"]
    assert len([t for t in staff_tasks(payer) if "15.00" in t]) == 1


def test_a_renewal_paid_and_refunded_while_delegation_was_off_ends_refunded(sandbox: Sandbox, tmp_path: Path):
    """F8 (LOW): delegation off, the delegate pays its renewal invoice and staff refund it; delegation on again, the
    resync reads it Refunded: the renewal ends (nothing renewed, `delegations show` no longer says invoiced) and
    staff get one note saying the owner's invoice still bills the period."""
    sandbox.load("agency")
    world = World(sandbox, tmp_path)
    try:
        world.run("tick")
        before = due(world)
        grant_id, [mine] = asked(world)
        switch(world, "delegation", False)
        world.settle()
        pay(world, mine["id"], "CARD-AGENCY-OFF")
        world.settle()
        sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": mine["id"], "status": "Refunded"})
        world.settle()
        switch(world, "delegation", True)
        world.settle(4)
        assert due(world) == before  # nothing renewed
        shown = world.run("delegations", "show", grant_id).output
        assert "renewal 1: service #110, refunded" in shown, shown
        notes = [n["note"] for n in sandbox.rows("client_notes", client_id=11) if grant_id in n["note"]]
        assert any(f"#{mine['id']} " in n and "refunded" in n for n in notes), notes
    finally:
        world.close()
