"""The families' states: one JSON document per (family, key), its next deadline, what it refers to
(family_ref) and what it holds (subject_hold, see holds.py). Written by the engine, one decision at a time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Decision, State
from whmcs_bridge.store import holds
from whmcs_bridge.store.db import Database


@dataclass(frozen=True)
class Due:
    """A state whose deadline has come: the engine queues a Tick for it."""

    family: str
    key: str
    due_at: str
    version: int


def load(db: Database, family: str, key: str) -> State:
    """One state; {} when there is none."""
    return get(db, family, key) or {}


def get(db: Database, family: str, key: str) -> State | None:
    row = db.conn.execute("SELECT state FROM family_state WHERE family = ? AND key = ?", (family, key)).fetchone()
    if row is None:
        return None
    state: State = json.loads(row["state"])
    return state


def items(db: Database, family: str, prefix: str = "") -> list[tuple[str, State]]:
    """A family's states whose key starts with `prefix`, least recently changed first."""
    rows = db.conn.execute(
        "SELECT key, state FROM family_state WHERE family = ? AND substr(key, 1, ?) = ? ORDER BY updated_at, key",
        (family, len(prefix), prefix),
    )
    return [(str(r["key"]), json.loads(r["state"])) for r in rows]


def keys(db: Database, families: Sequence[str]) -> list[str]:
    """Every state key of these families."""
    if not families:
        return []
    marks = ",".join("?" * len(families))
    rows = db.conn.execute(f"SELECT DISTINCT key FROM family_state WHERE family IN ({marks})", tuple(families))
    return [str(r["key"]) for r in rows]


def save(db: Database, family: str, key: str, decision: Decision, now: datetime) -> None:
    """Apply one decision (inside the caller's transaction): the state, its references, its holds."""
    if decision.refs is not None or decision.state is None:
        db.conn.execute("DELETE FROM family_ref WHERE family = ? AND key = ?", (family, key))
        db.conn.executemany(
            "INSERT OR IGNORE INTO family_ref (family, ref, key) VALUES (?, ?, ?)",
            [(family, ref, key) for ref in (decision.refs or [])] if decision.state is not None else [],
        )
    if decision.holds is not None or decision.state is None:
        holds.replace(db, family, key, (decision.holds or []) if decision.state is not None else [])
    if decision.state is None:
        db.conn.execute("DELETE FROM family_state WHERE family = ? AND key = ?", (family, key))
        return
    db.conn.execute(
        "INSERT INTO family_state (family, key, state, due_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (family, key) DO UPDATE SET state = excluded.state, due_at = excluded.due_at,"
        " version = family_state.version + 1, updated_at = excluded.updated_at",
        (
            family,
            key,
            json.dumps(decision.state, sort_keys=True, default=str),
            iso(decision.due_at) if decision.due_at else None,
            iso(now),
        ),
    )


def keys_for_refs(db: Database, family: str, refs: Sequence[str]) -> list[str]:
    """The keys of this family whose last decision listed any of these references."""
    if not refs:
        return []
    marks = ",".join("?" * len(refs))
    rows = db.conn.execute(
        f"SELECT DISTINCT key FROM family_ref WHERE family = ? AND ref IN ({marks}) ORDER BY key", (family, *refs)
    )
    return [str(r["key"]) for r in rows]


def referenced_ids(db: Database, prefix: str) -> list[int]:
    """The numbers any family's decisions refer to under `prefix` ("owner:" -> the owner client ids)."""
    rows = db.conn.execute(
        "SELECT DISTINCT substr(ref, ?) AS tail FROM family_ref WHERE substr(ref, 1, ?) = ?",
        (len(prefix) + 1, len(prefix), prefix),
    )
    return sorted(int(r["tail"]) for r in rows if str(r["tail"]).isdigit())


def due(db: Database, now: datetime) -> list[Due]:
    """The states whose deadline is at or before `now`, earliest first."""
    rows = db.conn.execute(
        "SELECT family, key, due_at, version FROM family_state WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at",
        (iso(now),),
    )
    return [Due(str(r["family"]), str(r["key"]), str(r["due_at"]), int(r["version"])) for r in rows]


def next_deadline(db: Database, until: datetime) -> datetime | None:
    """The earliest deadline at or before `until`, if any."""
    row = db.conn.execute(
        "SELECT MIN(due_at) FROM family_state WHERE due_at IS NOT NULL AND due_at <= ?", (iso(until),)
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row[0] else None


def deadlines(db: Database, family: str) -> dict[str, datetime | None]:
    """Each state key of a family and its next deadline (None: no timer)."""
    rows = db.conn.execute("SELECT key, due_at FROM family_state WHERE family = ?", (family,))
    return {str(r["key"]): datetime.fromisoformat(r["due_at"]) if r["due_at"] else None for r in rows}
