"""Renewals of one item asked through two grants, and through a grant on the owner's whole account, end to end
against the sandbox (issue 16 break test, M1 and M4): while one delegate's renewal invoice for a service or domain
is open in WHMCS, another delegate's request for the same item is refused with a sentence naming that invoice,
whichever grant made the first, and accepted again once WHMCS says it is cancelled (even before the bridge heard
it); a whole-account grant renews any of the owner's services and domains (the domain at WHMCS's TLD price), once
WHMCS says the owner holds it, and refuses another client's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import BridgeWorld, Sandbox
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def granted(world: BridgeWorld, delegate: int, *items: str) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", str(delegate), *items, "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    world.settle()
    return str(out.split()[0])


def renewal_invoices(world: BridgeWorld, client: int) -> list[dict[str, Any]]:
    return [i for i in world.sandbox.rows("invoices", client_id=client) if "Delegated renewal" in i["notes"]]


def refused(world: BridgeWorld, *args: str, code: int = 1) -> str:
    """A command the CLI refuses: exit 1 (2 for an id that names the wrong thing), one sentence, no traceback."""
    result = CliRunner().invoke(cli.main, ["--config", str(world.config), *args])
    assert result.exit_code == code and "Traceback" not in result.output, result.output
    return str(result.output)


def asked_on_page(world: BridgeWorld, tmp: Path, grant_id: str, **item: int) -> None:
    """The command the delegate's self-service page (or a ticket's [renew]) hands the rules, with no CLI check
    before it: the rules decide alone."""
    now = datetime.now(UTC)
    data = {"command": "renew", "grant": grant_id, "by": "delegate (self-service page)", "owner": 11, **item}
    with Database(tmp / "state.db") as db, db.atomic():
        inbox.add(
            db,
            event_id=f"page-{grant_id}-{sorted(item.items())}",
            type="DelegationCommand",
            source="cli",
            body={"type": "DelegationCommand", "occurred_at": now.isoformat(), "data": data},
            received_at=now,
        )
    world.settle(4)


@pytest.mark.parametrize("kind,item", [("service", 110), ("domain", 11)])
def test_a_second_delegate_is_refused_while_the_first_ones_renewal_invoice_is_open(
    world: BridgeWorld, tmp_path: Path, kind: str, item: int
):
    sandbox = world.sandbox
    first = granted(world, 10, f"--{kind}", str(item))  # the agency
    second = granted(world, 13, f"--{kind}", str(item))  # another webmaster, on the same item
    world.run("delegations", "renew", first, f"--{kind}", str(item), "--by", "lena")
    world.settle(4)
    [open_one] = renewal_invoices(world, 10)
    said = refused(world, "delegations", "renew", second, f"--{kind}", str(item), "--by", "luc")
    assert f"a renewal invoice for {kind} #{item} is already open: invoice #{open_one['id']}" in said, said
    # The same request reaching the rules another way (the page, a ticket): WHMCS says the invoice is still
    # unpaid, so nothing is invoiced to the second delegate; it is told why, and the grant's history says so.
    asked_on_page(world, tmp_path, second, **{kind: item})
    assert renewal_invoices(world, 13) == []
    told = [e for e in world.emails(13) if "already open" in e["subject"]]
    assert len(told) == 1 and f"#{open_one['id']}" in told[0]["message"], [e["subject"] for e in world.emails(13)]
    shown = world.run("delegations", "show", second).output
    assert f"renewal 1: {kind} #{item}, refused" in shown and f"invoice #{open_one['id']}" in shown, shown
    # The first delegate's invoice is cancelled in WHMCS; the bridge has not heard it yet (no pass ran), but WHMCS
    # is asked: the second delegate may renew now.
    sandbox.control("act", {"action": "UpdateInvoice", "invoiceid": open_one["id"], "status": "Cancelled"})
    assert (
        "renewal 2 of grant" in world.run("delegations", "renew", second, f"--{kind}", str(item), "--by", "luc").output
    )
    world.settle(4)
    [mine] = renewal_invoices(world, 13)
    assert mine["status"] == "Unpaid" and mine["total"] == open_one["total"]


def test_the_first_grant_is_refused_too_while_the_second_ones_invoice_is_open(world: BridgeWorld):
    first = granted(world, 10, "--service", "110")
    second = granted(world, 13, "--service", "110")
    world.run("delegations", "renew", second, "--by", "luc")
    world.settle(4)
    [open_one] = renewal_invoices(world, 13)
    said = refused(world, "delegations", "renew", first, "--by", "lena")
    assert f"a renewal invoice for service #110 is already open: invoice #{open_one['id']}" in said, said
    # Paid: the service is renewed once, its line off the owner's invoice; the first grant then has nothing to renew.
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": open_one["id"], "transid": "LUC-1", "gateway": "stripe"}
    )
    world.settle(4)
    world.run("delegations", "renew", first, "--by", "lena")
    world.settle(4)
    assert renewal_invoices(world, 10) == []
    assert any(e["subject"].startswith("Nothing to renew yet") for e in world.emails(10))


def test_a_whole_account_grant_renews_the_owners_service_and_domain(world: BridgeWorld):
    sandbox = world.sandbox
    grant_id = granted(world, 10, "--whole-client")
    before = sandbox.rows("services", id=110)[0]["nextduedate"]
    world.run("delegations", "renew", grant_id, "--service", "110", "--by", "lena")
    world.settle(4)
    [service_invoice] = renewal_invoices(world, 10)
    assert service_invoice["total"] == "14.95"
    [line] = sandbox.rows("invoice_items", invoice_id=service_invoice["id"])
    assert "boulangerie-dupont.fr" in line["description"], line["description"]
    sandbox.control(
        "act",
        {"action": "AddInvoicePayment", "invoiceid": service_invoice["id"], "transid": "WA-1", "gateway": "stripe"},
    )
    world.settle(4)
    assert sandbox.rows("services", id=110)[0]["nextduedate"] > before
    # The owner's domain, which no invoice bills yet: priced at WHMCS's renewal price for its TLD and period.
    [domain] = sandbox.rows("domains", id=11)
    price = sandbox.post("GetTLDPricing", clientid=11).json()["pricing"]["fr"]["renew"][str(domain["regperiod"])]
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    [domain_invoice] = [i for i in renewal_invoices(world, 10) if i["id"] != service_invoice["id"]]
    assert domain_invoice["total"] == price
    sandbox.control(
        "act",
        {"action": "AddInvoicePayment", "invoiceid": domain_invoice["id"], "transid": "WA-2", "gateway": "stripe"},
    )
    world.settle(4)
    assert len([c for c in sandbox.calls() if c["action"] == "DomainRenew"]) == 1
    due = date.fromisoformat(domain["nextduedate"])
    assert sandbox.rows("domains", id=11)[0]["nextduedate"] == due.replace(year=due.year + 1).isoformat()
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, renewed" in shown and "renewal 2: domain #11, renewed" in shown, shown


def test_a_whole_account_grant_refuses_another_clients_service(world: BridgeWorld, tmp_path: Path):
    grant_id = granted(world, 10, "--whole-client")
    said = refused(world, "delegations", "renew", grant_id, "--service", "120", "--by", "lena", code=2)
    assert "service #120 belongs to client #12, not to client #11" in said, said
    said = refused(world, "delegations", "renew", grant_id, "--by", "lena", code=2)  # no --service: the command line
    assert "name the service or domain to renew" in said, said
    # Reaching the rules without the CLI's check: WHMCS is read, nothing is invoiced, the delegate is told.
    asked_on_page(world, tmp_path, grant_id, service=120)
    assert renewal_invoices(world, 10) == []
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #120, refused" in shown and "client #12" in shown, shown
    told = [e for e in world.emails(10) if "cannot renew" in e["subject"]]
    assert len(told) == 1, [e["subject"] for e in world.emails(10)]
