"""The daemon killed (kill -9) while the registrar renews a delegate's paid domain renewal (issue 16, sixth break
test M1): WHMCS is slow to answer DomainRenew, the daemon dies before it records anything, PHP finishes the call.
After the restart the bridge compares the domain's dates with the ones it recorded before its first try: moved, the
renewal is taken as done and the registrar is not asked again; unchanged, it does not ask again on its own, and
what staff read (the parked action, the task after a rejection) says the registrar call may have been sent and
what WHMCS shows now."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_daemon import Running, free_port, wait_until
from tests.test_delegation_renewal_e2e import World, pay, staff_tasks
from tests.test_delegation_renewal_settle_e2e import action_status, agency_world, domain_asked, parked
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def slow_world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """The agency world with a 2 s WHMCS timeout (an in-flight call is reconciled twice that after it began)."""
    yield from agency_world(sandbox, tmp_path, "  timeout_s: 2\n  settle_after: 4s\n")


def registrar_calls(world: World) -> int:
    return len([c for c in world.sandbox.calls() if c["action"] == "DomainRenew"])


def killed_while_renewing(world: World, tmp_path: Path) -> str:
    """The delegate pays its domain renewal while the daemon runs; WHMCS holds DomainRenew 3 s; the daemon is
    killed once the call reached WHMCS, which finishes it. The renewal action's key."""
    _, mine = domain_asked(world)
    port = free_port()
    config = tmp_path / "daemon.yaml"
    config.write_text(world.config.read_text().replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n", 1))
    world.sandbox.control("faults", {"delay_s": 3.0, "count": 1, "actions": ["DomainRenew"]})
    daemon = Running(config, port)
    try:
        pay(world, mine["id"], "CARD-KILL")
        wait_until(lambda: requests.get(world.sandbox.url + "_sandbox/faults", timeout=5).json()["count"] == 0, 60)
    finally:
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
    wait_until(lambda: registrar_calls(world) == 1)  # PHP finished the call the daemon no longer waits for
    with Database(world.config.parent / "state.db", migrate=False) as db:
        [entry] = [e for e in outbox.entries(db) if e.kind == "renew_domain"]
    assert entry.status == "in_flight", entry
    return entry.key


def restarted(world: World, key: str) -> None:
    """Passes after the restart, past the time the killed call could still be running, until the action is
    decided."""
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    wait_until(lambda: world.run("tick", "--at", later) and action_status(world, key) != "in_flight", 90)


def test_a_registrar_renewal_whmcs_shows_after_the_kill_is_not_sent_again(slow_world: World, tmp_path: Path):
    """WHMCS shows the domain's expiry date moved (the registrar renewed it; WHMCS's domain sync wrote the new
    date): the renewal is done, its next due date moved once, the registrar never asked again."""
    world = slow_world
    [domain] = world.sandbox.rows("domains", id=11)
    key = killed_while_renewing(world, tmp_path)
    year_on = domain["expirydate"].replace(domain["expirydate"][:4], str(int(domain["expirydate"][:4]) + 1), 1)
    world.sandbox.post("UpdateClientDomain", domainid=11, expirydate=year_on)
    restarted(world, key)
    assert action_status(world, key) == "done"
    world.settle(2)
    assert registrar_calls(world) == 1
    [now] = world.sandbox.rows("domains", id=11)
    assert now["nextduedate"] > domain["nextduedate"], now
    assert parked(world) == [] and staff_tasks(world, 10) == []


def test_a_registrar_call_whmcs_cannot_confirm_is_not_sent_again_silently(slow_world: World, tmp_path: Path):
    """WHMCS shows the domain's dates as before (GetClientsDomains does not show what the registrar did): the
    action parks, saying the registrar call may have been sent and the dates WHMCS shows; staff reject it, and
    the task says so too. The registrar is asked once."""
    world = slow_world
    [domain] = world.sandbox.rows("domains", id=11)
    key = killed_while_renewing(world, tmp_path)
    restarted(world, key)
    [action] = parked(world)
    said = action["error"]
    assert "DomainRenew" in said and "registrar" in said and domain["expirydate"] in said, said
    world.run("approvals", "reject", str(action["id"]), "--by", "bob", "--reason", "checking the registrar")
    world.settle(3)
    [task] = staff_tasks(world, 10)
    assert "DomainRenew" in task["note"] and "may have" in task["note"], task["note"]
    assert registrar_calls(world) == 1


@pytest.mark.parametrize("moved", ["month", "two years"])
def test_an_expiry_moved_by_other_than_the_years_paid_parks(slow_world: World, tmp_path: Path, moved: str):
    """Seventh break round M1: any later expiry date was taken as the registrar's renewal of the years paid. Only
    an expiry moved by exactly the years paid from the one recorded before the call is; any other change parks,
    saying the registrar call may have been sent, with the dates. The registrar is asked once."""
    world = slow_world
    [domain] = world.sandbox.rows("domains", id=11)
    key = killed_while_renewing(world, tmp_path)
    year, month = int(domain["expirydate"][:4]), int(domain["expirydate"][5:7])
    later = (
        f"{year + (month == 12)}-{month % 12 + 1:02d}-01"
        if moved == "month"
        else f"{year + 2}{domain['expirydate'][4:]}"
    )
    world.sandbox.post("UpdateClientDomain", domainid=11, expirydate=later)
    restarted(world, key)
    [action] = parked(world)
    said = action["error"]
    assert "may have reached the registrar" in said and later in said and domain["expirydate"] in said, said
    assert registrar_calls(world) == 1
