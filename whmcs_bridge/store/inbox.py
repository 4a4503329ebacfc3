"""The inbox: every event the rules will see, from the PHP hook, the poller, timers, staff commands,
consent pages and the executor's reads. One function adds events; the engine takes them in order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Event
from whmcs_bridge.store.db import Database

Source = Literal["webhook", "poll", "timer", "cli"]

# Events whose `message` is a rendered email (passwords, reset links) and whose `subject` may carry what a person
# typed (a ticket reply's subject, "my new password is ..."): both kept only until the rules decided.
EMAIL_BODIES = {"EmailPreLog"}
# The words of an email event: once decided on, each is kept as its SHA-256 (what the audit can match), never read
# again (the delegate's copy was made from them when the rules decided; its own row keeps what it sends).
EMAIL_WORDS = ("message", "subject")


# Every event that carries words (an email's, a ticket's, a log line naming an email's subject), and which: kept
# only until the rules decided on the event, then each as its SHA-256. The rules kept what they need (a case keeps a
# party's reply with any pasted secret masked); a password a template printed in a subject, or a person typed in a
# ticket, stays nowhere at rest (eighteenth break round).
TICKET_WORDS = ("message", "subject")
WORDS: dict[str, tuple[str, ...]] = {
    "EmailPreLog": EMAIL_WORDS,
    "EmailLogged": ("subject",),
    "ActivityLogged": ("description",),
    **dict.fromkeys(
        ("TicketOpen", "TicketOpenAdmin", "TicketUserReply", "TicketAdminReply", "TicketAddNote"), TICKET_WORDS
    ),
}


def without_message(data: dict[str, Any], names: Sequence[str] = EMAIL_WORDS) -> dict[str, Any]:
    """The event's data with its words (message and subject, or `names`) each replaced by its SHA-256
    (`message_sha256`, `subject_sha256`); the same data (the same object) when there is nothing to scrub."""
    words = {k: v for k in names if isinstance(v := data.get(k), str) and v}
    if not words:
        return data
    hashed = {f"{k}_sha256": hashlib.sha256(v.encode()).hexdigest() for k, v in words.items()}
    return {**data, **dict.fromkeys(words, ""), **hashed}


def scrub_message(db: Database, inbox_id: int, names: Sequence[str] = EMAIL_WORDS) -> None:
    """Nothing secret at rest: once decided on, an event keeps a hash of its words (WORDS), not the words."""
    row = db.conn.execute("SELECT body FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
    body = json.loads(row["body"]) if row else None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return
    scrubbed = without_message(body["data"], names)
    if scrubbed is not body["data"]:
        db.conn.execute("UPDATE inbox SET body = ? WHERE id = ?", (json.dumps({**body, "data": scrubbed}), inbox_id))
        db.scrubbed = True


@dataclass(frozen=True)
class InboxEntry:
    id: int
    event_id: str
    type: str
    source: str
    occurred_at: str | None
    received_at: str
    body: str
    status: str
    error: str | None

    def event(self) -> Event:
        """The event as the pure rules see it: its data, whatever else the body carried."""
        body = json.loads(self.body)
        data = body.get("data") if isinstance(body, dict) else None
        return Event(
            id=self.event_id,
            type=self.type,
            data=data if isinstance(data, dict) else {},
            source=self.source,
            occurred_at=self.occurred_at,
        )


INSERT = "INSERT INTO inbox (event_id, fact, type, source, occurred_at, received_at, body) VALUES "
ROW = "(?, ?, ?, ?, ?, ?, ?)"


def add(
    db: Database,
    *,
    event_id: str,
    type: str,
    source: Source,
    body: Mapping[str, Any] | str,
    received_at: datetime | str,
    occurred_at: str | None = None,
    fact: str | None = None,
) -> bool:
    """Store one event unless its id (or the one-time fact it reports) is already there; True if stored.

    `body` is the event as received (the signed bytes of a webhook, decoded) or a mapping to write as JSON."""
    row = _row(event_id, type, source, body, received_at, occurred_at, fact)
    return db.conn.execute(f"{INSERT}{ROW} ON CONFLICT DO NOTHING", row).rowcount == 1


def add_many(db: Database, events: Sequence[Mapping[str, Any]]) -> list[bool]:
    """add() for several events (each a mapping of add()'s keyword arguments) in one statement: True for
    each one stored. One call into SQLite for a whole batch: the webhook writer's group commit."""
    if not events:
        return []
    rows = [_row(**fields) for fields in events]
    sql = f"{INSERT}{', '.join([ROW] * len(rows))} ON CONFLICT DO NOTHING RETURNING event_id"
    inserted = {r[0] for r in db.conn.execute(sql, [value for row in rows for value in row]).fetchall()}
    stored = []
    for row in rows:  # the same webhook-id twice in one batch: the first is stored, the other a duplicate
        stored.append(row[0] in inserted)
        inserted.discard(row[0])
    return stored


def _row(
    event_id: str,
    type: str,
    source: Source,
    body: Mapping[str, Any] | str,
    received_at: datetime | str,
    occurred_at: str | None = None,
    fact: str | None = None,
) -> tuple[Any, ...]:
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    when = received_at if isinstance(received_at, str) else iso(received_at)
    return (event_id, fact, type, source, occurred_at, when, text)


def pending_ids(db: Database, limit: int) -> list[int]:
    """The oldest pending events first."""
    rows = db.conn.execute("SELECT id FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,))
    return [int(r["id"]) for r in rows]


def pending(db: Database, limit: int) -> list[InboxEntry]:
    """The oldest pending events first, whole: read inside the deciding transaction, one query a batch."""
    rows = db.conn.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
    ).fetchall()
    return [InboxEntry(**dict(r)) for r in rows]


def pending_about(db: Database, type: str, field: str, value: str) -> int:
    """How many events of `type` whose data's `field` is `value` wait for the rules (e.g. an answer to a case)."""
    row = db.conn.execute(
        "SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND type = ? AND json_extract(body, ?) = ?",
        (type, f"$.data.{field}", value),
    ).fetchone()
    return int(row[0])


def about_entries(db: Database, type: str, field: str, value: str | int, status: str = "pending") -> list[InboxEntry]:
    """The events of `type` whose data's `field` is `value` in `status` (waiting for the rules, or `parked`: the rules
    failed on them), oldest first."""
    rows = db.conn.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE status = ? AND type = ? AND json_extract(body, ?) = ? ORDER BY id",
        (status, type, f"$.data.{field}", value),
    ).fetchall()
    return [InboxEntry(**dict(r)) for r in rows]


