"""The outbox: every action the rules planned, in the same transaction as the decision, and what became
of it (planned, awaiting approval, in flight, done, cancelled, rejected, parked)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Action
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database

WAITING = ("awaiting_approval", "parked")  # for a staff decision


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    key: str
    family: str
    kind: str
    client_id: int | None
    subject: str | None
    params: dict[str, Any]
    destructive: bool
    guard: dict[str, Any]
    needs_approval: bool
    status: str
    attempts: int
    not_before: str | None
    started_at: str | None
    finished_at: str | None
    decided_by: str | None
    result: dict[str, Any] | None
    error: str | None
    event_id: str | None
    created_at: str
    updated_at: str


def _entry(row: sqlite3.Row) -> OutboxEntry:
    values = dict(row)
    values["key"] = values.pop("action_key")
    values["params"] = json.loads(values["params"])
    values["guard"] = json.loads(values["guard"] or "{}")
    values["result"] = json.loads(values["result"]) if values["result"] is not None else None
    values["destructive"] = bool(values["destructive"])
    values["needs_approval"] = bool(values["needs_approval"])
    return OutboxEntry(**values)


def enqueue(db: Database, action: Action, *, destructive: bool, event_id: str, now: datetime) -> int | None:
    """Plan one action; an action key already in the outbox is not planned twice. Its row id if planned, else
    None."""
    try:
        cursor = db.conn.execute(
            "INSERT INTO outbox (action_key, family, kind, client_id, subject, params, destructive, guard,"
            " needs_approval, status, not_before, event_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (action_key) DO NOTHING",
            (
                action.key,
                action.family,
                action.kind,
                action.client_id,
                action.subject,
                json.dumps(action.params, sort_keys=True, default=str),
                int(destructive),
                json.dumps(action.guard, sort_keys=True, default=str),
                int(action.needs_approval),
                "awaiting_approval" if action.needs_approval else "planned",
                iso(action.not_before) if action.not_before else None,
                event_id,
                iso(now),
                iso(now),
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise ValueError(f"action {action.key} cannot be planned: {exc}") from None
    return cursor.lastrowid if cursor.rowcount == 1 else None


def get(db: Database, action_id: int) -> OutboxEntry | None:
    row = db.conn.execute("SELECT * FROM outbox WHERE id = ?", (action_id,)).fetchone()
    return _entry(row) if row else None


def by_key(db: Database, key: str) -> OutboxEntry | None:
    row = db.conn.execute("SELECT * FROM outbox WHERE action_key = ?", (key,)).fetchone()
    return _entry(row) if row else None


def opened_ticket(db: Database, ticket_id: int) -> str | None:
    """The key of the bridge's action that opened this WHMCS ticket (its recorded result), or None: a ticket
    action's, or an email's that carried a one-time link to its client alone (executor/one_recipient.py)."""
    row = db.conn.execute(
        "SELECT action_key FROM outbox WHERE kind IN ('ticket', 'email') AND json_extract(result, '$.ticket_id') = ?",
        (ticket_id,),
    ).fetchone()
    return str(row["action_key"]) if row else None


def entries(
    db: Database,
    *,
    family: str | None = None,
    client_id: int | None = None,
    subject: str | None = None,
    statuses: Sequence[str] | None = None,
) -> list[OutboxEntry]:
    """Actions in the order they were planned, filtered by whatever is given."""
    clauses, values = [], []
    for column, value in (("family", family), ("client_id", client_id), ("subject", subject)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    if statuses is not None:
        clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        values.extend(statuses)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return [_entry(r) for r in db.conn.execute(f"SELECT * FROM outbox{where} ORDER BY id", values)]


def counts(db: Database) -> dict[str, int]:
    """How many actions are in each status (statuses with none are absent)."""
    rows = db.conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
    return {str(r[0]): int(r[1]) for r in rows}


def record_decision(db: Database, entry: OutboxEntry, *, approve: bool, by: str, reason: str, now: datetime) -> str:
    """Staff approved (it runs on the next pass) or rejected (it never runs) a waiting action; its new status."""
    status = "planned" if approve else "rejected"
    params = entry.params if approve else kept(db, entry.params)  # rejected: it ended, and keeps no copied email
    db.conn.execute(
        "UPDATE outbox SET status = ?, decided_by = ?, not_before = NULL, error = ?, params = ?, updated_at = ?"
        " WHERE id = ?",
        (status, by, entry.error if approve else f"rejected by {by}: {reason}", _json(params), iso(now), entry.id),
    )
    return status


def withdraw(db: Database, key: str, reason: str, now: datetime) -> OutboxEntry | None:
    """Cancel an action still waiting for a staff decision that its rule no longer wants (its case closed),
    saying why; None when it is not waiting (decided, run or cancelled meanwhile: left as it is)."""
    entry = by_key(db, key)
    if entry is None or entry.status != "awaiting_approval":
        return None
    cursor = db.conn.execute(
        "UPDATE outbox SET status = 'cancelled', error = ?, params = ?, finished_at = ?, updated_at = ?"
        " WHERE id = ? AND status = 'awaiting_approval'",
        (reason, _json(kept(db, entry.params)), iso(now), iso(now), entry.id),
    )
    return entry if cursor.rowcount == 1 else None


# --- the executor's bookkeeping -------------------------------------------------------------------


def due(db: Database, now: datetime, limit: int) -> list[OutboxEntry]:
    """Actions to run now: those found in flight first (to reconcile), then planned ones, oldest first."""
    rows = db.conn.execute(
        "SELECT * FROM outbox WHERE status IN ('in_flight', 'planned') AND (not_before IS NULL OR not_before <= ?)"
        " ORDER BY CASE status WHEN 'in_flight' THEN 0 ELSE 1 END, id LIMIT ?",
        (iso(now), limit),
    )
    return [_entry(r) for r in rows]


def claim(db: Database, entry: OutboxEntry, now: datetime) -> OutboxEntry | None:
    """Take the action to call WHMCS now (committed before the call is made): a compare-and-set on the
    status and attempts read with it, so that an action another process took meanwhile is not taken
    again. The entry as claimed, or None when it was no longer as read."""
    cursor = db.conn.execute(
        "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, started_at = ?, updated_at = ?"
        " WHERE id = ? AND status = ? AND attempts = ?",
        (iso(now), iso(now), entry.id, entry.status, entry.attempts),
    )
    if cursor.rowcount != 1:
        return None
    return replace(entry, status="in_flight", attempts=entry.attempts + 1, started_at=iso(now), updated_at=iso(now))


def set_params(db: Database, entry: OutboxEntry, params: dict[str, Any]) -> None:
    """Keep what an action will send (its message rendered at its first try) with the action."""
    db.conn.execute(
        "UPDATE outbox SET params = ? WHERE id = ?", (_json(params), entry.id)
    )


def release(db: Database, entry: OutboxEntry, until: datetime, error: str, now: datetime) -> bool:
    """Give back a claimed action whose call never reached WHMCS: planned again, not before `until`, as
    if this attempt had not been made (so it is run, not reconciled). False if it changed meanwhile."""
    cursor = db.conn.execute(
        "UPDATE outbox SET status = 'planned', attempts = attempts - 1, not_before = ?, error = ?, updated_at = ?"
        " WHERE id = ? AND status = 'in_flight' AND attempts = ?",
        (iso(until), error, iso(now), entry.id, entry.attempts),
    )
    return cursor.rowcount == 1


def defer(db: Database, entry: OutboxEntry, until: datetime, error: str, now: datetime) -> bool:
    """Try (or reconcile) again no earlier than `until`, saying why; False if the action changed meanwhile."""
    cursor = db.conn.execute(
        "UPDATE outbox SET not_before = ?, error = ?, updated_at = ? WHERE id = ? AND status = ? AND attempts = ?",
        (iso(until), error, iso(now), entry.id, entry.status, entry.attempts),
    )
    return cursor.rowcount == 1


# Action parameters that carry a copy of an email (a delegate's copy): kept until the action ended.
EMAIL_COPY = "original_html"
# A delegate's copy keeps the subject of the email it copies until it is sent (executor/guards.py rendered_from).
LOGGED_SUBJECT = "logged_subject"


def at_rest(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as they may be kept for good (the audit chain, a finished action): a copied email, its body
    and its subject, each replaced by its SHA-256 and length, since either may print credentials (a ticket's
    subject a person typed a password into: twenty-third break round, delegation MEDIUM 4)."""
    # Before rendering, the copy is `original_html`; rendered, it is the end of `html` (executor/texts.py).
    if isinstance(params.get(LOGGED_SUBJECT), str):  # the copied email's subject as WHMCS logged it
        params = {**params, LOGGED_SUBJECT: _digest(params[LOGGED_SUBJECT])}
    field = EMAIL_COPY if isinstance(params.get(EMAIL_COPY), str) else "html"
    text = params.get(field) if field == EMAIL_COPY or params.get("copy_of_email") else None
    if not isinstance(text, str):
        return params
    rest = {**params, field: _digest(text)}
    if isinstance(params.get("subject"), str):
        rest["subject"] = _digest(params["subject"])
    msg = params.get("msg")
    if isinstance(msg, dict) and isinstance(msg.get("data"), dict) and isinstance(msg["data"].get("subject"), str):
        rest["msg"] = {**msg, "data": {**msg["data"], "subject": _digest(msg["data"]["subject"])}}
    return rest


