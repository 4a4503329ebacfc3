"""Failures are visible and polite: a failing poll backs off (never a hot loop), /healthz turns 503 with the
reason and back to 200 once fixed, /metrics counts it, `tick` exits non-zero, SIGTERM is not kept waiting
by a retry; and the health of parked actions, late approvals, the breaker and the disk."""

from __future__ import annotations

import re
import socket
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import IDENTIFIER, SECRET, sql
from tests.test_cli import write_config
from tests.test_daemon import Running, free_port, wait_until
from whmcs_bridge.cli import app as cli
from whmcs_bridge.config.load import load_config
from whmcs_bridge.health import assess, poll_wait
from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store import switches
from whmcs_bridge.store.db import Database

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("every", "failures", "cap", "expected"),
    [
        (300, 0, 3600, 300),
        (300, 1, 3600, 300),
        (300, 2, 3600, 600),
        (300, 3, 3600, 1200),
        (300, 4, 3600, 2400),
        (300, 5, 3600, 3600),
        (300, 50, 3600, 3600),
        (300, 2000, 3600, 3600),
        (7200, 3, 3600, 7200),  # a cap below `every` never polls more often than `every`
    ],
)
def test_poll_backoff_schedule(every: int, failures: int, cap: int, expected: int):
    assert poll_wait(timedelta(seconds=every), failures, timedelta(seconds=cap)) == timedelta(seconds=expected)


@pytest.fixture
def whmcs() -> Iterator[RunningSandbox]:
    """A WHMCS of the test's own, whose accepted API secret the test changes."""
    with RunningSandbox(IDENTIFIER, "a-secret-the-bridge-does-not-have") as running:
        yield running


