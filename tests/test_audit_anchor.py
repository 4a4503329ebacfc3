"""The audit chain anchored in WHMCS's activity log: by the bridge's pass after a case decision, once,
and at least daily; `audit verify --against-whmcs` against the real sandbox, a forged line named."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_audit_tamper import write_config
from whmcs_bridge.cli import app as cli
from whmcs_bridge.evidence import anchor
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def anchors(sandbox: Sandbox) -> list[dict[str, object]]:
    return [r for r in sandbox.rows("activity") if str(r["description"]).startswith(anchor.PREFIX)]


def test_a_case_decision_is_anchored_by_the_next_pass_once(sandbox: Sandbox, tmp_path: Path):
    config = write_config(tmp_path, sandbox.url)
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "ownership.request_received", case_id="o1")
        assert anchor.due(db, datetime.now(UTC)) is None  # nothing decided, nothing a day old
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        head = audit.head(db)
    assert run(config, "tick")[0] == 0
    [line] = anchors(sandbox)
    assert head is not None and f"{head[0]} rows, head {head[1]}" in str(line["description"])
    assert run(config, "tick")[0] == 0
    assert len(anchors(sandbox)) == 1  # anchored once: nothing decided since
    code, out = run(config, "audit", "verify", "--against-whmcs")
    assert code == 0 and "matching 1 anchor(s) in WHMCS's activity log" in out

    # Someone with WHMCS access but not the key writes a line claiming a longer chain.
    forged = str(line["description"]).replace(f"{head[0]} rows", f"{head[0] + 5} rows")
    assert sandbox.post("LogActivity", description=forged).json()["result"] == "success"
    code, out = run(config, "audit", "verify", "--against-whmcs")
    assert code == 1 and "an anchor whose signature does not verify (forged)" in out


def test_the_chain_is_anchored_at_least_daily(sandbox: Sandbox, tmp_path: Path):
    config = write_config(tmp_path, sandbox.url)
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "escalation.notice_sent", client_id=1, at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=23, minutes=59)) is None
        assert anchor.due(db, T0 + timedelta(days=1)) == "daily"
    code, _ = run(config, "tick", "--at", (T0 + timedelta(days=1)).isoformat())
    assert code == 0 and len(anchors(sandbox)) == 1
    with Database(tmp_path / "state.db") as db:
        assert anchor.due(db, T0 + timedelta(days=5)) is None  # nothing new since
        audit.append(db, "escalation.notice_sent", client_id=1, at=(T0 + timedelta(days=5)).isoformat())
        assert anchor.due(db, T0 + timedelta(days=5, hours=1)) is None
        assert anchor.due(db, T0 + timedelta(days=6)) == "daily"
        [point] = audit.checkpoints(db, anchored=True)
        assert point.count == 1 and point.anchor_id == anchors(sandbox)[0]["id"]


def test_an_anchor_missing_from_whmcs_is_named(sandbox: Sandbox, tmp_path: Path):
    """From the issue-17 break test: the anchor the chain records in WHMCS's activity log was pruned or deleted
    there, and `audit verify --against-whmcs` still passed. Each missing anchor is named, exit 1."""
    config = write_config(tmp_path, sandbox.url)
    api = WhmcsApi.from_config(cli.Context(str(config)).config())
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        first = anchor.anchor(db, api, T0, "decision")
        audit.append(db, "staff.OwnershipCommand.complete", case_id="o1", detail={"by": "bob"})
        second = anchor.anchor(db, api, T0 + timedelta(hours=1), "decision")
    assert first.anchor_id and second.anchor_id
    assert run(config, "audit", "verify", "--against-whmcs")[0] == 0
    assert sandbox.control("delete", {"activity": first.anchor_id})["ok"]  # staff prune the activity log
    code, out = run(config, "audit", "verify", "--against-whmcs")
    assert code == 1 and "intact" not in out, out
    assert "the anchor of 1 rows" in out and f"activity-log entry {first.anchor_id} on" in out, out
    assert "is missing from WHMCS" in out, out
    assert f"entry {second.anchor_id}" not in out, out


def test_a_whole_database_rolled_back_is_caught_only_by_the_whmcs_anchors(sandbox: Sandbox, tmp_path: Path):
    """The whole state.db replaced by an older copy of itself, the key unchanged: consistent locally (its head
    was signed then), so only the anchors in WHMCS newer than its head tell."""
    config = write_config(tmp_path, sandbox.url)
    api = WhmcsApi.from_config(cli.Context(str(config)).config())
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        anchor.anchor(db, api, T0, "decision")
    assert run(config, "backup", str(tmp_path / "older.db"))[0] == 0
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.cancel", case_id="o1", detail={"by": "bob"})
        newer = anchor.anchor(db, api, T0 + timedelta(hours=1), "decision")
    for part in ("state.db-wal", "state.db-shm"):
        (tmp_path / part).unlink(missing_ok=True)
    (tmp_path / "older.db").replace(tmp_path / "state.db")
    code, out = run(config, "audit", "verify")
    assert code == 0 and "intact: 1 entry" in out, out  # nothing local can tell
    code, out = run(config, "audit", "verify", "--against-whmcs")
    assert code == 1 and "intact" not in out, out
    assert f"WHMCS activity-log entry {newer.anchor_id} anchors 2 rows" in out and "newer than the chain's head" in out



def test_a_database_restored_from_before_an_anchor_is_refused_until_staff_acknowledge_it(
    sandbox: Sandbox, tmp_path: Path
):
    """A backup, then a decision anchored in WHMCS, then the backup restored as the README says: the daemon,
    `check --online` and `audit anchor` say in one sentence what was lost and refuse (exit 3), no anchor is
    written over the newer one; staff's acknowledgement, itself audited, lets them go on (ninth break round, H7)."""
    config = write_config(tmp_path, sandbox.url)
    with config.open("a") as handle:
        handle.write("staff: [alice]\n")
    api = WhmcsApi.from_config(cli.Context(str(config)).config())
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        anchor.anchor(db, api, T0, "decision")
    assert run(config, "backup", str(tmp_path / "older.db"))[0] == 0
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.answer", case_id="o1", detail={"answer": "object"})
        newer = anchor.anchor(db, api, T0 + timedelta(hours=1), "decision")
    for part in ("state.db-wal", "state.db-shm"):
        (tmp_path / part).unlink(missing_ok=True)
    (tmp_path / "older.db").replace(tmp_path / "state.db")
    lost = f"the chain in WHMCS goes to row 2 (head {newer.hash[:16]}…"
    written = len(anchors(sandbox))

    code, out = run(config, "check", "--online")
    assert code == 3 and lost in out and "this database stops at row 1" in out, out
    code, out = run(config, "audit", "anchor")
    assert code == 3 and lost in out and "audit acknowledge-rollback" in out, out
    assert len(anchors(sandbox)) == written
    code, out = run(config, "tick")
    assert code == 3 and lost in out, out
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    config.write_text(config.read_text().replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n", 1))
    daemon = subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert daemon.returncode == 3 and "whmcs-bridge run refused" in daemon.stderr and lost in daemon.stderr, daemon

    code, out = run(config, "audit", "acknowledge-rollback", "--by", "alice", "--note", "checked: case o1 re-recorded")
    assert code == 0 and "rollback acknowledged at audit row 2 by alice" in out, out
    with Database(tmp_path / "state.db", migrate=False) as db:
        [ack] = audit.entries(db, action=anchor.ACKNOWLEDGED)
    assert ack.actor == "staff:alice" and ack.detail["anchors"] == [[2, newer.hash]] and ack.detail["rows_here"] == 1
    code, out = run(config, "audit", "anchor")
    assert code == 0 and "audit chain anchored: 2 entries" in out, out
    code, out = run(config, "check", "--online")
    assert code == 0, out


def test_a_pass_that_ran_an_ownership_cases_step_is_anchored_but_not_a_read(tmp_path: Path):
    """Issue 17, H4 (b): the rows of a move's execution were left for the daily anchor. Any outcome of an
    action of an ownership case that changes WHMCS makes the chain due; a read (a locked case reads WHMCS every
    hour for weeks) and another family's action do not."""
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        audit.checkpoint(db, "decision")
        audit.record_anchor(db, 1, 7, T0.isoformat())
        for subject, kind in (("ownership:o1", "read_owners"), ("client:1", "ticket")):
            audit.append(db, "executor.done", subject=subject, detail={"kind": kind}, at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) is None
        audit.append(db, "executor.done", subject="ownership:o1", detail={"kind": "ticket"}, at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) == "ownership step (ticket)"
        audit.checkpoint(db, "step")
        audit.record_anchor(db, 4, 8, T0.isoformat())
        audit.append(db, "ownership.execution_completed", case_id="o1", subject="ownership:o1", at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) == "decision (ownership.execution_completed)"
