"""Settlement of a delegated renewal re-reads WHMCS (issue 16, build 4; the hostile tester's H2-H5 and the part
payment on a cancelled invoice): when the delegate pays, the service (or domain), the owner's line and the
delegate's invoice are read as WHMCS has them now; anything other than what was invoiced (the owner paid too,
the service cancelled, the owner's line changed, staff rejected an action whose outcome is unknown) renews
nothing and becomes a staff task stating what WHMCS shows, and the delegate is told."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox, make_client, sql
from tests.test_daemon import wait_until
from tests.test_delegation_renewal_e2e import (
    World,
    agency_invoices,
    asked,
    due,
    later_ticks,
    next_month,
    owner_invoice,
    pay,
    pay_part,
    staff_tasks,
    three_items,
)
from whmcs_bridge import families
from whmcs_bridge.config.load import load_config
from whmcs_bridge.engine import Engine
from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


def agency_world(sandbox: Sandbox, tmp_path: Path, whmcs: str = "") -> Iterator[World]:
    """The agency scenario's world after its first pass; `whmcs`: lines added to the config's whmcs section."""
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.config.write_text(w.config.read_text().replace("  max_attempts: 2\n", f"  max_attempts: 2\n{whmcs}"))
    w.run("tick")
    yield w
    w.close()


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path)


def parked(world: World) -> list[dict]:
    return list(json.loads(world.run("approvals", "list", "--json").output))


def subjects(world: World, client: int = 10) -> list[str]:
    return [e["subject"] for e in world.emails(client)]


def test_the_owner_paying_while_the_renewal_is_parked_is_paid_twice_not_renewed_again(world: World):
    """H2: the delegate's paid renewal parks on a WHMCS error; the owner pays its own invoice meanwhile (WHMCS
    renews the service for it); staff approve the parked action: the bridge does not take the owner's renewal for
    the delegate's, renews nothing again, asks staff to refund one payer and tells the delegate."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("faults", {"status": 200, "count": 1, "actions": ["UpdateInvoice"], "message": "Database error"})
    pay(world, invoices[0]["id"], "CARD-H2")
    world.settle(2)
    [action] = parked(world)
    assert action["kind"] == "renew_service"
    pay(world, invoice["id"], "OWNER-H2")
    world.settle(2)
    world.run("approvals", "approve", str(action["id"]), "--by", "bob", "--reason", "WHMCS is back")
    world.settle(3)
    assert due(world) == next_month(before)  # once, for the owner's payment
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Paid"
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    assert not any("renewed until" in n["note"] for n in sandbox.rows("client_notes", client_id=11))
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and f"#{invoice['id']}" in task["note"]
    assert any(f"invoice #{invoices[0]['id']}" in s for s in subjects(world)), subjects(world)


def cancelled_by_staff(world: World, service: int, owners: int) -> None:
    world.sandbox.post("UpdateClientProduct", serviceid=service, status="Cancelled")
    world.sandbox.post("UpdateInvoice", invoiceid=owners, status="Cancelled")


def test_a_service_cancelled_with_its_invoice_cancels_the_delegates_unpaid_invoice(world: World):
    """H3, before payment: staff cancel the service and the owner's invoice; the bridge sees the owner's invoice
    cancelled, reads the service, and cancels the delegate's still-unpaid invoice, telling it why."""
    sandbox = world.sandbox
    invoice = owner_invoice(world, 12)
    grant_id, invoices = asked(world, owner=12, service=120)
    cancelled_by_staff(world, 120, invoice["id"])
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Cancelled"
    told = [e for e in world.emails(10) if f"#{invoices[0]['id']}" in e["subject"]]
    assert len(told) == 1 and "Cancelled" in told[0]["message"], subjects(world)
    assert "renewal 1: service #120, withdrawn" in world.run("delegations", "show", grant_id).output


