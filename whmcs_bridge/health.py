"""What /healthz and /metrics tell a monitor: "ok", or "degraded" with every reason, from the store and the
daemon's own failures; and when a failed poll may be tried again."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from whmcs_bridge import __version__
from whmcs_bridge.config.load import Config
from whmcs_bridge.config.reader import Duration
from whmcs_bridge.store import inbox, outbox, switches
from whmcs_bridge.store import poll as poll_store
from whmcs_bridge.store.db import Database

# The poll's health, kept as poller cursors so that it survives a restart and `tick` sees it too.
LAST_SUCCESS = poll_store.LAST_SUCCESS
LAST_ATTEMPT = "poll.last_attempt"
FAILURES = "poll.failures"
FAILING_SINCE = "poll.failing_since"
LAST_ERROR = "poll.last_error"


def poll_wait(every: timedelta, failures: int, cap: timedelta) -> timedelta:
    """How long after an attempt the next poll is due: `every`, doubled per consecutive failure, capped."""
    if failures <= 0:
        return every
    return min(every * 2 ** min(failures - 1, 32), max(cap, every))


@dataclass(frozen=True)
class PollHealth:
    last_success: datetime | None
    last_attempt: datetime | None
    failures: int
    failing_since: datetime | None
    last_error: str

    @classmethod
    def read(cls, db: Database) -> PollHealth:
        def moment(name: str) -> datetime | None:
            value = poll_store.cursor(db, name)
            return datetime.fromisoformat(value) if value else None

        return cls(
            last_success=moment(LAST_SUCCESS),
            last_attempt=moment(LAST_ATTEMPT),
            failures=int(poll_store.cursor(db, FAILURES) or 0),
            failing_since=moment(FAILING_SINCE),
            last_error=poll_store.cursor(db, LAST_ERROR) or "",
        )

    def next_due(self, config: Config) -> datetime | None:
        last = self.last_attempt or self.last_success
        if last is None:
            return None
        return last + poll_wait(config.poll.every, self.failures, config.poll.max_backoff)


def record_poll(db: Database, now: datetime, error: str | None) -> None:
    """One poll attempt's outcome (inside the caller's transaction)."""
    stamp = now.isoformat(timespec="seconds")
    before = PollHealth.read(db)
    poll_store.set_cursor(db, LAST_ATTEMPT, stamp, now)
    if error is None:
        poll_store.set_cursor(db, LAST_SUCCESS, stamp, now)
        poll_store.set_cursor(db, FAILURES, "0", now)
        poll_store.set_cursor(db, FAILING_SINCE, "", now)
        poll_store.set_cursor(db, LAST_ERROR, "", now)
        return
    poll_store.set_cursor(db, FAILURES, str(before.failures + 1), now)
    if before.failing_since is None:
        poll_store.set_cursor(db, FAILING_SINCE, stamp, now)
    poll_store.set_cursor(db, LAST_ERROR, error[:500], now)


@dataclass
class DaemonTrouble:
    """A failure of the daemon's own passes (the database or the disk), kept in memory while it lasts."""

    since: datetime | None = None
    error: str = ""
    failures: int = 0

    def failed(self, now: datetime, error: str) -> None:
        self.since = self.since or now
        self.error = error
        self.failures += 1

    def cleared(self) -> None:
        self.since, self.error, self.failures = None, "", 0

    def wait(self, idle_s: float, cap_s: float = 60.0) -> float:
        """Seconds before the next pass: idle_s, doubled per failing pass up to cap_s (a full disk made
        every pass fail, and each one polled WHMCS again, every second)."""
        return min(cap_s, idle_s * 2 ** min(self.failures, 16)) if self.failures else idle_s


