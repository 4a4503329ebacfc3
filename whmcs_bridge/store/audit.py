"""The audit log: append-only, each row hash-chained to the one before, and a verifier that names the first break."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import AuditChainError
from whmcs_bridge.store.db import Database

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    client_id: int | None
    case_id: str | None
    subject: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def canonical(content: dict[str, Any]) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8, Decimal/date as strings."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def row_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(content)).encode("utf-8")).hexdigest()


def _content(
    row_id: int,
    at: str,
    actor: str,
    action: str,
    client_id: int | None,
    case_id: str | None,
    subject: str | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": row_id,
        "at": at,
        "actor": actor,
        "action": action,
        "client_id": client_id,
        "case_id": case_id,
        "subject": subject,
        "detail": detail,
    }


def append(
    db: Database,
    action: str,
    *,
    actor: str = "bridge",
    client_id: int | None = None,
    case_id: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
    at: str | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (inside the caller's transaction, if any)."""
    at = at or iso(utcnow())
    # Round-trip the detail so what is stored is exactly what is hashed.
    detail = json.loads(canonical(detail or {}))
    with db.atomic() as conn:
        head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
        last_id, prev = (head["last_id"], head["last_hash"]) if head else (0, GENESIS)
        row_id = last_id + 1
        content = _content(row_id, at, actor, action, client_id, case_id, subject, detail)
        digest = row_hash(prev, content)
        conn.execute(
            "INSERT INTO audit_log (id, at, actor, action, client_id, case_id, subject, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, at, actor, action, client_id, case_id, subject, canonical(detail), prev, digest),
        )
        conn.execute(
            "INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, ?, ?)"
            " ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash",
            (row_id, digest),
        )
    return AuditEntry(row_id, at, actor, action, client_id, case_id, subject, detail, prev, digest)


def _entry(row: sqlite3.Row) -> AuditEntry:
    try:
        detail = json.loads(row["detail"])
    except ValueError:
        detail = {"unparseable": row["detail"]}
    return AuditEntry(**{**_content_of(row, detail), "prev_hash": row["prev_hash"], "hash": row["hash"]})


def _content_of(row: sqlite3.Row, detail: dict[str, Any]) -> dict[str, Any]:
    return _content(
        row["id"], row["at"], row["actor"], row["action"], row["client_id"], row["case_id"], row["subject"], detail
    )


def verify(db: Database) -> int:
    """Recompute the whole chain; return the number of rows, or raise AuditChainError at the first break.
    Rows and head are read in one snapshot: a daemon appending meanwhile is not a broken chain."""
    with db.snapshot():
        return _verify(db)


def _verify(db: Database) -> int:
    prev = GENESIS
    expected_id = 1
    count = 0
    for row in db.conn.execute("SELECT * FROM audit_log ORDER BY id"):
        if row["id"] != expected_id:
            raise AuditChainError(expected_id, f"row {expected_id} is missing (next row is {row['id']})")
        if row["prev_hash"] != prev:
            raise AuditChainError(row["id"], "it does not link to the previous row's hash")
        try:
            detail = json.loads(row["detail"])
        except ValueError:
            raise AuditChainError(row["id"], "its detail is not valid JSON") from None
        content = _content_of(row, detail)
        if canonical(detail) != row["detail"] or row_hash(prev, content) != row["hash"]:
            raise AuditChainError(row["id"], "its content does not match its hash (edited)")
        prev = row["hash"]
        expected_id += 1
        count += 1
    head = db.conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    head_id, head_hash = (head["last_id"], head["last_hash"]) if head else (0, GENESIS)
    if head_id != count or head_hash != prev:
        raise AuditChainError(
            count + 1 if head_id > count else head_id,
            f"the chain head records {head_id} row(s) but {count} remain (rows deleted from the end)",
        )
    return count


def entries(
    db: Database,
    *,
    client_id: int | None = None,
    case_id: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> Iterator[AuditEntry]:
    """Entries oldest first, filtered; `action` matches exactly or as a prefix ending in '.'."""
    where, args = [], []  # type: list[str], list[Any]
    if client_id is not None:
        where.append("client_id = ?")
        args.append(client_id)
    if case_id is not None:
        where.append("case_id = ?")
        args.append(case_id)
    if action is not None:
        where.append("(action = ? OR action LIKE ?)")
        args.extend([action, action.rstrip(".") + ".%"])
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(limit)})"
    sql += " ORDER BY id"
    for row in db.conn.execute(sql, args):
        yield _entry(row)


def raw_rows(db: Database, *, case_id: str, subject: str) -> list[dict[str, Any]]:
    """Every column of the rows of one case (by case id or subject), oldest first, detail parsed: what an
    exported dossier carries so that each row's hash can be recomputed away from the bridge."""
    rows = db.conn.execute(
        "SELECT * FROM audit_log WHERE case_id = ? OR subject = ? ORDER BY id", (case_id, subject)
    ).fetchall()
    return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]


def head(db: Database) -> tuple[int, str] | None:
    """The id and hash of the chain's last row (None while it is empty)."""
    row = db.conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    return (int(row["last_id"]), str(row["last_hash"])) if row else None


def hash_of(db: Database, row_id: int) -> str | None:
    """The stored hash of one row, None if there is no such row."""
    row = db.conn.execute("SELECT hash FROM audit_log WHERE id = ?", (row_id,)).fetchone()
    return str(row["hash"]) if row else None


def recorded(db: Database, action: str, detail_fragment: str) -> bool:
    """Whether a row of this action has a detail containing this exact JSON text."""
    row = db.conn.execute(
        "SELECT 1 FROM audit_log WHERE action = ? AND instr(detail, ?) > 0 LIMIT 1", (action, detail_fragment)
    ).fetchone()
    return row is not None
