"""Resync: a family enabled later, or whose rules changed, is given again the WHMCS facts it needs.

The poller reports each fact once; facts read while a family was off were consumed without it. So the
bridge keeps each enabled family's configuration fingerprint (a poller cursor) and, when it differs,
re-reads that family's facts from WHMCS and stores them as new events (the rules are idempotent on them).
A fresh install needs none: its first poll reports everything. `whmcs-bridge resync` does it on demand."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from datetime import datetime

from whmcs_bridge.clock import iso
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families import FAMILIES, FamilySpec
from whmcs_bridge.health import LAST_SUCCESS
from whmcs_bridge.intake.reread import Source
from whmcs_bridge.model import RESYNC_PREFIX
from whmcs_bridge.store import inbox
from whmcs_bridge.store import poll as poll_store
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.resync")


def with_reader() -> dict[str, FamilySpec]:
    """The families that have facts to re-read (FamilySpec.resync), by name."""
    return {spec.name: spec for spec in FAMILIES if spec.resync}


def fingerprint(config: Config, family: str) -> str:
    section = getattr(config, family)
    text = json.dumps(dataclasses.asdict(section), sort_keys=True, default=str) + config.zone_name
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cursor_name(family: str) -> str:
    return f"resync.{family}.fingerprint"


def enabled_with_reader(config: Config) -> list[str]:
    return [name for name, spec in with_reader().items() if spec.enabled(config)]


def changed(db: Database, config: Config) -> list[str]:
    """Enabled families whose configuration differs from the last one recorded."""
    return [name for name in enabled_with_reader(config) if poll_store.cursor(db, cursor_name(name)) != fingerprint(config, name)]


def remember(db: Database, config: Config, families: list[str], now: datetime) -> None:
    with db.atomic():
        for name in families:
            poll_store.set_cursor(db, cursor_name(name), fingerprint(config, name), now)


def resync(db: Database, api: WhmcsApi, config: Config, family: str, now: datetime) -> tuple[int, int]:
    """Read `family`'s facts from WHMCS and store them as events; (facts read, events stored)."""
    spec = with_reader().get(family)
    if spec is None:
        known = ", ".join(with_reader())
        raise BridgeError(f"{family} has nothing to resync (families with a resync: {known})")
    if not spec.enabled(config):
        raise BridgeError(f"{family} is not enabled ({family}.enabled in {config.source}): nothing to resync")
    run = iso(now)
    read = stored = 0
    # Read everything first: a failing read stores nothing.
    facts = list(spec.resync_reader()(Source(api=api, db=db, config=config, now=now)))
    with db.atomic():
        for key, kind, data in facts:
            read += 1
            body = {"type": kind, "occurred_at": run, "source": {"resync": family}, "data": data}
            if inbox.add(
                db, event_id=f"{RESYNC_PREFIX}{family}:{run}:{key}", type=kind, source="poll", body=body, received_at=now
            ):
                stored += 1
        poll_store.set_cursor(db, cursor_name(family), fingerprint(config, family), now)
    return read, stored


def on_change(db: Database, api: WhmcsApi, config: Config, now: datetime) -> list[str]:
    """Before a poll: resync the families whose configuration changed; lines saying what was done."""
    off = [name for name in with_reader() if name not in enabled_with_reader(config) and poll_store.cursor(db, cursor_name(name))]
    if off:  # a family turned off forgets its fingerprint: turned on again, it is resynced
        with db.atomic():
            for name in off:
                poll_store.set_cursor(db, cursor_name(name), "", now)
    families = changed(db, config)
    if not families:
        return []
    if poll_store.cursor(db, LAST_SUCCESS) is None:  # a fresh install: the first poll reports everything
        remember(db, config, families, now)
        return []
    lines = []
    for family in families:
        read, _ = resync(db, api, config, family, now)
        what = with_reader()[family].resync
        line = f"resync {family}: {read} {what} re-read from WHMCS (it was enabled or its rules changed)"
        log.warning(line)
        lines.append(line)
    return lines
