"""A case from opening to approval: the opening notice, evidence until complete, the holder asked, the parties answers, a dispute and its resolution, review and approval (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_bridge.families.ownership.case import by_whom, closed, due, hand_over, requester_wrote
from whmcs_bridge.families.ownership.execution import execute
from whmcs_bridge.families.ownership.policies import (
    PERSON,
    Rules,
    account_items,
    act,
    and_words,
    applied_policy,
    case_refs,
    classify_command,
    evidence_fields,
    evidence_needs,
    hand_over_fields,
    iso,
    label,
    link_spec,
    match_policy,
    message_id,
    missing_contact,
    party_kind,
    party_notes,
    ref,
    requirements,
    snapshot,
    staff_ticket,
    step,
    tell,
    to_classify,
)
from whmcs_bridge.families.ownership.shared import one_browser, shared_mail_domain, users_of_both
from whmcs_bridge.model import Action, Decision, as_int, message


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
    if grounds == "deceased" and party_kind(holder) == "company":
        who = f"{holder.get('company')}" + (f" (client #{holder['client']})" if holder.get("client") else "")
        raise ValueError(
            f"the holder {who} is a company: deceased applies to a person; for a company that no longer exists "
            "use --grounds dissolved"
        )
    case["policies"] = policies_for(subjects, holder, requester, grounds, rules)
    case["status"] = "collecting"
    case["requester_confirmed"] = None if rules.links else iso(now)
    step(case, now, "opened", by_whom(data), f"{grounds} grounds; policies {', '.join(case['policies'])}")
    actions = [*opening_notice(case, now, rules), *party_notes(case, "opened")]
    # The policy applied goes into the keyed chain with the state, so the state's copy (not keyed) can be checked
    # against it before the case decides anything (integrity.policy_problems).
    applied = {"case": case["id"], "subject": f"ownership:{case['id']}", **applied_policy(case)}
    out = advance(case, now, rules)
    return Decision(
        state=out.state,
        actions=actions + out.actions,
        due_at=out.due_at,
        refs=case_refs(case),
        milestones=[("policy_applied", applied), *out.milestones],
    )


def drafted(case: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """A case from a ticket waits as a draft until staff confirm it (with the grounds); staff read of it on the
    ticket once it exists."""
    case["status"] = "draft"
    case["ticket"] = data.get("ticket")
    guest = data.get("guest") or {}
    if guest:  # no WHMCS client wrote the ticket: staff name the requester as they confirm (--requester)
        case["guest"] = {"name": str(guest.get("name") or ""), "email": str(guest.get("email") or "")}
    names = ", ".join(label(s) for s in case["subjects"])
    step(case, now, "draft", "bridge", f"ticket #{data.get('ticket')} asks for {names}")
    note = act(
        case,
        "ticket_note",
        "draft-note",
        {
            "ticket_id": data.get("ticket"),
            "msg": message(
                "ownership.draft_note",
                case=case["id"],
                subjects=[ref(s) for s in case["subjects"]],
                holder=case["holder"].get("client"),
                requester=case["requester"].get("client"),
                requester_name="",
                guest_name=guest.get("name") or "",
                guest_email=guest.get("email") or "",
            ),
        },
        case["requester"].get("client"),
    )
    return Decision(state=case, actions=[note], refs=case_refs(case))


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
    return tell(
        case,
        "requester",
        "opened",
        rules,
        "ownership.request_received",
        consent=link_spec(case, "ownership-requester", rules.section.confirm_link_ttl, "ownership.confirm_question")
        if rules.links
        else None,
        confirm=int(rules.links),
        **evidence_fields(case, now),
    )


def advance(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Collecting: once the evidence is complete and the requester confirmed, notify the holder."""
    if (
        case["status"] != "collecting"
        or any(evidence_needs(case, now))
        or not case.get("requester_confirmed")
        or requester_wrote(case)  # paused until staff classify what the requester wrote
    ):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    if all(p["consent"] == "none" for p in case["policies"].values()):  # nobody to ask: the documents decide
        return to_review(case, now, rules, "documents", "the documents suffice: the policy asks the holder nothing")
    if case.get("holder_consent"):  # the holder consented before it was asked (a recorded answer)
        return to_review(case, now, rules, "consented", "the holder had consented")
    deadline = day_end(now + timedelta(seconds=requirements(case)["window_s"]), rules.zone)
    window = deadline - now
    case["status"] = "notified"
    case["deadline"] = iso(deadline)
    case["notified"] = iso(now)
    case["remind_s"] = int(rules.section.remind_before.total_seconds())
    step(case, now, "holder notified", "bridge", "answer by", until=deadline)
    actions = holder_asked(case, deadline, window, rules)
    # The deadline goes into the audit chain too: the state's is checked against it (integrity.dates_problems).
    noted = {"case": case["id"], "subject": f"ownership:{case['id']}", "deadline": case["deadline"]}
    return Decision(
        state=case, actions=actions, due_at=due(case), refs=case_refs(case), milestones=[("holder_notified", noted)]
    )


