"""Answers outside the one-time links (pure): a party's reply in its case's ticket thread, and the answers
staff record as received by ticket, email, post or phone.

Who wrote a reply comes from WHMCS's facts (the reply's client id, or for a guest its address, read with
GetTicket), never from its words: what it says is for staff to classify. A holder's reply while the case
waits for its answer, or under review, sends the case to staff review flagged with the reply; the case
cannot be approved until staff record what the reply was (`ownership record-answer`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import FINAL, closed, due, replies_to_classify, unchanged
from whmcs_bridge.families.ownership.execution import read_owners, steps_ran
from whmcs_bridge.families.ownership.flow import advance, distinct_staff, objection_notices, to_review
from whmcs_bridge.families.ownership.holder import is_new_holder
from whmcs_bridge.families.ownership.incoming import ANSWERABLE
from whmcs_bridge.families.ownership.policies import (
    Rules,
    case_refs,
    hand_over_fields,
    iso,
    label,
    message_id,
    msg_ref,
    party_notes,
    ref,
    reply_arg,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.families.ownership.watch import watched_owners
from whmcs_bridge.model import Action, Decision, as_int


def unclassified(case: dict[str, Any], party: str = "holder") -> list[dict[str, Any]]:
    """The party's replies not classified yet; for the holder, also those of writers who are neither party
    (the holder objecting from another address, its lawyer): a requester's answer never classifies them, or
    its consent would count as theirs."""
    writers = ("holder", "other") if party == "holder" else (party,)
    return [r for r in case.get("replies", []) if r["party"] in writers and not r.get("classified")]


def record_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """An answer staff received by ticket, email, post or phone counts as the party's answer: recorded
    with who recorded it, how it came and its evidence item, and the case moves as it would for the link."""
    party, answer, via = str(data.get("party")), str(data.get("answer")), str(data.get("via"))
    if party not in ("holder", "requester") or answer not in ("consent", "object", "unrelated"):
        raise ValueError("--party holder|requester and --answer consent|object|unrelated")
    by = str(data.get("by") or "staff")
    answered = answered_replies(case, party, answer, via, data.get("reply_to"))
    if answer == "unrelated":
        return unrelated(case, party, answered, by, str(data.get("note") or ""), now)
    if party == "holder" and answer == "consent" and case["status"] == "disputed":
        waiting = confirm_withdrawal(
            case, by, str(data.get("os_user") or ""), via, str(data.get("note") or ""), now, data.get("evidence")
        )
        if waiting is not None:
            return waiting
    record = {
        "party": party,
        "answer": answer,
        "via": via,
        "by": by,
        "os_user": data.get("os_user") or "",
        "at": iso(now),
        "evidence": data.get("evidence"),
        "note": str(data.get("note") or ""),
        "status": case["status"],
    }
    case.setdefault("recorded_answers", []).append(record)
    for reply in answered:
        reply["classified"] = answer
        reply["classified_by"], reply["classified_at"] = by, iso(now)
    what = "consented" if answer == "consent" else "objected"
    evidence = f" (evidence item {data['evidence']})" if data.get("evidence") else ""
    said = f": {record['note']}" if record["note"].strip() else ""
    step(case, now, f"{party} {what} ({via})", by, f"recorded by {by}{evidence}{said}")
    if case["status"] in FINAL:
        return late_answer(case, record, now, rules)
    if party == "requester" and case["status"] == "executing":
        return requester_while_executing(case, record, now, rules)
    if party == "requester":
        return requester_recorded(case, answer, now, rules)
    return holder_recorded(case, answer, by, record["note"], now, rules)


def already_classified(case: dict[str, Any], ticket: int | None, reply: int | str | None) -> str:
    """Why a message staff name cannot be classified because someone has already (two members of staff at once):
    who did it, when and as what, and how to change the case's answer (sixteenth round M4). "" when it is not."""
    done = [
        r for r in case.get("replies", [])
        if r["ticket"] == ticket and message_id(r["reply"]) == reply and r.get("classified")
    ]  # fmt: skip
    if not done:
        return ""
    r = done[0]
    by = f" by {r['classified_by']} on {r['classified_at'][:16].replace('T', ' ')} UTC" if r.get("classified_by") else ""
    return (
        f"{msg_ref(r)} was already classified as {r['classified']}{by}: to record another answer of the party, "
        "run record-answer again without --reply (`ownership show` lists the answers recorded)"
    )


