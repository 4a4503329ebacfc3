"""Ownership-change documentation (SPEC §4.3), as a pure decide_all().

A case: subjects (services, domains, whole accounts) held by one client, a requester (a client or an
outside company), grounds, and the policy that applies, snapshotted when the case opens.

    draft -> collecting -> notified (deadline) -> review -> approved -> executing -> completed (lock)
                                |  consented ----^   ^-- objection withdrawn / court order
                                '-> disputed (frozen)
    any open state -> cancelled; review -> rejected

Transitions happen only when their conditions hold: the holder is notified once every required piece
of evidence is checked (and fresh enough) and the requester has confirmed; review comes with the
holder's consent or when the window ends; approval needs the policy's number of distinct staff.

State keys: `case:ID`, and `draft:ticket:ID` while a ticket that asks for ownership is resolved.
Events: OwnershipCommand (staff commands and link answers), Tick (deadlines, reminders, checks),
OwnershipOwners (who owns the subjects now, read while executing), TicketOpen then TicketResolved
(a draft case), OwnershipTicket (the ids of the case's ticket threads).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.ownership.config import OwnershipSection
from whmcs_bridge.families.ownership.policies import (  # noqa: F401  (match_policy, whois_xml: re-exported)
    FAMILY,
    Rules,
    act,
    case_refs,
    checklist,
    is_request,
    iso,
    label,
    link_spec,
    match_policy,
    missing_evidence,
    needs_text,
    party_kind,
    party_name,
    registrant,
    requirements,
    side_effects,
    snapshot,
    staff_ticket,
    step,
    subjects_text,
    tell,
    whois_xml,
)
from whmcs_bridge.model import Action, Decision, Event, Hold, State, action_key, as_int
from whmcs_bridge.names import domain_names

OPEN = ("draft", "collecting", "notified", "disputed", "review", "approved", "executing")
FINAL = ("completed", "rejected", "cancelled")


class Ownership:
    name = FAMILY
    tracks_client_services = False

    def __init__(
        self,
        rules: OwnershipSection,
        *,
        department_id: int | None = None,
        staff_email: str | None = None,
        links: bool = True,
    ) -> None:
        self.rules = rules
        self.department_id = rules.department_id or department_id
        self.staff_email = staff_email
        self.links = links

    def route(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type in ("OwnershipCommand", "OwnershipOwners", "OwnershipTicket") and data.get("case"):
            return [f"case:{data['case']}"]
        if event.type == "TicketOpen" and as_int(data.get("ticketid")) and is_request(data, self.rules):
            return [f"draft:ticket:{as_int(data.get('ticketid'))}"]
        if event.type == "TicketResolved" and data.get("requested_by") == FAMILY and data.get("state_key"):
            return [str(data["state_key"])]
        return []

    def refs(self, event: Event) -> Sequence[str]:
        return []

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        return {key: self.decide_one(state, event, now, key) for key, state in states.items()}

    def decide_one(self, state: State, event: Event, now: datetime, key: str = "") -> Decision:
        decision = self._decide(state, event, now, key)
        if decision.state is None or not str(decision.state.get("id") or "") or key.startswith("draft:"):
            return decision
        return dataclasses.replace(decision, holds=holds(decision.state))

    def _decide(self, state: State, event: Event, now: datetime, key: str) -> Decision:
        case = json.loads(json.dumps(state)) if state else {}
        rules = Rules(self.rules, self.department_id, self.staff_email, self.links)
        if event.type == "TicketOpen":
            return draft_lookup(event.data, key, now)
        if event.type == "TicketResolved":
            return draft_case(event.data, now, rules)
        if event.type == "OwnershipCommand":
            return command(case, event.data, now, rules)
        if not case:
            return Decision(state=None)
        if event.type == "Tick":
            return tick(case, now, rules)
        if event.type == "OwnershipOwners":
            return owners_read(case, event.data, now, rules)
        if event.type == "OwnershipTicket":
            case.setdefault("tickets", {})[str(event.data["party"])] = as_int(event.data.get("ticket_id"))
            return Decision(state=case, due_at=due(case))
        return Decision(state=case, due_at=due(case))


def holds(case: State) -> list[Hold]:
    """What a case stops other families from changing: its subjects and the holder's whole account,
    while it is disputed (until resolved) and after completion (until the lock ends)."""
    if case.get("status") == "disputed":
        reason = f"ownership case {case['id']} on it is disputed: nothing changes until it is resolved"
        until = None
    elif case.get("status") == "completed" and not case.get("lock_ended") and case.get("lock_until"):
        reason = f"ownership case {case['id']} completed on {case['completed'][:10]}: it is locked until {case['lock_until'][:10]}"
        until = datetime.fromisoformat(case["lock_until"])
    else:
        return []
    subjects = [f"{s['kind']}:{int(s['id'])}" for s in case.get("subjects") or []]
    holder = (case.get("holder") or {}).get("client")
    if holder:
        subjects.append(f"client:{int(holder)}")
    return [Hold(subject, reason, until) for subject in dict.fromkeys(subjects)]


# --- commands -------------------------------------------------------------------------------------


def command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    what = data.get("command")
    if what == "open":
        if case:
            return Decision(state=case, due_at=due(case))  # the same command twice
        return opened(data, now, rules)
    if not case:
        raise ValueError(f"there is no ownership case {data.get('case')}")
    if what == "consent":  # a link answer; a link of a case that moved on changes nothing
        return link_answer(case, data, now, rules)
    if case["status"] in FINAL:
        raise ValueError(f"case {case['id']} is {case['status']}: nothing more can change")
    handler = CASE_COMMANDS.get(str(what))
    if handler is None:
        raise ValueError(f"unknown ownership command {what!r}")
    return handler(case, data, now, rules)


def by_whom(data: dict[str, Any]) -> str:
    return str(data.get("by") or "staff")


def note_of(data: dict[str, Any]) -> str:
    return str(data.get("note") or "")


def confirm_draft(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "draft":
        raise ValueError(f"case {case['id']} is {case['status']}, not a draft")
    return opened({**case_data(case), **data}, now, rules, draft=case)


def attach(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    by = by_whom(data)
    item: dict[str, Any] = {
        "item": len(case.get("evidence", [])) + 1,
        **{k: data.get(k) for k in ("sha256", "kind", "name", "media_type", "size", "from", "via", "ticket", "dated")},
        "received": iso(now),
        "by": by,
        "status": "pending",
        "checks": [],
    }
    case.setdefault("evidence", []).append(item)
    step(
        case, now, "evidence received", by, f"item {item['item']}: {item['kind']} from {item['from']} via {item['via']}"
    )
    return advance(case, now, rules)


def check_evidence(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    item = evidence_item(case, data.get("item"))
    if item["status"] == "withdrawn":
        raise ValueError(f"item {item['item']} was withdrawn")
    item["status"] = "ok" if data.get("ok") else "rejected"
    return evidence_checked(case, item, data, now, rules)


def withdraw_evidence(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    item = evidence_item(case, data.get("item"))
    item["status"] = "withdrawn"
    return evidence_checked(case, item, data, now, rules)


def evidence_checked(
    case: dict[str, Any], item: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules
) -> Decision:
    """An item's new status is recorded; a rejected one is explained to the requester; the case may move on."""
    by, note = by_whom(data), note_of(data)
    item["checks"].append({"at": iso(now), "by": by, "result": item["status"], "note": data.get("note") or ""})
    step(case, now, f"evidence {item['status']}", by, f"item {item['item']} ({item['kind']}): {note}")
    actions = evidence_rejected(case, item, note, now, rules) if item["status"] == "rejected" else []
    out = advance(case, now, rules)
    return Decision(state=out.state, actions=actions + out.actions, due_at=out.due_at, refs=out.refs)