def day_end(moment: datetime, zone: str) -> datetime:
    """The last second of the day `moment` falls on in `zone` (the configured `timezone:`), in UTC: the holder is
    told its deadline as a date ("by December 11, 2026"), and a person reads that as the whole day; its window and
    its link last until then (break round 14 H6)."""
    where = ZoneInfo(zone)
    last = datetime.combine(moment.astimezone(where).date(), time(23, 59, 59), tzinfo=where)
    return last.astimezone(UTC)


def holder_asked(case: dict[str, Any], deadline: datetime, window: timedelta, rules: Rules) -> list[Action]:
    """The holder is asked to consent or object by the deadline (with a one-time link); the requester
    hears that the holder was asked."""
    # Per subject: a claim may mix subjects that need the holder's consent with subjects that need only notice.
    required = [ref(s) for s in case["subjects"] if case["policies"][s["policy"]]["consent"] == "required"]
    return [
        *tell(
            case,
            "holder",
            "notified",
            rules,
            "ownership.holder_asked",
            consent=link_spec(case, "ownership-holder", window, "ownership.consent_question"),
            grounds=case["grounds"],
            deadline=iso(deadline),
            consent_subjects=required,
            notice_subjects=[ref(s) for s in case["subjects"] if ref(s) not in required],
            account_items=account_items(case),
        ),
        *tell(case, "requester", "notified", rules, "ownership.documents_complete", deadline=iso(deadline)),
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
        return closed(case, rules, "cancelled", "declined", now=now)
    case["requester_confirmed"] = data.get("at") or iso(now)
    step(case, now, "requester confirmed", "requester", f"from {data.get('ip')}")
    return advance(case, now, rules)


def holder_answer(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The notified holder consents (review) or objects (disputed); a late answer is only recorded."""
    decision = data.get("decision")
    if case["status"] != "notified":
        step(case, now, "late answer", "holder", f"{decision} while {case['status']}: recorded, changes nothing")
        return Decision(state=case, due_at=due(case))
    reaches = users_of_both(case, data.get("holder_users"))
    owners = new_holder_owners(case, data.get("holder_owner"))
    if decision == "accept" and (reaches or owners):
        return consent_held(case, data, reaches, now, rules, owners)
    if decision == "accept":
        case["holder_consent"] = data.get("at") or iso(now)
        step(case, now, "holder consented", "holder", f"from {data.get('ip')}: {data.get('reason') or ''}")
        return to_review(case, now, rules, "consented", "the holder consented")
    case["status"] = "disputed"
    step(case, now, "disputed", "holder", f"objection from {data.get('ip')}: {data.get('reason') or ''}")
    return Decision(state=case, actions=objection_notices(case, data, rules), due_at=due(case), refs=case_refs(case))


def new_holder_owners(case: dict[str, Any], owner_now: Any = None) -> list[int]:
    """The owner users WHMCS gave the holder's account since the case opened ("Make Owner"), as the watch saw them
    (watch.account_owner_changed) and as the consent page read it with the answer (`owner_now`, web/consent.py
    holder_owner): the account is no longer the one the case asked, and whoever owns it now reads its email
    history, the holder's link included (twenty-fifth break round, ownership MEDIUM 10: the requester's person made
    owner consented through it, and two approvals executed)."""
    seen = [int(u) for u in case.get("owner_changed_while_frozen") or []]
    was, now = as_int(case["holder"].get("owner_user")), as_int(owner_now)
    return seen + ([now] if was and now and now != was and now not in seen else [])


def consent_held(
    case: dict[str, Any],
    data: dict[str, Any],
    reaches: list[str],
    now: datetime,
    rules: Rules,
    owners: list[int] | None = None,
) -> Decision:
    """A consent through the holder's link that one person, a user of both parties' accounts (shared.users_of_both),
    could have given for both, or that came after WHMCS gave the holder's account another owner (`owners`:
    new_holder_owners): recorded, not counted; staff hear why and confirm it with the holder themselves
    (ownership record-answer)."""
    case["holder_link_held"] = data.get("at") or iso(now)
    owner = (owners or [0])[-1]
    who = (
        f"{', '.join(reaches)}, a user of both accounts, can read both parties' links"
        if reaches
        else f"the holder's account has been user #{owner}'s since the case opened (its owner changed in WHMCS): "
        "the new owner reads its email history, the link included"
    )
    step(
        case, now, "holder's link answer held", "holder",
        f"consent from {data.get('ip')}: {who}; it counts once staff confirm it with the holder",
    )  # fmt: skip
    told = staff_ticket(
        case, rules, "holder-link-held", "ownership.staff_holder_link_held", users=", ".join(reaches), owner=owner
    )
    return Decision(state=case, actions=[told], due_at=due(case), refs=case_refs(case))


def objection_notices(case: dict[str, Any], data: dict[str, Any], rules: Rules, note: str = "") -> list[Action]:
    """Both parties hear that the case is frozen; staff get a ticket saying how it can be resolved. The parties'
    emails carry only the reason the holder gave through its link (`data`); `note`, staff's internal note on an
    objection they recorded, is for staff's ticket only (issue 17, M2)."""
    reason = str(data.get("reason") or "")
    return [
        *tell(case, "requester", "objected", rules, "ownership.holder_objected", reason=reason),
        *tell(case, "holder", "objected", rules, "ownership.objection_recorded", reason=reason),
        staff_ticket(case, rules, "disputed", "ownership.staff_disputed", reason=reason or note),
        *party_notes(case, "disputed", sticky=True),
    ]


