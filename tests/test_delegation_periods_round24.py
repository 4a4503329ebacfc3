"""Issue 16, twenty-fourth break round, delegation billing MEDIUM 2 (repro_two_unpaid_periods): the owner is behind,
its invoice for the period from the service's next due date is unpaid and WHMCS's cron has made the next period's
invoice too. The renewal took the newest invoice's line, found it "bills another period" and asked staff to correct
the service or the invoice: nothing was invoiced, though the older invoice bills exactly the period due. WHMCS dates
a renewal invoice on the service's next due date (its `duedate`, DD:api-reference/getinvoice.md): that invoice is the
one the renewal is priced from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, asked, due, next_month, owner_invoice


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def next_period_invoice(world: World, start: str) -> int:
    made = world.sandbox.control(
        "act", {"action": "CreateInvoice", "userid": 11, "itemdescription1": "x", "itemamount1": "0", "duedate": start}
    )
    invoice = int(made["invoiceid"])
    end = date.fromisoformat(next_month(start)) - timedelta(days=1)
    words = f"Business - boulangerie-dupont.fr ({date.fromisoformat(start):%d/%m/%Y} - {end:%d/%m/%Y})"
    world.sandbox.control(
        "line", {"invoice": invoice, "type": "Hosting", "relid": 110, "description": words, "amount": "14.95"}
    )
    [placeholder] = [i["id"] for i in world.sandbox.rows("invoice_items", invoice_id=invoice) if i["description"] == "x"]
    world.sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": invoice, "deletelineids[0]": placeholder})
    return invoice


def test_an_owner_behind_by_two_periods_is_renewed_from_the_invoice_of_the_period_due(world: World):
    current = owner_invoice(world)
    later = next_period_invoice(world, next_month(due(world)))
    _, invoices = asked(world)
    assert len(invoices) == 1 and invoices[0]["total"] == "14.95", world.sandbox.rows("client_notes", client_id=11)
    [line] = world.sandbox.rows("invoice_items", invoice_id=invoices[0]["id"])
    assert f"#{current['id']}" in line["description"] and f"#{later}" not in line["description"], line
