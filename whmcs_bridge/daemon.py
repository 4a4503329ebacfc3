"""One process: the receiver on its port, and a loop of engine and executor passes, with warm/cold shutdown."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge import families
from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config
from whmcs_bridge.engine import Engine, EngineReport
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.loop import Executor, ExecutorReport
from whmcs_bridge.intake.poller import Poller, PollReport
from whmcs_bridge.intake.receiver import Receiver, run_in_thread, serve
from whmcs_bridge.metrics import Registry
from whmcs_bridge.store import inbox, states
from whmcs_bridge.store import poll as poll_store
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.lease import Lease
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

SWITCH_INTERVAL_S = 0.0005  # see Daemon._run

log = logging.getLogger("whmcs_bridge.daemon")



@dataclass
class PassReport:
    at: datetime
    engine: EngineReport
    executor: ExecutorReport
    poll: PollReport | None = None


class Bridge:
    """Everything a pass needs, built from the configuration."""

    def __init__(self, config: Config, *, metrics: Registry | None = None, progress: Any = None) -> None:
        self.config = config
        self.metrics = metrics or Registry()
        self.db = Database(config.state.path)
        self.api = WhmcsApi(WhmcsClient.from_config(config.whmcs))
        self.engine = Engine(self.db, families.enabled(config))
        self.poller = Poller(
            self.db,
            self.api,
            sweep_every=config.poll.sweep_every,
            progress=progress,
            tracked_clients=self.tracked_clients,
            email_clients=self.email_clients,
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
            clock=utcnow,
        )

    def tracked_clients(self) -> list[int]:
        """Client ids that families watching services keep state for."""
        names = [f.name for f in self.engine.families.values() if f.tracks_client_services]
        return [int(key) for key in states.keys(self.db, names) if key.isdigit()]

    def email_clients(self) -> list[int]:
        """Clients whose email log the poller watches for emails no hook reported: the clients families
        track, and the owners whose emails delegation copies (their "owner:<id>" references)."""
        return sorted(set(self.tracked_clients()) | set(states.referenced_ids(self.db, "owner:")))

    def poll_due(self, now: datetime) -> bool:
        if not self.config.poll.enabled:
            return False
        last = self.poller.cursor("poll.last_run")
        return last is None or datetime.fromisoformat(last) + self.config.poll.every <= now

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
        polled = None
        if not dry_run and (self.poll_due(now) if poll is None else poll):
            try:
                polled = self.poller.run_once(now)
            except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
                # WHMCS unreachable or refusing: the poll waits for the next cycle; nothing is lost
                # (cursors only move with the events they produced) and the rest of the pass goes on.
                log.warning("poll failed, retried next cycle: %s", exc)
                polled = PollReport(error=str(exc))
                return self._finish(now, dry_run, stop, polled)
            with self.db.atomic():
                poll_store.set_cursor(self.db, "poll.last_run", now.isoformat(timespec="seconds"), now)
        return self._finish(now, dry_run, stop, polled)

    def _finish(self, now: datetime, dry_run: bool, stop: Callable[[], bool], polled: PollReport | None) -> PassReport:
        engine = self.engine.plan(now) if dry_run else self.engine.run_once(now)
        executor = self.executor.run_once(now, dry_run=dry_run, stop=stop)
        return PassReport(now, engine, executor, polled)

    def close(self) -> None:
        self.db.close()


class Daemon:
    """`whmcs-bridge run`. Signal handlers only set flags: the first SIGTERM/SIGINT lets the current
    action finish and exits 0; a second one exits at once."""

    def __init__(self, config: Config, *, idle_s: float = 1.0, dry_run: bool = False) -> None:
        self.config = config
        self.idle_s = idle_s
        self.dry_run = dry_run
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.bridge = Bridge(config)
        self.receiver = Receiver(
            config.state.path,
            config.receiver.all_secrets,
            max_body_bytes=config.receiver.max_body_kib * 1024,
            tolerance_s=config.receiver.tolerance.total_seconds(),
            metrics=self.bridge.metrics,
            on_stored=self.wake.set,
        )
        self.server: Any = None
        self._signals = 0

    def handle_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting now")
            raise SystemExit(1)
        log.info("signal %d: finishing the current action, then exiting", signum)
        self.stop.set()
        self.wake.set()

    def dry_pass(self) -> None:
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

    def run(self) -> int:
        with Lease(self.config.state.path, "whmcs-bridge run") as lease:
            return self._run(lease)

    def _run(self, lease: Lease) -> int:
        # The inbox writer and the engine spend their time in SQLite, which releases the GIL around
        # each call; with the server's threads busy parsing requests, every return then waits up to
        # the interpreter's switch interval (5 ms by default) for the GIL: a burst of webhooks ran at a
        # quarter of the rate the same writer reaches alone. A shorter interval hands the GIL back sooner.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.server = serve(
            self.receiver,
            self.config.receiver.host,
            self.config.receiver.port,
            max_body_bytes=self.config.receiver.max_body_kib * 1024,
        )
        port = self.server.effective_port
        lease.tell(f"whmcs-bridge run on {self.config.receiver.host}:{port}")
        signal.signal(signal.SIGTERM, self.handle_signal)
        signal.signal(signal.SIGINT, self.handle_signal)
        run_in_thread(self.server)
        log.info(
            "listening on http://%s:%s/hooks/whmcs; state in %s",
            self.config.receiver.host,
            port,
            self.config.state.path,
        )
        try:
            while not self.stop.is_set():
                try:
                    if self.dry_run:
                        self.dry_pass()
                        busy = False
                    else:
                        report = self.bridge.run_once(utcnow(), stop=self.stop.is_set)
                        busy = bool(report.engine.events or report.executor.done or report.executor.retrying)
                except Exception:  # one bad pass must not end the daemon; it is logged and retried
                    log.exception("pass failed; retrying shortly")
                    busy = False
                if not busy:
                    self.wake.wait(self.idle_s)
                    self.wake.clear()
        finally:
            self.server.close()
            self.receiver.close()
            self.bridge.close()
        log.info("stopped")
        return 0