def resolve_dispute(case: dict[str, Any], outcome: str, by: str, note: str, now: datetime, rules: Rules) -> Decision:
    if case["status"] != "disputed":
        raise ValueError(f"case {case['id']} is {case['status']}, not disputed")
    if outcome == "request-withdrawn":
        case["status"] = "cancelled"
        step(case, now, "cancelled", by, f"request withdrawn: {note}")
        return closed(case, rules, "cancelled", "withdrawn", note, now)
    if outcome == "court-order":
        if not any(e["kind"] == "court-order" and e["status"] == "ok" for e in case.get("evidence", [])):
            raise ValueError(
                "attach the court order and check it (ownership attach --kind court-order, then check-evidence --ok) first"
            )
        case["court_order"] = iso(now)
        step(case, now, "court order recorded", by, note)
        return to_review(case, now, rules, "court-order", "a court order decides")
    if outcome == "objection-withdrawn":
        step(case, now, "objection withdrawn", by, note)
        if not case.get("notified"):  # it objected before it was asked: the documents come first
            case["status"] = "collecting"
            return advance(case, now, rules)
        return to_review(case, now, rules, "objection-withdrawn", "the holder withdrew the objection")
    raise ValueError(f"unknown outcome {outcome!r}: court-order, objection-withdrawn or request-withdrawn")


def person(os_user: str) -> tuple[str, str | None]:
    """The system user and the login behind a recorded `os_user` ("whmcs-bridge (login alice)": whmcs-bridge,
    alice; "alice": alice, alice; "whmcs-bridge" run without a known login: whmcs-bridge, None)."""
    found = re.fullmatch(r"(.+) \(login (.+)\)", os_user)
    if found:
        return found.group(1), found.group(2)
    return os_user, None


def same_person(one: str, other: str) -> bool:
    """Whether two recorded system users may be one person: the same login (whichever system user it ran
    as, through sudo), or the same system user where either side's login is unknown (the service user
    run by someone the system could not name may be the one already counted)."""
    (user, login), (other_user, other_login) = person(one), person(other)
    if login and other_login:
        return login == other_login
    return (login or user) == (other_login or other_user) or user == other_user


def distinct_staff(entries: list[dict[str, Any]], by: str, os_user: str, what: str) -> None:
    """N decisions need N people: refused for a listed name already counted (compared without case) or for
    the person (the login behind the operating-system user) who already counted under another name."""
    for entry in entries:
        if entry["by"].casefold() == by.casefold():
            raise ValueError(f"{entry['by']} already {what}: another member of staff must confirm it")
        if os_user and entry.get("os_user") and same_person(os_user, entry["os_user"]):
            raise ValueError(
                f"the operating-system user {os_user} may be the person who already {what} as {entry['by']}: "
                f"one person may not count as two members of staff ({entry['os_user']} counted), {by} must run the "
                "command from their own login (directly, or through sudo from it)"
            )


