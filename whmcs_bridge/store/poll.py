"""The poller's memory: named cursors (how far each WHMCS list was read, when the last poll ran), the
snapshot of open invoices (to see them paid, cancelled or overdue without asking WHMCS), the last
seen status of tracked clients' services, and the ids seen in each list WHMCS gives in no stated
order (poll_seen). Writes happen inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.store.db import Database


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice as the snapshot last saw it open."""

    id: int
    client_id: int
    duedate: str | None
    total: str


# Written into a backup copy only: actions planned before this instant may have run after the copy was
# made, so once it is restored the executor looks for each in WHMCS before running it.
RESTORED_CURSOR = "backup.made_at"
# When the last poll that read WHMCS through (its tickets with the rest) ran: health.py keeps it; a case's timer
# is told it, as silence is concluded only from a read made after a deadline.
LAST_SUCCESS = "poll.last_run"


def cursor(db: Database, name: str) -> str | None:
    """Where the cursor `name` stands; None before it was first set."""
    row = db.conn.execute("SELECT value FROM poll_cursor WHERE name = ?", (name,)).fetchone()
    return str(row["value"]) if row else None


def set_cursor(db: Database, name: str, value: str, now: datetime) -> None:
    """The cursor `name` now stands at `value`."""
    db.conn.execute(
        "INSERT INTO poll_cursor (name, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (name, value, iso(now)),
    )


def keep_open_invoice(
    db: Database, invoice_id: int, *, client_id: int, duedate: date | None, total: str, now: datetime
) -> None:
    """The invoice is open as of `now`: remember it, or refresh what is remembered of it."""
    db.conn.execute(
        "INSERT INTO poll_open_invoice (id, client_id, duedate, total, seen_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, duedate = excluded.duedate,"
        " total = excluded.total, seen_at = excluded.seen_at",
        (invoice_id, client_id, duedate.isoformat() if duedate else None, total, iso(now)),
    )


def forget_open_invoice(db: Database, invoice_id: int) -> None:
    """The invoice is no longer open (paid, cancelled, refunded or deleted)."""
    db.conn.execute("DELETE FROM poll_open_invoice WHERE id = ?", (invoice_id,))


def open_invoice_ids(db: Database) -> list[int]:
    """The invoices the snapshot holds as open, by id."""
    return [int(r["id"]) for r in db.conn.execute("SELECT id FROM poll_open_invoice ORDER BY id")]


def open_invoices_unseen_since(db: Database, since: datetime) -> list[int]:
    """Open invoices not seen open at or after `since`: a sweep from then on no longer listed them."""
    rows = db.conn.execute("SELECT id FROM poll_open_invoice WHERE seen_at < ? ORDER BY id", (iso(since),))
    return [int(r["id"]) for r in rows]


def overdue_unreported(db: Database, today: date, limit: int) -> list[OpenInvoice]:
    """Open invoices due before `today` whose InvoiceOverdue for that due date is not stored yet, by id."""
    rows = db.conn.execute(
        "SELECT id, client_id, duedate, total FROM poll_open_invoice WHERE duedate < ?"
        " AND (overdue_reported IS NULL OR overdue_reported != duedate) ORDER BY id LIMIT ?",
        (today.isoformat(), limit),
    )
    return [OpenInvoice(int(r["id"]), int(r["client_id"]), r["duedate"], str(r["total"])) for r in rows]


def mark_overdue_reported(db: Database, invoice_ids: Iterable[int]) -> None:
    """The InvoiceOverdue for these invoices' current due date is stored."""
    db.conn.executemany(
        "UPDATE poll_open_invoice SET overdue_reported = duedate WHERE id = ?", [(i,) for i in invoice_ids]
    )


def service_statuses(db: Database, client_id: int) -> dict[int, str]:
    """The status each of a client's services had when last seen, by service id."""
    rows = db.conn.execute("SELECT id, status FROM poll_service WHERE client_id = ?", (client_id,))
    return {int(r["id"]): str(r["status"]) for r in rows}


def clients_with_services_seen(db: Database) -> set[int]:
    """The clients whose services' statuses have been seen at least once."""
    return {int(r["client_id"]) for r in db.conn.execute("SELECT DISTINCT client_id FROM poll_service")}


def first_service_statuses(db: Database, client_id: int, services: list[dict[str, Any]], now: datetime) -> None:
    """Statuses a read of the client found, kept only for services the poller has not seen yet: a first
    baseline (a change since a status already known stays for the poller to report)."""
    known = service_statuses(db, client_id)
    for service in services:
        if int(service["id"]) not in known and service.get("status"):
            keep_service_status(db, int(service["id"]), client_id=client_id, status=str(service["status"]), now=now)


def keep_service_status(db: Database, service_id: int, *, client_id: int, status: str, now: datetime) -> None:
    """The service has this status as of `now`."""
    db.conn.execute(
        "INSERT INTO poll_service (id, client_id, status, seen_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, status = excluded.status,"
        " seen_at = excluded.seen_at",
        (service_id, client_id, status, iso(now)),
    )


def seen_marks(db: Database, listing: str, ids: Iterable[int]) -> dict[int, str]:
    """Of these ids, the ones already seen in `listing`, with the mark each had (e.g. a last reply)."""
    wanted = sorted({int(i) for i in ids})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.conn.execute(
            f"SELECT id, mark FROM poll_seen WHERE list = ? AND id IN ({marks})", (listing, *chunk)
        )
        found.update({int(r["id"]): str(r["mark"]) for r in rows})
    return found


def keep_seen(db: Database, listing: str, items: Iterable[tuple[int, str]], walk: str) -> None:
    """These ids are in `listing` now, with these marks, as seen by `walk`."""
    db.conn.executemany(
        "INSERT INTO poll_seen (list, id, mark, walk) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (list, id) DO UPDATE SET mark = excluded.mark, walk = excluded.walk",
        [(listing, int(i), mark, walk) for i, mark in items],
    )


def seen_count(db: Database, listing: str, walk: str | None = None) -> int:
    """How many ids `listing` holds (only those `walk` saw, when given)."""
    if walk is None:
        row = db.conn.execute("SELECT COUNT(*) FROM poll_seen WHERE list = ?", (listing,)).fetchone()
    else:
        row = db.conn.execute("SELECT COUNT(*) FROM poll_seen WHERE list = ? AND walk = ?", (listing, walk)).fetchone()
    return int(row[0])


def forget_unseen(db: Database, listing: str, walk: str) -> int:
    """A complete walk is over: ids it did not find are gone from WHMCS. Returns how many were forgotten."""
    return db.conn.execute("DELETE FROM poll_seen WHERE list = ? AND walk != ?", (listing, walk)).rowcount
