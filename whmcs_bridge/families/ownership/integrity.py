"""A case's state against the keyed audit chain: the state (family_state) is not keyed, the chain is, so
each decisive fact of the state must be one the chain recorded, each answer the chain recorded must be in
the state, and what the state derives from them (each subject's hand-over, the holder's standing objection)
must follow. Run at export and by a dossier's verify on the dossier's rows, and on the live rows before an
approval, before each execution step and by `audit verify` (issue 17, tenth round H2 and H3). The policy the
case applies is also checked before the rules decide anything of the case (policy_refusal: nineteenth round H4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from whmcs_bridge.errors import StateEdited
from whmcs_bridge.families.ownership.case import hand_over
from whmcs_bridge.families.ownership.execution import step_words
from whmcs_bridge.families.ownership.policies import applied_policy
from whmcs_bridge.model import Event, action_key
from whmcs_bridge.store import audit, inbox, seals, states
from whmcs_bridge.store.chain_head import canonical
from whmcs_bridge.store.db import Database

ATTACHED = "staff.OwnershipCommand.attach"
STAFF_COMMAND = "staff.OwnershipCommand."
FAMILY = "ownership"
POLICY_APPLIED = "ownership.policy_applied"  # the opening's milestone (flow.opened)
# The dates a case's milestones record, as the state keeps them (flow.advance, completion.complete).
DATES = {"deadline": ("ownership.holder_notified", "the holder's deadline"),
         "lock_until": ("ownership.execution_completed", "the lock until")}  # fmt: skip


def check(db: Database, case_id: str, case: dict[str, Any] | None = None) -> None:
    """Refuse (StateEdited, one sentence naming the first difference) a case whose state disagrees with the
    chain's entries for it: run before an approval and before each execution step."""
    refused = live_refusal(db, case_id, case)
    if refused:
        raise StateEdited(refused)


def live_refusal(db: Database, case_id: str, case: dict[str, Any] | None = None) -> str | None:
    """Why nothing of the case may run now, as one sentence, or None: the first difference between its state and
    the chain (live_problems), else an answer or a staff command for it the rules parked (parked_sentence)."""
    return step_refusal(db, case_id, "", case)


def step_refusal(db: Database, case_id: str, key: str, case: dict[str, Any] | None = None) -> str | None:
    """live_refusal for the case's action `key` (the executor's, before each step): the staff ticket naming a
    parked event (timers.answer_parked) still goes, staff's only way to hear of it; all else of the case waits."""
    with db.snapshot():
        parked = inbox.about_entries(db, "OwnershipCommand", "case", case_id, "parked")
        problems = live_problems(db, case_id, case)
    if problems:  # the state to put back first; an event parked meanwhile is retried after
        retry = [
            f"; then retry event {e.id}, parked meanwhile, with `whmcs-bridge events retry {e.id} --by NAME`"
            for e in parked
        ]
        return edited_sentence(case_id, problems[0]) + "".join(retry[:1])
    if not parked or key in {parked_ticket_key(case_id, int(e.id)) for e in parked}:
        return None
    return parked_sentence(case_id, parked[0])


def parked_ticket_key(case_id: str, event: int) -> str:
    """The key of staff's ticket about a parked event of the case (timers.answer_parked, policies.staff_ticket)."""
    return action_key(FAMILY, f"case:{case_id}", f"staff-answer-parked-{event}")


def parked_sentence(case_id: str, entry: inbox.InboxEntry) -> str:
    """A fact of the case in the chain whose event the rules parked (its state edited when it came, say) is not
    the state's yet: the remedy is that event's retry once its cause is fixed, never a restore from a backup
    (twenty-fifth break round, MEDIUM 9: a restore of the whole database drops the answer from the chain and
    opens the used link again)."""
    return (
        f"case {case_id}: {parked_what(entry)} waits in event {entry.id}, which the rules parked, so nothing of the "
        "case runs without it: `whmcs-bridge events parked` says why; once that is fixed, retry it with "
        f"`whmcs-bridge events retry {entry.id} --by NAME`"
    )


def parked_what(entry: inbox.InboxEntry) -> str:
    """A parked OwnershipCommand as staff read it: a party's answer through its link, or a staff command."""
    data = entry.event().data
    if data.get("command") == "consent":
        party = "requester" if data.get("purpose") == "ownership-requester" else "holder"
        return (
            f"the {party}'s answer of {data.get('at') or entry.occurred_at} through its link ({data.get('decision')})"
        )
    return f"the staff command `{data.get('command')}` of {entry.occurred_at}"