def evidence_rejected(
    case: dict[str, Any], item: dict[str, Any], note: str, now: datetime, rules: Rules
) -> list[Action]:
    return tell(
        case,
        "requester",
        f"evidence-rejected-{item['item']}",
        rules,
        f"A document was not accepted (case {case['id']})",
        f"<p>We could not accept the {item['kind']} you sent (item {item['item']}): {html.escape(note)}.</p><p>{needs_text(case, now)}</p>",
    )


def approve_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    return approve(case, by_whom(data), note_of(data), now, rules)


def reject(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] not in ("collecting", "notified", "disputed", "review"):
        raise ValueError(f"case {case['id']} is {case['status']}: only a case under review can be rejected")
    case["status"] = "rejected"
    step(case, now, "rejected", by_whom(data), note_of(data))
    return closed(
        case, now, rules, "rejected", f"Your ownership request was not accepted: {html.escape(note_of(data))}"
    )


def cancel(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] == "executing":
        raise ValueError(f"case {case['id']} is executing: finish or undo the move in WHMCS first")
    case["status"] = "cancelled"
    step(case, now, "cancelled", by_whom(data), note_of(data))
    return closed(case, now, rules, "cancelled", f"The ownership case was cancelled: {html.escape(note_of(data))}")


def resolve_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    return resolve_dispute(case, str(data.get("outcome")), by_whom(data), note_of(data), now, rules)


