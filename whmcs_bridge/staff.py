"""Staff decisions recorded in the store: approvals of held actions, parked events, the breaker switch."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from whmcs_bridge import families
from whmcs_bridge.clock import iso
from whmcs_bridge.config.load import Config
from whmcs_bridge.engine import Engine
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


def states(db: Database, family: str, prefix: str) -> list[dict[str, Any]]:
    """A family's states whose key starts with `prefix` (e.g. every "case:"), oldest change first."""
    rows = db.conn.execute(
        "SELECT state FROM family_state WHERE family = ? AND substr(key, 1, ?) = ? ORDER BY updated_at",
        (family, len(prefix), prefix),
    )
    return [json.loads(r["state"]) for r in rows]


def state(db: Database, family: str, key: str, missing: str) -> dict[str, Any]:
    """One family state; `missing` is the error when there is none."""
    row = db.conn.execute("SELECT state FROM family_state WHERE family = ? AND key = ?", (family, key)).fetchone()
    if row is None:
        raise BridgeError(missing)
    found: dict[str, Any] = json.loads(row["state"])
    return found


def awaiting(db: Database) -> list[dict[str, Any]]:
    """Actions waiting for a staff decision: those that need approval, and parked ones."""
    rows = db.conn.execute(
        "SELECT id, action_key, family, kind, client_id, subject, params, status, error, created_at FROM outbox"
        " WHERE status IN ('awaiting_approval', 'parked') ORDER BY id"
    ).fetchall()
    return [{**dict(r), "params": json.loads(r["params"])} for r in rows]


def decide(db: Database, action_id: int, *, approve: bool, by: str, reason: str, now: datetime) -> dict[str, Any]:
    """Approve (the action runs on the next pass) or reject (it never runs) one held or parked action."""
    if not by.strip():
        raise BridgeError("say who decides (--by NAME): approvals are recorded in the audit chain")
    with db.atomic() as conn:
        row = conn.execute("SELECT * FROM outbox WHERE id = ?", (action_id,)).fetchone()
        if row is None:
            raise BridgeError(f"there is no action {action_id}; `whmcs-bridge approvals list` shows the waiting ones")
        if row["status"] not in ("awaiting_approval", "parked"):
            raise BridgeError(f"action {action_id} is {row['status']}, not waiting for a decision")
        status = "planned" if approve else "rejected"
        conn.execute(
            "UPDATE outbox SET status = ?, decided_by = ?, not_before = NULL, error = ?, updated_at = ? WHERE id = ?",
            (status, by, row["error"] if approve else f"rejected by {by}: {reason}", iso(now), action_id),
        )
        audit.append(
            db,
            "staff.approved" if approve else "staff.rejected",
            actor=f"staff:{by}",
            client_id=row["client_id"],
            subject=row["subject"],
            detail={
                "action": action_id,
                "key": row["action_key"],
                "kind": row["kind"],
                "reason": reason,
                "was": row["status"],
            },
            at=iso(now),
        )
    return {"id": action_id, "key": row["action_key"], "status": status}


def parked_events(db: Database) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in db.conn.execute(
            "SELECT id, event_id, type, source, received_at, error FROM inbox WHERE status = 'parked' ORDER BY id"
        )
    ]


def retry_event(db: Database, inbox_id: int, *, by: str, now: datetime) -> None:
    with db.atomic() as conn:
        row = conn.execute("SELECT * FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        if row is None or row["status"] != "parked":
            raise BridgeError(f"event {inbox_id} is not parked; `whmcs-bridge events parked` lists the parked ones")
        conn.execute("UPDATE inbox SET status = 'pending', error = NULL WHERE id = ?", (inbox_id,))
        audit.append(
            db,
            "staff.event_retried",
            actor=f"staff:{by}",
            subject=f"event:{row['event_id']}",
            detail={"type": row["type"], "error": row["error"]},
            at=iso(now),
        )


def submit(
    db: Database,
    config: Config,
    kind: str,
    data: dict[str, Any],
    *,
    by: str,
    client_id: int | None,
    now: datetime,
    case_id: str | None = None,
) -> None:
    """A staff command goes through the inbox like any event, so the rules decide and the audit chain
    records it; the engine runs at once so it takes effect now (actions follow on the next pass)."""
    body = json.dumps({"type": kind, "occurred_at": iso(now), "data": data})
    with db.atomic() as conn:
        conn.execute(
            "INSERT INTO inbox (event_id, type, source, occurred_at, received_at, body) VALUES (?, ?, 'cli', ?, ?, ?)",
            (f"cli:{uuid.uuid4().hex}", kind, iso(now), iso(now), body),
        )
        audit.append(
            db,
            f"staff.{kind}.{data.get('command')}",
            actor=f"staff:{by}",
            client_id=client_id,
            case_id=case_id,
            detail=data,
            at=iso(now),
        )
    Engine(db, families.enabled(config)).run_once(now)