def pending_count(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM inbox WHERE status = 'pending'").fetchone()[0])


def counts(db: Database) -> dict[str, int]:
    """How many events are in each status (statuses with none are absent)."""
    rows = db.conn.execute("SELECT status, COUNT(*) FROM inbox GROUP BY status ORDER BY status")
    return {str(r[0]): int(r[1]) for r in rows}


def oldest_pending_received_at(db: Database) -> str | None:
    """When the oldest event still waiting for the rules was received; None when none waits."""
    value = db.conn.execute("SELECT MIN(received_at) FROM inbox WHERE status = 'pending'").fetchone()[0]
    return str(value) if value is not None else None


COLUMNS = "id, event_id, type, source, occurred_at, received_at, body, status, error"


def _one(db: Database, column: str, value: object) -> InboxEntry | None:
    row = db.conn.execute(f"SELECT {COLUMNS} FROM inbox WHERE {column} = ?", (value,)).fetchone()
    return InboxEntry(**dict(row)) if row else None


def get(db: Database, inbox_id: int) -> InboxEntry | None:
    return _one(db, "id", inbox_id)


def by_event_id(db: Database, event_id: str) -> InboxEntry | None:
    return _one(db, "event_id", event_id)


def by_fact(db: Database, fact: str) -> InboxEntry | None:
    """The event that reported this one-time fact (e.g. invoice:12:paid), whichever way it came in."""
    return _one(db, "fact", fact)


def entries(db: Database, *, status: str | None = None, type: str | None = None) -> list[InboxEntry]:
    """Events, oldest first, optionally only those of one status or type."""
    rows = db.conn.execute(
        f"SELECT {COLUMNS} FROM inbox WHERE (? IS NULL OR status = ?) AND (? IS NULL OR type = ?) ORDER BY id",
        (status, status, type, type),
    )
    return [InboxEntry(**dict(r)) for r in rows]


def forget_facts(db: Database, facts: Sequence[str]) -> None:
    """The events that reported these one-time facts keep their place but no longer stand for the fact: WHMCS did
    not confirm it when read (Decision.unheard), and the real one, when it comes, must be stored (the poller names
    its events by their fact: that name is freed too)."""
    for fact in facts:
        db.conn.execute("UPDATE inbox SET fact = NULL, event_id = event_id || '#unheard-' || id WHERE fact = ?", (fact,))


def mark_done(db: Database, inbox_id: int, now: datetime) -> None:
    db.conn.execute(
        "UPDATE inbox SET status = 'done', processed_at = ?, error = NULL WHERE id = ?", (iso(now), inbox_id)
    )


def refuse(db: Database, inbox_id: int, now: datetime, error: str) -> None:
    """A staff command the rules refused when they took it (the case changed since the command checked it): done,
    with why, never parked for a retry that would apply it to a case it no longer fits."""
    db.conn.execute(
        "UPDATE inbox SET status = 'done', processed_at = ?, error = ? WHERE id = ?", (iso(now), error, inbox_id)
    )


def park(db: Database, inbox_id: int, now: datetime, error: str) -> None:
    db.conn.execute(
        "UPDATE inbox SET status = 'parked', processed_at = ?, error = ? WHERE id = ?", (iso(now), error, inbox_id)
    )


def requeue(db: Database, inbox_id: int) -> None:
    """A parked event becomes pending again (staff retry it)."""
    db.conn.execute("UPDATE inbox SET status = 'pending', error = NULL WHERE id = ?", (inbox_id,))