def _digest(text: str) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}


def _json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def kept(db: Database, params: dict[str, Any]) -> dict[str, Any]:
    """An ended action's parameters as the store keeps them (at_rest), marking the database for its log to be
    written back when a copied email was dropped (Database.forget_scrubbed)."""
    rest = at_rest(params)
    if rest is not params:
        db.scrubbed = True
    return rest


def record_outcome(
    db: Database, entry: OutboxEntry, status: str, now: datetime, *, result: dict[str, Any] | None, error: str | None
) -> bool:
    """How the action ended: done, cancelled (a guard), or parked (for staff). A compare-and-set like
    claim(): False when another process changed the action since it was read (nothing is written)."""
    # Parked actions may run again; any other outcome is final, and keeps no copied email.
    params = entry.params if status == "parked" else kept(db, entry.params)
    cursor = db.conn.execute(
        "UPDATE outbox SET status = ?, params = ?, result = ?, error = ?, finished_at = ?, updated_at = ?"
        " WHERE id = ? AND status = ? AND attempts = ?",
        (
            status,
            json.dumps(params),
            json.dumps(result) if result is not None else None,
            error,
            iso(now),
            iso(now),
            entry.id,
            entry.status,
            entry.attempts,
        ),
    )
    if cursor.rowcount == 1 and status in ("done", "cancelled"):
        wake_followers(db, entry.key, now)
    return cursor.rowcount == 1


