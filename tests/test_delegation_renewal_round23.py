"""Issue 16, twenty-third break round (delegation billing): an owner's invoice billing two periods of the service,
each with its promotion, billed the agency one period with both promotions and took both off the owner's invoice
(HIGH 1); an owner's invoice for the domain in Collections or Payment Pending was not seen, so the agency was
invoiced at the TLD's price and its payment was then held for staff (MEDIUM 2)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, agency_invoices, asked, due, next_month, owner_invoice, pay


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def promotion(world: World, invoice: int) -> None:
    world.sandbox.control(
        "line",
        {
            "invoice": invoice,
            "type": "PromoHosting",
            "relid": 110,
            "description": "Promotional Code: WELCOME - 3.00 EUR Recurring Discount",
            "amount": "-3.00",
        },
    )


def a_month_on(description: str) -> str:
    """The same line's words for the period after (dd/mm/yyyy dates)."""

    def shift(m: re.Match[str]) -> str:
        day, month, year = m.group(0).split("/")
        shifted = next_month(f"{year}-{month}-{day}")
        return "/".join(reversed(shifted.split("-")))

    return re.sub(r"\d\d/\d\d/\d{4}", shift, description)


def test_two_periods_with_their_promotions_bill_the_agency_one_period_and_its_own_promotion(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    promotion(world, invoice["id"])
    sandbox.control(
        "line",
        {"invoice": invoice["id"], "type": "Hosting", "relid": 110, "description": a_month_on(line["description"]),
         "amount": "14.95"},
    )  # fmt: skip
    promotion(world, invoice["id"])
    assert sandbox.rows("invoices", id=invoice["id"])[0]["total"] == "23.90"
    before = due(world)
    _, [mine] = asked(world)
    assert mine["total"] == "11.95", sandbox.rows("invoice_items", invoice_id=mine["id"])
    pay(world, mine["id"], "CARD-TWO-PERIODS")
    world.settle(4)
    assert due(world) == next_month(before)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert (left["status"], left["total"]) == ("Unpaid", "11.95"), sandbox.rows("invoice_items", invoice_id=invoice["id"])
    kept = sorted(i["amount"] for i in sandbox.rows("invoice_items", invoice_id=invoice["id"]))
    assert kept == ["-3.00", "14.95"], kept


@pytest.mark.parametrize("status", ["Collections", "Payment Pending"])
def test_the_owners_domain_invoice_held_in_whmcs_refuses_the_request_before_any_invoice(world: World, status: str):
    sandbox = world.sandbox
    sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    [owners] = [i for i in sandbox.rows("invoices", client_id=11) if i["status"] == "Unpaid" and i["total"] != "14.95"]
    sandbox.post("UpdateInvoice", invoiceid=owners["id"], status=status)
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    assert agency_invoices(world) == [] and not [c for c in sandbox.calls() if c["action"] == "CreateInvoice"]
    told = [e for e in world.emails(10) if f"#{owners['id']}" in e["message"]]
    assert len(told) == 1 and status.lower() in told[0]["message"].lower(), [e["message"] for e in world.emails(10)]
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: domain #11, refused" in shown, shown


def pay_once_updating(world: World, invoice: int) -> None:
    """The owner pays as soon as WHMCS has received the bridge's UpdateInvoice (held there by the fault: taken, the
    sandbox's faults say none is left)."""
    for _ in range(600):
        if world.sandbox.control("faults")["count"] == 0:
            pay(world, invoice, "CARD-OWNER")
            return
        time.sleep(0.05)


def test_the_owner_paying_while_the_renewal_is_applied_is_paid_twice_for_staff(world: World):
    """HIGH 1 (billing tester): the owner paid its invoice while the bridge's UpdateInvoice taking the renewed line off
    it was still running in WHMCS (held 4 s): its paid invoice was cancelled, the renewal said "renewed", and nobody was
    asked to refund anyone. The invoice is read again after the write: a payment that landed meanwhile is the owner
    paying too, a staff task, and the service moves one period, not two."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    sandbox.control("faults", {"delay_s": 4, "count": 1, "actions": ["UpdateInvoice"]})
    pay(world, mine["id"], "CARD-AGENCY")
    sandbox.control("hooks")
    owner_pays = threading.Thread(target=pay_once_updating, args=(world, invoice["id"]))
    owner_pays.start()
    try:
        world.settle(4)
    finally:
        owner_pays.join()
    world.settle(3)
    assert due(world) == next_month(before)
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=10)]
    assert any(grant_id in n and str(invoice["id"]) in n for n in notes), notes
