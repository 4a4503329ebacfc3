"""`delegation.order_invoice_to: payer` (fourteenth break round, G4, G5, G6, G10, G14): what the agency is invoiced,
and what its money does, is decided on the order and the invoices as WHMCS shows them when the bridge acts. An order
staff cancelled before the agency was invoiced is not invoiced to it (one invoiced anyway is withdrawn); every cent
paid for a cancelled order is in a staff task; an agency invoice WHMCS made late and paid before the bridge found it
is acted on as that payment; a grant revoked with the order invoice unpaid withdraws it; the note that the order was
accepted is written once after an interrupted AcceptOrder. Against the sandbox, the real receiver and the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WEBHOOK_SECRET, BridgeWorld, Sandbox
from tests.test_daemon import wait_until
from tests.test_delegation_payer_e2e import agency_invoices, order_seen, pay, pay_part, world_with
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


@pytest.fixture
def quick(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    """A 1 s WHMCS timeout: a call WHMCS answers after 2.5 s is in flight, its outcome unknown, looked for in WHMCS
    2 s later (as after a kill -9 during the call)."""
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n  order_invoice_to: payer\n")
    quick = "  max_attempts: 2\n  timeout_s: 1\n  settle_after: 2s\n"
    w.config.write_text(w.config.read_text().replace("  max_attempts: 2\n", quick))
    w.run("tick")  # the first pass records the call timeout the database runs with
    yield w
    w.close()


def staff_tasks(world: BridgeWorld) -> list[dict[str, Any]]:
    return [n for n in world.sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]


def owner_invoice(world: BridgeWorld) -> dict[str, Any]:
    [order] = world.sandbox.rows("orders", id=1)
    [invoice] = world.sandbox.rows("invoices", id=order["invoice_id"])
    return invoice


def shown(world: BridgeWorld) -> str:
    return str(world.run("delegations", "show", "o1-10").output)


def later(world: BridgeWorld, *minutes: int) -> None:
    """Passes this many minutes from now (past the minute a cancel request is read after, an email after it)."""
    for m in minutes:
        world.run("tick", "--at", (datetime.now(UTC) + timedelta(minutes=m)).isoformat(timespec="seconds"))


def in_flight(world: BridgeWorld, kind: str) -> str:
    """The key of the one action of this kind, in flight (its call answered after the bridge's timeout)."""
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [made] = [e for e in outbox.entries(db) if e.kind == kind]
    assert made.status == "in_flight", made
    return made.key


def reconciled(world: BridgeWorld, key: str) -> None:
    """Passes at the instant the in-flight action is due again (its call cannot still be running then), until it
    is looked for in WHMCS: the next passes of a daemon restarted after a kill -9, minutes, not hours, later."""

    def due_pass() -> bool:
        with Database(world.config.parent / "state.db", migrate=False) as db:
            entry = outbox.by_key(db, key)
        assert entry is not None
        at = max(datetime.fromisoformat(entry.not_before or "1970-01-01T00:00:00+00:00"), datetime.now(UTC))
        world.run("tick", "--at", (at + timedelta(seconds=1)).isoformat(timespec="seconds"))
        return status_of(world, key) != "in_flight"

    wait_until(due_pass, 60)


def status_of(world: BridgeWorld, key: str) -> str:
    with Database(world.config.parent / "state.db", migrate=False) as db:
        entry = outbox.by_key(db, key)
    assert entry is not None
    return entry.status


# --- G4 ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("staff_action, status", [("CancelOrder", "Cancelled"), ("FraudOrder", "Fraud")])
def test_an_order_staff_cancelled_before_the_agency_was_invoiced_is_not_invoiced_to_it(
    payer: BridgeWorld, tmp_path: Path, staff_action: str, status: str
):
    """G4 (f7_payer_cancel_order.py early): staff cancel the order (or mark it as fraud) at once, before the bridge
    invoiced the agency: the order's status is read from WHMCS before CreateInvoice; nothing is invoiced to the
    agency, the owner's invoice is left as WHMCS has it, no note says the order is accepted when the agency pays."""
    sandbox = payer.sandbox
    before = owner_invoice(payer)
    sandbox.control("act", {"action": staff_action, "orderid": 1})
    order_seen(payer, tmp_path)
    later(payer, 5, 30)
    assert sandbox.rows("orders", id=1)[0]["status"] == status
    assert agency_invoices(payer) == [] and not any(c["action"] == "CreateInvoice" for c in sandbox.calls())
    assert owner_invoice(payer)["status"] == before["status"] and owner_invoice(payer)["total"] == before["total"]
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert not any("accepted when" in n for n in notes), notes
    assert f"order #1: not invoiced: the order is {status} in WHMCS" in shown(payer), shown(payer)
    assert "nothing is waiting" in payer.run("approvals", "list").output


def test_an_order_cancelled_while_the_agency_was_being_invoiced_has_that_invoice_withdrawn_and_the_owners_left(
    payer: BridgeWorld, tmp_path: Path
):
    """G4's race (f7_payer_cancel_order.py slow): the agency's invoice is made, then staff cancel the order before
    its lines came off the owner's invoice (WHMCS refused UpdateInvoice meanwhile; no hook heard): the order's
    status is read before the lines-off step, the owner's invoice is left as it is, the agency's invoice is
    withdrawn as for an order cancelled while invoiced, and the agency is told."""
    sandbox = payer.sandbox
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("hooks", {"url": None, "secret": None})
    sandbox.control("act", {"action": "CancelOrder", "orderid": 1})
    sandbox.control("hooks", {"url": f"{payer.public}/hooks/whmcs", "secret": WEBHOOK_SECRET})
    sandbox.control("faults", {"status": 503, "count": 0})
    later(payer, 120, 180, 240, 300)  # past the executor's back-off after the outage
    mine = owner_invoice(payer)
    assert mine["status"] == "Unpaid" and mine["total"] == "21.90", mine
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    told = [e for e in payer.emails(10) if "cancelled" in e["subject"].lower()]
    assert len(told) == 1 and f"#{invoice['id']}" in told[0]["message"], [e["subject"] for e in payer.emails(10)]
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert not any("accepted when" in n for n in notes), notes
    assert "order #1: not paid: the order was cancelled in WHMCS; the delegate's invoice cancelled" in shown(payer)
    assert "nothing is waiting" in payer.run("approvals", "list").output


def test_a_part_paid_invoice_for_an_order_cancelled_before_its_lines_came_off_says_they_are_still_on_the_owners(
    payer: BridgeWorld, tmp_path: Path
):
    """G4's race with G5's part payment: the agency paid 10.00 of its invoice, then staff cancel the order before
    its lines came off the owner's invoice: the owner's invoice is left whole, the agency's stays open (it holds the
    agency's money), and the refund task names the 10.00 and says the items are still on the owner's invoice."""
    sandbox = payer.sandbox
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    pay_part(payer, invoice["id"], "AG-PART", "10.00")
    sandbox.control("hooks", {"url": None, "secret": None})
    sandbox.control("act", {"action": "CancelOrder", "orderid": 1})
    sandbox.control("hooks", {"url": f"{payer.public}/hooks/whmcs", "secret": WEBHOOK_SECRET})
    sandbox.control("faults", {"status": 503, "count": 0})
    later(payer, 120, 180, 240, 300)
    mine = owner_invoice(payer)
    assert mine["status"] == "Unpaid" and mine["total"] == "21.90", mine
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    [task] = staff_tasks(payer)
    said = str(task["note"])
    assert "10.00" in said and f"are still on invoice #{mine['id']}" in said and "had come off" not in said, said


# --- G5 ----------------------------------------------------------------------------------------------------------


def test_the_rest_paid_on_a_part_paid_invoice_for_a_cancelled_order_is_in_a_staff_task_and_the_agency_told(
    payer: BridgeWorld, tmp_path: Path
):
    """G5 (PAYREST=1 f7_payer_cancel_order.py part): the agency paid 10.00 of its 21.90, staff cancel the order:
    a task for the 10.00; the invoice stays open (it holds the agency's money), and the agency pays the other 11.90:
    a second sticky task names the whole 21.90 paid (replacing the first's amount), and the agency is told."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    pay_part(payer, invoice["id"], "AG-PART", "10.00")
    sandbox.control("act", {"action": "CancelOrder", "orderid": 1})
    payer.settle(2)
    later(payer, 5, 30)
    [first] = staff_tasks(payer)
    assert "10.00" in first["note"], first["note"]
    assert len([e for e in payer.emails(10) if "refund" in e["subject"].lower()]) == 1
    pay_part(payer, invoice["id"], "AG-REST", "11.90")
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Paid"
    payer.settle(4)
    tasks = staff_tasks(payer)
    assert len(tasks) == 2 and all(t["sticky"] == 1 for t in tasks), [t["note"] for t in tasks]
    rest = next(t for t in tasks if t["id"] != first["id"])
    said = str(rest["note"])
    assert "21.90" in said and "10.00" in said and f"#{invoice['id']}" in said and "order #1" in said, said
    told = [e for e in payer.emails(10) if "refund" in e["subject"].lower()]
    assert len(told) == 2 and "21.90" in told[-1]["message"], [e["subject"] for e in told]
    assert [c for c in sandbox.calls() if c["action"] == "AcceptOrder"] == []
    assert "refund due, 21.90" in shown(payer), shown(payer)
    payer.settle(2)  # reported again: still two tasks
    assert len(staff_tasks(payer)) == 2


# --- G6 ----------------------------------------------------------------------------------------------------------


def test_an_agency_invoice_made_late_and_paid_before_the_bridge_found_it_accepts_the_order_once(
    quick: BridgeWorld, tmp_path: Path
):
    """G6 (WAIT=420 f3_payer_kill_midcall.py CreateInvoice): WHMCS makes the agency's invoice but answers after the
    bridge's timeout; the agency pays it at once, before the bridge knew its number (its InvoicePaid named an
    invoice of nobody's). Found in WHMCS already paid, the invoice is acted on as that payment: the order's lines
    come off the owner's invoice and the order is accepted once, with its note."""
    world, sandbox = quick, quick.sandbox
    sandbox.control("faults", {"delay_s": 2.5, "count": 1, "actions": ["CreateInvoice"]})
    order_seen(world, tmp_path)
    key = in_flight(world, "create_invoice")
    for _ in range(40):
        if agency_invoices(world):
            break
        time.sleep(0.25)
    [invoice] = agency_invoices(world)
    pay(world, invoice["id"], "AG-LATE")
    world.settle(2)
    reconciled(world, key)
    world.settle(6)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    assert [c["action"] for c in sandbox.calls() if c["action"] == "AcceptOrder"] == ["AcceptOrder"]
    assert owner_invoice(world)["status"] == "Cancelled"
    assert "order #1: settled, 21.90" in shown(world), shown(world)
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert len([n for n in notes if "the order was accepted" in n]) == 1, notes
    assert staff_tasks(world) == []


# --- G10 ---------------------------------------------------------------------------------------------------------


def revoke(world: BridgeWorld) -> None:
    """The owner ends the collaboration: staff revoke every active grant of the agency on client 12."""
    for grant in json.loads(world.run("delegations", "list", "--owner", "12", "--json").output):
        if grant["status"] == "active":
            world.run("delegations", "revoke", grant["id"], "--by", "owner", "--reason", "the owner ended it")


def test_revoking_the_agency_withdraws_its_unpaid_order_invoice_and_staff_hand_the_order_back(
    payer: BridgeWorld, tmp_path: Path
):
    """G10 (f4_payer_revoke_or_accept.py revoke): the agency was invoiced and the order's lines came off the
    owner's invoice; staff revoke its grants. The agency's unpaid invoice is cancelled and the agency told; staff
    get one sticky task on the owner's account saying the order is unpaid and no longer on the owner's invoice;
    the order is not accepted, and `show` does not say invoiced or settled."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    assert owner_invoice(payer)["status"] == "Cancelled"
    revoke(payer)
    payer.settle(4)
    later(payer, 5, 30)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    [task] = staff_tasks(payer)
    said = str(task["note"])
    assert "order #1" in said and f"#{invoice['id']}" in said and f"#{owner_invoice(payer)['id']}" in said, said
    assert "21.90" in said and task["sticky"] == 1, said
    told = [e for e in payer.emails(10) if f"#{invoice['id']}" in e["message"] and "Order #1" in e["subject"]]
    assert len(told) == 1, [e["subject"] for e in payer.emails(10)]
    owner_told = [e for e in payer.emails(12) if "Order #1" in e["subject"]]
    assert len(owner_told) == 1, [e["subject"] for e in payer.emails(12)]
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    text = shown(payer)
    assert "order #1: not paid: the grant ended" in text, text


def test_an_order_invoice_paid_after_the_grant_ended_is_a_staff_task_not_an_acceptance(
    payer: BridgeWorld, tmp_path: Path
):
    """G10's other half: the agency pays its order invoice after the grant ended, before the bridge withdrew it
    (the revocation's cancel finds it paid): the order is not accepted; staff get a sticky task naming the money
    and the agency is told."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    revoke(payer)
    payer.settle(2)
    pay(payer, invoice["id"], "AG-AFTER")
    sandbox.control("faults", {"status": 503, "count": 0})
    later(payer, 120, 180, 240)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    assert [c for c in sandbox.calls() if c["action"] == "AcceptOrder"] == []
    tasks = staff_tasks(payer)
    said = [str(t["note"]) for t in tasks]
    assert any("21.90" in n and f"#{invoice['id']}" in n and "refund" in n.lower() for n in said), said
    assert "settled" not in shown(payer)
    told = [e for e in payer.emails(10) if "refund" in e["subject"].lower()]
    assert len(told) == 1, [e["subject"] for e in payer.emails(10)]


# --- G14 ---------------------------------------------------------------------------------------------------------


def test_the_order_accepted_note_is_written_once_after_an_interrupted_accept_order(quick: BridgeWorld, tmp_path: Path):
    """G14 (WAIT=400 f3_payer_kill_midcall.py AcceptOrder): WHMCS accepts the order but answers after the bridge's
    timeout (as when the daemon is killed during the call); found Active in WHMCS, the step is done, and the note
    that waited for it is written on the bridge's next passes, not a quarter of an hour later."""
    world, sandbox = quick, quick.sandbox
    order_seen(world, tmp_path)
    [invoice] = agency_invoices(world)
    sandbox.control("faults", {"delay_s": 2.5, "count": 1, "actions": ["AcceptOrder"]})
    pay(world, invoice["id"], "AG-1")
    world.settle(2)
    key = in_flight(world, "accept_order")
    reconciled(world, key)
    world.settle(3)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert len([n for n in notes if "the order was accepted" in n]) == 1, notes
    world.settle(2)
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert len([n for n in notes if "the order was accepted" in n]) == 1, notes
