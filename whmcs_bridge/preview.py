"""`plan --preview` and `tick --dry-run`: what the bridge would do, read from WHMCS, before anything is sent.

The poller, the rules and the executor's reads run on a throwaway copy of the state (SQLite's backup
API), against a WHMCS client that sends no write: nothing is stored, no cursor moves, nobody is told."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.daemon import Bridge, PassReport
from whmcs_bridge.engine import EngineReport
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.loop import ExecutorReport
from whmcs_bridge.intake.poller import PollReport
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.client import Params, WhmcsClient, is_read_only

ROUNDS = 4  # poll, decide, read what the rules asked for, decide again...


class ReadOnlyClient(WhmcsClient):
    """A client that refuses every write before it leaves the machine."""

    def call(self, action: str, params: Params | None = None) -> dict[str, Any]:
        if not is_read_only(action):
            raise WhmcsApiError(action, "not sent: a preview only reads WHMCS")
        return super().call(action, params)


def preview(config: Config, now: datetime, until: datetime) -> PassReport:
    with tempfile.TemporaryDirectory(prefix="whmcs-bridge-preview-") as folder:
        copy = Path(folder) / "state.db"
        if config.state.path.is_file():
            with Database(config.state.path, migrate=False) as live:
                live.backup_to(copy)
        shadow = dataclasses.replace(config, state=dataclasses.replace(config.state, path=copy))
        bridge = Bridge(shadow, client=ReadOnlyClient.from_config(config.whmcs))
        executor_log = logging.getLogger("whmcs_bridge.executor")
        level = executor_log.level
        executor_log.setLevel(logging.WARNING)  # its "parked: not sent" lines are the preview working
        try:
            return _walk(bridge, now, until)
        finally:
            executor_log.setLevel(level)
            bridge.close()


def _walk(bridge: Bridge, now: datetime, until: datetime) -> PassReport:
    polled = None
    if bridge.config.poll.enabled:
        try:
            polled = bridge.poller.run_once(now)
        except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
            polled = PollReport(error=str(exc))  # what the state already holds is still shown
    due = bridge.executor.run_once(now, dry_run=True)  # actions already due before this pass
    seen = EngineReport()
    for _ in range(ROUNDS):
        step = bridge.engine.run_once(now)
        seen.events += step.events
        seen.parked += step.parked
        seen.planned += step.planned
        seen.when += step.when
        ran = bridge.executor.run_once(now)  # reads run (contexts the rules asked for); writes are refused
        if not step.events and not ran.done:
            break
    if until > now:
        projected = bridge.engine.plan(now, until=until)
        seen.planned += projected.planned
        seen.when += projected.when
    return PassReport(now, seen, ExecutorReport(would_run=due.would_run), polled)