def wake_followers(db: Database, key: str, now: datetime) -> None:
    """The planned actions deferred while this one had not ended (guard `after_steps`: looked at again only every so
    often, store_guards.RECHECK) are due now: a note that follows a step found done after an interruption is written
    on the next pass, not a quarter of an hour later (fourteenth break round G14). Only that wait is cut short (the
    executor wrote why it waits); their guards and waits are asked again when they come up."""
    db.conn.execute(
        "UPDATE outbox SET not_before = ?, updated_at = ? WHERE status = 'planned' AND not_before > ?"
        " AND error LIKE 'waits until % for the steps it follows %' AND guard LIKE ?",
        (iso(now), iso(now), iso(now), f'%"{key}"%'),
    )


def report_outcome(db: Database, entry: OutboxEntry, status: str, now: datetime, **detail: Any) -> None:
    """An action that asks for it (`outcome_to` in its params) has how it ended (done, cancelled, rejected; and
    parked, with `tell_parked`) told to its family as an event, with its `outcome_facts`, in the caller's
    transaction (e.g. a ladder stage is done when its waiting steps have ended)."""
    kind = entry.params.get("outcome_to")
    if not kind:
        return
    data = {
        "client_id": entry.client_id,
        "subject": entry.subject,  # what the action is about: the family routes the event by it
        "action_key": entry.key,
        "status": status,
        "at": iso(now),
        **(entry.params.get("outcome_facts") or {}),  # what the rule asked to hear back with it
        **detail,
    }
    inbox.add(
        db,
        event_id=f"outcome:{entry.key}:{status}",
        type=str(kind),
        source="poll",
        body={"type": kind, "occurred_at": iso(now), "source": {"outcome": entry.key}, "data": data},
        occurred_at=iso(now),
        received_at=now,
    )


def destructive_clients(db: Database, now: datetime) -> tuple[set[int], set[int]]:
    """(the clients hit by a destructive action done in the hour before `now`, the clients with a
    destructive action due now): the circuit breaker counts clients, not actions."""
    ran = db.conn.execute(
        "SELECT DISTINCT COALESCE(client_id, -id) FROM outbox WHERE destructive = 1 AND status = 'done'"
        " AND finished_at > ?",
        (iso(now - timedelta(hours=1)),),
    ).fetchall()
    due_now = db.conn.execute(
        "SELECT DISTINCT COALESCE(client_id, -id) FROM outbox WHERE destructive = 1 AND status IN ('planned', 'in_flight')"
        " AND (not_before IS NULL OR not_before <= ?)",
        (iso(now),),
    ).fetchall()
    return {int(r[0]) for r in ran}, {int(r[0]) for r in due_now}


def held_destructive(db: Database, now: datetime) -> list[OutboxEntry]:
    """Destructive actions due now that have not run: what the breaker holds."""
    rows = db.conn.execute(
        "SELECT * FROM outbox WHERE destructive = 1 AND status = 'planned' AND (not_before IS NULL OR not_before <= ?)"
        " ORDER BY id",
        (iso(now),),
    )
    return [_entry(r) for r in rows]


def waiting_for_approval(db: Database, keys: Sequence[str]) -> bool:
    """Whether any of these actions still waits for a staff decision on its approval."""
    if not keys:
        return False
    marks = ",".join("?" * len(keys))
    row = db.conn.execute(
        f"SELECT COUNT(*) FROM outbox WHERE status = 'awaiting_approval' AND action_key IN ({marks})", list(keys)
    ).fetchone()
    return bool(row[0])


def awaiting_approval_since(db: Database) -> list[str]:
    """When each action waiting for staff approval started waiting (its last change), oldest first."""
    rows = db.conn.execute("SELECT updated_at FROM outbox WHERE status = 'awaiting_approval' ORDER BY updated_at")
    return [str(r[0]) for r in rows]