def edited_cases(db: Database) -> list[str]:
    """One sentence for each case whose state disagrees with the live chain (`audit verify`), every case read
    at one instant (live_problems)."""
    found = []
    with db.snapshot():
        cases = dict(states.items(db, FAMILY, "case:"))
        for key, case in cases.items():
            refused = live_refusal(db, key.split(":", 1)[1], case)
            if refused:
                found.append(refused)
        found += [  # a case deleted from the database: its seals are still in the chain
            edited_sentence(case_id, problem)
            for family, key, case_id in seals.sealed(db)
            if family == FAMILY and key not in cases
            for problem in seals.problems(db, family, key, case_id)[:1]
        ]
    return found


def policy_refusal(db: Database, case_id: str, case: dict[str, Any]) -> str | None:
    """Why the rules may not decide on the case now (the engine asks before each decision, staff commands before
    their dry run): the policy its state applies is not the one the chain recorded when it opened; or None. Only
    the policy is compared here, the rest of the state is checked where it is acted on (live_problems)."""
    rows = audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}")
    problems = unopened(db, rows) + policy_problems(
        case, [r for r in rows if r["action"] == POLICY_APPLIED or r["action"] in NAMING]
    )
    return edited_sentence(case_id, problems[0]) if problems else None


def unopened(db: Database, rows: list[dict[str, Any]]) -> list[str]:
    """A case the bridge opened has its opening in the chain: the policy it applied, or (a draft from a ticket)
    the seal of its first decision. A case with neither, once the chain holds seals, was put into the database
    outside the bridge (twenty-fifth break round, HIGH 1): it is not taken as decided before seals existed."""
    if any(r["action"] in (POLICY_APPLIED, seals.SEALED) for r in rows) or not seals.any_sealed(db):
        return []
    return ["the audit chain recorded no opening of it: the bridge never opened such a case"]


def live_problems(db: Database, case_id: str, case: dict[str, Any] | None = None) -> list[str]:
    """The case's state (read now unless given) against its rows in the live chain. A link answer and a staff
    command are written to the chain and the inbox in one transaction, and reach the state when the rules
    decide the event (the engine, in another transaction, maybe another process): so the state, the chain and
    the inbox are read at one instant (one read transaction), and a row whose event still waits in the inbox
    is not yet the state's to hold (eleventh round M1); nor one whose event the rules parked (live_refusal
    names that event and its retry). Once decided, it is checked like any other."""
    with db.snapshot():
        case = case if case is not None else states.get(db, FAMILY, f"case:{case_id}")
        if not case:
            return []
        rows = audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}")
        waiting = [
            e.event()
            for e in inbox.about_entries(db, "OwnershipCommand", "case", case_id)
            + inbox.about_entries(db, "OwnershipCommand", "case", case_id, "parked")  # named apart: live_refusal
        ]
        held = seals.held_problem(db, FAMILY, f"case:{case_id}", case_id)
        opening = unopened(db, rows)
    return opening + recorded_problems(case, [r for r in rows if not any(_carries(e, r) for e in waiting)]) + held


def _carries(event: Event, row: dict[str, Any]) -> bool:
    """The inbox event written with this audit row and not decided yet: the link answer (web/consent.py
    record: same link purpose, answer and instant) or the staff command (staff.submit: the same command)."""
    data, detail = event.data, row["detail"]
    if not isinstance(detail, dict):
        return False
    if row["action"] == "consent.decided":
        return data.get("command") == "consent" and all(
            data.get(k) == (row.get("at") if k == "at" else detail.get(k)) for k in ("purpose", "decision", "at")
        )
    return (
        row["action"] == f"{STAFF_COMMAND}{data.get('command')}"
        and event.occurred_at == row.get("at")
        and canonical(data) == canonical(detail)
    )


def edited_sentence(case_id: str, problem: str) -> str:
    return (
        f"case {case_id}: its state in the database was edited outside the bridge ({problem}), so nothing of it "
        "runs: restore the state from a backup and check the chain with `whmcs-bridge audit verify`"
    )


