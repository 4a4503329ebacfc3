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
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.health import LAST_SUCCESS
from whmcs_bridge.store import inbox
from whmcs_bridge.store import poll as poll_store
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.resync")

OPEN_STATUSES = ("Unpaid", "Collections")
Facts = Iterator[tuple[str, str, dict[str, Any]]]  # (key, event type, data)


def overdue_invoices(api: WhmcsApi, today: date) -> Facts:
    """Escalation's facts: every open invoice past its due date, as the poller reports it."""
    for status in OPEN_STATUSES:
        for invoice in api.invoices(status=status):
            if invoice.duedate is not None and invoice.duedate < today:
                data = {
                    "invoiceid": invoice.id,
                    "userid": invoice.client_id,
                    "duedate": invoice.duedate.isoformat(),
                    "total": str(invoice.total),
                }
                yield f"invoice:{invoice.id}", "InvoiceOverdue", data


# What each family needs read again, and how it is described. Families without a reader keep no
# history a resync could restore (delegation grants and ownership cases start from staff commands).
READERS: dict[str, tuple[str, Callable[[WhmcsApi, date], Facts]]] = {
    "escalation": ("open overdue invoice(s)", overdue_invoices),
}


def fingerprint(config: Config, family: str) -> str:
    section = getattr(config, family)
    text = json.dumps(dataclasses.asdict(section), sort_keys=True, default=str) + config.zone_name
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cursor_name(family: str) -> str:
    return f"resync.{family}.fingerprint"


def enabled_with_reader(config: Config) -> list[str]:
    return [spec.name for spec in FAMILIES if spec.enabled(config) and spec.name in READERS]


def changed(db: Database, config: Config) -> list[str]:
    """Enabled families whose configuration differs from the last one recorded."""
    return [name for name in enabled_with_reader(config) if poll_store.cursor(db, cursor_name(name)) != fingerprint(config, name)]


def remember(db: Database, config: Config, families: list[str], now: datetime) -> None:
    with db.atomic():
        for name in families:
            poll_store.set_cursor(db, cursor_name(name), fingerprint(config, name), now)


def resync(db: Database, api: WhmcsApi, config: Config, family: str, now: datetime) -> tuple[int, int]:
    """Read `family`'s facts from WHMCS and store them as events; (facts read, events stored)."""
    if family not in READERS:
        known = ", ".join(READERS)
        raise BridgeError(f"{family} has nothing to resync (families with a resync: {known})")
    if family not in enabled_with_reader(config):
        raise BridgeError(f"{family} is not enabled ({family}.enabled in {config.source}): nothing to resync")
    _, reader = READERS[family]
    today = now.astimezone(config.zone).date()
    run = iso(now)
    read = stored = 0
    facts = list(reader(api, today))  # read everything first: a failing read stores nothing
    with db.atomic():
        for key, kind, data in facts:
            read += 1
            body = {"type": kind, "occurred_at": run, "source": {"resync": family}, "data": data}
            if inbox.add(
                db, event_id=f"resync:{family}:{run}:{key}", type=kind, source="poll", body=body, received_at=now
            ):
                stored += 1
        poll_store.set_cursor(db, cursor_name(family), fingerprint(config, family), now)
    return read, stored


def on_change(db: Database, api: WhmcsApi, config: Config, now: datetime) -> list[str]:
    """Before a poll: resync the families whose configuration changed; lines saying what was done."""
    off = [name for name in READERS if name not in enabled_with_reader(config) and poll_store.cursor(db, cursor_name(name))]
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
        what = READERS[family][0]
        line = f"resync {family}: {read} {what} re-read from WHMCS (it was enabled or its rules changed)"
        log.warning(line)
        lines.append(line)
    return lines
