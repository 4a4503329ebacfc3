"""The SQLite store: WAL, migrations recorded once, atomic(), and the hash-chained audit log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from whmcs_bridge.errors import AuditChainError, StoreError
from whmcs_bridge.model import Hold
from whmcs_bridge.store import audit, holds
from whmcs_bridge.store.db import MIGRATIONS, Database


def test_wal_and_migrations_recorded(db: Database):
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.applied_migrations() == [name for name, _ in MIGRATIONS]
    tables = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"inbox", "outbox", "family_state", "poll_cursor", "audit_log", "schema_migrations"} <= tables


def test_migrations_apply_once(tmp_path: Path):
    with Database(tmp_path / "s.db") as first:
        assert first.applied_migrations()
    with Database(tmp_path / "s.db", migrate=False) as again:
        assert again.migrate() == []


def test_newer_database_is_refused(tmp_path: Path):
    with Database(tmp_path / "s.db") as db:
        db.conn.execute("INSERT INTO schema_migrations VALUES ('9999_future', 'x')")
    with pytest.raises(StoreError, match="newer whmcs-bridge"):
        Database(tmp_path / "s.db")


def test_not_a_database(tmp_path: Path):
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        Database(tmp_path / "junk.db")


def test_atomic_rolls_back_and_nests(db: Database):
    with pytest.raises(RuntimeError):
        with db.atomic() as conn:
            conn.execute("INSERT INTO poll_cursor VALUES ('a', '1', 'now')")
            raise RuntimeError("boom")
    assert db.conn.execute("SELECT COUNT(*) FROM poll_cursor").fetchone()[0] == 0
    with db.atomic() as conn:
        conn.execute("INSERT INTO poll_cursor VALUES ('a', '1', 'now')")
        with pytest.raises(RuntimeError):
            with db.atomic() as inner:
                inner.execute("INSERT INTO poll_cursor VALUES ('b', '1', 'now')")
                raise RuntimeError("inner only")
    assert [r[0] for r in db.conn.execute("SELECT name FROM poll_cursor")] == ["a"]


def test_idempotency_lives_in_the_schema(db: Database):
    with db.atomic() as conn:
        conn.execute(
            "INSERT INTO inbox (event_id, type, source, received_at, body) VALUES ('msg_1', 'InvoicePaid', 'webhook', 'now', '{}')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        with db.atomic() as conn:
            conn.execute(
                "INSERT INTO inbox (event_id, type, source, received_at, body) VALUES ('msg_1', 'InvoicePaid', 'webhook', 'now', '{}')"
            )


def fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        audit.append(
            db,
            "escalation.notice_sent",
            client_id=1 + i % 2,
            case_id="case-1" if i % 2 else None,
            detail={"n": i, "amount": "49.95", "text": "héllo"},
        )


def test_chain_verifies_and_links(db: Database):
    fill(db)
    assert audit.verify(db) == 5
    rows = list(audit.entries(db))
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_append_only_triggers(db: Database):
    fill(db, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("DELETE FROM audit_log WHERE id = 1")


def tamper(db: Database, sql: str) -> None:
    """What someone with the database file and plain SQL could do."""
    db.conn.execute("DROP TRIGGER audit_log_no_update")
    db.conn.execute("DROP TRIGGER audit_log_no_delete")
    db.conn.execute(sql)


@pytest.mark.parametrize(
    ("sql", "row", "reason"),
    [
        ('UPDATE audit_log SET detail = \'{"amount":"0.00","n":2,"text":"héllo"}\' WHERE id = 3', 3, "edited"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE id = 2", 2, "edited"),
        ("UPDATE audit_log SET at = '2020-01-01T00:00:00+00:00' WHERE id = 4", 4, "edited"),
        ("DELETE FROM audit_log WHERE id = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE id = 5", 5, "deleted from the end"),
        ("UPDATE audit_log SET detail = 'not json' WHERE id = 1", 1, "not valid JSON"),
    ],
)
def test_tampering_is_found_and_named(db: Database, sql: str, row: int, reason: str):
    fill(db)
    tamper(db, sql)
    with pytest.raises(AuditChainError) as caught:
        audit.verify(db)
    assert caught.value.row_id == row
    assert reason in str(caught.value)


def test_rehashing_an_edited_row_breaks_the_next_link(db: Database):
    fill(db)
    row = db.conn.execute("SELECT * FROM audit_log WHERE id = 2").fetchone()
    content = {
        "id": 2,
        "at": row["at"],
        "actor": "mallory",
        "action": row["action"],
        "client_id": row["client_id"],
        "case_id": row["case_id"],
        "subject": row["subject"],
        "detail": {"amount": "49.95", "n": 1, "text": "héllo"},
    }
    tamper(
        db, f"UPDATE audit_log SET actor = 'mallory', hash = '{audit.row_hash(row['prev_hash'], content)}' WHERE id = 2"
    )
    with pytest.raises(AuditChainError) as caught:
        audit.verify(db)
    assert caught.value.row_id == 3


def test_entries_filters(db: Database):
    fill(db, 6)
    audit.append(db, "delegation.grant_created", client_id=9)
    assert [e.id for e in audit.entries(db, client_id=2)] == [2, 4, 6]
    assert [e.id for e in audit.entries(db, case_id="case-1")] == [2, 4, 6]
    assert [e.id for e in audit.entries(db, action="delegation.")] == [7]
    assert [e.id for e in audit.entries(db, action="escalation.notice_sent", limit=2)] == [5, 6]


def test_append_joins_the_callers_transaction(db: Database):
    with pytest.raises(RuntimeError):
        with db.atomic():
            audit.append(db, "x")
            raise RuntimeError
    assert audit.verify(db) == 0


def test_holds_refuse_changes_until_lifted_or_expired(db: Database):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with db.atomic():
        holds.replace(db, "ownership", "case:o1", [Hold("service:12", "disputed"), Hold("client:5", "disputed")])
        holds.replace(db, "ownership", "case:o2", [Hold("domain:3", "locked", until=now + timedelta(days=1))])
    assert holds.refusal(db, ["service:12"], now) == "disputed"
    assert holds.refusal(db, ["service:13", "client:5"], now) == "disputed"  # the holder's whole account
    assert holds.refusal(db, ["service:13", "client:6"], now) is None
    assert holds.refusal(db, ["domain:3"], now) == "locked"
    assert holds.refusal(db, ["domain:3"], now + timedelta(days=1)) is None  # the lock ended by itself
    assert holds.refusal(db, [], now) is None
    with db.atomic():
        holds.replace(db, "ownership", "case:o1", [])  # the dispute was resolved
    assert holds.refusal(db, ["service:12", "client:5"], now) is None
