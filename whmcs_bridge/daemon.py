"""One process: the receiver on its port, and a loop of engine and executor passes, with warm/cold shutdown."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from whmcs_bridge import families, health, permissions, readable, resync
from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config
from whmcs_bridge.engine import Engine, EngineReport
from whmcs_bridge.errors import EnvironmentProblem, RolledBack, WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.executor.loop import Executor, ExecutorReport
from whmcs_bridge.executor.texts import Texts
from whmcs_bridge.intake import serving
from whmcs_bridge.intake.poller import Poller, PollReport
from whmcs_bridge.intake.proxies import ForwardedFor
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.messages import load as catalogue
from whmcs_bridge.metrics import Registry
from whmcs_bridge.store import audit, inbox, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.lease import Lease
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import Interrupted, WhmcsClient

SWITCH_INTERVAL_S = 0.0005  # see Daemon._run
# While webhooks keep arriving as a burst (store/writer.BURST of them within ARRIVING_S), the engine gives the
# receiver YIELD_SHARE times what its last batch or pass took, at most YIELD_MAX_S at once (Daemon.ingest_first).
ARRIVING_S = 0.05
YIELD_SHARE = 4.0
YIELD_MAX_S = 0.5

log = logging.getLogger("whmcs_bridge.daemon")


def yield_for(arriving: bool, spent_s: float) -> float:
    """How long the engine steps back after a batch or pass that took `spent_s`: YIELD_SHARE times that while
    webhooks arrive (at most YIELD_MAX_S), else not at all (Daemon.ingest_first)."""
    return min(max(spent_s, 0.0) * YIELD_SHARE, YIELD_MAX_S) if arriving else 0.0


def page_reader(config: Config) -> WhmcsApi:
    """The self-service pages' own WHMCS client: one attempt per read, so a page shows "unknown" at once
    while WHMCS is down rather than wait out the retries a pass would."""
    client = WhmcsClient.from_config(config.whmcs)
    client.max_attempts = 1
    return WhmcsApi.from_config(config, client)


@dataclass
class PassReport:
    at: datetime
    engine: EngineReport
    executor: ExecutorReport
    poll: PollReport | None = None
    # Events still waiting for the rules after the pass (a pass decides on at most 500).
    pending_after: int | None = None
    resynced: list[str] = field(default_factory=list)  # families re-read from WHMCS (resync.py)
    anchored: audit.Checkpoint | None = None  # the audit chain's head, written into WHMCS's activity log
    waits: str | None = None  # why no action ran (the audit chain not yet compared with WHMCS's anchors)


class Previewer(Protocol):
    """A dry run's previews (preview.Shadow): a pass on a copy of the state, read from WHMCS."""

    def run(self, now: datetime, until: datetime) -> PassReport: ...

    def close(self) -> None: ...


