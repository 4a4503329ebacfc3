"""Issue 16, twelfth break round: a delegate's renewal money decided on what WHMCS shows when the bridge learns of it.
N3: the grant revoked while WHMCS was still making the delegate's invoice (CreateInvoice answered too late), the
delegate paying that invoice at once: a staff task and the delegate told, nothing renewed. N7: the owner paying the
renewal invoice WHMCS's cron made after the request cancels the delegate's unpaid one, and the delegate is told."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_daemon import wait_until
from tests.test_delegation_renewal_e2e import (
    World,
    agency_invoices,
    due,
    next_month,
    owner_invoice,
    pay,
    pay_part,
    staff_tasks,
)
from tests.test_delegation_renewal_settle_e2e import (
    action_status,
    agency_world,
    domain_asked,
    later_owner_invoice,
    subjects,
)
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path)


@pytest.fixture
def quick_world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """A 1 s WHMCS timeout: a CreateInvoice WHMCS answers after 2.5 s is in flight, its outcome unknown."""
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


def invoice_made_late(world: World) -> tuple[str, str]:
    """The agency is granted service 110 and asks its renewal; WHMCS makes the agency's invoice but answers after the
    bridge's timeout: the grant and the key of the create_invoice action, in flight."""
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
        "--by", "alice", "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.sandbox.control("faults", {"delay_s": 2.5, "count": 1, "actions": ["CreateInvoice"]})
    world.run("delegations", "renew", grant_id, "--by", "lena")
    for _ in range(4):
        world.run("tick")
        if any(c["action"] == "CreateInvoice" for c in world.sandbox.calls()):
            break
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [made] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
    assert made.status == "in_flight", made
    return grant_id, made.key


def the_late_invoice(world: World) -> dict[str, Any]:
    """The agency's invoice once WHMCS has made it (it answers 2.5 s after the call)."""
    for _ in range(40):
        mine = agency_invoices(world)
        if mine:
            return mine[0]
        time.sleep(0.25)
    raise AssertionError("WHMCS made no invoice for the agency")


def reconciled(world: World, key: str) -> None:
    """Passes after the call cannot still be running: the in-flight CreateInvoice is looked for in WHMCS."""
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    wait_until(lambda: world.run("tick", "--at", later) and action_status(world, key) != "in_flight", 90)
    world.settle(4)


def test_revoked_while_whmcs_makes_the_renewal_invoice_then_paid_is_a_staff_task_and_the_delegate_told(
    quick_world: World,
):
    """N3 (c5_revoke_during_invoice.py revokepay): CreateInvoice answered after the bridge's timeout; staff revoked
    the grant meanwhile; the agency paid the invoice as soon as WHMCS showed it. Nothing was renewed, but no staff
    task was written and the agency heard nothing about its payment (its InvoicePaid came before the bridge knew the
    invoice, and the cancellation that found it paid was heard by nobody)."""
    world = quick_world
    owners = owner_invoice(world)
    before = due(world)
    grant_id, key = invoice_made_late(world)
    world.run("delegations", "revoke", grant_id, "--by", "bob", "--reason", "owner called: stop")
    world.run("tick")
    mine = the_late_invoice(world)
    pay(world, mine["id"], "AG-N3")
    world.settle(2)
    reconciled(world, key)
    assert due(world) == before
    assert world.sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Unpaid"
    [task] = staff_tasks(world, 10)
    assert f"#{mine['id']}" in task["note"] and "14.95" in task["note"] and task["sticky"] == 1, task["note"]
    told = [e for e in world.emails(10) if f"#{mine['id']}" in e["subject"]]
    assert len(told) == 1, subjects(world)
    assert "refund" in told[0]["message"], told[0]["message"]


def test_an_active_grants_renewal_invoice_made_late_and_paid_at_once_renews_once(quick_world: World):
    """N3, the grant left active: the agency paid the invoice WHMCS made late before the bridge knew its number. The
    payment is not lost: once the invoice is found, WHMCS shows it paid, and the renewal is applied once."""
    world = quick_world
    owners = owner_invoice(world)
    before = due(world)
    grant_id, key = invoice_made_late(world)
    mine = the_late_invoice(world)
    pay(world, mine["id"], "AG-N3B")
    world.settle(2)
    reconciled(world, key)
    assert due(world) == next_month(before)
    assert world.sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    assert "renewal 1: service #110, renewed" in world.run("delegations", "show", grant_id).output
    assert staff_tasks(world, 10) == [] and staff_tasks(world, 11) == []


