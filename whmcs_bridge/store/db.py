"""The SQLite connection: WAL, busy timeout, one atomic() helper and ordered, recorded migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from whmcs_bridge import permissions
from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import EnvironmentProblem, StoreError
from whmcs_bridge.store import chain_head

if TYPE_CHECKING:
    from whmcs_bridge.evidence.keys import KeyPin, KeyProblem, SigningKey

# Each migration is applied in the same transaction as its record in schema_migrations.
# Append only: never edit a migration that has shipped.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            -- The one-time fact an event reports (e.g. invoice:12:paid), the same whether it came
            -- from the PHP hook or the poller, so the two dedupe each other. NULL for repeatable facts.
            fact TEXT UNIQUE,
            type TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('webhook', 'poll', 'timer', 'cli')),
            occurred_at TEXT,
            received_at TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'parked')),
            error TEXT,
            processed_at TEXT
        );
        CREATE INDEX inbox_pending ON inbox (status, id);

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            action_key TEXT NOT NULL UNIQUE,
            family TEXT NOT NULL,
            kind TEXT NOT NULL,
            client_id INTEGER,
            subject TEXT,
            params TEXT NOT NULL,
            destructive INTEGER NOT NULL DEFAULT 0,
            guard TEXT,
            needs_approval INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN (
                'planned', 'awaiting_approval', 'in_flight', 'done', 'cancelled', 'rejected', 'parked')),
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            started_at TEXT,
            finished_at TEXT,
            decided_by TEXT,
            result TEXT,
            error TEXT,
            event_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_due ON outbox (status, not_before, id);

        CREATE TABLE family_state (
            family TEXT NOT NULL,
            key TEXT NOT NULL,
            state TEXT NOT NULL,
            due_at TEXT,
            -- Bumped by every decision: a timer tick names the version it is for, so two deadlines
            -- at the same instant (a stage 0 days after another) are two ticks, not one.
            version INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (family, key)
        );
        CREATE INDEX family_state_due ON family_state (due_at);

        -- What a family's state is about (e.g. invoice:12 -> client 1), so an event that names only
        -- an invoice reaches the right state. Rewritten with each decision.
        CREATE TABLE family_ref (
            family TEXT NOT NULL,
            ref TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (family, ref, key)
        );
        CREATE INDEX family_ref_key ON family_ref (family, key);

        -- One-time consent links: only the SHA-256 of the token is kept; the raw token exists only in
        -- the email that carries it.
        CREATE TABLE consent_link (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            purpose TEXT NOT NULL,
            subject TEXT NOT NULL,
            summary TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            used_at TEXT,
            decision TEXT,
            ip TEXT,
            user_agent TEXT
        );

        -- Safety switches (the circuit breaker): name -> JSON value.
        CREATE TABLE switches (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        -- The poller's snapshot of open invoices, to see payments and cancellations it was not told about.
        CREATE TABLE poll_open_invoice (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL,
            duedate TEXT,
            total TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            overdue_reported TEXT  -- the due date an InvoiceOverdue was last stored for
        );
        CREATE INDEX poll_open_invoice_client ON poll_open_invoice (client_id);

        -- The status of the services of clients the rules track, to report changes made by hand.
        CREATE TABLE poll_service (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL,
            status TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX poll_service_client ON poll_service (client_id);

        CREATE TABLE poll_cursor (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            client_id INTEGER,
            case_id TEXT,
            subject TEXT,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        );
        CREATE INDEX audit_client ON audit_log (client_id, id);
        CREATE INDEX audit_case ON audit_log (case_id, id);

        -- The head of the chain: lets verify notice rows deleted from the end.
        CREATE TABLE audit_head (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            last_id INTEGER NOT NULL,
            last_hash TEXT NOT NULL
        );

        -- Append-only: plain UPDATE and DELETE are refused (verify still catches a determined edit).
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    ),
    (
        "0002_subject_hold",
        """
        -- Subjects a family's state holds (an ownership dispute or lock): other families refuse to
        -- start a change on them. Rewritten with each decision that states its holds.
        CREATE TABLE subject_hold (
            family TEXT NOT NULL,
            key TEXT NOT NULL,
            subject TEXT NOT NULL,
            reason TEXT NOT NULL,
            until TEXT,
            PRIMARY KEY (family, key, subject)
        );
        CREATE INDEX subject_hold_subject ON subject_hold (subject);
        """,
    ),
    (
        "0003_poll_seen",
        """
        -- What the poller has seen of each WHMCS list that comes in no stated order (tickets, orders,
        -- one client's emails): every id with its mark (a ticket's last reply), and the walk that last
        -- saw it (a complete walk forgets the ids it no longer found: deleted in WHMCS).
        CREATE TABLE poll_seen (
            list TEXT NOT NULL,
            id INTEGER NOT NULL,
            mark TEXT NOT NULL DEFAULT '',
            walk TEXT NOT NULL,
            PRIMARY KEY (list, id)
        ) WITHOUT ROWID;
        CREATE INDEX poll_seen_walk ON poll_seen (list, walk);
        """,
    ),
    (
        "0004_consent_lang",
        """
        -- The language of the email that carried a consent link (a locale code, "fr"): its page speaks it.
        -- Links made before this know none ('') and are shown in English, as their summary was written.
        ALTER TABLE consent_link ADD COLUMN lang TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        "0005_audit_signed",
        """
        -- The chain head is signed with the bridge's key (signing-key.pem beside this file) at every
        -- append: a chain rewritten, extended or cut short without the key no longer matches it.
        ALTER TABLE audit_head ADD COLUMN signature TEXT;
        ALTER TABLE audit_head ADD COLUMN fingerprint TEXT;
        -- An empty chain has a head too (0 rows, the genesis hash): a wiped log is not an empty one.
        INSERT OR IGNORE INTO audit_head (one, last_id, last_hash)
            VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
        -- Signed heads kept (every 64 rows, each case decision, each dossier, daily): the bounds of a
        -- dossier's audit segment; `anchor_id` is the WHMCS activity-log entry that carries it.
        CREATE TABLE audit_checkpoint (
            count INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            at TEXT NOT NULL,
            reason TEXT NOT NULL,
            anchor_id INTEGER,
            anchored_at TEXT
        );
        """,
    ),
    (
        "0006_instants_utc",
        """
        -- Instants are compared as text, so they are stored in UTC: a deadline written with its zone's offset
        -- ("...23:59:59+01:00", a grant ending at the end of a day in Paris) is rewritten as the same instant in UTC.
        UPDATE family_state SET due_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', due_at)
            WHERE due_at IS NOT NULL AND due_at NOT LIKE '%+00:00' AND strftime('%s', due_at) IS NOT NULL;
        UPDATE outbox SET not_before = strftime('%Y-%m-%dT%H:%M:%S+00:00', not_before)
            WHERE not_before IS NOT NULL AND not_before NOT LIKE '%+00:00' AND strftime('%s', not_before) IS NOT NULL;
        UPDATE subject_hold SET until = strftime('%Y-%m-%dT%H:%M:%S+00:00', until)
            WHERE until IS NOT NULL AND until NOT LIKE '%+00:00' AND strftime('%s', until) IS NOT NULL;
        UPDATE consent_link SET expires_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', expires_at)
            WHERE expires_at IS NOT NULL AND expires_at NOT LIKE '%+00:00' AND strftime('%s', expires_at) IS NOT NULL;
        """,
    ),
    (
        "0007_consent_scope",
        """
        -- What a self-service link shows, kept with it (not in its address, which is only the token): '' for all
        -- the holder's grants, "owner:11" for those with one owner (the link in a copy of that owner's email).
        ALTER TABLE consent_link ADD COLUMN scope TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        "0008_audit_action",
        """
        -- The rows of one kind, found without reading the whole chain: the states a family sealed (store/seals.py),
        -- asked before any change on a held subject.
        CREATE INDEX audit_action ON audit_log (action, id);
        """,
    ),
]


BUSY_TIMEOUT_S = 30  # how long a write waits for another writer before it fails


class WriteGate:
    """First come, first served turns at writing one database file, for the threads of this process.

    SQLite's own lock makes a writer that finds the file busy sleep and poll (1, 2, 5 ... 100 ms), so the
    engine, which takes the lock again as soon as it commits, can starve the webhook writer: requests
    then wait tens of milliseconds for a commit that takes one. Threads of one process take turns here
    instead, in arrival order, and meet SQLite's lock only when another process writes (a CLI command
    beside the daemon), where busy_timeout still applies."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._cond = threading.Condition()
        self._next = 0  # the ticket the next caller takes
        self._serving = 0  # the ticket whose turn it is
        self._abandoned: set[int] = set()  # tickets whose holder gave up waiting

    def acquire(self) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            if not self._cond.wait_for(lambda: self._serving == ticket, self.timeout_s):
                self._abandoned.add(ticket)  # its turn passes to the next caller when it comes
                raise sqlite3.OperationalError("database is locked: another thread held it too long")

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


