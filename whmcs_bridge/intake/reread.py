"""What a family's resync reader is given, and what it yields: the WHMCS facts the family needs, read again.

A reader (`read` in whmcs_bridge/families/<name>/resync.py) reads WHMCS now, and the store where it must
know what the family already holds, and yields facts as the poller reports them; whmcs_bridge/resync.py
stores them as events for that family alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

# (key, event type, data): the key names the fact within one resync (its event id), the type and data
# are those of the poller's or the executor's event for the same fact.
Fact = tuple[str, str, dict[str, Any]]
Facts = Iterator[Fact]


@dataclass(frozen=True)
class Source:
    api: WhmcsApi
    db: Database
    config: Config
    now: datetime

    @property
    def today(self) -> date:
        """Today in the configured timezone (WHMCS's due dates are its wall clock's dates)."""
        return self.now.astimezone(self.config.zone).date()
