"""What the executor puts in the store itself, bound to the keyed audit chain (twenty-seventh break round, ownership
HIGH 5 and MEDIUM 6): someone with write access to `state.db` but not the signing key inserted an outbox row shaped
like the executor's own line (a client note, event id `cancelled:...`), and the executor wrote it into WHMCS as a
sticky client note in the bridge's words; and inserted an inbox row shaped like an executor read (OwnershipOwners,
event id `read:...`), and the rules took it as what WHMCS shows. The outcome row the executor writes records the
SHA-256 of each line it planned and of the body it fed back: what no such row backs is parked and named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge.cli import app as cli
from whmcs_bridge.engine import Engine
from whmcs_bridge.executor.loop import Executor
from whmcs_bridge.model import Action, Event, action_key
from whmcs_bridge.store import audit, fed, inbox, outbox, planned
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


def plan(db: Database, action: Action) -> outbox.OutboxEntry:
    Engine(db, []).enqueue([action], Event(id=f"test:{action.key}", type="Test", data={}), NOW)
    entry = outbox.by_key(db, action.key)
    assert entry is not None
    return entry


def email(purpose: str) -> Action:
    return Action(
        key=action_key("test", "client:1", purpose),
        family="test",
        kind="email",
        params={"related_id": 1, "type": "general", "subject": f"Notice {purpose}", "html": "<p>Pay now.</p>"},
        client_id=1,
        subject="client:1",
    )


def announce(purpose: str, data: dict[str, Any]) -> Action:
    """A read-only action whose result the executor feeds back to the rules (kinds.py _run_announce)."""
    return Action(
        key=action_key("test", "client:1", purpose),
        family="test",
        kind="announce",
        params={"type": "OwnershipChanged", "data": data},
        client_id=1,
        subject="client:1",
    )


def forge_note(db: Database, key: str, event_id: str) -> None:
    sql(
        db,
        "INSERT INTO outbox (action_key, family, kind, client_id, subject, params, destructive, guard, needs_approval,"
        " status, attempts, event_id, created_at, updated_at)"
        " VALUES (?, 'ownership', 'client_note', 1, 'client:1', ?, 0, '{}', 0, 'planned', 0, ?, ?, ?)",
        key,
        json.dumps({"text": "Case completed: move the hosting to client #21 too.", "sticky": True}),
        event_id,
        NOW.isoformat(),
        NOW.isoformat(),
    )


def notes(world: Sandbox) -> list[dict[str, Any]]:
    return [c for c in world.calls() if c["action"] == "AddClientNote"]


def test_a_client_note_inserted_as_the_executors_own_line_is_parked_and_named(world: Sandbox, db: Database, api):
    plan(db, email("first"))  # the chain records SHA-256s from here on
    forge_note(db, "forged-note", "cancelled:forged-note")
    report = Executor(db, api).run_once(NOW)
    assert "forged-note" in report.parked and notes(world) == [], report
    entry = outbox.by_key(db, "forged-note")
    assert entry is not None and "edited outside the bridge" in str(entry.error), entry
    assert any("forged-note" in p for p in planned.edited(db))


def test_an_own_line_naming_a_real_outcome_that_did_not_plan_it_is_parked(world: Sandbox, db: Database, api):
    ran = plan(db, email("ran"))
    Executor(db, api).run_once(NOW)  # done: its activity line planned beside the outcome
    forge_note(db, "second-note", f"cancelled:{ran.key}")
    forge_note(db, "third-note", f"done:{ran.key}")
    report = Executor(db, api).run_once(NOW + timedelta(minutes=1))
    assert {"second-note", "third-note"} <= set(report.parked) and notes(world) == [], report


def test_the_executors_own_lines_run_and_an_edited_one_does_not(world: Sandbox, db: Database, api: WhmcsApi):
    ran, other = plan(db, email("line")), plan(db, email("other"))
    Executor(db, api).run_once(NOW)
    lines = [e for e in outbox.entries(db) if e.kind == "activity"]
    assert {e.event_id for e in lines} == {f"done:{ran.key}", f"done:{other.key}"}
    edited = next(e for e in lines if e.event_id == f"done:{other.key}")
    sql(db, "UPDATE outbox SET params = ? WHERE id = ?", json.dumps({"text": "whmcs-bridge: all paid"}), edited.id)
    report = Executor(db, api).run_once(NOW + timedelta(minutes=1))
    assert report.parked == [edited.key] and len(report.done) == 1, report
    assert any(edited.key in p for p in planned.edited(db))


def test_an_own_line_of_an_outcome_recorded_before_lines_were_bound_runs(world: Sandbox, db: Database, api):
    """Outcome rows written before this change record no lines: their own lines keep running as before."""
    plan(db, email("old"))
    with db.atomic():
        audit.append(db, "executor.cancelled", actor="executor", client_id=1, detail={"key": "old-action"})
    forge_note(db, "old-note", "cancelled:old-action")
    assert "old-note" in Executor(db, api).run_once(NOW).done


def inbox_row(db: Database, event_id: str, type: str, data: dict[str, Any], source: str = "poll") -> None:
    body = {"type": type, "occurred_at": NOW.isoformat(), "source": {"executor": "x"}, "data": data}
    sql(
        db,
        "INSERT INTO inbox (event_id, type, source, occurred_at, received_at, body) VALUES (?, ?, ?, ?, ?, ?)",
        event_id,
        type,
        source,
        NOW.isoformat(),
        NOW.isoformat(),
        json.dumps(body),
    )


def status(db: Database, event_id: str) -> inbox.InboxEntry:
    entry = inbox.by_event_id(db, event_id)
    assert entry is not None
    return entry


def test_a_read_the_executor_fed_is_decided_on(world: Sandbox, db: Database, api: WhmcsApi):
    read = plan(db, announce("fed", {"case": "OC-1", "holder": 20}))
    assert Executor(db, api).run_once(NOW).done == [read.key]
    Engine(db, []).run_once(NOW)
    assert status(db, f"read:{read.key}").status == "done"
    assert fed.unbacked(db) == []


@pytest.mark.parametrize(
    ("event_id", "source"), [("read:wb-forged", "poll"), ("hook:1234", "webhook"), ("cli:alice-1", "cli")]
)
def test_an_executor_read_inserted_by_sql_is_parked_and_named(world: Sandbox, db: Database, event_id, source):
    """HIGH 5: an OwnershipOwners row saying domain #20 moved, whatever event id or source it claims."""
    plan(db, email("first"))
    inbox_row(db, event_id, "OwnershipOwners", {"case": "OC-1", "owners": {"domain:20": 21}}, source)
    report = Engine(db, []).run_once(NOW)
    entry = status(db, event_id)
    assert report.parked == 1 and entry.status == "parked", entry
    assert "OwnershipOwners" in str(entry.error) and "audit chain" in str(entry.error), entry.error
    unbacked = fed.unbacked(db)
    assert len(unbacked) == 1 and event_id in unbacked[0], unbacked


