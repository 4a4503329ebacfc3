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
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import ConfigError, WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.breaker import CircuitBreaker
from whmcs_bridge.executor.call import ActionError, ActionKind, Call
from whmcs_bridge.executor.guards import GUARDS, STORE_GUARDS, WAITS, Cancel, window_opens
from whmcs_bridge.executor.kinds import action_kind
from whmcs_bridge.executor.store_guards import StoreGuards
from whmcs_bridge.executor.texts import Texts
from whmcs_bridge.messages import load as catalogue
from whmcs_bridge.messages.render import MessageError
from whmcs_bridge.metrics import Registry
from whmcs_bridge.model import Action, action_key, marker
from whmcs_bridge.store import audit, consent, fed, outbox, planned
from whmcs_bridge.store import poll as poll_store
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.executor.loop")

FOUND_DONE = "found:"  # the event id prefix of a trace line planned for an action found already done
CALL_TIMEOUT_CURSOR = "executor.call_timeout_s"  # the longest whmcs.timeout_s the database ran with
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


@dataclass
class _Attempt:
    """How far one try of an action got: the row as it stands, whether this try claimed it, and whether
    its WHMCS call was made."""

    row: OutboxEntry
    claimed: bool = False
    calling: bool = False
    writes_before: int = 0  # the client's count of writes that left, when this try's calls began

    def call(self, api: WhmcsApi, department: int | None = None) -> Call:
        return Call(api, self.row.params, self.row.key, self.row.client_id, department)


class _TakenMeanwhile(Exception):
    """Another process changed the action between our read and our write."""


@dataclass
class ExecutorReport:
    done: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # by the circuit breaker
    waiting: list[str] = field(default_factory=list)  # for their destructive window (approved or not)
    reconciled: list[str] = field(default_factory=list)
    would_run: list[dict[str, Any]] = field(default_factory=list)


Params = dict[str, Any]


