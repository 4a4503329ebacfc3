"""The SQLite store: WAL, migrations recorded once, atomic(), and the hash-chained audit log."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import sql
from whmcs_bridge.errors import AuditChainError, StoreError
from whmcs_bridge.model import Decision, Hold
from whmcs_bridge.store import audit, holds, inbox, states, switches
from whmcs_bridge.store.db import BUSY_TIMEOUT_S, MIGRATIONS, Database, WriteGate, write_gate
from whmcs_bridge.store.writer import InboxWriter

NOW = "2026-11-25T10:00:00+00:00"


def test_wal_and_migrations_recorded(db: Database):
    assert sql(db, "PRAGMA journal_mode")[0][0] == "wal"
    assert db.applied_migrations() == [name for name, _ in MIGRATIONS]
    tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"inbox", "outbox", "family_state", "poll_cursor", "audit_log", "schema_migrations"} <= tables


def test_migrations_apply_once(tmp_path: Path):
    with Database(tmp_path / "s.db") as first:
        assert first.applied_migrations()
    with Database(tmp_path / "s.db", migrate=False) as again:
        assert again.migrate() == []


def test_newer_database_is_refused(tmp_path: Path):
    with Database(tmp_path / "s.db") as db:
        sql(db, "INSERT INTO schema_migrations VALUES ('9999_future', 'x')")
    with pytest.raises(StoreError, match="newer whmcs-bridge"):
        Database(tmp_path / "s.db")


def test_not_a_database(tmp_path: Path):
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable whmcs-bridge state database"):
        Database(tmp_path / "junk.db")


def test_atomic_rolls_back_and_nests(db: Database):
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with pytest.raises(RuntimeError):
        with db.atomic():
            switches.turn_on(db, "a", {}, now)
            raise RuntimeError("boom")
    assert switches.get(db, "a") is None
    with db.atomic():
        switches.turn_on(db, "a", {}, now)
        with pytest.raises(RuntimeError):
            with db.atomic():
                switches.turn_on(db, "b", {}, now)
                raise RuntimeError("inner only")
    assert switches.get(db, "a") == {} and switches.get(db, "b") is None


def test_idempotency_lives_in_the_schema(db: Database):
    event: dict[str, Any] = {
        "event_id": "msg_1",
        "type": "InvoicePaid",
        "source": "webhook",
        "body": "{}",
        "received_at": "now",
    }
    with db.atomic():
        assert inbox.add(db, **event)
    with db.atomic():
        assert not inbox.add(db, **event)  # the unique event id, not the caller, refuses the second
        assert inbox.add(db, **{**event, "event_id": "msg_2"})
    with db.atomic():
        assert inbox.add(db, **{**event, "event_id": "msg_3", "fact": "invoice:1:paid"})
        assert not inbox.add(db, **{**event, "event_id": "msg_4", "fact": "invoice:1:paid"})  # the same fact
    assert [e.event_id for e in inbox.entries(db)] == ["msg_1", "msg_2", "msg_3"]


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
        sql(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sql(db, "DELETE FROM audit_log WHERE id = 1")


def tamper(db: Database, statement: str) -> None:
    """What someone with the database file and plain SQL could do."""
    sql(db, "DROP TRIGGER audit_log_no_update")
    sql(db, "DROP TRIGGER audit_log_no_delete")
    sql(db, statement)


@pytest.mark.parametrize(
    ("statement", "row", "reason"),
    [
        ('UPDATE audit_log SET detail = \'{"amount":"0.00","n":2,"text":"héllo"}\' WHERE id = 3', 3, "edited"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE id = 2", 2, "edited"),
        ("UPDATE audit_log SET at = '2020-01-01T00:00:00+00:00' WHERE id = 4", 4, "edited"),
        ("DELETE FROM audit_log WHERE id = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE id = 5", 5, "deleted from the end"),
        ("UPDATE audit_log SET detail = 'not json' WHERE id = 1", 1, "not valid JSON"),
    ],
)
def test_tampering_is_found_and_named(db: Database, statement: str, row: int, reason: str):
    fill(db)
    tamper(db, statement)
    with pytest.raises(AuditChainError) as caught:
        audit.verify(db)
    assert caught.value.row_id == row
    assert reason in str(caught.value)


def test_rehashing_an_edited_row_breaks_the_next_link(db: Database):
    fill(db)
    row = next(e for e in audit.entries(db) if e.id == 2)
    content = {
        "id": 2,
        "at": row.at,
        "actor": "mallory",
        "action": row.action,
        "client_id": row.client_id,
        "case_id": row.case_id,
        "subject": row.subject,
        "detail": {"amount": "49.95", "n": 1, "text": "héllo"},
    }
    tamper(
        db, f"UPDATE audit_log SET actor = 'mallory', hash = '{audit.row_hash(row.prev_hash, content)}' WHERE id = 2"
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


def test_the_inbox_writer_commits_what_waits_together(tmp_path: Path):
    """While a commit waits (here: another connection holds the write lock), events queue up; they then
    go in together, one transaction for all of them, and every caller learns its own outcome."""
    path = tmp_path / "state.db"
    Database(path).close()
    writer = InboxWriter(path)
    outcomes: list[tuple[str, bool]] = []

    def add(event_id: str) -> None:
        outcomes.append(
            (
                event_id,
                writer.add(
                    event_id=event_id,
                    type="InvoicePaid",
                    source="webhook",
                    body="{}",
                    received_at="2026-11-25T10:00:00+00:00",
                ),
            )
        )

    with Database(path, migrate=False) as blocker:
        with blocker.atomic():  # holds the write lock
            threads = [threading.Thread(target=add, args=(f"msg_{n % 20}",)) for n in range(25)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while writer._queue.qsize() < 24 and time.monotonic() < deadline:  # the first is in its commit
                time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=30)
    writer.close()
    assert writer.commits == 2
    assert len(outcomes) == 25 and sum(stored for _, stored in outcomes) == 20  # five were sent twice
    assert {event_id for event_id, stored in outcomes if stored} == {f"msg_{n}" for n in range(20)}
    with Database(path, migrate=False) as db:
        assert len(inbox.entries(db)) == 20  # five were the same webhook-id again: stored once


def test_add_many_stores_each_event_once_by_id_and_by_fact(db: Database):
    """One statement for a batch: an id or a one-time fact already stored, or repeated within the batch,
    is a duplicate; the answers come back in the batch's order."""
    with db.atomic():
        inbox.add(
            db, event_id="old", type="InvoicePaid", source="poll", body="{}", received_at=NOW, fact="invoice:1:paid"
        )
    batch = [
        {
            "event_id": "a",
            "type": "InvoicePaid",
            "source": "webhook",
            "body": "{}",
            "received_at": NOW,
            "fact": "invoice:1:paid",
        },
        {
            "event_id": "b",
            "type": "InvoicePaid",
            "source": "webhook",
            "body": "{}",
            "received_at": NOW,
            "fact": "invoice:2:paid",
        },
        {"event_id": "old", "type": "InvoicePaid", "source": "webhook", "body": "{}", "received_at": NOW},
        {"event_id": "b", "type": "InvoicePaid", "source": "webhook", "body": "{}", "received_at": NOW},
        {
            "event_id": "c",
            "type": "InvoicePaid",
            "source": "webhook",
            "body": "{}",
            "received_at": NOW,
            "fact": "invoice:2:paid",
        },
    ]
    with db.atomic():
        assert inbox.add_many(db, batch) == [False, True, False, False, False]
    assert [e.event_id for e in inbox.entries(db)] == ["old", "b"]