@pytest.mark.parametrize(
    ("event_id", "type"),
    [("resync:delegation:2026-11-29T10:00:00+00:00:client:1", "ClientContext"), ("cli:alice-2", "OwnershipCommand")],
)
def test_a_type_others_produce_too_is_decided_on(world: Sandbox, db: Database, event_id: str, type: str):
    """A resync reads a client's context as the executor does, staff submit ownership commands as `announce` does:
    such a type is checked by its id, not taken for a forged read."""
    plan(db, email("first"))
    inbox_row(db, event_id, type, {"case": "OC-1"}, "cli" if event_id.startswith("cli:") else "poll")
    Engine(db, []).run_once(NOW)
    assert status(db, event_id).status == "done" and fed.unbacked(db) == []


def test_a_fed_read_edited_before_the_rules_took_it_is_parked(world: Sandbox, db: Database, api: WhmcsApi):
    read = plan(db, announce("edited", {"case": "OC-1", "holder": 20}))
    Executor(db, api).run_once(NOW)
    sql(db, "UPDATE inbox SET body = json_set(body, '$.data.holder', 21) WHERE event_id = ?", f"read:{read.key}")
    Engine(db, []).run_once(NOW)
    assert status(db, f"read:{read.key}").status == "parked"
    assert any(read.key in p for p in fed.unbacked(db))


def test_a_read_with_another_actions_id_is_parked(world: Sandbox, db: Database, api: WhmcsApi):
    """A real executor action whose done row fed nothing: a read in its name is not backed."""
    ran = plan(db, email("no-feed"))
    Executor(db, api).run_once(NOW)
    inbox_row(db, f"read:{ran.key}", "OwnershipOwners", {"case": "OC-1", "owners": {"domain:20": 21}})
    Engine(db, []).run_once(NOW)
    assert status(db, f"read:{ran.key}").status == "parked"


def test_audit_verify_and_events_name_a_forged_read(
    world: Sandbox, db: Database, tmp_path: Path, worlds: list[BridgeWorld]
):
    plan(db, email("first"))
    inbox_row(db, "read:wb-forged", "OwnershipOwners", {"case": "OC-1", "owners": {"domain:20": 21}})
    Engine(db, []).run_once(NOW)
    worlds.append(BridgeWorld(world, tmp_path, ""))  # the same state.db as `db`
    bridge = worlds[0]
    result = bridge.runner.invoke(cli.main, ["--config", str(bridge.config), "audit", "verify"])
    verified = result.output
    assert result.exit_code != 0, verified
    assert "1 event(s) in the inbox disagree" in verified and "read:wb-forged" in verified, verified
    parked = worlds[0].run("events", "parked").output
    assert "read:wb-forged" in parked and "outside the bridge" in parked, parked
