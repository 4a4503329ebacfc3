"""Safety switches (the circuit breaker): a name set to a JSON value while the switch is on."""

from __future__ import annotations

import json
from typing import Any

from whmcs_bridge.store.db import Database

BREAKER = "breaker"


def get(db: Database, name: str) -> Any | None:
    """The value of the switch `name` while it is on; None while it is off."""
    row = db.conn.execute("SELECT value FROM switches WHERE name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row else None
