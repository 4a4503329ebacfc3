"""Staff commands on a case (one small handler each) and the answers given through one-time links (pure)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel import Locale

from whmcs_bridge.families.ownership.answers import (
    confirm_withdrawal,
    holder_recorded,
    late_link_answer,
    record_answer,
    requester_recorded,
    requester_while_executing,
)
from whmcs_bridge.families.ownership.case import (
    FINAL,
    by_whom,
    case_data,
    closed,
    due,
    evidence_item,
    note_of,
    replies_to_classify,
)
from whmcs_bridge.families.ownership.completion import complete, step_by_hand
from whmcs_bridge.families.ownership.execution import step_words
from whmcs_bridge.families.ownership.flow import advance, approve, link_answer, opened, resolve_dispute
from whmcs_bridge.families.ownership.policies import (
    CONTACT_FIELDS,
    Rules,
    and_words,
    case_refs,
    classify_command,
    evidence_fields,
    iso,
    label,
    msg_ref,
    ref,
    step,
    tell,
)
from whmcs_bridge.model import Action, Decision


def command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    what = data.get("command")
    if what == "open":
        if case:
            return Decision(state=case, due_at=due(case))  # the same command twice
        return opened(data, now, rules)
    if not case:
        raise ValueError(f"there is no ownership case {data.get('case')}")
    if what == "consent":
        return consent(case, data, now, rules)
    if what == "answer":  # an answer staff received: recorded even once the case is over
        return record_answer(case, data, now, rules)
    if case["status"] in FINAL:
        raise ValueError(f"case {case['id']} is {case['status']}: nothing more can change")
    handler = CASE_COMMANDS.get(str(what))
    if handler is None:
        raise ValueError(f"unknown ownership command {what!r}")
    return handler(case, data, now, rules)


def consent(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """A link answer; a link of a case that moved on changes nothing."""
    if case["status"] in FINAL:  # taken just before the case closed: staff hear it
        return late_link_answer(case, data, now, rules)
    if objects_after_notice(case, data):
        return link_objection(case, data, now, rules)
    if answered_late(case, data):
        return late_link_answer(case, data, now, rules)
    return link_answer(case, data, now, rules)


def objects_after_notice(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """A party declines through its own link once staff took another answer of its for consent (the holder's
    under review, the requester's once the holder was asked) or the case executes: its objection counts as one
    staff recorded would, not as a late answer."""
    if data.get("decision") == "accept":
        return False
    if data.get("purpose") == "ownership-requester":
        return case["status"] in ("notified", "review", "disputed", "executing")
    return case["status"] in ("review", "executing")


def answered_late(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """The holder answers through its link once the case no longer asks it: after the deadline it was told (the
    window ended; its page took the answer as late, break round 14 H6) or while its objection stands (L2). Kept, and
    staff get a ticket; an objection after the window ended counts as one (objects_after_notice)."""
    if data.get("purpose") == "ownership-requester" or case["status"] == "notified":
        return False
    return bool(data.get("late")) or case["status"] == "disputed"


def link_objection(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    party = "requester" if data.get("purpose") == "ownership-requester" else "holder"
    answer = {k: data.get(k) for k in ("decision", "reason", "ip", "user_agent", "at")}
    case.setdefault("answers", []).append({"party": party, **answer})
    note = f"through its link from {data.get('ip')}: {data.get('reason') or ''}"
    if party == "holder":
        return holder_recorded(case, "object", "holder", note, now, rules)
    if case["status"] == "executing":  # too late to stop by itself: it holds the case for staff
        record = {"answer": "object", "by": "requester", "via": "link", "note": note}
        return requester_while_executing(case, record, now, rules)
    step(case, now, "requester denied", "requester", f"{note} (after an answer recorded for it)")
    return requester_recorded(case, "object", now, rules)


CaseCommand = Callable[[dict[str, Any], dict[str, Any], datetime, Rules], Decision]


def confirm_draft(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "draft":
        raise ValueError(f"case {case['id']} is {case['status']}, not a draft")
    return opened({**case_data(case), **data}, now, rules, draft=case)


def attach(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    by = by_whom(data)
    same = [e for e in case.get("evidence", []) if e["sha256"] == data.get("sha256") and e["status"] != "withdrawn"]
    if same:  # one document counts once: the letter again as the signatory's ID proves nothing more
        e = same[0]
        raise ValueError(
            f"this file is already item {e['item']} ({e['kind']}, {e['status']}) of case {case['id']}: a document "
            "counts once; attach the document that is missing"
        )
    item: dict[str, Any] = {
        "item": len(case.get("evidence", [])) + 1,
        **{k: data.get(k) for k in ("sha256", "kind", "name", "media_type", "size", "from", "via", "ticket", "dated")},
        **({"message": str(data["message"])} if data.get("message") else {}),
        **({"source": str(data["source"])} if data.get("source") else {}),
        "received": iso(now),
        "by": by,
        "status": "pending",
        "checks": [],
    }
    case.setdefault("evidence", []).append(item)
    step(
        case,
        now,
        "evidence received",
        by,
        f"item {item['item']}: {item['kind']} from {item['from']} via {item['via']}"
        + (f" ({item['source']})" if item.get("source") else ""),
    )
    return advance(case, now, rules)


def check_evidence(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    item = evidence_item(case, data.get("item"))
    if item["status"] == "withdrawn":
        raise ValueError(f"item {item['item']} was withdrawn")
    status = "ok" if data.get("ok") else "rejected"
    if status == "rejected" and item["status"] != "rejected":
        void_approvals(case, item, "rejected", data, now)
    item["status"] = status
    return evidence_checked(case, item, data, now, rules)


def withdraw_evidence(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    item = evidence_item(case, data.get("item"))
    void_approvals(case, item, "withdrawn", data, now)
    item["status"] = "withdrawn"
    return evidence_checked(case, item, data, now, rules)


def void_approvals(case: dict[str, Any], item: dict[str, Any], how: str, data: dict[str, Any], now: datetime) -> None:
    """A document withdrawn (forged, sent by mistake) or re-checked and rejected (forged): the approvals given while
    it stood were given on it and are void, as after a late objection (twenty-fourth break round, ownership MEDIUM 4;
    one rule for both since the twenty-fifth, MEDIUM 8); the timeline says so."""
    if case.get("approvals") and case["status"] not in ("executing", *FINAL):
        given = ", ".join(a["by"] for a in case["approvals"])
        case["approvals"] = []
        step(case, now, "approvals void", by_whom(data), f"given by {given} before item {item['item']} was {how}")


def evidence_checked(
    case: dict[str, Any], item: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules
) -> Decision:
    """An item's new status is recorded; a rejected one is explained to the requester; the case may move on."""
    by, note = by_whom(data), note_of(data)
    item["checks"].append({"at": iso(now), "by": by, "result": item["status"], "note": data.get("note") or ""})
    step(case, now, f"evidence {item['status']}", by, f"item {item['item']} ({item['kind']}): {note}")
    actions = evidence_rejected(case, item, note, now, rules) if item["status"] == "rejected" else []
    out = advance(case, now, rules)
    return dataclasses.replace(out, actions=actions + out.actions)  # its milestones kept


def evidence_rejected(
    case: dict[str, Any], item: dict[str, Any], note: str, now: datetime, rules: Rules
) -> list[Action]:
    return tell(
        case,
        "requester",
        f"evidence-rejected-{item['item']}",
        rules,
        "ownership.evidence_rejected",
        document=item["kind"],
        item=item["item"],
        note=note,
        **evidence_fields(case, now),
    )


def not_handed_over(case: dict[str, Any], waiting: list[dict[str, Any]]) -> str:
    """Why `complete` refuses while subjects wait for their move, with what gets staff out: a whole account is handed
    over by making a user of the requester's its owner (Users > Make Owner), not by a move, and one WHMCS shows
    with another owner user waits for that, or for the case to be cancelled (twenty-sixth break round, ownership
    MEDIUM 9: "still belong to the holder: move them" named neither)."""
    account = next((s for s in waiting if s["kind"] == "client"), None)
    if account is None:
        names = ", ".join(label(s) for s in waiting)
        return f"{names} still belong to the holder in WHMCS: move them, the case completes by itself"
    mine, owner, was = case["requester"].get("owner_user"), account.get("owner_now"), account["holder_ref"]
    whom = f"user #{mine}, the owner of the requester's account," if mine else "a user of the requester's account"
    # A case is cancelled while executing only if nothing changed hands (nothing_moved): the holder's owner first.
    back = f"make user #{was} its owner again and cancel" if owner not in (None, was) else "cancel"
    return (
        f"client #{account['id']}'s owner in WHMCS is user #{owner or was}, not the requester's: make {whom} its "
        f"owner (Users > Make Owner) and the case completes by itself, or {back} the case (ownership cancel "
        f"{case['id']} --by NAME --note ...)"
    )


def approve_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    owners = data.get("owners") if isinstance(data.get("owners"), dict) else None
    held = data.get("contents") if isinstance(data.get("contents"), dict) else None
    return approve(case, by_whom(data), note_of(data), now, rules, str(data.get("os_user") or ""), owners, held)


def reject(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] not in ("collecting", "notified", "disputed", "review"):
        raise ValueError(f"case {case['id']} is {case['status']}: only a case under review can be rejected")
    case["status"] = "rejected"
    step(case, now, "rejected", by_whom(data), note_of(data))
    return closed(case, rules, "rejected", "rejected", note_of(data), now)


def cancel(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    read = data.get("owners_now") if isinstance(data.get("owners_now"), dict) else None
    stoppable = case.get("requester_objection") or case.get("gone") or nothing_moved(case, read)
    if case["status"] == "executing" and not stoppable:
        raise ValueError(f"case {case['id']} is executing: finish or undo the move in WHMCS first")
    if case["status"] == "executing":  # held by the requester's objection, a subject left WHMCS (execution
        # subject_left), or WHMCS shows nothing moved: ended once nothing sits with the requester
        kept = [s for s in case["subjects"] if s.get("moved_to") and s.get("owner_now") == s["moved_to"]]
        if read is not None:  # what WHMCS shows now, read by the command (staff.prepare)
            kept = [s for s in kept if read.get(ref(s)) not in (s["holder_ref"], None)]
        if kept:
            raise ValueError(
                f"{', '.join(label(s) for s in kept)} belong to the requester in WHMCS: move it back to the holder "
                "first (the bridge's next read sees it), then cancel"
            )
        planned = [e for e in case.get("steps", {}).values() if e["status"] == "planned"]
        if planned:  # it would still run after the case ended
            raise ValueError(
                f"the {and_words([step_words(e) for e in planned])} has not run: it is planned or parked (whmcs-bridge "
                "approvals list); reject it, then cancel"
            )
    case["status"] = "cancelled"
    step(case, now, "cancelled", by_whom(data), note_of(data))
    return closed(case, rules, "cancelled", "cancelled", note_of(data), now)


def nothing_moved(case: dict[str, Any], read: dict[str, Any] | None) -> bool:
    """Whether WHMCS, read by the cancel command, shows every moving subject still with its holder (or gone): an
    executing case in which nothing changed hands may be stopped (twenty-fourth break round, ownership MEDIUM 5)."""
    moving = [s for s in case["subjects"] if s.get("hand_over") == "move"]
    return read is not None and all(read.get(ref(s)) in (s["holder_ref"], None) for s in moving)


def resolve_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    outcome, by, note = str(data.get("outcome")), by_whom(data), note_of(data)
    if outcome == "objection-withdrawn" and case["status"] == "disputed":
        # The holder's objection turned into no objection on staff's word: two distinct listed staff, counted
        # with those who recorded its consent (record-answer), like any other end of an objection.
        waiting = confirm_withdrawal(case, by, str(data.get("os_user") or ""), "resolve", note, now)
        if waiting is not None:
            return waiting
        case.pop("consent_confirmations", None)
    return resolve_dispute(case, outcome, by, note, now, rules)


def complete_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "executing":
        raise ValueError(f"case {case['id']} is {case['status']}, not executing")
    held = case.get("requester_objection")
    if held:
        raise ValueError(
            f"the requester's objection recorded on {held['at'][:10]} by {held['by']} is not decided: record the "
            f"requester's consent first (ownership record-answer {case['id']} --party requester --answer consent "
            "--via ... --by NAME), or cancel the case once nothing sits with the requester"
        )
    replies = replies_to_classify(case)
    if replies:
        r = replies[0]
        raise ValueError(
            f"{msg_ref(r)} by {r['writer']} is not classified yet: it may be an objection; "
            f"record what it answers first ({classify_command(case['id'], r)})"
        )
    kept = data.get("kept") or {}
    # One WHMCS no longer has (deleted) is with nobody: it does not block the completion, the timeline says so
    # (twenty-fourth break round, ownership MEDIUM 5).
    moved_off = [s for s in case["subjects"] if kept.get(ref(s), s["holder_ref"]) not in (s["holder_ref"], None)]
    for s in (s for s in case["subjects"] if ref(s) in kept and kept[ref(s)] is None):
        step(case, now, "no longer in WHMCS", by_whom(data), f"{label(s)} is gone from WHMCS: nothing stays with its holder")
    if moved_off:
        names = ", ".join(
            f"{label(s)} ({s.get('hand_over')}: WHMCS shows it with client #{kept[ref(s)]})" for s in moved_off
        )
        raise ValueError(
            f"{names} was to stay with its holder under this case, which does not hand it over: move it back to the "
            "holder in WHMCS first (or cancel the case and open one that hands it over)"
        )
    waiting = [s for s in case["subjects"] if s.get("hand_over") == "move" and not s.get("moved_to")]
    if waiting:
        raise ValueError(not_handed_over(case, waiting))
    elsewhere = [
        s for s in case["subjects"] if s.get("hand_over") == "move" and s.get("owner_now") != s.get("moved_to")
    ]
    if elsewhere:
        names = ", ".join(f"{label(s)} (client #{s.get('owner_now')})" for s in elsewhere)
        raise ValueError(f"{names} no longer belong to the new holder in WHMCS: move them to it first")
    running = [e for e in case.get("steps", {}).values() if e["status"] == "planned"]
    if running:
        raise ValueError(
            f"the {and_words([step_words(e) for e in running])} has not run: it is planned or parked (whmcs-bridge "
            "approvals list); approve it to run again, or do it in WHMCS's admin area and record it with "
            f"`ownership record-step {case['id']} --step ... --subject ... --by NAME`, then complete"
        )
    return complete(case, now, rules, by=by_whom(data), note=note_of(data))


# ISO 3166-1 alpha-2, from the CLDR territories Babel ships, less the codes that are no country: regions
# (EU, EZ, QO, UN), private use and unknown (XA, XB, XK, ZZ), and the reservations (AC, CP, CQ, DG, EA, IC, TA)
# a registrar's country field does not take.
COUNTRIES = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2
    and code.isalpha()
    and code not in {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)


def requester_contact(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Staff give the contact details of a requester outside WHMCS (the domain's new registrant): what the
    registrant update writes instead of the old holder's address and phone."""
    requester = case["requester"]
    if requester.get("client"):
        raise ValueError(
            f"the requester is WHMCS client #{requester['client']}: its WHMCS profile supplies the registrant's "
            "contact when the case executes; correct it there"
        )
    given = {f: str(data[f]).strip() for f in CONTACT_FIELDS if str(data.get(f) or "").strip()}
    if not given:
        raise ValueError("give at least one of " + ", ".join(f"--{f}" for f in CONTACT_FIELDS))
    if "country" in given:
        given["country"] = given["country"].upper()
        if given["country"] not in COUNTRIES:
            raise ValueError(
                f"--country {data['country']!r}: expected the two-letter ISO code of a country (ISO 3166: ID, NL, FR)"
            )
    if "phone" in given:
        phone = re.sub(r"[\s\-()]", "", given["phone"])
        if not re.fullmatch(r"\+\d{1,3}\.\d{4,14}", phone):
            raise ValueError(f"--phone {data['phone']!r}: expected +CC.NUMBER, e.g. +62.215550100")
        given["phone"] = phone
    requester.update(given)
    step(case, now, "requester contact", by_whom(data), ", ".join(f"{k}: {v}" for k, v in given.items()))
    # A name is one of the parties' facts the opening recorded (policies.applied_policy): recorded again in the
    # keyed chain with the state, so that integrity compares the state with it (twenty-third round M6).
    named = {"case": case["id"], "subject": f"ownership:{case['id']}", "name": given.get("name")}
    milestones = [("requester_named", named)] if "name" in given else []
    return Decision(state=case, due_at=due(case), refs=case_refs(case), milestones=milestones)


# The commands on an open case (open and consent come first: they may find no case, or a final one).
CASE_COMMANDS: dict[str, CaseCommand] = {
    "confirm": confirm_draft,
    "attach": attach,
    "check": check_evidence,
    "withdraw": withdraw_evidence,
    "approve": approve_command,
    "reject": reject,
    "cancel": cancel,
    "resolve": resolve_command,
    "complete": complete_command,
    "contact": requester_contact,
    "step": step_by_hand,
}
