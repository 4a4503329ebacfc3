"""Issue 16, twenty-sixth round (delegation billing, from the twenty-fifth break round's open findings): after a write
answered past the timeout, the owner's invoice paid and then cut (its payments above what it bills now) was missed
(F2); in payer mode the owner paying its order invoice while its items came off it left the order Pending (F4); the
owner's part payment during the renewal's write was told as "paid twice" (F6); a payment after the grant's last day
passed while delegation was off was told as "paid twice" (F8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_billing_round24 import owner_pays_during_the_write
from tests.test_delegation_renewal_e2e import asked, due, next_month, owner_invoice
from tests.test_delegation_renewal_settle_e2e import World, agency_world


@pytest.fixture
def slow(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


def past_grace(world: World, times: int = 4) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")  # past the call's grace
    for _ in range(times):
        world.run("tick", "--at", at)


def grant_notes(world: World, grant_id: str, client: int = 10) -> list[str]:
    return [n["note"] for n in world.sandbox.rows("client_notes", client_id=client) if grant_id in n["note"]]


def with_domain_line(world: World) -> dict[str, Any]:
    """The owner's #2 bills the hosting and the domain (14.95 + 9.95), so the renewal deletes its line, not the
    invoice."""
    invoice = owner_invoice(world)
    world.sandbox.control(
        "line",
        {
            "invoice": invoice["id"],
            "type": "Domain",
            "relid": 11,
            "description": "Domain Renewal - boulangerie-dupont.fr - 1 Year/s (17/07/2027 - 16/07/2028)",
            "amount": "9.95",
            "taxed": False,
        },
    )
    return invoice


def test_the_owner_paying_its_kept_invoice_during_a_write_answered_after_the_timeout_is_paid_twice(slow: World):
    """F2 (HIGH): the owner's #2 keeps its domain line, so the renewal deletes only the hosting's line; that write is
    held 3 s while the bridge gives up after 1 s, and the owner pays #2 in full (24.90) meanwhile. After the late
    answer #2 is Paid, 9.95 billed and 24.90 paid on it: the owner paid the renewed period too. The service moved one
    period, the renewal is "paid twice", staff refund the delegate and restore #2's line, and the owner is not told
    the agency paid."""
    world = slow
    sandbox = world.sandbox
    invoice = with_domain_line(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 3)
    past_grace(world)
    [now] = sandbox.rows("invoices", id=invoice["id"])
    assert (now["status"], now["total"]) == ("Paid", "9.95"), now  # the repro's facts
    assert due(world) == next_month(before)
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = grant_notes(world, grant_id)
    assert any(f"#{invoice['id']} " in n and "Paid" in n and "24.90" in n for n in notes), notes
    assert not [e for e in world.emails(11) if "was paid by" in e["subject"]]