def not_alone(case: dict[str, Any], by: str, os_user: str) -> None:
    """The holder's consent staff recorded (a call, a letter, a reply they classified) is one person's word: the
    approvals that execute a case going on it must include someone else (nineteenth round H5: alice recorded a
    written objection as consent and approved alone). Refused for the last approval a policy needs when every
    approver, this one included, would be the person who recorded it."""
    recorded = [a for a in case.get("recorded_answers", []) if a["party"] == "holder"]
    if not recorded or recorded[-1]["answer"] != "consent" or case.get("holder_consent") != recorded[-1]["at"]:
        return
    if len(case["approvals"]) + 1 < requirements(case)["approvals"]:
        return
    approvers = [*case["approvals"], {"by": by, "os_user": os_user}]
    if all(_same_staff(a, recorded[-1]) for a in approvers):
        raise ValueError(
            f"{recorded[-1]['by']} recorded the holder's consent ({recorded[-1]['via']}): a case going on one person's "
            "word needs another member of staff's approval"
        )


def _same_staff(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two decisions were one person's: the same listed name, or the same login behind them."""
    logins = str(one.get("os_user") or ""), str(other.get("os_user") or "")
    return one["by"].casefold() == other["by"].casefold() or bool(all(logins) and same_person(*logins))


def to_review(
    case: dict[str, Any], now: datetime, rules: Rules, why: str, record: str, reply: dict[str, Any] | None = None
) -> Decision:
    """Staff review the case: each subject's hand-over is settled, staff get a ticket saying why (a code
    the message words: consented, window-consent, window-notice, court-order, objection-withdrawn; reply, with the
    message to classify named and the command that does, a staff note as such: sixteenth round M2)."""
    number = message_id(reply["reply"]) if reply else 0
    about = {
        "party": reply["party"] if reply else "",
        "writer": str(reply.get("writer") or "") if reply else "",
        "ticket": int(reply["ticket"]) if reply else 0,
        "note_id": int(number[1:]) if isinstance(number, str) else 0,
        "gone": int(bool(reply.get("thread_gone"))) if reply else 0,  # the party's whole thread (incoming.thread_gone)
        "command": classify_command(case["id"], reply) if reply else "",
    }
    case["status"] = "review"
    for subject in case["subjects"]:
        subject["hand_over"] = hand_over(case, subject)
    step(case, now, "staff review", "bridge", record)
    fields = hand_over_fields(case)
    review = staff_ticket(
        case,
        rules,
        "review",
        "ownership.staff_review",
        why=why,
        moving=fields["moving"],
        backup_only=fields["backup_only"],
        staying=fields["staying"],
        account_items=account_items(case),
        approvals=requirements(case)["approvals"],
        **about,
        **shared_mail_domain(case),
        **one_browser(case),
    )
    return Decision(state=case, actions=[review], due_at=due(case), refs=case_refs(case))


def approve(
    case: dict[str, Any],
    by: str,
    note: str,
    now: datetime,
    rules: Rules,
    os_user: str = "",
    owners: dict[str, Any] | None = None,
    held: dict[str, Any] | None = None,
) -> Decision:
    """One staff approval; with enough distinct ones the case executes. `owners`: who owns each moving subject
    in WHMCS, read by the command (whmcs_reads.owners_at_approval): a subject staff already moved is recorded as
    moved before the approval, not later as if it followed it. `held`: what each whole account handed over holds
    now (whmcs_reads.account_contents), which staff's checklist lists."""
    if case["status"] != "review":
        raise ValueError(f"case {case['id']} is {case['status']}: only a case under review can be approved")
    if all(s.get("hand_over") == "none" for s in case["subjects"]):
        raise ValueError("the holder did not consent and the policy allows no hand-over without it: reject the case")
    wrote = requester_wrote(case)
    if wrote:
        raise ValueError(
            f"the requester wrote in ticket #{wrote[0]['ticket']}: record whether it still wants the case first "
            f"(ownership record-answer {case['id']} --party requester --answer consent|object --via ticket)"
        )
    flagged = [r for r in case.get("replies", []) if r["party"] in ("holder", "other") and not r.get("classified")]
    if flagged:  # staff's note has ids of its own (fifteenth round HIGH 2)
        raise ValueError(to_classify(case, flagged[0]))
    reading = case.get("reading") or []
    if reading:  # WHMCS told of a message the bridge has not read back yet: it may be an objection
        raise ValueError(
            f"ticket #{reading[0]['ticket']} has a message the bridge has not read from WHMCS yet: approve once it "
            "is read (the next pass reads it; `ownership show` then lists it to classify)"
        )
    approvable(case, now)
    distinct_staff(case["approvals"], by, os_user, f"approved case {case['id']}")
    not_alone(case, by, os_user)
    case["approvals"].append({"by": by, "os_user": os_user, "at": iso(now), "note": note})
    needed = requirements(case)["approvals"]
    step(case, now, "approval", by, f"{len(case['approvals'])} of {needed}: {note}")
    moved_before(case, owners or {}, by, now)
    held_at_approval(case, held or {})
    if len(case["approvals"]) < needed:
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["status"] = "executing"
    case["executing"] = iso(now)
    step(case, now, "executing", "bridge", "approved")
    requester = case["requester"].get("client")
    for s in case["subjects"]:  # already with the requester: moved, as the execution's reads would have found it
        if s.get("hand_over") == "move" and requester and (owners or {}).get(ref(s)) == requester:
            s["moved_to"] = s["owner_now"] = requester
    return execute(case, now, rules)


def held_at_approval(case: dict[str, Any], held: dict[str, Any]) -> None:
    """What each whole account holds as its approval read it in WHMCS (policies.account_items: the checklist's)."""
    for s in case["subjects"]:
        if s["kind"] == "client" and isinstance(held.get(ref(s)), list):
            s["contents_approved"] = [str(item) for item in held[ref(s)]]


def approvable(case: dict[str, Any], now: datetime) -> None:
    """What the case must have before any approval: its evidence accepted, checked and fresh enough, and for a
    requester outside WHMCS the contact details the new registrant needs (ValueError saying what lacks)."""
    kept = [e for e in case.get("evidence", []) if e["status"] in ("ok", "pending")]
    lacking = [kind for kind in requirements(case)["evidence"] if not any(e["kind"] == kind for e in kept)]
    if lacking:  # staff rejected or withdrew it under review: the decision has nothing to rest on
        raise ValueError(
            f"case {case['id']} cannot be approved: it has no accepted {and_words(lacking)} (rejected or withdrawn): "
            "ask the requester for it, attach it and check it"
        )
    needed, checking = evidence_needs(case, now)
    if checking:
        raise ValueError(
            f"case {case['id']} cannot be approved: its {and_words(checking)} is not checked yet "
            f"(ownership check-evidence {case['id']} ITEM --ok|--reject)"
        )
    stale = [(kind, age) for kind, age in needed if age]
    if stale:  # fresh when checked, too old by the decision
        raise ValueError(
            f"case {case['id']} cannot be approved: its {and_words([k for k, _ in stale])} is now older than "
            f"{stale[0][1]} days (the policy's limit): ask the requester for a recent copy and attach it"
        )
    missing = missing_contact(case)
    if missing:
        raise ValueError(
            f"case {case['id']} cannot be executed: the requester, the domain's new registrant, is not a WHMCS "
            f"client and its {and_words(missing)} {'is' if len(missing) == 1 else 'are'} not known (the old "
            "holder's must not stay in the WHOIS record): give "
            f"{'it' if len(missing) == 1 else 'them'} with `ownership requester-contact {case['id']} "
            f"{' '.join(contact_options(missing))} --by NAME`, or open the case for the requester's WHMCS client account"
        )


def contact_options(missing: list[str]) -> list[str]:
    """The `requester-contact` options that give these missing details (missing_contact)."""
    return [f"--{'name' if field == PERSON else field} ..." for field in missing]


def moved_before(case: dict[str, Any], owners: dict[str, Any], by: str, now: datetime) -> None:
    """Each moving subject an approval found with another client than its holder, recorded once per client."""
    for s in (s for s in case["subjects"] if s.get("hand_over") == "move"):
        owner = owners.get(ref(s))
        if owner is None or owner == s["holder_ref"] or owner in s.get("moved_before_approval", []):
            continue
        s.setdefault("moved_before_approval", []).append(owner)
        said = f"{label(s)} belonged to #{owner} when {by} approved"
        step(case, now, "moved in WHMCS before the approval", "staff", said)
