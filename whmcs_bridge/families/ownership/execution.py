"""Executing an approved case: what the API does, what staff must do in the admin area, the execution steps and the reads of who owns the subjects (pure).

Each step the bridge runs in WHMCS (the registrant update, the transfer lock, the new hosting password) is
an execution step: the executor tells the case how it ended (STEP_ENDED, completion.step_ended). The case completes
only on a read of WHMCS made after every step is done, which finds every moving subject with the new holder
(completion.owners_read)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import due, replies_to_classify
from whmcs_bridge.families.ownership.holder import outside
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    Rules,
    act,
    case_refs,
    checklist_fields,
    classify_command,
    hand_over_fields,
    iso,
    label,
    msg_ref,
    party_notes,
    ref,
    registrant,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.families.ownership.shared import holders_marks
from whmcs_bridge.families.ownership.watch import account_read
from whmcs_bridge.model import Action, Decision

# What WHMCS calls a subject that is no longer there to move (UpdateClientDomain / UpdateClientProduct `status`,
# DD:api-reference/updateclientdomain.md, DD:api-reference/updateclientproduct.md): gone to another registrar,
# cancelled, expired, terminated or marked as fraud. Read at approval (whmcs_reads.not_movable) and before each write
# of the execution (the `movable` guard).
GONE = {
    "domain": ("Transferred Away", "Cancelled", "Expired", "Fraud"),
    "service": ("Terminated", "Cancelled", "Fraud"),
}

# How the executor tells a case that one of its execution steps ended (store/outbox.py report_outcome).
STEP_ENDED = "OwnershipStepEnded"


def execute(case: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The bridge does what the API allows, staff get their checklist, both parties hear what happens."""
    actions = [*hand_over_actions(case), checklist_ticket(case, rules), *party_notes(case, "approved")]
    for party in ("requester", "holder"):
        actions += tell(case, party, "approved", rules, "ownership.approved", **hand_over_fields(case))
    case["next_check"] = iso(now + rules.section.check_every)
    case["checks"] = 0
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def hand_over_actions(case: dict[str, Any]) -> list[Action]:
    """What the bridge does itself for the moving subjects: a domain's registrant becomes the requester
    and its transfer lock goes on, and the other families hear that grants on them end. A service's
    password changes once WHMCS shows it moved (new_access)."""
    holder = case["holder"]["client"]
    moving = [s for s in case["subjects"] if s["hand_over"] == "move"]
    actions: list[Action] = []
    for s in (s for s in moving if s["kind"] == "domain"):
        actions += [domain_step(case, s, kind, f"{DOMAIN_STEPS[kind]}-{s['id']}") for kind in DOMAIN_STEPS]
    if moving:
        subjects = [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving]
        event = {"type": "OwnershipChanged", "data": {"case": case["id"], "holder": holder, "subjects": subjects}}
        actions.append(act(case, "announce", "grants-end", event, holder))
    return actions


# The steps the bridge runs for a moving domain, by kind, and the start of their purpose.
DOMAIN_STEPS = {"registrant_update": "whois", "domain_lock": "lock"}


def domain_step(case: dict[str, Any], s: dict[str, Any], kind: str, purpose: str) -> Action:
    """A moving domain's registrant update (the new holder's details; the executor reads the current contacts
    and keeps every other field, whmcs/whois.py) or its transfer lock (DD:api-reference/domainupdatelockingstatus.md:
    the registrar module turns it on; a module that cannot says so, and the case records it for staff)."""
    if kind == "registrant_update":
        params: dict[str, Any] = {
            "domain_id": s["id"],
            "holder": registrant(case["requester"]),
            "holder_client": case["requester"].get("client"),
            "contact_type": "Registrant",
        }
        if case["requester"].get("client") and str(case["requester"].get("company") or "").strip():
            # The company the case opened for: a profile read at execution that no longer names it holds the step
            # (executor kinds `company`; twenty-fifth break round, ownership HIGH 7).
            params["company"] = str(case["requester"]["company"]).strip()
        if case["requester"].get("client"):
            # Nor the holder's address as the registrant's email (executor _not_the_holders).
            params["holder_marks"] = holders_marks(case)
    else:
        params = {"domain_id": s["id"], "report": {"case": case["id"], "domain": s["id"]}}
    return execution_step(case, kind, purpose, params, case["holder"]["client"], s)


# What staff read of each execution step (ownership show), by its action kind.
STEP_WORDS = {
    "registrant_update": "registrant update",
    "domain_lock": "transfer lock",
    "credential_change": "new password sent by the welcome email",
}
# How a step ended, in staff's words where the status alone would not say it: a transfer lock the registrar
# module refused ran (WHMCS answered) but set nothing.
STATUS_WORDS = {"refused": "refused by the registrar", "skipped": "not needed"}