def daemon_config(tmp: Path, url: str, port: int, poll: str) -> Path:
    path = write_config(tmp, url, extra=poll)
    path.write_text(path.read_text().replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n"))
    return path


def failed_polls(running: RunningSandbox) -> list[float]:
    return [c["at"] for c in running.app.calls if c.get("outcome") == "403" and c["action"] == "GetInvoices"]


def metric(text: str, name: str) -> float | None:
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_wrong_secret_backs_off_turns_healthz_503_and_back_to_200_when_fixed(whmcs: RunningSandbox, tmp_path: Path):
    port = free_port()
    config = daemon_config(tmp_path, whmcs.url, port, "poll:\n  every: 2s\n  max_backoff: 8s\n")
    daemon = Running(config, port)
    try:
        wait_until(lambda: len(failed_polls(whmcs)) >= 5, seconds=120)
        health = requests.get(daemon.url + "/healthz", timeout=5)
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "degraded"
        assert any(r.startswith("WHMCS failing since") and "Authentication Failed" in r for r in body["reasons"])
        # The attempts follow poll.every doubled per failure up to max_backoff: 2, 4, 8, 8 s apart. The store
        # keeps instants to the second, so each gap may be up to a second shorter than its wait.
        times = failed_polls(whmcs)[:5]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        for gap, wait in zip(gaps, [2, 4, 8, 8], strict=True):
            assert gap >= wait - 1, (gaps, "a failed poll came back sooner than its backoff")
        metrics = requests.get(daemon.url + "/metrics", timeout=5).text
        assert (metric(metrics, "whmcs_bridge_api_errors_total") or 0) >= 5
        assert metric(metrics, "whmcs_bridge_healthy") == 0
        assert (metric(metrics, "whmcs_bridge_poll_consecutive_failures") or 0) >= 4
        assert 'whmcs_bridge_build_info{version="' in metrics
        assert metric(metrics, "whmcs_bridge_poll_last_success_timestamp_seconds") is None

        whmcs.app.secret = SECRET  # staff fix the API credential in WHMCS
        wait_until(lambda: requests.get(daemon.url + "/healthz", timeout=5).status_code == 200, seconds=60)
        body = requests.get(daemon.url + "/healthz", timeout=5).json()
        assert body["status"] == "ok" and body["reasons"] == [] and body["poll"]["failures"] == 0
        metrics = requests.get(daemon.url + "/metrics", timeout=5).text
        assert metric(metrics, "whmcs_bridge_healthy") == 1
        assert (metric(metrics, "whmcs_bridge_poll_last_success_timestamp_seconds") or 0) > 0
        for name in ("state.db", "state.db-wal", "state.db-shm"):  # created by the daemon: its user's alone
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    # Each failure says when the daemon polls again, as a person reads it: a time with its zone, and how soon.
    assert re.search(r"poll of WHMCS failed \(2 in a row since [^)]+ UTC\); the next poll is at \d\d:\d\d:\d\d UTC \(in 4s\)", err), err
    assert "tried again at" not in err


def test_tick_exits_5_when_its_poll_failed(whmcs: RunningSandbox, tmp_path: Path):
    config = write_config(tmp_path, whmcs.url)
    result = CliRunner().invoke(cli.main, ["--config", str(config), "tick"])
    assert result.exit_code == 5
    assert "poll failed: WHMCS denied GetInvoices" in result.stdout
    assert "error: the poll of WHMCS failed" in result.stderr and "Authentication Failed" in result.stderr
    # tick polls whenever it runs: no "retried next pass", no daemon's next poll time, the error said once each
    assert "retried" not in result.stdout and "next poll" not in result.stderr and "tried again" not in result.stderr
    whmcs.app.secret = SECRET
    assert CliRunner().invoke(cli.main, ["--config", str(config), "tick"]).exit_code == 0


def test_sigterm_is_not_kept_waiting_by_retries(tmp_path: Path):
    with socket.socket() as closed:  # a port nothing listens on: every call is refused at once
        closed.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    port = free_port()
    config = daemon_config(tmp_path, unreachable, port, "poll:\n  every: 1s\n")
    # Ten attempts wait 1 + 2 + 4 + 8 + 16 + 30 + ... seconds between them: minutes, were they waited out.
    config.write_text(config.read_text().replace("max_attempts: 1", "max_attempts: 10"))
    daemon = Running(config, port)
    time.sleep(2)  # into the retry waits of the first poll
    code, err = daemon.stop()
    assert code == 0
    assert "retrying in" in err and "stopped" in err


def test_health_reasons_parked_late_approvals_breaker_disk(tmp_path: Path):
    config_path = write_config(tmp_path, extra="safety:\n  approval_alert_after: 1h\n")
    config = load_config(config_path)
    with Database(tmp_path / "state.db") as db:
        assert assess(db, config, NOW)["status"] == "ok"
        for n, status in enumerate(["parked", "awaiting_approval", "awaiting_approval"]):
            sql(
                db,
                "INSERT INTO outbox (action_key, family, kind, params, status, created_at, updated_at)"
                " VALUES (?, 'test', 'note', '{}', ?, ?, ?)",
                f"k{n}",
                status,
                "2026-11-22T08:00:00+00:00" if n == 1 else "2026-11-22T09:30:00+00:00",
                "2026-11-22T08:00:00+00:00" if n == 1 else "2026-11-22T09:30:00+00:00",
            )
        with db.atomic():
            switches.turn_on(db, switches.BREAKER, {"ran": 11}, NOW)
        report = assess(db, config, NOW)
    assert report["status"] == "degraded"
    assert "1 action(s) parked: see `whmcs-bridge approvals list`" in report["reasons"]
    assert "1 action(s) waiting for approval longer than 1h (since 2026-11-22T08:00:00+00:00)" in report["reasons"]
    assert any("circuit breaker" in r for r in report["reasons"])
    tight = load_config(config_path)
    object.__setattr__(tight.state, "min_free_mb", 10**9)  # more than any disk has free
    with Database(tmp_path / "state.db") as db:
        assert any(r.startswith("only ") and "MB free" in r for r in assess(db, tight, NOW)["reasons"])


def test_metrics_keep_every_digit_of_a_timestamp():
    """A Unix time has ten digits: printed with %g it lost four (41 minutes out; found by a break test)."""
    from whmcs_bridge.metrics import Registry

    registry = Registry()
    registry.gauge_sources.append(lambda: [("last_poll_seconds", "t", {}, 1795642490.0), ("ratio", "r", {}, 0.25)])
    assert "last_poll_seconds 1795642490\n" in registry.render() and "ratio 0.25\n" in registry.render()


def test_a_poll_slower_than_its_backoff_waits_from_when_it_failed(tmp_path: Path):
    """The backoff counts from the failure, not from the pass's start: a poll that took longer than the
    wait was retried at once, back to back (found by a break test)."""
    from whmcs_bridge.daemon import Bridge

    config = load_config(write_config(tmp_path, f"http://127.0.0.1:{free_port()}/", extra="poll:\n  every: 2s\n"))
    bridge = Bridge(config)
    try:
        started = datetime.now(UTC) - timedelta(seconds=30)  # a pass that began 30 s ago, its poll failing now
        bridge.run_once(started)
        assert not bridge.poll_due(datetime.now(UTC))
    finally:
        bridge.close()


def test_failing_passes_back_off():
    """A pass that fails (a full disk) is tried again after 1 s, 2, 4 ... up to a minute, not every second."""
    from whmcs_bridge.health import DaemonTrouble

    trouble = DaemonTrouble()
    waits = []
    for _ in range(8):
        trouble.failed(NOW, "OperationalError: database or disk is full")
        waits.append(trouble.wait(1.0))
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    trouble.cleared()
    assert trouble.wait(1.0) == 1.0


def test_a_full_disk_mid_command_is_one_sentence_and_exit_3():
    """`tick` on a full disk printed a 42-line traceback (found by a break test)."""
    import sqlite3

    import click

    from whmcs_bridge.cli.common import user_errors

    @click.command()
    @user_errors
    def filling() -> None:
        raise sqlite3.OperationalError("database or disk is full")

    result = CliRunner().invoke(filling, [])
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "the state database cannot be written (database or disk is full)" in result.output


def test_a_pass_run_at_a_later_instant_does_not_stop_the_daemons_polls_until_then(tmp_path: Path):
    """Seventeenth break round, issue 16 M4: `tick --at` a week ahead (to see an expiry pass) recorded its poll a
    week ahead, and the daemon made no poll until then while /healthz said ok. A poll recorded after now is due."""
    from whmcs_bridge.daemon import Bridge
    from whmcs_bridge.health import record_poll

    config = load_config(write_config(tmp_path, f"http://127.0.0.1:{free_port()}/", extra="poll:\n  every: 1m\n"))
    bridge = Bridge(config)
    try:
        now = datetime.now(UTC)
        with bridge.db.atomic():
            record_poll(bridge.db, now, None)
        assert not bridge.poll_due(now + timedelta(seconds=10))  # polled a moment ago: not due
        with bridge.db.atomic():
            record_poll(bridge.db, now + timedelta(days=7), None)  # as `tick --at` a week ahead records it
        assert bridge.poll_due(now + timedelta(seconds=10))
    finally:
        bridge.close()