def recorded_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The case's facts against the case's audit rows that recorded them: each evidence item's SHA-256 (its
    attach row), what staff did (staff_fact_problems), each answer through a link (its consent.decided row:
    the party, the answer, the address, the browser, the reason and the instant). Run at export on the live
    rows and by verify on the dossier's."""
    attached = {r["detail"].get("sha256") for r in rows if r["action"] == ATTACHED and isinstance(r["detail"], dict)}
    problems = policy_problems(case, rows) + [
        f"evidence item {item.get('item')}: its SHA-256 is not in the audit chain (entry edited)"
        for item in case.get("evidence", [])
        if item.get("sha256") not in attached
    ]
    problems += staff_fact_problems(case, rows)
    links = [
        (r.get("at"), r["detail"]) for r in rows if r["action"] == "consent.decided" and isinstance(r["detail"], dict)
    ]
    problems += [
        f"the {answer.get('party')}'s answer of {answer.get('at')}: not in the audit chain (entry edited)"
        for answer in case.get("answers", [])
        if not any(_same_answer(answer, at, detail) for at, detail in links)
    ]
    problems += unrecorded_problems(case, rows, links) + dropped_evidence(case, rows) + opening_problems(case, rows)
    return problems + dates_problems(case, rows) + derived_problems(case, rows) + sealed_problems(case, rows)


def sealed_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The whole state against the last seal the rules wrote in the chain (store/seals.py): what no fact above
    compares (the status, the opening's date and note, a timeline line, a party's reply) is covered too
    (twenty-third break round, ownership HIGH 3)."""
    problem = seals.state_problem(case, seals.last_in(rows, FAMILY, f"case:{case.get('id')}"))
    return [problem] if problem else []


def dates_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The holder's deadline and the lock after completion against the last milestone that set them (a case
    notified or completed before milestones recorded them has none: taken as stored)."""
    problems = []
    for field, (action, named) in DATES.items():
        recorded = [r["detail"] for r in rows if r["action"] == action and isinstance(r["detail"], dict)]
        if recorded and field in recorded[-1] and recorded[-1][field] != case.get(field):
            problems.append(
                f"{named} {str(case.get(field))[:19]} is not the {str(recorded[-1][field])[:19]} the chain recorded"
            )
    return problems


def policy_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The policy the case's state applies (every field of each policy's snapshot: the documents, whom it asks,
    the window, the approvals, the lock...; and which policy each subject follows) against the last one the
    chain recorded for the case (its opening's `policy_applied`; no other path changes a case's policy)."""
    recorded = [r["detail"] for r in rows if r["action"] == POLICY_APPLIED and isinstance(r["detail"], dict)]
    if not recorded:
        # A case opened before the bridge recorded the policy it applied has no such row: its policy is taken as
        # stored (nothing to compare it with). A newer case's row cannot be removed without breaking the chain's
        # links, which `audit verify` and a dossier's verify name.
        return []
    last = recorded[-1]
    was = {k: last[k] if isinstance(last.get(k), dict) else {} for k in ("policies", "subjects")}
    now = applied_policy(case)
    problems = []
    for name in sorted({*was["policies"], *now["policies"]}):
        before, after = was["policies"].get(name), now["policies"].get(name)
        if not isinstance(before, dict) or not isinstance(after, dict):
            problems.append(
                f"policy {name} is not in the case's state, but the audit chain recorded it when the case opened"
                if isinstance(before, dict)
                else f"policy {name} is in the case's state, but the audit chain recorded no such policy"
            )
            continue
        problems += [
            f"policy {name}'s {field} is {after.get(field)!r}, but the audit chain recorded {before.get(field)!r} "
            "when the case opened"
            for field in sorted({*before, *after})
            if before.get(field) != after.get(field)
        ]
    problems += [
        f"{subject} follows policy {now['subjects'].get(subject)}, but the audit chain recorded "
        f"{was['subjects'].get(subject)} when the case opened"
        for subject in sorted({*was["subjects"], *now["subjects"]})
        if was["subjects"].get(subject) != now["subjects"].get(subject)
    ]
    facts = last.get("facts")  # recorded since the twenty-second round; an older case's are taken as stored
    if isinstance(facts, dict):
        facts = {**facts, **named_since(rows)}
    return (
        problems
        + [
            f"the {name} is {now['facts'].get(name)!r}, but the audit chain recorded {facts.get(name)!r} when the case "
            "opened"
            for name in sorted({*facts, *now["facts"]})
            if facts.get(name) != now["facts"].get(name)
        ]
        if isinstance(facts, dict)
        else problems
    )


# The milestone the rules record, with the state, when staff name a requester outside WHMCS (commands.py
# requester_contact): the one party fact that changes in an open case.
NAMED = f"{FAMILY}.requester_named"
NAMING = (NAMED,)


def named_since(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The requester's name staff gave after the opening (`requester-contact --name`), as the rules recorded it
    with the state (twenty-third break round, ownership MEDIUM 6: the case was taken for one edited outside the
    bridge, its link answers parked and even `cancel` refused)."""
    named = [r["detail"] for r in rows if r["action"] == NAMED and isinstance(r["detail"], dict)]
    return {"requester name": str(named[-1].get("name"))} if named else {}


