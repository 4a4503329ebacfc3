"""Completing an executing case (pure): each execution step's end, the reads of WHMCS that find who owns the
moving subjects, what a move brings (a service's new password, a whole account's ex-holder logins removed) and the
completion itself, with its lock.

The case completes only on a read of WHMCS made after every execution step is done (execution.steps_waiting),
which finds every moving subject with the new holder."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.ownership.case import due, replies_to_classify
from whmcs_bridge.families.ownership.execution import (
    DOMAIN_STEPS,
    STATUS_WORDS,
    domain_step,
    execution_step,
    lock_refused,
    read_owners,
    step_parked,
    step_words,
    steps_waiting,
    subject_left,
)
from whmcs_bridge.families.ownership.holder import holders_own, is_new_holder, outside, requesters_own, wrong_client
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    Rules,
    case_refs,
    classify_command,
    iso,
    label,
    msg_ref,
    party_notes,
    ref,
    requirements,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.families.ownership.shared import holders_marks
from whmcs_bridge.families.ownership.watch import account_held, account_owner_changed
from whmcs_bridge.model import Action, Decision, action_key


def step_ended(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The executor reports an execution step done, cancelled (its guard: the subject moved on) or rejected
    by staff. Once every step is done, WHMCS is read again at once: completion is decided on that read."""
    purpose = next(
        (p for p in case.get("steps", {}) if action_key(FAMILY, f"case:{case['id']}", p) == data.get("action_key")),
        None,
    )
    if purpose is None:
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    entry = case["steps"][purpose]
    if data.get("status") == "parked":
        return step_parked(case, purpose, entry, data, now, rules)
    if entry.get("by_hand"):  # staff did it in WHMCS and rejected the bridge's parked action: it stays done
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    entry["status"] = str(data.get("status") or "done")
    why = str(data.get("error") or data.get("reason") or "")
    told: list[Action] = []
    if entry["status"] == "done" and data.get("refused"):  # the registrar module answered, and locked nothing
        entry.update(status="refused", refused=str(data["refused"]))
        why = entry["refused"]
        told = lock_refused(case, entry, rules)
    elif entry["status"] == "done" and data.get("skipped"):  # a service of a whole account with no panel
        entry.update(status="skipped")
        why = str(data["skipped"])
    elif entry["status"] == "done" and case["status"] != "executing":  # sent before the stop was recorded
        why = f"it ran as the case became {case['status']}: put it back if the dispute calls for it"
    words = STATUS_WORDS.get(entry["status"], entry["status"])
    step(case, now, f"{step_words(entry)} {words}", str(data.get("by") or "bridge"), why)
    if data.get("gone") or data.get("requester_closed"):  # staff decide, once per subject
        gone = "requester-closed" if data.get("requester_closed") else str(data["gone"])
        return subject_left(case, entry, gone, rules)
    if data.get("elsewhere"):  # moved to a third client meanwhile: planned again once it is back (replan)
        return step_elsewhere(case, entry, int(data["elsewhere"]), str(data.get("email") or ""), now, rules)
    if case["status"] != "executing" or steps_waiting(case):
        return Decision(state=case, actions=told, due_at=due(case), refs=case_refs(case))
    case["checks"] = case.get("checks", 0) + 1
    return Decision(state=case, actions=[*told, *read_owners(case)], due_at=due(case), refs=case_refs(case))


def step_elsewhere(
    case: dict[str, Any], entry: dict[str, Any], owner: int, email: str, now: datetime, rules: Rules
) -> Decision:
    """A step's guard found its subject with a third client: nothing was written to it. Staff hear of the move
    as a read would have raised it (one ticket per client); the step runs again once WHMCS shows the subject
    with its holder or the new holder (replan)."""
    entry["elsewhere"] = owner
    s = next(x for x in case["subjects"] if ref(x) == entry["subject"])
    elsewhere: dict[int, list[str]] = {}
    emails = {str(owner): email}  # the guard read it for a requester outside WHMCS (not the requester's)
    subject_read(case, s, owner, emails, now, rules, elsewhere)
    told = [wrong_client(case, client, moved, emails, rules) for client, moved in elsewhere.items()]
    return Decision(state=case, actions=told, due_at=due(case), refs=case_refs(case))


