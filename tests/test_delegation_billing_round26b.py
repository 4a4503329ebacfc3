"""Twenty-sixth break round (delegation billing), HIGH 2 and 3: the owner paid with its credit balance (ApplyCredit,
DD:api-reference/applycredit.md) while the bridge's write taking the renewed line, or the order's items, off its
invoice was answered after the timeout. The re-read took only payments above the invoice's total for "paid then
cut", and left the credit out of both: an invoice paid by credit alone never counted, the owner paid twice and
nobody was told. The owner's money on an invoice (its payments and the credit applied to it, GetInvoice
`transactions` and `credit`, DD:api-reference/getinvoice.md) is compared with what its lines bill now (`subtotal`
and `tax`), which do not depend on how WHMCS nets the credit into `total`."""

from __future__ import annotations

import functools
import time

from tests.conftest import BridgeWorld
from tests.test_delegation_billing_round24 import owner_pays_during_the_write
from tests.test_delegation_billing_round26 import (
    grant_notes,
    owner_pays_order_during_lines_off,
    past_grace,
    payer,
    slow,
    with_domain_line,
)
from tests.test_delegation_renewal_e2e import asked, due, next_month
from tests.test_delegation_renewal_settle_e2e import World

__all__ = ["payer", "slow"]  # the fixtures, used by name


def credit_once_updating(world: World, invoice: int, amount: str) -> None:
    """The owner pays `invoice` from its credit balance as soon as WHMCS has received the bridge's UpdateInvoice."""
    client = int(world.sandbox.rows("invoices", id=invoice)[0]["client_id"])
    world.sandbox.post("AddCredit", clientid=client, description="Prepaid", amount=amount)
    for _ in range(600):
        if world.sandbox.control("faults")["count"] == 0:
            world.sandbox.post("ApplyCredit", invoiceid=invoice, amount=amount)
            return
        time.sleep(0.05)


def test_the_owner_paying_its_kept_invoice_by_credit_during_a_late_write_is_paid_twice(slow: World):
    world = slow
    sandbox = world.sandbox
    invoice = with_domain_line(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    by_credit = functools.partial(credit_once_updating, amount="24.90")
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 3, owner_pays_by=by_credit)
    past_grace(world)
    [now] = sandbox.rows("invoices", id=invoice["id"])
    assert now["status"] == "Paid" and now["credit"] == "24.90", now  # the repro's facts
    assert due(world) == next_month(before)  # one period, not two
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = grant_notes(world, grant_id)
    assert any(f"#{invoice['id']} " in n and "24.90" in n for n in notes), notes


def test_payer_mode_the_owner_paying_its_order_invoice_by_credit_during_the_lines_off_is_a_staff_task(payer: BridgeWorld):
    """HIGH 3: payer mode, the owner applies credit to its order invoice (the order and a 5.00 addon) while the
    bridge's write taking the order's items off it is held: the invoice ends Paid, billing 5.00 with 26.90 of credit
    on it. The owner paid the order: one sticky staff task to restore it and accept the order."""
    sandbox = payer.sandbox
    by_credit = functools.partial(credit_once_updating, amount="26.90")
    _, owners, _ = owner_pays_order_during_lines_off(payer, "5.00", owner_pays_by=by_credit)
    [now] = sandbox.rows("invoices", id=owners)
    assert now["status"] == "Paid" and now["credit"] == "26.90", now  # the repro's facts
    tasks = [n for n in sandbox.rows("client_notes", client_id=12) if "STAFF TASK" in n["note"] and "26.90" in n["note"]]
    assert len(tasks) == 1 and "accept" in tasks[0]["note"], [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