def unrecorded_problems(
    case: dict[str, Any], rows: list[dict[str, Any]], links: list[tuple[Any, dict[str, Any]]]
) -> list[str]:
    """What the chain recorded that the state must still hold: each answer through a link, each objection
    staff recorded, each evidence check. A fact erased from the state (the holder's objection) has its row
    left over; one edited is named by recorded_problems, so only the party and instant are matched here."""
    problems = [
        f"the {_party(detail)}'s answer of {at} through its link ({detail.get('decision')}) is in the audit chain "
        "but not in the case's state"
        for at, detail in links
        if not any(a.get("at") == at and a.get("party") == _party(detail) for a in case.get("answers") or [])
    ]
    for command, at, detail in staff_rows(rows):
        if command == "answer" and detail.get("answer") == "object":
            fact = {**detail, "at": at}
            if not any(_same(fact, r, "at", "party") for r in case.get("recorded_answers") or []):
                problems.append(
                    f"the {detail.get('party')}'s objection recorded by {detail.get('by')} of {at} is in the audit "
                    "chain but not in the case's state"
                )
        if command in ("check", "withdraw"):
            item: dict[str, Any] = next(
                (i for i in case.get("evidence") or [] if str(i.get("item")) == str(detail.get("item"))), {}
            )
            if not any(c.get("at") == at for c in item.get("checks") or []):
                problems.append(
                    f"the {command} of evidence item {detail.get('item')} by {detail.get('by')} of {at} is in the "
                    "audit chain but not in the case's state"
                )
    return problems


def opening_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The case's note and each domain's WHOIS registrant before the change against the staff command that opened
    the case (or confirmed its draft: the last one sets both, flow.opened); a case with no such row (a draft the
    bridge made) is taken as stored (twenty-third break round H)."""
    made = [detail for command, _, detail in staff_rows(rows) if command in ("open", "confirm")]
    if not made:
        return []
    last = made[-1]
    problems = []
    if (last.get("note") or "") != (case.get("note") or ""):
        problems.append(
            f"the case's note is {case.get('note')!r}, but the audit chain recorded {last.get('note')!r} when the "
            "case opened"
        )
    subjects = last.get("subjects")
    subjects = subjects if isinstance(subjects, list) else []
    recorded = {(s.get("kind"), s.get("id")): s.get("registrant_before") for s in subjects if isinstance(s, dict)}
    return problems + [
        f"{_subject(s)}'s registrant before the change is not the one the audit chain recorded when the case opened"
        for s in case.get("subjects") or []
        if isinstance(s, dict) and s.get("registrant_before") != recorded.get((s.get("kind"), s.get("id")))
    ]


def dropped_evidence(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Each file the chain recorded as attached must be an item of the case, whatever became of it (a withdrawn
    item stays, marked withdrawn): an item dropped from the state, the holder's counter-evidence not yet checked
    say, would otherwise leave a signed dossier without it (twenty-third break round H)."""
    items = case.get("evidence") or []
    return [
        f"the evidence attached of {at} (SHA-256 {str(detail.get('sha256'))[:16]}…) is in the audit chain but not "
        "in the case's state"
        for command, at, detail in staff_rows(rows)
        if command == "attach"
        and not any(i.get("sha256") == detail.get("sha256") and i.get("received") == at for i in items)
    ]