def replan(case: dict[str, Any], owners: dict[str, Any], emails: dict[str, str]) -> list[Action]:
    """The domain steps a move to a third client stopped (step_elsewhere), planned again once a read finds the
    domain back with its holder or with the new holder."""
    actions: list[Action] = []
    for purpose, entry in list(case.get("steps", {}).items()):
        owner = owners.get(entry["subject"])
        if entry["status"] != "cancelled" or not entry.get("elsewhere") or owner is None:
            continue
        s = next(x for x in case["subjects"] if ref(x) == entry["subject"])
        if owner != s["holder_ref"] and not is_new_holder(case, s, int(owner), emails):
            continue
        del case["steps"][purpose]
        fresh = f"{DOMAIN_STEPS[entry['kind']]}-{s['id']}-{len(case['history'])}-{len(actions)}"
        actions.append(domain_step(case, s, entry["kind"], fresh))
    return actions


def step_by_hand(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Staff record a step they did in WHMCS's admin area, once WHMCS shows it (`seen`, read by the command):
    a registrant update is done as if the bridge had done it; a move counts as the read that found it."""
    if case["status"] != "executing":
        raise ValueError(f"case {case['id']} is {case['status']}, not executing")
    by, what, subject = str(data.get("by") or "staff"), str(data.get("step")), str(data.get("subject"))
    s = next((s for s in case["subjects"] if s.get("hand_over") == "move" and ref(s) == subject), None)
    if s is None:
        raise ValueError(f"{subject.replace(':', ' #')} does not move in case {case['id']}")
    seen, note = str(data.get("seen") or ""), str(data.get("note") or "")
    why = seen + (f"; {note}" if note else "")  # what the read found, in words ("WHMCS shows it with client #21")
    if what == "move":
        step(case, now, f"move of {label(s)} recorded", by, why)
        read = {"owners": {subject: data.get("owner")}, "emails": data.get("emails") or {}, "holds": data.get("holds")}
        return owners_read(case, read, now, rules)
    entries = [
        e for e in case.get("steps", {}).values()
        if e["kind"] == "registrant_update" and e["subject"] == subject and e["status"] != "done"
    ]  # fmt: skip
    if not entries:
        raise ValueError(f"the registrant update of {subject.replace(':', ' #')} is not waiting in case {case['id']}")
    for entry in entries:
        entry.update(status="done", by_hand={"at": iso(now), "by": by, "seen": seen})
        step(case, now, f"{step_words(entry)} done by hand", by, why)
    if steps_waiting(case):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["checks"] = case.get("checks", 0) + 1
    return Decision(state=case, actions=read_owners(case), due_at=due(case), refs=case_refs(case))


def owners_read(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Who owns each moving subject now, as WHMCS says: a subject found with the new holder is moved (a
    service then gets its new password); one found with another client is raised to staff once per client
    and keeps the case open. The case completes on a read that finds every moving subject with the new
    holder after every execution step is done."""
    if case["status"] != "executing":
        return Decision(state=case, due_at=due(case))
    owners = data.get("owners") or {}
    emails = {str(k): str(v or "") for k, v in (data.get("emails") or {}).items()}
    fresh: list[Action] = replan(case, owners, emails)
    elsewhere: dict[int, list[str]] = {}
    for s in (s for s in case["subjects"] if s["hand_over"] == "move"):
        if owners.get(ref(s)) is not None:  # not read this time: what the last read found stands
            fresh += subject_read(case, s, int(owners[ref(s)]), emails, now, rules, elsewhere)
    fresh += [wrong_client(case, client, moved, emails, rules) for client, moved in elsewhere.items()]
    fresh += grown(case, data.get("holds") or {}, now, rules)
    fresh += account_owner_changed(case, owners, "executing", now, rules)
    fresh += ex_holder_logins(case, data.get("users") or {})
    missing_access = any(access_missing(case, s) for s in case["subjects"])
    if not all_with_new_holder(case) or steps_waiting(case) or missing_access or case.get("grown"):
        return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))
    held = case.get("requester_objection")
    if held:  # the requester objected while executing: staff decide before anything completes
        once(
            case, held, "told_moved", now, "moved; held by the requester's objection",
            f"recorded on {held['at'][:10]} by {held['by']}: the case completes once staff record the requester's "
            f"consent (ownership record-answer {case['id']} --party requester --answer consent)",
        )  # fmt: skip
        return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))
    replies = replies_to_classify(case)
    if replies:  # it may be an objection: staff classify it before the case completes, locks and tells the parties
        r = replies[0]
        once(
            case, case.setdefault("completion_held", {}), f"{r['ticket']}-{r['reply']}", now, "completion held",
            f"{msg_ref(r)} by {r['writer']} is not classified yet "
            f"({classify_command(case['id'], r)})",
        )  # fmt: skip
        return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))
    waiting = backups_due(case)
    if waiting:  # a mixed case: what moved is seen, the backup hand-over only staff can say they made
        once(
            case, case, "backup_waiting", now, "moved; backup hand-over to record",
            f"{', '.join(label(s) for s in waiting)}: once the backup is sent, "
            f"`ownership complete {case['id']} --by NAME --note ...` records it and completes the case",
        )  # fmt: skip
        return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))
    done = complete(case, now, rules, by="bridge")
    done.actions[:0] = fresh
    return done


