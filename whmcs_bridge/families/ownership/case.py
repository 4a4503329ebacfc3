"""An ownership case as data, and the small facts every step reads from it (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.ownership.policies import (
    Rules,
    case_refs,
    party_notes,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.model import Action, Decision, as_int

OPEN = ("draft", "collecting", "notified", "disputed", "review", "approved", "executing")


FINAL = ("completed", "rejected", "cancelled")


def by_whom(data: dict[str, Any]) -> str:
    return str(data.get("by") or "staff")


def note_of(data: dict[str, Any]) -> str:
    return str(data.get("note") or "")


def case_data(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case[k] for k in ("id", "subjects", "holder", "requester", "grounds", "note")}


def evidence_item(case: dict[str, Any], number: Any) -> dict[str, Any]:
    for item in case.get("evidence", []):
        if item["item"] == as_int(number):
            return item
    raise ValueError(f"case {case['id']} has no evidence item {number}")


def checked_by(item: dict[str, Any]) -> str:
    """Who checked an evidence item and what each found, once per person and result, in order
    ("alice (rejected), bob (ok)"): a second identical check by the same person adds nothing to read."""
    return ", ".join(dict.fromkeys(f"{c['by']} ({c.get('result') or '?'})" for c in item.get("checks") or []))


def hand_over(case: dict[str, Any], subject: dict[str, Any]) -> str:
    """move, backup-only or none: what this subject may get given the holder's answer."""
    policy = case["policies"][subject["policy"]]
    if policy["consent"] in ("notice", "none") or case.get("holder_consent") or case.get("court_order"):
        return "move"
    return "backup-only" if policy["without_consent"] == "backup-only" else "none"


# Before the approval, WHMCS is watched for a move of any subject (watch.py): none may change hands yet.
BEFORE_APPROVAL = ("collecting", "notified", "review")


def due(case: dict[str, Any]) -> datetime | None:
    """When the case's next tick is due: its own deadline, or the next read of WHMCS while it is open."""
    times = [t for t in (status_due(case), watch_due(case)) if t is not None]
    return min(times) if times else None


def watch_due(case: dict[str, Any]) -> datetime | None:
    if case.get("status") not in BEFORE_APPROVAL:
        return None
    return datetime.fromisoformat(case.get("next_check") or case["history"][-1]["at"])


def status_due(case: dict[str, Any]) -> datetime | None:
    """The deadline of the case's status: the holder's reminder or window end, the next read while executing or
    disputed, the lock's end."""
    status = case.get("status")
    if status == "notified" and case.get("window_wait_next"):  # its end waits for WHMCS's tickets (timers.py)
        return datetime.fromisoformat(case["window_wait_next"])
    if status == "notified":
        deadline = datetime.fromisoformat(case["deadline"])
        remind = deadline - timedelta(seconds=case.get("remind_s", 0))
        return (
            remind
            if not case.get("reminded") and case.get("remind_s") and remind > datetime.fromisoformat(case["notified"])
            else deadline
        )
    if status == "executing":
        return datetime.fromisoformat(case["next_check"])
    if status == "disputed":  # WHMCS is watched for a move of the frozen subjects (watch.py)
        return datetime.fromisoformat(case.get("next_check") or case["history"][-1]["at"])
    if status == "completed" and not case.get("lock_ended") and case.get("lock_until"):
        lock_until = datetime.fromisoformat(case["lock_until"])
        return min(lock_until, datetime.fromisoformat(case["next_check"])) if case.get("next_check") else lock_until
    return None


def requester_wrote(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The requester's replies and new tickets staff have not classified yet: until they record whether the
    requester still wants the case (record-answer --party requester), the holder is not asked and nothing is
    approved."""
    return [r for r in case.get("replies", []) if r["party"] == "requester" and not r.get("classified")]


def replies_to_classify(case: dict[str, Any]) -> list[dict[str, Any]]:
    """What anyone wrote in the case's threads that staff have not classified yet (record-answer): it may be an
    objection, so nothing is handed over until they have."""
    return [r for r in case.get("replies", []) if not r.get("classified")]


def unchanged(case: dict[str, Any]) -> Decision:
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def closed(
    case: dict[str, Any], rules: Rules, what: str, outcome: str, note: str = "", now: datetime | None = None
) -> Decision:
    """The case ended without a change: the requester is told, and the holder if it was asked. What the bridge
    already did in WHMCS for an approval (a registrant update, a transfer lock) stays there: staff hear which, to
    undo it (left_in_whmcs). outcome: rejected, cancelled, declined (the requester's link) or withdrawn (the request)."""
    actions = [
        action
        for party in ("requester", "holder")
        if party == "requester" or case.get("notified")
        for action in tell(case, party, what, rules, "ownership.closed", outcome=outcome, note=note)
    ]
    return Decision(
        state=case,
        actions=[*actions, *party_notes(case, what), *left_in_whmcs(case, rules, now)],
        due_at=None,
        refs=case_refs(case),
    )


# What staff read of each execution step the bridge ran (execution.STEP_WORDS, kept here for the closed case).
UNDO_WORDS = {
    "registrant_update": "registrant update",
    "domain_lock": "transfer lock",
    "remove_user": "holder's login removed",
}


def left_in_whmcs(case: dict[str, Any], rules: Rules, now: datetime | None) -> list[Action]:
    """The execution steps that ran in WHMCS before the case closed (`left_in_whmcs`, shown by `ownership show`
    and the command that closed it), in the timeline and one staff ticket naming what to put back."""
    ran = [e for e in case.get("steps", {}).values() if e["status"] == "done" and e["kind"] in UNDO_WORDS]
    if not ran:
        return []
    case["left_in_whmcs"] = [f"{UNDO_WORDS[e['kind']]} of {e['subject'].replace(':', ' #')}" for e in ran]
    if now is not None:
        step(case, now, "left in WHMCS", "bridge", f"for staff to undo: {', '.join(case['left_in_whmcs'])}")
    return [
        staff_ticket(
            case, rules, "left-in-whmcs", "ownership.staff_closed_steps_ran",
            registrant_changed=[e["subject"] for e in ran if e["kind"] == "registrant_update"],
            locked=[e["subject"] for e in ran if e["kind"] == "domain_lock"],
        )
    ]  # fmt: skip
