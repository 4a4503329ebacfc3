"""The real daemon as a subprocess: webhooks in, actions out, SIGTERM exits 0, SIGKILL loses nothing acked
and repeats no action; plus the one-pass and staff commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import WEBHOOK_SECRET, Sandbox, sql
from tests.test_cli import write_config
from whmcs_bridge.cli import app as cli
from whmcs_bridge.engine import Engine
from whmcs_bridge.evidence import anchor
from whmcs_bridge.intake import signing
from whmcs_bridge.model import Action, Event, action_key, marker
from whmcs_bridge.store import audit, inbox, outbox
from whmcs_bridge.store.db import Database

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(tmp: Path, whmcs: Sandbox | str, port: int, extra: str = "", whmcs_extra: str = "") -> Path:
    """A config for the daemon on `port` against the sandbox (or any WHMCS URL): calls time out after 2 s
    and are looked for again 4 s after they began;
    `extra` is appended YAML, `whmcs_extra` more keys of the whmcs section."""
    path = write_config(tmp, whmcs if isinstance(whmcs, str) else whmcs.url, extra=extra)
    # A call left unanswered is looked for again twice the timeout after it began (whmcs.settle_after).
    settle = "" if "settle_after" in whmcs_extra else "  settle_after: 4s\n"
    text = (
        path.read_text()
        .replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n")
        .replace("  max_attempts: 1\n", f"  max_attempts: 1\n  timeout_s: 2\n{settle}{whmcs_extra}")
    )
    path.write_text(text)
    return path


def plan_actions(db_path: Path, actions: list[Action]) -> None:
    with Database(db_path) as db:
        Engine(db, []).enqueue(actions, Event(id="test", type="Test", data={}), NOW)


def note(n: int) -> Action:
    return Action(
        key=action_key("test", f"client:{1 + n % 6}", "note", str(n)),
        family="test",
        kind="activity",
        params={"text": f"note {n}"},
        client_id=1 + n % 6,
        subject=f"client:{1 + n % 6}",
    )


class Running:
    def __init__(self, config: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "-v", "run"],
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                return
            except requests.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"the daemon did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
                    ) from None
                time.sleep(0.05)

    def send(self, event_id: str, kind: str, data: dict[str, Any]) -> int:
        body = json.dumps(
            {
                "type": kind,
                "occurred_at": "2026-11-22T10:00:00Z",
                "source": {"whmcs_url": "x", "hook_version": 1},
                "data": data,
            }
        ).encode()
        response = requests.post(
            self.url + "/hooks/whmcs",
            data=body,
            headers=signing.headers(WEBHOOK_SECRET, event_id, int(time.time()), body),
            timeout=5,
        )
        return response.status_code

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


def wait_until(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.load("reseller-overdue")
    yield sandbox


def test_run_receives_acts_and_stops_on_sigterm(world: Sandbox, tmp_path: Path):
    port = free_port()
    config = configure(tmp_path, world, port)
    plan_actions(tmp_path / "state.db", [note(1)])
    daemon = Running(config, port)
    try:
        assert daemon.send("msg_e2e_1", "InvoicePaid", {"invoiceid": 1}) == 202
        wait_until(lambda: any(marker(note(1).key) in a["description"] for a in world.rows("activity")))
        health = requests.get(daemon.url + "/healthz", timeout=5).json()
        assert health["status"] == "ok"

        def processed() -> bool:
            with Database(tmp_path / "state.db") as db:
                entry = inbox.by_event_id(db, "msg_e2e_1")
            return bool(entry and entry.status == "done")

        wait_until(processed)
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    assert "stopped" in err
    with Database(tmp_path / "state.db") as db:
        entry = inbox.by_event_id(db, "msg_e2e_1")
        assert entry is not None and entry.status == "done"
        assert audit.verify(db) >= 2


def test_sigkill_mid_burst_loses_no_acknowledged_event(world: Sandbox, tmp_path: Path):
    port = free_port()
    config = configure(tmp_path, world, port)
    daemon = Running(config, port)
    acked: list[str] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        for i in range(400):
            event_id = f"msg_burst_{n}_{i}"
            try:
                status = daemon.send(event_id, "InvoicePaid", {"invoiceid": n * 1000 + i})
            except requests.RequestException:
                return
            if status in (200, 202):
                with lock:
                    acked.append(event_id)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acked) >= 150)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=30)
    with Database(tmp_path / "state.db") as db:
        stored = {e.event_id for e in inbox.entries(db)}
    assert acked and set(acked) <= stored
    restarted = Running(config, port)
    try:
        wait_until(lambda: requests.get(restarted.url + "/healthz", timeout=5).json()["inbox"]["pending"] == 0)
    finally:
        assert restarted.stop()[0] == 0


def test_sigkill_while_acting_repeats_no_action(world: Sandbox, tmp_path: Path):
    """Every WHMCS call is slow; the daemon is killed mid-way, twice; each action's effect exists once."""
    port = free_port()
    config = configure(tmp_path, world, port)
    actions = [note(n) for n in range(12)]
    plan_actions(tmp_path / "state.db", actions)
    world.control("faults", {"delay_s": 0.15, "count": 1000, "actions": ["LogActivity"]})
    for _ in range(2):
        daemon = Running(config, port)
        wait_until(lambda: sum(1 for a in world.rows("activity") if "[wb-" in a["description"]) >= 3)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
    world.control("faults", {"count": 0})
    daemon = Running(config, port)
    try:
        wait_until(
            lambda: all(
                any(
                    marker(a.key) in r["description"] and r["description"].startswith("note")
                    for r in world.rows("activity")
                )
                for a in actions
            ),
            seconds=60,
        )
        with Database(tmp_path / "state.db") as db:
            wait_until(lambda: all(a.status == "done" for a in outbox.entries(db)))
    finally:
        assert daemon.stop()[0] == 0
    rows = world.rows("activity")
    log = world.calls()
    for action in actions:
        effects = [r for r in rows if marker(action.key) in r["description"] and r["description"].startswith("note")]
        assert len(effects) == 1, (action.key, effects)
        made = [
            c
            for c in log
            if c["action"] == "LogActivity"
            and c.get("outcome") == "success"
            and c["params"].get("description", "").startswith(f"note {action.params['text'][5:]} {marker(action.key)}")
        ]
        assert len(made) == 1, (action.key, made)  # the sandbox's call log: the WHMCS call itself ran once


