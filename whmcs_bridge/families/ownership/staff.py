"""Staff commands for ownership cases: open (reading the holder from WHMCS), evidence attached (kept by
evidence_store), answers and steps recorded, decisions, and the freeze that refuses changes on a disputed or
locked subject. How staff read a case is staff_view's.

Every command goes through the inbox like any event (staff.submit), after a dry run of the pure
rules on the current state, so a refused transition is a clear error and never a parked event."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_datetime

from whmcs_bridge import staff
from whmcs_bridge.clock import iso
from whmcs_bridge.config.load import Config
from whmcs_bridge.engine import own_write
from whmcs_bridge.errors import BridgeError, StateEdited, UsageProblem, WhmcsApiError  # noqa: F401  (BridgeError used by the CLI)
from whmcs_bridge.evidence.links import refuse_live_links
from whmcs_bridge.executor.loop import in_flight_grace
from whmcs_bridge.executor.owner_reads import read_owners
from whmcs_bridge.families.ownership import build, integrity, live_links, seen
from whmcs_bridge.families.ownership.case import FINAL, replies_to_classify
from whmcs_bridge.families.ownership.config import EVIDENCE_KINDS, GROUNDS
from whmcs_bridge.families.ownership.evidence_store import store_evidence
from whmcs_bridge.families.ownership.freeze import cases, frozen, frozen_now
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    classify_command,
    evidence_needs,
    latest_today,
    msg_ref,
    ref,
)
from whmcs_bridge.families.ownership.rules import Ownership
from whmcs_bridge.families.ownership.whmcs_reads import (
    account_contents,
    client_party,
    contents,
    not_movable,
    owners_at_approval,
    read_subjects,
    unread_messages,
    whmcs_now,
)
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Reader
from whmcs_bridge.model import Event, action_key
from whmcs_bridge.readable import one_line
from whmcs_bridge.store import outbox, seals, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.records import TicketNote, TicketReply

SUBJECT = re.compile(r"^(service|domain|client):([0-9]+)$")
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
# An action in these statuses will not call WHMCS (any more): staff may record its step as done by hand.
NEVER_RUNS = ("rejected", "cancelled")


# --- reading cases --------------------------------------------------------------------------------


# The earliest date a document of a case may bear: no registry extract or contract in a hosting dispute is older.
EARLIEST_DATED = date(1990, 1, 1)


def case(db: Database, case_id: str) -> dict[str, Any]:
    missing = f"there is no ownership case {case_id}; `whmcs-bridge ownership list` shows them"
    return staff.state(db, FAMILY, f"case:{case_id}", missing)


def when(config: Config, instant: str | None) -> str:
    """An instant to the minute, in the configured zone and the staff language ("25 Nov 2026, 22:45")."""
    if not instant:
        return "-"
    moment = datetime.fromisoformat(instant)
    locale = Reader(load.for_config(config).staff_locale, None, config.zone).locale
    return format_datetime(moment, "d MMM y, HH:mm", tzinfo=config.zone, locale=locale)


def running(config: Config, db: Database, row: outbox.OutboxEntry) -> str:
    """An action in flight as staff read it: since when, and when the bridge asks WHMCS whether it ran if no
    answer came (the daemon was stopped mid-call): the executor's own wait (executor/loop.py)."""
    if not row.started_at:
        return "running"
    grace = in_flight_grace(db, timedelta(seconds=config.whmcs.timeout_s), config.whmcs.settle_after)
    checked = iso(datetime.fromisoformat(row.started_at) + grace)
    return (
        f"running: its call to WHMCS started {when(config, row.started_at)}; with no answer by "
        f"{when(config, checked)} (the bridge stopped mid-call), the daemon asks WHMCS whether it ran, then "
        "records it or parks it for staff"
    )


def subjects_text(c: dict[str, Any]) -> str:
    """The case's subjects as recorded when it opened (staff's listing: no WHMCS call per line)."""
    return ", ".join(s.get("name") or f"{s['kind']} #{s['id']}" for s in c["subjects"])


