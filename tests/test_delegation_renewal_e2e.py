"""A delegate's renewal of one service, end to end against the sandbox (issue 16, finding 3): the agency is
invoiced the service's line alone; its payment renews that service once and takes the line off the owner's
invoice, which keeps its other items; the owner paying first, the agency's invoice cancelled or refunded,
both paying, a second request while one is open, and a crash in the middle are each handled."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from click.testing import CliRunner

from tests.conftest import BridgeWorld, Sandbox, make_client, sql
from whmcs_bridge import families
from whmcs_bridge.cli import app as cli
from whmcs_bridge.config.load import load_config
from whmcs_bridge.engine import Engine
from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.store import inbox, outbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


class World(BridgeWorld):
    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        super().__init__(sandbox, tmp, "delegation:\n  enabled: true\n")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def owner_invoice(world: World, owner: int = 11) -> dict[str, Any]:
    return next(
        i for i in world.sandbox.rows("invoices", client_id=owner) if i["status"] == "Unpaid" and i["total"] == "14.95"
    )


def three_items(world: World, invoice_id: int) -> None:
    """Staff add a second hosting's and a domain's renewal to the owner's invoice (UpdateInvoice newitem*):
    14.95 + 14.95 + 12.00 = 41.90, as in the issue's reproduction."""
    world.sandbox.control(
        "act",
        {
            "action": "UpdateInvoice",
            "invoiceid": invoice_id,
            "newitemdescription[0]": "Mail Pro (boulangerie-dupont.fr)",
            "newitemamount[0]": "14.95",
            "newitemtaxed[0]": "0",
            "newitemdescription[1]": "Domain Renewal - boulangerie-dupont.fr - 1 Year",
            "newitemamount[1]": "12.00",
            "newitemtaxed[1]": "0",
        },
    )


def asked(world: World, owner: int = 11, service: int = 110) -> tuple[str, list[dict[str, Any]]]:
    """The agency (client 10) is granted the service and asks to renew it: the grant, the agency's invoices."""
    out = world.run(
        "delegations", "grant", "--owner", str(owner), "--delegate", "10", "--service", str(service),
        "--by", "alice", "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    assert "renewal 1 of grant" in world.run("delegations", "renew", grant_id, "--by", "lena").output
    world.settle(4)
    return grant_id, agency_invoices(world)


def agency_invoices(world: World) -> list[dict[str, Any]]:
    return [i for i in world.sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]


def pay(world: World, invoice_id: int, transid: str) -> None:
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": invoice_id, "transid": transid, "gateway": "stripe"}
    )


def due(world: World, service: int = 110) -> str:
    return str(world.sandbox.rows("services", id=service)[0]["nextduedate"])


def next_month(day: str) -> str:
    d = datetime.fromisoformat(day)
    return d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1).date().isoformat()


def test_one_item_of_three_is_invoiced_to_the_agency_and_renewed_once(world: World, tmp_path: Path):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    three_items(world, invoice["id"])
    before = due(world)
    grant_id, invoices = asked(world)
    # The agency is invoiced the service's line alone (14.95, not the invoice's 41.90), named clearly.
    assert len(invoices) == 1 and invoices[0]["total"] == "14.95"
    [line] = sandbox.rows("invoice_items", invoice_id=invoices[0]["id"])
    assert "boulangerie-dupont.fr" in line["description"] and f"#{invoice['id']}" in line["description"]
    pay(world, invoices[0]["id"], "CARD-1")
    world.settle(4)
    # The service is renewed once (one cycle on), and the owner's invoice keeps its other two items.
    assert due(world) == next_month(before)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert left["status"] == "Unpaid" and left["total"] == "26.95"
    items = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    assert sorted(i["amount"] for i in items) == ["12.00", "14.95"]
    assert not any(i["type"] == "Hosting" and i["relid"] == 110 for i in items)
    assert sandbox.rows("transactions", invoice_id=invoice["id"]) == []  # nothing paid on the owner's behalf
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=11)]
    assert any("renewed" in n and grant_id in n and "whose other items are still due" in n for n in notes), notes
    # Reported again (an old hook replaying): still one cycle.
    with Database(tmp_path / "state.db") as db, db.atomic():
        inbox.add(
            db,
            event_id="replay-1",
            type="InvoicePaid",
            source="webhook",
            body={"type": "InvoicePaid", "data": {"invoiceid": invoices[0]["id"]}},
            received_at=datetime.now(UTC),
        )
    world.settle(2)
    assert due(world) == next_month(before)
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, renewed" in shown
    # Asked again: the owner's invoice no longer bills the service, so there is nothing to renew.
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    assert len(agency_invoices(world)) == 1
    assert any(e["subject"].startswith("Nothing to renew yet") for e in world.emails(10))