_GATES: dict[str, WriteGate] = {}
_GATES_LOCK = threading.Lock()


def write_gate(path: Path, timeout_s: float) -> WriteGate:
    """The one gate of this process for the database file at `path`."""
    key = str(path.resolve())
    with _GATES_LOCK:
        return _GATES.setdefault(key, WriteGate(timeout_s))


def create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
    database's mode). Only a new file: closing a descriptor of a file SQLite has open in this process
    would drop SQLite's POSIX locks on it."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def journal_files(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


class Database:
    """One SQLite file. Use `atomic()` for every write; it nests (inner blocks are savepoints)."""

    def __init__(
        self, path: str | Path, *, migrate: bool = True, signing: bool = True, pin: KeyPin | None = None
    ) -> None:
        self.path = Path(path)
        self.conn = self._connect()
        self.conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        self._gate = write_gate(self.path, BUSY_TIMEOUT_S)
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Nothing secret at rest: a scrubbed email body's old bytes are zeroed, not left in free space.
            self.conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise self.problem(exc) from None
        # The signing key beside the file (evidence.keys); made on first use. None: appends leave the head
        # unsigned (a copy elsewhere without its key, or opened with signing=False: a throwaway preview).
        self.signer: SigningKey | None = None
        # A key file that is not the pinned one (`pin`, state.key_fingerprint), or not the one the chain was
        # signed with, pinned or not, signs nothing: what would sign raises this instead; what only reads goes
        # on (issue 17, H1).
        self.refused: KeyProblem | None = None
        applied: list[str] = []
        if migrate:
            try:
                applied = self.migrate()
            except sqlite3.DatabaseError as exc:
                self.conn.close()
                raise self.problem(exc) from None
        if signing:
            self._load_signer(create=migrate, adopt="0005_audit_signed" in applied, pin=pin)

    def _load_signer(self, *, create: bool, adopt: bool, pin: KeyPin | None) -> None:
        """Load (or, on first use, make) the signing key; sign the chain's head when the key or the signed
        head is new here, never otherwise: an unsigned head found later is a rewrite, not a start."""
        from whmcs_bridge.evidence import keys  # evidence builds on the store: imported late

        path = keys.key_path(self.path.resolve())  # beside the file itself, whatever name it is opened by
        try:
            if create and not adopt and not path.exists() and self._chain_was_signed():
                raise keys.missing_beside_signed(path, self.path, chain_head.fingerprint(self.conn))
            if create:
                self.signer, made = keys.load_or_create(path)
            else:
                self.signer, made = keys.load(path), False
            if self.signer is not None:  # only the pinned key, and the key the chain was signed with, signs it
                signed_by = chain_head.signed_by(self.conn)
                self.refused = keys.refusal(path, self.signer.fingerprint, signed_by, pin)
                self.signer = None if self.refused else self.signer
            if self.signer is not None and (made or adopt):
                with self.atomic() as conn:
                    chain_head.sign_as_it_stands(conn, self.signer)
        except BaseException:
            self.conn.close()
            raise

    def _chain_was_signed(self) -> bool:
        signed_schema = "0005_audit_signed" in self.applied_migrations()
        return chain_head.was_signed(self.conn, signed_schema=signed_schema)

    def _connect(self) -> sqlite3.Connection:
        """Open the file, first saying plainly when the user may not write it or its folder."""
        permissions.check_writable_folder(self.path.parent)
        for part in (self.path, *journal_files(self.path)):
            permissions.check_writable_file(part)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                create_private(self.path)
            return sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except PermissionError:
            raise permissions.denied(self.path, "open") from None
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state database {self.path}: {exc}") from None

    def problem(self, exc: sqlite3.Error) -> Exception:
        """An SQLite failure at open as the user's problem: a permission, a full disk, or a damaged file."""
        text = str(exc)
        if "readonly" in text:
            return permissions.denied(self.path, "write")
        if "disk is full" in text or "disk I/O" in text:
            return EnvironmentProblem(f"cannot write the state database {self.path}: {text}; free space on its disk")
        return StoreError(
            f"{self.path} is not a usable whmcs-bridge state database ({text}); restore it from a backup "
            '(README, "Backup and restore")'
        )

    def quick_check(self) -> None:
        """SQLite's `PRAGMA quick_check`: raise StoreError naming the first problem of a damaged file."""
        try:
            rows = [str(r[0]) for r in self.conn.execute("PRAGMA quick_check(1)")]
        except sqlite3.DatabaseError as exc:
            rows = [str(exc)]
        if rows != ["ok"]:
            first = " ".join(line for line in "\n".join(rows).splitlines() if not line.startswith("***"))
            raise StoreError(
                f"the state database {self.path} is damaged (quick_check: {first}); stop the daemon and "
                'restore it from a backup (README, "Backup and restore")'
            )

    def close(self) -> None:
        # A command that scrubbed a secret (a rejected copy) leaves no older copy of it in the log behind it.
        with suppress(sqlite3.Error):
            self.forget_scrubbed()
        self.conn.close()

    # Set when a secret was scrubbed (an email body): its older copies still sit in the write-ahead log.
    scrubbed = False

    def forget_scrubbed(self) -> None:
        """After a secret was scrubbed, write the log back and empty it, so that no older copy of the page
        stays on disk (secure_delete zeroes the database file itself). Busy readers: tried again later."""
        if not self.scrubbed:
            return
        row = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self.scrubbed = bool(row and row[0])  # 1: a reader kept it from finishing

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or a savepoint when nested; rolls back on any exception."""
        with self._lock:
            if self._depth == 0:
                self._gate.acquire()
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                except BaseException:
                    self._gate.release()
                    raise
            else:
                self.conn.execute(f"SAVEPOINT sp{self._depth}")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    try:
                        self.conn.execute("ROLLBACK")
                    finally:
                        self._gate.release()
                else:
                    self.conn.execute(f"ROLLBACK TO sp{self._depth}")
                    self.conn.execute(f"RELEASE sp{self._depth}")
                raise
            self._depth -= 1
            if self._depth == 0:
                try:
                    self.conn.execute("COMMIT")
                finally:
                    self._gate.release()
            else:
                self.conn.execute(f"RELEASE sp{self._depth}")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the database as of its first read, however a
        daemon writes meanwhile (WAL readers do not block writers). Nested in atomic(), it is a no-op."""
        with self._lock:
            if self._depth:
                yield self.conn
                return
            self.conn.execute("BEGIN DEFERRED")
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
                self.conn.execute("COMMIT")

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API, in one step: one read
        transaction, so a daemon writing meanwhile neither waits nor makes the copy restart), WAL included."""
        try:
            copy = sqlite3.connect(str(target), isolation_level=None)
        except sqlite3.Error:
            raise permissions.denied(target, "write") from None
        try:
            with self._lock:
                self.conn.backup(copy)
        except sqlite3.Error as exc:
            if "full" in str(exc) or "I/O" in str(exc):
                raise EnvironmentProblem(f"cannot write the backup {target}: {exc}; free space on its disk") from None
            raise StoreError(f"the backup of {self.path} to {target} failed: {exc}") from None
        finally:
            copy.close()

    def integrity_check(self) -> list[str]:
        """SQLite's full `PRAGMA integrity_check`: ["ok"], or the problems found."""
        return [str(r[0]) for r in self.conn.execute("PRAGMA integrity_check")]

    def all_text(self) -> str:
        """Every row of every table, as text: what a reader of the database file would find (tests use it
        to show that no secret is at rest)."""
        tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return "\n".join(str(tuple(row)) for table in tables for row in self.conn.execute(f'SELECT * FROM "{table}"'))

    def applied_migrations(self) -> list[str]:
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ).fetchone()
        if not exists:
            return []
        return [r["name"] for r in self.conn.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; return their names."""
        with self.atomic() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        done = set(self.applied_migrations())
        known = {name for name, _ in MIGRATIONS}
        unknown = done - known
        if unknown:
            raise StoreError(
                f"{self.path} was written by a newer whmcs-bridge (migrations {', '.join(sorted(unknown))}); "
                "upgrade whmcs-bridge before using it"
            )
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.atomic() as conn:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, iso(utcnow())))
            applied.append(name)
        return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    out: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out
