"""The engine: inbox events (and timer ticks) in order -> each family's pure decide -> new state and
planned actions written in one transaction (the transactional outbox). A failing event is parked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.model import Action, Decision, Event, Family, as_int, key_at_end, marker
from whmcs_bridge.store import audit, fed, inbox, outbox, poll, seals, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.planned import of_action

log = logging.getLogger("whmcs_bridge.engine")
TICK = "Tick"
BATCH = 50  # events decided per transaction
# Hook events the bridge's own writes cause, and the action kind that writes each: WHMCS fires TicketOpen
# for a ticket the API opens (DD:api-reference/openticket.md: "the system still uses the client as the
# ticket opener") and TicketUserReply for a reply made as the system; the poller reports a reply made as the
# configured admin (whmcs.reply_admin, DD:api-reference/addticketreply.md `adminusername`) as TicketAdminReply.
# A note the bridge adds (AddTicketNote, staff-only) is reported by the poll, and by the hook, as TicketAddNote.
OWN_WRITES = {
    "TicketOpen": "ticket",
    "TicketUserReply": "ticket_reply",
    "TicketAdminReply": "ticket_reply",
    "TicketAddNote": "ticket_note",
}


@dataclass
class EngineReport:
    events: int = 0
    parked: int = 0
    timers: int = 0
    planned: list[Action] = field(default_factory=list)
    # When each planned action was decided (a projection by plan(until=...) spans several instants).
    when: list[datetime] = field(default_factory=list)
    # A projection that reached its bound before `until`: the instant it stopped at (later deadlines not shown),
    # and how many deadlines it walked.
    cut_at: datetime | None = None
    cut_after: int = 0
    # A projection's steps that only repeated routine reads (`routine`): their events and timers, counted apart so
    # that the figures staff read first are about what decides something.
    routine_events: int = 0
    routine_timers: int = 0


# A projection's bound: the deadlines that decide something (a routine read does not count: `routine`), and, so
# that it ends whatever the rules do, every deadline it walks.
DEADLINES = 1000
STEPS = 10_000


def routine(actions: list[Action]) -> bool:
    """Only reads a rule repeats every so often while nothing happens (params `every_s`, e.g. ownership's owner
    reads every check_every): a projection folds them into one line and does not count them toward its bound
    (twenty-first break round, ownership M4: hourly reads filled the bound after three weeks)."""
    return bool(actions) and all(a.params.get("every_s") for a in actions)


class _Rollback(Exception):
    pass


class Engine:
    def __init__(self, db: Database, families: Sequence[Family]) -> None:
        self.db = db
        self.families = {family.name: family for family in families}

    # --- timers -------------------------------------------------------------------------------

    def schedule_timers(self, now: datetime, *, projected: bool = False) -> int:
        """Put a Tick in the inbox for every state whose deadline has passed. Idempotent: the tick's
        id names the deadline, so a tick already queued (or parked) is not queued again. Each tick says when
        the last poll that read WHMCS through ran (`polled_at`): a rule concludes silence only from a read made
        after its deadline. A projection (plan) assumes every poll succeeds at its instant."""
        count = 0
        polled = iso(now) if projected else poll.cursor(self.db, poll.LAST_SUCCESS)
        with self.db.atomic():
            for due in states.due(self.db, now):
                data = {"family": due.family, "key": due.key, "due_at": due.due_at, "polled_at": polled}
                count += inbox.add(
                    self.db,
                    event_id=f"tick:{due.family}:{due.key}:{due.due_at}:v{due.version}",
                    type=TICK,
                    source="timer",
                    body={"type": TICK, "data": data},
                    occurred_at=due.due_at,
                    received_at=now,
                )
        return count

    # --- events -------------------------------------------------------------------------------

    def run_once(
        self,
        now: datetime,
        *,
        limit: int = 500,
        projected: bool = False,
        between: Callable[[float], None] | None = None,
    ) -> EngineReport:
        """Queue due timers, then decide on up to `limit` pending events, oldest first. `between` is called after
        each batch but the last with the seconds the batch took (the daemon's ingest_first)."""
        report = EngineReport(timers=self.schedule_timers(now, projected=projected))
        while report.events < limit:
            started = time.monotonic()
            # One commit for a batch of events (each in its own savepoint, so a failing one is parked
            # alone): a burst costs a few fsyncs, and the receiver's writer is not starved of the lock.
            # The batch is read inside its transaction, under the write lock: an event another process
            # decided meanwhile is no longer pending here.
            with self.db.atomic():
                batch = inbox.pending(self.db, min(BATCH, limit - report.events))
                for entry in batch:
                    self.count(report, self.process(entry, now), now)
            if len(batch) < BATCH:
                break
            if between is not None:
                between(time.monotonic() - started)
        return report

    @staticmethod
    def count(report: EngineReport, planned: list[Action] | None, now: datetime) -> None:
        report.events += 1
        if planned is None:
            report.parked += 1
        else:
            report.planned.extend(planned)
            report.when.extend([now] * len(planned))

    def plan(self, now: datetime, *, until: datetime | None = None, limit: int = 500) -> EngineReport:
        """What the engine would decide at `now`, and then at every deadline up to `until` if nothing
        else happened (nobody pays, nobody intervenes). Changes nothing: everything is rolled back."""
        report = EngineReport()
        try:
            with self.db.atomic():
                report = self.run_once(now, limit=limit, projected=True)
                self.assume_run(report, report.planned, now, limit)
                if until is not None:
                    self.project(report, now, until, limit)
                raise _Rollback
        except _Rollback:
            pass
        return report

    def project(self, report: EngineReport, now: datetime, until: datetime, limit: int) -> None:
        """plan()'s walk from deadline to deadline up to `until`, bounded: a projection ends even if a rule keeps
        rescheduling. Reaching the bound first is said (cut_at; twentieth break round, ownership 5)."""
        moment, counted, walked = now, 0, 0
        for walked in range(STEPS):  # noqa: B007 (said when cut)
            deadline = states.next_deadline(self.db, until)
            if deadline is None or counted >= DEADLINES:
                break
            moment = max(moment, deadline)
            step = self.run_once(moment, limit=limit, projected=True)
            self.assume_run(step, step.planned, moment, limit)
            if not (step.events or step.planned):
                return
            if routine(step.planned):
                report.routine_events += step.events
                report.routine_timers += step.timers
            else:
                counted += 1
                report.events += step.events
                report.timers += step.timers
            report.parked += step.parked
            report.planned.extend(step.planned)
            report.when.extend(step.when)
        else:
            deadline, walked = moment, STEPS
        if deadline is not None:  # the bound, not the end of what was asked
            report.cut_at, report.cut_after = moment, walked

    def assume_run(self, report: EngineReport, planned: list[Action], now: datetime, limit: int) -> None:
        """In a projection, the steps a rule waits on (`outcome_to`) are taken as approved and done when
        planned, and the rule told so, as the executor would (store/outbox.py report_outcome)."""
        for _ in range(100):  # bounded: each round answers the steps the previous one planned
            waited = [a for a in planned if a.params.get("outcome_to")]
            for action in waited:
                data = {
                    "client_id": action.client_id,
                    "subject": action.subject,
                    "action_key": action.key,
                    "status": "done",
                    "at": iso(now),
                }
                kind = str(action.params["outcome_to"])
                inbox.add(
                    self.db,
                    event_id=f"projected:{action.key}",
                    type=kind,
                    source="poll",
                    body={"type": kind, "occurred_at": iso(now), "data": data},
                    occurred_at=iso(now),
                    received_at=now,
                )
            if not waited:
                return
            step = self.run_once(now, limit=limit)
            report.events += step.events
            report.parked += step.parked
            report.planned.extend(step.planned)
            report.when.extend(step.when)
            planned = step.planned

    def process(self, entry: inbox.InboxEntry, now: datetime) -> list[Action] | None:
        """Decide on one pending event, read in the caller's transaction; return the actions newly
        planned, or None when the event was parked."""
        inbox_id = entry.id
        try:
            event = self.checked(entry)  # inside: a body that cannot be read is this event's problem only
            with self.db.atomic():
                planned: list[Action] = []
                own = self.own_write(event)
                if own:  # the bridge's own ticket or reply: not a client's, no family decides on it
                    log.info("event %s (%s) is the bridge's own action %s", entry.event_id, entry.type, own)
                for family, keys in self.grouped([] if own else self.route(event)):
                    for key, decision in self.decisions(family, keys, event, now):
                        self.save(family.name, key, decision, now)
                        planned.extend(self.enqueue(decision.actions, event, now))
                        self.withdraw(family.name, decision, now)
                        inbox.forget_facts(self.db, decision.unheard)
                inbox.mark_done(self.db, inbox_id, now)
                if entry.type in inbox.WORDS:
                    inbox.scrub_message(self.db, inbox_id, inbox.WORDS[entry.type])
            return planned
        except Exception as exc:  # a rule failed on this event: park it with its error, go on with the others
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, ValueError) and entry.source == "cli" and entry.type.endswith("Command"):  # refused
                log.warning("event %s (%s) refused: %s", entry.event_id, entry.type, exc)  # (staff.refused)
            else:
                log.error("event %s (%s) parked: %s", entry.event_id, entry.type, reason)
            with self.db.atomic():
                inbox.park(self.db, inbox_id, now, reason)
                audit.append(
                    self.db,
                    "engine.event_parked",
                    subject=f"event:{entry.event_id}",
                    detail={"type": entry.type, "error": reason},
                    at=iso(now),
                )
            return None

    def checked(self, entry: inbox.InboxEntry) -> Event:
        """The event as the rules see it, once it is known not to be a read the executor never fed: one put in the
        database outside the bridge is parked, naming it (store/fed.py)."""
        refused = fed.problem(self.db, entry)
        if refused:
            raise ValueError(refused)
        return entry.event()

    def own_write(self, event: Event) -> str | None:
        """The key of the bridge's action this event reports, or None (own_write)."""
        return own_write(self.db, event)

    @staticmethod
    def grouped(routed: list[tuple[Family, str]]) -> list[tuple[Family, list[str]]]:
        out: dict[str, tuple[Family, list[str]]] = {}
        for family, key in routed:
            out.setdefault(family.name, (family, []))[1].append(key)
        return list(out.values())

    def decisions(self, family: Family, keys: list[str], event: Event, now: datetime) -> list[tuple[str, Decision]]:
        """One call with every routed state in view; the family may also create new keys."""
        seen = {key: states.load(self.db, family.name, key) for key in keys}
        for key, state in seen.items():
            refused = state_refusal(self.db, family.name, key, state) if state else None
            if refused:  # the state the rules would decide on disagrees with the audit chain: the event is parked
                raise ValueError(refused)
        if event.type == TICK and event.source == "timer":  # read as it decides: an event parked a moment ago counts
            event = replace(event, data={**event.data, "parked": self.parked_for(family, str(event.data.get("key")))})
        return list(family.decide(seen, event, now).items())

    def parked_for(self, family: Family, key: str) -> list[dict[str, Any]]:
        """The parked events (a timer's aside) the engine would route to this state, each as the facts that name
        what it is about: a rule that concludes from silence (an ownership case's window end) waits while one
        that may answer it waits for staff's `events retry` (twenty-fifth break round, ownership MEDIUM 9)."""
        found = []
        for entry in inbox.entries(self.db, status="parked"):
            if entry.source == "timer":
                continue
            try:
                event = entry.event()
                keys = [*family.route(event), *self.keys_for_refs(family, event)]
            except Exception:  # a body that cannot be read, or routed: it names no state (process parked it so)
                continue
            if key in keys:
                data = event.data
                found.append(
                    {
                        "id": entry.id,
                        "type": entry.type,
                        "at": entry.occurred_at or entry.received_at,
                        "case": data.get("case"),
                        "command": data.get("command"),
                        "purpose": data.get("purpose"),
                        "ticket": as_int(data.get("ticketid")),
                        # Who wrote a ticket or reply, as WHMCS says (the client; the requestor's address when
                        # given): a party's message in any of its tickets may answer (twenty-sixth round HIGH 8).
                        "userid": as_int(data.get("userid")),
                        "requestor_email": str(data.get("requestor_email") or ""),
                    }
                )
        return found

    def route(self, event: Event) -> list[tuple[Family, str]]:
        if event.type == TICK and event.source == "timer":
            family = self.families.get(str(event.data.get("family")))
            if family is None:
                return []
            # A tick reaches its own key, and whatever that family says the tick refers to.
            return [(family, str(event.data["key"]))] + [
                (family, key) for key in self.keys_for_refs(family, event) if key != str(event.data["key"])
            ]
        routed: list[tuple[Family, str]] = []
        only = event.only_for  # a fact read again for one family is not news to the others
        for family in self.families.values():
            if only is not None and family.name != only:
                continue
            keys = list(dict.fromkeys(family.route(event)))
            keys += [key for key in self.keys_for_refs(family, event) if key not in keys]
            routed.extend((family, key) for key in keys)
        return routed

    def keys_for_refs(self, family: Family, event: Event) -> list[str]:
        return states.keys_for_refs(self.db, family.name, list(family.refs(event)))

    def save(self, family: str, key: str, decision: Decision, now: datetime) -> None:
        states.save(self.db, family, key, decision, now)
        sealed = next((f.seal_of(key) for f in FAMILIES if f.name == family), None)
        if sealed is not None:
            seals.seal(self.db, family, key, *sealed, at=iso(now))
        for name, detail in decision.milestones:
            audit.append(
                self.db,
                f"{family}.{name}",
                actor=f"rules:{family}",
                case_id=detail.get("case"),
                subject=detail.get("subject"),
                detail=detail,
                at=iso(now),
            )

    def withdraw(self, family: str, decision: Decision, now: datetime) -> None:
        """Steps a decision no longer wants that still wait for staff leave `approvals list`, audited."""
        for key in decision.withdraw:
            entry = outbox.withdraw(self.db, key, decision.withdraw_reason, now)
            if entry is None:
                continue
            audit.append(
                self.db,
                f"{family}.approval_withdrawn",
                actor=f"rules:{family}",
                client_id=entry.client_id,
                subject=entry.subject,
                detail={"action": entry.id, "key": entry.key, "kind": entry.kind, "reason": decision.withdraw_reason},
                at=iso(now),
            )

    def enqueue(self, actions: Sequence[Action], event: Event, now: datetime) -> list[Action]:
        """Insert actions into the outbox; an action key already there is not planned twice."""
        planned = []
        for action in actions:
            row = outbox.enqueue(self.db, action, destructive=action.is_destructive, event_id=event.id, now=now)
            if row is not None:
                planned.append(action)
                audit.append(
                    self.db,
                    "engine.action_planned",
                    actor=f"rules:{action.family}",
                    client_id=action.client_id,
                    subject=action.subject,
                    detail={
                        "key": action.key,
                        "kind": action.kind,
                        "params": outbox.at_rest(action.params),
                        "event": event.id,
                        "needs_approval": action.needs_approval,
                        # What the executor compares the row with before it runs it (store/planned.py).
                        "row": row,
                        "digest": of_action(action),
                    },
                    at=iso(now),
                )
        return planned


