"""Issues 15 and 16, twenty-third break round, HIGH (cross-family, repro_renewal_escalation_suspended): the overdue
ladder suspended the owner's service for its overdue invoice; the agency renewed exactly that period through its
grant and paid; the bridge took the line off the owner's invoice, which billed nothing else and was cancelled.
The escalation read a cancellation, "not a payment": it held the case for staff, the service stayed suspended,
and WHMCS's next invoice for the service (not due yet) was taken for the cancelled one's replacement, counted from
its old due date, so the ladder would suspend again at once.

What the cancelled invoice billed was paid: WHMCS says so by the service's next due date, moved past the period
the invoice billed (WHMCS moves it when an invoice renewing the service is paid, whoever's it is). An invoice
that left the open list cancelled, every line of which renews a service or domain whose next due date is now
past the invoice's due date, is read as paid elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_renewal_e2e import World as RenewalWorld
from tests.test_delegation_renewal_e2e import agency_invoices, next_month, pay

ESCALATION = """
escalation:
  enabled: true
  holidays: []
  guards:
    destructive_days: [mon, tue, wed, thu, fri, sat, sun]
    destructive_hours: "00:00-23:59"
    min_days_between_destructive: 1
  staff_department_id: 1
  policies:
    - name: hosting
      match:
        product_ids: [4]
      impact:
        constant: 1
      ladder:
        - name: reminder
          after_days: 3
          counted_from: due
          actions:
            - email: {message: escalation.reminder}
        - name: sites-off
          after_days: 25
          counted_from: due
          actions:
            - suspend: {reason: Overdue}
"""


class World(RenewalWorld):
    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        BridgeWorld.__init__(self, sandbox, tmp, "delegation:\n  enabled: true\n" + ESCALATION)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def api(world: World, action: str, **params: object) -> dict[str, object]:
    answer: dict[str, object] = world.sandbox.control("act", {"action": action, **params})
    return answer


def hosting_invoice(world: World, due: date) -> int:
    """WHMCS's invoice renewing service 110 (Business, 14.95) for the month from `due`, alone on it."""
    made = api(world, "CreateInvoice", userid=11, itemdescription1="x", itemamount1="0", duedate=due.isoformat())
    invoice = int(str(made["invoiceid"]))
    end = date.fromisoformat(next_month(due.isoformat())) - timedelta(days=1)
    words = f"Business - boulangerie-dupont.fr ({due:%d/%m/%Y} - {end:%d/%m/%Y})"
    world.sandbox.control(
        "line", {"invoice": invoice, "type": "Hosting", "relid": 110, "description": words, "amount": "14.95"}
    )
    [placeholder] = [i["id"] for i in world.sandbox.rows("invoice_items", invoice_id=invoice) if i["description"] == "x"]
    api(world, "UpdateInvoice", invoiceid=invoice, **{"deletelineids[0]": placeholder})
    return invoice


def status(world: World) -> str:
    return str(world.sandbox.rows("services", id=110)[0]["status"])


def test_the_agency_paying_the_overdue_period_closes_the_ladder_and_lifts_its_suspension(world: World):
    sandbox = world.sandbox
    today = date.fromisoformat(str(sandbox.rows("services", id=110)[0]["nextduedate"])) - timedelta(days=25)
    due = today - timedelta(days=30)
    for invoice in sandbox.rows("invoices", client_id=11):
        if invoice["status"] == "Unpaid":  # the scenario's invoice for the month ahead: out of the way
            api(world, "UpdateInvoice", invoiceid=invoice["id"], status="Cancelled")
    api(world, "UpdateClientProduct", serviceid=110, nextduedate=due.isoformat())
    overdue = hosting_invoice(world, due)
    world.settle(4)
    assert status(world) == "Suspended"

    grant = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output.split()[0]  # fmt: skip
    world.settle()
    world.run("delegations", "renew", grant, "--service", "110", "--by", "lena")
    world.settle(4)
    [mine] = agency_invoices(world)
    pay(world, mine["id"], "CARD-OVERDUE")
    world.settle(6)
    assert sandbox.rows("invoices", id=overdue)[0]["status"] == "Cancelled"
    assert str(sandbox.rows("services", id=110)[0]["nextduedate"]) == next_month(due.isoformat())

    assert status(world) == "Active"
    notes = " ".join(n["note"] for n in sandbox.rows("client_notes", client_id=11))
    assert "were cancelled and no invoice replaces them" not in notes, notes
    shown = world.run("escalations", "show", "11").output
    assert "HELD" not in shown and "client current again: case closed" in shown, shown

    # WHMCS's cron makes the next month's invoice; it counts from its own due date, not the paid one's.
    hosting_invoice(world, date.fromisoformat(next_month(due.isoformat())))
    world.settle(3)
    later = datetime.combine(today + timedelta(days=6), datetime.min.time(), tzinfo=UTC).replace(hour=12)
    for _ in range(3):
        world.run("tick", "--at", later.isoformat())
    suspends = [c for c in sandbox.calls() if c.get("action") == "ModuleSuspend"]
    assert len(suspends) == 1, suspends  # the first one, for the overdue month; none for a month not overdue
    assert status(world) == "Active"
