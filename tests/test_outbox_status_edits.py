"""An action's status edited in the state database outside the bridge (round 25's limit: the outbox's `status` was in
no hash): someone with write access to `state.db` but not the signing key moves an action waiting for staff to
`planned`, or one done to `planned` again, and the executor ran it without any approval, or twice. The chain says
where each action stands (its planning, staff's decisions, the executor's outcomes): an action that may run only by
an edit is parked before it runs, and `audit verify` names it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge import staff
from whmcs_bridge.engine import Engine
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.executor.loop import Executor
from whmcs_bridge.model import Action, Decision, Event, action_key
from whmcs_bridge.store import outbox, planned
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


def email(purpose: str, **extra: Any) -> Action:
    return Action(
        key=action_key("test", "client:1", purpose),
        family="test",
        kind="email",
        params={"related_id": 1, "type": "general", "subject": f"Notice {purpose}", "html": "<p>Pay now.</p>"},
        client_id=1,
        subject="client:1",
        **extra,
    )


def plan(db: Database, action: Action) -> outbox.OutboxEntry:
    Engine(db, []).enqueue([action], Event(id=f"test:{action.key}", type="Test", data={}), NOW)
    entry = outbox.by_key(db, action.key)
    assert entry is not None
    return entry


def sent(sandbox: Sandbox) -> int:
    return sum(1 for c in sandbox.calls() if c["action"] == "SendEmail" and c.get("outcome") == "success")


def status(db: Database, key: str) -> outbox.OutboxEntry:
    entry = outbox.by_key(db, key)
    assert entry is not None
    return entry


def test_an_action_waiting_for_staff_moved_to_planned_by_sql_is_parked_not_run(world: Sandbox, db: Database, api):
    held = plan(db, email("held", needs_approval=True))
    assert held.status == "awaiting_approval"
    sql(db, "UPDATE outbox SET status = 'planned', decided_by = 'alice' WHERE id = ?", held.id)
    report = Executor(db, api).run_once(NOW)
    assert report.parked == [held.key] and sent(world) == 0
    error = str(status(db, held.key).error)
    assert "edited outside the bridge" in error and "staff decision" in error, error


def test_an_action_staff_approved_runs(world: Sandbox, db: Database, api: WhmcsApi):
    held = plan(db, email("approved", needs_approval=True))
    staff.decide(db, held.id, approve=True, by="alice", reason="checked", now=NOW)
    assert Executor(db, api).run_once(NOW).done == [held.key]
    assert sent(world) == 1


def test_an_action_done_moved_back_to_planned_is_not_sent_again(world: Sandbox, db: Database, api: WhmcsApi):
    once = plan(db, email("once"))
    assert Executor(db, api).run_once(NOW).done == [once.key]
    sql(db, "UPDATE outbox SET status = 'planned', finished_at = NULL WHERE id = ?", once.id)
    report = Executor(db, api).run_once(NOW + timedelta(minutes=1))
    assert report.parked == [once.key] and sent(world) == 1
    assert "done" in str(status(db, once.key).error)
    with pytest.raises(BridgeError, match="would run twice"):  # parked now, but never approved into a second run
        staff.decide(db, once.id, approve=True, by="alice", reason="retry", now=NOW + timedelta(minutes=2))
    staff.decide(db, once.id, approve=False, by="alice", reason="ran already", now=NOW + timedelta(minutes=2))
    assert status(db, once.key).status == "rejected" and sent(world) == 1


def test_a_parked_action_moved_to_planned_without_a_decision_is_parked_again(world: Sandbox, db: Database, api):
    ghost = Action(
        key=action_key("test", "client:1", "ghost"),
        family="test",
        kind="suspend",
        params={"service_id": 999},
        client_id=1,
        subject="client:1",
    )
    entry = plan(db, ghost)
    assert Executor(db, api).run_once(NOW).parked == [ghost.key]  # WHMCS: no such service
    tries = sum(1 for c in world.calls() if c["action"] == "ModuleSuspend")
    sql(db, "UPDATE outbox SET status = 'planned', error = NULL WHERE id = ?", entry.id)
    assert Executor(db, api).run_once(NOW + timedelta(minutes=1)).parked == [ghost.key]
    assert sum(1 for c in world.calls() if c["action"] == "ModuleSuspend") == tries  # WHMCS not called again
    assert "staff decision" in str(status(db, ghost.key).error)
    # Staff's own decision is what releases it: it is tried again (and WHMCS refuses it again).
    staff.decide(db, entry.id, approve=True, by="alice", reason="service restored", now=NOW + timedelta(minutes=2))
    Executor(db, api).run_once(NOW + timedelta(minutes=3))
    assert sum(1 for c in world.calls() if c["action"] == "ModuleSuspend") == tries + 1


def test_audit_verify_names_an_action_whose_status_was_edited(world: Sandbox, db: Database):
    held = plan(db, email("named", needs_approval=True))
    assert planned.edited(db) == []
    sql(db, "UPDATE outbox SET status = 'planned' WHERE id = ?", held.id)
    problems = planned.edited(db)
    assert len(problems) == 1 and held.key in problems[0] and "staff decision" in problems[0], problems


def test_an_action_inserted_below_the_first_recorded_one_is_not_taken_for_an_old_one(world: Sandbox, db, api):
    """Twenty-sixth break round, ownership HIGH 7: an action row inserted with id 0, below the first the chain
    recorded, read as one planned before the chain recorded actions, and ran. The bridge never deletes an action,
    so every id from 1 below the first recorded one is an older action's: id 0 (or less) is none."""
    plan(db, email("first"))
    sql(
        db,
        "INSERT INTO outbox (id, action_key, family, kind, params, client_id, subject, guard, destructive,"
        " needs_approval, status, attempts, created_at, updated_at)"
        " SELECT 0, 'forged', family, kind, params, client_id, subject, guard, destructive, needs_approval,"
        " 'planned', 0, created_at, updated_at FROM outbox WHERE id = 1",
    )
    report = Executor(db, api).run_once(NOW)
    assert "forged" in report.parked and sent(world) == 1, report
    assert "recorded no such action" in str(status(db, "forged").error)


