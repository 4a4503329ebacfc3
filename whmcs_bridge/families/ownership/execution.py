"""Executing an approved case: what the API does, what staff must do in the admin area, reading who owns the subjects until they moved, completion and the lock (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.ownership.case import due
from whmcs_bridge.families.ownership.policies import (
    Rules,
    act,
    case_refs,
    checklist_fields,
    hand_over_fields,
    iso,
    label,
    party_notes,
    ref,
    registrant,
    requirements,
    staff_ticket,
    step,
    tell,
)
from whmcs_bridge.model import Action, Decision


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
    for s in moving:
        if s["kind"] == "domain":
            # The executor reads the current contacts and keeps every field (whmcs/whois.py).
            params = {
                "domain_id": s["id"],
                "holder": registrant(case["requester"]),
                "holder_client": case["requester"].get("client"),
                "contact_type": "Registrant",
            }
            actions.append(act(case, "registrant_update", f"whois-{s['id']}", params, holder))
        if s["kind"] == "domain":
            # DD:api-reference/domainupdatelockingstatus.md: the registrar module turns its transfer lock on;
            # a module that cannot says so, and the case records it for staff.
            params = {"domain_id": s["id"], "report": {"case": case["id"], "domain": s["id"]}}
            actions.append(act(case, "domain_lock", f"lock-{s['id']}", params, holder))
    if moving:
        subjects = [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving]
        event = {"type": "OwnershipChanged", "data": {"case": case["id"], "holder": holder, "subjects": subjects}}
        actions.append(act(case, "announce", "grants-end", event, holder))
    return actions


def checklist_ticket(case: dict[str, Any], rules: Rules) -> Action:
    """Staff's ticket: the side effects, and what only they can do in WHMCS's admin area."""
    approved_by = ", ".join(a["by"] for a in case["approvals"])
    return staff_ticket(
        case, rules, "checklist", "ownership.staff_checklist", approved_by=approved_by, **checklist_fields(case)
    )


def owners_read(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    if case["status"] != "executing":
        return Decision(state=case, due_at=due(case))
    owners = data.get("owners") or {}
    emails = {str(k): str(v or "") for k, v in (data.get("emails") or {}).items()}
    fresh: list[Action] = []
    elsewhere: dict[int, list[str]] = {}
    for s in case["subjects"]:
        now_owner = owners.get(f"{s['kind']}:{s['id']}")
        if (
            s["hand_over"] != "move"
            or s.get("moved_to")
            or now_owner is None
            or now_owner == s["holder_ref"]
            or (outside(case) and s["kind"] != "client" and str(now_owner) not in emails)  # read again with it
        ):
            continue
        if outside(case) and s["kind"] != "client" and not is_requester(case, emails[str(now_owner)]):
            if now_owner not in s.setdefault("moved_elsewhere", []):  # raised once per client
                s["moved_elsewhere"].append(now_owner)
                step(case, now, "moved to another client", "staff", f"{label(s)} now belongs to #{now_owner}")
                elsewhere.setdefault(int(now_owner), []).append(ref(s))
            continue
        s["moved_to"] = now_owner
        step(case, now, "moved in WHMCS", "staff", f"{label(s)} now belongs to #{now_owner}")
        fresh += new_access(case, s, rules)
    fresh += [not_to_requester(case, client, moved, emails[str(client)], rules) for client, moved in elsewhere.items()]
    if all(s.get("moved_to") for s in case["subjects"] if s["hand_over"] == "move") and any(
        s["hand_over"] == "move" for s in case["subjects"]
    ):
        waiting = backups_due(case)
        if waiting:  # a mixed case: what moved is seen, the backup hand-over only staff can say they made
            if not case.get("backup_waiting"):
                case["backup_waiting"] = iso(now)
                step(
                    case, now, "moved; backup hand-over to record", "bridge",
                    f"{', '.join(label(s) for s in waiting)}: once the backup is sent, "
                    f"`ownership complete {case['id']} --by NAME --note ...` records it and completes the case",
                )  # fmt: skip
            return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))
        done = complete(case, now, rules, by="bridge")
        done.actions[:0] = fresh
        return done
    return Decision(state=case, actions=fresh, due_at=due(case), refs=case_refs(case))


def new_access(case: dict[str, Any], subject: dict[str, Any], rules: Rules) -> list[Action]:
    """A service now the requester's: its password changes (the previous holder may know it) and WHMCS's
    welcome email, sent for the service, gives the new holder the new access details. Moved to another
    client than a requester that is a client, staff hear of it (moved_elsewhere) and nothing is sent."""
    requester = case["requester"].get("client")
    # A requester outside WHMCS gets the account staff made for it: the client with its address (owners_read
    # records a move to any other client without calling it moved).
    if subject["kind"] != "service" or (requester and subject.get("moved_to") != requester):
        return []
    params = {"service_id": subject["id"], "notify_template": rules.section.welcome_email}
    return [act(case, "credential_change", f"password-{subject['id']}", params, int(subject["moved_to"]))]


def outside(case: dict[str, Any]) -> bool:
    """The requester is not a WHMCS client: the client staff move the subjects to must carry its address."""
    return not case["requester"].get("client")


def is_requester(case: dict[str, Any], email: str) -> bool:
    wanted = str(case["requester"].get("email") or "").strip().casefold()
    return bool(wanted) and email.strip().casefold() == wanted


def not_to_requester(case: dict[str, Any], client: int, moved: list[str], email: str, rules: Rules) -> Action:
    """Staff moved an outside requester's subjects to a client with another address: nothing is sent to
    it, the case waits for them to reach the requester's account."""
    return staff_ticket(
        case,
        rules,
        f"not-requester-{client}-{'-'.join(moved)}",
        "ownership.staff_moved_not_to_requester",
        moving=moved,
        moved_to=client,
        moved_to_email=email,
        requester_email=str(case["requester"].get("email") or ""),
    )


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
    milestone = {"case": case["id"], "subject": f"ownership:{case['id']}", "by": by, "moved": moved}
    actions = [
        *tell(case, "requester", "completed", rules, "ownership.completed", lock_until=case["lock_until"]),
        *tell(case, "holder", "completed", rules, "ownership.completed", lock_until=case["lock_until"]),
        *moved_elsewhere(case, rules),
        *party_notes(case, "completed"),
    ]
    return Decision(
        state=case,
        actions=actions,
        due_at=due(case),
        refs=case_refs(case),
        milestones=[("execution_completed", milestone)],
    )


def moved_elsewhere(case: dict[str, Any], rules: Rules) -> list[Action]:
    """A staff ticket for each client other than the requester that staff moved subjects to."""
    requester = case["requester"].get("client")
    wrong: dict[int, list[str]] = {}
    for s in case["subjects"]:
        if s.get("moved_to") and requester and s["kind"] != "client" and s["moved_to"] != requester:
            wrong.setdefault(int(s["moved_to"]), []).append(ref(s))
    return [
        staff_ticket(
            case, rules, f"wrong-client-{client}", "ownership.staff_moved_elsewhere", moving=moved, moved_to=client
        )
        for client, moved in wrong.items()
    ]


def read_owners(case: dict[str, Any]) -> list[Action]:
    moving = [s for s in case["subjects"] if s["hand_over"] == "move" and not s.get("moved_to")]
    if not moving:
        return []
    params: dict[str, Any] = {
        "subjects": [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in moving],
        "report": {"case": case["id"]},
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