def test_a_payment_for_a_cancelled_service_renews_nothing_and_is_a_staff_task(world: World):
    """H3: the delegate pays before the bridge saw the cancellation: the service is not renewed; staff refund the
    delegate (the task says what WHMCS shows), and the delegate is told."""
    invoice = owner_invoice(world, 12)
    before = due(world, 120)
    grant_id, invoices = asked(world, owner=12, service=120)
    cancelled_by_staff(world, 120, invoice["id"])
    pay(world, invoices[0]["id"], "CARD-H3")
    world.settle(4)
    assert due(world, 120) == before
    assert "renewed" not in world.run("delegations", "show", grant_id).output.split("renewal 1:")[-1]
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and "Cancelled" in task["note"] and "14.95" in task["note"]
    assert any(f"invoice #{invoices[0]['id']}" in s for s in subjects(world)), subjects(world)


def test_a_payment_before_the_withdrawal_reaches_whmcs_is_a_staff_task(world: World):
    """H3: the bridge withdraws the delegate's invoice, but WHMCS is failing and the delegate pays before the
    cancellation gets through: it is not cancelled, nothing is renewed, the delegate is not told there is nothing
    to pay; staff get the task and the delegate hears its payment is being checked."""
    sandbox = world.sandbox
    invoice = owner_invoice(world, 12)
    before = due(world, 120)
    _, invoices = asked(world, owner=12, service=120)
    cancelled_by_staff(world, 120, invoice["id"])
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice"]})
    world.settle(4)
    pay(world, invoices[0]["id"], "CARD-H3b")
    sandbox.control("faults", {"count": 0})
    later_ticks(world)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Paid" and due(world, 120) == before
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and "Cancelled" in task["note"]
    assert not any("has been cancelled" in s for s in subjects(world)), subjects(world)
    assert any(f"invoice #{invoices[0]['id']} is being checked" in s for s in subjects(world)), subjects(world)


def test_a_changed_owners_line_is_not_settled_silently(world: World):
    """H4: staff lower the owner's line to 9.95 after the delegate was invoiced 14.95; the delegate pays 14.95:
    nothing is renewed and the owner's invoice is left as it is; staff get a task with both amounts."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    grant_id, invoices = asked(world)
    sandbox.post(
        "UpdateInvoice",
        invoiceid=invoice["id"],
        **{f"itemdescription[{line['id']}]": line["description"], f"itemamount[{line['id']}]": "9.95"},
        **{f"itemtaxed[{line['id']}]": "0"},
    )
    pay(world, invoices[0]["id"], "CARD-H4")
    world.settle(4)
    assert due(world) == before
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert left["status"] == "Unpaid" and left["total"] == "9.95"
    [task] = staff_tasks(world, 10)
    assert "9.95" in task["note"] and "14.95" in task["note"] and f"#{invoice['id']}" in task["note"]
    assert any(f"invoice #{invoices[0]['id']}" in s for s in subjects(world)), subjects(world)
    assert "renewed" not in world.run("delegations", "show", grant_id).output.split("renewal 1:")[-1]


def domain_asked(world: World) -> tuple[str, dict]:
    """The agency is granted the owner's domain #11 and asks to renew it (priced at its TLD's price): the grant,
    the agency's one renewal invoice."""
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    [mine] = agency_invoices(world)
    return grant_id, mine


def later_owner_invoice(world: World) -> dict:
    """WHMCS's cron makes the owner's own renewal invoice for the domain after the agency was invoiced (GenInvoices):
    one "Domain" line, relid 11, for the same period."""
    world.sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    unpaid = [i for i in world.sandbox.rows("invoices", client_id=11) if i["status"] == "Unpaid"]
    [owners] = [i for i in unpaid if i["total"] != "14.95"]
    world.settle(2)
    return owners


