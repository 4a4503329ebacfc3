"""What the executor feeds back to the rules (a read's result: who owns a domain now, a ticket's reply, an invoice
as WHMCS has it) bound to the keyed audit chain. The inbox is not keyed: an OwnershipOwners row inserted by SQL
made the rules record a domain "moved in WHMCS", complete and lock the case, while WHMCS still showed the holder
(twenty-seventh break round, ownership HIGH 5). The `executor.done` row that ends the read records the event's id,
type and the SHA-256 of the body it put in the inbox (`fed`); the engine hands such an event to the rules only when
that row backs it, else parks it naming it, and `audit verify` names it too. An event of a type only the executor
feeds must have one whatever event id or source it claims. A read ended before the chain recorded this (its done
row has no `lines`, executor/loop.py) is taken as before."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.store import inbox
from whmcs_bridge.store.chain_head import canonical
from whmcs_bridge.store.db import Database

READ = "read:"  # the event id of what an action fed back: read:<its action key>
# The event types only the executor produces (executor/kinds.py `feed`, and the families' `report_as`): neither the
# receiver (intake/hook_types.py), the poller (intake/), a resync (resync.py) nor a staff command names one.
# `announce` feeds the type its rule names: OwnershipChanged is only ever announced; OwnershipCommand is a staff
# command too, and ClientContext (loop.py record_run) a delegation resync's read too: those are checked by their id.
EXECUTOR_ONLY: frozenset[str] = frozenset(
    {
        "TicketResolved",
        "OpenInvoiceFound",
        "OrderInvoiceFound",
        "InvoiceRead",
        "RenewalRead",
        "OwnershipOwners",
        "OwnershipLock",
        "OwnershipReply",
        "OwnershipChanged",
        "OwnershipTicket",
        "RenewalInvoiceCreated",
        "PayerInvoiceCreated",
    }
)


def digest(body: str) -> str:
    """The SHA-256 of an inbox body as stored (its JSON read back, keys sorted)."""
    try:
        content = json.loads(body)
    except ValueError:
        content = body
    return hashlib.sha256(canonical({"body": content}).encode()).hexdigest()


def add(db: Database, key: str, family: str, kind: str, data: dict[str, Any], now: datetime) -> dict[str, str]:
    """Put what the action `key` read into the inbox for the family that asked; what its done row records."""
    event_id = f"{READ}{key}"
    body = {
        "type": kind,
        "occurred_at": iso(now),
        "source": {"executor": key},
        "data": {**data, "requested_by": family},  # only the family that asked reacts
    }
    text = json.dumps(body, default=str)
    inbox.add(db, event_id=event_id, type=kind, source="poll", body=text, occurred_at=iso(now), received_at=now)
    return {"event": event_id, "type": kind, "digest": digest(text)}


def claims(entry: inbox.InboxEntry) -> bool:
    """Whether the event says it is an executor's read (by its id) or is of a type only the executor feeds."""
    return entry.event_id.startswith(READ) or entry.type in EXECUTOR_ONLY


Backing = dict[str, list[dict[str, Any]]]


def backing(db: Database, key: str | None = None) -> Backing:
    """The `executor.done` rows' details by action key (of one action, or all)."""
    rows = db.conn.execute(
        "SELECT detail FROM audit_log WHERE action = 'executor.done' AND json_valid(detail)"
        " AND (? IS NULL OR json_extract(detail, '$.key') = ?) ORDER BY id",
        (key, key),
    )
    found: Backing = {}
    for row in rows:
        detail = json.loads(row["detail"])
        if isinstance(detail, dict):
            found.setdefault(str(detail.get("key")), []).append(detail)
    return found


def problem(db: Database, entry: inbox.InboxEntry, rows: Backing | None = None) -> str | None:
    """Why this event may not reach the rules: one sentence naming it, or None (not an executor's, or backed)."""
    if not claims(entry):
        return None
    key = entry.event_id.removeprefix(READ) if entry.event_id.startswith(READ) else None
    done = (rows if rows is not None else backing(db, key)).get(key or "", []) if key else []
    if done and all("lines" not in d for d in done):
        return None  # ended before the chain recorded what it fed: taken as before
    fed = [d.get("fed") for d in done]
    if any(
        isinstance(f, dict) and f.get("event") == entry.event_id and f.get("type") == entry.type
        and f.get("digest") == digest(entry.body)
        for f in fed
    ):  # fmt: skip
        return None
    why = "the audit chain recorded no executor read that fed it" if not any(fed) else "it is not what the read fed"
    return (
        f"event {entry.event_id} ({entry.type}) claims to be what the executor read in WHMCS, but was put in the "
        f"database outside the bridge ({why}): restore the state from a backup and check the chain with "
        "`whmcs-bridge audit verify`"
    )


def unbacked(db: Database) -> list[str]:
    """One sentence for each event claiming to be an executor's read that no `executor.done` row backs
    (`audit verify`)."""
    with db.snapshot():
        rows = backing(db)
        found = []
        for entry in inbox.entries(db):
            if claims(entry):
                why = problem(db, entry, rows)
                if why:
                    found.append(why)
        return found