class Bridge:
    """Everything a pass needs, built from the configuration."""

    def __init__(
        self,
        config: Config,
        *,
        metrics: Registry | None = None,
        progress: Any = None,
        stop: threading.Event | None = None,
        client: WhmcsClient | None = None,
        signing: bool = True,
    ) -> None:
        self.config = config
        self.metrics = metrics or Registry()
        # signing=False: a throwaway copy (preview.Shadow) neither needs nor gets the signing key.
        self.db = Database(config.state.path, signing=signing, pin=keys.pin_of(config))
        # A stop request cuts the client's retry waits short: SIGTERM is not kept waiting by a backoff.
        # A call in flight is not waited for either: the action stays in flight (reconciled at the next start).
        interrupt = {"sleep": stop.wait, "stopping": stop.is_set, "interruptible": True} if stop is not None else {}
        self.api = WhmcsApi.from_config(config, client or WhmcsClient.from_config(config.whmcs, **interrupt))
        self.engine = Engine(self.db, families.enabled(config))
        self.between_batches: Callable[[float], None] | None = None  # the daemon's ingest_first
        self.compared = False  # the audit chain compared with WHMCS's anchors (compare_with_anchors)
        self.poller = Poller(
            self.db,
            self.api,
            sweep_every=config.poll.sweep_every,
            progress=progress,
            tracked_clients=self.tracked_clients,
            email_clients=self.email_clients,
            watched_tickets=self.watched_tickets,
        )
        self.api_errors = self.metrics.counter(
            "whmcs_bridge_api_errors_total", "WHMCS API failures of polls and actions, by kind.", "kind"
        )
        self.executor = Executor(
            self.db,
            self.api,
            max_destructive_per_hour=config.safety.max_destructive_per_hour,
            staff_department_id=config.safety.staff_department_id,
            staff_email=config.safety.staff_email,
            consent_base_url=config.receiver.public_url,
            metrics=self.metrics,
            call_timeout=timedelta(seconds=config.whmcs.timeout_s),
            settle=config.whmcs.settle_after,
            retry=(config.whmcs.retry_first, config.whmcs.retry_max),
            clock=utcnow,
            texts=Texts(catalogue.for_config(config), config.zone),
        )

    def tracked_clients(self) -> list[int]:
        """Clients whose services the poller watches: those a family watching services refers to as
        "watch:<id>" (the escalation family: an open case in a policy's scope). A client that paid, or that
        no policy covers, is not read (issue 15, finding 13)."""
        if not any(f.tracks_client_services for f in self.engine.families.values()):
            return []
        return states.referenced_ids(self.db, "watch:")

    def email_clients(self) -> list[int]:
        """Clients whose email log the poller watches for emails no hook reported: the owners whose emails
        delegation copies (their "owner:<id>" references). No family reads the emails of the clients it
        tracks, so they are not walked each cycle."""
        return states.referenced_ids(self.db, "owner:")

    def watched_tickets(self) -> list[int]:
        """Tickets the poller reads whole each cycle, whatever their status: the threads of the ownership cases a
        party may still answer (their "thread-read:<id>" references), for replies in a thread staff closed and
        for staff notes, which no list shows."""
        return states.referenced_ids(self.db, "thread-read:")

    def poll_due(self, now: datetime) -> bool:
        """Every poll.every; after failures, that doubled per failure up to poll.max_backoff. A family
        enabled or changed since the last poll (a restart with a new configuration) is resynced at once,
        unless polls are failing: their backoff stands."""
        if not self.config.poll.enabled:
            return False
        state = health.PollHealth.read(self.db)
        due = state.next_due(self.config)
        # A poll recorded after now (`tick --at` a later instant, to see a deadline pass) is no reason to wait
        # until then: the schedule starts again from now (seventeenth break round, issue 16 M4).
        ahead = (state.last_attempt or state.last_success or now) > now
        return (
            due is None or due <= now or ahead or (state.failures == 0 and bool(resync.changed(self.db, self.config)))
        )

    def run_once(
        self,
        now: datetime,
        *,
        dry_run: bool = False,
        poll: bool | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> PassReport:
        """One pass: poll WHMCS (when due, or when asked), decide on pending events and due timers,
        then run due actions. `tick` and the tests drive it. A dry run reads nothing new and writes nothing."""
        if not dry_run and self.db.refused is not None:  # a key that may not sign: no event is parked for it
            raise self.db.refused
        if not dry_run:  # a chain cut or rewritten without the key: no event is decided (or parked) on it
            audit.check_extendable(self.db)
        polled = None
        if not dry_run and (self.poll_due(now) if poll is None else poll):
            try:
                resynced = resync.on_change(self.db, self.api, self.config, now)
                polled = self.poller.run_once(now)
            except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
                # WHMCS unreachable or refusing: the poll waits (with backoff, health/metrics say so);
                # nothing is lost (cursors only move with the events they produced) and the pass goes on.
                polled = PollReport(error=str(exc))
                if not stop():
                    self.api_errors.inc(type(exc).__name__)
                    failed_at = max(now, utcnow())
                    with self.db.atomic():  # the backoff counts from the failure, not from the pass's start
                        health.record_poll(self.db, failed_at, str(exc))
                    if poll is None:  # the daemon's schedule (`tick` polls whenever it runs, and says it failed)
                        log.warning("%s: %s", health.poll_failed_line(self.db, self.config, failed_at), exc)
                return self._finish(now, dry_run, stop, polled)
            with self.db.atomic():
                health.record_poll(self.db, now, None)
            report = self._finish(now, dry_run, stop, polled)
            report.resynced = resynced
            return report
        return self._finish(now, dry_run, stop, polled)

    def _finish(self, now: datetime, dry_run: bool, stop: Callable[[], bool], polled: PollReport | None) -> PassReport:
        engine = self.engine.plan(now) if dry_run else self.engine.run_once(now, between=self.between_batches)
        # Nothing is sent to WHMCS before the audit chain is compared with its anchors there (deciding needs
        # no WHMCS: events and timers are decided meanwhile, and a chain grown on a rolled-back database is
        # still told from WHMCS's anchors by the rows' hashes).
        waits = None if dry_run else self.compare_with_anchors()
        if waits is not None:
            report = PassReport(now, engine, ExecutorReport(), polled, inbox.pending_count(self.db))
            report.waits = waits
            return report
        executor = self.executor.run_once(now, dry_run=dry_run, stop=stop)
        self.db.forget_scrubbed()
        anchored = None if dry_run or stop() else self.anchor(now)
        report = PassReport(now, engine, executor, polled, None if dry_run else inbox.pending_count(self.db))
        report.anchored = anchored
        return report

    def anchor(self, now: datetime) -> audit.Checkpoint | None:
        """Write the audit chain's signed head into WHMCS's activity log after a case decision, and at least
        daily (evidence.anchor); WHMCS unreachable: the next pass tries again."""
        try:
            return anchor.anchor_if_due(self.db, self.api, now)
        except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
            log.warning("the audit chain's anchor in WHMCS's activity log waits: %s", exc)
            return None
        except EnvironmentProblem as exc:  # WHMCS holds anchors this chain does not reach: none written over them
            log.error("%s", exc)
            return None

    def compare_with_anchors(self) -> str | None:
        """Before the first pass sends anything: the audit chain against WHMCS's anchors, once per process. A
        database restored from a backup older than WHMCS's newest anchor has lost decisions WHMCS already saw (an
        objection, a reversal), and acting on it would send or execute them again: RolledBack, until staff restore
        a newer backup or acknowledge the loss (`audit acknowledge-rollback`). WHMCS unreachable: why nothing is
        sent this pass (the next one compares again)."""
        if self.compared or self.db.signer is None:
            return None
        try:
            anchor.refuse_if_rolled_back(self.db, self.api)
        except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
            self.api_errors.inc(type(exc).__name__)
            waits = f"nothing is sent until the audit chain is compared with its anchors in WHMCS: {exc}"
            log.warning("%s", waits)
            return waits
        self.compared = True
        return None

    def close(self) -> None:
        self.db.close()


def listen(app: Receiver, config: Config) -> Any:
    """The receiver's server, or one sentence saying why the port cannot be had."""
    host, port = config.receiver.host, config.receiver.port
    trusted = config.receiver.trusted_proxies
    wsgi = ForwardedFor(app, trusted) if trusted else app
    try:
        return serve(
            wsgi,
            host,
            port,
            max_body_bytes=config.receiver.max_body_kib * 1024,
            trust_forwarded=bool(trusted),
            on_rejected=app.rejected.inc,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "the address is already in use (another whmcs-bridge run, or another program: `ss -ltnp` names it)"
        elif exc.errno == errno.EACCES:
            why = f"permission denied for user {permissions.user_name()} (ports below 1024 need privileges)"
        else:
            why = exc.strerror or str(exc)
        raise EnvironmentProblem(
            f"cannot listen on {host}:{port} (receiver.listen in {config.source}): {why}"
        ) from None


class Daemon:
    """`whmcs-bridge run`. Signal handlers only set flags: the first SIGTERM/SIGINT lets the current
    action finish (a WHMCS call not answered within STOP_GRACE_S is left in flight) and exits 0; a second
    one exits at once."""

    def __init__(
        self,
        config: Config,
        *,
        idle_s: float = 1.0,
        dry_run: bool = False,
        preview: Callable[[Config], Previewer] | None = None,
    ) -> None:
        self.config = config
        # A dry run reads WHMCS every poll.every through this (preview.py: a copy of the state, no write sent),
        # made at the first preview and kept: later ones read and tell only what is new.
        self.make_preview = preview if dry_run else None
        self.previewer: Previewer | None = None
        self.idle_s = idle_s
        self.dry_run = dry_run
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.bridge = Bridge(config, stop=self.stop)
        self.trouble = health.DaemonTrouble()
        self.receiver = Receiver(
            config.state.path,
            config.receiver.all_secrets,
            max_body_bytes=config.receiver.max_body_kib * 1024,
            tolerance_s=config.receiver.tolerance.total_seconds(),
            metrics=self.bridge.metrics,
            on_stored=self.wake.set,
            health=lambda db: health.assess(db, config, utcnow(), self.trouble),
            catalogue=self.bridge.executor.texts.catalogue,  # the consent pages speak the configured catalogue
            zone=config.zone,
            # The delegation self-service pages: who may renew, and where WHMCS shows an invoice to pay.
            may_renew=lambda role: bool(config.delegation.roles.get(role) and config.delegation.roles[role].renew),
            whmcs_url=config.whmcs.url,
            whmcs=page_reader(config),  # the delegate's page reads WHMCS now (its own client)
        )
        self.bridge.metrics.gauge_sources.append(
            lambda: health.gauges(self.receiver.db, config, utcnow(), self.trouble)
        )
        self.server: Any = None
        self._signals = 0
        self.bridge.between_batches = self.ingest_first

    def ingest_first(self, spent_s: float) -> None:
        """The receiver first during a burst of webhooks (WHMCS's billing-day cron: InvoiceCreated and EmailPreLog
        for every invoice, the hook waiting for each answer): the engine shares the process, its GIL and the
        database's write lock with the receiver, so after each batch of decisions it steps back for YIELD_SHARE
        times what the batch took while events keep arriving. Events wait in the inbox meanwhile, durable; the
        engine keeps a fifth of the time, so it never stops (issue 12: ingest at saturation)."""
        wait = yield_for(self.receiver.writer.arriving(ARRIVING_S), spent_s)
        if wait:
            self.stop.wait(wait)

    def handle_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting now")
            raise SystemExit(1)
        log.info("signal %d: finishing the current action, then exiting", signum)
        self.stop.set()
        self.wake.set()

    def dry_pass(self) -> None:
        now = utcnow()
        last = getattr(self, "_last_preview", None)
        if self.make_preview is not None and (last is None or last + self.config.poll.every <= now):
            self._last_preview = now
            if self.previewer is None:
                self.previewer = self.make_preview(self.config)
            self.log_preview(self.previewer.run(now, now), first=last is None)
            return
        pending = inbox.pending_count(self.bridge.db)
        if pending != getattr(self, "_last_pending", None):
            self._last_pending = pending
            report = self.bridge.run_once(utcnow(), dry_run=True)
            log.info(
                "dry run: %d pending event(s) would plan %d action(s); %d due action(s) would run",
                pending,
                len(report.engine.planned),
                len(report.executor.would_run),
            )

    @staticmethod
    def log_preview(report: PassReport, first: bool = True) -> None:
        """The first preview in full; later ones only what they added (the same copy plans nothing twice)."""
        if report.poll is not None and report.poll.error:
            log.warning("dry run: the poll of WHMCS failed: %s", report.poll.error)
        planned = report.engine.planned
        if not first and not planned:
            log.debug("dry run: nothing new would be planned")
            return
        more = "" if first else " more"
        log.info(
            "dry run (read from WHMCS on a copy, nothing sent): %d%s action(s) would be planned", len(planned), more
        )
        for action in planned[:20]:
            log.info("dry run: would %s %s %s", action.kind, action.subject or "", readable.action(action.params))

    def run(self) -> int:
        os.umask(0o077)  # what the daemon creates (WAL, lock, evidence, exports) is its user's alone
        try:
            with Lease(self.config.state.path, "whmcs-bridge run") as lease:
                return self._run(lease)
        finally:  # also when the lease is refused: the receiver's writer and the databases are closed
            self.close()

    def close(self) -> None:
        if self.server is not None:
            serving.stop(self.server)
            self.server = None
        self.receiver.close()
        self.bridge.close()
        if self.previewer is not None:
            self.previewer.close()
            self.previewer = None

    def _run(self, lease: Lease) -> int:
        # The inbox writer and the engine spend their time in SQLite, which releases the GIL around
        # each call; with the server's threads busy parsing requests, every return then waits up to
        # the interpreter's switch interval (5 ms by default) for the GIL: a burst of webhooks ran at a
        # quarter of the rate the same writer reaches alone. A shorter interval hands the GIL back sooner.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.bridge.db.quick_check()  # a damaged file is said at start, not found by a failing pass later
        if self.bridge.db.refused is not None:  # a key that is not the pinned one: nothing is signed with it
            raise self.bridge.db.refused
        self.server = listen(self.receiver, self.config)  # a port in use is said before WHMCS is read
        port = self.server.effective_port
        lease.tell(f"whmcs-bridge run on {self.config.receiver.host}:{port}")
        signal.signal(signal.SIGTERM, self.handle_signal)
        signal.signal(signal.SIGINT, self.handle_signal)
        serving.run_in_thread(self.server)
        log.info(
            "listening on http://%s:%s/hooks/whmcs; state in %s",
            self.config.receiver.host,
            port,
            self.config.state.path,
        )
        # A key the database's editor may also read or rewrite is warned of once the daemon runs, not refused:
        # the documented first start makes it beside the database as the bridge's user, and only root can then
        # give it away (a start that fails still says one sentence).
        signer = self.bridge.db.signer
        exposed = keys.exposure(signer.path, self.config.state.path) if signer and signer.path else None
        if exposed:
            log.warning("%s", exposed)
        try:
            self._loop()
        except RolledBack as exc:
            raise EnvironmentProblem(f"whmcs-bridge run refused: {exc}") from None
        except Interrupted as exc:  # SIGTERM while WHMCS was slow to answer: not waited for (whmcs/client.py)
            log.warning(
                "%s: exiting without it; an action's call stays in flight and is looked for in WHMCS at the next "
                "start, once it cannot still be running (whmcs.settle_after after it began); a poll reads again",
                exc,
            )
        finally:
            self.close()
        log.info("stopped")
        return 0

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                if self.dry_run:
                    self.dry_pass()
                    busy = False
                else:
                    started = time.monotonic()
                    report = self.bridge.run_once(utcnow(), stop=self.stop.is_set)
                    busy = bool(report.engine.events or report.executor.done or report.executor.retrying)
                    if busy:
                        self.ingest_first(time.monotonic() - started)
                self.trouble.cleared()
            except RolledBack:  # the database is behind WHMCS's anchors: the daemon stops (exit 3)
                raise
            except Exception as exc:  # one bad pass must not end the daemon; it is logged and retried
                if self.trouble.since is None:  # the traceback once, then a line per failing pass
                    log.exception("pass failed; retrying shortly (/healthz says degraded meanwhile)")
                else:
                    log.error("pass failed again (since %s): %s: %s", self.trouble.since, type(exc).__name__, exc)
                self.trouble.failed(utcnow(), f"{type(exc).__name__}: {exc}")
                busy = False
            if not busy:
                self.wake.wait(self.trouble.wait(self.idle_s))
                self.wake.clear()