def complete_command(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "executing":
        raise ValueError(f"case {case['id']} is {case['status']}, not executing")
    waiting = [s for s in case["subjects"] if s.get("hand_over") == "move" and not s.get("moved_to")]
    if waiting:
        names = ", ".join(label(s) for s in waiting)
        raise ValueError(f"{names} still belong to the holder in WHMCS: move them, the case completes by itself")
    return complete(case, now, rules, by=by_whom(data))


CaseCommand = Callable[[dict[str, Any], dict[str, Any], datetime, Rules], Decision]

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
}


def case_data(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case[k] for k in ("id", "subjects", "holder", "requester", "grounds", "note")}


def opened(data: dict[str, Any], now: datetime, rules: Rules, draft: dict[str, Any] | None = None) -> Decision:
    holder, requester = dict(data["holder"]), dict(data["requester"])
    grounds = str(data.get("grounds") or "")
    subjects = [dict(s) for s in data["subjects"]]
    case: dict[str, Any] = draft or {
        "id": str(data.get("case") or data.get("id")),
        "opened": iso(now),
        "history": [],
        "evidence": [],
        "approvals": [],
    }
    case.update(subjects=subjects, holder=holder, requester=requester, grounds=grounds, note=data.get("note") or "")
    if data.get("draft"):
        return drafted(case, data, now)
    case["policies"] = policies_for(subjects, holder, requester, grounds, rules)
    case["status"] = "collecting"
    case["requester_confirmed"] = None if rules.links else iso(now)
    step(case, now, "opened", by_whom(data), f"{grounds} grounds; policies {', '.join(case['policies'])}")
    actions = opening_notice(case, now, rules)
    out = advance(case, now, rules)
    return Decision(state=out.state, actions=actions + out.actions, due_at=out.due_at, refs=case_refs(case))


