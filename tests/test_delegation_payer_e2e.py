"""o2switch's billing rule for orders (seed 002, "la facture sera toujours émise au nom de la personne qui est à
l'origine du paiement"): with `delegation.order_invoice_to: payer`, an order the administrative contact's user
placed in the owner's name is invoiced to the agency for exactly the order's items, the owner's invoice stops
asking for them, and the agency's payment accepts the owner's order once (AcceptOrder). The agency cancelling
its invoice leaves the order unpaid, with a staff task. Against the sandbox, the real receiver and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database


def world_with(sandbox: Sandbox, tmp: Path, invoice_to: str) -> BridgeWorld:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp, f"delegation:\n  enabled: true\n  order_invoice_to: {invoice_to}\n")
    w.run("tick")
    return w


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


def order_seen(world: BridgeWorld, tmp: Path) -> None:
    """The agency holds an administrative grant on client 12; order 1 (hosting and domain, placed by the
    agency's user in client 12's name, scenario agency) is then seen by the poll."""
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()
    with Database(tmp / "state.db") as db:  # the order predates the bridge; present it as news
        sql(db, "DELETE FROM poll_seen WHERE list = 'orders'")
    world.settle(6)


def agency_invoices(world: BridgeWorld) -> list[dict[str, Any]]:
    return [i for i in world.sandbox.rows("invoices", client_id=10) if i["notes"].startswith("Order #1, grant ")]


def pay(world: BridgeWorld, invoice_id: int, transid: str) -> None:
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": invoice_id, "transid": transid, "gateway": "stripe"}
    )


def test_the_agencys_order_is_invoiced_to_it_and_its_payment_accepts_the_owners_order_once(
    payer: BridgeWorld, tmp_path: Path
):
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    owner_invoice = order["invoice_id"]
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    # Exactly the order's items (9.95 hosting + 11.95 domain), each named with the owner and the order.
    assert invoice["total"] == "21.90" and invoice["status"] == "Unpaid"
    lines = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    assert sorted(i["amount"] for i in lines) == ["11.95", "9.95"]
    assert all(
        "martin-notaires.fr" in i["description"] and "Cabinet Martin Avocats" in i["description"] for i in lines
    ), [i["description"] for i in lines]
    # The owner's invoice stops asking for them (they were all its items: cancelled), nothing paid by the owner.
    assert sandbox.rows("invoices", id=owner_invoice)[0]["status"] == "Cancelled"
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    before = len(sandbox.calls())
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    assert sandbox.rows("transactions", invoice_id=owner_invoice) == []
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
    assert any("order #1" in n and f"#{invoice['id']}" in n and "accepted" in n for n in notes), notes
    # Reported again (an old hook replaying): the order is accepted once.
    with Database(tmp_path / "state.db") as db, db.atomic():
        inbox.add(
            db,
            event_id="replay-order",
            type="InvoicePaid",
            source="webhook",
            body={"type": "InvoicePaid", "data": {"invoiceid": invoice["id"]}},
            received_at=datetime.now(UTC),
        )
    payer.settle(2)
    assert [c["action"] for c in sandbox.calls(before) if c["action"] == "AcceptOrder"] == ["AcceptOrder"]
    shown = payer.run("delegations", "show", "o1-10").output
    assert (
        f"order #1: settled, 21.90, the delegate's invoice #{invoice['id']}, the owner's invoice #{owner_invoice}"
        in shown
    )


def test_an_order_staff_deleted_is_not_settled_by_the_agencys_payment_staff_refund_it_and_the_agency_is_told(
    payer: BridgeWorld, tmp_path: Path
):
    """Staff delete the order (fraud) in WHMCS; the agency pays its invoice anyway (ninth break round, M4): nothing
    is accepted, the status shown says so, one sticky staff task names the money to refund, the agency is told."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("delete", {"order": 1})
    before = len(sandbox.calls())
    pay(payer, invoice["id"], "AGENCY-1")
    payer.settle(4)
    assert [c for c in sandbox.calls(before) if c["action"] == "AcceptOrder"] == []
    shown = payer.run("delegations", "show", "o1-10").output
    assert "order #1: paid, not accepted: the order no longer exists in WHMCS; refund due, 21.90" in shown, shown
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, tasks
    assert (
        "no longer exists" in tasks[0]["note"]
        and "21.90" in tasks[0]["note"]
        and f"#{invoice['id']}" in tasks[0]["note"]
    ), tasks
    assert not any("accepted" in n["note"] and "paid invoice" in n["note"] for n in sandbox.rows("client_notes"))
    told = [e for e in payer.emails(10) if "refund" in e["subject"].lower()]
    assert len(told) == 1 and "21.90" in told[0]["message"], [e["subject"] for e in payer.emails(10)]
    assert "no longer exists" not in payer.run("approvals", "list").output