def own_words(r: dict[str, Any], party: str) -> bool:
    """A reply the party itself wrote in a ticket (not staff's reply or note about it, nor a thread gone)."""
    return r["party"] == party and not r.get("staff") and not r.get("thread_gone") and isinstance(r.get("reply"), int)


def channel_fits(r: dict[str, Any], party: str, via: str) -> None:
    """Refuse an answer recorded from a message with a channel it did not come by: the party's own written reply
    came by ticket (twentieth round L6: the dossier said a written objection came by phone); staff's words (a note,
    a staff reply) report an answer that came another way, never "by ticket", which is the party's own written
    reply (twenty-first round M2: a note on a phone call was recorded as the holder's consent by ticket). A thread
    gone from WHMCS may come with any channel."""
    if via != "ticket" and own_words(r, party):
        raise ValueError(f"{msg_ref(r)} is the {party}'s own reply, written in the ticket: record it --via ticket")
    if via == "ticket" and r.get("staff"):
        raise ValueError(
            f"{msg_ref(r)} is staff's words, not the {party}'s written reply: record the answer it reports with how "
            "it came, --via phone|email|post"
        )


def answered_replies(
    case: dict[str, Any], party: str, answer: str, via: str, pointer: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The written replies a recorded answer classifies: the one staff point at (`--reply TICKET[:REPLY]`, the
    party's or one by a writer who is neither party); else, for an answer read in a ticket or `unrelated`, the one
    reply of the party itself waiting (with several, staff must say which; with only someone else's waiting, staff
    must name it: thirteenth round H9, a lawyer's objection was classified as the holder's consent); an
    answer by email, post or phone classifies none: a written objection still waits for its own classification
    (twelfth round H1, H9: `unrelated` for a billing ticket set aside the objection in the thread too, and a
    phone consent classified a lawyer's written objection as consent)."""
    waiting = [r for r in case.get("replies", []) if r["party"] in (party, "other") and not r.get("classified")]
    listed = ", ".join(f"{msg_ref(r)}" for r in waiting) or "none"
    if pointer:  # staff name the reply: any reply waiting that the other party did not write (a lawyer's, staff's)
        ticket, reply = as_int(pointer.get("ticket")), message_id(pointer.get("reply"))
        chosen = [r for r in waiting if r["ticket"] == ticket and (reply is None or message_id(r["reply"]) == reply)]
        where = msg_ref({"ticket": ticket, "reply": reply}) if reply is not None else f"ticket #{ticket}"
        if not chosen:
            raise ValueError(already_classified(case, ticket, reply) or (
                f"no reply of the {party} waits to be classified in {where} (waiting: {listed})"
            ))  # fmt: skip
        if len(chosen) > 1:
            raise ValueError(
                f"{len(chosen)} replies of the {party} wait in {where} ({listed}): name one with --reply {ticket}:REPLY"
            )
        side = chosen[0].get("side")
        if side and side != party:  # WHMCS says the other party's person wrote it (break round 14 H7)
            raise ValueError(
                f"{msg_ref(chosen[0])} was written by {chosen[0].get('writer') or 'someone'}, "
                f"a person of the {side}'s account: record it with --party {side}"
            )
        if answer != "unrelated":
            channel_fits(chosen[0], party, via)
        return chosen
    if answer != "unrelated" and via != "ticket":
        return []
    own = [r for r in waiting if r["party"] == party]
    if not own and waiting:  # only someone else's words wait: never taken as the party's without staff naming them
        first = waiting[0]
        raise ValueError(
            f"{msg_ref(first)} was written by {first.get('writer') or 'someone'}, "
            f"not the {party}: name it with --reply {reply_arg(first)} if it is the {party}'s answer "
            f"(waiting: {listed})"
        )
    waiting = own
    listed = ", ".join(f"{msg_ref(r)}" for r in waiting) or "none"
    if len(waiting) > 1:
        raise ValueError(
            f"{len(waiting)} replies of the {party} wait to be classified ({listed}): name the one this answer is "
            "about with --reply TICKET:REPLY"
        )
    if not waiting and answer == "unrelated":
        raise ValueError(f"case {case['id']} has no reply of the {party} waiting to be classified")
    return waiting


def unrelated(
    case: dict[str, Any], party: str, replies: list[dict[str, Any]], by: str, note: str, now: datetime
) -> Decision:
    """Staff read a reply of the party waiting to be classified (a new ticket of the holder's account, say) and
    found it about something else: no answer is recorded, it stops holding the case, and a holder's window it cut
    short goes on until its deadline (then the case goes to review as it would have)."""
    for reply in replies:
        reply["classified"] = "unrelated"
        reply["classified_by"], reply["classified_at"] = by, iso(now)
    where = ", ".join(f"{msg_ref(r)}" for r in replies)
    step(case, now, f"{party} reply not an answer", by, f"{where}: not about the case: {note}")
    back = case.get("review_from_window")
    if case["status"] == "review" and back and not replies_to_classify(case) and not case.get("holder_consent"):
        case.pop("review_from_window")
        case["status"] = "notified"
        step(case, now, "holder's window goes on", "bridge", f"until {back[:10]}")
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def late_answer(case: dict[str, Any], record: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """An answer recorded once the case is over (completed, rejected, cancelled) is kept and changes nothing;
    staff get one ticket note for each, as they may have to act outside the case (issue 17, tenth round L1)."""
    step(case, now, "late answer", record["by"], f"recorded while {case['status']}: changes nothing")
    note = staff_ticket(
        case,
        rules,
        f"late-answer-{len(case['recorded_answers'])}",
        "ownership.staff_late_answer",
        party=record["party"],
        answer=record["answer"],
        via=record["via"],
        recorded_by=record["by"],
        status=case["status"],
        note=record["note"],
        link=0,
        late="closed",
    )
    return Decision(state=case, actions=[note], due_at=due(case), refs=case_refs(case))


def late_link_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """An answer through a party's link that reaches the case once it is over: the page no longer asks once the
    case is closed (web/consent.py), but an answer taken just before reaches it after. It is kept, changes
    nothing, and staff get a ticket as for a late answer they record (issue 17, twelfth round H3). So is the
    holder's answer after its deadline, or while its objection stands (commands.answered_late)."""
    party = "requester" if data.get("purpose") == "ownership-requester" else "holder"
    case.setdefault("answers", []).append({"party": party, **{k: data.get(k) for k in LINK_FIELDS}})
    decision, reason = str(data.get("decision") or ""), str(data.get("reason") or "")
    step(case, now, "late answer", party, f"{decision} through its link while {case['status']}: changes nothing")
    note = staff_ticket(
        case,
        rules,
        f"late-link-{len(case['answers'])}",
        "ownership.staff_late_answer",
        party=party,
        answer="consent" if decision == "accept" else "object",
        via="link",
        recorded_by=party,
        status=case["status"],
        note=reason,
        link=1,
        late="deadline" if data.get("late") else "disputed" if case["status"] == "disputed" else "closed",
    )
    return Decision(state=case, actions=[note], due_at=due(case), refs=case_refs(case))


# What a link answer keeps (flow.link_answer keeps the same).
LINK_FIELDS = ("decision", "reason", "ip", "user_agent", "at")


# Distinct listed staff who must record the holder's consent after its objection. A file (the holder's letter)
# is attached and recorded with the answer but never stands in for the second person: whoever records the
# consent can write the file too (issue 17, H5).
WITHDRAWAL_CONFIRMATIONS = 2


def confirm_withdrawal(
    case: dict[str, Any], by: str, os_user: str, via: str, note: str, now: datetime, evidence: Any = None
) -> Decision | None:
    """A recorded objection turned into consent on one person's word (a call, a letter they hold) is a single
    point of failure: it takes as many distinct listed staff as WITHDRAWAL_CONFIRMATIONS, counted like
    approvals. None: this one completes it, and the consent is recorded."""
    confirmations = case.setdefault("consent_confirmations", [])
    distinct_staff(confirmations, by, os_user, "recorded the holder's consent after its objection")
    confirmations.append({"by": by, "os_user": os_user, "at": iso(now), "via": via, "note": note, "evidence": evidence})
    if len(confirmations) >= WITHDRAWAL_CONFIRMATIONS:
        return None
    kept = f", evidence item {evidence}" if evidence else ""
    step(
        case,
        now,
        "consent after objection",
        by,
        f"{len(confirmations)} of {WITHDRAWAL_CONFIRMATIONS} staff ({via}{kept}): waiting for a second member of "
        f"staff to confirm it (resolve --outcome objection-withdrawn, or record-answer): {note}",
    )
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def requester_recorded(case: dict[str, Any], answer: str, now: datetime, rules: Rules) -> Decision:
    if case["status"] in ("executing", "completed", "rejected", "cancelled"):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    if answer == "object":
        case["status"] = "cancelled"
        step(case, now, "cancelled", "requester", "the requester denied making the request")
        return closed(case, rules, "cancelled", "declined", now=now)
    if case["status"] == "collecting":  # confirmed now, or what it wrote classified: the case may go on
        case["requester_confirmed"] = case.get("requester_confirmed") or iso(now)
        return advance(case, now, rules)
    return Decision(state=case, due_at=due(case), refs=case_refs(case))


def requester_while_executing(case: dict[str, Any], record: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The requester's answer recorded while the case executes. An objection (it denies making the request, or
    withdraws it) is too late to stop the case by itself, not too late to stop staff: it is raised to them like a
    reply in the thread, and the case holds (no new access, no completion) until they decide: the requester's
    consent recorded (it still wants the hand-over), or the case cancelled once nothing sits with the requester."""
    by, via, note = record["by"], record["via"], record["note"]
    if record["answer"] == "consent":
        held = case.pop("requester_objection", None)
        if held is None:
            step(case, now, "late answer", by, "recorded while executing: the requester still wants the hand-over")
            return unchanged(case)
        step(case, now, "requester objection settled", by, f"the requester still wants the hand-over: {note}")
        case["checks"] = case.get("checks", 0) + 1  # what the hold kept back is decided on a new read of WHMCS
        return Decision(state=case, actions=read_owners(case), due_at=due(case), refs=case_refs(case))
    case["requester_objection"] = {"at": iso(now), "by": by, "via": via, "note": note}
    step(
        case, now, "late answer", by,
        "the requester's objection, recorded while executing (it denies or withdraws the request): the case does "
        f"not complete until staff decide (record-answer --party requester --answer consent, or cancel): {note}",
    )  # fmt: skip
    moving = [x for x in case["subjects"] if x.get("hand_over") == "move"]
    flagged = staff_ticket(
        case,
        rules,
        f"requester-objected-executing-{len(case.get('recorded_answers', []))}",
        "ownership.staff_requester_objected_executing",
        via=via,
        recorded_by=by,
        note=note,
        moved=[ref(x) for x in moving if x.get("moved_to")],
        waiting=[ref(x) for x in moving if not x.get("moved_to")],
    )
    return Decision(state=case, actions=[flagged], due_at=due(case), refs=case_refs(case))


def holder_recorded(case: dict[str, Any], answer: str, by: str, note: str, now: datetime, rules: Rules) -> Decision:
    """Consent: review with the holder's consent (after an objection, the objection is withdrawn; before
    the holder was asked, once the documents are complete). An objection: the case is disputed and
    frozen, any approval given before it void. Once the case is executing or over, the answer is only
    recorded."""
    status = case["status"]
    if status == "collecting":  # before the holder is asked: consent counts when the documents are complete
        if answer == "consent":
            case["holder_consent"] = iso(now)
            return advance(case, now, rules)
        case["approvals"] = []
        case["status"] = "disputed"
        step(case, now, "disputed", by, f"the holder's recorded objection, before it was asked: {note}")
        return Decision(
            state=case, actions=objection_notices(case, {}, rules, note=note), due_at=due(case), refs=case_refs(case)
        )
    if status == "executing" and answer == "object":
        return stop_execution(case, by, note, now, rules)
    if status not in (*ANSWERABLE, "disputed"):
        step(case, now, "late answer", by, f"recorded while {status}: changes nothing")
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["approvals"] = []
    case.pop("consent_confirmations", None)  # used up, or void: a new answer starts the count again
    if answer == "consent":
        case["holder_consent"] = iso(now)
        why = "objection-withdrawn" if status == "disputed" else "consented"
        if status == "disputed" and not case.get("notified"):  # objected before it was asked
            case["status"] = "collecting"
            return advance(case, now, rules)
        return to_review(case, now, rules, why, "the holder's recorded answer: consent")
    if status == "disputed":
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["status"] = "disputed"
    step(case, now, "disputed", by, f"the holder's recorded objection: {note}")
    actions = objection_notices(case, {}, rules, note=note)
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def stop_execution(case: dict[str, Any], by: str, note: str, now: datetime, rules: Rules) -> Decision:
    """The holder objected after approval, while executing: the case is disputed again (its approvals void),
    so the steps left (the moves staff have not made, the new holder's access, the completion) stop and a move
    staff make now is raised as a move during the dispute (watch.py). The parties hear it at once; staff once
    WHMCS is read (objection_read): what moved by then is said from that read, not from the case's last one."""
    case["approvals"] = []
    case["status"] = "disputed"
    step(case, now, "disputed", by, f"the holder's recorded objection while executing, {stopped_when(case)}: {note}")
    purpose = f"objected-executing-{len(case.get('recorded_answers', []))}"
    case["checks"] = case.get("checks", 0) + 1
    read = read_owners(case, objection=purpose)
    actions = [  # staff's note is theirs: the parties' emails give no reason the holder did not give itself
        *tell(case, "requester", purpose, rules, "ownership.holder_objected", reason=""),
        *tell(case, "holder", purpose, rules, "ownership.objection_recorded", reason=""),
        *party_notes(case, "disputed", sticky=True),
    ]
    if read:
        case["objection_read"] = {"purpose": purpose, "note": note}
        return Decision(state=case, actions=[*actions, *read], due_at=due(case), refs=case_refs(case))
    actions.append(objection_ticket(case, purpose, note, rules))
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def objection_read(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """WHMCS read just after an objection while executing: a subject found with the new holder had moved before
    it (staff followed the checklist) and stays where it is, expected there by the dispute's watch; staff's
    ticket says what moved and what must not. A move to any other client is raised as the watch raises it."""
    pending = case.pop("objection_read")
    owners = data.get("owners") or {}
    emails = {str(k): str(v or "") for k, v in (data.get("emails") or {}).items()}
    found = []
    for s in (s for s in case["subjects"] if s.get("hand_over") == "move"):
        owner = owners.get(ref(s))
        if owner is None or owner == s["holder_ref"] or not is_new_holder(case, s, int(owner), emails):
            continue
        s["moved_to"] = s["owner_now"] = int(owner)
        found.append(f"{label(s)} was with #{owner}")
    step(
        case, now, "read at the objection", "bridge",
        f"{'; '.join(found)} when the objection was recorded" if found
        else "nothing had moved in WHMCS when the objection was recorded",
    )  # fmt: skip
    watched = watched_owners(case, data, now, rules)
    watched.actions[:0] = [objection_ticket(case, pending["purpose"], pending["note"], rules)]
    return watched


def objection_ticket(case: dict[str, Any], purpose: str, note: str, rules: Rules) -> Action:
    """Staff's ticket of an objection while executing: what moved (as last read), what must not, what the
    bridge's own steps already changed and how many it stopped unsent."""
    moved = [x for x in case["subjects"] if x.get("hand_over") == "move" and x.get("moved_to")]
    fields = hand_over_fields(case)
    ran = [e for e in case.get("steps", {}).values() if e["status"] == "done"]
    moving = {
        **{k: fields[k] for k in ("moving", "domains_moving", "services_moving")},
        "registrant_changed": [e["subject"] for e in ran if e["kind"] == "registrant_update"],
        "locked": [e["subject"] for e in ran if e["kind"] == "domain_lock"],
        # A transfer lock the registrar refused was sent (and set nothing), a password skipped ran: neither stopped.
        "stopped": sum(1 for e in case.get("steps", {}).values() if e["status"] not in ("done", "refused", "skipped")),
        "moved": [ref(x) for x in moved],
        "waiting": [ref(x) for x in case["subjects"] if x.get("hand_over") == "move" and not x.get("moved_to")],
        "moved_services": sum(1 for x in moved if x["kind"] == "service"),
    }
    return staff_ticket(case, rules, purpose, "ownership.staff_objection_executing", reason=note, **moving)


def stopped_when(case: dict[str, Any]) -> str:
    """When the execution stopped, as the case knows it: which of its steps in WHMCS had run (those not sent
    yet are stopped by their guard). What had moved is read from WHMCS next (objection_read)."""
    ran, total = steps_ran(case), len(case.get("steps", {}))
    if ran:
        return f"after {len(ran)} of its {total} steps in WHMCS ran ({', '.join(ran)})"
    return f"before any of its {total} steps in WHMCS ran" if total else "before any step in WHMCS ran"