def drafted(case: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """A case from a ticket waits as a draft until staff confirm it (with the grounds)."""
    case["status"] = "draft"
    case["ticket"] = data.get("ticket")
    names = ", ".join(label(s) for s in case["subjects"])
    step(case, now, "draft", "bridge", f"ticket #{data.get('ticket')} asks for {names}")
    return Decision(state=case, refs=case_refs(case))


def policies_for(
    subjects: list[dict[str, Any]], holder: dict[str, Any], requester: dict[str, Any], grounds: str, rules: Rules
) -> dict[str, Any]:
    """Each subject's policy (named on the subject), snapshotted by name: later configuration changes
    do not change an open case."""
    policies: dict[str, Any] = {}
    for subject in subjects:
        found = match_policy(rules.section, subject["kind"], holder, requester, grounds)
        if found is None:
            raise ValueError(
                f"no ownership policy covers a {subject['kind']} held by a {party_kind(holder)} for a {party_kind(requester)} on {grounds} grounds"
            )
        subject["policy"] = found[0]
        policies[found[0]] = snapshot(found[1])
    return policies


def opening_notice(case: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    """The requester hears what is still needed and, with links, gets one to confirm the request."""
    holder, requester = case["holder"], case["requester"]
    return tell(
        case,
        "requester",
        "opened",
        rules,
        f"Ownership request {case['id']}: {subjects_text(case)}",
        f"<p>We received a request to change the holder of {subjects_text(case)}, currently held by {party_name(holder)}.</p>"
        f"<p>{needs_text(case, now)}</p>"
        + ("<p>Please confirm that you made this request: {consent_link}</p>" if rules.links else ""),
        consent=link_spec(
            case,
            "ownership-requester",
            rules.section.confirm_link_ttl,
            f"Confirm that you asked for the holder of {subjects_text(case)} to change to {party_name(requester)}.",
        )
        if rules.links
        else None,
    )


def evidence_item(case: dict[str, Any], number: Any) -> dict[str, Any]:
    for item in case.get("evidence", []):
        if item["item"] == as_int(number):
            return item
    raise ValueError(f"case {case['id']} has no evidence item {number}")


def advance(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Collecting: once the evidence is complete and the requester confirmed, notify the holder."""
    if case["status"] != "collecting" or missing_evidence(case, now) or not case.get("requester_confirmed"):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    window = timedelta(seconds=requirements(case)["window_s"])
    deadline = now + window
    case["status"] = "notified"
    case["deadline"] = iso(deadline)
    case["notified"] = iso(now)
    case["remind_s"] = int(rules.section.remind_before.total_seconds())
    step(case, now, "holder notified", "bridge", f"answer by {iso(deadline)[:16]}")
    actions = holder_asked(case, deadline, window, rules)
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def holder_asked(case: dict[str, Any], deadline: datetime, window: timedelta, rules: Rules) -> list[Action]:
    """The holder is asked to consent or object by the deadline (with a one-time link); the requester
    hears that the holder was asked."""
    consent_needed = any(p["consent"] == "required" for p in case["policies"].values())
    ask = (
        "We need your consent before anything changes."
        if consent_needed
        else "If you do not object by the deadline, the change can go ahead after our review."
    )
    return [
        *tell(
            case,
            "holder",
            "notified",
            rules,
            f"Ownership request {case['id']} about {subjects_text(case)}",
            f"<p>{party_name(case['requester'])} asks to become the holder of {subjects_text(case)}, which you hold "
            f"({case['grounds']} grounds). Their documents have been checked by our staff.</p>"
            f"<p>{ask} Please answer by {iso(deadline)[:10]}: {{consent_link}}</p>"
            "<p>If you object, the case is frozen until you and the requester settle it or a court decides.</p>",
            consent=link_spec(
                case,
                "ownership-holder",
                window,
                f"{party_name(case['requester'])} asks to become the holder of {subjects_text(case)}. Do you consent, or object?",
            ),
        ),
        *tell(
            case,
            "requester",
            "notified",
            rules,
            f"The holder was asked (case {case['id']})",
            f"<p>Your documents are complete. We asked {party_name(case['holder'])} to answer by {iso(deadline)[:10]}.</p>",
        ),
    ]


def link_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    party = "requester" if data.get("purpose") == "ownership-requester" else "holder"
    answer = {k: data.get(k) for k in ("decision", "reason", "ip", "user_agent", "at")}
    case.setdefault("answers", []).append({"party": party, **answer})
    if party == "requester":
        return requester_answer(case, data, now, rules)
    return holder_answer(case, data, now, rules)


def requester_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The requester confirms the request (the case may move on), or denies making it (cancelled)."""
    if case["status"] != "collecting":
        return Decision(state=case, due_at=due(case))
    if data.get("decision") != "accept":
        case["status"] = "cancelled"
        step(
            case,
            now,
            "cancelled",
            "requester",
            f"the requester's address denied making the request: {data.get('reason') or ''}",
        )
        return closed(
            case, now, rules, "cancelled", "The request was cancelled because the confirmation link was declined."
        )
    case["requester_confirmed"] = data.get("at") or iso(now)
    step(case, now, "requester confirmed", "requester", f"from {data.get('ip')}")
    return advance(case, now, rules)


def holder_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The notified holder consents (review) or objects (disputed); a late answer is only recorded."""
    decision = data.get("decision")
    if case["status"] != "notified":
        step(case, now, "late answer", "holder", f"{decision} while {case['status']}: recorded, changes nothing")
        return Decision(state=case, due_at=due(case))
    if decision == "accept":
        case["holder_consent"] = data.get("at") or iso(now)
        step(case, now, "holder consented", "holder", f"from {data.get('ip')}: {data.get('reason') or ''}")
        return to_review(case, now, rules, "the holder consented")
    case["status"] = "disputed"
    step(case, now, "disputed", "holder", f"objection from {data.get('ip')}: {data.get('reason') or ''}")
    return Decision(state=case, actions=objection_notices(case, data, rules), due_at=due(case), refs=case_refs(case))


def objection_notices(case: dict[str, Any], data: dict[str, Any], rules: Rules) -> list[Action]:
    """Both parties hear that the case is frozen; staff get a ticket saying how it can be resolved."""
    reason = html.escape(str(data.get("reason") or "no reason given"))
    return [
        *tell(
            case,
            "requester",
            "objected",
            rules,
            f"The holder objected (case {case['id']})",
            f"<p>{party_name(case['holder'])} objected: {reason}.</p><p>Nothing will change while the objection stands. Please settle it with them; we record a court order or a withdrawn objection.</p>",
        ),
        *tell(
            case,
            "holder",
            "objected",
            rules,
            f"Your objection is recorded (case {case['id']})",
            f"<p>Your objection is recorded ({reason}). Nothing changes on {subjects_text(case)} while it stands.</p>",
        ),
        staff_ticket(
            case,
            rules,
            "disputed",
            f"Ownership case {case['id']} is disputed",
            f"The holder objected: {data.get('reason') or 'no reason'}. The case is frozen until `whmcs-bridge ownership resolve {case['id']} --outcome court-order|objection-withdrawn|request-withdrawn`.",
        ),
    ]


def resolve_dispute(case: dict[str, Any], outcome: str, by: str, note: str, now: datetime, rules: Rules) -> Decision:
    if case["status"] != "disputed":
        raise ValueError(f"case {case['id']} is {case['status']}, not disputed")
    if outcome == "request-withdrawn":
        case["status"] = "cancelled"
        step(case, now, "cancelled", by, f"request withdrawn: {note}")
        return closed(case, now, rules, "cancelled", "The request was withdrawn; nothing changes.")
    if outcome == "court-order":
        if not any(e["kind"] == "court-order" and e["status"] == "ok" for e in case.get("evidence", [])):
            raise ValueError(
                "attach the court order and check it (ownership attach --kind court-order, then check-evidence --ok) first"
            )
        case["court_order"] = iso(now)
        step(case, now, "court order recorded", by, note)
        return to_review(case, now, rules, "a court order decides")
    if outcome == "objection-withdrawn":
        step(case, now, "objection withdrawn", by, note)
        return to_review(case, now, rules, "the holder withdrew the objection")
    raise ValueError(f"unknown outcome {outcome!r}: court-order, objection-withdrawn or request-withdrawn")


def hand_over(case: dict[str, Any], subject: dict[str, Any]) -> str:
    """move, backup-only or none: what this subject may get given the holder's answer."""
    policy = case["policies"][subject["policy"]]
    if policy["consent"] == "notice" or case.get("holder_consent") or case.get("court_order"):
        return "move"
    return "backup-only" if policy["without_consent"] == "backup-only" else "none"


def to_review(case: dict[str, Any], now: datetime, rules: Rules, why: str) -> Decision:
    case["status"] = "review"
    for subject in case["subjects"]:
        subject["hand_over"] = hand_over(case, subject)
    step(case, now, "staff review", "bridge", why)
    plan = "; ".join(f"{label(s)}: {s['hand_over']}" for s in case["subjects"])
    actions = [
        staff_ticket(
            case,
            rules,
            "review",
            f"Review ownership case {case['id']}",
            f"{why}. What each subject may get: {plan}. Needs {requirements(case)['approvals']} approval(s): `whmcs-bridge ownership approve {case['id']} --by NAME`, or reject.",
        ),
    ]
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def approve(case: dict[str, Any], by: str, note: str, now: datetime, rules: Rules) -> Decision:
    if case["status"] != "review":
        raise ValueError(f"case {case['id']} is {case['status']}: only a case under review can be approved")
    if all(s.get("hand_over") == "none" for s in case["subjects"]):
        raise ValueError("the holder did not consent and the policy allows no hand-over without it: reject the case")
    if any(a["by"] == by for a in case["approvals"]):
        raise ValueError(f"{by} already approved case {case['id']}: another member of staff must approve")
    case["approvals"].append({"by": by, "at": iso(now), "note": note})
    needed = requirements(case)["approvals"]
    step(case, now, "approval", by, f"{len(case['approvals'])} of {needed}: {note}")
    if len(case["approvals"]) < needed:
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["status"] = "executing"
    case["executing"] = iso(now)
    step(case, now, "executing", "bridge", "approved")
    return execute(case, now, rules)


def execute(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    case["side_effects"] = side_effects(case)
    case["checklist"] = checklist(case)
    actions = [*hand_over_actions(case), checklist_ticket(case, rules)]
    summary = "".join(f"<li>{html.escape(x)}</li>" for x in case["side_effects"])
    for party in ("requester", "holder"):
        actions += tell(
            case,
            party,
            "approved",
            rules,
            f"Ownership change approved (case {case['id']})",
            f"<p>What happens now:</p><ul>{summary}</ul>",
        )
    case["next_check"] = iso(now + rules.section.check_every)
    case["checks"] = 0
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def hand_over_actions(case: dict[str, Any]) -> list[Action]:
    """What the bridge does itself for the moving subjects: a domain's registrant becomes the
    requester, a service's password changes, and the other families hear that grants on them end."""
    holder = case["holder"]["client"]
    moving = [s for s in case["subjects"] if s["hand_over"] == "move"]
    actions: list[Action] = []
    for s in moving:
        if s["kind"] == "domain":
            contact = registrant(case["requester"])
            params = {"domain_id": s["id"], "xml": whois_xml(contact), "expect": contact}
            actions.append(act(case, "registrant_update", f"whois-{s['id']}", params, holder))
        if s["kind"] == "service":
            actions.append(act(case, "credential_change", f"password-{s['id']}", {"service_id": s["id"]}, holder))
    if moving:
        subjects = [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving]
        event = {"type": "OwnershipChanged", "data": {"case": case["id"], "holder": holder, "subjects": subjects}}
        actions.append(act(case, "announce", "grants-end", event, holder))
    return actions


def checklist_ticket(case: dict[str, Any], rules: Rules) -> Action:
    """Staff's ticket: the side effects, and what only they can do in WHMCS's admin area."""
    lines = "\n".join(f"- {x}" for x in case["side_effects"])
    todo = "\n".join(f"[ ] {x}" for x in case["checklist"])
    return staff_ticket(
        case,
        rules,
        "checklist",
        f"Ownership case {case['id']}: execute the hand-over",
        f"Approved by {', '.join(a['by'] for a in case['approvals'])}.\n\nSide effects:\n{lines}\n\nTo do in WHMCS (the bridge sees the moves and completes the case):\n{todo}",
    )


def owners_read(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "executing":
        return Decision(state=case, due_at=due(case))
    owners = data.get("owners") or {}
    for s in case["subjects"]:
        now_owner = owners.get(f"{s['kind']}:{s['id']}")
        if (
            s["hand_over"] == "move"
            and not s.get("moved_to")
            and now_owner is not None
            and now_owner != s["holder_ref"]
        ):
            s["moved_to"] = now_owner
            step(case, now, "moved in WHMCS", "staff", f"{label(s)} now belongs to #{now_owner}")
    if all(s.get("moved_to") for s in case["subjects"] if s["hand_over"] == "move") and any(
        s["hand_over"] == "move" for s in case["subjects"]
    ):
        return complete(case, now, rules, by="bridge")
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def complete(case: dict[str, Any], now: datetime, rules: Rules, *, by: str) -> Decision:
    case["status"] = "completed"
    case["completed"] = iso(now)
    case["lock_until"] = iso(now + timedelta(seconds=requirements(case)["lock_s"]))
    step(case, now, "completed", by, f"locked until {case['lock_until'][:10]}")
    actions = [
        *tell(
            case,
            "requester",
            "completed",
            rules,
            f"Ownership change completed (case {case['id']})",
            f"<p>The change is complete. No further ownership change is accepted on {subjects_text(case)} until {case['lock_until'][:10]}.</p>",
        ),
        *tell(
            case,
            "holder",
            "completed",
            rules,
            f"Ownership change completed (case {case['id']})",
            f"<p>{subjects_text(case)} no longer belong to your account.</p>",
        ),
        *moved_elsewhere(case, rules),
    ]
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def moved_elsewhere(case: dict[str, Any], rules: Rules) -> list[Action]:
    """A staff ticket if staff moved a subject to a client other than the requester."""
    requester = case["requester"].get("client")
    wrong = [
        s
        for s in case["subjects"]
        if s.get("moved_to") and requester and s["kind"] != "client" and s["moved_to"] != requester
    ]
    if not wrong:
        return []
    text = "; ".join(f"{label(s)} went to client #{s['moved_to']}, not the requester #{requester}" for s in wrong)
    return [staff_ticket(case, rules, "wrong-client", f"Ownership case {case['id']}: moved to another client", text)]


def closed(case: dict[str, Any], now: datetime, rules: Rules, what: str, text: str) -> Decision:
    actions = [
        action
        for party in ("requester", "holder")
        if party == "requester" or case.get("notified")
        for action in tell(case, party, what, rules, f"Ownership case {case['id']} {what}", f"<p>{text}</p>")
    ]
    return Decision(state=case, actions=actions, due_at=None, refs=case_refs(case))


# --- time -----------------------------------------------------------------------------------------


def due(case: dict[str, Any]) -> datetime | None:
    status = case.get("status")
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
    if status == "completed" and not case.get("lock_ended"):
        return datetime.fromisoformat(case["lock_until"])
    return None


def tick(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    handler = TICKS.get(case["status"])
    return handler(case, now, rules) if handler else unchanged(case)


def unchanged(case: dict[str, Any]) -> Decision:
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def tick_notified(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The holder's window: at its end the case goes to review; before it, one reminder."""
    deadline = datetime.fromisoformat(case["deadline"])
    if now >= deadline:
        return window_ended(case, now, rules)
    if case.get("reminded"):
        return unchanged(case)
    return remind_holder(case, now, deadline, rules)


def window_ended(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    consent_needed = any(case["policies"][s["policy"]]["consent"] == "required" for s in case["subjects"])
    step(case, now, "window ended", "bridge", "no answer from the holder")
    why = "the response window ended without an answer" + (
        " (consent was required)" if consent_needed else " (no objection)"
    )
    return to_review(case, now, rules, why)


def remind_holder(case: dict[str, Any], now: datetime, deadline: datetime, rules: Rules) -> Decision:
    case["reminded"] = iso(now)
    step(case, now, "holder reminded", "bridge", f"deadline {case['deadline'][:10]}")
    actions = tell(
        case,
        "holder",
        "remind",
        rules,
        f"Reminder: ownership request {case['id']}",
        f"<p>We have not heard from you about {subjects_text(case)}. Please answer by {case['deadline'][:10]}: {{consent_link}}</p>",
        consent=link_spec(
            case,
            "ownership-holder",
            deadline - now,
            f"{party_name(case['requester'])} asks to become the holder of {subjects_text(case)}. Do you consent, or object?",
        ),
    )
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def tick_executing(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """While staff move the subjects in WHMCS: read who owns them now, and remind staff once."""
    case["checks"] = case.get("checks", 0) + 1
    case["next_check"] = iso(now + rules.section.check_every)
    actions = [*read_owners(case), *checklist_reminder(case, now, rules)]
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def read_owners(case: dict[str, Any]) -> list[Action]:
    moving = [s for s in case["subjects"] if s["hand_over"] == "move" and not s.get("moved_to")]
    if not moving:
        return []
    params = {
        "subjects": [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving],
        "report": {"case": case["id"]},
    }
    return [act(case, "read_owners", f"owners-{case['checks']}", params, case["holder"]["client"])]


def checklist_reminder(case: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    overdue = now - datetime.fromisoformat(case["executing"]) >= rules.section.checklist_reminder
    if not overdue or case.get("checklist_reminded"):
        return []
    case["checklist_reminded"] = iso(now)
    step(case, now, "checklist reminder", "bridge", "the move in WHMCS is not done yet")
    todo = "\n".join(f"[ ] {x}" for x in case["checklist"])
    subject = f"Reminder: ownership case {case['id']} is waiting for the move"
    return [staff_ticket(case, rules, "checklist-reminder", subject, todo)]


def tick_completed(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if now >= datetime.fromisoformat(case["lock_until"]):
        case["lock_ended"] = iso(now)
        step(case, now, "lock ended", "bridge", "")
    return unchanged(case)


# What a timer tick does, by the case's status (the other statuses wait for people).
TICKS: dict[str, Callable[[dict[str, Any], datetime, Rules], Decision]] = {
    "notified": tick_notified,
    "executing": tick_executing,
    "completed": tick_completed,
}


# --- drafts from tickets ----------------------------------------------------------------------------


def draft_lookup(data: dict[str, Any], key: str, now: datetime) -> Decision:
    """A ticket asks for ownership or full access: first read who owns what it names."""
    names = domain_names(str(data.get("subject") or ""), str(data.get("message") or ""))
    if not names:
        return Decision(state=None)
    params = {
        "ticket_id": as_int(data.get("ticketid")),
        "writer": as_int(data.get("userid")),
        "names": names,
        "link": None,
        "state_key": key,
    }
    resolve = Action(
        key=action_key(FAMILY, key, "resolve"),
        family=FAMILY,
        kind="resolve_ticket",
        params=params,
        client_id=as_int(data.get("userid")),
        subject=key,
    )
    return Decision(state={"ticket": params["ticket_id"], "asked": iso(now)}, actions=[resolve])


def draft_case(data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The draft waits for staff (`ownership confirm`); only items the writer does not own count."""
    writer = as_int(data.get("writer"))
    foreign = [i for i in data.get("items") or [] if i["owner"] != writer]
    if not foreign:
        return Decision(state=None)
    holder = foreign[0]["owner"]
    subjects = [{"kind": i["kind"], "id": i["id"], "name": i["name"]} for i in foreign if i["owner"] == holder]
    case_id = draft_id(as_int(data.get("ticketid")) or 0)
    note = act(
        {"id": case_id},
        "ticket_note",
        "draft-note",
        {
            "ticket_id": data.get("ticketid"),
            "message": f"whmcs-bridge: this ticket asks for {', '.join(s['name'] for s in subjects)}, held by client #{holder}. Draft ownership case {case_id} is waiting: `whmcs-bridge ownership confirm {case_id} --grounds ... --by NAME`, or cancel it.",
        },
        writer,
    )
    return Decision(
        state=None,
        actions=[
            note,
            act(
                {"id": case_id},
                "announce",
                "draft",
                {
                    "type": "OwnershipCommand",
                    "data": {
                        "command": "open",
                        "case": case_id,
                        "draft": True,
                        "ticket": data.get("ticketid"),
                        "by": "bridge",
                        "subjects": subjects,
                        "holder": {"client": holder},
                        "requester": {"client": writer},
                        "grounds": "",
                    },
                },
                writer,
            ),
        ],
    )


def draft_id(ticket_id: int) -> str:
    return "o" + hashlib.sha256(f"ticket:{ticket_id}".encode()).hexdigest()[:7]