def test_the_agency_cancelling_leaves_the_order_unpaid_and_staff_get_a_task(payer: BridgeWorld, tmp_path: Path):
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice["id"], "status": "Cancelled"})
    payer.settle(4)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1 and f"#{invoice['id']}" in tasks[0]["note"], tasks
    assert "order #1" in tasks[0]["note"] and "cancelled" in tasks[0]["note"]


def test_by_default_the_owner_is_invoiced_as_whmcs_did(owner: BridgeWorld, tmp_path: Path):
    sandbox = owner.sandbox
    [order] = sandbox.rows("orders", id=1)
    order_seen(owner, tmp_path)
    assert agency_invoices(owner) == []
    assert sandbox.rows("invoices", id=order["invoice_id"])[0]["status"] == "Unpaid"


def test_the_agency_not_paying_leaves_the_order_unpaid_and_staff_get_one_task(payer: BridgeWorld, tmp_path: Path):
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat(timespec="seconds")
    for _ in range(3):  # the poll finds the agency's invoice past its due date; a pass later, still one task
        payer.run("tick", "--at", later)
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and "is overdue" in tasks[0]["note"] and f"#{invoice['id']}" in tasks[0]["note"], tasks


def test_the_owner_paying_first_cancels_the_agencys_invoice(payer: BridgeWorld, tmp_path: Path):
    """The owner pays its order invoice after the agency was invoiced but before the order's items came off it
    (WHMCS refused UpdateInvoice meanwhile): the agency's invoice is cancelled and the agency told."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    assert sandbox.rows("invoices", id=order["invoice_id"])[0]["status"] == "Unpaid"
    pay(payer, order["invoice_id"], "OWNER-1")
    sandbox.control("faults", {"status": 503, "count": 0})
    payer.settle(4)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    assert sandbox.rows("invoices", id=order["invoice_id"])[0]["status"] == "Paid"
    assert any("nothing for you to pay" in e["subject"] for e in payer.emails(10))


def test_staff_cancelling_a_part_paid_agency_invoice_get_a_task_naming_the_amount_paid(
    payer: BridgeWorld, tmp_path: Path
):
    """From the issue-16 partial-payment break test (H4): the agency paid 10.00 of its order invoice, then staff
    cancelled it: the staff task says 10.00 was already paid (read from WHMCS, not remembered)."""
    sandbox = payer.sandbox
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control(
        "act",
        {
            "action": "AddInvoicePayment",
            "invoiceid": invoice["id"],
            "transid": "AG-P1",
            "gateway": "stripe",
            "amount": "10.00",
        },
    )
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice["id"], "status": "Cancelled"})
    payer.settle(4)
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and f"#{invoice['id']}" in tasks[0]["note"], tasks
    assert "10.00" in tasks[0]["note"] and "already paid" in tasks[0]["note"], tasks[0]["note"]


def test_the_owner_paying_first_leaves_a_part_paid_agency_invoice_to_staff(payer: BridgeWorld, tmp_path: Path):
    """H4 too: the agency paid 10.00 of its order invoice, then the owner paid its own: the agency's invoice is not
    cancelled with the 10.00 on it, nor the agency told it has nothing to pay; staff get a task naming 10.00."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    sandbox.control(
        "act",
        {
            "action": "AddInvoicePayment",
            "invoiceid": invoice["id"],
            "transid": "AG-P2",
            "gateway": "stripe",
            "amount": "10.00",
        },
    )
    pay(payer, order["invoice_id"], "OWNER-P2")
    sandbox.control("faults", {"status": 503, "count": 0})
    payer.settle(4)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    assert not any("nothing for you to pay" in e["subject"] for e in payer.emails(10))
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and "10.00" in tasks[0]["note"] and f"#{invoice['id']}" in tasks[0]["note"], tasks


