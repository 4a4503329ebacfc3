"""One-time consent links: made by the executor when an email carries one, answered once on the consent
page. Only the SHA-256 of a link's token is kept; the raw token exists only in the email."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from whmcs_bridge.clock import iso
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

MINTED = "consent.link_minted"

COLUMNS = (
    "id, token_hash, purpose, subject, summary, expires_at, created_at, used_at, decision, ip, user_agent, lang, scope"
)


@dataclass(frozen=True)
class ConsentLink:
    """One link: what it asks (purpose, subject, summary), until when, and its answer once given."""

    id: int
    token_hash: str
    purpose: str
    subject: str
    summary: str
    expires_at: str
    created_at: str
    used_at: str | None
    decision: str | None
    ip: str | None
    user_agent: str | None
    lang: str = ""  # the locale of the email that carried it ("fr"); '' for links made before it was kept
    scope: str = ""  # a self-service link's: '' (all the holder's grants), or "owner:11" (those with that owner)


def _link(row: sqlite3.Row | None) -> ConsentLink | None:
    """The link a row holds, if there is a row."""
    return ConsentLink(**dict(row)) if row else None


def create(
    db: Database,
    *,
    token_hash: str,
    purpose: str,
    subject: str,
    summary: str,
    expires_at: datetime,
    now: datetime,
    lang: str = "",
    scope: str = "",
) -> int:
    """A new link, unanswered, valid until `expires_at`, shown in `lang` (its email's language), showing what
    `scope` allows (a self-service link's); its id."""
    cursor = db.conn.execute(
        "INSERT INTO consent_link (token_hash, purpose, subject, summary, expires_at, created_at, lang, scope)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (token_hash, purpose, subject, summary, iso(expires_at), iso(now), lang, scope),
    )
    return int(cursor.lastrowid or 0)


def by_token_hash(db: Database, token_hash: str) -> ConsentLink | None:
    """The link whose token hashes to this, if any, and only one the bridge minted (minted)."""
    link = _link(db.conn.execute(f"SELECT {COLUMNS} FROM consent_link WHERE token_hash = ?", (token_hash,)).fetchone())
    return link if link is not None and minted(db, link) else None


def record_minted(db: Database, link_id: int, *, token_hash: str, purpose: str, subject: str, at: str) -> None:
    """The link's creation in the keyed audit chain (in the caller's transaction): the consent_link table is not
    keyed, so a row inserted there, or a token's hash rewritten, by someone with the database but not the key would
    otherwise answer for the party (twenty-fifth break round, HIGH 2)."""
    detail = {"link": link_id, "purpose": purpose, "subject": subject, "token_hash": token_hash}
    audit.append(db, MINTED, actor="executor", detail=detail, at=at)


def minted(db: Database, link: ConsentLink) -> bool:
    """Whether the link's row is the one the chain recorded when the bridge minted it. A link with no such row
    was minted before the chain recorded them (its id below the first recorded one: taken as before), or was
    put into the database outside the bridge."""
    row = db.conn.execute(
        "SELECT detail FROM audit_log WHERE action = ?"
        " AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.link') END = ? ORDER BY id DESC LIMIT 1",
        (MINTED, link.id),
    ).fetchone()
    if row is None:
        first = db.conn.execute(
            "SELECT MIN(CASE WHEN json_valid(detail) THEN json_extract(detail, '$.link') END) AS first"
            " FROM audit_log WHERE action = ?",
            (MINTED,),
        ).fetchone()
        # Ids start at 1 and the bridge deletes no link: each id below the first recorded one is an older link's, and
        # an id of 0 or less is none (twenty-sixth break round, ownership HIGH 6).
        return first is None or first["first"] is None or 1 <= link.id < int(first["first"])
    recorded = json.loads(row["detail"])
    return (recorded.get("purpose"), recorded.get("subject"), recorded.get("token_hash")) == (
        link.purpose,
        link.subject,
        link.token_hash,
    )


def get(db: Database, link_id: int) -> ConsentLink | None:
    """One link as it stands now."""
    return _link(db.conn.execute(f"SELECT {COLUMNS} FROM consent_link WHERE id = ?", (link_id,)).fetchone())


def claim(
    db: Database, link_id: int, *, decision: str, ip: str, user_agent: str, now: datetime, late: bool = False
) -> bool:
    """Record the one answer to a link still unanswered and unexpired at `now` (`late`: expired too, an answer
    after its deadline kept for staff); False if it is too late."""
    cursor = db.conn.execute(
        "UPDATE consent_link SET used_at = ?, decision = ?, ip = ?, user_agent = ?"
        " WHERE id = ? AND used_at IS NULL AND (expires_at > ? OR ?)",
        (iso(now), decision, ip, user_agent, link_id, iso(now), int(late)),
    )
    return cursor.rowcount == 1


def for_subject(db: Database, subject: str, purpose_prefix: str = "") -> list[ConsentLink]:
    """The links about a subject whose purpose starts with `purpose_prefix`, oldest first."""
    rows = db.conn.execute(
        f"SELECT {COLUMNS} FROM consent_link WHERE subject = ? AND substr(purpose, 1, ?) = ? ORDER BY id",
        (subject, len(purpose_prefix), purpose_prefix),
    )
    return [ConsentLink(**dict(r)) for r in rows]