@pytest.mark.parametrize("ended", ["done", "cancelled", "rejected"])
def test_an_action_ended_by_sql_is_named_by_audit_verify(world: Sandbox, db: Database, ended: str):
    """Twenty-sixth break round, ownership MEDIUM 12: the removal of the ex-holder's login set to `done` in the
    database never ran, and `audit verify` said intact; an end the chain never recorded is named."""
    quiet = plan(db, email(f"quiet-{ended}"))
    sql(db, "UPDATE outbox SET status = ?, finished_at = updated_at WHERE id = ?", ended, quiet.id)
    problems = planned.edited(db)
    assert len(problems) == 1 and quiet.key in problems[0] and ended in problems[0], problems
    assert "recorded no such end" in problems[0]


def test_actions_that_really_ended_are_not_named(world: Sandbox, db: Database, api: WhmcsApi):
    ran = plan(db, email("ran"))
    refused = plan(db, email("refused", needs_approval=True))
    staff.decide(db, refused.id, approve=False, by="alice", reason="not now", now=NOW)
    Executor(db, api).run_once(NOW)
    assert status(db, ran.key).status == "done" and status(db, refused.key).status == "rejected"
    assert planned.edited(db) == []


@pytest.mark.parametrize("waiting", ["parked", "awaiting_approval"])
def test_a_rejected_action_moved_back_to_waiting_cannot_be_approved(
    world: Sandbox, db: Database, api: WhmcsApi, waiting: str, tmp_path: Path, worlds: list[BridgeWorld]
):
    """Twenty-seventh break round, delegation HIGH 3: staff rejected a parked renewal; its row set back to `parked`
    by SQL was offered again by `approvals list`, `approve` accepted it and it ran, while `audit verify` said intact.
    An action the chain recorded ended (rejected, cancelled, withdrawn, done) is ended whatever its row says."""
    refused = plan(db, email("refused-then-edited", needs_approval=True))
    staff.decide(db, refused.id, approve=False, by="alice", reason="refund the delegate", now=NOW)
    assert planned.edited(db) == []
    sql(db, "UPDATE outbox SET status = ?, finished_at = NULL WHERE id = ?", waiting, refused.id)
    problems = planned.edited(db)
    assert len(problems) == 1 and refused.key in problems[0] and "staff.rejected" in problems[0], problems
    worlds.append(BridgeWorld(world, tmp_path, ""))  # the same state.db as `db`
    listed = worlds[0].run("approvals", "list").output
    assert f"#{refused.id} " in listed and "edited outside the bridge" in listed, listed
    with pytest.raises(BridgeError, match="staff.rejected"):
        staff.decide(db, refused.id, approve=True, by="bob", reason="retry", now=NOW + timedelta(minutes=1))
    Executor(db, api).run_once(NOW + timedelta(minutes=2))
    assert sent(world) == 0
    # Rejecting it again is how staff put the row back in line with the chain.
    staff.decide(db, refused.id, approve=False, by="bob", reason="was rejected", now=NOW + timedelta(minutes=3))
    assert status(db, refused.key).status == "rejected" and planned.edited(db) == []


def test_a_withdrawn_action_moved_back_to_awaiting_approval_cannot_be_approved(world: Sandbox, db: Database):
    held = plan(db, email("withdrawn", needs_approval=True))
    with db.atomic():
        Engine(db, []).withdraw("test", Decision(None, withdraw=[held.key], withdraw_reason="case closed"), NOW)
    assert status(db, held.key).status == "cancelled" and planned.edited(db) == []
    sql(db, "UPDATE outbox SET status = 'awaiting_approval', finished_at = NULL WHERE id = ?", held.id)
    problems = planned.edited(db)
    assert len(problems) == 1 and "test.approval_withdrawn" in problems[0], problems
    with pytest.raises(BridgeError, match="approval_withdrawn"):
        staff.decide(db, held.id, approve=True, by="bob", reason="retry", now=NOW + timedelta(minutes=1))
