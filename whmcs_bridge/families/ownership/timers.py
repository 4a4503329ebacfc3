"""What a case does when its deadline comes: the holder window ends or is reminded, the executing checks, the lock ends (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.ownership.answers import unclassified
from whmcs_bridge.families.ownership.case import due, status_due, unchanged, watch_due
from whmcs_bridge.families.ownership.execution import checklist_reminder, read_owners
from whmcs_bridge.families.ownership.flow import to_review
from whmcs_bridge.families.ownership.policies import (
    Rules,
    case_refs,
    iso,
    link_spec,
    msg_ref,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.families.ownership.shared import addresses
from whmcs_bridge.families.ownership.watch import read_watched
from whmcs_bridge.model import Decision, as_int


def tick(case: dict[str, Any], now: datetime, rules: Rules, data: dict[str, Any] | None = None) -> Decision:
    """The case's own deadline, and while it is open (before the approval) a read of who owns its subjects.
    `data`: the timer's facts (engine.schedule_timers), among them when the last poll read WHMCS through."""
    watching = watch_due(case)
    reads = read_watched(case, now, rules) if watching is not None and now >= watching else []
    if case["status"] == "notified":
        out = tick_notified(case, now, rules, (data or {}).get("polled_at"), (data or {}).get("parked") or [])
    else:
        handler = TICKS.get(case["status"])
        out = handler(case, now, rules) if handler else unchanged(case)
    if not reads:
        return out
    return dataclasses.replace(out, actions=[*reads, *out.actions])  # its milestones kept


def tick_notified(
    case: dict[str, Any], now: datetime, rules: Rules, polled_at: str | None = None, parked: list[Any] | None = None
) -> Decision:
    """The holder's window: at its end the case goes to review; before it, one reminder at its time (a tick may
    come earlier, for the watch). `parked`: the engine's parked events routed to the case (Engine.parked_for)."""
    deadline = datetime.fromisoformat(case["deadline"])
    if now >= deadline:
        answers = parked_answers(case, parked or [])
        if answers:
            return answer_parked(case, now, rules, answers[0])
        unread = unread_answers(case, deadline, polled_at)
        if unread:
            return window_waits(case, now, unread)
        return window_ended(case, now, rules)
    when = status_due(case)
    if case.get("reminded") or when is None or now < when:
        return unchanged(case)
    if deadline - now < timedelta(seconds=case.get("remind_s", 0)) / 4:
        # Come too late to be of use (the daemon stopped, WHMCS down at its time): a link valid a few minutes and
        # "answer by today" would only alarm; the timeline says it was not sent (fifteenth round LOW).
        case["reminded"] = iso(now)
        step(case, now, "holder not reminded", "bridge", f"the reminder was due on {iso(when)[:16].replace('T', ' ')} "
             f"UTC; too little time was left before the deadline for it to be of use")  # fmt: skip
        return unchanged(case)
    return remind_holder(case, now, deadline, rules)


# How often a window whose end waits for WHMCS's tickets to be read looks again.
WAIT_AGAIN = timedelta(minutes=1)


def unread_answers(case: dict[str, Any], deadline: datetime, polled_at: str | None) -> str:
    """Why the holder's silence cannot be concluded yet, or "": a reply WHMCS told of (a hook) that the bridge
    has not read back yet, or no poll has read WHMCS's tickets through since the deadline (GetTicket failing:
    an answer may sit there unseen). Before any poll has read WHMCS (a state database that never polled; ownership requires the poll, config.load), the hooks are all there is."""
    reading = case.get("reading") or []
    if reading:
        r = reading[0]
        return f"{msg_ref(r)} is not read from WHMCS yet"
    if polled_at and datetime.fromisoformat(polled_at) <= deadline:  # stamped at its start, to the second
        return f"WHMCS's tickets were last read through on {polled_at[:16].replace('T', ' ')} UTC, before the deadline"
    return ""


# The parked events that may carry the holder's answer: its link's or one staff recorded (OwnershipCommand), a
# reply read back (OwnershipReply), naming the case; a message in the holder's thread (by the ticket's id); a new
# ticket or a reply in any ticket the holder's account writes (WRITER_EVENTS: by its client, or an address the case
# recorded for it or its users).
ANSWER_COMMANDS = ("consent", "answer")
THREAD_EVENTS = ("TicketUserReply", "TicketAddNote", "TicketAdminReply")
WRITER_EVENTS = ("TicketOpen", "TicketUserReply")


def parked_answers(case: dict[str, Any], parked: list[Any]) -> list[dict[str, Any]]:
    """The parked events that may answer for the holder (ANSWER_COMMANDS, THREAD_EVENTS, WRITER_EVENTS), oldest
    first."""
    thread = as_int((case.get("tickets") or {}).get("holder"))

    def answers(p: dict[str, Any]) -> bool:
        if p.get("type") in THREAD_EVENTS and thread and as_int(p.get("ticket")) == thread:
            return True
        if p.get("type") in WRITER_EVENTS and holders_message(case, p):
            return True
        if p.get("case") != case["id"]:
            return False
        return p.get("type") == "OwnershipReply" or (
            p.get("type") == "OwnershipCommand" and p.get("command") in ANSWER_COMMANDS
        )

    return [p for p in parked if isinstance(p, dict) and answers(p)]


