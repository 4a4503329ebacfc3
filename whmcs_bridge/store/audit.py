"""The audit log: append-only, each row hash-chained to the one before, the head signed with the bridge's key
(and kept as signed checkpoints), and a verifier that names the first break.

A rewrite by someone with the database but not the key (edit and recompute, renumber, append, cut the tail,
wipe) leaves a head whose signature no longer matches; a rollback to an earlier signed state is what the
WHMCS anchors (evidence.anchor) catch."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import AuditChainError
from whmcs_bridge.store import chain_head
from whmcs_bridge.store.chain_head import GENESIS, canonical, statement
from whmcs_bridge.store.db import Database

if TYPE_CHECKING:
    from whmcs_bridge.evidence.keys import PublicKey

CHECKPOINT_EVERY = 64  # a signed head is kept every this many rows (and at decisions, dossiers, daily)


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


def row_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(content)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A signed head: `count` rows, the last with hash `hash`; `anchor_id` is its WHMCS activity-log line."""

    count: int
    hash: str
    signature: str
    fingerprint: str
    at: str
    reason: str
    anchor_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "hash": self.hash,
            "signature": self.signature,
            "fingerprint": self.fingerprint,
            "at": self.at,
            "reason": self.reason,
            "anchor_id": self.anchor_id,
        }

    @classmethod
    def from_dict(cls, value: Any) -> Checkpoint | None:
        """A checkpoint as a dossier carries it; None if it is not one."""
        try:
            return cls(
                int(value["count"]),
                str(value["hash"]),
                str(value["signature"]),
                str(value["fingerprint"]),
                str(value["at"]),
                str(value["reason"]),
                None if value.get("anchor_id") is None else int(value["anchor_id"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def verifies(self, key: PublicKey) -> bool:
        return self.fingerprint == key.fingerprint and key.verifies(self.signature, statement(self.count, self.hash))


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
    """Add one entry at the end of the chain (inside the caller's transaction, if any); refused when the key
    file is not the pinned key (`Database.refused`): nothing is added that it would have to sign."""
    if db.refused is not None:
        raise db.refused
    at = at or iso(utcnow())
    # Round-trip the detail so what is stored is exactly what is hashed.
    detail = json.loads(canonical(detail or {}))
    with db.atomic() as conn:
        if action != KEY_REPLACED:  # a new key signs over the lost one's head, whose rows `audit key --new` checked
            check_extendable(db)
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
        _write_head(db, row_id, digest)
        if row_id % CHECKPOINT_EVERY == 0:
            _keep_checkpoint(db, row_id, digest, at, f"every {CHECKPOINT_EVERY} rows")
    return AuditEntry(row_id, at, actor, action, client_id, case_id, subject, detail, prev, digest)


def check_extendable(db: Database) -> None:
    """Raise AuditChainError unless the chain is the one the bridge's key last signed (chain_head.unextendable):
    nothing is added to, or signed on, a chain cut, extended or rewritten without the key. Without a key (a copy
    elsewhere) nothing is signed, so there is nothing to check."""
    if db.signer is None:
        return
    row = chain_head.unextendable(db.conn, db.signer, signed_schema=_signed_schema(db))
    if row is not None:
        raise AuditChainError(
            row,
            f"it is not the chain the bridge last signed (rows were cut off, added or edited in {db.path} without the "
            "signing key), so nothing is added to it or signed: `whmcs-bridge audit verify` names the break; restore "
            'the state database from a backup (README, "Backup and restore")',
        )


def _write_head(db: Database, count: int, digest: str) -> None:
    chain_head.write(db.conn, db.signer, count, digest)


def sign_head(db: Database) -> None:
    """Sign the head as it stands: only when the key or the keyed chain is new (Database does this)."""
    with db.atomic() as conn:
        chain_head.sign_as_it_stands(conn, db.signer)


def _keep_checkpoint(db: Database, count: int, digest: str, at: str, reason: str) -> Checkpoint | None:
    signer = db.signer
    if signer is None:
        return None
    db.conn.execute(
        "INSERT OR IGNORE INTO audit_checkpoint (count, hash, signature, fingerprint, at, reason)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (count, digest, signer.sign(statement(count, digest)), signer.fingerprint, at, reason),
    )
    return checkpoint_at(db, count)


def checkpoint(db: Database, reason: str, *, at: str | None = None) -> Checkpoint:
    """Keep the current head as a signed checkpoint (the one already kept at this count, if any)."""
    if db.signer is None:
        raise db.refused or AuditChainError(0, f"no signing key beside {db.path}: a checkpoint cannot be signed here")
    with db.atomic():
        check_extendable(db)
        found = head(db)
        count, digest = found if found else (0, GENESIS)
        point = _keep_checkpoint(db, count, digest, at or iso(utcnow()), reason)
    assert point is not None
    return point


def _checkpoint(row: sqlite3.Row) -> Checkpoint:
    return Checkpoint(
        row["count"], row["hash"], row["signature"], row["fingerprint"], row["at"], row["reason"], row["anchor_id"]
    )


def checkpoint_at(db: Database, count: int) -> Checkpoint | None:
    row = db.conn.execute("SELECT * FROM audit_checkpoint WHERE count = ?", (count,)).fetchone()
    return _checkpoint(row) if row else None


def checkpoints(db: Database, *, anchored: bool | None = None) -> list[Checkpoint]:
    """Every kept checkpoint, oldest first (only those anchored in WHMCS, or only those not, if asked)."""
    sql = "SELECT * FROM audit_checkpoint"
    if anchored is not None:
        sql += " WHERE anchor_id IS NOT NULL" if anchored else " WHERE anchor_id IS NULL"
    return [_checkpoint(row) for row in db.conn.execute(sql + " ORDER BY count")]


def actions_since(db: Database, row_id: int) -> set[str]:
    """The distinct actions of the rows after `row_id`."""
    return {str(r["action"]) for r in db.conn.execute("SELECT DISTINCT action FROM audit_log WHERE id > ?", (row_id,))}


def kinds_run_since(db: Database, row_id: int, subject_prefix: str = "") -> set[str]:
    """The kinds of the actions the executor recorded an outcome of in the rows after `row_id` (only those
    whose subject starts with `subject_prefix`, if given)."""
    rows = db.conn.execute(
        "SELECT DISTINCT json_extract(detail, '$.kind') AS kind FROM audit_log WHERE id > ?"
        " AND action LIKE 'executor.%' AND subject LIKE ? || '%'",
        (row_id, subject_prefix),
    )
    return {str(r["kind"]) for r in rows if r["kind"] is not None}


def first_at_after(db: Database, row_id: int) -> str | None:
    """When the first row after `row_id` was recorded (None: there is none)."""
    row = db.conn.execute("SELECT at FROM audit_log WHERE id = ?", (row_id + 1,)).fetchone()
    return str(row["at"]) if row else None


def record_anchor(db: Database, count: int, anchor_id: int, at: str) -> None:
    """The WHMCS activity-log entry that carries checkpoint `count`."""
    with db.atomic() as conn:
        conn.execute(
            "UPDATE audit_checkpoint SET anchor_id = ?, anchored_at = ? WHERE count = ?", (anchor_id, at, count)
        )


@dataclass(frozen=True)
class Segment:
    """A contiguous run of the chain, rows opening.count+1 .. closing.count, between two signed checkpoints
    (opening None: the chain's start, whose predecessor hash is GENESIS)."""

    rows: list[dict[str, Any]]
    opening: Checkpoint | None
    closing: Checkpoint
    inner: list[Checkpoint]  # the checkpoints kept between the two


def segment(db: Database, first_id: int, last_id: int, *, at: str | None = None) -> Segment:
    """Rows from the last checkpoint before `first_id` to the first checkpoint at or after `last_id` that
    is anchored in WHMCS, or else the first kept at all (one is signed at the head if none is kept yet),
    every column, detail parsed."""
    with db.snapshot():
        opening_row = db.conn.execute(
            "SELECT * FROM audit_checkpoint WHERE count < ? AND count > 0 ORDER BY count DESC LIMIT 1", (first_id,)
        ).fetchone()
        closing_row = db.conn.execute(
            "SELECT * FROM audit_checkpoint WHERE count >= ? ORDER BY anchor_id IS NULL, count LIMIT 1", (last_id,)
        ).fetchone()
    closing = _checkpoint(closing_row) if closing_row else checkpoint(db, "dossier", at=at)
    opening = _checkpoint(opening_row) if opening_row else None
    start = opening.count if opening else 0
    with db.snapshot():
        rows = db.conn.execute(
            "SELECT * FROM audit_log WHERE id > ? AND id <= ? ORDER BY id", (start, closing.count)
        ).fetchall()
        inner = db.conn.execute(
            "SELECT * FROM audit_checkpoint WHERE count > ? AND count < ? ORDER BY count", (start, closing.count)
        ).fetchall()
    return Segment([_raw(row) for row in rows], opening, closing, [_checkpoint(row) for row in inner])


def _raw(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "detail": json.loads(row["detail"])}


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


def verify(
    db: Database,
    key: PublicKey | None = None,
    *,
    older: Sequence[PublicKey] = (),
    unchecked: list[Checkpoint] | None = None,
) -> int:
    """Recompute the whole chain; return the number of rows, or raise AuditChainError at the first break.
    With a key (by default the bridge's own, beside the database) the head and every kept checkpoint must
    carry its signature over what the rows hash to. Checkpoints signed with a key staff replaced
    (`audit key --new`, recorded as KEY_REPLACED) are checked with its public half if it is in `older`,
    else collected in `unchecked`. Rows, head and checkpoints are read in one snapshot: a daemon appending
    meanwhile is not a broken chain."""
    if key is None and db.signer is not None:
        key = db.signer.public
    if key is not None and head_fingerprint(db) is None and not _signed_schema(db):
        raise AuditChainError(0, "this database predates signed chains: start the bridge once on it to adopt it")
    with db.snapshot():
        points = checkpoints(db) if key is not None else []
        count, last, hashes = _verify_rows(db, {p.count for p in points})
        stored = db.conn.execute("SELECT * FROM audit_head WHERE one = 1").fetchone()
        head_id, head_hash = (stored["last_id"], stored["last_hash"]) if stored else (0, GENESIS)
        if head_id != count or head_hash != last:
            raise AuditChainError(
                count + 1 if head_id > count else head_id,
                f"the chain head records {head_id} row(s) but {count} remain (rows deleted from the end)",
            )
        if key is not None:
            keys = {k.fingerprint: k for k in (key, *older)}
            points = _checkable(points, keys, replaced_keys(db), unchecked)
            _verify_signed(keys, key, stored, points, count, hashes)
    return count


KEY_REPLACED = "audit.key_replaced"


def replaced_keys(db: Database) -> dict[str, int]:
    """The fingerprints of keys staff replaced (`audit key --new`), each with the row that records it."""
    found: dict[str, int] = {}
    for row in db.conn.execute("SELECT id, detail FROM audit_log WHERE action = ? ORDER BY id", (KEY_REPLACED,)):
        for fingerprint in json.loads(row["detail"]).get("old_fingerprints") or []:
            found.setdefault(str(fingerprint), int(row["id"]))
    return found


def _checkable(
    points: list[Checkpoint],
    keys: dict[str, PublicKey],
    replaced: dict[str, int],
    unchecked: list[Checkpoint] | None,
) -> list[Checkpoint]:
    """The checkpoints a key at hand can check; those of a replaced key, kept before its replacement was
    recorded, are set aside as not checked (their key's public half was not given)."""
    out = []
    for point in points:
        if point.fingerprint not in keys and point.count < replaced.get(point.fingerprint, 0):
            if unchecked is not None:
                unchecked.append(point)
            continue
        out.append(point)
    return out


def _verify_rows(db: Database, wanted: set[int]) -> tuple[int, str, dict[int, str]]:
    """Walk the rows: the count, the last hash, and the hashes of the rows in `wanted`."""
    prev = GENESIS
    expected_id = 1
    count = 0
    hashes: dict[int, str] = {0: GENESIS}
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
        if row["id"] in wanted:
            hashes[row["id"]] = prev
        expected_id += 1
        count += 1
    return count, prev, hashes


def _verify_signed(
    keys: dict[str, PublicKey],
    key: PublicKey,
    stored: sqlite3.Row | None,
    points: list[Checkpoint],
    count: int,
    hashes: dict[int, str],
) -> None:
    """The kept checkpoints, oldest first (each against the key of its fingerprint), then the head, against
    the current key's signatures."""
    for point in points:
        if not point.verifies(keys.get(point.fingerprint, key)):
            raise AuditChainError(point.count, f"the checkpoint kept at row {point.count} is not signed with this key")
        if point.count > count:
            raise AuditChainError(
                count + 1,
                f"a signed checkpoint of {point.at} counts {point.count} rows but {count} remain (rows cut off)",
            )
        if hashes.get(point.count) != point.hash:
            raise AuditChainError(
                point.count,
                f"it is not the row signed in the checkpoint of {point.at}: the chain up to it was rewritten",
            )
    if stored is None:
        raise AuditChainError(1, "the chain head is missing: the audit log was wiped or its head deleted")
    if not stored["signature"]:
        raise AuditChainError(
            stored["last_id"],
            f"the chain head is not signed: it was rewritten without the signing key {key.fingerprint}",
        )
    if stored["fingerprint"] != key.fingerprint:
        raise AuditChainError(
            stored["last_id"],
            f"the chain head is signed with another key ({stored['fingerprint']}), not {key.fingerprint}",
        )
    if not key.verifies(stored["signature"], statement(stored["last_id"], stored["last_hash"], head=True)):
        raise AuditChainError(
            stored["last_id"],
            f"the signed chain head does not match the {count} row(s) there are: rows were edited and "
            "rehashed, renumbered, added or cut off by someone without the signing key",
        )


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
    return chain_head.read(db.conn)


def was_signed(db: Database) -> bool:
    return chain_head.was_signed(db.conn, signed_schema=_signed_schema(db))


def _signed_schema(db: Database) -> bool:
    return "0005_audit_signed" in db.applied_migrations()


def anchored_from(db: Database, count: int) -> Checkpoint | None:
    """The first checkpoint at or after row `count` that is anchored in WHMCS, if any."""
    row = db.conn.execute(
        "SELECT * FROM audit_checkpoint WHERE count >= ? AND anchor_id IS NOT NULL ORDER BY count LIMIT 1", (count,)
    ).fetchone()
    return _checkpoint(row) if row else None


def last_anchored(db: Database) -> Checkpoint | None:
    """The newest checkpoint written into WHMCS's activity log."""
    row = db.conn.execute(
        "SELECT * FROM audit_checkpoint WHERE anchor_id IS NOT NULL ORDER BY count DESC LIMIT 1"
    ).fetchone()
    return _checkpoint(row) if row else None


def head_fingerprint(db: Database) -> str | None:
    return chain_head.fingerprint(db.conn)


def signed_by(db: Database) -> str | None:
    """The key the chain was last signed with (its head's, else its newest checkpoint's): the one that signs next."""
    return chain_head.signed_by(db.conn)


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
