"""`delegation.order_invoice_to: payer` (thirteenth break round, F9 and F10). The agency's paid order invoice
refunded afterwards: the order is no longer settled, and staff get one sticky task on the owner's account (the order
is active, nobody pays for it now). An order of the agency's user that bills no hosting and no domain (an addon
only): the bridge moves no line of it, and says so in one sticky task on the owner's account, never silently.
Against the sandbox, the real receiver and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_payer_e2e import agency_invoices, order_seen, pay, world_with


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


@pytest.fixture
def owner(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "owner")
    yield w
    w.close()


def staff_tasks(world: BridgeWorld) -> list[dict[str, object]]:
    return [n for n in world.sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]


def test_the_agencys_paid_order_invoice_refunded_is_no_longer_settled_and_staff_get_a_task(
    payer: BridgeWorld, tmp_path: Path
):
    sandbox = payer.sandbox
    owner_invoice = sandbox.rows("orders", id=1)[0]["invoice_id"]
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    assert staff_tasks(payer) == []
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice["id"], "status": "Refunded"})
    payer.settle(3)
    shown = payer.run("delegations", "show", "o1-10").output
    assert "settled" not in shown, shown
    assert "order #1: paid, then refunded: the order's services are unpaid; staff decide" in shown, shown
    assert f"order #1: the delegate's invoice #{invoice['id']} refunded" in shown, shown
    tasks = staff_tasks(payer)
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, tasks
    said = str(tasks[0]["note"])
    assert "order #1" in said and f"#{invoice['id']}" in said and "refunded" in said, said
    assert f"#{owner_invoice}" in said and "unpaid" in said and "21.90" in said, said
    # Reported again (the poll finding it Refunded after the hook): one task.
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice["id"], "status": "Refunded"})
    payer.settle(2)
    assert len(staff_tasks(payer)) == 1
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"


def addon_order(world: BridgeWorld, tmp: Path, user: int) -> int:
    """The administrative grant 12 -> 10; then an order of one addon (4.00) for client 12's service 120, placed
    by `user` (1: Lena, the agency's user; 2: client 12's own owner user)."""
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()
    placed = world.sandbox.control("checkout", {"client_id": 12, "user_id": user, "addon_for": 120, "amount": "4.00"})
    world.settle(6)
    return int(placed["InvoiceID"])


def test_an_addon_only_order_of_the_agencys_user_is_left_to_the_owner_with_a_staff_task(
    payer: BridgeWorld, tmp_path: Path
):
    """GetInvoice documents no item type for an addon and GetOrders no order line for one
    (DD:api-reference/getinvoice.md, getorders.md), and an addon is no service nor domain a grant covers: the bridge
    moves nothing of such an order; the owner's account says so, once, with the order and its invoice."""
    sandbox = payer.sandbox
    invoice = addon_order(payer, tmp_path, user=1)
    assert sandbox.rows("invoices", id=invoice)[0]["status"] == "Unpaid"
    assert sandbox.rows("invoices", id=invoice)[0]["total"] == "4.00"
    assert [i for i in sandbox.rows("invoices", client_id=10) if "Order #" in i["notes"]] == []
    tasks = staff_tasks(payer)
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, tasks
    said = str(tasks[0]["note"])
    assert "order #2" in said and f"#{invoice}" in said and "addon" in said and "order_invoice_to" in said, said
    assert [g for g in payer.run("delegations", "list").output.splitlines() if "o2-" in g] == []
    grants = [line.split()[0] for line in payer.run("delegations", "list", "--owner", "12").output.splitlines()]
    shown = "\n".join(payer.run("delegations", "show", g).output for g in grants)
    left = f"order #2 placed by the delegate's user bills no hosting or domain: left on the owner's invoice #{invoice}"
    assert left in shown, shown
    payer.settle(3)  # seen again (the poll after the hook): one task
    assert len(staff_tasks(payer)) == 1


def test_an_addon_only_order_in_owner_mode_asks_nothing(
    owner: BridgeWorld, tmp_path: Path
):
    addon_order(owner, tmp_path, user=1)
    assert staff_tasks(owner) == []


def test_an_addon_ordered_with_a_hosting_stays_on_the_owners_invoice_with_a_staff_task(
    payer: BridgeWorld, tmp_path: Path
):
    """The hosting and the domain go to the agency as usual; the addon's line stays on the owner's invoice, which
    then bills only it, and the owner's account says so, once."""
    sandbox = payer.sandbox
    payer.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    payer.settle()
    placed = sandbox.control(
        "checkout", {"client_id": 12, "user_id": 1, "domain": "nouveau-martin.fr", "addon_for": 1, "addon": "4.00"}
    )
    payer.settle(6)
    order, owner_invoice = int(placed["OrderID"]), int(placed["InvoiceID"])
    [agency] = [i for i in sandbox.rows("invoices", client_id=10) if i["notes"].startswith(f"Order #{order}, grant ")]
    assert agency["total"] == "21.90", agency
    [left] = sandbox.rows("invoices", id=owner_invoice)
    assert left["status"] == "Unpaid" and left["total"] == "4.00", left
    tasks = [t for t in staff_tasks(payer) if "addon" in str(t["note"])]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, staff_tasks(payer)
    said = str(tasks[0]["note"])
    assert f"order #{order}" in said and f"#{owner_invoice}" in said and "besides its hostings and domains" in said, said
    payer.settle(2)
    assert len([t for t in staff_tasks(payer) if "addon" in str(t["note"])]) == 1