def assess(db: Database, config: Config, now: datetime, trouble: DaemonTrouble | None = None) -> dict[str, Any]:
    """Everything a monitor should know, with `status` "ok" or "degraded" and the `reasons` for the latter."""
    reasons: list[str] = []
    polled = PollHealth.read(db)
    if polled.failures:
        reasons.append(
            f"WHMCS failing since {stamp(polled.failing_since)} ({polled.failures} poll attempt(s) failed; "
            f"next at {stamp(polled.next_due(config))}): {polled.last_error}"
        )
    actions = outbox.counts(db)
    events = inbox.counts(db)
    if actions.get("parked"):
        reasons.append(f"{actions['parked']} action(s) parked: see `whmcs-bridge approvals list`")
    if events.get("parked"):
        reasons.append(f"{events['parked']} event(s) parked: see `whmcs-bridge events parked`")
    limit = config.safety.approval_alert_after
    late = [s for s in outbox.awaiting_approval_since(db) if datetime.fromisoformat(s) + limit <= now]
    if late:
        reasons.append(f"{len(late)} action(s) waiting for approval longer than {limit} (since {late[0]})")
    breaker = switches.get(db, switches.BREAKER)
    if breaker is not None:
        reasons.append("the circuit breaker holds destructive actions: see `whmcs-bridge breaker status`")
    if trouble is not None and trouble.since is not None:
        reasons.append(f"the daemon's passes fail since {stamp(trouble.since)}: {trouble.error}")
    free_mb = free_space_mb(config)
    if free_mb is not None and free_mb < config.state.min_free_mb:
        reasons.append(f"only {free_mb} MB free on the disk of {config.state.path} (state.min_free_mb {config.state.min_free_mb})")
    return {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "inbox": {status: events.get(status, 0) for status in ("pending", "parked", "done")},
        "outbox": actions,
        "oldest_pending_event": inbox.oldest_pending_received_at(db),
        "breaker": breaker,
        "poll": {
            "last_success": stamp(polled.last_success),
            "failures": polled.failures,
            "failing_since": stamp(polled.failing_since),
        },
        "version": __version__,
    }


def gauges(
    db: Database, config: Config, now: datetime, trouble: DaemonTrouble | None = None
) -> Iterable[tuple[str, str, dict[str, str], float]]:
    """The figures /metrics adds to the receiver's counters."""
    polled = PollHealth.read(db)
    actions = outbox.counts(db)
    oldest = inbox.oldest_pending_received_at(db)
    yield "whmcs_bridge_build_info", "The running version (always 1).", {"version": __version__}, 1.0
    if polled.last_success is not None:
        yield (
            "whmcs_bridge_poll_last_success_timestamp_seconds",
            "When the last poll of WHMCS succeeded (Unix time).",
            {},
            polled.last_success.timestamp(),
        )
    yield "whmcs_bridge_poll_consecutive_failures", "Poll attempts failed in a row.", {}, float(polled.failures)
    yield (
        "whmcs_bridge_oldest_pending_event_age_seconds",
        "Age of the oldest inbox event waiting for the rules (0 when none waits).",
        {},
        max(0.0, (now - datetime.fromisoformat(oldest)).total_seconds()) if oldest else 0.0,
    )
    yield "whmcs_bridge_actions_parked", "Actions parked for staff.", {}, float(actions.get("parked", 0))
    yield (
        "whmcs_bridge_actions_awaiting_approval",
        "Actions waiting for staff approval.",
        {},
        float(actions.get("awaiting_approval", 0)),
    )
    healthy = assess(db, config, now, trouble)["status"] == "ok"
    yield "whmcs_bridge_healthy", "1 when /healthz answers ok, 0 when degraded.", {}, float(healthy)


def free_space_mb(config: Config) -> int | None:
    folder = config.state.path.parent
    try:
        return int(shutil.disk_usage(folder).free // 2**20)
    except OSError:
        return None


def poll_failed_line(db: Database, config: Config, now: datetime) -> str:
    """A failed poll as a person reads it: how many in a row since when, and when the daemon polls again."""
    state = PollHealth.read(db)
    due = state.next_due(config)
    since = (state.failing_since or now).astimezone(UTC)
    line = f"poll of WHMCS failed ({state.failures} in a row since {since:%Y-%m-%d %H:%M:%S} UTC)"
    if due is None:
        return line
    wait = Duration(seconds=max(0, round((due - now).total_seconds())))
    return f"{line}; the next poll is at {due.astimezone(UTC):%H:%M:%S} UTC (in {wait})"


def stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
