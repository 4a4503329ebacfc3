"""A delegate's renewal payment that comes when it can no longer renew anything (issue 16, sixth break test): after
its grant ended (M2), or after the owner paid its own invoice with account credit (M3). Either way nothing is
renewed twice, staff get a refund task on the delegate's account naming the real invoices and what WHMCS shows
paid, and the delegate is told what happens to its money."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import (
    World,
    asked,
    due,
    owner_invoice,
    pay,
    staff_tasks,
    three_items,
)
from tests.test_delegation_renewal_settle_e2e import agency_world, subjects


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path)


def test_a_payment_after_the_grant_was_revoked_is_a_staff_task_and_the_delegate_is_told(world: World):
    """M2: the grant is revoked while the delegate's renewal invoice is open (the bridge cancels it); the delegate
    pays it all the same. Nothing is renewed; staff get a task naming the invoice and the amount WHMCS shows paid;
    the delegate hears its payment came after its access ended and that staff will refund or credit it."""
    sandbox = world.sandbox
    before = due(world)
    grant_id, [mine] = asked(world)
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    pay(world, mine["id"], "CARD-LATE")  # before the bridge's pass cancels it
    world.settle(4)
    assert due(world) == before
    paid = sandbox.rows("invoices", id=mine["id"])[0]
    [task] = staff_tasks(world, 10)
    assert f"#{mine['id']}" in task["note"] and "14.95" in task["note"] and task["sticky"] == 1, task["note"]
    told = [e for e in world.emails(10) if f"#{mine['id']}" in e["subject"]]
    assert len(told) == 1, subjects(world)
    assert "access" in told[0]["message"] and "refund" in told[0]["message"], told[0]["message"]
    assert paid["status"] == "Paid", paid


def test_the_owners_credit_for_the_renewal_then_the_delegates_payment_is_a_task_on_the_payers_account(world: World):
    """M3: the owner's invoice bills the service and two other items; the owner applies account credit for the
    service's amount to it (WHMCS: paid by the owner, the invoice still open for the rest), then the delegate pays
    its invoice. As when both paid: the service is not renewed twice, the refund task is on the delegate's (the
    second payer's) account naming both invoices and the owner's credit, and the delegate is told."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    three_items(world, invoice["id"])
    before = due(world)
    _, [mine] = asked(world)
    sandbox.control("act", {"action": "AddCredit", "clientid": 11, "amount": "14.95", "description": "goodwill"})
    sandbox.control("act", {"action": "ApplyCredit", "invoiceid": invoice["id"], "amount": "14.95"})
    pay(world, mine["id"], "CARD-CREDIT")
    world.settle(4)
    assert due(world) == before
    assert staff_tasks(world, 11) == []
    [task] = staff_tasks(world, 10)
    assert f"#{mine['id']}" in task["note"] and f"#{invoice['id']}" in task["note"], task["note"]
    assert "14.95" in task["note"] and task["sticky"] == 1, task["note"]
    told = [e for e in world.emails(10) if f"#{mine['id']}" in e["subject"]]
    assert len(told) == 1, subjects(world)
    assert "Boulangerie Dupont" in told[0]["message"], told[0]["message"]
