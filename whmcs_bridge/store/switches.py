"""Safety switches (the circuit breaker): a name and a JSON value, present while the switch is on."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.store.db import Database

BREAKER = "breaker"
# The destructive steps staff released with `breaker reset` (ids and clients, by whom, when): they run.
RELEASED = "breaker_released"


def get(db: Database, name: str) -> dict[str, Any] | None:
    """The switch's value while it is on, else None."""
    row = db.conn.execute("SELECT value FROM switches WHERE name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row else None


def turn_on(db: Database, name: str, value: dict[str, Any], now: datetime) -> None:
    """Turn the switch on (or replace its value)."""
    db.conn.execute(
        "INSERT INTO switches (name, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (name, json.dumps(value), iso(now)),
    )


def turn_off(db: Database, name: str) -> bool:
    """Turn the switch off; True if it was on."""
    return db.conn.execute("DELETE FROM switches WHERE name = ?", (name,)).rowcount > 0
