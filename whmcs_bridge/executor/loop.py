"""The executor: outbox actions -> the WHMCS API, exactly once.

For each due action: the circuit breaker is consulted (destructive actions only), the action is
marked in flight and committed, its guard re-reads the facts it depends on (an invoice paid
meanwhile cancels a suspension), then WHMCS is called and the result recorded. An action found in
flight (after a crash, or after a call whose outcome is unknown) is first reconciled by reading
WHMCS for its effect (service status, the key written into an email, ticket, note, invoice or
transaction); only when the effect is absent is it run again. Actions whose effect cannot be read
are repeated only when repeating is harmless, else parked for staff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.kinds import GUARDS, STORE_GUARDS, ActionError, ActionKind, Call, action_kind
from whmcs_bridge.metrics import Registry
from whmcs_bridge.model import marker
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.executor.loop")

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


@dataclass
class ExecutorReport:
    done: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # by the circuit breaker
    reconciled: list[str] = field(default_factory=list)
    would_run: list[dict[str, Any]] = field(default_factory=list)


Row = sqlite3.Row
Params = dict[str, Any]


class Executor:
    def __init__(
        self,
        db: Database,
        api: WhmcsApi,
        *,
        max_destructive_per_hour: int = 10,
        staff_department_id: int | None = None,
        staff_email: str | None = None,
        consent_base_url: str | None = None,
        metrics: Registry | None = None,
    ) -> None:
        self.db = db
        self.api = api
        self.max_destructive_per_hour = max_destructive_per_hour
        self.staff_department_id = staff_department_id
        self.staff_email = staff_email
        self.consent_base_url = consent_base_url
        self.metrics = metrics or Registry()
        self.outcomes = self.metrics.counter(
            "whmcs_bridge_actions_total", "Outbox actions finished, by outcome.", "status"
        )
        self.api_errors = self.metrics.counter(
            "whmcs_bridge_api_errors_total", "WHMCS API failures seen by the executor, by kind.", "kind"
        )

    # --- the loop -----------------------------------------------------------------------------

    def run_once(
        self, now: datetime, *, limit: int = 100, dry_run: bool = False, stop: Callable[[], bool] = lambda: False
    ) -> ExecutorReport:
        report = ExecutorReport()
        rows = self.db.conn.execute(
            "SELECT * FROM outbox WHERE status IN ('in_flight', 'planned') AND (not_before IS NULL OR not_before <= ?)"
            " ORDER BY CASE status WHEN 'in_flight' THEN 0 ELSE 1 END, id LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        for row in rows:
            if stop():
                break
            if dry_run:
                report.would_run.append(
                    {
                        "id": row["id"],
                        "key": row["action_key"],
                        "kind": row["kind"],
                        "subject": row["subject"],
                        "params": json.loads(row["params"]),
                    }
                )
                continue
            self.execute(row, now, report)
        return report

    def execute(self, row: Row, now: datetime, report: ExecutorReport) -> None:
        key = row["action_key"]
        params: Params = json.loads(row["params"])
        try:
            kind = action_kind(row["kind"])
            call = Call(self.api, params, key, row["client_id"])
            if row["status"] == "in_flight" and self.reconcile(row, kind, call, now, report):
                return
            if row["destructive"] and self.breaker_holds(now):
                report.held.append(key)
                return
            self.mark_in_flight(row, now)
            cancel = self.guard_cancels(row)
            if cancel:
                self.finish(row, "cancelled", now, error=cancel)
                report.cancelled.append(key)
                return
            result = kind.run(call, mint=lambda consent: self.mint_consent_link(consent, now))
        except WhmcsUnavailableError as exc:
            self.retry_later(row, now, exc, report)
            return
        except (WhmcsApiError, WhmcsProtocolError, ActionError, KeyError, ValueError, TypeError) as exc:
            self.api_errors.inc(type(exc).__name__)
            self.finish(row, "parked", now, error=str(exc))
            report.parked.append(key)
            return
        self.record_run(row, kind, call, result, now, report)

    def reconcile(self, row: Row, kind: ActionKind, call: Call, now: datetime, report: ExecutorReport) -> bool:
        """An action found in flight: True when its effect is found in WHMCS (done), or when WHMCS cannot
        tell whether it ran and running it again is not harmless (parked); False: run it (again)."""
        outcome = kind.observe(call)
        if isinstance(outcome, dict):
            self.finish(
                row,
                "done",
                now,
                result=outcome,
                note="reconciled: already done in WHMCS",
                feed=call.reported(outcome),
            )
            report.reconciled.append(call.key)
            return True
        if outcome is None and not kind.repeat_safe:
            self.finish(
                row,
                "parked",
                now,
                error="interrupted, and WHMCS cannot tell whether it ran: check WHMCS, then approve to run it again or reject",
            )
            report.parked.append(call.key)
            return True
        return False

    def guard_cancels(self, row: Row) -> str | None:
        """Why the action is cancelled now (a fact its guard re-reads has changed), or None."""
        for name, value in json.loads(row["guard"] or "{}").items():
            reason = (
                self.store_guard(name, value)
                if name in STORE_GUARDS
                else GUARDS[name](self.api, value, row["client_id"])
            )
            if reason:
                return f"guard {name}: {reason}"
        return None

    def retry_later(self, row: Row, now: datetime, exc: WhmcsUnavailableError, report: ExecutorReport) -> None:
        """Outcome unknown, or WHMCS down: stay in flight, reconcile on the next pass."""
        self.api_errors.inc("unavailable")
        delay = min(RETRY_CAP, RETRY_BASE * 2 ** min(int(row["attempts"]), 10))
        self.db.conn.execute(
            "UPDATE outbox SET not_before = ?, error = ?, updated_at = ? WHERE id = ?",
            (iso(now + delay), str(exc), iso(now), row["id"]),
        )
        log.warning("action %s (%s) waits %s: %s", row["action_key"], row["kind"], delay, exc)
        report.retrying.append(row["action_key"])

    def record_run(
        self, row: Row, kind: ActionKind, call: Call, result: dict[str, Any], now: datetime, report: ExecutorReport
    ) -> None:
        """Record a run: what a read learnt goes back to the rules; a change leaves a line in WHMCS's log."""
        context = result.pop("context", None)
        feed = (
            result.pop("feed", None)
            or (("ClientContext", context) if context is not None else None)
            or call.reported(result)
        )
        self.finish(row, "done", now, result=result, feed=feed)
        report.done.append(call.key)
        if not kind.read_only:
            self.summary_line(row, call.params)

    def mint_consent_link(self, spec: dict[str, Any], now: datetime) -> str:
        """A one-time, expiring, unguessable link; only its hash is stored (the raw token is in the email)."""
        if not self.consent_base_url:
            raise ActionError("no consent link can be made: set receiver.public_url")
        token = secrets.token_urlsafe(32)
        with self.db.atomic() as conn:
            conn.execute(
                "INSERT INTO consent_link (token_hash, purpose, subject, summary, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    hashlib.sha256(token.encode()).hexdigest(),
                    spec["purpose"],
                    spec["subject"],
                    spec["summary"],
                    iso(now + timedelta(seconds=int(spec["ttl_s"]))),
                    iso(now),
                ),
            )
        return f"{self.consent_base_url.rstrip('/')}/consent/{token}"

    def store_guard(self, name: str, value: Any) -> str | None:
        if name == "action_done":  # an undo runs only if the step it undoes really ran
            row = self.db.conn.execute("SELECT status FROM outbox WHERE action_key = ?", (value,)).fetchone()
            if row is None or row["status"] != "done":
                return f"the step it would undo ({value}) did not run"
        return None

    # --- bookkeeping --------------------------------------------------------------------------

    def mark_in_flight(self, row: Row, now: datetime) -> None:
        with self.db.atomic() as conn:
            conn.execute(
                "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, started_at = ?, updated_at = ? WHERE id = ?",
                (iso(now), iso(now), row["id"]),
            )

    def finish(
        self,
        row: Row,
        status: str,
        now: datetime,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        feed: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Record the outcome; `feed` puts what a read action learnt into the inbox, in the same transaction."""
        with self.db.atomic() as conn:
            if feed is not None:
                body = json.dumps(
                    {
                        "type": feed[0],
                        "occurred_at": iso(now),
                        "source": {"executor": row["action_key"]},
                        "data": {**feed[1], "requested_by": row["family"]},  # only the family that asked reacts
                    },
                    default=str,
                )
                conn.execute(
                    "INSERT INTO inbox (event_id, type, source, occurred_at, received_at, body) VALUES (?, ?, 'poll', ?, ?, ?) ON CONFLICT DO NOTHING",
                    (f"read:{row['action_key']}", feed[0], iso(now), iso(now), body),
                )
            conn.execute(
                "UPDATE outbox SET status = ?, result = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                (status, json.dumps(result) if result is not None else None, error, iso(now), iso(now), row["id"]),
            )
            detail: dict[str, Any] = {
                "key": row["action_key"],
                "kind": row["kind"],
                "params": json.loads(row["params"]),
            }
            for name, value in (("result", result), ("error", error), ("note", note)):
                if value is not None:
                    detail[name] = value
            audit.append(
                self.db,
                f"executor.{status}",
                actor="executor",
                client_id=row["client_id"],
                subject=row["subject"],
                detail=detail,
                at=iso(now),
            )
        self.outcomes.inc(status)
        log.info("action %s %s %s%s", row["action_key"], row["kind"], status, f": {error}" if error else "")

    def summary_line(self, row: Row, params: Params) -> None:
        """A one-line trace in WHMCS's activity log; never allowed to fail the action it describes."""
        if row["kind"] == "activity":
            return
        try:
            what = row["subject"] or ", ".join(f"{k}={v}" for k, v in params.items() if k.endswith("_id"))
            self.api.log_activity(
                f"whmcs-bridge: {row['family']} {row['kind']} {what} done {marker(row['action_key'])}", row["client_id"]
            )
        except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError) as exc:
            log.warning("could not write the activity line for %s: %s", row["action_key"], exc)

    # --- the circuit breaker ------------------------------------------------------------------

    def breaker_state(self) -> dict[str, Any] | None:
        row = self.db.conn.execute("SELECT value FROM switches WHERE name = 'breaker'").fetchone()
        return json.loads(row["value"]) if row else None

    def breaker_holds(self, now: datetime) -> bool:
        """True when destructive actions must wait: tripped earlier, or what ran in the last hour plus
        what is due now would pass the hourly limit (a bad rule must not suspend half the customers)."""
        if self.breaker_state():
            return True
        ran = self.db.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE destructive = 1 AND status = 'done' AND finished_at > ?",
            (iso(now - timedelta(hours=1)),),
        ).fetchone()[0]
        due = self.db.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE destructive = 1 AND status IN ('planned', 'in_flight')"
            " AND (not_before IS NULL OR not_before <= ?)",
            (iso(now),),
        ).fetchone()[0]
        if ran + due <= self.max_destructive_per_hour:
            return False
        self.trip(now, ran, due)
        return True

    def trip(self, now: datetime, ran: int, due: int) -> None:
        state = {"tripped_at": iso(now), "done_last_hour": ran, "due": due, "limit": self.max_destructive_per_hour}
        message = (
            f"whmcs-bridge circuit breaker tripped: {ran} destructive actions ran in the last hour and {due} more "
            f"are due, above the limit of {self.max_destructive_per_hour} an hour. All destructive actions (suspend, "
            "terminate, collections...) are on hold until staff check the rules and the outbox, then run "
            "`whmcs-bridge breaker reset`."
        )
        with self.db.atomic() as conn:
            conn.execute(
                "INSERT INTO switches (name, value, updated_at) VALUES ('breaker', ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (json.dumps(state), iso(now)),
            )
            audit.append(self.db, "executor.breaker_tripped", actor="executor", detail=state, at=iso(now))
        log.error(message)
        self.metrics.counter("whmcs_bridge_breaker_trips_total", "Times the circuit breaker tripped.").inc()
        if self.staff_department_id and self.staff_email:
            try:
                self.api.open_ticket(
                    deptid=self.staff_department_id,
                    subject="whmcs-bridge: destructive actions on hold",
                    message=message,
                    priority="High",
                    notify=False,
                    name="whmcs-bridge",
                    email=self.staff_email,
                )
            except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError) as exc:
                log.error("could not open the staff ticket about the breaker: %s", exc)


def reset_breaker(db: Database, by: str, now: datetime) -> bool:
    with db.atomic() as conn:
        cursor = conn.execute("DELETE FROM switches WHERE name = 'breaker'")
        if cursor.rowcount:
            audit.append(db, "executor.breaker_reset", actor=by, at=iso(now))
    return bool(cursor.rowcount)
