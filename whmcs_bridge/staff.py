"""Staff decisions recorded in the store: who may decide (the configured staff), approvals of held
actions, parked events, and staff commands submitted to the rules through the inbox."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_bridge import families
from whmcs_bridge.clock import iso
from whmcs_bridge.config.load import Config
from whmcs_bridge.config.reader import name_key
from whmcs_bridge.engine import Engine
from whmcs_bridge.errors import BridgeError, UsageProblem
from whmcs_bridge.model import State
from whmcs_bridge.pasted import masked
from whmcs_bridge.permissions import user_name
from whmcs_bridge.store import audit, inbox, outbox, planned, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.inbox import InboxEntry
from whmcs_bridge.store.outbox import OutboxEntry


def listed(config: Config, family: str | None = None) -> list[str]:
    """Who may decide for a family: its own `staff:` list if it has one, else the shared one. For the bridge as a
    whole (`audit key --new`, `audit acknowledge-rollback`: no family): the shared list and every family's own, so
    an install listing its staff only under `ownership:` names them (twenty-fourth round LOW)."""
    if family is None:
        names = list(config.staff) + [n for f in families.FAMILIES for n in _own_staff(config, f.name)]
        return list(dict.fromkeys(names))
    return _own_staff(config, family) or list(config.staff)


def _own_staff(config: Config, family: str) -> list[str]:
    return list(getattr(getattr(config, family, None), "staff", None) or [])


def member(config: Config, by: str, family: str | None = None) -> str:
    """`--by` as the configured list spells it (compared without case: `Alice` is `alice`), or a
    BridgeError naming the list. Names are the evidence of who decided: a free-text name is not."""
    names = listed(config, family)
    where = f"{family}.staff or staff" if family else "staff or a family's own (ownership.staff)"
    if not names:
        raise BridgeError(
            f"no staff are configured: list who may decide under `{where}` in the configuration, then give one with --by"
        )
    found = next((n for n in names if name_key(n) == name_key(by)), None)
    if found is None:
        raise BridgeError(f"--by {by!r} is not one of the configured staff ({', '.join(names)}; `{where}`)")
    return found


def os_user() -> str:
    """The operating-system user running the command, recorded beside the staff name, with the person's own
    login when the system can tell it (`caller`): under sudo the service user runs it for someone."""
    user = user_name()
    login = caller()
    return f"{user} (login {login})" if login and login != user else user


NO_LOGIN = 4294967295  # /proc/self/loginuid of a process no sign-in started (a service, a container's exec)


def caller() -> str | None:
    """Who signed in to run this, as the system knows it and the process cannot make up: the login uid the
    kernel kept from the sign-in (/proc/self/loginuid: kept across sudo and su, not settable by the user),
    else the user who ran sudo when a sudo process of that user really is an ancestor of this one. SUDO_USER
    alone is an environment variable anyone can set (found by the issue-17 break test: `SUDO_USER=bob`
    made one person two approvers). None when neither is known."""
    try:
        uid = int(Path("/proc/self/loginuid").read_text().strip())
    except (OSError, ValueError):
        uid = NO_LOGIN
    if uid != NO_LOGIN:
        return user_name(uid)
    sudo_uid = os.environ.get("SUDO_UID", "")
    if sudo_uid.isdigit() and _sudo_ancestor(int(sudo_uid)):
        return user_name(int(sudo_uid))
    return None


def _sudo_ancestor(uid: int) -> bool:
    """Whether a process named sudo whose real user is `uid` is an ancestor of this process."""
    pid = os.getppid()
    for _ in range(64):
        if pid <= 1:
            return False
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() == "sudo" and fields.get("Uid", "").split()[:1] == [str(uid)]:
            return True
        pid = int(fields.get("PPid", "0").strip() or 0)
    return False


def states_of(db: Database, family: str, prefix: str) -> list[State]:
    """A family's states whose key starts with `prefix` (e.g. every "case:"), oldest change first."""
    return [state for _, state in states.items(db, family, prefix)]


def state(db: Database, family: str, key: str, missing: str) -> State:
    """One family state; `missing` is the error when there is none (the command named it: a usage error)."""
    found = states.get(db, family, key)
    if found is None:
        raise UsageProblem(missing)
    return found


def awaiting(db: Database) -> list[OutboxEntry]:
    """Actions waiting for a staff decision: those that need approval, and parked ones."""
    return outbox.entries(db, statuses=outbox.WAITING)