def execution_step(
    case: dict[str, Any],
    kind: str,
    purpose: str,
    params: dict[str, Any],
    client: int | None,
    subject: dict[str, Any],
    **entry: Any,
) -> Action:
    """An action the case waits on before it may complete: recorded in the case (`steps`, with `entry`'s facts for
    staff's words: step_words), and its outcome reported back to it (outcome_to)."""
    steps = case.setdefault("steps", {})
    # Executed again (a dispute ended in a new approval): a new action; an earlier one that did not run is replaced.
    if purpose in steps:
        if steps[purpose]["status"] != "done":
            del steps[purpose]
        purpose = f"{purpose}-{len(case['history'])}"
    steps[purpose] = {"kind": kind, "subject": ref(subject), "label": label(subject), "status": "planned", **entry}
    # `tell_parked`: a step WHMCS refuses is told to the case too, for staff's ticket (step_parked).
    action = act(case, kind, purpose, {**params, "outcome_to": STEP_ENDED, "tell_parked": True}, client)
    # And only on a subject still there to move: one transferred away or cancelled since the approval is not
    # written to (a registrar module would refuse it, the sandbox would not); the case tells staff (step_ended).
    guard = while_executing(case)
    if subject["kind"] in GONE:
        # Nor on one staff moved to a third client meanwhile: it is written to only while WHMCS shows it with its
        # holder or the new holder (for a requester outside WHMCS: a client with its address).
        owners = [subject["holder_ref"], *([case["requester"]["client"]] if case["requester"].get("client") else [])]
        requester_email = "" if case["requester"].get("client") else str(case["requester"].get("email") or "")
        guard["movable"] = {
            **ref_of(subject), "gone": GONE[subject["kind"]], "owners": owners, "requester_email": requester_email,
            "requester_client": case["requester"].get("client"),
        }  # fmt: skip
    return dataclasses.replace(action, guard=guard)


def ref_of(subject: dict[str, Any]) -> dict[str, Any]:
    return {"kind": subject["kind"], "id": subject["id"], "name": subject.get("name")}


def while_executing(case: dict[str, Any]) -> dict[str, Any]:
    """A step runs only while its case executes, as the store says just before each write (executor
    store_guards `state_in`): an objection, a dispute or a cancel recorded since stops the steps not sent yet,
    and an answer to the case still waiting in the inbox (the holder's link) is decided first; and (`quiet`) it
    waits while a party's message to the case is read from WHMCS or waits to be classified (writes_wait)."""
    pending = {"type": "OwnershipCommand", "field": "case", "value": case["id"]}
    key = f"case:{case['id']}"
    return {
        "state_in": {"family": FAMILY, "key": key, "in": ["executing"], "pending": pending},
        "quiet": {"family": FAMILY, "key": key},
    }


def writes_wait(case: dict[str, Any], polled_at: str | None = None) -> tuple[str, bool]:
    """Why the case's steps in WHMCS not sent yet wait, and whether for a read of WHMCS (the next pass makes it)
    rather than for staff; ("", False) when they may run. A message WHMCS told of and the bridge has not read back
    (`reading`), or a reply read and not classified yet, may be the holder's objection: nothing is written against
    it. Staff classify it: an objection stops the steps (answers.stop_execution, their `state_in` guard), anything
    else lets them run (break round 13 H7). `polled_at`: when a poll last read WHMCS's tickets through; one older
    than the approval (GetTicket failing since) cannot say no party wrote meanwhile: the steps wait for a poll that
    did (break round 14 H5). Before any poll has read WHMCS (ownership requires the poll, config.load), the hooks are all there is."""
    reading = case.get("reading") or []
    if reading:
        return f"{msg_ref(reading[0])} to be read from WHMCS", True
    # A poll is stamped to the second at its start: one stamped in the approval's second may have read before it.
    if polled_at and case.get("executing") and datetime.fromisoformat(polled_at) <= datetime.fromisoformat(
        case["executing"]
    ):
        return (
            f"WHMCS's tickets to be read through since the approval (last read on "
            f"{polled_at[:16].replace('T', ' ')} UTC)",
            True,
        )
    replies = replies_to_classify(case)
    if replies:
        r = replies[0]
        return (
            f"staff to classify {msg_ref(r)} by {r['writer']} "
            f"({classify_command(case['id'], r)})",
            False,
        )
    return "", False


def steps_ran(case: dict[str, Any]) -> list[str]:
    """The execution steps done in WHMCS so far (by the bridge, or by staff by hand), as staff read them."""
    return [step_words(entry) for entry in case.get("steps", {}).values() if entry["status"] == "done"]


def steps_waiting(case: dict[str, Any]) -> list[str]:
    """The execution steps not done yet (planned, running, parked for staff, or cancelled or rejected and
    not done by staff since), as staff read them: "registrant update of domain #20". A transfer lock the
    registrar refused is not waited for: it stays refused in WHMCS whatever the bridge does, and staff's to-do
    list says to set it by hand (or accept a registry without one); a case does not wait for ever on it."""
    # Skipped: a whole account's service with no control panel (completion.account_access).
    waited = ("done", "refused", "skipped")
    return [step_words(entry) for entry in case.get("steps", {}).values() if entry["status"] not in waited]


