"""The audit chain's head: the id and hash of its last row, signed with the bridge's key. It sits below both
the database (store/db.py signs the head when the key or the signed chain is new there) and the audit log
(store/audit.py moves it at each append and verifies it), which is why it works on a bare connection."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Protocol

GENESIS = "0" * 64
CHAIN = "whmcs-bridge-audit/1"


class Verifier(Protocol):
    """What checks a head's signature (evidence.keys.PublicKey)."""

    def verifies(self, signature: str, data: bytes) -> bool: ...


class Signer(Protocol):
    """What signs a head (evidence.keys.SigningKey)."""

    @property
    def fingerprint(self) -> str: ...

    @property
    def public(self) -> Verifier: ...

    def sign(self, data: bytes) -> str: ...


def canonical(content: dict[str, Any]) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8, Decimal/date as strings."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def statement(count: int, digest: str, *, head: bool = False) -> bytes:
    """What a checkpoint signs: the chain had `count` rows, the last hashing to `digest`. The head signs the
    same with `role: head`, so a checkpoint's signature copied into the head (the log cut back to it, or
    wiped to an empty chain's checkpoint) never verifies there."""
    body: dict[str, Any] = {"chain": CHAIN, "count": count, "hash": digest}
    if head:
        body["role"] = "head"
    return canonical(body).encode("utf-8")


def read(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The id and hash of the chain's last row (None while it is empty)."""
    row = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    return (int(row[0]), str(row[1])) if row and row[0] else None


def fingerprint(conn: sqlite3.Connection) -> str | None:
    """The fingerprint of the key that signed the head (None if unsigned, or before migration 0005)."""
    try:
        row = conn.execute("SELECT fingerprint FROM audit_head WHERE one = 1").fetchone()
    except sqlite3.OperationalError:  # a database not migrated yet: no signed head
        return None
    return str(row[0]) if row and row[0] else None


def signed_by(conn: sqlite3.Connection) -> str | None:
    """The key the chain was last signed with: its head's, or, on a head left unsigned, its newest checkpoint's
    (None if neither was ever signed). The one key that may sign it next (issue 17, H1)."""
    head = fingerprint(conn)
    if head is not None:
        return head
    try:
        row = conn.execute(
            "SELECT fingerprint FROM audit_checkpoint WHERE fingerprint IS NOT NULL ORDER BY count DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:  # a database not migrated yet: no checkpoint
        return None
    return str(row[0]) if row else None


def was_signed(conn: sqlite3.Connection, *, signed_schema: bool) -> bool:
    """Whether this chain was ever signed: a signed head or checkpoint is left, or signing came in (migration
    0005, `signed_schema`) before now and the chain has rows. A forger who strips the signatures and deletes
    the key must not get a new key that signs the forgery (issue 17's break test)."""
    if fingerprint(conn) is not None:
        return True
    if not signed_schema:
        return False
    found = conn.execute(
        "SELECT (SELECT COUNT(*) FROM audit_checkpoint) + (SELECT COUNT(*) FROM audit_log)"
        " + (SELECT COALESCE(MAX(last_id), 0) FROM audit_head)"
    ).fetchone()
    return bool(found[0])


def write(conn: sqlite3.Connection, signer: Signer | None, count: int, digest: str) -> None:
    """The head, signed when the bridge has its key (a copy without it leaves the head unsigned)."""
    signature = signer.sign(statement(count, digest, head=True)) if signer else None
    conn.execute(
        "INSERT INTO audit_head (one, last_id, last_hash, signature, fingerprint) VALUES (1, ?, ?, ?, ?)"
        " ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash,"
        " signature = excluded.signature, fingerprint = excluded.fingerprint",
        (count, digest, signature, signer.fingerprint if signer else None),
    )


def unextendable(conn: sqlite3.Connection, signer: Signer, *, signed_schema: bool) -> int | None:
    """The row at which the chain is not the one `signer` last signed (None when it is): its head must name the
    log's last row and carry the signer's signature over that count and hash, so rows cut off (the head fixed
    up), added or rewritten by someone without the key are never signed over by the next append (twenty-third
    break round H). A head never signed, on a chain that never was (a first start killed before it signed), is
    no rewrite. The head moves with its row in one transaction, so a crash leaves both or neither."""
    head = conn.execute("SELECT last_id, last_hash, signature, fingerprint FROM audit_head WHERE one = 1").fetchone()
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    count, digest = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    if head is None or not head[2]:
        return count if was_signed(conn, signed_schema=signed_schema) else None
    if (head[0], head[1]) != (count, digest) or head[3] != signer.fingerprint:
        return min(int(head[0]), count)
    return None if signer.public.verifies(str(head[2]), statement(count, digest, head=True)) else count


def sign_as_it_stands(conn: sqlite3.Connection, signer: Signer | None) -> None:
    """Sign the head as it stands: only when the key or the keyed chain is new (store/db.py does this)."""
    found = read(conn)
    count, digest = found if found else (0, GENESIS)
    write(conn, signer, count, digest)
