"""Issue 16, twenty-fifth round (delegation billing, from the twenty-fourth break round's open findings): a domain's
owner behind by two periods was priced from the newest invoice (MEDIUM 2); the owner paying a longer period of a
domain did not withdraw the delegate's invoice for one year of it (MEDIUM 3); in payer mode a new service's next
due date left on its order date was told to nobody (MEDIUM 4); a 0.00 renewal was invoiced to the delegate (LOW 5);
after a write answered past the timeout, the owner's later invoice it cancelled was not read again (MEDIUM 6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_billing_round24 import owner_pays_during_the_write
from tests.test_delegation_payer_e2e import pay as pay_order
from tests.test_delegation_payer_e2e import world_with
from tests.test_delegation_renewal_e2e import World, agency_invoices, asked, next_month, owner_invoice, pay
from tests.test_delegation_renewal_settle_e2e import agency_world
from whmcs_bridge.executor.call import ActionError, Call
from whmcs_bridge.executor.kinds import action_kind
from whmcs_bridge.whmcs.api import WhmcsApi


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def years_on(day: date, years: int) -> date:
    return day.replace(year=day.year + years)


def domain_line(world: World, invoice: int, first: date, years: int, amount: str) -> None:
    """A "Domain" line for domain 11 billing `years` from `first`, in WHMCS's default words (the sandbox's GenInvoices)."""
    last = years_on(first, years) - timedelta(days=1)
    words = f"Domain Renewal - boulangerie-dupont.fr - {years} Year/s ({first:%d/%m/%Y} - {last:%d/%m/%Y})"
    world.sandbox.control(
        "line", {"invoice": invoice, "type": "Domain", "relid": 11, "description": words, "amount": amount}
    )


def owners_invoice(world: World, due: date) -> int:
    """An empty unpaid invoice of the owner's, due on `due` (its placeholder line taken off once a line is added)."""
    made = world.sandbox.control(
        "act",
        {"action": "CreateInvoice", "userid": 11, "itemdescription1": "x", "itemamount1": "0", "duedate": str(due)},
    )
    return int(made["invoiceid"])


def drop_placeholder(world: World, invoice: int) -> None:
    [placeholder] = [
        i["id"] for i in world.sandbox.rows("invoice_items", invoice_id=invoice) if i["description"] == "x"
    ]
    world.sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice, "deletelineids[0]": placeholder})


def domain_due(world: World) -> date:
    return date.fromisoformat(str(world.sandbox.rows("domains", id=11)[0]["nextduedate"]))


def domain_renewal_asked(world: World) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    assert "renewal 1 of grant" in world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena").output
    world.settle(4)
    return grant_id


def staff_tasks(world: BridgeWorld, client: int) -> list[dict[str, Any]]:
    return [n for n in world.sandbox.rows("client_notes", client_id=client) if "STAFF TASK" in n["note"]]


def test_a_domains_owner_behind_by_two_periods_is_renewed_from_the_invoice_of_the_period_due(world: World):
    """MEDIUM 2: WHMCS billed the domain's period from its next due date (GenInvoices) and then the next one, both
    unpaid: the delegate is invoiced the period due, priced from the first, not sent to staff for the newest's."""
    due = domain_due(world)
    world.sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    [current] = [
        i["invoice_id"] for i in world.sandbox.rows("invoice_items") if i["type"] == "Domain" and i["relid"] == 11
    ]
    later = owners_invoice(world, years_on(due, 1))
    domain_line(world, later, years_on(due, 1), 1, "12.00")
    drop_placeholder(world, later)
    grant_id = domain_renewal_asked(world)
    [mine] = agency_invoices(world)
    [line] = world.sandbox.rows("invoice_items", invoice_id=mine["id"])
    assert f"#{current}" in line["description"] and f"#{later}" not in line["description"], line
    assert staff_tasks(world, 11) == []
    assert "renewal 1: domain #11, invoiced" in world.run("delegations", "show", grant_id).output


def test_a_renewal_with_nothing_to_pay_is_refused_not_invoiced(world: World):
    """LOW 5: the owner's line for the domain is 0.00 (free with its hosting): nothing is invoiced to the delegate,
    the request is refused with one sentence (`delegations show`) and the delegate is told."""
    domain_line(world, 2, domain_due(world), 1, "0.00")
    grant_id = domain_renewal_asked(world)
    assert agency_invoices(world) == []
    assert [c for c in world.sandbox.calls() if c["action"] == "CreateInvoice"] == []
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: domain #11, refused" in shown, shown
    assert "nothing to pay" in shown, shown
    assert any("nothing to pay" in e["subject"] for e in world.emails(10)), [e["subject"] for e in world.emails(10)]


