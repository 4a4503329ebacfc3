"""Issue 16, twenty-third break round (delegation) HIGH 1: a revocation typed while WHMCS's cron had just sent a burst
of events sat in the inbox behind them (the engine decides the oldest first, 500 a pass): `delegations revoke` said
the grant was still active, and the next pass sent the revoked delegate the copy its grant had queued. A grant's
expiry did the same: its timer waited behind the burst, and the copy went after the grant's end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def cron_burst(state: Path, n: int = 1100) -> None:
    """What WHMCS's daily cron sends at once: an invoice email to each of n other clients, acknowledged and waiting."""
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"burst-{i}",
            "type": "EmailPreLog",
            "source": "webhook",
            "body": {
                "type": "EmailPreLog",
                "data": {"userid": 500 + i, "to": f"c{i}@example.net", "subject": f"Invoice #{9000 + i} created",
                         "message": "<p>invoice</p>", "messagename": "Invoice Created", "relid": 9000 + i},
            },
            "received_at": now,
        }
        for i in range(n)
    ]  # fmt: skip
    with Database(state) as db, db.atomic():
        for start in range(0, n, 200):
            inbox.add_many(db, events[start : start + 200])


def queued_copy(world: BridgeWorld, sandbox: Sandbox, state: Path, *expires: str) -> tuple[str, str]:
    """A grant on the hosting, and the copy of its suspension notice waiting for WHMCS's SendEmail to answer."""
    args = ["--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis", "email", *expires]
    grant_id = world.run("delegations", "grant", *args).output.split()[0]
    world.settle()
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["SendEmail"]})
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    with Database(state) as db:
        [queued] = sql(db, "SELECT action_key, status FROM outbox WHERE kind = 'email' AND status != 'done'")
    return grant_id, queued["action_key"]


def copies(world: BridgeWorld) -> list[str]:
    return [e["subject"] for e in world.emails(10) if e["subject"].startswith("[Copy]")]


def test_a_revocation_typed_behind_a_cron_burst_takes_effect_at_once(world: BridgeWorld, sandbox: Sandbox, tmp_path: Path):
    state = tmp_path / "state.db"
    grant_id, key = queued_copy(world, sandbox, state)
    cron_burst(state)
    out = world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency").output
    assert "revoked" in out and "active" not in out, out
    assert "revoked by alice: changed agency" in world.run("delegations", "show", grant_id).output
    sandbox.control("faults", {"count": 0})
    later = datetime.now(UTC) + timedelta(hours=2)
    for hours in (0, 1, 2):
        world.run("tick", "--at", (later + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert copies(world) == []
    with Database(state) as db:
        [row] = sql(db, "SELECT status, error FROM outbox WHERE action_key = ?", key)
    assert row["status"] == "cancelled" and f"grant {grant_id} is revoked" in row["error"], row


def test_a_copy_is_not_sent_after_the_grants_end_while_its_expiry_waits_behind_a_burst(
    world: BridgeWorld, sandbox: Sandbox, tmp_path: Path
):
    state = tmp_path / "state.db"
    ends = datetime.now(UTC) + timedelta(days=1)
    grant_id, key = queued_copy(world, sandbox, state, "--expires", ends.date().isoformat())
    cron_burst(state)
    sandbox.control("faults", {"count": 0})
    world.run("tick", "--at", (ends + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert copies(world) == []
    with Database(state) as db:
        [row] = sql(db, "SELECT status, error FROM outbox WHERE action_key = ?", key)
    assert row["status"] == "cancelled" and "expired" in row["error"], row