def pay_part(world: BridgeWorld, invoice_id: int, transid: str, amount: str) -> None:
    world.sandbox.control(
        "act",
        {
            "action": "AddInvoicePayment",
            "invoiceid": invoice_id,
            "transid": transid,
            "gateway": "stripe",
            "amount": amount,
        },
    )


def test_an_order_whose_invoice_the_owner_part_paid_is_parked_with_one_staff_task(payer: BridgeWorld, tmp_path: Path):
    """Issue 16 break test M5: the owner paid 5.00 of its order invoice before the bridge saw the order: nothing is
    invoiced to the agency and nothing comes off the owner's invoice (it holds the owner's money); the order is
    parked with one sticky staff task saying what is parked and why, and stays pending."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    pay_part(payer, order["invoice_id"], "OWNER-M5", "5.00")
    order_seen(payer, tmp_path)
    payer.settle(2)
    assert agency_invoices(payer) == []
    assert len(sandbox.rows("invoice_items", invoice_id=order["invoice_id"])) == 2
    assert sandbox.rows("invoices", id=order["invoice_id"])[0]["status"] == "Unpaid"
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, [n["note"] for n in tasks]
    said = tasks[0]["note"]
    assert "order #1" in said and "parked" in said and "5.00" in said and f"#{order['invoice_id']}" in said, said
    assert "order #1: parked" in payer.run("delegations", "show", "o1-10").output


def test_an_order_part_paid_by_the_owner_after_the_agency_was_invoiced_is_parked_with_one_staff_task(
    payer: BridgeWorld, tmp_path: Path
):
    """M5 too: the agency was invoiced, then the owner paid 5.00 of its own invoice before the order's items came
    off it (WHMCS refused UpdateInvoice meanwhile): the items stay on the owner's invoice, nothing is cancelled,
    and staff get one task naming both invoices and the 5.00 (the action does not just park unseen)."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    pay_part(payer, order["invoice_id"], "OWNER-M5B", "5.00")
    sandbox.control("faults", {"status": 503, "count": 0})
    payer.settle()
    later = datetime.now(UTC) + timedelta(hours=2)
    for hours in (0, 1, 2):  # past the executor's back-off after the outage
        payer.run("tick", "--at", (later + timedelta(hours=hours)).isoformat(timespec="seconds"))
    assert len(sandbox.rows("invoice_items", invoice_id=order["invoice_id"])) == 2
    assert sandbox.rows("invoices", id=order["invoice_id"])[0]["status"] == "Unpaid"
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, [n["note"] for n in tasks]
    said = tasks[0]["note"]
    assert "parked" in said and "5.00" in said and f"#{order['invoice_id']}" in said and f"#{invoice['id']}" in said
    with Database(tmp_path / "state.db") as db:
        parked = sql(db, "SELECT action_key FROM outbox WHERE status = 'parked'")
    assert parked == [], [r["action_key"] for r in parked]


def test_an_order_seen_in_the_same_pass_as_its_administrative_grant_is_still_invoiced_to_the_agency(
    payer: BridgeWorld, tmp_path: Path
):
    """Break test s12: the grant was made while the daemon was stopped and the agency's user ordered before it
    ran again, so the poll brings the order to the pass that activates the grant, before anything read the
    agency's users. They are read from WHMCS for the order (not assumed already known), and the order is not lost."""
    payer.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    with Database(tmp_path / "state.db") as db:  # the order is news to the grant's first pass
        sql(db, "DELETE FROM poll_seen WHERE list = 'orders'")
    payer.settle(6)
    [invoice] = agency_invoices(payer)
    assert invoice["total"] == "21.90" and invoice["status"] == "Unpaid"
    assert "o1-10" in payer.run("delegations", "list").output


