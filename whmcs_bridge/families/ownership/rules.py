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
OwnershipOwners (who owns the subjects now, read while executing), OwnershipStepEnded (an execution step
done, cancelled or rejected), TicketOpen then TicketResolved
(a draft case; or a party's new ticket, read like a reply: it may answer an open case), OwnershipTicket (the ids of the case's ticket threads), TicketUserReply then OwnershipReply
(a reply in a thread, read from WHMCS to learn who wrote it), TicketGone (a thread WHMCS no longer has), OwnershipLock (a moved domain's transfer lock).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.answers import objection_read
from whmcs_bridge.families.ownership.case import due
from whmcs_bridge.families.ownership.commands import command
from whmcs_bridge.families.ownership.completion import owners_read, step_ended
from whmcs_bridge.families.ownership.config import OwnershipSection
from whmcs_bridge.families.ownership.drafts import draft_case, draft_lookup, item_refs, open_subjects
from whmcs_bridge.families.ownership.execution import STEP_ENDED
from whmcs_bridge.families.ownership.incoming import reply_read, thread_gone, thread_note, thread_reply, ticket_opened
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    GUEST,
    UNNAMED_WRITER,
    Rules,
    case_refs,
    held,
    is_request,
    mentions,
    step,
)
from whmcs_bridge.families.ownership.timers import tick
from whmcs_bridge.families.ownership.watch import watched, watched_owners
from whmcs_bridge.model import Decision, Event, Hold, State, as_int


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
        zone: str = "UTC",
    ) -> None:
        self.rules = rules
        self.department_id = rules.department_id or department_id
        self.staff_email = staff_email
        self.links = links
        self.zone = zone

    def route(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type in (
            "OwnershipCommand",
            "OwnershipOwners",
            "OwnershipTicket",
            "OwnershipReply",
            "OwnershipLock",
        ) and data.get("case"):
            return [f"case:{data['case']}"]
        if event.type == STEP_ENDED and str(data.get("subject") or "").startswith(f"{FAMILY}:"):
            return [f"case:{str(data['subject']).split(':', 1)[1]}"]
        if event.type == "TicketOpen" and as_int(data.get("ticketid")) and is_request(data, self.rules):
            return [f"draft:ticket:{as_int(data.get('ticketid'))}"]
        if event.type == "TicketResolved" and data.get("requested_by") == FAMILY and data.get("state_key"):
            return [str(data["state_key"])]
        return []

    def refs(self, event: Event) -> Sequence[str]:
        # A reply in a case's ticket thread reaches the case (case_refs lists its threads); a reply in any other
        # ticket reaches the open cases its words name, as a new ticket does (answers.thread_reply decides).
        # A reply in any ticket by a party's account reaches its open cases too (twelfth round H4, H7): who wrote
        # it is WHMCS's fact (the hook's userid, then GetTicket), never its words.
        # A staff reply (TicketAdminReply, from the poll) reaches only the case whose thread it is in (thirteenth
        # round H3); the bridge's own never reach a family (engine.own_write).
        # A staff note (TicketAddNote) likewise reaches only the case whose thread it is in (fifteenth round HIGH 2),
        # and so does a thread the poll found gone from WHMCS (TicketGone: nineteenth round M2).
        if event.type in ("TicketAdminReply", "TicketAddNote", "TicketGone") and as_int(event.data.get("ticketid")):
            return [f"thread:{as_int(event.data.get('ticketid'))}"]
        if event.type in ("TicketUserReply", "TicketOpen") and as_int(event.data.get("ticketid")):
            words = f"{event.data.get('subject') or ''} {event.data.get('message') or ''}"
            thread = [f"thread:{as_int(event.data.get('ticketid'))}"] if event.type == "TicketUserReply" else []
            return [*thread, *writer_refs(event.data), *mentions(words)]
        if event.type == "TicketResolved" and event.data.get("requested_by") == FAMILY:
            return item_refs(event.data)  # the open cases about what the ticket named (decide: no second case)
        return []

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        if event.type == "TicketResolved":  # the owners a ticket named: only its draft decides, in view of the
            key = str(event.data.get("state_key") or "")  # open cases the items reached (refs), left unchanged
            covered = open_subjects(state for other, state in states.items() if other != key and state)
            return {key: self.decide_one(states.get(key) or {}, event, now, key, covered)}
        return {key: self.decide_one(state, event, now, key) for key, state in states.items()}

    def decide_one(
        self, state: State, event: Event, now: datetime, key: str = "", covered: frozenset[str] = frozenset()
    ) -> Decision:
        decision = self._decide(state, event, now, key, covered)
        if decision.state is None or not str(decision.state.get("id") or "") or key.startswith("draft:"):
            return decision
        return dataclasses.replace(decision, holds=holds(decision.state))

    def _decide(self, state: State, event: Event, now: datetime, key: str, covered: frozenset[str]) -> Decision:
        case = json.loads(json.dumps(state)) if state else {}
        rules = Rules(self.rules, self.department_id, self.staff_email, self.links, self.zone)
        if event.type == "TicketOpen" and key.startswith("case:"):
            return ticket_opened(case, event.data) if case else Decision(state=None)
        if event.type == "TicketOpen":
            return draft_lookup(event.data, key, now)
        if event.type == "TicketResolved":
            return draft_case(event.data, now, rules, covered)
        if event.type == "OwnershipCommand":
            return command(case, event.data, now, rules)
        if not case:
            return Decision(state=None)
        handler = ON_CASE.get(event.type)
        return handler(case, event.data, now, rules) if handler else Decision(state=case, due_at=due(case))


def _owners(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if data.get("objection") and (case.get("objection_read") or {}).get("purpose") == data["objection"]:
        return objection_read(case, data, now, rules)  # the read just after an objection while executing
    if watched(case):  # disputed or locked: a move there is raised to staff
        return watched_owners(case, data, now, rules)
    return owners_read(case, data, now, rules)


def _thread(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    case.setdefault("tickets", {})[str(data["party"])] = as_int(data.get("ticket_id"))
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def _lock(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The registrar's answer to turning a moved domain's transfer lock on, recorded on the subject. A refusal
    now comes with the step's end (completion.step_ended: the step is refused, staff get a ticket and a to-do);
    `locked` false is only in events an older bridge left in the inbox."""
    for s in case["subjects"]:
        if s["kind"] == "domain" and int(s["id"]) == as_int(data.get("domain")):
            s["transfer_lock"] = "on" if data.get("locked") else f"refused: {data.get('error') or ''}"
            step(case, now, "transfer lock", "bridge", f"domain #{s['id']}: {s['transfer_lock']}")
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


# What each event does to an existing case.
ON_CASE: dict[str, Callable[[dict[str, Any], dict[str, Any], datetime, Rules], Decision]] = {
    "Tick": lambda case, data, now, rules: tick(case, now, rules, data),
    "OwnershipOwners": _owners,
    "OwnershipTicket": _thread,
    "TicketUserReply": lambda case, data, now, rules: thread_reply(case, data),
    "TicketAdminReply": lambda case, data, now, rules: thread_reply(case, data),
    "TicketAddNote": thread_note,
    "TicketGone": thread_gone,
    "OwnershipReply": reply_read,
    "OwnershipLock": _lock,
    STEP_ENDED: step_ended,
}


def writer_refs(data: Mapping[str, Any]) -> list[str]:
    """The party references of who WHMCS says wrote a ticket or reply (policies.party_refs): its client, the
    requestor's address when WHMCS gives it, and `writer` whatever the event says of the requestor: whether the
    user who wrote under a client account is a user of a party's account is GetUsers' fact, read back with the
    message (a party's person may write with another account selected, from its own login address, not the
    party's profile email: thirteenth round H2, fourteenth round HIGH 3; the hook names no requestor, the poll
    does, and both are read); for a guest its address, and `guest` (a guest's words may name a party:
    incoming.names_party)."""
    userid, email = as_int(data.get("userid")), str(data.get("requestor_email") or "").strip()
    by_address = [f"party-email:{email.casefold()}"] if email else []
    if userid:
        return [f"party:{userid}", *by_address, UNNAMED_WRITER]
    return [*by_address, GUEST]


def holds(case: State) -> list[Hold]:
    """What a case stops other families from changing: its subjects and the holder's whole account while
    it is disputed (until resolved); after completion, what changed hands (until the lock ends)."""
    if case.get("status") == "disputed":
        reason = f"ownership case {case['id']} on it is disputed: nothing changes until it is resolved"
        until = None
    elif case.get("status") == "completed" and not case.get("lock_ended") and case.get("lock_until"):
        # Only what changed hands is locked: a backup-only or refused subject stayed with its holder.
        reason = f"ownership case {case['id']} completed on {case['completed'][:10]}: it is locked until {case['lock_until'][:10]}"
        until = datetime.fromisoformat(case["lock_until"])
    else:
        return []
    # The same list the client notes name (policies.held), so a note never says more than is frozen.
    return [Hold(subject, reason, until) for subject in held(case)]


# --- commands -------------------------------------------------------------------------------------


# --- time -----------------------------------------------------------------------------------------


# --- drafts from tickets ----------------------------------------------------------------------------