def grown(case: dict[str, Any], holds: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    """What each whole account the case hands over holds now beyond what the approval found in it (`holds`, read
    with its owner: executor/owner_reads.account_holds), as the approval itself refuses it (whmcs_reads.account_contents):
    the holder was never asked about it, and "Make Owner" would hand it over unsaid (twenty-fourth break round,
    ownership HIGH 2). `case["grown"]` keeps what holds the completion back; staff hear of each new set once."""
    added: list[str] = []
    for s in (s for s in case["subjects"] if s["kind"] == "client" and s.get("hand_over") == "move"):
        approved = s.get("contents_approved", s.get("contents"))
        if ref(s) in holds and approved is not None:
            s["holds_now"] = [str(item) for item in holds[ref(s)]]
        if approved is not None and "holds_now" in s:
            added += [item for item in s["holds_now"] if item not in approved]
    if not added:
        case.pop("grown", None)
        return []
    if case.get("grown") == added:
        return []
    case["grown"] = added
    words = ", ".join(item.replace(":", " #") for item in added)
    step(case, now, "completion held", "bridge", f"the account holds {words}, added after the approval")
    return [staff_ticket(case, rules, f"grown-{'-'.join(added)}", "ownership.staff_account_grown", added=added)]


def ex_holder_logins(case: dict[str, Any], users: dict[str, Any]) -> list[Action]:
    """A whole account now the new holder's still lets in the holder's logins: "Make Owner" keeps the owner until
    then as an invited user, and the holder's other users stay too (GetClientsDetails `users`, as the read found
    them: `users`, DD:api-reference/getclientsdetails.md). Each user of the holder's account when the case opened
    (holders_own) but the new owner loses its access to it (DeleteUserClient, DD:api-reference/deleteuserclient.md),
    as a step the completion waits on, written only while the account is still the new owner's (guard
    `owned_by`). Until WHMCS showed the new owner, only the holder could invite anyone on the account: every user the
    first read after the hand-over finds there (`users_at_hand_over`), but the new owner and the requester's own
    people, is the holder's too, one invited after the opening included (twenty-sixth break round, ownership HIGH 1).
    A user invited after that read is the new holder's to keep or remove."""
    actions: list[Action] = []
    for s in (s for s in case["subjects"] if s["kind"] == "client" and s.get("hand_over") == "move"):
        on = users.get(ref(s))
        owner = s.get("owner_now")
        if not isinstance(on, dict) or not s.get("moved_to") or owner != s["moved_to"]:
            continue
        at_hand_over = s.setdefault("users_at_hand_over", sorted(int(u) for u in on))
        for user, email in sorted(on.items()):
            address = str(email or "")
            holders = holders_own(case, address) or (int(user) in at_hand_over and not requesters_own(case, address))
            if int(user) == owner or not holders:
                continue
            purpose = f"access-{s['id']}-{user}"
            if case.get("steps", {}).get(purpose, {}).get("status") in ("planned", "parked"):
                continue  # planned already, or waiting for staff
            params = {"client_id": s["id"], "user_id": int(user), "report": {"case": case["id"]}}
            action = execution_step(case, "remove_user", purpose, params, s["id"], s, user=int(user))
            owned = {"owned_by": {"kind": "client", "id": s["id"], "client": owner}}
            actions.append(dataclasses.replace(action, guard={**action.guard, **owned}))
    return actions


def subject_read(
    case: dict[str, Any],
    s: dict[str, Any],
    owner: int,
    emails: dict[str, str],
    now: datetime,
    rules: Rules,
    elsewhere: dict[int, list[str]],
) -> list[Action]:
    """One subject's owner as read: still the holder's, the new holder's (moved: its new access), or another
    client's (recorded in `elsewhere` for a staff ticket, once per client)."""
    s["owner_now"] = owner
    if owner == s["holder_ref"]:
        return []
    if outside(case) and s["kind"] != "client" and str(owner) not in emails:
        s["owner_now"] = None  # read again with the owner's address
        return []
    if not is_new_holder(case, s, owner, emails):
        if owner not in s.setdefault("moved_elsewhere", []):
            s["moved_elsewhere"].append(owner)
            whom = user_words(case, owner, emails) if s["kind"] == "client" else f"#{owner}"
            step(case, now, "moved to another client", "staff", f"{label(s)} now belongs to {whom}")
            elsewhere.setdefault(owner, []).append(ref(s))
        return []
    if s.get("moved_to") != owner:
        s["moved_to"] = owner
        step(case, now, "moved in WHMCS", "staff", f"{label(s)} now belongs to #{owner}")
    if not access_missing(case, s):
        return []
    if case.get("requester_objection"):  # the requester denied the request: nothing is handed over meanwhile
        return []
    replies = replies_to_classify(case)
    if replies:  # it may be an objection: nothing is handed over before staff say what it is
        if s.get("access_held", "") != replies[0]["reply"]:  # a gone thread's reply is None
            s["access_held"] = replies[0]["reply"]
            step(
                case, now, "new access held", "bridge",
                f"{label(s)}: {msg_ref(replies[0])} is not classified yet "
                f"({classify_command(case['id'], replies[0])})",
            )  # fmt: skip
        return []
    # Moved now, or back with the new holder after its password step's guard found it elsewhere.
    return new_access(case, s, rules)


def user_words(case: dict[str, Any], owner: int, emails: dict[str, str]) -> str:
    """Who a whole account's wrong owner user is, in the timeline's words."""
    if holders_own(case, emails.get(f"user:{owner}", "")):
        return f"user #{owner}, who was a user of the holder's account when the case opened"
    return f"user #{owner}, who is not the requester's"


def once(case: dict[str, Any], record: dict[str, Any], flag: str, now: datetime, what: str, why: str) -> None:
    """The timeline line of a wait, written the first pass the case waits for it (`record[flag]` keeps when)."""
    if not record.get(flag):
        record[flag] = iso(now)
        step(case, now, what, "bridge", why)


def all_with_new_holder(case: dict[str, Any]) -> bool:
    """Every moving subject was found, on the last read, with the new holder (there is at least one)."""
    moving = [s for s in case["subjects"] if s["hand_over"] == "move"]
    return bool(moving) and all(s.get("moved_to") and s.get("owner_now") == s["moved_to"] for s in moving)


def new_access(case: dict[str, Any], subject: dict[str, Any], rules: Rules) -> list[Action]:
    """A service now the requester's: its password changes (the previous holder may know it) and WHMCS's
    welcome email, sent for the service, gives the new holder the new access details. Moved to another
    client than a requester that is a client, staff hear of it (moved_elsewhere) and nothing is sent. A whole
    account now the new owner's: the same for each service it holds (account_access)."""
    if subject["kind"] == "client":
        return account_access(case, subject, rules)
    requester = case["requester"].get("client")
    # A requester outside WHMCS gets the account staff made for it: the client with its address (owners_read
    # records a move to any other client without calling it moved).
    if subject["kind"] != "service" or (requester and subject.get("moved_to") != requester):
        return []
    # Nor to the holder's address, should the new holder's profile email be one (executor access_kinds).
    params = {
        "service_id": subject["id"],
        "notify_template": rules.section.welcome_email,
        "holder_marks": holders_marks(case),
    }
    owner = int(subject["moved_to"])
    earlier = access_cancelled(case, subject)
    for purpose in earlier:  # replaced by this one
        del case["steps"][purpose]
    purpose = f"password-{subject['id']}" + (f"-{len(case['history'])}" if earlier else "")
    change = execution_step(case, "credential_change", purpose, params, owner, subject)
    # Re-read before it runs (and before it runs again after an interruption): the password and the welcome
    # email only ever go to the client that holds the service then.
    owned = {"owned_by": {"kind": "service", "id": subject["id"], "client": owner}}
    return [dataclasses.replace(change, guard={**change.guard, **owned})]


def account_access(case: dict[str, Any], account: dict[str, Any], rules: Rules) -> list[Action]:
    """A whole account now the new owner's: "Make Owner" changes who logs in to the account, not the hosting
    panels' passwords, which the holder set and knows (twenty-sixth break round, ownership HIGH 2). Each service
    the account holds gets a new password and WHMCS's welcome email, as a service case does, as a step the
    completion waits on. The email goes to the account's profile email and its contacts that receive product
    emails (DD:api-reference/sendemail.md, DD:api-reference/getcontacts.md), still the holder's after "Make
    Owner": the executor holds the step until staff changed them (access_kinds `holder_marks`, `_alone`), as
    the checklist asks. A service that is no hosting with a panel (not active, no server) ends skipped."""
    owner = int(account["moved_to"])
    actions: list[Action] = []
    for service in services_without_access(case, account):
        params = {
            "service_id": service,
            "notify_template": rules.section.welcome_email,
            "holder_marks": holders_marks(case),
            "hosting_only": True,
        }
        for purpose in [p for p, e in case.get("steps", {}).items() if e.get("service") == service]:
            del case["steps"][purpose]  # one that ended without running (its guard found another owner): replaced
        purpose = f"password-{account['id']}-{service}"
        change = execution_step(case, "credential_change", purpose, params, account["id"], account, service=service)
        # Only while the account is still the new owner's (as the ex-holder's logins' removal: ex_holder_logins).
        owned = {"owned_by": {"kind": "client", "id": account["id"], "client": owner}}
        actions.append(dataclasses.replace(change, guard={**change.guard, **owned}))
    return actions


def services_without_access(case: dict[str, Any], account: dict[str, Any]) -> list[int]:
    """The services of a whole account handed over (as the last approval found them) with no password step
    planned, done or skipped."""
    held = [str(item) for item in account.get("contents_approved", account.get("contents") or [])]
    covered = {
        e.get("service")
        for e in case.get("steps", {}).values()
        if e["kind"] == "credential_change" and e["status"] in ("planned", "done", "skipped")
    }
    return [int(i.split(":")[1]) for i in held if i.startswith("service:") and int(i.split(":")[1]) not in covered]


def access_missing(case: dict[str, Any], subject: dict[str, Any]) -> bool:
    """A service with the new holder that has no password step planned or done (none yet, or one that ended
    without running): the new holder would have no credentials. A whole account with the new owner: one of
    its services has none."""
    if subject["kind"] not in ("service", "client") or not subject.get("moved_to"):
        return False
    if subject["kind"] == "client":
        return subject.get("hand_over") == "move" and bool(services_without_access(case, subject))
    return not [
        e
        for e in case.get("steps", {}).values()
        if e["kind"] == "credential_change" and e["subject"] == ref(subject) and e["status"] in ("planned", "done")
    ]


def access_cancelled(case: dict[str, Any], subject: dict[str, Any]) -> list[str]:
    """The subject's password steps that ended without running (their guard found it with another client)."""
    return [
        purpose
        for purpose, e in case.get("steps", {}).items()
        if e["kind"] == "credential_change" and e["subject"] == ref(subject) and e["status"] == "cancelled"
    ]


def backups_due(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The backup-only subjects whose backup staff have not recorded as sent (ownership complete)."""
    return [s for s in case["subjects"] if s.get("hand_over") == "backup-only" and not s.get("backup_sent")]


def complete(case: dict[str, Any], now: datetime, rules: Rules, *, by: str, note: str = "") -> Decision:
    if by != "bridge":  # staff complete the case: the backups the checklist asked for were sent
        for s in backups_due(case):
            s["backup_sent"] = {"at": iso(now), "by": by, "note": note}
            step(case, now, "backup sent", by, f"{label(s)}: {note}")
    case["status"] = "completed"
    case["completed"] = iso(now)
    if any(s.get("moved_to") for s in case["subjects"]):
        case["lock_until"] = iso(now + timedelta(seconds=requirements(case)["lock_s"]))
        case["next_check"] = iso(now + rules.section.check_every)  # what moved is watched while locked
        step(case, now, "completed", by, f"locked until {case['lock_until'][:10]}")
    else:  # a backup-only hand-over: nothing changed hands, so nothing is locked
        case["lock_until"] = None
        step(case, now, "completed", by, "nothing changed hands: nothing is locked")
    # Audited as a milestone, after which the chain is anchored in WHMCS (evidence.anchor.DECISIONS).
    moved = {ref(s): s["moved_to"] for s in case["subjects"] if s.get("moved_to")}
    milestone = {
        "case": case["id"],
        "subject": f"ownership:{case['id']}",
        "by": by,
        "moved": moved,
        "lock_until": case["lock_until"],  # the state's is checked against it (integrity.dates_problems)
    }
    outcome = completion_fields(case)
    actions = [
        *tell(case, "requester", "completed", rules, "ownership.completed", lock_until=case["lock_until"], **outcome),
        *tell(case, "holder", "completed", rules, "ownership.completed", lock_until=case["lock_until"], **outcome),
        *party_notes(case, "completed"),
    ]
    return Decision(
        state=case,
        actions=actions,
        due_at=due(case),
        refs=case_refs(case),
        milestones=[("execution_completed", milestone)],
    )


def completion_fields(case: dict[str, Any]) -> dict[str, Any]:
    """What happened to each subject, as the completion message says it: moved to the new holder, kept by the
    holder with a backup handed over, or kept without one."""
    return {
        "moved": [ref(s) for s in case["subjects"] if s.get("moved_to")],
        "backup": [ref(s) for s in case["subjects"] if not s.get("moved_to") and s.get("backup_sent")],
        "kept": [ref(s) for s in case["subjects"] if not s.get("moved_to") and not s.get("backup_sent")],
        "account_items": account_held(case),  # what a whole account went with (watch.account_held)
    }