def state_refusal(db: Database, family: str, key: str, state: dict[str, Any]) -> str | None:
    """Why a registered family's rules may not decide on this state now (FamilySpec.state_refusal), or None."""
    spec = next((f for f in FAMILIES if f.name == family), None)
    return spec.state_refusal(db, key, state) if spec else None


def own_write(db: Database, event: Event) -> str | None:
    """The key of the bridge's action this event reports, decided by facts, never by a key a party can paste
    (a client quoting the bridge's message ends with its key too): a ticket the action recorded opening; while
    that is not known yet (WHMCS fires TicketOpen during the OpenTicket call), exactly the text the action sent,
    kept rendered in its row before the call (executor/loop.py with_text). A reply by a client is never ours."""
    kind = OWN_WRITES.get(event.type)
    if kind is None or event.source == "timer":
        return None
    if kind == "ticket":
        opened = outbox.opened_ticket(db, as_int(event.data.get("ticketid")) or 0)
        if opened or "message" not in event.data:
            return opened
    text = str(event.data.get("message") or "")
    key = key_at_end(text)
    # A client's reply is never ours; a staff reply names the ticket's client (intake/poller.py), and is ours only
    # by its text.
    if key is None or (event.type == "TicketUserReply" and as_int(event.data.get("userid"))):
        return None
    entry = outbox.by_key(db, key)
    if entry is None or entry.kind != kind or (entry.result or {}).get("ticket_id"):
        return None  # a ticket the action opened is known by its id (opened_ticket above): this is another
    return key if same_text(text, sent_text(entry.params, key)) else None


def sent_text(params: dict[str, Any], key: str) -> str:
    """The text a ticket or reply action sends (executor/kinds.py: the preface, the message, the key marker)."""
    parts = [str(params.get("preface") or ""), str(params.get("message") or ""), marker(key)]
    return "\n\n".join(p for p in parts if p)


def same_text(a: str, b: str) -> bool:
    """The same words, whatever line endings or spacing WHMCS put between them."""
    return " ".join(a.split()) == " ".join(b.split())
