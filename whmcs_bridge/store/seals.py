"""A family state sealed in the keyed audit chain: the state (family_state), what it holds (subject_hold) and what
events reach it by (family_ref) are not keyed; for the families that ask for it (FamilySpec.sealed: ownership
cases), each decision that changes them appends one row (`state.sealed`) recording their SHA-256, in the decision's transaction.
A state that is not the one its last seal recorded was edited outside the bridge, whatever part of it: its
status, a date, a timeline line, a party's reply (twenty-third break round, ownership HIGH 3). A state decided
before seals existed has none until its next decision, and is checked fact by fact as before."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from whmcs_bridge.store import audit
from whmcs_bridge.store.chain_head import canonical
from whmcs_bridge.store.db import Database

SEALED = "state.sealed"  # the rows' action, whatever the family (its name is in the detail)


def state_digest(state: dict[str, Any] | None) -> str | None:
    """The SHA-256 of a state as stored (canonical JSON); None for no state (deleted)."""
    return hashlib.sha256(canonical(state).encode()).hexdigest() if state is not None else None


def held_digest(db: Database, family: str, key: str) -> str:
    """The SHA-256 of what the state holds and of the references events reach it by."""
    holds = db.conn.execute(
        "SELECT subject, reason, until FROM subject_hold WHERE family = ? AND key = ? ORDER BY subject", (family, key)
    ).fetchall()
    refs = db.conn.execute(
        "SELECT ref FROM family_ref WHERE family = ? AND key = ? ORDER BY ref", (family, key)
    ).fetchall()
    content = {"holds": [list(h) for h in holds], "refs": [r["ref"] for r in refs]}
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def _stored(db: Database, family: str, key: str) -> dict[str, Any] | None:
    row = db.conn.execute("SELECT state FROM family_state WHERE family = ? AND key = ?", (family, key)).fetchone()
    return json.loads(row["state"]) if row else None


def seal(db: Database, family: str, key: str, case_id: str, subject: str, at: str) -> None:
    """Record the state as the decision left it (inside the decision's transaction), unless the last seal
    already says so (a decision that changed nothing adds no row)."""
    now = {
        "family": family,
        "key": key,
        "state": state_digest(_stored(db, family, key)),
        "held": held_digest(db, family, key),
    }
    if last(db, family, key, case_id) == now:
        return
    audit.append(db, SEALED, actor=f"rules:{family}", case_id=case_id, subject=subject, detail=now, at=at)


def last(db: Database, family: str, key: str, case_id: str) -> dict[str, Any] | None:
    """The detail of the state's last seal, or None when it has none."""
    rows = db.conn.execute(
        "SELECT detail FROM audit_log WHERE case_id = ? AND action = ? ORDER BY id DESC", (case_id, SEALED)
    )
    for row in rows:
        detail: dict[str, Any] = json.loads(row["detail"])
        if detail.get("family") == family and detail.get("key") == key:
            return detail
    return None


def last_in(rows: list[dict[str, Any]], family: str, key: str) -> dict[str, Any] | None:
    """The detail of the state's last seal among these audit rows (a case's, a dossier's), or None."""
    found = [
        r["detail"]
        for r in rows
        if r["action"] == SEALED
        and isinstance(r["detail"], dict)
        and (r["detail"].get("family"), r["detail"].get("key")) == (family, key)
    ]
    return found[-1] if found else None


def state_problem(state: dict[str, Any] | None, sealed: dict[str, Any] | None) -> str | None:
    """Why this state is not the one sealed (one phrase), or None (also when there is no seal yet)."""
    if sealed is None or state_digest(state) == sealed.get("state"):
        return None
    if state is None:
        return "its state was deleted, but the audit chain sealed one"
    return "its state is not the one the audit chain sealed at the rules' last decision"


def problems(db: Database, family: str, key: str, case_id: str) -> list[str]:
    """The live state, its holds and references against the state's last seal, read at one instant (a decision
    writes them with the seal in one transaction, maybe in another process)."""
    with db.snapshot():
        sealed = last(db, family, key, case_id)
        if sealed is None:
            return []
        found = [p for p in [state_problem(_stored(db, family, key), sealed)] if p]
        return found + held_problem(db, family, key, case_id, sealed)


def held_problem(
    db: Database, family: str, key: str, case_id: str, sealed: dict[str, Any] | None = None
) -> list[str]:
    """Why what the state holds and refers to is not what its last seal recorded (one phrase in a list), or []
    (inside the caller's read transaction)."""
    sealed = sealed or last(db, family, key, case_id)
    if sealed is None or held_digest(db, family, key) == sealed.get("held"):
        return []
    return ["its holds or references are not the ones the audit chain sealed at the rules' last decision"]


def any_sealed(db: Database) -> bool:
    """Whether the chain sealed any state yet: from then on each decision of a sealed family leaves a seal."""
    return db.conn.execute("SELECT 1 FROM audit_log WHERE action = ? LIMIT 1", (SEALED,)).fetchone() is not None


def sealed(db: Database) -> list[tuple[str, str, str]]:
    """Every (family, key, case id) the chain ever sealed."""
    rows = db.conn.execute(
        "SELECT DISTINCT json_extract(detail, '$.family') AS family, json_extract(detail, '$.key') AS key, case_id"
        " FROM audit_log WHERE action = ?",
        (SEALED,),
    ).fetchall()
    return [(str(r["family"]), str(r["key"]), str(r["case_id"])) for r in rows]


def edited(db: Database) -> str | None:
    """The first sealed state (deleted ones included) that is not the one its last seal recorded, as one phrase
    naming it, or None: asked before any change on a held subject, since a state's holds are as unkeyed as
    the state (holds.refusal)."""
    for family, key, case_id in sealed(db):
        found = problems(db, family, key, case_id)
        if found:
            return f"{family} {key.replace(':', ' ', 1)}: {found[0]}"
    return None