def test_the_agencys_lines_are_taxed_as_the_owners_lines_they_bill(payer: BridgeWorld, tmp_path: Path):
    """The order's hosting line is taxed on the owner's invoice (WHMCS adds its VAT), its domain line is not: each
    line of the agency's invoice carries the flag of the line it bills (CreateInvoice `itemtaxedx`,
    DD:api-reference/createinvoice.md), so no tax is dropped nor added (ninth break round H2)."""
    sandbox = payer.sandbox
    [order] = sandbox.rows("orders", id=1)
    hosting = next(i for i in sandbox.rows("invoice_items", invoice_id=order["invoice_id"]) if i["type"] == "Hosting")
    sandbox.control(
        "act",
        {
            "action": "UpdateInvoice",
            "invoiceid": order["invoice_id"],
            f"itemdescription[{hosting['id']}]": hosting["description"],
            f"itemamount[{hosting['id']}]": hosting["amount"],
            f"itemtaxed[{hosting['id']}]": "1",
        },
    )
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    lines = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    assert sorted((i["amount"], i["taxed"]) for i in lines) == [("11.95", 0), ("9.95", 1)], lines


def test_an_agency_in_another_currency_is_not_invoiced_the_owners_order(payer: BridgeWorld, tmp_path: Path):
    """The agency's account is in USD, the owner's in EUR: a WHMCS invoice is in its client's currency, so the
    order's 21.90 EUR is not billed as 21.90 USD; nothing comes off the owner's invoice, staff get one task naming
    both currencies and the amount, and the agency is told it was not invoiced (ninth break round H1)."""
    sandbox = payer.sandbox
    sandbox.control("act", {"action": "UpdateClient", "clientid": 10, "currency": 2})
    [order] = sandbox.rows("orders", id=1)
    order_seen(payer, tmp_path)
    assert agency_invoices(payer) == [] and not any(c["action"] == "CreateInvoice" for c in sandbox.calls())
    owner_invoice = sandbox.rows("invoices", id=order["invoice_id"])[0]
    assert owner_invoice["status"] == "Unpaid" and owner_invoice["total"] == "21.90"
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"]]
    assert len(tasks) == 1 and tasks[0]["sticky"] == 1, tasks
    assert "21.90 EUR" in tasks[0]["note"] and "USD" in tasks[0]["note"] and "order #1" in tasks[0]["note"]
    told = [e for e in payer.emails(10) if "Order #1" in e["subject"]]
    assert len(told) == 1 and "USD" in told[0]["message"] and "EUR" in told[0]["message"], told
    assert "not been invoiced" in told[0]["message"] or "Nothing has been invoiced" in told[0]["message"]
    assert sandbox.rows("orders", id=1)[0]["status"] == "Pending"


# The agency's WHMCS language, and how its invoice's line and notes say the order was placed for the owner.
LANGUAGES = [
    ("french", "commandé pour Cabinet Martin Avocats, commande #1", "le règlement de cette facture"),
    ("dutch", "besteld voor Cabinet Martin Avocats, bestelling #1", "met de betaling van deze factuur"),
    ("indonesian", "dipesan untuk Cabinet Martin Avocats, pesanan #1", "dengan membayar tagihan ini"),
]


@pytest.mark.parametrize(("language", "line", "notes"), LANGUAGES)
def test_the_agencys_order_invoice_is_in_its_language(
    payer: BridgeWorld, tmp_path: Path, language: str, line: str, notes: str
):
    """The agency reads its WHMCS language: its invoice's lines and notes are written in it, as a delegated
    renewal's invoice is, after WHMCS's own words for each item and a reference staff search (tenth break round L4)."""
    sandbox = payer.sandbox
    sandbox.post("UpdateClient", clientid=10, language=language)
    order_seen(payer, tmp_path)
    [invoice] = agency_invoices(payer)
    lines = [i["description"] for i in sandbox.rows("invoice_items", invoice_id=invoice["id"])]
    assert len(lines) == 2 and all(line in i and "martin-notaires.fr" in i for i in lines), lines
    assert not any("ordered for" in i for i in lines), lines
    assert invoice["notes"].startswith("Order #1, grant o1-10: " + notes), invoice["notes"]