def test_sandbox_errors_for_a_while_delay_but_lose_nothing(world: Sandbox, tmp_path: Path):
    port = free_port()
    config = configure(tmp_path, world, port, extra="poll:\n  enabled: false\n")
    actions = [note(n) for n in range(5)]
    plan_actions(tmp_path / "state.db", actions)
    # One failure per action (the audit chain's comparison with WHMCS's anchors, read first, is answered).
    world.control("faults", {"status": 500, "count": 5, "actions": ["LogActivity"]})
    with Database(tmp_path / "state.db") as db:
        sql(db, "UPDATE outbox SET not_before = NULL")
    runner = CliRunner()
    first = runner.invoke(cli.main, ["--config", str(config), "tick", "--json"], catch_exceptions=False)
    assert first.exit_code == 0
    outcomes = [line["what"] for line in json.loads(first.stdout)]
    assert "retrying" in outcomes
    # A call whose outcome is unknown may still be running in WHMCS: it is looked at again only once it
    # cannot be (twice whmcs.timeout_s, 2 s here, after it started), whatever the instant of the pass.
    time.sleep(4.5)
    later = runner.invoke(
        cli.main, ["--config", str(config), "tick", "--at", "2030-01-01T00:00:00Z", "--json"], catch_exceptions=False
    )
    assert later.exit_code == 0
    rows = world.rows("activity")
    for action in actions:
        assert (
            len([r for r in rows if marker(action.key) in r["description"] and r["description"].startswith("note")])
            == 1
        )