def test_threads_of_one_process_take_turns_at_writing_in_arrival_order(tmp_path: Path):
    """The write gate: a thread that waits for the engine's transaction gets the next turn, in the order
    the threads came (SQLite's own busy handler sleeps and polls, and a writer that keeps coming back
    can win every time); one that gives up waiting passes its turn on."""
    path = tmp_path / "state.db"
    with Database(path) as first, Database(path, migrate=False) as second, Database(path, migrate=False) as third:
        order: list[str] = []
        gate = write_gate(path, BUSY_TIMEOUT_S)

        def write(db: Database, name: str) -> None:
            with db.atomic():
                order.append(name)

        with first.atomic():
            waiting = [
                threading.Thread(target=write, args=(db, name)) for db, name in ((second, "second"), (third, "third"))
            ]
            for thread in waiting:
                thread.start()
                deadline = time.monotonic() + 10
                while gate._next < 2 + waiting.index(thread) and time.monotonic() < deadline:
                    time.sleep(0.005)
            order.append("first")
        for thread in waiting:
            thread.join(timeout=10)
        assert order == ["first", "second", "third"]

    impatient = WriteGate(timeout_s=0.05)
    impatient.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        impatient.acquire()  # gives up: its turn is skipped
    impatient.release()
    impatient.acquire()  # the next caller is not left waiting for the one that gave up
    impatient.release()


def test_audit_verify_beside_a_writer_sees_one_snapshot(tmp_path: Path):
    """Found by the backup test: verify read the rows, then the head, while the daemon appended between."""
    with Database(tmp_path / "state.db") as db:
        for n in range(200):
            audit.append(db, "test.seed", detail={"n": n})
    stop = threading.Event()

    def writer() -> None:
        with Database(tmp_path / "state.db") as other:
            while not stop.is_set():
                audit.append(other, "test.concurrent", detail={"at": "now"})

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with Database(tmp_path / "state.db") as reader:
            counts = [audit.verify(reader) for _ in range(60)]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert counts == sorted(counts) and counts[0] >= 200


def test_the_lock_file_is_private(tmp_path: Path):
    """Created 0600 like the database, whatever the umask (a root `tick` left it 0644; a break test)."""
    from whmcs_bridge.store.lease import Lease

    old = os.umask(0o022)
    try:
        with Lease(tmp_path / "state.db", "test") as lease:
            assert stat.S_IMODE(lease.path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_deadline_in_another_zone_is_due_at_its_instant(db: Database):
    """Eighth break round, M1: a grant ending at 23:59:59 Paris (22:59:59Z) was stored as "...23:59:59+01:00" and
    compared as text with UTC instants, so it fired an hour late (seven in Jakarta). Instants are stored in UTC;
    a database written before keeps its deadlines, rewritten in UTC by a migration."""
    paris = datetime(2026, 12, 5, 23, 59, 59, tzinfo=ZoneInfo("Europe/Paris"))
    with db.atomic():
        states.save(db, "delegation", "grant:1", Decision(state={"n": 1}, due_at=paris), datetime.now(UTC))
    assert [d.key for d in states.due(db, datetime(2026, 12, 5, 23, 30, tzinfo=UTC))] == ["grant:1"]
    assert not states.due(db, datetime(2026, 12, 5, 22, 59, 58, tzinfo=UTC))
    sql(db, "UPDATE family_state SET due_at = '2026-12-05T23:59:59+07:00'")  # as an earlier version wrote it
    sql(db, "DELETE FROM schema_migrations WHERE name = ?", "0006_instants_utc")  # the migration that rewrites them
    db.migrate()
    assert [d.due_at for d in states.due(db, datetime(2026, 12, 5, 17, 0, tzinfo=UTC))] == ["2026-12-05T16:59:59+00:00"]
