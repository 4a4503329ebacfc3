"""What an open, disputed or locked case watches in WHMCS (pure): a subject of a case not approved yet or frozen
by a dispute must stay with its holder, one locked after completion with its new holder. WHMCS's admin area can move a service or a domain
without the bridge; a move seen there is recorded in the case and raised to staff by ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import BEFORE_APPROVAL, due
from whmcs_bridge.families.ownership.policies import Rules, act, case_refs, iso, label, ref, staff_ticket, step
from whmcs_bridge.model import Action, Decision


def locked(case: dict[str, Any]) -> bool:
    return case.get("status") == "completed" and not case.get("lock_ended")


def watched(case: dict[str, Any]) -> list[dict[str, Any]]:
    """While open (not approved yet) or disputed: every subject (nothing may change). While locked: only what
    changed hands (a backup-only or refused subject stayed with its holder and is not locked). A whole account
    brings what it holds (held_by_account)."""
    if case.get("status") == "disputed" or case.get("status") in BEFORE_APPROVAL:
        subjects = list(case["subjects"])
    elif locked(case):
        subjects = [s for s in case["subjects"] if s.get("moved_to")]
    else:
        return []
    return subjects + held_by_account(subjects)


def held_by_account(subjects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services and domains of each whole account among `subjects`, as WHMCS showed them at the last approval,
    else when the case opened: each must stay in the account, which is what changes hands. Moved out of it in
    WHMCS's admin area, it would leave the claim (or the lock) unseen (break round 19, MEDIUM 1)."""
    named = {ref(s) for s in subjects}
    items = []
    for s in subjects:
        if s["kind"] != "client":
            continue
        for item in s.get("contents_approved", s.get("contents") or []):
            kind, item_id = str(item).split(":")
            if item not in named:
                named.add(item)
                items.append({"kind": kind, "id": int(item_id), "in_account": int(s["id"])})
    return items


def expected(case: dict[str, Any], subject: dict[str, Any]) -> tuple[Any, ...]:
    """Where the subject may be: disputed, with its holder, or where it had moved before the objection stopped
    the execution (staff may leave it there or move it back); locked, with its new holder. What a whole account
    holds stays in the account, whoever owns the account."""
    if "in_account" in subject:
        return (subject["in_account"],)
    if case["status"] == "disputed":
        return (subject["holder_ref"], subject["moved_to"]) if subject.get("moved_to") else (subject["holder_ref"],)
    if case["status"] in BEFORE_APPROVAL:
        return (subject["holder_ref"],)
    return (subject["moved_to"],)


def read_watched(case: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    """Read who owns the watched subjects now, and again after `check_every`."""
    subjects = watched(case)
    case["checks"] = case.get("checks", 0) + 1
    case["next_check"] = iso(now + rules.section.check_every)
    if not subjects:
        return []
    params = {
        "subjects": [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in subjects],
        "report": {"case": case["id"]},
        # read again every check_every while nothing happens: a projection folds these (engine.routine)
        "every_s": int(rules.section.check_every.total_seconds()),
    }
    return [act(case, "read_owners", f"watch-{case['checks']}", params, case["holder"].get("client"))]


def watched_owners(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Owners read while frozen or locked: each subject found with another client than it should have is
    recorded once (per new owner) and raised to staff in one ticket per client it went to."""
    owners = data.get("owners") or {}
    frozen = "open" if case["status"] in BEFORE_APPROVAL else "disputed" if case["status"] == "disputed" else "locked"
    moved: dict[int, list[str]] = {}
    seen = case.setdefault("moved_while_frozen", [])
    for s in watched(case):
        owner = owners.get(ref(s))
        if owner is None or owner in expected(case, s) or [ref(s), owner] in seen:
            continue
        seen.append([ref(s), owner])
        step(case, now, f"moved in WHMCS while {frozen}", "staff", f"{label(s)} now belongs to #{owner}")
        moved.setdefault(int(owner), []).append(ref(s))
    actions = [
        staff_ticket(
            case,
            rules,
            f"moved-{frozen}-{client}-{len(seen)}",
            "ownership.staff_moved_while_frozen",
            moving=subjects,
            moved_to=client,
            frozen=frozen,
        )
        for client, subjects in moved.items()
    ]
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))
