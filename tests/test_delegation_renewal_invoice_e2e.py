"""The agency's invoice for a delegated renewal as the agency reads it (issue 16, eighth break round M3): its line
and notes in the agency's WHMCS language with the dates written in it, saying hosting or domain, the period
ending the day before the next due date (as WHMCS's own lines do), the invoice due on the owner's due date; and a
kill -9 while WHMCS makes it still leaves one invoice, recognised after the restart."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from babel.dates import format_date

from tests.conftest import Sandbox
from tests.test_daemon import Running, free_port, wait_until
from tests.test_delegation_renewal_e2e import World, agency_invoices, asked, due, later_ticks, next_month
from tests.test_delegation_renewal_interrupted_e2e import restarted
from tests.test_delegation_renewal_settle_e2e import action_status, agency_world, domain_asked
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database

# The agency's WHMCS language, its locale, and how its line starts for a hosting and for a domain.
LANGUAGES = [
    ("french", "fr", "Renouvellement de l'hébergement", "Renouvellement du nom de domaine"),
    ("dutch", "nl", "Verlenging van hosting", "Verlenging van domeinnaam"),
    ("indonesian", "id", "Perpanjangan hosting", "Perpanjangan nama domain"),
    ("english", "en", "Renewal of hosting", "Renewal of domain"),
]


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from agency_world(sandbox, tmp_path)


@pytest.fixture
def slow_world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """A 2 s WHMCS timeout: an in-flight call is reconciled twice that after it began."""
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 2\n  settle_after: 4s\n")


def written(day: date, locale: str) -> str:
    return format_date(day, format="long", locale=locale)


@pytest.mark.parametrize(("language", "locale", "hosting", "domain"), LANGUAGES)
def test_the_agency_is_invoiced_a_hosting_renewal_in_its_language_due_on_the_owners_due_date(
    world: World, language: str, locale: str, hosting: str, domain: str
):
    """A monthly service due D: the line says hosting, in the agency's language, from D to the day before the next
    due date, dates written as the agency writes them; the invoice is due on D; the notes keep their reference."""
    world.sandbox.post("UpdateClient", clientid=10, language=language)
    start = date.fromisoformat(due(world))
    until = date.fromisoformat(next_month(start.isoformat()))
    grant_id, [mine] = asked(world)
    [line] = world.sandbox.rows("invoice_items", invoice_id=mine["id"])
    said = line["description"]
    assert said.startswith(hosting) and "boulangerie-dupont.fr" in said and "Boulangerie Dupont" in said, said
    assert written(start, locale) in said and written(until - timedelta(days=1), locale) in said, said
    assert start.isoformat() not in said and until.isoformat() not in said and written(until, locale) not in said
    assert mine["duedate"] == start.isoformat()
    assert mine["notes"].startswith(f"Delegated renewal 1, grant {grant_id}: "), mine["notes"]
    assert written(until, locale) in mine["notes"] and until.isoformat() not in mine["notes"], mine["notes"]


@pytest.mark.parametrize(("language", "locale", "hosting", "domain"), LANGUAGES[:2])
def test_the_agency_is_invoiced_a_domain_renewal_in_its_language_due_on_the_domains_due_date(
    world: World, language: str, locale: str, hosting: str, domain: str
):
    """A domain priced at its TLD's renewal price for one year: the line says domain, the year ends the day before
    the next due date a year on; the invoice is due on the domain's next due date."""
    world.sandbox.post("UpdateClient", clientid=10, language=language)
    [record] = world.sandbox.rows("domains", id=11)
    start = date.fromisoformat(record["nextduedate"])
    until = start.replace(year=start.year + 1)
    _, mine = domain_asked(world)
    [line] = world.sandbox.rows("invoice_items", invoice_id=mine["id"])
    said = line["description"]
    assert said.startswith(domain) and "boulangerie-dupont.fr" in said and hosting not in said, said
    assert written(start, locale) in said and written(until - timedelta(days=1), locale) in said, said
    assert until.isoformat() not in said and written(until, locale) not in said, said
    assert mine["duedate"] == start.isoformat()


def test_a_kill_while_whmcs_makes_the_agencys_invoice_leaves_one_invoice_found_after_the_restart(
    slow_world: World, tmp_path: Path
):
    """WHMCS holds CreateInvoice 3 s; the daemon is killed once the call reached WHMCS, which makes the invoice.
    After the restart the bridge finds that invoice by its French line and notes, as rendered before the call:
    the action is done with its id, no second invoice is made."""
    world = slow_world
    world.sandbox.post("UpdateClient", clientid=10, language="french")
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    port = free_port()
    config = tmp_path / "daemon.yaml"
    config.write_text(world.config.read_text().replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n", 1))
    world.sandbox.control("faults", {"delay_s": 3.0, "count": 1, "actions": ["CreateInvoice"]})
    daemon = Running(config, port)
    try:
        world.run("delegations", "renew", grant_id, "--by", "lena")
        wait_until(lambda: requests.get(world.sandbox.url + "_sandbox/faults", timeout=5).json()["count"] == 0, 60)
    finally:
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
    wait_until(lambda: len(agency_invoices(world)) == 1)  # PHP finished the call the daemon no longer waits for
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [entry] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
    assert entry.status == "in_flight", entry
    restarted(world, entry.key)
    world.settle(3)
    [mine] = agency_invoices(world)
    [line] = world.sandbox.rows("invoice_items", invoice_id=mine["id"])
    assert line["description"].startswith("Renouvellement de l'hébergement"), line
    with Database(world.config.parent / "state.db", migrate=False) as db:
        done = outbox.by_key(db, entry.key)
    assert done is not None and done.status == "done" and action_status(world, entry.key) == "done"
    assert len([c for c in world.sandbox.calls() if c["action"] == "CreateInvoice"]) == 1
    assert f"#{mine['id']}" in world.run("delegations", "show", grant_id).output


def test_a_database_restored_from_before_the_invoice_was_written_finds_it_and_makes_no_second(
    world: World, tmp_path: Path
):
    """The backup holds the agency's invoice planned, its text not yet written (WHMCS could not say the agency's
    language then); the invoice is made after the backup; the backup is restored. The action may have run: its
    text is written as it would have been (Dutch, the same names) and looked for before anything is sent again,
    so the invoice made after the backup is found and no second one is made."""
    world.sandbox.post("UpdateClient", clientid=10, language="dutch")
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    # The renewal's read asks whether either client is Closed, then both clients' currencies (four
    # GetClientsDetails); the language is asked after them.
    world.sandbox.control("faults", {"status": 503, "count": 1000, "skip": 4, "actions": ["GetClientsDetails"]})
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    state = world.config.parent / "state.db"
    with Database(state, migrate=False) as db:
        [planned] = [e for e in outbox.entries(db) if e.kind == "create_invoice"]
    assert agency_invoices(world) == [] and planned.status == "planned" and "lang" not in planned.params
    backup = tmp_path / "backups" / "before.db"
    backup.parent.mkdir()
    world.run("backup", str(backup))
    world.sandbox.control("faults", {"count": 0})
    later_ticks(world)
    [mine] = agency_invoices(world)
    with Database(backup, migrate=False, signing=False) as copy:
        copy.backup_to(state)  # restored: the daemon's state as the backup has it
    later_ticks(world, (3, 4, 5))
    assert agency_invoices(world) == [mine]
    assert len([c for c in world.sandbox.calls() if c["action"] == "CreateInvoice"]) == 1
    with Database(state, migrate=False) as db:
        done = outbox.by_key(db, planned.key)
    assert done is not None and done.status == "done", done