def test_approvals_from_the_command_line(world: Sandbox, tmp_path: Path):
    config = configure(tmp_path, world, free_port())
    held = Action(
        key=action_key("test", "service:101", "terminate"),
        family="test",
        kind="terminate",
        params={"service_id": 102},
        client_id=1,
        subject="service:102",
        needs_approval=True,
    )
    other = Action(
        key=action_key("test", "service:101", "suspend"),
        family="test",
        kind="suspend",
        params={"service_id": 101, "reason": "x"},
        client_id=1,
        subject="service:101",
        needs_approval=True,
    )
    plan_actions(tmp_path / "state.db", [held, other])
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli.main, ["--config", str(config), *args], catch_exceptions=False)

    listing = run("approvals", "list")
    assert "#1 test terminate service:102" in listing.stdout and "needs approval" in listing.stdout
    assert run("tick").exit_code == 0 and world.rows("services", id=102)[0]["status"] == "Active"  # held
    refused = run("approvals", "approve", "1", "--by", " ")
    assert refused.exit_code == 1 and "say who decides" in refused.stderr
    assert run("approvals", "approve", "1", "--by", "alice", "--reason", "client gone for good").exit_code == 0
    assert run("approvals", "reject", "2", "--by", "bob", "--reason", "payment promised").exit_code == 0
    again = run("approvals", "approve", "2", "--by", "bob")
    assert again.exit_code == 1 and "is rejected, not waiting" in again.stderr
    plan_out = run("plan", "--json")
    assert [line["what"] for line in json.loads(plan_out.stdout)] == ["would_run"]
    assert run("tick").exit_code == 0
    assert world.rows("services", id=102)[0]["status"] == "Terminated"
    assert world.rows("services", id=101)[0]["status"] == "Active"
    shown = run("audit", "show", "--action", "staff.")
    assert "staff.approved" in shown.stdout and "staff:alice" in shown.stdout and "staff.rejected" in shown.stdout


def test_parked_events_and_breaker_commands(world: Sandbox, tmp_path: Path):
    config = configure(tmp_path, world, free_port())
    with Database(tmp_path / "state.db") as db:
        inbox.add(db, event_id="msg_p", type="InvoicePaid", source="webhook", received_at="now", body="{}")
        parked = inbox.by_event_id(db, "msg_p")
        assert parked is not None
        inbox.park(db, parked.id, datetime.now(UTC), "KeyError: invoiceid")
        sql(db, """INSERT INTO switches VALUES ('breaker', '{"due": 40}', 'now')""")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli.main, ["--config", str(config), *args], catch_exceptions=False)

    assert "KeyError: invoiceid" in run("events", "parked").stdout
    assert run("events", "retry", "1", "--by", "alice").exit_code == 0
    assert run("events", "retry", "1", "--by", "alice").exit_code == 1
    assert "TRIPPED" in run("breaker", "status").stdout
    assert "breaker reset" in run("breaker", "reset", "--by", "alice").stdout
    assert "closed" in run("breaker", "status").stdout


def test_tick_at_a_bad_instant(world: Sandbox, tmp_path: Path):
    config = configure(tmp_path, world, free_port())
    result = CliRunner().invoke(cli.main, ["--config", str(config), "tick", "--at", "next tuesday"])
    assert result.exit_code == 2 and "not an ISO-8601 date" in result.output


def test_json_logs(world: Sandbox, tmp_path: Path):
    port = free_port()
    config = configure(tmp_path, world, port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "--log-format", "json", "-v", "run"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        wait_until(lambda: _up(port))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("listening on") for line in lines)
    assert all({"at", "level", "logger", "message"} <= set(line) for line in lines)