def party_name(party: dict[str, Any]) -> str:
    """A party for staff: its name as recorded, with its client id (or its address, outside WHMCS)."""
    name = party.get("company") or party.get("name") or ""
    client = f"client #{party['client']}" if party.get("client") else party.get("email") or ""
    return f"{name} ({client})" if name else client


def asked_by(c: dict[str, Any]) -> str:
    """The requester for staff; for a draft from a guest's ticket, the guest as it wrote (no requester yet), on one
    line whatever it typed (readable.one_line)."""
    guest = c.get("guest") if c.get("status") == "draft" else None
    if not guest:
        return party_name(c["requester"])
    name, email = one_line(guest.get("name") or ""), one_line(guest.get("email") or "")
    return f"the guest {name} ({email}), no WHMCS client" if name else f"the guest {email}, no WHMCS client"


def missing_evidence(c: dict[str, Any], now: datetime) -> list[str]:
    """What is still needed before the holder is notified, for staff's command line."""
    needed, checking = evidence_needs(c, now)
    out = []
    for kind, age in needed:
        accepted = [e for e in c.get("evidence", []) if e["kind"] == kind and e["status"] == "ok"]
        dates = [e["dated"][:10] for e in accepted if e.get("dated")]
        if accepted and not dates:  # its age cannot be told: it is not taken for fresh
            out.append(f"{kind} (the one accepted has no date: attach it again with --dated, at most {age} days old)")
        elif accepted and max(dates) > latest_today(now).isoformat():
            out.append(f"{kind} (the one accepted is dated {max(dates)}, after today: attach it with its real date)")
        elif accepted:
            out.append(f"{kind} (the one accepted is older than {age} days)")
        else:
            out.append(f"{kind} (not received{f', at most {age} days old' if age else ''})")
    return out + [f"{kind} (received, not yet checked)" for kind in checking]


def line(c: dict[str, Any]) -> str:
    extra = ""
    if c["status"] == "notified":
        extra = f", answer due {c['deadline'][:10]}"
    elif c["status"] == "completed" and not c.get("lock_ended") and c.get("lock_until"):
        extra = f", locked until {c['lock_until'][:10]}"
    return (
        f"{c['id']} {c['status']}: {subjects_text(c)} held by {party_name(c['holder'])}, asked by "
        f"{asked_by(c)} ({c.get('grounds') or 'grounds not given'}; opened {c['opened'][:10]}{extra})"
    )


# --- parties, read from WHMCS ------------------------------------------------------------------------


LARGEST_ID = 2**31 - 1  # WHMCS's ids are MySQL INT columns


def parse_subject(text: str) -> tuple[str, int]:
    match = SUBJECT.match(text.strip())
    if not match:
        raise UsageProblem(f"subject {text!r}: expected service:ID, domain:ID or client:ID")
    if len(match[2]) > 10 or int(match[2]) > LARGEST_ID:
        raise UsageProblem(f"subject {text!r}: an id WHMCS cannot have (at most {LARGEST_ID})")
    return match[1], int(match[2])


@dataclass
class Requester:
    client: int | None
    company: str = ""
    email: str = ""


def parse_requester(text: str) -> Requester:
    """`client:ID`, or an outside company: "Company name, contact@email"."""
    text = text.strip()
    if text.startswith("client:"):
        _, raw = parse_subject(text)
        return Requester(client=raw)
    company, _, email = text.rpartition(",")
    if not company.strip() or not EMAIL.match(email.strip()):
        raise UsageProblem(f'requester {text!r}: expected client:ID or "Company name, contact@email"')
    return Requester(client=None, company=company.strip(), email=email.strip())


# --- commands ------------------------------------------------------------------------------------------


def _family(config: Config) -> Ownership:
    if not config.ownership.enabled:
        raise BridgeError("ownership is not enabled (ownership.enabled in the configuration)")
    return build(config)


