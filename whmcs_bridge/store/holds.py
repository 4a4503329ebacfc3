"""Subjects held by a family's state (model.Hold): written by the engine with each decision, asked by
any family before it starts a change, so that one family can stop another without either importing it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Hold
from whmcs_bridge.store import seals
from whmcs_bridge.store.db import Database


def replace(db: Database, family: str, key: str, held: Sequence[Hold]) -> None:
    """The holds of one state become exactly `held` (inside the caller's transaction)."""
    db.conn.execute("DELETE FROM subject_hold WHERE family = ? AND key = ?", (family, key))
    db.conn.executemany(
        "INSERT OR REPLACE INTO subject_hold (family, key, subject, reason, until) VALUES (?, ?, ?, ?, ?)",
        [(family, key, h.subject, h.reason, iso(h.until) if h.until else None) for h in held],
    )


def refusal(db: Database, subjects: Iterable[str], now: datetime) -> str | None:
    """Why a change on any of these subjects is refused now, or None."""
    wanted = sorted(set(subjects))
    if not wanted:
        return None
    edited = seals.edited(db)  # the holds are as unkeyed as the states: deleted ones would hold nothing
    if edited:
        return (
            f"the state of {edited}, edited outside the bridge: no change on a held subject until the state is "
            "restored from a backup (check with `whmcs-bridge audit verify`)"
        )
    marks = ",".join("?" * len(wanted))
    row = db.conn.execute(
        f"SELECT reason FROM subject_hold WHERE subject IN ({marks}) AND (until IS NULL OR until > ?)"
        " ORDER BY family, key, subject LIMIT 1",
        (*wanted, iso(now)),
    ).fetchone()
    return str(row["reason"]) if row else None