def decide(
    db: Database, action_id: int, *, approve: bool, by: str, reason: str, now: datetime, config: Config | None = None
) -> dict[str, Any]:
    """Approve (the action runs on the next pass) or reject (it never runs) one held or parked action. With the
    configuration: where the action's family has listed staff (its own `staff:` or the shared one), `by` must be
    one of them, as that family's own commands require; the operating-system user is recorded beside it."""
    if not by.strip():
        raise BridgeError("say who decides (--by NAME): approvals are recorded in the audit chain")
    with db.atomic():
        entry = outbox.get(db, action_id)
        if entry is None:
            raise UsageProblem(f"there is no action {action_id}; `whmcs-bridge approvals list` shows the waiting ones")
        if entry.status not in outbox.WAITING:
            raise BridgeError(f"action {action_id} is {entry.status}, not waiting for a decision")
        if config is not None:
            family = entry.family if hasattr(config, entry.family) else None
            if listed(config, family):
                by = member(config, by, family)
        spec = next((f for f in families.FAMILIES if f.name == entry.family), None)
        refused = spec.approval_refusal(db, entry) if approve and spec else None
        end = planned.ended(db, entry.key, entry.client_id) if approve else None
        if end:  # its row moved back by SQL to waiting (store/planned.py standing_problem)
            refused = planned.ended_why(end)
        if refused:
            raise BridgeError(f"action {action_id} cannot be approved now: {refused}")
        status = outbox.record_decision(db, entry, approve=approve, by=by, reason=reason, now=now)
        if not approve:  # a rule waiting on the action hears that it will never run, and whether a try called WHMCS
            outbox.report_outcome(db, entry, "rejected", now, by=by, reason=reason, tried=entry.attempts > 0)
        audit.append(
            db,
            "staff.approved" if approve else "staff.rejected",
            actor=f"staff:{by}",
            client_id=entry.client_id,
            subject=entry.subject,
            detail={
                "action": action_id,
                "key": entry.key,
                "kind": entry.kind,
                "reason": reason,
                "was": entry.status,
                "os_user": os_user(),
            },
            at=iso(now),
        )
    return {"id": action_id, "key": entry.key, "status": status}


def parked_events(db: Database) -> list[InboxEntry]:
    return inbox.entries(db, status="parked")


def retry_event(db: Database, inbox_id: int, *, by: str, now: datetime) -> None:
    with db.atomic():
        entry = inbox.get(db, inbox_id)
        if entry is None or entry.status != "parked":
            raise BridgeError(f"event {inbox_id} is not parked; `whmcs-bridge events parked` lists the parked ones")
        inbox.requeue(db, inbox_id)
        audit.append(
            db,
            "staff.event_retried",
            actor=f"staff:{by}",
            subject=f"event:{entry.event_id}",
            detail={"type": entry.type, "error": entry.error},
            at=iso(now),
        )


def submit(
    db: Database,
    config: Config,
    kind: str,
    data: dict[str, Any],
    *,
    by: str,
    client_id: int | None,
    now: datetime,
    case_id: str | None = None,
) -> None:
    """A staff command goes through the inbox like any event, so the rules decide and the audit chain
    records it; the engine runs at once so it takes effect now (actions follow on the next pass). The command
    checked the case before it was submitted; events taken first (another member of staff's command, a reply
    read meanwhile) may have changed it: a command the rules then refuse is a BridgeError saying why, recorded as
    refused, never a parked event."""
    event_id = f"cli:{uuid.uuid4().hex}"
    # A code or password staff typed into a note is never kept either (pasted.py; sixteenth round M3).
    data = {k: masked(v) if k in TYPED and isinstance(v, str) else v for k, v in data.items()}
    with db.atomic():
        inbox.add(
            db,
            event_id=event_id,
            type=kind,
            source="cli",
            body={"type": kind, "occurred_at": iso(now), "data": data},
            occurred_at=iso(now),
            received_at=now,
        )
        audit.append(
            db,
            f"staff.{kind}.{data.get('command')}",
            actor=f"staff:{by}",
            client_id=client_id,
            case_id=case_id,
            detail=data,
            at=iso(now),
        )
    decide_through(Engine(db, families.enabled(config)), db, event_id, now)
    refused(db, event_id, kind, data, by=by, client_id=client_id, case_id=case_id, now=now)


def decide_through(engine: Engine, db: Database, event_id: str, now: datetime) -> None:
    """Run the engine until the command `event_id` is decided: the events before it first, in their order (a reply
    read meanwhile is decided before the approval typed after it), however many wait. One pass decides at most
    500: behind a burst of WHMCS's cron, a revocation waited for the next passes while the executor sent what the
    grant had queued (twenty-third break round, delegation HIGH 1). Bounded by what waited when it was added."""
    for _ in range(inbox.pending_count(db) // 500 + 2):
        engine.run_once(now)
        entry = inbox.by_event_id(db, event_id)
        if entry is None or entry.status != "pending":
            return


# The words staff type into a command (`--note`, `--reason`, a grant's `--basis`), which may hold a pasted secret.
TYPED = ("note", "reason", "message", "basis")
REFUSED = "ValueError: "  # how the engine records an event a rule refused (a transition the state does not allow)


def refused(
    db: Database,
    event_id: str,
    kind: str,
    data: dict[str, Any],
    *,
    by: str,
    client_id: int | None,
    case_id: str | None,
    now: datetime,
) -> None:
    """Raise if the rules did not take the submitted command: refused (recorded as such, not parked) or failed
    (parked, for `events parked` once the cause is fixed)."""
    row = inbox.by_event_id(db, event_id)
    if row is None or row.status != "parked":
        return
    error = str(row.error or "")
    if not error.startswith(REFUSED):
        raise BridgeError(f"the rules failed on the command ({error}); it is parked: see `whmcs-bridge events parked`")
    why = error.removeprefix(REFUSED)
    with db.atomic():
        inbox.refuse(db, row.id, now, why)
        audit.append(
            db,
            f"staff.{kind}.refused",
            actor=f"staff:{by}",
            client_id=client_id,
            case_id=case_id,
            detail={"command": data.get("command"), "why": why, "event": event_id},
            at=iso(now),
        )
    what = f"`{data['command']}`" if data.get("command") else "the command"
    raise BridgeError(f"not done: {what} was refused when the rules took it, after the case changed: {why}")