def submit(
    config: Config,
    db: Database,
    case_id: str,
    data: dict[str, Any],
    *,
    by: str,
    now: datetime,
    os_user: str | None = None,
    api: WhmcsApi | None = None,
    said: list[str] | None = None,
) -> dict[str, Any]:
    """Dry-run the rules (a refused transition becomes a clear error), then submit through the inbox.
    `os_user`: who runs it, the operating-system user running this process unless said (the demo plays
    two people in one process). `api`: an approval reads the subjects in WHMCS first (not_movable,
    owners_at_approval: the owners read go with the command, what staff must hear of them into `said`)."""
    family = _family(config)
    by = staff.member(config, by, FAMILY)
    data = {**data, "case": case_id, "by": by, "os_user": os_user or staff.os_user()}
    state = states.load(db, FAMILY, f"case:{case_id}")
    if not state and data.get("command") != "open":  # the command names a case that does not exist
        case(db, case_id)
    if state:
        refuse_edited(db, case_id, state, str(data.get("command")))
    if api is not None and state:
        read_first(db, api, case_id, state, data, now, said)
    try:
        family.decide_one(state, Event(id="dry-run", type="OwnershipCommand", data=data, source="cli"), now)
    except ValueError as exc:
        raise BridgeError(str(exc)) from None
    holder = (state.get("holder") or data.get("holder") or {}).get("client")
    staff.submit(db, config, "OwnershipCommand", data, by=by, client_id=holder, now=now, case_id=case_id)
    return case(db, case_id)


def read_first(
    db: Database,
    api: WhmcsApi,
    case_id: str,
    state: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
    said: list[str] | None,
) -> None:
    """What a command reads in WHMCS before it goes into the chain, added to its `data` (or a BridgeError): an
    approval, the subjects that move and the other cases on them; a completion, what stays with the holder."""
    if data.get("command") == "approve":
        gone = not_movable(api, state)
        if gone:
            raise BridgeError(f"case {case_id} is not approved: {gone}; reject or cancel the case")
        held = frozen_now(db, api, state, now)
        if held:
            raise BridgeError(f"case {case_id} is not approved: {held}")
        data["owners"], words = owners_at_approval(api, state)
        data["contents"], grown = account_contents(api, state)
        if grown:
            raise BridgeError(f"case {case_id} is not approved: {grown}")
        # Only a case under review is approved (flow.approve says so otherwise): its parties' messages are read.
        unread = state.get("status") == "review" and unread_messages(api, state, lambda t, r: own_message(db, t, r))
        if unread:
            raise BridgeError(f"case {case_id} is not approved: {unread}")
        if said is not None:
            said.extend(words)
    if data.get("command") == "cancel" and state.get("status") == "executing":
        # An executing case may be cancelled when WHMCS shows nothing moved (commands.nothing_moved): read it now.
        moving = [s for s in state.get("subjects") or [] if s.get("hand_over") == "move"]
        data["owners_now"] = read_owners(api, moving)
    if data.get("command") == "complete":
        # What the case does not hand over (a backup only, refused) must still be the holder's in WHMCS: read first
        # (commands.complete_command refuses otherwise; twenty-third break round, ownership HIGH 1).
        kept = [s for s in state.get("subjects") or [] if s.get("hand_over") != "move"]
        data["kept"] = {k: v for k, v in read_owners(api, kept).items()} if kept else {}


def refuse_edited(db: Database, case_id: str, state: dict[str, Any], command: str) -> None:
    """A command on a case whose policy is not the one the chain recorded is refused before it goes into the chain
    (the engine would refuse it: state_refused); an approval, on any fact the chain does not hold."""
    edited = integrity.policy_refusal(db, case_id, state)
    if edited:
        raise StateEdited(edited)
    if command == "approve":  # nothing is executed on facts the chain does not hold
        integrity.check(db, case_id)  # the state read with the chain, at one instant


def own_message(db: Database, ticket: int, reply: TicketReply | TicketNote) -> bool:
    """The bridge wrote this message (a ticket its action opened, a reply or a note it sent), as the engine decides
    it for an event WHMCS tells of (engine.own_write)."""
    if isinstance(reply, TicketNote):
        note = {"ticketid": ticket, "noteid": reply.id, "message": reply.message}
        return own_write(db, Event(id="approval-read", type="TicketAddNote", data=note, source="cli")) is not None
    kind = "TicketUserReply" if reply.id else "TicketOpen"
    data = {"ticketid": ticket, "userid": reply.client_id, "message": reply.message}
    return own_write(db, Event(id="approval-read", type=kind, data=data, source="cli")) is not None


