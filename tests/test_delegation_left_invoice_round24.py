"""Issue 16, twenty-third break round, delegation billing MEDIUM (repro_zero_invoice_left, repro_negative_invoice_left):
the owner's invoice billed the renewal with a free domain's renewal (0.00) or a goodwill line (-5.00) beside it. Once
the agency paid its renewal, the line came off and the owner's invoice was left open at 0.00 (nobody pays it, so WHMCS
never renews the free domain it bills) or at -5.00 (the owner's discount stranded), and nobody was told. Staff now get
one task naming the invoice and what it totals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, asked, owner_invoice, pay


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


FREE_DOMAIN = {"type": "Domain", "relid": 11, "description": "Domain Renewal - boulangerie-dupont.fr (free with hosting)",
               "amount": "0.00"}  # fmt: skip
GOODWILL = {"type": "Item", "relid": 0, "description": "Goodwill discount (outage in November)", "amount": "-5.00"}


@pytest.mark.parametrize(("line", "total"), [(FREE_DOMAIN, "0.00"), (GOODWILL, "-5.00")])
def test_an_owners_invoice_left_open_with_nothing_to_pay_is_a_task_for_staff(world: World, line: dict, total: str):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    sandbox.control("line", {"invoice": invoice["id"], **line})
    _, [mine] = asked(world)
    assert mine["total"] == "14.95"
    pay(world, mine["id"], "CARD-LEFT")
    world.settle(4)
    left = sandbox.rows("invoices", id=invoice["id"])[0]
    assert (left["status"], left["total"]) == ("Unpaid", total)
    tasks = [n for n in sandbox.rows("client_notes", client_id=11) if f"#{invoice['id']}" in n["note"] and "STAFF TASK" in n["note"]]
    assert len(tasks) == 1, sandbox.rows("client_notes", client_id=11)
    assert total.lstrip("-") in tasks[0]["note"] and tasks[0]["sticky"], [t["note"] for t in tasks]
    world.settle(3)  # told once
    assert len([n for n in sandbox.rows("client_notes", client_id=11) if n["note"] == tasks[0]["note"]]) == 1


def test_an_owners_invoice_left_with_something_to_pay_is_no_task(world: World):
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    sandbox.control("line", {"invoice": invoice["id"], **{**FREE_DOMAIN, "amount": "12.00"}})
    _, [mine] = asked(world)
    pay(world, mine["id"], "CARD-KEPT")
    world.settle(4)
    assert not [n for n in sandbox.rows("client_notes", client_id=11) if "STAFF TASK" in n["note"]]
