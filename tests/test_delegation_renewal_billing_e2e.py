"""What a delegated renewal bills the agency, end to end against the sandbox (ninth break round H1-H3): an agency
whose WHMCS account is in another currency than the owner's is not invoiced the owner's amount (staff decide); a
taxed line is billed taxed; a promotion line for the item on the owner's invoice is billed with it and comes off
with it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import (
    World,
    asked,
    due,
    next_month,
    owner_invoice,
    pay,
    staff_tasks,
)
from tests.test_delegation_renewal_settle_e2e import domain_asked, later_owner_invoice


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def test_an_agency_in_another_currency_is_not_invoiced_the_owners_amount(world: World):
    """The agency's account is in USD, the owner's in EUR: a WHMCS invoice is in its client's currency, so the
    owner's 14.95 EUR line is not billed as 14.95 USD; staff get one task naming both currencies and the amount,
    the agency is told it was not invoiced, and nothing comes off the owner's invoice."""
    sandbox = world.sandbox
    sandbox.control("act", {"action": "UpdateClient", "clientid": 10, "currency": 2})
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    assert invoices == [] and not any(c["action"] == "CreateInvoice" for c in sandbox.calls())
    [task] = staff_tasks(world, 11)
    assert "14.95 EUR" in task["note"] and "USD" in task["note"] and f"#{invoice['id']}" in task["note"], task
    assert grant_id in task["note"]
    told = [e for e in world.emails(10) if "checked by our staff" in e["subject"]]
    assert len(told) == 1 and "Nothing has been invoiced to you" in told[0]["message"], told
    assert "USD" in told[0]["message"] and "EUR" in told[0]["message"]
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid" and due(world) == before
    assert "renewal 1: service #110, needs staff" in world.run("delegations", "show", grant_id).output


def test_a_taxed_line_is_billed_taxed_to_the_agency(world: World):
    """The owner's line is taxed (WHMCS adds its VAT): the agency's line is taxed too (CreateInvoice `itemtaxed1`,
    DD:api-reference/createinvoice.md), so the tax is billed; paid, the renewal is applied as usual."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    sandbox.control(
        "act",
        {
            "action": "UpdateInvoice",
            "invoiceid": invoice["id"],
            f"itemdescription[{line['id']}]": line["description"],
            f"itemamount[{line['id']}]": line["amount"],
            f"itemtaxed[{line['id']}]": "1",
        },
    )
    before = due(world)
    _, [mine] = asked(world)
    [billed] = sandbox.rows("invoice_items", invoice_id=mine["id"])
    assert (billed["amount"], billed["taxed"]) == ("14.95", 1), billed
    [create] = [c for c in sandbox.calls() if c["action"] == "CreateInvoice"]
    assert create["params"]["itemtaxed1"] in ("1", "true", "True"), create["params"]
    pay(world, mine["id"], "CARD-TAX")
    world.settle(4)
    assert due(world) == next_month(before)
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"


def test_a_promotion_line_is_billed_with_the_item_and_comes_off_with_it(world: World):
    """The owner's invoice bills the hosting 14.95 and its recurring promotion -3.00 (PromoHosting, same relid):
    the agency is billed 11.95, what the owner would pay for it; paid, both lines come off the owner's invoice (here
    they were all of it: cancelled), and the owner is told so."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    sandbox.control(
        "line",
        {
            "invoice": invoice["id"],
            "type": "PromoHosting",
            "relid": 110,
            "description": "Promotional Code: FIDELE - 3.00 EUR Recurring Discount",
            "amount": "-3.00",
        },
    )
    before = due(world)
    grant_id, [mine] = asked(world)
    assert mine["total"] == "11.95", mine
    lines = sandbox.rows("invoice_items", invoice_id=mine["id"])
    assert sorted(i["amount"] for i in lines) == ["-3.00", "14.95"]
    assert any("FIDELE" in i["description"] for i in lines)
    pay(world, mine["id"], "CARD-PROMO")
    world.settle(4)
    assert due(world) == next_month(before)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert left["status"] == "Cancelled", left
    assert sandbox.rows("transactions", invoice_id=invoice["id"]) == []
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=11)]
    assert any(grant_id in n and "which billed nothing else, was cancelled" in n for n in notes), notes
    assert "renewal 1: service #110, renewed" in world.run("delegations", "show", grant_id).output


def test_a_promotion_line_comes_off_with_the_item_and_the_owners_other_items_stay(world: World):
    """The owner's invoice also bills another item: the hosting and its promotion come off, the other item stays
    due."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    sandbox.control(
        "act",
        {
            "action": "UpdateInvoice",
            "invoiceid": invoice["id"],
            "newitemdescription[0]": "Mail Pro (boulangerie-dupont.fr)",
            "newitemamount[0]": "14.95",
            "newitemtaxed[0]": "0",
        },
    )
    sandbox.control(
        "line",
        {"invoice": invoice["id"], "type": "PromoHosting", "relid": 110, "description": "Promo", "amount": "-3.00"},
    )
    _, [mine] = asked(world)
    assert mine["total"] == "11.95"
    pay(world, mine["id"], "CARD-PROMO2")
    world.settle(4)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert left["status"] == "Unpaid" and left["total"] == "14.95", left
    assert [i["description"] for i in sandbox.rows("invoice_items", invoice_id=invoice["id"])] == [
        "Mail Pro (boulangerie-dupont.fr)"
    ]


def test_a_domains_promotion_line_is_billed_with_it_and_comes_off_with_it(world: World):
    """The owner's renewal invoice for domain #11 (GenInvoices: one "Domain" line) carries the domain's promotion
    (PromoDomain, the same relid): the agency is billed both, and paid, both come off the owner's invoice."""
    sandbox = world.sandbox
    sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    [owners] = [i for i in sandbox.rows("invoices", client_id=11) if i["status"] == "Unpaid" and i["total"] != "14.95"]
    [line] = sandbox.rows("invoice_items", invoice_id=owners["id"])
    promo = {"invoice": owners["id"], "type": "PromoDomain", "relid": 11, "description": "Promo", "amount": "-2.00"}
    sandbox.control("line", promo)
    grant_id, mine = domain_asked(world)
    assert mine["total"] == f"{Decimal(line['amount']) - 2:.2f}", mine
    pay(world, mine["id"], "CARD-DPROMO")
    world.settle(4)
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    assert "renewal 1: domain #11, renewed" in world.run("delegations", "show", grant_id).output


def test_a_promotion_line_on_an_owners_invoice_made_after_the_request_comes_off_with_the_line(world: World):
    """The agency was invoiced at the TLD's price; WHMCS then made the owner's renewal invoice for the same period,
    with the domain's promotion: paid by the agency, that invoice no longer bills the domain (its line and its
    promotion were all of it: cancelled), rather than be left asking for the discount alone."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    promo = {"invoice": owners["id"], "type": "PromoDomain", "relid": 11, "description": "Promo", "amount": "-2.00"}
    sandbox.control("line", promo)
    pay(world, mine["id"], "CARD-LPROMO")
    world.settle(4)
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    assert "renewal 1: domain #11, renewed" in world.run("delegations", "show", grant_id).output