def step_words(entry: dict[str, Any]) -> str:
    subject = entry["subject"].replace(":", " #")
    if entry.get("service"):  # a whole account's service (completion.account_access)
        subject = f"service #{entry['service']} in {subject}"
    if entry["kind"] == "remove_user":
        return f"removal of user #{entry.get('user')}'s access to {subject}"
    return f"{STEP_WORDS.get(entry['kind'], entry['kind'])} of {subject}"


def lock_refused(case: dict[str, Any], entry: dict[str, Any], rules: Rules) -> list[Action]:
    """The registrar module refused the transfer lock (the registry may have none, e.g. .co.id): the domain
    records it, and staff hear it by one ticket with the registrar's words and what to do by hand."""
    for s in case["subjects"]:
        if ref(s) == entry["subject"]:
            s["transfer_lock"] = f"refused: {entry['refused']}"
    return [
        staff_ticket(
            case, rules, f"lock-refused-{entry['subject']}", "ownership.staff_lock_refused",
            refused=[entry["subject"]], whmcs_message=entry["refused"],
        )
    ]  # fmt: skip


def subject_left(case: dict[str, Any], entry: dict[str, Any], gone: str, rules: Rules) -> Decision:
    """An execution step's subject is gone from WHMCS (transferred away, cancelled...), or the requester's
    account is Closed (`gone` "requester-closed"): the step did not run,
    the case cannot complete as approved (it may be cancelled while executing), and staff hear it once per
    subject, with what they can do."""
    if entry["subject"] in case.setdefault("gone", {}):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    case["gone"][entry["subject"]] = gone
    closed = gone == "requester-closed"  # the requester's account closed since the approval: nothing goes to it
    told = staff_ticket(
        case, rules, f"gone-{entry['subject']}", "ownership.staff_subject_gone",
        left=[entry["subject"]], subject_ref=entry["subject"], whmcs_status="" if gone == "absent" or closed else gone,
        requester_closed=int(closed),
    )  # fmt: skip
    return Decision(state=case, actions=[told], due_at=due(case), refs=case_refs(case))


def step_parked(
    case: dict[str, Any], purpose: str, entry: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules
) -> Decision:
    """The executor parked a step (WHMCS refused it): staff hear which and WHMCS's message, by one ticket per
    step (keyed by it: parked again after a retry, nothing more is sent). The step stays planned: its
    action waits for staff in `approvals`, and `ownership show` names it."""
    if entry.get("parked_told"):
        return Decision(state=case, due_at=due(case), refs=case_refs(case))
    error = str(data.get("error") or "no message")
    entry["parked_told"] = iso(now)
    step(case, now, f"{step_words(entry)} parked", "bridge", error)
    told = staff_ticket(
        case, rules, f"parked-{purpose}", "ownership.staff_step_parked",
        step=entry["kind"], parked=[entry["subject"]], parked_ref=entry["subject"],
        whmcs_message=str(data.get("whmcs_message") or error),
    )  # fmt: skip
    return Decision(state=case, actions=[told], due_at=due(case), refs=case_refs(case))


def checklist_ticket(case: dict[str, Any], rules: Rules) -> Action:
    """Staff's ticket: the side effects, and what only they can do in WHMCS's admin area."""
    approved_by = ", ".join(a["by"] for a in case["approvals"])
    return staff_ticket(
        case, rules, "checklist", "ownership.staff_checklist", approved_by=approved_by, **checklist_fields(case)
    )


def read_owners(case: dict[str, Any], **report: Any) -> list[Action]:
    """Read every moving subject's owner, moved already or not: completion is decided on what WHMCS says now; and
    the owner user of the holder's account (watch.account_read: staff were to move the subjects, not the account).
    `report`: what the read's answer carries back besides the case (answers.objection_read: which objection)."""
    moving = [s for s in case["subjects"] if s["hand_over"] == "move"]
    if not moving:
        return []
    params: dict[str, Any] = {
        "subjects": [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving] + account_read(case),
        "report": {"case": case["id"], **report},
    }
    if outside(case):
        params["owner_emails"] = True
    return [act(case, "read_owners", f"owners-{case['checks']}", params, case["holder"]["client"])]


def checklist_reminder(case: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    overdue = now - datetime.fromisoformat(case["executing"]) >= rules.section.checklist_reminder
    if not overdue or case.get("checklist_reminded"):
        return []
    case["checklist_reminded"] = iso(now)
    step(case, now, "checklist reminder", "bridge", "the move in WHMCS is not done yet")
    return [staff_ticket(case, rules, "checklist-reminder", "ownership.staff_checklist_reminder", **checklist_fields(case))]