def test_a_second_request_while_one_is_open_is_refused(world: World):
    grant_id, invoices = asked(world)
    refused = CliRunner().invoke(
        cli.main, ["--config", str(world.config), "delegations", "renew", grant_id, "--by", "lena"]
    )
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert f"renewal 1 of service #110 is open (the delegate's invoice #{invoices[0]['id']}" in refused.output
    world.settle(4)
    assert len(agency_invoices(world)) == 1


def test_the_owner_paying_first_cancels_the_agencys_invoice(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    pay(world, invoice["id"], "OWNER-1")  # the owner pays its own invoice first
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Cancelled"
    assert any("already paid" in e["subject"] for e in world.emails(10))
    assert due(world) == next_month(before)  # WHMCS renewed it once, for the owner's payment
    assert "renewal 1: service #110, owner paid" in world.run("delegations", "show", grant_id).output


def test_the_agencys_invoice_cancelled_leaves_the_owners_as_it_was(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoices[0]["id"], "status": "Cancelled"})
    world.settle(4)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95" and due(world) == before
    assert "renewal 1: service #110, cancelled" in world.run("delegations", "show", grant_id).output
    # A new request may follow.
    assert "renewal 2 of grant" in world.run("delegations", "renew", grant_id, "--by", "lena").output


def test_both_paying_and_a_refund_are_staff_tasks(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    # Both pay before the bridge's next pass: the service is renewed once (by the owner's payment) and staff
    # are asked to refund or credit the agency.
    pay(world, invoices[0]["id"], "CARD-3")
    pay(world, invoice["id"], "OWNER-3")
    world.settle(4)
    assert due(world) == next_month(before)
    notes = [n for n in sandbox.rows("client_notes", client_id=10) if "STAFF TASK" in n["note"]]
    assert len(notes) == 1 and f"#{invoices[0]['id']}" in notes[0]["note"] and notes[0]["sticky"] == 1
    assert "renewal 1: service #110, paid twice" in world.run("delegations", "show", grant_id).output


def test_both_paying_owner_first_tells_the_agency_nothing_false(world: World):
    """From the issue-16 break test: the owner pays, then the agency pays its own invoice before the bridge's
    pass. Its invoice cannot be cancelled any more (it is Paid): the agency is not told "your invoice has been
    cancelled: there is nothing for you to pay"; staff get the refund task."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    _, invoices = asked(world)
    pay(world, invoice["id"], "OWNER-5")
    pay(world, invoices[0]["id"], "CARD-5")
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Paid"
    told = [e for e in sandbox.rows("emails", client_id=10) if "already paid the renewal" in e["subject"]]
    assert told == [], [e["subject"] for e in told]
    notes = [n for n in sandbox.rows("client_notes", client_id=10) if "STAFF TASK" in n["note"]]
    assert len(notes) == 1 and f"#{invoices[0]['id']}" in notes[0]["note"], [n["note"] for n in notes]


def test_a_refund_after_the_renewal_is_a_staff_task(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    _, invoices = asked(world)
    pay(world, invoices[0]["id"], "CARD-4")
    world.settle(4)
    # The service's line was the owner's invoice's only item: that invoice is cancelled, and the owner's note says
    # so rather than that its other items are still due (issue-16 break test, low findings).
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    [settled] = [n["note"] for n in sandbox.rows("client_notes", client_id=11) if "renewed until" in n["note"]]
    assert (
        "still due" not in settled and f"invoice #{invoice['id']}, which billed nothing else, was cancelled" in settled
    )
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoices[0]["id"], "status": "Refunded"})
    world.settle(4)
    notes = [n for n in sandbox.rows("client_notes", client_id=11) if "STAFF TASK" in n["note"]]
    assert (
        len(notes) == 1 and f"#{invoices[0]['id']}" in notes[0]["note"] and "boulangerie-dupont.fr" in notes[0]["note"]
    )


def test_the_renewal_survives_a_crash_between_the_call_and_its_record(world: World, tmp_path: Path):
    """The bridge dies after WHMCS renewed the service but before the outbox recorded it: no second cycle."""
    sandbox = world.sandbox
    invoice = owner_invoice(world, 12)
    before = due(world, 120)
    _, invoices = asked(world, owner=12, service=120)
    pay(world, invoices[0]["id"], "CARD-2")
    sandbox.control("hooks")
    config = load_config(world.config)
    now = datetime.now(UTC)
    with Database(tmp_path / "state.db") as db:
        Poller(db, WhmcsApi(make_client(sandbox.api_url))).run_once(now)
        Engine(db, families.enabled(config)).run_once(now)
        [entry] = [e for e in outbox.entries(db) if e.kind == "renew_service"]
        assert entry.status == "planned"
        # A crash right after the calls left it in flight: WHMCS has the change, the bridge did not record it.
        sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1 WHERE id = ?", entry.id)
        [line] = [i for i in sandbox.rows("invoice_items", invoice_id=invoice["id"]) if i["relid"] == 120]
        sandbox.post("UpdateInvoice", invoiceid=invoice["id"], **{"deletelineids[0]": line["id"]})
        sandbox.post("UpdateClientProduct", serviceid=120, nextduedate=next_month(before))
    world.settle(2)
    assert due(world, 120) == next_month(before)
    with Database(tmp_path / "state.db") as db:
        assert [e.status for e in outbox.entries(db) if e.kind == "renew_service"] == ["done"]


def later_ticks(world: World, hours: tuple[int, ...] = (0, 1, 2)) -> None:
    """Passes past the executor's retry back-off after an outage."""
    start = datetime.now(UTC) + timedelta(hours=2)
    for h in hours:
        world.run("tick", "--at", (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_renewal_invoice_queued_when_the_grant_is_revoked_is_cancelled_and_audited(world: World, tmp_path: Path):
    """Revocation wins: the delegate's invoice, queued during a WHMCS outage, is not issued once the grant is
    revoked; the cancellation is audited and the renewal ends with the grant."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["CreateInvoice"]})
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    with Database(tmp_path / "state.db") as db:
        [queued] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
    assert queued.status != "done"
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    sandbox.control("faults", {"count": 0})
    later_ticks(world)
    assert agency_invoices(world) == []
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95"
    with Database(tmp_path / "state.db") as db:
        [row] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
        audited = sql(db, "SELECT detail FROM audit_log WHERE action = 'executor.cancelled'")
    assert row.status == "cancelled" and f"grant {grant_id} is revoked" in (row.error or "")
    assert any(row.key in a["detail"] for a in audited)
    assert "renewal 1: service #110, grant ended" in world.run("delegations", "show", grant_id).output


def test_revoking_cancels_the_delegates_unpaid_renewal_invoice(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Cancelled"
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid" and due(world) == before
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95"
    assert "renewal 1: service #110, grant ended" in world.run("delegations", "show", grant_id).output


def test_a_paid_renewal_not_yet_applied_when_the_grant_is_revoked_is_a_staff_task(world: World, tmp_path: Path):
    """The delegate paid, WHMCS was down when the bridge would renew, and the grant was revoked meanwhile: the
    renewal is not applied for a grant that no longer stands; staff refund or credit the delegate."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["UpdateInvoice", "UpdateClientProduct"]})
    pay(world, invoices[0]["id"], "CARD-6")
    world.settle(4)
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    sandbox.control("faults", {"count": 0})
    later_ticks(world)
    assert due(world) == before
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95"
    with Database(tmp_path / "state.db") as db:
        [row] = [e for e in outbox.entries(db) if e.kind == "renew_service"]
    assert row.status == "cancelled" and f"grant {grant_id} is revoked" in (row.error or "")
    notes = [n for n in sandbox.rows("client_notes", client_id=10) if "STAFF TASK" in n["note"]]
    assert len(notes) == 1 and f"#{invoices[0]['id']}" in notes[0]["note"] and grant_id in notes[0]["note"]
    assert "revoked" in notes[0]["note"] and notes[0]["sticky"] == 1


def test_a_period_the_owners_line_does_not_bill_is_a_staff_task_not_a_guess(world: World):
    """Staff switched the service to yearly billing after its monthly invoice was issued: the owner's line bills
    a month, WHMCS says a year. The agency is not invoiced a month to get a year (nor a year for a month's
    price): staff are asked, the agency is told, and nothing moves."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    sandbox.post("UpdateClientProduct", serviceid=110, billingcycle="Annually")
    grant_id, invoices = asked(world)
    assert invoices == []
    notes = [n for n in sandbox.rows("client_notes", client_id=11) if "STAFF TASK" in n["note"]]
    assert len(notes) == 1 and notes[0]["sticky"] == 1, [n["note"] for n in notes]
    assert f"#{invoice['id']}" in notes[0]["note"] and "Annually" in notes[0]["note"] and grant_id in notes[0]["note"]
    assert any("checked by our staff" in e["subject"] for e in world.emails(10))
    assert due(world) == before and sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95"
    assert "renewal 1: service #110, needs staff" in world.run("delegations", "show", grant_id).output


def test_the_agency_renews_exactly_the_period_the_owners_line_bills(world: World):
    """A quarterly service: the line bills three months, the agency's invoice says so, and its payment moves
    the next due date three months on, once."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = date.fromisoformat(due(world))
    year, month = before.year + (before.month + 2) // 12, (before.month + 2) % 12 + 1
    until = date(year, month, min(before.day, calendar.monthrange(year, month)[1]))
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    sandbox.post("UpdateClientProduct", serviceid=110, billingcycle="Quarterly")
    sandbox.post(
        "UpdateInvoice",
        invoiceid=invoice["id"],
        **{
            f"itemdescription[{line['id']}]": f"Business ({before:%d/%m/%Y} - {until - timedelta(days=1):%d/%m/%Y})",
            f"itemamount[{line['id']}]": "44.85",
            f"itemtaxed[{line['id']}]": "0",
        },
    )
    _, invoices = asked(world)
    assert len(invoices) == 1 and invoices[0]["total"] == "44.85"
    [item] = sandbox.rows("invoice_items", invoice_id=invoices[0]["id"])
    # The period as WHMCS's own line shows it, ending the day before the next due date, in the agency's language.
    shown = (
        f"{format_date(before, 'long', locale='en')} to {format_date(until - timedelta(days=1), 'long', locale='en')}"
    )
    assert shown in item["description"], item
    assert invoices[0]["duedate"] == before.isoformat()
    pay(world, invoices[0]["id"], "CARD-7")
    world.settle(4)
    assert due(world) == until.isoformat()


def test_a_domain_grant_renews_the_domain_once_at_its_tld_price(world: World):
    """Issue 16, build 4 (the granted service's or domain's renewal): the agency, contact for the owner's
    domain, asks for its renewal; the owner has no invoice for it, so the price is WHMCS's (GetTLDPricing, the
    domain's registration period); paying renews the domain once at the registrar (DomainRenew) and moves its
    next due date one period on; a second request while one is open is refused; the owner's invoice is as it was."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    [domain] = sandbox.rows("domains", id=11)
    price = sandbox.post("GetTLDPricing", clientid=11).json()["pricing"]["fr"]["renew"][str(domain["regperiod"])]
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    assert "renewal 1 of grant" in world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena").output
    world.settle(4)
    [mine] = agency_invoices(world)
    assert mine["total"] == price
    [line] = sandbox.rows("invoice_items", invoice_id=mine["id"])
    until = date.fromisoformat(domain["nextduedate"]).replace(year=date.fromisoformat(domain["nextduedate"]).year + 1)
    last = format_date(until - timedelta(days=1), "long", locale="en")
    assert "boulangerie-dupont.fr" in line["description"] and last in line["description"], line
    refused = CliRunner().invoke(
        cli.main, ["--config", str(world.config), "delegations", "renew", grant_id, "--domain", "11", "--by", "lena"]
    )
    assert refused.exit_code == 1 and "renewal 1 of domain #11 is open" in refused.output
    pay(world, mine["id"], "CARD-8")
    world.settle(4)
    renewed = [c for c in sandbox.calls() if c["action"] == "DomainRenew"]
    assert len(renewed) == 1 and renewed[0]["params"]["domainid"] == "11"
    assert sandbox.rows("domains", id=11)[0]["nextduedate"] == until.isoformat()
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "14.95"
    assert "renewal 1: domain #11, renewed" in world.run("delegations", "show", grant_id).output
    world.settle(2)
    assert len([c for c in sandbox.calls() if c["action"] == "DomainRenew"]) == 1


def test_a_domains_line_on_the_owners_invoice_prices_it_and_the_owner_paying_first_cancels(world: World):
    """WHMCS issued the owner's renewal invoice for the domain (GenInvoices): the agency is invoiced that line's
    amount, for its period; the owner then pays its own invoice first: the agency's invoice is cancelled, the
    agency is told, and the bridge renews nothing."""
    sandbox = world.sandbox
    sandbox.control("act", {"action": "GenInvoices", "domainids[0]": 11})
    [owners] = [i for i in sandbox.rows("invoices", client_id=11) if i["status"] == "Unpaid" and i["total"] != "14.95"]
    [owner_line] = sandbox.rows("invoice_items", invoice_id=owners["id"])
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    [mine] = agency_invoices(world)
    assert mine["total"] == owner_line["amount"]
    [line] = sandbox.rows("invoice_items", invoice_id=mine["id"])
    assert f"its line on their invoice #{owners['id']}" in line["description"]
    pay(world, owners["id"], "OWNER-9")
    world.settle(4)
    assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Cancelled"
    assert any("already paid" in e["subject"] for e in world.emails(10))
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []
    assert "renewal 1: domain #11, owner paid" in world.run("delegations", "show", grant_id).output


def pay_part(world: World, invoice_id: int, transid: str, amount: str) -> None:
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


def staff_tasks(world: World, client: int) -> list[dict[str, Any]]:
    return [n for n in world.sandbox.rows("client_notes", client_id=client) if "STAFF TASK" in n["note"]]


def test_the_owner_paying_first_leaves_the_agencys_partly_paid_invoice_to_staff(world: World):
    """From the issue-16 partial-payment break test (H2): the agency paid 5.00 of its invoice, then the owner
    paid its own: the agency's invoice is not cancelled with the 5.00 on it; staff refund or credit it."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    _, invoices = asked(world)
    pay_part(world, invoices[0]["id"], "CARD-P1", "5.00")
    pay(world, invoice["id"], "OWNER-P1")
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Unpaid"
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and "5.00" in task["note"] and task["sticky"] == 1
    subjects = [e["subject"] for e in world.emails(10)]
    assert not any("already paid the renewal" in s for s in subjects), subjects
    assert any("refund" in s for s in subjects), subjects


def test_revoking_leaves_a_partly_paid_renewal_invoice_to_staff(world: World):
    """H3: the agency paid 3.00 of its renewal invoice, then the grant is revoked: not cancelled; staff task."""
    sandbox = world.sandbox
    grant_id, invoices = asked(world)
    pay_part(world, invoices[0]["id"], "CARD-P2", "3.00")
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    world.settle(4)
    assert sandbox.rows("invoices", id=invoices[0]["id"])[0]["status"] == "Unpaid"
    [task] = staff_tasks(world, 10)
    assert f"#{invoices[0]['id']}" in task["note"] and "3.00" in task["note"] and task["sticky"] == 1
    assert any("refund" in e["subject"] for e in world.emails(10))


@pytest.mark.parametrize("items", [1, 3])
def test_the_owners_part_payment_is_not_cancelled_when_the_agency_renews(world: World, items: int):
    """H1: the owner paid 5.00 of its invoice after the agency's was issued, then the agency pays in full: the
    owner's invoice is neither cancelled nor cut (a negative balance); staff get a task naming both amounts, on
    the agency's account (the second payer's, as when both paid: issue 16 sixth break test M3)."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    if items == 3:
        three_items(world, invoice["id"])
    total = sandbox.rows("invoices", id=invoice["id"])[0]["total"]
    _, invoices = asked(world)
    pay_part(world, invoice["id"], "OWNER-P3", "5.00")
    pay(world, invoices[0]["id"], "CARD-P3")
    world.settle(4)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert left["status"] == "Unpaid" and left["total"] == total
    assert len(sandbox.rows("invoice_items", invoice_id=invoice["id"])) == items
    assert staff_tasks(world, 11) == []
    [task] = staff_tasks(world, 10)
    assert "5.00" in task["note"] and "14.95" in task["note"] and f"#{invoice['id']}" in task["note"]
    assert f"#{invoices[0]['id']}" in task["note"] and task["sticky"] == 1


def test_a_renewal_is_refused_while_the_owner_has_paid_part_of_its_invoice(world: World):
    """H1: the owner paid 5.00 of its invoice before the agency asked: nothing is invoiced to the agency; the
    request is refused with a sentence naming the invoice."""
    invoice = owner_invoice(world)
    pay_part(world, invoice["id"], "OWNER-P4", "5.00")
    grant_id, invoices = asked(world)
    assert invoices == []
    shown = world.run("delegations", "show", grant_id).output
    assert f"the owner has already paid part of invoice #{invoice['id']}" in shown, shown
    assert world.sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"


@pytest.mark.parametrize(
    ("status", "language", "said"),
    [
        ("Terminated", "english", "is terminated"),
        ("Cancelled", "french", "est annulé"),
        ("Terminated", "dutch", "is beëindigd"),
        ("Cancelled", "indonesian", "telah dibatalkan"),
    ],
)
def test_a_terminated_or_cancelled_service_is_refused_with_its_status_not_a_missing_invoice(
    world: World, status: str, language: str, said: str
):
    """Break test (finding 2 of the hostile round): renewing a service WHMCS shows as Terminated or Cancelled
    said "no open invoice"; the delegate is told the true reason, WHMCS's status, in its language."""
    sandbox = world.sandbox
    sandbox.post("UpdateClient", clientid=10, language=language)
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
        "--by", "alice", "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    sandbox.post("UpdateClientProduct", serviceid=110, status=status)
    said_at_once = world.run("delegations", "renew", grant_id, "--by", "lena").output
    assert "will be invoiced" not in said_at_once and "next pass" in said_at_once, said_at_once  # LOW a
    world.settle(4)
    assert agency_invoices(world) == []
    [told] = [e for e in world.emails(10) if "110" in e["subject"] or "boulangerie-dupont.fr" in e["subject"]][-1:]
    assert said in told["message"] and "invoice" not in told["subject"].lower(), told
    assert "refused" in world.run("delegations", "show", grant_id).output


def test_asking_again_while_the_period_waits_for_staff_adds_no_second_task(world: World):
    """Hostile round of issue 16 (s13): the delegate asked three times while the owner's line billed another
    period than WHMCS's service; each request made another sticky staff task (and told the agency again). One
    open task per subject and reason: the repeats re-read WHMCS, find the same question and add none. Once staff
    put the service's cycle back, the next request is invoiced."""
    sandbox = world.sandbox
    sandbox.post("UpdateClientProduct", serviceid=110, billingcycle="Annually")
    grant_id, _ = asked(world)
    for _ in range(2):
        assert "renewal" in world.run("delegations", "renew", grant_id, "--by", "lena").output
        world.settle(4)
    assert len(staff_tasks(world, 11)) == 1, [n["note"] for n in staff_tasks(world, 11)]
    assert len([e for e in world.emails(10) if "checked by our staff" in e["subject"]]) == 1
    assert "renewal 3: service #110, needs staff" in world.run("delegations", "show", grant_id).output
    sandbox.post("UpdateClientProduct", serviceid=110, billingcycle="Monthly")
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    assert len(agency_invoices(world)) == 1 and len(staff_tasks(world, 11)) == 1


def test_a_grant_ending_with_its_renewal_invoice_open_tells_both_sides(world: World):
    """Tenth break round, M4: the grant's end cancelled the agency's open renewal invoice and nobody was told. The
    reminder before the end tells each side the agency's invoice is open; the end tells both it was cancelled and
    that the owner's own invoice is still due."""
    last_day = (datetime.now(UTC) + timedelta(days=20)).date()
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email", "--expires", last_day.isoformat(),
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    [agency] = agency_invoices(world)
    owners = owner_invoice(world)["id"]
    before = datetime.combine(last_day - timedelta(days=3), datetime.min.time(), UTC).isoformat()
    after = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=5)
    for when in (before, before, after.isoformat(), after.isoformat()):
        world.run("tick", "--at", when)
    for client in (10, 11):
        [reminder] = [e for e in world.emails(client) if "ends on" in e["subject"]]
        assert f"#{agency['id']}" in reminder["message"], reminder["message"]
    [ended_delegate] = [e for e in world.emails(10) if e["subject"].endswith("has ended")]
    [ended_owner] = [e for e in world.emails(11) if "is no longer your" in e["subject"]]
    for mail in (ended_delegate, ended_owner):
        assert f"#{agency['id']} " in mail["message"] and "cancelled" in mail["message"], mail["message"]
        assert f"#{owners} is still due" in mail["message"], mail["message"]
    assert world.sandbox.rows("invoices", id=agency["id"])[0]["status"] == "Cancelled"