def open_case(
    config: Config,
    db: Database,
    api: WhmcsApi,
    *,
    subjects: list[str],
    requester: str,
    grounds: str,
    by: str,
    note: str,
    now: datetime,
    draft: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a case (or confirm a draft): read the subjects' holder and both parties from WHMCS."""
    _family(config)
    if grounds not in GROUNDS:
        raise BridgeError(f"grounds {grounds!r}: expected one of {', '.join(GROUNDS)}")
    if not subjects:
        raise BridgeError("name at least one subject: --subject service:ID, domain:ID or client:ID")
    parsed = list(dict.fromkeys(parse_subject(s) for s in subjects))
    read, holder_id = read_subjects(api, parsed)
    items = [{"kind": s["kind"], "id": s["id"]} for s in read]
    items += [item for s in read if s["kind"] == "client" for item in contents(api, s["id"])]
    items.append({"kind": "account", "id": holder_id})  # an open claim on the holder's whole account covers them
    refusal = frozen(db, items, now, open_cases=True, court_order=grounds == "court-order")
    if refusal and not (draft and refusal.startswith(f"ownership case {draft['id']} ")):
        raise BridgeError(f"a new case on these subjects is refused: {refusal}")
    who = parse_requester(requester)
    holder = client_party(api, holder_id)
    if who.client is not None:
        if who.client == holder_id:
            raise BridgeError(f"client #{holder_id} already holds these subjects")
        party = client_party(api, who.client)
    else:
        # The holder's address (its profile's or a user's of its account) as an outside requester's: the links and
        # messages for the requester would go to the holder, who could consent for the other party. All subjects have
        # this one holder (read_subjects), so no client owning one of them is left out.
        if who.email.casefold() in {holder["email"].strip().casefold(), *holder["user_emails"]}:
            raise UsageProblem(
                f"requester {who.email}: this is the email address of client #{holder_id}, who holds these subjects "
                "(the requester's links would go to the holder); give the requester's own address"
            )
        party = {"client": None, "name": "", "company": who.company, "email": who.email}
    data = {"subjects": read, "holder": holder, "requester": party, "grounds": grounds, "note": note}
    if draft:
        return submit(config, db, draft["id"], {**data, "command": "confirm"}, by=by, now=now)
    case_id = new_case_id(db)
    return submit(config, db, case_id, {**data, "command": "open"}, by=by, now=now)


def new_case_id(db: Database) -> str:
    """A case id never used before, whatever became of the case that had it (a cancelled case and a new
    one on the same subjects the same day are two cases)."""
    while True:
        case_id = "o" + uuid.uuid4().hex[:7]
        if states.get(db, FAMILY, f"case:{case_id}") is None:
            return case_id


def attach(
    config: Config,
    db: Database,
    case_id: str,
    data: bytes,
    *,
    name: str,
    kind: str,
    sender: str,
    via: str,
    dated: str | None,
    ticket: int | None,
    by: str,
    now: datetime,
    message: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    current = case(db, case_id)
    if current["status"] in FINAL:
        raise BridgeError(f"case {case_id} is {current['status']}: no more evidence is taken")
    if kind not in EVIDENCE_KINDS:
        raise BridgeError(f"evidence kind {kind!r}: expected one of {', '.join(EVIDENCE_KINDS)}")
    if dated and date.fromisoformat(dated) > latest_today(now):  # a typo, or a date the document cannot bear
        raise BridgeError(f"--dated {dated} is after today: attach the document with the date it bears")
    if dated and date.fromisoformat(dated) < EARLIEST_DATED:  # "0001-01-01": a typo (break round 14 L1)
        raise BridgeError(
            f"--dated {dated} is before {EARLIEST_DATED.isoformat()}: attach the document with the date it bears"
        )
    refuse_live_links(f"the file {os.path.basename(name)!r}", data, lambda token: live_links.live(db, token, now))
    digest, media = store_evidence(config, data)
    display = re.sub(r"[^\w.\- ]", "_", os.path.basename(name))[:120] or "file"  # shown, never used as a path
    submit(
        config,
        db,
        case_id,
        {
            "command": "attach",
            "sha256": digest,
            "kind": kind,
            "name": display,
            "media_type": media,
            "size": len(data),
            "from": sender,
            "via": via,
            "dated": dated,
            "ticket": ticket,
            **({"message": message} if message else {}),  # TICKET:REPLY or TICKET:nNOTE, a later message's file
            **({"source": source} if source else {}),  # who WHMCS says wrote the message it came from
        },
        by=by,
        now=now,
    )
    return case(db, case_id)["evidence"][-1]


def _same_file(current: dict[str, Any], data: bytes) -> int | None:
    """The item of the case that already is this file (not withdrawn), or None."""
    digest = hashlib.sha256(data).hexdigest()
    return next(
        (e["item"] for e in current.get("evidence", []) if e["sha256"] == digest and e["status"] != "withdrawn"), None
    )


def not_recorded(exc: BridgeError, party: str, answer: str) -> BridgeError:
    """A refused evidence file refuses the whole answer: the error says so first, or staff read it as "the file was
    not kept" and the answer is lost (twenty-fourth break round, ownership LOW 7)."""
    kind = UsageProblem if isinstance(exc, UsageProblem) else BridgeError
    return kind(f"the {party}'s answer ({answer}) was not recorded, nor its file: {exc}")


def record_answer(
    config: Config,
    db: Database,
    case_id: str,
    *,
    party: str,
    answer: str,
    via: str,
    evidence: tuple[str, bytes] | None,
    by: str,
    note: str,
    now: datetime,
    reply_to: tuple[int, int | str | None] | None = None,
) -> dict[str, Any]:
    """An answer received outside the link (a ticket, an email, a letter, a call), recorded by a listed
    member of staff; its file, if any, is kept as the case's evidence first (the holder's own statement), in
    the same transaction: an answer the rules refuse keeps no file either (issue 17, M3). `reply_to`: the written
    reply (ticket, reply) it classifies (answers.answered_replies)."""
    staff.member(config, by, FAMILY)
    with db.atomic():
        item = None
        kept = _same_file(case(db, case_id), evidence[1]) if evidence is not None else None
        if kept is not None:  # the letter already on file (a second try): the answer points to it, nothing is added
            item = kept
        elif evidence is not None:
            name, data = evidence
            kind = "holder-statement" if party == "holder" else "other"
            try:
                attached = attach(
                    config, db, case_id, data, name=name, kind=kind, sender=party, via=via, dated=None, ticket=None,
                    by=by, now=now,
                )  # fmt: skip
            except BridgeError as exc:
                raise not_recorded(exc, party, answer) from None
            item = attached["item"]
        command: dict[str, Any] = {
            "command": "answer",
            "party": party,
            "answer": answer,
            "via": via,
            "evidence": item,
            "note": note,
        }
        if reply_to is not None:
            command["reply_to"] = {"ticket": reply_to[0], "reply": reply_to[1]}
        return submit(config, db, case_id, command, by=by, now=now)


def record_step(
    config: Config,
    db: Database,
    api: WhmcsApi,
    case_id: str,
    *,
    what: str,
    subject: str,
    by: str,
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """A step staff did by hand in WHMCS's admin area (the registrant update, a move), recorded once WHMCS
    shows it, with what was read; the bridge's own action for it, parked or held, is rejected (it never runs)."""
    by = staff.member(config, by, FAMILY)
    current = case(db, case_id)
    kind, item_id = parse_subject(subject)
    subject = f"{kind}:{item_id}"
    words = f"{'the registrant update of' if what == 'registrant' else 'the move of'} {kind} #{item_id}"
    found = next((x for x in seen.pending(current) if x[0] == what and ref(x[1]) == subject), None)
    if current["status"] != "executing" or found is None:
        raise BridgeError(f"case {case_id} is not waiting for {words} ({current['status']})")
    now_seen = whmcs_now(api, {**current, "subjects": [found[1]]})
    shown = next(x for x in now_seen if x.step == what)
    if not shown.done:
        raise BridgeError(
            f"WHMCS does not show {words} yet ({shown.read}{_differs(shown)}): do it in WHMCS first, then record it"
        )
    data = {"command": "step", "step": what, "subject": subject, "seen": shown.read, "note": note}
    data.update({k: v for k, v in shown.facts.items() if k in ("owner", "emails", "holds")})
    # One write: the bridge's actions for the step are read and rejected before any of them can start.
    with db.atomic():
        rows = step_rows(db, current, what, subject)
        busy = under_way(rows)
        if busy is not None:
            how = running(config, db, busy) if busy.status == "in_flight" else busy.status.replace("_", " ")
            after = "" if busy.status == "in_flight" else ": the next pass finishes and records it"
            raise BridgeError(
                f"the bridge has {words} under way (its action is {how}){after}; look at "
                f"`whmcs-bridge ownership show {case_id}` after it"
            )
        submit(config, db, case_id, data, by=by, now=now)
        for row in (row for row in rows if row.status in outbox.WAITING):
            staff.decide(db, row.id, approve=False, by=by, reason=f"done by hand in WHMCS: {shown.read}", now=now)
    return case(db, case_id)


def step_rows(db: Database, current: dict[str, Any], what: str, subject: str) -> list[outbox.OutboxEntry]:
    """The bridge's actions for one execution step of the case (`what`: registrant or move, on `subject`)."""
    keys = [
        action_key(FAMILY, f"case:{current['id']}", purpose)
        for purpose, entry in current.get("steps", {}).items()
        if entry["kind"] == seen.STEPS[what] and entry["subject"] == subject
    ]
    return [row for row in (outbox.by_key(db, key) for key in keys) if row is not None]


def under_way(rows: list[outbox.OutboxEntry]) -> outbox.OutboxEntry | None:
    """The action among them that will still run or has run (planned, in flight, done): not staff's to record."""
    return next((row for row in rows if row.status not in (*outbox.WAITING, *NEVER_RUNS)), None)


def _differs(shown: seen.Seen) -> str:
    """Each registrant field a read found different, with what WHMCS shows and what the case expects."""
    differs = shown.facts.get("differs") or []
    said = (f"{k} shows {v or 'nothing'} where the case expects {want or 'nothing'}" for k, v, want in differs)
    return f"; it differs: {'; '.join(said)}" if differs else ""


def to_recheck_after_rollback(db: Database) -> list[str]:
    """The open cases, after a restore behind WHMCS's anchors: the lost rows are not in the database, so which
    case they touched cannot be told here; each open case may have lost an answer or a decision."""
    return [f"ownership case {c['id']} ({c['status']})" for c in cases(db) if c["status"] not in FINAL]


def state_refused(db: Database, key: str, state: dict[str, Any]) -> str | None:
    """The rules decide nothing of a case whose state is not the one they last sealed in the audit chain, or whose
    policy is not the one the chain recorded when it opened (the spec's hook, families/spec.py state_refusal,
    asked by the engine before each decision)."""
    if not key.startswith("case:"):
        return None
    case_id = key.split(":", 1)[1]
    refused = integrity.policy_refusal(db, case_id, state)  # the more telling sentence when the policy was edited
    edited = seals.problems(db, FAMILY, key, case_id)
    return refused or (integrity.edited_sentence(case_id, edited[0]) if edited else None)


def approval_refused(db: Database, entry: outbox.OutboxEntry) -> str | None:
    """`approvals approve` of a case's action waits, as `ownership approve` does, while a reply in the case is
    not classified: it may be an objection (the spec's hook, families/spec.py approval_refusal); it is refused
    while the case is in a status its writes do not run in (disputed, cancelled: their guard `state_in`)."""
    case_id = str(entry.subject or "").removeprefix(f"{FAMILY}:")
    case = states.get(db, FAMILY, f"case:{case_id}") or {}
    allowed = (entry.guard.get("state_in") or {}).get("in")
    if allowed and case.get("status") not in allowed:  # its guard would cancel it on the next pass: say it now
        return f"ownership case {case_id} is {case.get('status') or 'gone'}: its writes run only while it executes"
    replies = replies_to_classify(case)
    if not replies:
        return None
    r = replies[0]
    return (
        f"ownership case {case_id} has a message not classified yet ({msg_ref(r)}, by {r['writer']}): it may be an "
        f"objection; record what it answers with `{classify_command(case_id, r)}` first"
    )
