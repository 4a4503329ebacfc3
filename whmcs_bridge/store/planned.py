"""Each action bound to the keyed audit chain: the outbox is not keyed, so the `engine.action_planned` row that
records an action carries the SHA-256 of what the rules planned (its kind, parameters, client, subject, guard and
whether it is destructive or waits for staff), and each time the executor keeps more in its parameters before the
call (its message rendered, what it read of WHMCS first) an `executor.params_kept` row carries the new one. An
action whose row is not the one the chain last recorded was edited in the database outside the bridge (another
domain put in an approved registrant update: twenty-fifth break round, HIGH 3): it is parked before it runs, and
`audit verify` names it. Actions planned before the chain recorded these (no SHA-256 in their row) run as before."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.model import Action
from whmcs_bridge.store import audit, outbox
from whmcs_bridge.store.chain_head import canonical
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry

PLANNED = "engine.action_planned"
KEPT = "executor.params_kept"
# What the executor plans itself beside an outcome (a cancelling guard's client note, the trace line in WHMCS's
# activity log): recorded by the outcome's row (its `lines`: each line's key and SHA-256), not by one of their own.
# Their event id names that outcome: its prefix, the outcome's action in the chain.
OWN_LINES: dict[str, tuple[str, ...]] = {"client_note": ("cancelled:",), "activity": ("done:", "found:")}
OUTCOME_OF = {"cancelled": "executor.cancelled", "done": "executor.done", "found": "executor.done"}
UNFINISHED = ("planned", "awaiting_approval", "in_flight", "parked")


def digest(
    *,
    kind: str,
    params: dict[str, Any],
    client_id: int | None,
    subject: str | None,
    guard: dict[str, Any],
    destructive: bool,
    needs_approval: bool,
) -> str:
    """The SHA-256 of an action as the outbox stores it (its parameters and guard as JSON read back)."""
    content = {
        "kind": kind,
        "params": json.loads(json.dumps(params, sort_keys=True, default=str)),
        "client_id": client_id,
        "subject": subject,
        "guard": json.loads(json.dumps(guard, sort_keys=True, default=str)),
        "destructive": bool(destructive),
        "needs_approval": bool(needs_approval),
    }
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def of_action(action: Action) -> str:
    return digest(
        kind=action.kind,
        params=action.params,
        client_id=action.client_id,
        subject=action.subject,
        guard=action.guard,
        destructive=action.is_destructive,
        needs_approval=action.needs_approval,
    )


def of_entry(entry: OutboxEntry, params: dict[str, Any] | None = None) -> str:
    return digest(
        kind=entry.kind,
        params=entry.params if params is None else params,
        client_id=entry.client_id,
        subject=entry.subject,
        guard=entry.guard,
        destructive=entry.destructive,
        needs_approval=entry.needs_approval,
    )


def keep_params(db: Database, entry: OutboxEntry, params: dict[str, Any], at: str | None = None) -> None:
    """Keep what the action will send in its row, and its new SHA-256 in the chain (one transaction)."""
    with db.atomic():
        outbox.set_params(db, entry, params)
        audit.append(
            db,
            KEPT,
            actor="executor",
            client_id=entry.client_id,
            subject=entry.subject,
            detail={"key": entry.key, "kind": entry.kind, "digest": of_entry(entry, params)},
            at=at or iso(utcnow()),
        )


def recorded(db: Database, key: str, client_id: int | None) -> str | None:
    """The SHA-256 the chain last recorded for the action with this key, or None (none recorded)."""
    found = None
    for action in (PLANNED, KEPT):
        # A detail that is not JSON is named by the chain's own check (audit.verify), not failed on here; the
        # client narrows the rows read (audit_client), a row whose client was changed finds none.
        row = db.conn.execute(
            "SELECT id, CASE WHEN json_valid(detail) THEN json_extract(detail, '$.digest') END AS digest"
            " FROM audit_log WHERE action = ? AND client_id IS ?"
            " AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.key') END = ? ORDER BY id DESC LIMIT 1",
            (action, client_id, key),
        ).fetchone()
        if row is not None and row["digest"] is not None and (found is None or row["id"] > found[0]):
            found = (row["id"], str(row["digest"]))
    return found[1] if found else None


def first_bound(db: Database) -> int | None:
    """The outbox id of the first action whose planning the chain recorded with its SHA-256: every action
    planned since has its own row."""
    row = db.conn.execute(
        "SELECT MIN(CASE WHEN json_valid(detail) THEN json_extract(detail, '$.row') END) AS first FROM audit_log"
        " WHERE action = ?",
        (PLANNED,),
    ).fetchone()
    return int(row["first"]) if row and row["first"] is not None else None


def problem(db: Database, entry: OutboxEntry) -> str | None:
    """Why this action may not run: it is not the one the chain recorded (one sentence naming it), or None."""
    expected = recorded(db, entry.key, entry.client_id)
    if expected is None:
        prefixes = OWN_LINES.get(entry.kind)
        if prefixes and (entry.event_id or "").startswith(prefixes):
            why = own_line_problem(db, entry)  # the executor's own line, recorded by the outcome that planned it
            if why is None:
                return standing_problem(db, entry)
        else:
            first = first_bound(db)
            if first is None or 1 <= entry.id < first:  # ids start at 1 and the bridge deletes no action: each id
                return None  # below the first recorded one is an action planned before the chain recorded SHA-256s
            why = "the audit chain recorded no such action planned"
    elif expected != of_entry(entry):
        why = "its parameters, client, subject or guard are not the ones the audit chain recorded when it was planned"
    else:
        return standing_problem(db, entry)
    return (
        f"action {entry.key} ({entry.kind}): its row in the database was edited outside the bridge ({why}), so it "
        "does not run: restore the state from a backup and check the chain with `whmcs-bridge audit verify`"
    )


def of_line(action: Action) -> str:
    """The SHA-256 of a line the executor plans beside an outcome (never destructive: outbox.enqueue's argument)."""
    return digest(
        kind=action.kind,
        params=action.params,
        client_id=action.client_id,
        subject=action.subject,
        guard=action.guard,
        destructive=False,
        needs_approval=action.needs_approval,
    )


def own_line_problem(db: Database, entry: OutboxEntry) -> str | None:
    """Why a row shaped like the executor's own line is not one (twenty-seventh break round, ownership MEDIUM 6: a
    client note inserted by SQL with the event id `cancelled:<its key>` was written into WHMCS as a sticky note in
    the bridge's words), or None: the outcome row of the action its event id names records its key and SHA-256.
    Outcome rows written before the chain recorded lines (none of them has `lines`) back their lines as before."""
    prefix, _, key = str(entry.event_id).partition(":")
    rows = db.conn.execute(
        "SELECT detail FROM audit_log WHERE action = ? AND client_id IS ? AND json_valid(detail)"
        " AND json_extract(detail, '$.key') = ?",
        (OUTCOME_OF[prefix], entry.client_id, key),
    ).fetchall()
    outcomes = [d for d in (json.loads(r["detail"]) for r in rows) if isinstance(d, dict)]
    if outcomes and all("lines" not in d for d in outcomes):
        return None
    lines: list[dict[str, Any]] = [d["lines"] for d in outcomes if isinstance(d.get("lines"), dict)]
    if any(line.get(entry.key) == of_entry(entry) for line in lines):
        return None
    if any(entry.key in line for line in lines):
        return "its parameters, client, subject or guard are not the ones the audit chain recorded when it was planned"
    return f"the audit chain recorded no outcome of {key or 'an action'} that planned it"


# The chain's rows that say where an action stands: its planning, staff's decisions, the executor's outcomes.
STANDING = (PLANNED, KEPT, "staff.approved", "staff.rejected", "executor.parked", "executor.done", "executor.cancelled")
WITHDRAWN = "%.approval_withdrawn"  # a rule's waiting step it no longer wants (engine.withdraw)
RUNNABLE = ("planned", "in_flight")


def standing(db: Database, key: str, client_id: int | None) -> dict[str, Any] | None:
    """The last row of the chain that says where the action with this key stands (its action, at, detail)."""
    row = db.conn.execute(
        "SELECT action, at, CASE WHEN json_valid(detail) THEN detail END AS detail FROM audit_log"
        f" WHERE (action IN ({','.join('?' * len(STANDING))}) OR action LIKE ?) AND client_id IS ?"
        " AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.key') END = ? ORDER BY id DESC LIMIT 1",
        (*STANDING, WITHDRAWN, client_id, key),
    ).fetchone()
    if row is None:
        return None
    return {"action": str(row["action"]), "at": str(row["at"]), "detail": json.loads(row["detail"] or "{}")}


def ended(db: Database, key: str, client_id: int | None) -> tuple[str, str] | None:
    """The first end the chain recorded for the action with this key (its row's action and when), if any: done,
    rejected by staff, cancelled by the executor, or withdrawn by its rule. Each is final, so the action never runs
    again whatever its status says (a rejected renewal set back to `parked` by SQL, then approved, ran:
    twenty-seventh break round, delegation HIGH 3; one done moved back would run twice)."""
    row = db.conn.execute(
        "SELECT action, at FROM audit_log"
        " WHERE (action IN ('executor.done', 'staff.rejected', 'executor.cancelled') OR action LIKE ?)"
        " AND client_id IS ? AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.key') END = ?"
        " ORDER BY id LIMIT 1",
        (WITHDRAWN, client_id, key),
    ).fetchone()
    return (str(row["action"]), str(row["at"])) if row else None


def ended_why(end: tuple[str, str]) -> str:
    action, at = end
    if action == "executor.done":
        return f"the audit chain recorded it done at {at}: reject it, it would run twice"
    return f"the audit chain recorded it ended at {at} ({action}): reject it, it may not run"


def standing_problem(db: Database, entry: OutboxEntry) -> str | None:
    """An action whose status lets it run, or offers it to staff, though the chain says it may not (its `status` is
    in no hash: a row moved from waiting for staff, parked or ended to `planned`, `parked` or `awaiting_approval`
    by SQL): one sentence naming it, or None. A row found in flight after the chain recorded it done is left to
    reconciliation, which looks in WHMCS before any call."""
    if entry.status not in UNFINISHED:
        return None
    end = ended(db, entry.key, entry.client_id)
    if end and not (entry.status == "in_flight" and end[0] == "executor.done"):
        why = ended_why(end)
    elif entry.status in RUNNABLE:
        last = standing(db, entry.key, entry.client_id)
        if last is None:
            return None
        if last["action"] == PLANNED and last["detail"].get("needs_approval"):
            why = "it waits for a staff decision, and the audit chain recorded none"
        elif last["action"] == "executor.parked":
            why = f"it was parked at {last['at']}, and the audit chain recorded no staff decision since"
        else:
            return None
    else:
        return None
    return (
        f"action {entry.key} ({entry.kind}): its status in the database was edited outside the bridge ({why}), so it "
        "does not run: decide it with `whmcs-bridge approvals`, and check the chain with `whmcs-bridge audit verify`"
    )


def edited(db: Database) -> list[str]:
    """One sentence for each action not yet ended whose row is not the one the chain recorded, then for each action
    shown ended in a way the chain never recorded (`audit verify`)."""
    with db.snapshot():
        found = [p for p in (problem(db, e) for e in outbox.entries(db, statuses=UNFINISHED)) if p]
        return found + ended_unrecorded(db)


# How the chain records each end an action may show: the executor's outcome, staff's rejection, a rule withdrawing it.
ENDS = {"done": ("executor.done",), "cancelled": ("executor.cancelled", WITHDRAWN), "rejected": ("staff.rejected",)}


def ended_unrecorded(db: Database) -> list[str]:
    """Actions shown done, cancelled or rejected with no such end in the chain: a status set by SQL (an ex-holder's
    login removal shown done never ran: twenty-sixth break round, ownership MEDIUM 12). Actions planned before the
    chain recorded them are left out, as in `problem`."""
    first = first_bound(db)
    if first is None:
        return []
    recorded: dict[tuple[str, int | None], set[str]] = {}
    rows = db.conn.execute(
        "SELECT action, client_id, json_extract(detail, '$.key') AS key FROM audit_log"
        " WHERE (action IN ('executor.done', 'executor.cancelled', 'staff.rejected') OR action LIKE ?)"
        " AND json_valid(detail)",
        (WITHDRAWN,),
    )
    for row in rows:
        end = WITHDRAWN if str(row["action"]).endswith(".approval_withdrawn") else str(row["action"])
        recorded.setdefault((str(row["key"]), row["client_id"]), set()).add(end)
    return [
        f"action {e.key} ({e.kind}) shows {e.status} at {e.finished_at}, but the audit chain recorded no such end: its "
        "status was edited in the database outside the bridge; restore the state from a backup"
        for e in outbox.entries(db, statuses=tuple(ENDS))
        if e.id >= first and not recorded.get((e.key, e.client_id), set()) & set(ENDS[e.status])
    ]
