"""Issue 16, twenty-fourth break round (delegation billing): the owner paying one of its invoices while the renewal's
write to it was slow in WHMCS was seen only on the service path's first try. The domain path (HIGH 1), the owner's
other invoice billing the same period (HIGH 2) and a write answered after the bridge's timeout (HIGH 3) left the
owner's paid invoice Cancelled, the renewal "renewed" and nobody told; the staff task now names that invoice and
what was paid on it (MEDIUM 4)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import agency_invoices, asked, due, next_month, owner_invoice, pay
from tests.test_delegation_renewal_round23 import pay_once_updating
from tests.test_delegation_renewal_settle_e2e import World, agency_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 1\n  settle_after: 2s\n")


def owner_pays_during_the_write(
    world: World,
    invoice: int,
    delegate_invoice: int,
    held: float,
    skip: int = 0,
    owner_pays_by: Callable[[World, int], None] = pay_once_updating,
) -> None:
    """The delegate pays; the bridge's UpdateInvoice is held `held` seconds in WHMCS; the owner pays `invoice`
    (`owner_pays_by`: in full by default) as soon as WHMCS took that call; then the bridge runs until the write
    landed and after."""
    fault = {"delay_s": held, "count": 1, "actions": ["UpdateInvoice"]}
    if skip:
        fault["skip"] = skip
    world.sandbox.control("faults", fault)
    pay(world, delegate_invoice, "CARD-AGENCY")
    world.sandbox.control("hooks")
    owner_pays = threading.Thread(target=owner_pays_by, args=(world, invoice))
    owner_pays.start()
    try:
        world.settle(2)
    finally:
        owner_pays.join()
    time.sleep(held)
    world.settle(4)


def paid_twice_told(world: World, grant_id: str, invoice: int, item: str) -> None:
    shown = world.run("delegations", "show", grant_id).output
    assert f"renewal 1: {item}, paid twice" in shown, shown
    notes = [n["note"] for n in world.sandbox.rows("client_notes", client_id=10) if grant_id in n["note"]]
    told = [n for n in notes if f"#{invoice} " in n and "Cancelled" in n and "14.95" in n]
    assert told, notes  # MEDIUM 4: staff read which owner's invoice is Cancelled with the owner's money on it


def test_the_owner_paying_during_a_write_answered_after_the_timeout_is_paid_twice(world: World):
    """HIGH 3: the cancel of the owner's #2 is held 3 s, the bridge gives up after 1 s; the owner pays #2 meanwhile
    and WHMCS moves the due date for it; the cancel then lands. The retry found the due date moved and #2
    Cancelled and took it for its own work: the owner's payment on the invoice it cancelled is the owner's."""
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, [mine] = asked(world)
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 3)
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")  # past the call's grace
    for _ in range(4):
        world.run("tick", "--at", later)
    assert world.sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Cancelled"
    assert due(world) == next_month(before)
    paid_twice_told(world, grant_id, invoice["id"], "service #110")


def test_the_owner_paying_during_the_write_on_its_first_try_names_its_cancelled_invoice(world: World):
    """MEDIUM 4: the round-23 path itself (held 0.8 s, within the timeout): the task says #2 is Cancelled with the
    owner's 14.95 on it, so staff restore it."""
    invoice = owner_invoice(world)
    grant_id, [mine] = asked(world)
    owner_pays_during_the_write(world, invoice["id"], mine["id"], 0.8)
    paid_twice_told(world, grant_id, invoice["id"], "service #110")


def test_the_owner_paying_its_domain_invoice_during_the_write_is_paid_twice(world: World):
    """HIGH 1: the domain path had no read after its write."""
    sandbox = world.sandbox
    sandbox.control("act", {"action": "GenInvoices", "clientid": 11, "domainids[0]": 11})
    [owners] = [i for i in sandbox.rows("invoices", client_id=11) if i["status"] == "Unpaid" and i["total"] != "14.95"]
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    [mine] = agency_invoices(world)
    owner_pays_during_the_write(world, owners["id"], mine["id"], 0.8)
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: domain #11, paid twice" in shown, shown
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=10) if grant_id in n["note"]]
    assert any(f"#{owners['id']} " in n and "Cancelled" in n for n in notes), notes


def test_the_owner_paying_its_later_invoice_during_the_write_is_paid_twice(world: World):
    """HIGH 2: the owner's other invoice billing the renewed period (with another line) has its line deleted while
    the owner pays it: "Paid 0.00" holding the owner's 14.95, and no read after the write."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    grant_id, [mine] = asked(world)
    made = sandbox.post("CreateInvoice", userid=11, itemdescription1="Mail Pro", itemamount1="5.00").json()
    later = int(made["invoiceid"])
    sandbox.control(
        "line",
        {"invoice": later, "type": "Hosting", "relid": 110, "description": line["description"], "amount": "14.95"},
    )
    owner_pays_during_the_write(world, later, mine["id"], 0.8, skip=1)  # #2's write passes, the later one's is held
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, paid twice" in shown, shown
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=10) if grant_id in n["note"]]
    assert any(f"#{later} " in n for n in notes), notes
