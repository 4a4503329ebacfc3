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
from whmcs_bridge.errors import BridgeError, WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.loop import ExecutorReport
from whmcs_bridge.intake.poller import PollReport
from whmcs_bridge.model import Action
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.client import Params, WhmcsClient, is_read_only

log = logging.getLogger("whmcs_bridge.preview")

ROUNDS = 4  # poll, decide, read what the rules asked for, decide again...
LIVE_EVENTS = 100_000  # events received during a dry run that a preview takes in


class ReadOnlyClient(WhmcsClient):
    """A client that refuses every write before it leaves the machine."""

    def call(self, action: str, params: Params | None = None) -> dict[str, Any]:
        if not is_read_only(action):
            raise WhmcsApiError(action, "not sent: a preview only reads WHMCS")
        return super().call(action, params)


def preview(config: Config, now: datetime, until: datetime) -> PassReport:
    with Shadow(config) as shadow:
        return shadow.run(now, until)


class Shadow:
    """A throwaway copy of the state and a bridge on it that sends no write. `run --dry-run` keeps one for
    its whole run: each later preview reads only what is new in WHMCS (the copy's cursors moved) and the
    events received since, and plans only what was not planned before."""

    def __init__(self, config: Config) -> None:
        self.live = config.state.path
        self.folder = tempfile.TemporaryDirectory(prefix="whmcs-bridge-preview-")
        copy = Path(self.folder.name) / "state.db"
        if self.live.is_file():
            with Database(self.live, migrate=False) as live:
                live.backup_to(copy)
        shadow = dataclasses.replace(config, state=dataclasses.replace(config.state, path=copy))
        self.bridge = Bridge(shadow, client=ReadOnlyClient.from_config(config.whmcs), signing=False)

    def __enter__(self) -> Shadow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.bridge.close()
        self.folder.cleanup()

    def run(self, now: datetime, until: datetime) -> PassReport:
        self.received_since()
        executor_log = logging.getLogger("whmcs_bridge.executor")
        level = executor_log.level
        executor_log.setLevel(logging.WARNING)  # its "parked: not sent" lines are the preview working
        try:
            return _walk(self.bridge, now, until)
        finally:
            executor_log.setLevel(level)

    def received_since(self) -> None:
        """The events the live state received since the copy was made (a dry run decides on none)."""
        if not self.live.is_file():
            return
        with Database(self.live, migrate=False) as live:
            waiting = inbox.pending(live, LIVE_EVENTS)
        with self.bridge.db.atomic():
            for entry in waiting:  # one already copied has its id: not added twice
                inbox.add(
                    self.bridge.db,
                    event_id=entry.event_id,
                    type=entry.type,
                    source=entry.source,  # type: ignore[arg-type]
                    body=entry.body,
                    received_at=entry.received_at,
                    occurred_at=entry.occurred_at,
                )


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
    seen.planned = [_with_text(bridge, action) for action in seen.planned]
    return PassReport(now, seen, ExecutorReport(would_run=due.would_run), polled)


def _with_text(bridge: Bridge, action: Action) -> Action:
    """A planned message as its reader would receive it (subject and body in their language, read from
    WHMCS now), so the preview shows what would be sent; as planned when WHMCS cannot tell."""
    try:
        params = bridge.executor.texts.rendered(bridge.api, action.kind, action.params, action.client_id)
    except (BridgeError, WhmcsUnavailableError) as exc:
        log.debug("preview: %s not rendered: %s", action.key, exc)
        return action
    return dataclasses.replace(action, params=params)