def in_flight_grace(db: Database, call_timeout: timedelta, settle: timedelta | None) -> timedelta:
    """How long after its call started an action found in flight waits before WHMCS is asked whether it ran:
    PHP finishes a request after its client gave up, so `settle` (whmcs.settle_after), and at least twice the
    longest call timeout this database ran with."""
    recorded = poll_store.cursor(db, CALL_TIMEOUT_CURSOR)
    longest = max(call_timeout, timedelta(seconds=float(recorded or 0)))
    return max(2 * longest, settle or timedelta(0))


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
        call_timeout: timedelta = timedelta(seconds=20),
        settle: timedelta | None = None,
        retry: tuple[timedelta, timedelta] = (RETRY_BASE, RETRY_CAP),
        clock: Callable[[], datetime] | None = None,
        texts: Texts | None = None,
    ) -> None:
        self.db = db
        # The guards and waits answered from the bridge's own store, at the instant of the pass.
        self.store = StoreGuards(db, lambda: self.instant or utcnow())
        # How planned messages become text (the configuration's catalogue; the shipped one in UTC by default).
        self.texts = texts or Texts(catalogue.shipped(), UTC)
        self.api = api
        self.consent_base_url = consent_base_url
        self.staff_department_id = staff_department_id
        # An action found in flight is reconciled only once its call cannot still be running in WHMCS.
        self.longest_timeout(call_timeout)
        self.in_flight_grace = in_flight_grace(db, call_timeout, settle)
        # A database restored from a backup: what was planned before the backup may have run since.
        self.backup_made_at = poll_store.cursor(db, poll_store.RESTORED_CURSOR)
        self.retry_first, self.retry_max = retry  # WHMCS unavailable: wait first, doubling up to max
        # The executor's books (when a call started and ended, when to retry) follow this clock: a pass
        # decides which actions are due at its own instant, but each call happens when it happens. None:
        # the pass's instant (tests that play a fixed timeline).
        self.clock = clock
        self.instant: datetime | None = None  # the instant of the pass running now
        self.metrics = metrics or Registry()
        self.outcomes = self.metrics.counter(
            "whmcs_bridge_actions_total", "Outbox actions finished, by outcome.", "status"
        )
        self.api_errors = self.metrics.counter(
            "whmcs_bridge_api_errors_total", "WHMCS API failures seen by the executor, by kind.", "kind"
        )
        self.breaker = CircuitBreaker(
            db,
            api,
            self.texts,
            self.metrics,
            limit=max_destructive_per_hour,
            staff_department_id=staff_department_id,
            staff_email=staff_email,
        )

    # --- the loop -----------------------------------------------------------------------------

    def run_once(
        self, now: datetime, *, limit: int = 100, dry_run: bool = False, stop: Callable[[], bool] = lambda: False
    ) -> ExecutorReport:
        report = ExecutorReport()
        for row in outbox.due(self.db, now, limit):
            if stop():
                break
            if dry_run:
                report.would_run.append(
                    {"id": row.id, "key": row.key, "kind": row.kind, "subject": row.subject, "params": row.params}
                )
                continue
            self.execute(row, now, report)
        return report

    def execute(self, row: OutboxEntry, now: datetime, report: ExecutorReport) -> None:
        # The pass's instant: what is due, whether a destructive window is open, and when a step the rules
        # wait on is reported done, are reckoned at it (a tick --at plays a timeline); the books follow the clock.
        instant = self.instant = now
        now = self.clock() if self.clock else now  # when this action is handled, not when the pass began
        attempt = _Attempt(row)
        try:
            result = self.attempt(attempt, now, report, instant)
        except WhmcsUnavailableError as exc:
            self.retry_later(attempt, now, exc, report)
            return
        except (
            WhmcsApiError, WhmcsProtocolError, ActionError, MessageError, ConfigError, KeyError, ValueError, TypeError
        ) as exc:  # fmt: skip
            self.api_errors.inc(type(exc).__name__)
            # WHMCS's own words travel apart from the bridge's English sentence: a rule quotes them in any language.
            said = {"whmcs_message": exc.whmcs_message} if isinstance(exc, WhmcsApiError) else None
            self.finish(attempt.row, "parked", now, error=str(exc), outcome=said)
            report.parked.append(row.key)
            return
        if result is not None:
            call = attempt.call(self.api, self.staff_department_id)
            self.record_run(attempt.row, action_kind(row.kind), call, result, now, report)

    def attempt(
        self, attempt: _Attempt, now: datetime, report: ExecutorReport, instant: datetime | None = None
    ) -> dict[str, Any] | None:
        """Reconcile, hold, claim, guard, then run the action; its result, or None when it went no further."""
        row, kind = attempt.row, action_kind(attempt.row.kind)
        call = attempt.call(self.api, self.staff_department_id)
        if self.may_still_run(row, now, report) or self.not_planned(row, now, report):
            return None
        # Found in flight (a crash, an unknown outcome), or approved after an attempt: it may have
        # taken effect, so WHMCS is read for it before anything runs again.
        resumed = self.may_have_run(row)
        if resumed:
            # Looked for as it would have been written: an action whose text was lost with the database (one
            # restored from before it ran) has it written now, in the same language, from the same names.
            call = self.with_text(attempt)
            row = attempt.row
        if resumed and self.reconcile(row, kind, call, now, report):
            return None
        if self.waits(row, instant or now, report):
            return None
        if row.destructive and self.breaker.holds(now, row):
            report.held.append(row.key)
            return None
        claimed = self.claim(row, now)
        if claimed is None:  # another process took it since it was read: it is theirs
            log.info("action %s was taken by another process", row.key)
            return None
        attempt.row, attempt.claimed = claimed, True
        edited = self.store.edited(claimed)
        if edited:  # parked for staff: a state restored from a backup lets it run again
            self.finish(claimed, "parked", now, error=edited)
            report.parked.append(row.key)
            return None
        quiet, why = self.store.quiet(claimed, instant or now)
        if quiet is not None:  # a message to its case came since the wait was asked: the write waits, unsent
            with self.db.atomic():
                outbox.release(self.db, claimed, quiet, f"waits until {iso(quiet)} for {why}", now)
            report.waiting.append(row.key)
            return None
        cancel = self.guard_cancels(claimed, resumed)
        if cancel:
            note = getattr(cancel, "note", None)
            self.finish(
                claimed,
                "cancelled",
                now,
                error=str(cancel),
                also=self.cancel_note(claimed, note, getattr(cancel, "note_key", None)) if note else None,
                # An earlier try may have called WHMCS (`tried`): its rule must not say nothing was done.
                outcome={**(getattr(cancel, "outcome", None) or {}), **({"tried": True} if resumed else {})},
            )
            report.cancelled.append(row.key)
            return None
        self.record_before(attempt, kind)
        call = self.with_text(attempt)
        attempt.calling = True
        attempt.writes_before = self.api.client.writes
        # Between the client's attempts (WHMCS refusing the write before taking it), the action's guards
        # answered from the store are asked again: a grant revoked during the wait stops the resend.
        self.api.client.resend_check = lambda: self.store.first_cancel(attempt.row)
        try:
            return kind.run(call, mint=lambda consent: self.mint_consent_link(consent, now))
        finally:
            self.api.client.resend_check = None

    def not_planned(self, row: OutboxEntry, now: datetime, report: ExecutorReport) -> bool:
        """An action whose row is not the one the audit chain recorded (store/planned.py) is parked before anything
        of it runs or is kept in it (with_text would record its edited parameters as the executor's own)."""
        edited = planned.problem(self.db, row)
        if edited:
            self.finish(row, "parked", now, error=edited)
            report.parked.append(row.key)
        return edited is not None

    def with_text(self, attempt: _Attempt) -> Call:
        """The action's message rendered in its reader's language and kept in its row before WHMCS is
        called: a later try, or a reconciliation, uses the very same text."""
        row = attempt.row
        params = self.texts.rendered(self.api, row.kind, row.params, row.client_id)
        if params is not row.params:
            planned.keep_params(self.db, row, params)
            attempt.row = replace(row, params=params)
        return attempt.call(self.api, self.staff_department_id)

    def record_before(self, attempt: _Attempt, kind: ActionKind) -> None:
        """What a kind reads of WHMCS before its first try (`before`), kept in the action's row before any of its
        calls leaves; a later try finds it there and does not read it again."""
        if kind.before is None:
            return
        params = kind.before(attempt.call(self.api, self.staff_department_id))
        if params == attempt.row.params:
            return
        planned.keep_params(self.db, attempt.row, params)
        attempt.row = replace(attempt.row, params=params)

    def may_have_run(self, row: OutboxEntry) -> bool:
        """Found in flight, attempted before, the trace of an action found already done (a crash or a restore
        may have left its line in WHMCS too), or planned before the backup this database was restored from."""
        if row.status == "in_flight" or row.attempts > 0 or (row.event_id or "").startswith(FOUND_DONE):
            return True
        return self.backup_made_at is not None and row.created_at <= self.backup_made_at

    def longest_timeout(self, call_timeout: timedelta) -> timedelta:
        """The longest call timeout this database was run with (kept in the store): a call made before a
        restart with a shorter whmcs.timeout_s may still be running that long."""
        recorded = poll_store.cursor(self.db, CALL_TIMEOUT_CURSOR)
        longest = max(call_timeout, timedelta(seconds=float(recorded or 0)))
        if recorded is None or longest > timedelta(seconds=float(recorded)):
            with self.db.atomic():
                poll_store.set_cursor(self.db, CALL_TIMEOUT_CURSOR, str(longest.total_seconds()), utcnow())
        return longest

    def may_still_run(self, row: OutboxEntry, now: datetime, report: ExecutorReport) -> bool:
        """An action in flight whose call may still be running in WHMCS waits (its effect may land yet)."""
        if row.status != "in_flight" or not row.started_at:
            return False
        settled = datetime.fromisoformat(row.started_at) + self.in_flight_grace
        if now >= settled:
            return False
        with self.db.atomic():
            outbox.defer(self.db, row, settled, row.error or "its last call may still be running in WHMCS", now)
        report.retrying.append(row.key)
        return True

    def reconcile(self, row: OutboxEntry, kind: ActionKind, call: Call, now: datetime, report: ExecutorReport) -> bool:
        """An action attempted before: True when its effect is found in WHMCS (done), or, for one found in
        flight, when WHMCS cannot tell whether it ran and running it again is not harmless (parked); False:
        run it (again). An action staff approved after it was parked runs when WHMCS cannot tell: the
        parking asked them to check."""
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
        if outcome is None and not kind.repeat_safe and row.status == "in_flight" and kind.assume_ran:
            unconfirmed = {"unconfirmed": "its call reached WHMCS, which cannot tell whether it ran; not repeated"}
            log.warning("action %s (%s) counted as done, unconfirmed: %s", row.key, row.kind, row.error)
            self.finish(row, "done", now, result=unconfirmed, note="interrupted: counted as done, unconfirmed")
            report.reconciled.append(call.key)
            return True
        if outcome is None and not kind.repeat_safe and row.status == "in_flight":
            general = (
                "interrupted, and WHMCS cannot tell whether it ran: check WHMCS, then approve to run it again or reject"
            )
            self.finish(row, "parked", now, error=kind.unknown(call) if kind.unknown else general)
            report.parked.append(call.key)
            return True
        return False

    def waits(self, row: OutboxEntry, now: datetime, report: ExecutorReport) -> bool:
        """A destructive step outside its window (approved or not) waits for it: deferred to when it opens,
        without an attempt. Its service's override date is read from WHMCS here, before the step. A step of
        a held ladder waits for staff to resume it; a step that follows others (the email saying the panel is
        locked) waits until they ended."""
        if row.status != "planned":
            return False
        opens, why = self.store.waits(row, now)
        spec = row.guard.get("window")
        if opens is None and spec:
            opens, why = window_opens(self.api, spec, now)
        if opens is None or opens <= now:
            return False
        with self.db.atomic():
            outbox.defer(self.db, row, opens, f"waits until {iso(opens)} for {why}", now)
        report.waiting.append(row.key)
        return True

    def cancel_note(self, row: OutboxEntry, note: dict[str, Any], key: str | None = None) -> Action:
        """The client note a cancelling guard asks for (e.g. a service left suspended for staff); `key`, the guard's
        own key for it when one note stands for every action it cancels (planned once)."""
        return Action(
            key=key or action_key("executor", row.key, "cancelled-note"),
            family=row.family,
            kind="client_note",
            params=note,
            client_id=row.client_id,
            subject=row.subject,
        )

    def guard_cancels(self, row: OutboxEntry, resumed: bool = False) -> str | None:
        """Why the action is cancelled now (a fact its guard re-reads has changed), or None. `resumed`: an
        earlier try may have run part of it (its outcome unknown, and WHMCS did not show it done); a guard
        given a mapping then also reads `resumed`, so as not to take the action's own first write for a
        change made by someone else (guards.py renewal_settles)."""
        for name, value in row.guard.items():
            if name in WAITS:
                continue
            if resumed and isinstance(value, dict):
                value = {**value, "resumed": True}
            if name == "rendered_from":  # the subject is in the params, which the store hashes once ended
                value = {**value, "subject": row.params.get(outbox.LOGGED_SUBJECT)}
            reason = (
                self.store.cancels(name, value)
                if name in STORE_GUARDS
                else GUARDS[name](self.api, value, row.client_id)
            )
            if reason:
                text = f"guard {name}: {reason}"
                if not isinstance(reason, Cancel):
                    return text
                cancel = Cancel.noting(text, reason.note) if reason.note else Cancel(text)
                cancel.outcome, cancel.note_key = reason.outcome, reason.note_key
                return cancel
        return None

    def retry_later(self, attempt: _Attempt, now: datetime, exc: WhmcsUnavailableError, report: ExecutorReport) -> None:
        """WHMCS down or the outcome unknown: try again later. A claimed action whose own call never
        reached WHMCS (refused, or a guard's read failed first) is given back, to be run rather than
        reconciled; anything else stays as it is (in flight: reconciled on the next try)."""
        self.api_errors.inc("unavailable")
        row = attempt.row
        delay = min(self.retry_max, self.retry_first * 2 ** min(row.attempts, 10))
        # Its write never left when no call was made, or when the failing call did not leave and no write
        # before it in this try did (an email sent, then its proof read failing: the email left).
        wrote = self.api.client.writes > attempt.writes_before
        never_left = attempt.claimed and (not attempt.calling or (not exc.sent and not wrote))
        until, why = now + delay, str(exc)
        if not never_left and row.started_at:  # WHMCS is asked whether it ran only once its call cannot still run
            settled = datetime.fromisoformat(row.started_at) + self.in_flight_grace
            if settled > until:
                until, why = settled, f"{exc}; its call may still be running in WHMCS until then"
        with self.db.atomic():
            give_back = outbox.release if never_left else outbox.defer
            if not give_back(self.db, row, until, why, now):
                return
        log.warning("action %s (%s) waits %s: %s", row.key, row.kind, until - now, why)
        report.retrying.append(row.key)

    def record_run(
        self,
        row: OutboxEntry,
        kind: ActionKind,
        call: Call,
        result: dict[str, Any],
        now: datetime,
        report: ExecutorReport,
    ) -> None:
        """Record a run: what a read learnt goes back to the rules; a change leaves a line in WHMCS's log."""
        context = result.pop("context", None)
        if context is not None and context.get("userid"):
            # The services' statuses as this read found them: the poller's first baseline for a client it
            # starts watching, so it need not read the client again to know them.
            with self.db.atomic():
                poll_store.first_service_statuses(self.db, int(context["userid"]), context.get("services") or [], now)
        feed = (
            result.pop("feed", None)
            or (("ClientContext", context) if context is not None else None)
            or call.reported(result)
        )
        if not self.finish(row, "done", now, result=result, feed=feed):
            return
        report.done.append(call.key)

    def mint_consent_link(self, spec: dict[str, Any], now: datetime) -> str:
        """A one-time, expiring, unguessable link; only its hash is stored (the raw token is in the email)."""
        if not self.consent_base_url:
            raise ActionError("no consent link can be made: set receiver.public_url")
        token = secrets.token_urlsafe(32)
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        with self.db.atomic():
            link = consent.create(
                self.db,
                token_hash=token_hash,
                purpose=spec["purpose"],
                subject=spec["subject"],
                summary=spec["summary"],
                expires_at=now + timedelta(seconds=int(spec["ttl_s"])),
                now=now,
                lang=str(spec.get("lang") or ""),  # the page speaks the language of the email it came in
                scope=str(spec.get("scope") or ""),  # a copy's self-service link shows its owner's grants only
            )
            consent.record_minted(
                self.db, link, token_hash=token_hash, purpose=spec["purpose"], subject=spec["subject"], at=iso(now)
            )
        return f"{self.consent_base_url.rstrip('/')}/consent/{token}"

    # --- bookkeeping --------------------------------------------------------------------------

    def claim(self, row: OutboxEntry, now: datetime) -> OutboxEntry | None:
        with self.db.atomic():
            return outbox.claim(self.db, row, now)

    def finish(
        self,
        row: OutboxEntry,
        status: str,
        now: datetime,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        feed: tuple[str, dict[str, Any]] | None = None,
        also: Action | None = None,
        outcome: dict[str, Any] | None = None,
    ) -> bool:
        """Record the outcome; `feed` puts what a read action learnt into the inbox, in the same transaction.
        Nothing is recorded (False) when another process changed the action since it was read."""
        now = self.clock() if self.clock else now  # when it ended
        try:
            self._record(row, status, now, result=result, error=error, note=note, feed=feed, also=also, outcome=outcome)
        except _TakenMeanwhile:
            log.info("action %s was finished by another process; its outcome stands", row.key)
            return False
        self.outcomes.inc(status)
        log.info("action %s %s %s%s", row.key, row.kind, status, f": {error}" if error else "")
        return True

    def _record(
        self,
        row: OutboxEntry,
        status: str,
        now: datetime,
        *,
        result: dict[str, Any] | None,
        error: str | None,
        note: str | None,
        feed: tuple[str, dict[str, Any]] | None,
        also: Action | None = None,
        outcome: dict[str, Any] | None = None,
    ) -> None:
        with self.db.atomic():
            if not outbox.record_outcome(self.db, row, status, now, result=result, error=error):
                raise _TakenMeanwhile  # rolls the transaction back
            if status in ("done", "cancelled") or (status == "parked" and row.params.get("tell_parked")):
                at = self.instant or now
                # A kind may tell the rules what it found done (its result's `outcome`, e.g. renew_service); a
                # parked action only if it asks (`tell_parked`: staff hear of it from the rule that planned it).
                told = (result or {}).get("outcome") if status == "done" else None
                outbox.report_outcome(
                    self.db,
                    row,
                    status,
                    at,
                    **({"error": error} if error else {}),
                    **(outcome or {}),
                    **(told if isinstance(told, dict) else {}),
                )
            # The lines planned beside the outcome, and what a read fed back to the rules, are recorded by the
            # outcome's row (their SHA-256s): a row of that shape the chain does not back is refused
            # (store/planned.py own_line_problem, store/fed.py).
            lines = self.plan_lines(
                row, status, now, also, found=(note or "").startswith(("reconciled", "interrupted"))
            )
            detail: dict[str, Any] = {"key": row.key, "kind": row.kind, "params": outbox.at_rest(row.params)}
            detail["lines"] = lines
            if feed is not None:
                detail["fed"] = fed.add(self.db, row.key, row.family, feed[0], feed[1], now)
            for name, value in (("result", result), ("error", error), ("note", note)):
                if value is not None:
                    detail[name] = value
            audit.append(
                self.db,
                f"executor.{status}",
                actor="executor",
                client_id=row.client_id,
                subject=row.subject,
                detail=detail,
                at=iso(now),
            )

    def plan_lines(
        self, row: OutboxEntry, status: str, now: datetime, also: Action | None, *, found: bool
    ) -> dict[str, str]:
        """Plan what the executor writes itself beside an outcome (a cancelling guard's client note; a done action's
        trace line, `found` done in WHMCS rather than done now: its trace line may be there already too): each
        line planned now, by its key, with its SHA-256."""
        lines = [also, self.summary_line(row) if status == "done" else None]
        planned_now = {}
        for line in (x for x in lines if x is not None):
            origin = "cancelled:" if line is also else FOUND_DONE if found else "done:"
            if outbox.enqueue(self.db, line, destructive=False, event_id=f"{origin}{row.key}", now=now) is not None:
                planned_now[line.key] = planned.of_line(line)
        return planned_now

    def summary_line(self, row: OutboxEntry) -> Action | None:
        """A one-line trace in WHMCS's activity log of what was done, planned in the same transaction as
        the outcome and run like any action: an outage delays it, a crash does not lose or double it."""
        if row.kind == "activity" or action_kind(row.kind).read_only:
            return None
        what = row.subject or ", ".join(f"{k}={v}" for k, v in row.params.items() if k.endswith("_id"))
        line = Action(
            key=action_key("executor", row.key, "summary"),
            family=row.family,
            kind="activity",
            params={"text": f"whmcs-bridge: {row.family} {row.kind} {what} done {marker(row.key)}"},
            client_id=row.client_id,
            subject=row.subject,
        )
        return line