def test_the_owner_paying_a_longer_period_of_the_domain_withdraws_the_delegates_invoice(world: World):
    """MEDIUM 3: the delegate is invoiced one year of the domain (WHMCS's TLD price, no owner's line yet); the owner
    renews it for two years itself, from the same due date, and pays: WHMCS moves the domain's next due date past the
    delegate's year, so the owner paid first and the delegate's invoice is withdrawn, nothing renewed by the bridge."""
    sandbox = world.sandbox
    grant_id = domain_renewal_asked(world)
    [mine] = agency_invoices(world)
    due = domain_due(world)
    sandbox.control("act", {"action": "UpdateClientDomain", "domainid": 11, "regperiod": 2, "recurringamount": "19.90"})
    sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    [owners] = [i["invoice_id"] for i in sandbox.rows("invoice_items") if i["type"] == "Domain" and i["relid"] == 11]
    pay(world, owners, "OWNER-2Y")
    world.settle(4)
    assert domain_due(world) == years_on(due, 2)
    assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Cancelled"
    assert "renewal 1: domain #11, owner paid" in world.run("delegations", "show", grant_id).output
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


def test_the_agency_paying_an_order_whose_service_due_date_did_not_move_is_a_staff_task(payer: BridgeWorld):
    """MEDIUM 4 (payer mode): the agency pays its invoice for the owner's order and the order is accepted, but WHMCS
    moves a new service's next due date only when the order's own invoice is paid (the bridge cancelled it): the
    service stays due on its order date, and WHMCS's cron would bill the owner that first period again. One sticky
    staff task on the owner's account names the service and the date WHMCS shows."""
    sandbox = payer.sandbox
    payer.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    payer.settle()
    made = sandbox.control("checkout", {"client_id": 12, "user_id": 1, "pid": 3, "domain": "martin-new.fr"})
    payer.settle(6)
    order = int(made["OrderID"])
    [mine] = [i for i in sandbox.rows("invoices", client_id=10) if f"Order #{order}" in i["notes"]]
    [service] = [s for s in sandbox.rows("services") if s["domain"] == "martin-new.fr"]
    pay_order(payer, mine["id"], "AGENCY-NEW")
    payer.settle(4)
    assert sandbox.rows("orders", id=order)[0]["status"] == "Active"
    still = str(sandbox.rows("services", id=service["id"])[0]["nextduedate"])
    assert still == str(service["regdate"]), (still, service)  # WHMCS did not move it: the repro's fact
    tasks = [n["note"] for n in staff_tasks(payer, 12)]
    assert any(f"service #{service['id']}" in n and still in n and "next due date" in n for n in tasks), tasks
    assert all(n["sticky"] for n in staff_tasks(payer, 12) if f"service #{service['id']}" in n["note"]), tasks


@pytest.fixture
def slow(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


def test_the_owner_paying_its_later_invoice_during_a_write_answered_after_the_timeout_is_paid_twice(slow: World):
    """MEDIUM 6: the owner's other invoice billing the renewed period (that line alone) is cancelled by the renewal,
    the write held 3 s in WHMCS while the bridge gives up after 1 s; the owner pays it meanwhile, WHMCS moves the due
    date for it, then the cancel lands. The retry found the due date moved and that invoice Cancelled, and read only
    the invoice the renewal was priced from: the same invoices as the first try's are read again."""
    world = slow
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    grant_id, [mine] = asked(world)
    later = owners_invoice(world, date.fromisoformat(str(invoice["duedate"])))
    sandbox.control(
        "line",
        {"invoice": later, "type": "Hosting", "relid": 110, "description": line["description"], "amount": "14.95"},
    )
    drop_placeholder(world, later)
    owner_pays_during_the_write(world, later, mine["id"], 3, skip=1)  # #2's write passes, the later one's is held
    at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")  # past the call's grace
    for _ in range(4):
        world.run("tick", "--at", at)
    assert sandbox.rows("invoices", id=later)[0]["status"] == "Cancelled"
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=10) if grant_id in n["note"]]
    assert any(f"#{later} " in n and "Cancelled" in n and "14.95" in n for n in notes), notes


def test_the_owners_invoice_payment_pending_just_before_the_cancel_parks_the_renewal(sandbox: Sandbox, api: WhmcsApi):
    """MEDIUM 1, the part WHMCS shows: the owner's invoice the renewal was priced from went Payment Pending (a
    gateway's payment on its way, staff's per README) after the guard read it and before the renewal's own read just
    before its cancel. That read says so: nothing is cancelled nor moved, the action parks for staff. (Payment Pending
    set while the cancel itself runs in WHMCS leaves no fact: no status history, no transaction.)"""
    sandbox.load("agency")
    [line] = sandbox.rows("invoice_items", invoice_id=2)
    due = str(sandbox.rows("services", id=110)[0]["nextduedate"])
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": 2, "status": "Payment Pending"})
    params = {
        "owner_invoice": 2,
        "line_id": line["id"],
        "line_ids": [line["id"]],
        "service_id": 110,
        "from": due,
        "until": next_month(due),
    }
    with pytest.raises(ActionError, match="Payment Pending"):
        action_kind("renew_service").run(Call(api, params, "renew:1:apply", 11))
    assert sandbox.rows("invoices", id=2)[0]["status"] == "Payment Pending"
    assert str(sandbox.rows("services", id=110)[0]["nextduedate"]) == due