def test_the_owners_invoice_made_after_the_request_stops_billing_what_the_agency_paid(world: World):
    """Issue 16, break s13: the agency was invoiced at the TLD's price (the owner had no invoice yet), then WHMCS made
    the owner's renewal invoice for the same period, then the agency paid: the domain renews once, and the owner's
    invoice, read from WHMCS at settlement (not remembered from the request), no longer bills it (cancelled: the
    line was its only item)."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    pay(world, mine["id"], "CARD-S13")
    world.settle(4)
    assert len([c for c in sandbox.calls() if c["action"] == "DomainRenew"]) == 1
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    assert "renewal 1: domain #11, renewed" in world.run("delegations", "show", grant_id).output
    assert staff_tasks(world, 10) == [] and staff_tasks(world, 11) == []


def test_the_owner_paying_a_later_invoice_first_is_paid_twice_not_renewed_again(world: World):
    """Issue 16, break s13b: the owner's renewal invoice made after the request is paid by the owner, then the agency
    pays its own before the bridge's next pass (the owner's payment cancels it since the twelfth round, N7: it has
    not yet): nothing is renewed again by the bridge; staff refund one payer (a sticky task naming the owner's
    invoice), and the delegate is told."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    pay(world, owners["id"], "OWNER-S13B")
    pay(world, mine["id"], "CARD-S13B")
    world.settle(4)
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []
    [task] = staff_tasks(world, 10)
    assert f"#{owners['id']}" in task["note"] and f"#{mine['id']}" in task["note"] and task["sticky"] == 1, task
    assert "renewal 1: domain #11, renewed" not in world.run("delegations", "show", grant_id).output


def test_an_owners_later_invoice_in_collections_is_a_staff_task_naming_it(world: World):
    """The owner's renewal invoice made after the request is in Collections when the agency pays: staff's, nothing
    renewed nor cut; the task names that invoice and its status as WHMCS shows them."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    sandbox.post("UpdateInvoice", invoiceid=owners["id"], status="Collections")
    pay(world, mine["id"], "CARD-S13C")
    world.settle(4)
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Collections"
    [task] = staff_tasks(world, 10)
    assert f"invoice #{owners['id']} that billed it is Collections" in task["note"], task["note"]


def test_rejecting_a_crashed_domain_renewal_states_what_whmcs_shows(world: World, tmp_path: Path):
    """H5: the bridge died while the registrar renewed the delegate's domain (DomainRenew ran, the due date did not
    move): the action parks; staff reject it. The task states what WHMCS shows now (the domain's dates, which
    invoices are paid) and asks staff to decide; it names no owner payment, since there is none."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    [domain] = sandbox.rows("domains", id=11)
    pay(world, mine["id"], "CARD-H5")
    sandbox.control("hooks")
    now = datetime.now(UTC)
    with Database(tmp_path / "state.db") as db:
        Poller(db, WhmcsApi(make_client(sandbox.api_url))).run_once(now)
        Engine(db, families.enabled(load_config(world.config))).run_once(now)
        [entry] = [e for e in outbox.entries(db) if e.kind == "renew_domain"]
        # The crash: DomainRenew reached the registrar, the bridge died before the due date moved or it recorded.
        sandbox.post("DomainRenew", domainid=11, regperiod=1)
        started = (now - timedelta(hours=1)).isoformat()
        sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1, started_at = ? WHERE id = ?", started, entry.id)
    world.settle(2)
    [action] = parked(world)
    world.run("approvals", "reject", str(action["id"]), "--by", "bob", "--reason", "registrar shows it renewed")
    world.settle(3)
    [task] = staff_tasks(world, 10)
    note = task["note"]
    assert f"#{mine['id']}" in note and domain["nextduedate"] in note and "Paid" in note, note
    assert "owner paid" not in note and "invoice #None" not in note and "invoice # " not in note, note
    assert "already been renewed" not in note, note
    assert len([c for c in sandbox.calls() if c["action"] == "DomainRenew"]) == 1
    assert "paid twice" not in world.run("delegations", "show", grant_id).output