def test_the_owner_paying_whmcss_later_renewal_invoice_cancels_the_delegates_and_tells_it(world: World):
    """N7 (d14_domain_cron_invoice.py): the agency was invoiced the domain at the TLD's price (the owner had no
    invoice for it); WHMCS's cron then made the owner's own renewal invoice for the same period and the owner paid
    it. The agency's invoice stayed Unpaid and the agency was not told; paying it then was a refund task."""
    sandbox = world.sandbox
    grant_id, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    pay(world, owners["id"], "OWNER-N7")
    world.settle(4)
    assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Cancelled"
    told = [e for e in world.emails(10) if "already paid the renewal" in e["subject"]]
    assert len(told) == 1 and f"#{mine['id']}" in told[0]["message"], subjects(world)
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: domain #11, owner paid" in shown and f"invoice #{owners['id']} first" in shown, shown
    assert staff_tasks(world, 10) == [] and staff_tasks(world, 11) == []


def test_the_owner_paying_an_unrelated_invoice_leaves_the_delegates_open(world: World):
    """N7, the other way round: the owner pays an invoice that does not bill the renewed domain (its hosting's): the
    agency's invoice stays open, nobody is told anything."""
    sandbox = world.sandbox
    hosting = owner_invoice(world)
    _, mine = domain_asked(world)
    pay(world, hosting["id"], "OWNER-HOSTING")
    world.settle(4)
    assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Unpaid"
    assert not [e for e in world.emails(10) if "already paid" in e["subject"]], subjects(world)


def test_the_owner_paying_the_later_invoice_after_the_delegate_paid_part_is_a_staff_task(world: World):
    """N7 with a part payment: the agency had paid 5.00 of its invoice when the owner paid WHMCS's later one: the
    agency's invoice is not cancelled with the 5.00 on it; staff refund or credit it, the task naming the owner's
    invoice that was paid."""
    sandbox = world.sandbox
    _, mine = domain_asked(world)
    owners = later_owner_invoice(world)
    pay_part(world, mine["id"], "AG-PART", "5.00")
    world.settle(2)
    pay(world, owners["id"], "OWNER-N7P")
    world.settle(4)
    assert sandbox.rows("invoices", id=mine["id"])[0]["status"] == "Unpaid"
    [task] = staff_tasks(world, 10)
    assert "5.00" in task["note"] and f"#{owners['id']}" in task["note"] and f"#{mine['id']}" in task["note"], task


def test_the_owner_paying_the_later_invoice_while_the_delegates_is_being_made_leaves_it_cancelled(
    quick_world: World,
):
    """N7, another order: the agency's invoice for domain 11 (TLD price) is being made, WHMCS answering late, when
    WHMCS's cron makes the owner's renewal invoice and the owner pays it. The agency's invoice, once found, is
    cancelled and the agency told; the registrar is not asked to renew."""
    world = quick_world
    sandbox = world.sandbox
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    sandbox.control("faults", {"delay_s": 2.5, "count": 1, "actions": ["CreateInvoice"]})
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    for _ in range(4):
        world.run("tick")
        if any(c["action"] == "CreateInvoice" for c in sandbox.calls()):
            break
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [made] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
    assert made.status == "in_flight", made
    owners = later_owner_invoice(world)
    pay(world, owners["id"], "OWNER-N7F")
    world.settle(2)
    reconciled(world, made.key)
    [mine] = agency_invoices(world)
    assert mine["status"] == "Cancelled", mine
    assert [e for e in world.emails(10) if "already paid the renewal" in e["subject"]], subjects(world)
    assert [c for c in sandbox.calls() if c["action"] == "DomainRenew"] == []
    assert f"invoice #{owners['id']} first" in world.run("delegations", "show", grant_id).output


def test_a_cancellation_that_found_the_delegates_invoice_paid_reaches_the_grant_that_knows_the_invoice():
    """N3's other order: the invoice found unpaid when the late CreateInvoice was reconciled, paid before the
    cancellation ran. The cancellation's outcome (the invoice found Paid: cancel_found_paid) names the invoice, and
    reaches the grant that holds it; it reached nobody (its action is not one a grant refers to)."""
    from whmcs_bridge.families.delegation.rules import renewal_refs

    found = {"action_key": "wb-cancel", "status": "cancelled", "closed_invoice": 8, "invoice_status": "Paid"}
    assert renewal_refs(found) == ["invoice:8"]