def derived_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """What the state derives from its facts: the holder's consent and a court order each backed by their
    fact, each subject's hand-over the one the policy and the answers give, and no case under review or
    approved against the holder's objection that nothing since withdrew or overruled."""
    problems = []
    if case.get("holder_consent") and not [c for c in holder_answers(case) if c[1] == "consent"]:
        problems.append(f"the holder's consent of {case['holder_consent']} has no answer saying so")
    resolved = [(at, str(d.get("outcome"))) for command, at, d in staff_rows(rows) if command == "resolve"]
    if case.get("court_order") and not any(outcome == "court-order" for _, outcome in resolved):
        problems.append(f"the court order of {case['court_order']} has no entry in the audit chain")
    if case.get("status") in ("review", "approved", "executing") and case.get("policies"):
        for subject in case.get("subjects") or []:
            chosen = subject.get("hand_over")
            if chosen and subject.get("policy") in case["policies"] and chosen != hand_over(case, subject):
                problems.append(
                    f"{_subject(subject)} is set to {chosen}, but its policy and the recorded answers give "
                    f"{hand_over(case, subject)}"
                )
    answers = holder_answers(case)
    if case.get("status") in ("review", "approved") and answers and answers[-1][1] == "object":
        objected = answers[-1][0]
        if not any(_instant(at) >= objected for at, _ in resolved):
            problems.append(
                f"the holder's objection of {objected.isoformat()} stands (nothing since withdrew or overruled it), "
                f"but the case is {case['status']}"
            )
    return problems


def holder_answers(case: dict[str, Any]) -> list[tuple[Any, str]]:
    """The holder's answers in the state, through its link and recorded by staff, oldest first: (instant,
    consent|object)."""
    found = [
        (_instant(a.get("at")), "consent" if a.get("decision") == "accept" else "object")
        for a in case.get("answers") or []
        if a.get("party") == "holder"
    ]
    found += [
        (_instant(r.get("at")), str(r.get("answer")))
        for r in case.get("recorded_answers") or []
        if r.get("party") == "holder"
    ]
    return sorted(found, key=lambda pair: pair[0])


def staff_rows(rows: list[dict[str, Any]]) -> list[tuple[str, Any, dict[str, Any]]]:
    """The case's staff commands in the chain: (command, instant, what it said)."""
    return [
        (str(r["action"])[len(STAFF_COMMAND) :], r.get("at"), r["detail"])
        for r in rows
        if str(r.get("action")).startswith(STAFF_COMMAND) and isinstance(r.get("detail"), dict)
    ]


def instant(at: Any) -> datetime:
    """An instant as written in a row or the state (a broken one sorts first)."""
    return _instant(at)