def _up(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except requests.ConnectionError:
        return False


def test_one_daemon_per_state_database(world: Sandbox, tmp_path: Path):
    """A second `run` on the same state database refuses to start and names the first; `tick`, which
    would run actions beside it, refuses too (its dry run still works); read-only commands work."""
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    port = free_port()
    config = configure(first_dir, world, port)
    running = Running(config, port)
    try:
        other = configure(second_dir, world, free_port())
        other.write_text(other.read_text().replace("path: state.db", f"path: {first_dir / 'state.db'}"))
        second = subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(other), "run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3 and "Traceback" not in second.stderr
        assert f"pid {running.proc.pid}" in second.stderr and "already works on" in second.stderr
        # the same file by another name (a symlink): the same database (found by a break test: it ran)
        (second_dir / "link.db").symlink_to(first_dir / "state.db")
        other.write_text(
            other.read_text().replace(f"path: {first_dir / 'state.db'}", f"path: {second_dir / 'link.db'}")
        )
        third = subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(other), "run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert third.returncode == 3 and f"pid {running.proc.pid}" in third.stderr
        ticked = CliRunner().invoke(cli.main, ["--config", str(config), "tick"])
        assert ticked.exit_code == 3 and "already works on" in ticked.stderr
        assert CliRunner().invoke(cli.main, ["--config", str(config), "tick", "--dry-run"]).exit_code == 0
        assert CliRunner().invoke(cli.main, ["--config", str(config), "audit", "verify"]).exit_code == 0
    finally:
        code, _ = running.stop()
    assert code == 0
    # Once it stopped (or died), the database is free again.
    assert CliRunner().invoke(cli.main, ["--config", str(config), "tick"]).exit_code == 0


def test_sigterm_during_a_slow_whmcs_call_exits_at_once_and_leaves_it_in_flight(world: Sandbox, tmp_path: Path):
    """WHMCS takes 30 s to answer an action's call (timeout 60 s): SIGTERM exits 0 within seconds, without
    waiting for it; the action stays in flight, and the next pass leaves it alone while the call may still
    be running in WHMCS (the in-flight grace; what comes after is test_sigkill_while_acting_repeats_no_action's)."""
    port = free_port()
    config = configure(tmp_path, world, port)
    config.write_text(config.read_text().replace("timeout_s: 2\n", "timeout_s: 60\n"))
    action = note(1)
    plan_actions(tmp_path / "state.db", [action])
    world.control("faults", {"delay_s": 30, "count": 1, "actions": ["LogActivity"]})
    daemon = Running(config, port)

    def statuses() -> list[str]:
        with Database(tmp_path / "state.db") as db:
            return [e.status for e in outbox.entries(db)]

    try:
        wait_until(lambda: statuses() == ["in_flight"])
        time.sleep(0.5)  # the call has left: the sandbox holds it for 30 s
    finally:
        started = time.monotonic()
        code, err = daemon.stop()
        took = time.monotonic() - started
    assert code == 0, err
    assert took < 5, f"SIGTERM waited {took:.1f} s for a WHMCS call"
    assert "stays in flight" in err and "stopped" in err
    assert statuses() == ["in_flight"]

    calls = len(world.calls())
    result = CliRunner().invoke(cli.main, ["--config", str(config), "tick"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert statuses() == ["in_flight"]
    repeated = [
        c
        for c in world.calls()[calls:]
        if c["action"] == "LogActivity" and not c["params"]["description"].startswith(anchor.PREFIX)
    ]
    assert repeated == []  # (the pass may anchor the audit chain: its own line, not the action's)


def test_a_call_answered_later_than_twice_the_timeout_is_waited_for_not_sent_again(world: Sandbox, tmp_path: Path):
    """Tenth break round (issue 16, H1): WHMCS (PHP) finishes a request after the bridge stopped waiting, and time
    spent in I/O does not count against PHP's time limit, so a call may land long after twice whmcs.timeout_s. Its
    effect is looked for, and the call sent again only if absent, once whmcs.settle_after has passed since it began
    (here: timeout 2 s, the sandbox lands the call after 8 s, settle_after 12 s): one effect, not two."""
    config = configure(
        tmp_path,
        world,
        free_port(),
        extra="poll:\n  enabled: false\n",
        whmcs_extra="  retry_first: 1s\n  settle_after: 12s\n",
    )
    action = note(1)
    plan_actions(tmp_path / "state.db", [action])
    world.control("faults", {"delay_s": 8, "count": 1, "actions": ["LogActivity"]})
    runner = CliRunner()
    started = time.monotonic()
    first = runner.invoke(cli.main, ["--config", str(config), "tick", "--json"], catch_exceptions=False)
    assert "retrying" in [line["what"] for line in json.loads(first.stdout)], first.stdout
    time.sleep(max(0.0, 5.5 - (time.monotonic() - started)))  # past twice the timeout, before the call lands
    second = runner.invoke(cli.main, ["--config", str(config), "tick", "--json"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    time.sleep(max(0.0, 13 - (time.monotonic() - started)))  # the call landed; settle_after has passed
    third = runner.invoke(cli.main, ["--config", str(config), "tick", "--json"], catch_exceptions=False)
    notes = [r for r in world.rows("activity") if marker(action.key) in r["description"]]
    assert len(notes) == 1, notes
    assert "reconciled" in [line["what"] for line in json.loads(third.stdout)], third.stdout