def test_a_part_payment_on_a_cancelled_renewal_invoice_is_a_staff_task(world: World):
    """The delegate paid 5.00 of its renewal invoice, then staff cancelled that invoice: staff refund the 5.00 (read
    from the invoice's transactions in WHMCS), and the delegate is told."""
    sandbox = world.sandbox
    grant_id, invoices = asked(world, owner=13, service=130)
    pay_part(world, invoices[0]["id"], "CARD-M1", "5.00")
    world.settle(2)
    sandbox.post("UpdateInvoice", invoiceid=invoices[0]["id"], status="Cancelled")
    world.settle(4)
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and "5.00" in task["note"] and task["sticky"] == 1
    assert any("refund" in s for s in subjects(world)), subjects(world)
    assert "renewal 1: service #130, cancelled" in world.run("delegations", "show", grant_id).output


@pytest.fixture
def quick_world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """The agency world with a 1 s WHMCS timeout from its first pass (an in-flight call is reconciled once
    twice the longest timeout the database was run with has passed)."""
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


@pytest.mark.parametrize("owner_items", [1, 3])
def test_a_slow_answer_to_the_renewals_own_invoice_edit_still_renews_once(quick_world: World, owner_items: int):
    """Fifth break test, H1: WHMCS applies the renewal's UpdateInvoice (the owner's invoice cancelled, or its line
    deleted) but answers after the bridge's timeout. The next try read its own edit as someone else's ("line gone",
    "owner invoice") and cancelled the renewal: the delegate had paid, nothing was renewed, the owner was no
    longer billed, and the delegate was told the owner's invoice had changed. The try after an unknown outcome
    now finishes what the first began."""
    world = quick_world
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    if owner_items == 3:
        three_items(world, invoice["id"])
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("faults", {"delay_s": 2.5, "count": 1, "actions": ["UpdateInvoice"]})
    pay(world, invoices[0]["id"], "CARD-SLOW")
    world.settle(2)
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [action] = [e for e in outbox.entries(db) if e.kind == "renew_service"]
    assert action.status == "in_flight", action  # the outcome of its UpdateInvoice is unknown
    # Once the call cannot still be running (twice the timeout after it began), a pass reconciles it.
    # Once the call cannot still be running (twice the timeout after it began, by the clock), a pass after the
    # retry's back-off reconciles it.
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    wait_until(lambda: world.run("tick", "--at", later) and action_status(world, action.key) != "in_flight", 90)
    assert action_status(world, action.key) == "done"
    world.settle(1)  # the rules hear the outcome
    assert due(world) == next_month(before)
    rest = sandbox.rows("invoices", id=invoice["id"])[0]
    assert rest["status"] == ("Cancelled" if owner_items == 1 else "Unpaid"), rest
    assert "renewal 1: service #110, renewed" in world.run("delegations", "show", grant_id).output
    assert staff_tasks(world, 10) == []
    assert not any("changed" in s or "being checked" in s for s in subjects(world)), subjects(world)


def action_status(world: World, key: str) -> str:
    with Database(world.config.parent / "state.db", migrate=False) as db:
        entry = outbox.by_key(db, key)
    assert entry is not None
    return entry.status


def test_a_renewal_invoice_cancelled_by_mistake_then_paid_settles_and_blocks_a_second_one(world: World):
    """Seventh break round H1: staff cancelled the agency's renewal invoice by mistake, set it back to Unpaid, and
    the agency paid it: the payment renewed nothing, told nobody, and a new request was invoiced again. The
    payment settles the renewal (WHMCS shows the owner's line still due), and a new request is refused while
    WHMCS shows an earlier renewal invoice of the item open."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.post("UpdateInvoice", invoiceid=invoices[0]["id"], status="Cancelled")
    world.settle(4)
    sandbox.post("UpdateInvoice", invoiceid=invoices[0]["id"], status="Unpaid")
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    assert len(agency_invoices(world)) == 1, agency_invoices(world)
    assert f"invoice #{invoices[0]['id']}" in world.run("delegations", "show", grant_id).output
    pay(world, invoices[0]["id"], "CARD-H1")
    later_ticks(world)
    assert due(world) == next_month(before)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