def _instant(at: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _same(one: dict[str, Any], other: dict[str, Any], *fields: str) -> bool:
    return all((one.get(k) or "") == (other.get(k) or "") for k in fields)


def _party(detail: dict[str, Any]) -> str:
    return "requester" if detail.get("purpose") == "ownership-requester" else "holder"


def _subject(subject: dict[str, Any]) -> str:
    return f"{subject.get('kind')} #{subject.get('id')} ({subject.get('name')})"


def _same_answer(answer: dict[str, Any], at: Any, detail: dict[str, Any]) -> bool:
    return (
        at == answer.get("at")
        and _party(detail) == answer.get("party")
        and all((detail.get(k) or "") == (answer.get(k) or "") for k in ("decision", "ip", "user_agent", "reason"))
    )


# The timeline's steps no staff command took: the rules', the parties' (a reply by someone who is neither is
# "other"), and "staff" for a move someone made in WHMCS's admin area, which the bridge saw there.
NOT_STAFF = frozenset({"bridge", "holder", "requester", "other", "staff"})


def staff_fact_problems(case: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """What the case's state says staff did (each approval with the member of staff and the system user, each
    answer staff recorded, each confirmation of a withdrawn objection, each evidence check, the timeline's
    staff steps), each against the audit row the staff command left in the case's rows, same instant, same
    person. The state is not keyed and the chain is: a fact edited in the database has no row to match
    (issue 17, H3)."""
    made = staff_rows(rows)

    def recorded(commands: set[str] | None, fact: dict[str, Any], *fields: str) -> bool:
        return any(
            (commands is None or command in commands)
            and at == fact.get("at")
            and all((detail.get(k) or "") == (fact.get(k) or "") for k in fields)
            for command, at, detail in made
        )

    problems = [
        f"{describe(fact)} has no entry"
        for section, commands, fields, describe in STAFF_FACTS
        for fact in case.get(section) or []
        if isinstance(fact, dict)
        and not (section == "history" and fact.get("by") in NOT_STAFF)  # an approval "by bridge" is still checked
        and not recorded(commands, fact, *fields)
    ]
    for item in case.get("evidence") or []:
        problems += _attached_problems(item, recorded)
        problems += _check_problems(item, recorded)
    problems += _by_hand_problems(case, recorded)
    return [f"{p} in the audit chain" for p in problems]


# Each list of the case's state that records what a member of staff did: the staff commands that make an
# entry, the fields the entry shares with the command's audit row, and how the entry is named.
STAFF_FACTS: tuple[tuple[str, set[str] | None, tuple[str, ...], Callable[[dict[str, Any]], str]], ...] = (
    (
        "approvals",
        {"approve"},
        ("by", "os_user", "note"),
        lambda a: f"the approval by {a.get('by')} ({a.get('os_user')}) of {a.get('at')}",
    ),
    (
        "recorded_answers",
        {"answer"},
        ("by", "os_user", "party", "answer", "via", "evidence", "note"),
        lambda a: (
            f"the {a.get('party')}'s answer recorded by {a.get('by')} of {a.get('at')} ({a.get('answer')}, by "
            f"{a.get('via')})"
        ),
    ),
    (
        "consent_confirmations",
        {"answer", "resolve"},
        ("by", "os_user"),
        lambda c: f"the confirmation by {c.get('by')} of {c.get('at')}",
    ),
    ("history", None, ("by",), lambda h: f"the timeline's step {h.get('what')!r} by {h.get('by')} of {h.get('at')}"),
)


def _by_hand_problems(case: dict[str, Any], recorded: Callable[..., bool]) -> list[str]:
    """Each step staff recorded as done by hand (`ownership record-step`): who and what WHMCS showed, against
    the step command's audit row for the same subject at the same instant."""
    problems = []
    for entry in (case.get("steps") or {}).values():
        hand = entry.get("by_hand") if isinstance(entry, dict) else None
        if not isinstance(hand, dict):
            continue
        if not recorded({"step"}, {**hand, "subject": entry.get("subject")}, "by", "seen", "subject"):
            problems.append(
                f"the {step_words(entry)} done by hand by {hand.get('by')} of {hand.get('at')} (WHMCS showed "
                f"{hand.get('seen')}) has no entry"
            )
    return problems


# What an evidence item keeps of the attach command that made it (commands.attach): the file, what it is, where it
# came from (and who WHMCS says wrote the message it came from: `source`), the date it bears, who attached it.
ATTACH_FIELDS = (
    "sha256", "kind", "name", "media_type", "size", "from", "via", "ticket", "dated", "message", "source", "by",
)  # fmt: skip


def _attached_problems(item: dict[str, Any], recorded: Callable[..., bool]) -> list[str]:
    """An evidence item against its attach command's audit row, same instant, every field it keeps (twenty-first
    break round H1: an item re-dated, pointed at another stored file or relabelled in the database was exported)."""
    if recorded({"attach"}, {**item, "at": item.get("received")}, *ATTACH_FIELDS):
        return []
    return [
        f"evidence item {item.get('item')} ({item.get('kind')} from {item.get('from')} via {item.get('via')}, "
        f"dated {item.get('dated') or 'undated'}) has no attach entry matching it"
    ]


def _check_problems(item: dict[str, Any], recorded: Callable[..., bool]) -> list[str]:
    """An evidence item's checks, each against its staff command (check --ok/--reject, withdraw), and its
    status against its last check (an item no one checked is pending)."""
    problems = []
    checks = item.get("checks") or []
    for c in checks:
        result = c.get("result")
        fact = {**c, "item": item.get("item"), "ok": result == "ok"}
        command = "withdraw" if result == "withdrawn" else "check"
        fields = ("by", "note", "item") + (("ok",) if command == "check" else ())
        if not recorded({command}, fact, *fields):
            problems.append(
                f"the check of evidence item {item.get('item')} by {c.get('by')} of {c.get('at')} ({result}) "
                "has no entry"
            )
    status = item.get("status")
    if status != (checks[-1].get("result") if checks else "pending"):
        problems.append(f"evidence item {item.get('item')} marked {status} has no check saying so")
    return problems