def holders_message(case: dict[str, Any], parked: dict[str, Any]) -> bool:
    """Whether WHMCS says the holder's account wrote a parked ticket or reply: by its client (the event's `userid`),
    or from an address the case recorded for the holder or its account's users (`requestor_email`). The holder may
    object by a new ticket or in an older one of its own: parked, it is not the holder's silence (twenty-sixth break
    round, ownership HIGH 8)."""
    holder = as_int(case["holder"].get("client"))
    if holder and as_int(parked.get("userid")) == holder:
        return True
    email = str(parked.get("requestor_email") or "").strip().casefold()
    return bool(email) and email in addresses(case["holder"])


def answer_parked(case: dict[str, Any], now: datetime, rules: Rules, parked: dict[str, Any]) -> Decision:
    """The window's end waits while an answer for the holder is parked (twenty-fifth break round, MEDIUM 9: the
    holder's objection, parked while the state was edited, was taken for silence once the state was put back);
    staff get one ticket for each such event, naming its retry."""
    event = int(parked["id"])
    decision = window_waits(
        case,
        now,
        f"event {event}, an answer for the case, is parked (`whmcs-bridge events retry {event} --by NAME` "
        "once `whmcs-bridge events parked` shows its cause fixed)",
        "once it is decided",
    )
    what = parked_what(case, parked)
    ticket = staff_ticket(
        case,
        rules,
        f"answer-parked-{event}",
        "ownership.staff_answer_parked",
        event=event,
        what=what,
        party="requester" if parked.get("purpose") == "ownership-requester" else "holder",
        ticket=as_int(parked.get("ticket")) or 0,
        written=str(parked.get("at") or "")[:10],
    )
    return dataclasses.replace(decision, actions=[ticket])


def parked_what(case: dict[str, Any], parked: dict[str, Any]) -> str:
    """What a parked answer is, in the staff ticket's words (ownership.staff_answer_parked `what`)."""
    if parked.get("command") == "consent":
        return "link"
    thread = as_int((case.get("tickets") or {}).get("holder"))
    if parked.get("type") in THREAD_EVENTS and thread and as_int(parked.get("ticket")) == thread:
        return "reply"
    return "writer" if parked.get("type") in WRITER_EVENTS else "record"


def window_waits(case: dict[str, Any], now: datetime, why: str, until: str = "once WHMCS is read") -> Decision:
    """The window's end waits (said once in the timeline) until WHMCS's tickets are read past its deadline, or
    (`until`) what else it waits for is decided."""
    if case.get("window_waits") != why:
        step(case, now, "window end waits", "bridge", f"{why}: the holder's silence is concluded only {until}")
        case["window_waits"] = why
    case["window_wait_next"] = iso(now + WAIT_AGAIN)
    return unchanged(case)


def window_ended(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """At the window's end the case goes to review: without the holder's answer, or (issue 17, twelfth round M1)
    with a reply of the holder waiting to be classified, written while the case collected its documents: never
    said to have ended "without objection" then."""
    case.pop("window_waits", None)
    case.pop("window_wait_next", None)
    waiting = unclassified(case)
    if waiting:
        where = ", ".join(f"{msg_ref(r)}" for r in waiting)
        step(case, now, "window ended", "bridge", f"a reply of the holder waits to be classified: {where}")
        return to_review(case, now, rules, "window-reply", "the response window ended with a reply to classify")
    consent_needed = any(case["policies"][s["policy"]]["consent"] == "required" for s in case["subjects"])
    step(case, now, "window ended", "bridge", "no answer from the holder")
    if consent_needed:
        return to_review(case, now, rules, "window-consent", "the response window ended without consent")
    return to_review(case, now, rules, "window-notice", "the response window ended without objection")


def remind_holder(case: dict[str, Any], now: datetime, deadline: datetime, rules: Rules) -> Decision:
    case["reminded"] = iso(now)
    step(case, now, "holder reminded", "bridge", f"deadline {case['deadline'][:10]}")
    actions = tell(
        case,
        "holder",
        "remind",
        rules,
        "ownership.holder_reminded",
        consent=link_spec(case, "ownership-holder", deadline - now, "ownership.consent_question"),
        deadline=case["deadline"],
    )
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def tick_executing(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """While staff move the subjects in WHMCS: read who owns them now, and remind staff once."""
    case["checks"] = case.get("checks", 0) + 1
    case["next_check"] = iso(now + rules.section.check_every)
    actions = [*read_owners(case), *checklist_reminder(case, now, rules)]
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def tick_completed(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Until the lock ends, WHMCS is read for a move of what changed hands; then the lock ends."""
    if not case.get("lock_until"):
        return unchanged(case)  # nothing changed hands: nothing locked
    if now >= datetime.fromisoformat(case["lock_until"]):
        case["lock_ended"] = iso(now)
        step(case, now, "lock ended", "bridge", "")
        return unchanged(case)
    return Decision(state=case, actions=read_watched(case, now, rules), due_at=due(case), refs=case_refs(case))


def tick_disputed(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """While disputed, WHMCS is read for a move of the frozen subjects."""
    return Decision(state=case, actions=read_watched(case, now, rules), due_at=due(case), refs=case_refs(case))


# What a timer tick does, by the case's status (the other statuses wait for people).
TICKS: dict[str, Callable[[dict[str, Any], datetime, Rules], Decision]] = {
    "notified": tick_notified,
    "executing": tick_executing,
    "completed": tick_completed,
    "disputed": tick_disputed,
}
