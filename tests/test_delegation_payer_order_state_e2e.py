"""`delegation.order_invoice_to: payer` (thirteenth break round, F1 and F2): what the agency's payment settles is
read from WHMCS, not assumed. An order staff cancelled or marked as fraud is not accepted by the agency's payment:
staff get one sticky task naming the money to refund or credit and the agency is told; an order staff accepted
meanwhile is settled. The owner paying what is left on its order invoice after the order's lines came off it (an
addon line) is not the owner paying the order: the agency's invoice stays and its payment accepts the order. Against
the sandbox, the real receiver and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import WEBHOOK_SECRET, BridgeWorld, Sandbox
from tests.test_delegation_payer_e2e import agency_invoices, order_seen, pay, world_with
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


def staff_tasks(world: BridgeWorld) -> list[dict[str, object]]:
    return [n for n in world.sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]


@pytest.mark.parametrize(
    "staff_action, status, hooked",
    [("CancelOrder", "Cancelled", True), ("FraudOrder", "Fraud", True), ("CancelOrder", "Cancelled", False)],
)
def test_an_order_staff_cancelled_is_not_accepted_by_the_agencys_payment_staff_refund_it_and_the_agency_is_told(
    payer: BridgeWorld, tmp_path: Path, staff_action: str, status: str, hooked: bool
):
    """Paid within the minute the bridge waits after the hook, or with no hook heard (an older hook file): the
    payment's AcceptOrder reads the order's status first."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    if not hooked:
        sandbox.control("hooks", {"url": None, "secret": None})
    sandbox.control("act", {"action": staff_action, "orderid": 1})
    if not hooked:
        sandbox.control("hooks", {"url": f"{payer.public}/hooks/whmcs", "secret": WEBHOOK_SECRET})
    assert sandbox.rows("orders", id=1)[0]["status"] == status
    before = len(sandbox.calls())
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == status
    assert [c for c in sandbox.calls(before) if c["action"] == "AcceptOrder"] == []
    shown = payer.run("delegations", "show", "o1-10").output
    assert "settled" not in shown and f"paid, not accepted: the order is {status} in WHMCS; refund due" in shown, shown
    tasks = staff_tasks(payer)
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, tasks
    said = str(tasks[0]["note"])
    assert "order #1" in said and "21.90" in said and f"#{invoice['id']}" in said and "not accept" in said, said
    notes = [str(n["note"]) for n in sandbox.rows("client_notes", client_id=12)]
    assert not any("the order was accepted" in n for n in notes), notes
    told = [e for e in payer.emails(10) if "refund" in e["subject"].lower()]
    assert len(told) == 1 and "21.90" in told[0]["message"] and "cancelled" in told[0]["message"], told
    assert "nothing is waiting" in payer.run("approvals", "list").output


def test_an_order_staff_accepted_meanwhile_is_settled_by_the_agencys_payment(payer: BridgeWorld, tmp_path: Path):
    """Accepted by staff before the agency paid (Active, as AcceptOrder leaves it): the payment settles it, with no
    second AcceptOrder and no staff task."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("act", {"action": "AcceptOrder", "orderid": 1})
    before = len(sandbox.calls())
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert [c for c in sandbox.calls(before) if c["action"] == "AcceptOrder"] == []
    assert "order #1: settled, 21.90" in payer.run("delegations", "show", "o1-10").output
    assert staff_tasks(payer) == []


def test_the_owner_paying_what_is_left_after_the_orders_lines_came_off_is_not_the_owner_paying_the_order(
    payer: BridgeWorld, tmp_path: Path
):
    """The owner's order invoice also bills an addon (5.00): the agency is invoiced the hosting and the domain,
    their lines come off the owner's invoice, and the owner pays its 5.00. The agency's invoice stays open, the
    agency is not told the owner paid, and its payment accepts the order once."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    owner_invoice = order["invoice_id"]
    sandbox.control(
        "line", {"invoice": owner_invoice, "type": "Addon", "description": "SSL Certificate (addon)", "amount": "5.00"}
    )
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    assert invoice["total"] == "21.90"
    [left] = sandbox.rows("invoices", id=owner_invoice)
    assert left["status"] == "Unpaid" and left["total"] == "5.00", left
    pay(payer, owner_invoice, "OWNER-ADDON")
    payer.settle(4)
    assert sandbox.rows("invoices", id=owner_invoice)[0]["status"] == "Paid"
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    assert not any("nothing for you to pay" in e["subject"] for e in payer.emails(10))
    shown = payer.run("delegations", "show", "o1-10").output
    assert "order #1: invoiced, 21.90" in shown and "the owner paid first" not in shown, shown
    assert f"the owner paid invoice #{owner_invoice} for its other items" in shown, shown
    before = len(sandbox.calls())
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    assert [c["action"] for c in sandbox.calls(before) if c["action"] == "AcceptOrder"] == ["AcceptOrder"]
    assert "order #1: settled, 21.90" in payer.run("delegations", "show", "o1-10").output
    assert staff_tasks(payer) == []


@pytest.mark.parametrize("staff_action, status", [("CancelOrder", "Cancelled"), ("FraudOrder", "Fraud")])
def test_an_order_staff_cancel_while_the_agencys_invoice_is_unpaid_withdraws_that_invoice_and_the_agency_is_told(
    payer: BridgeWorld, tmp_path: Path, staff_action: str, status: str
):
    """WHMCS's CancelOrder or FraudOrder hook (DD:hooks-reference/shopping-cart.md) runs before the order's status
    changes: the bridge waits a minute, reads the status, and cancels the agency's unpaid invoice for it."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("act", {"action": staff_action, "orderid": 1})
    payer.settle(2)
    for minutes in (5, 30):  # past the minute the status is read after; then the email that follows the cancel
        payer.run("tick", "--at", (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds"))
    assert sandbox.rows("orders", id=1)[0]["status"] == status
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    told = [e for e in payer.emails(10) if "cancelled" in e["subject"].lower()]
    assert len(told) == 1 and f"#{invoice['id']}" in told[0]["message"], [e["subject"] for e in payer.emails(10)]
    shown = payer.run("delegations", "show", "o1-10").output
    assert "order #1: not paid: the order was cancelled in WHMCS; the delegate's invoice cancelled" in shown, shown
    assert staff_tasks(payer) == []
    assert "nothing is waiting" in payer.run("approvals", "list").output


def test_an_order_cancel_request_that_leaves_the_order_pending_leaves_the_agencys_invoice(
    payer: BridgeWorld, tmp_path: Path
):
    """The hook runs before the change, which may not happen: the order read still Pending, nothing is withdrawn
    and the agency's payment accepts the order."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    with Database(tmp_path / "state.db") as db, db.atomic():
        inbox.add(
            db,
            event_id="cancel-request",
            type="CancelOrder",
            source="webhook",
            body={"type": "CancelOrder", "data": {"orderid": 1}},
            received_at=datetime.now(UTC),
        )
    payer.settle(2)
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")
    payer.run("tick", "--at", later)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    assert "order #1: settled, 21.90" in payer.run("delegations", "show", "o1-10").output
