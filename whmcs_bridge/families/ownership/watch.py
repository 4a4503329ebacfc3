"""What an open, disputed or locked case watches in WHMCS (pure): a subject of a case not approved yet or frozen
by a dispute must stay with its holder, one locked after completion with its new holder. WHMCS's admin area can move a service or a domain
without the bridge; a move seen there is recorded in the case and raised to staff by ticket. The owner user of the
account holding the subjects is watched too, while executing as well (watched_account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import BEFORE_APPROVAL, due
from whmcs_bridge.families.ownership.policies import Rules, act, case_refs, iso, label, ref, staff_ticket, step
from whmcs_bridge.model import Action, Decision


def locked(case: dict[str, Any]) -> bool:
    return case.get("status") == "completed" and not case.get("lock_ended")


def watched(case: dict[str, Any]) -> list[dict[str, Any]]:
    """While open (not approved yet) or disputed: every subject (nothing may change). While locked: only what
    changed hands (a backup-only or refused subject stayed with its holder and is not locked). A whole account
    brings what it holds (held_by_account)."""
    if case.get("status") == "disputed" or case.get("status") in BEFORE_APPROVAL:
        subjects = list(case["subjects"])
    elif locked(case):
        subjects = [s for s in case["subjects"] if s.get("moved_to")]
    else:
        return []
    return subjects + held_by_account(subjects)


def held_by_account(subjects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services and domains of each whole account among `subjects`, as WHMCS showed them at the last approval,
    else when the case opened: each must stay in the account, which is what changes hands. Moved out of it in
    WHMCS's admin area, it would leave the claim (or the lock) unseen (break round 19, MEDIUM 1)."""
    named = {ref(s) for s in subjects}
    items = []
    for s in subjects:
        if s["kind"] != "client":
            continue
        for item in s.get("contents_approved", s.get("contents") or []):
            kind, item_id = str(item).split(":")
            if item not in named:
                named.add(item)
                items.append({"kind": kind, "id": int(item_id), "in_account": int(s["id"])})
    return items


def account_held(case: dict[str, Any]) -> list[str]:
    """What each whole account that changed hands held when it did, as the last read of WHMCS found it (`holds_now`,
    execution.grown), else as the approval did: the completion lists it (twenty-sixth break round, ownership MEDIUM
    11: the parties were never told what went with the account)."""
    return [
        str(item)
        for s in case["subjects"]
        if s["kind"] == "client" and s.get("moved_to")
        for item in s.get("holds_now", s.get("contents_approved", s.get("contents") or []))
    ]


def expected(case: dict[str, Any], subject: dict[str, Any]) -> tuple[Any, ...]:
    """Where the subject may be: disputed, with its holder, or where it had moved before the objection stopped
    the execution (staff may leave it there or move it back); locked, with its new holder. What a whole account
    holds stays in the account, whoever owns the account."""
    if "in_account" in subject:
        return (subject["in_account"],)
    if case["status"] == "disputed":
        return (subject["holder_ref"], subject["moved_to"]) if subject.get("moved_to") else (subject["holder_ref"],)
    if case["status"] in BEFORE_APPROVAL:
        return (subject["holder_ref"],)
    return (subject["moved_to"],)


def watched_account(case: dict[str, Any]) -> str | None:
    """The party whose account's owner user is watched, or None. While the case is open, disputed or executing:
    the holder's, holding the subjects (staff were to move them one by one, not the account). While locked: the
    new holder's, holding what changed hands. WHMCS's "Make Owner" on that account hands whoever it names
    everything the account holds, though each subject's client id stays the same (twenty-fourth break round,
    ownership HIGH 3 and its companions during the execution and the lock). A claim on a whole account watches
    its owner as its subject; an account whose owner the case did not record when it opened is not watched."""
    if any(s["kind"] == "client" for s in case["subjects"]):
        return None
    status = case.get("status")
    if status in ("disputed", "executing") or status in BEFORE_APPROVAL:
        party = "holder"
    elif locked(case) and any(s.get("moved_to") == case["requester"].get("client") for s in case["subjects"]):
        party = "requester"
    else:
        return None
    account = case.get(party) or {}
    return party if account.get("owner_user") and account.get("client") else None


def account_read(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The watched account (watched_account) as a subject of a read of owners, or nothing."""
    party = watched_account(case)
    return [{"kind": "client", "id": int(case[party]["client"]), "name": None}] if party else []


def read_watched(case: dict[str, Any], now: datetime, rules: Rules) -> list[Action]:
    """Read who owns the watched subjects (and the watched account: account_read) now, and again after `check_every`."""
    subjects = [*watched(case), *account_read(case)]
    case["checks"] = case.get("checks", 0) + 1
    case["next_check"] = iso(now + rules.section.check_every)
    if not subjects:
        return []
    params = {
        "subjects": [{"kind": s["kind"], "id": s["id"], "name": s.get("name")} for s in subjects],
        "report": {"case": case["id"]},
        # read again every check_every while nothing happens: a projection folds these (engine.routine)
        "every_s": int(rules.section.check_every.total_seconds()),
    }
    return [act(case, "read_owners", f"watch-{case['checks']}", params, case["holder"].get("client"))]


def watched_owners(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """Owners read while frozen or locked: each subject found with another client than it should have is recorded
    and raised to staff in one ticket per client it went to. What is raised is each move WHMCS shows, not each
    destination: the same move read again is not news, but a subject put back where it should be and moved away
    again (to the same client or not) is raised again (twenty-sixth break round, ownership MEDIUM 10). A whole
    account's contents are read with its owner (`holds`): what came into it is raised too (account_changed)."""
    owners = data.get("owners") or {}
    frozen = "open" if case["status"] in BEFORE_APPROVAL else "disputed" if case["status"] == "disputed" else "locked"
    moved: dict[int, list[dict[str, Any]]] = {}
    for s in watched(case):
        owner = owners.get(ref(s))
        if owner is not None and moved_now(case, s, owner, frozen, now):
            moved.setdefault(int(owner), []).append(s)
    actions = account_owner_changed(case, owners, frozen, now, rules) + [
        staff_ticket(
            case,
            rules,
            f"moved-{frozen}-{client}-{len(case['moved_while_frozen'])}",
            "ownership.staff_moved_while_frozen",
            moving=[ref(s) for s in subjects],
            moved_to=client,
            frozen=frozen,
            # Out of the whole account the case claims, before its approval: no approval counts until it is back
            # (freeze.left_account refuses it).
            left_account=int(frozen != "locked" and any("in_account" in s for s in subjects)),
        )
        for client, subjects in moved.items()
    ]
    actions += account_changed(case, data.get("holds") or {}, frozen, now, rules)
    return Decision(state=case, actions=actions, due_at=due(case), refs=case_refs(case))


def moved_now(case: dict[str, Any], s: dict[str, Any], owner: Any, frozen: str, now: datetime) -> bool:
    """Whether a watched subject read with `owner` moved since the last read (recorded, to raise): away from where it
    should be, and not where the last move raised found it; one read back where it should be is said in the timeline."""
    away = moved_away(case)
    if away.get(ref(s)) == owner:
        return False
    if owner in expected(case, s):
        if away.pop(ref(s), None) is not None:
            step(case, now, f"back in WHMCS where expected while {frozen}", "staff", f"{label(s)} belongs to #{owner}")
        return False
    away[ref(s)] = owner
    case.setdefault("moved_while_frozen", []).append([ref(s), owner])
    step(case, now, f"moved in WHMCS while {frozen}", "staff", f"{label(s)} now belongs to #{owner}")
    return True


def account_changed(
    case: dict[str, Any], holds: dict[str, Any], frozen: str, now: datetime, rules: Rules
) -> list[Action]:
    """What a whole account the case claims holds now beyond what its holder was asked about (`holds`, read with its
    owner: executor/owner_reads.account_holds), while the case is not approved yet or disputed: "Make Owner" would
    hand it over unasked, so it is recorded and raised to staff in one ticket (an approval is refused meanwhile:
    whmcs_reads.account_contents). Each arrival WHMCS shows is raised once; one gone and back again is raised again
    (twenty-sixth break round, ownership MEDIUM 11: a whole account's contents changed in the window unseen)."""
    if frozen == "locked":  # the new holder's account: what it gains is its own
        return []
    added: list[str] = []
    for s in (s for s in case["subjects"] if s["kind"] == "client" and isinstance(holds.get(ref(s)), list)):
        recorded = s.get("contents_approved", s.get("contents"))
        if recorded is None:  # a case opened before the bridge recorded it: nothing to compare with
            continue
        arrived = [str(item) for item in holds[ref(s)] if str(item) not in recorded]
        added += [item for item in arrived if item not in s.get("arrived", [])]
        s["arrived"] = arrived
    if not added:
        return []
    words = ", ".join(item.replace(":", " #") for item in added)
    step(case, now, f"added to the account in WHMCS while {frozen}", "staff", f"the account now holds {words}")
    purpose = f"added-{frozen}-{len(case['history'])}"
    return [staff_ticket(case, rules, purpose, "ownership.staff_account_changed", added=added, frozen=frozen)]


def moved_away(case: dict[str, Any]) -> dict[str, Any]:
    """Where each watched subject last read away from where it should be was found (by its ref), the move already
    raised; a subject read back where it should be leaves it. A case recorded before this was kept has it from the
    moves it raised, the last one of each subject."""
    if "moved_away" not in case:
        case["moved_away"] = {item: owner for item, owner in case.get("moved_while_frozen") or []}
    away: dict[str, Any] = case["moved_away"]
    return away


def account_owner_changed(
    case: dict[str, Any], owners: dict[str, Any], frozen: str, now: datetime, rules: Rules
) -> list[Action]:
    """The watched account (watched_account) with another owner user than when the case opened: recorded and
    raised to staff in one ticket for each change WHMCS shows (the same owner read again is not news; an owner put
    back and changed again is: MEDIUM 10 of the twenty-sixth break round). `frozen`: open, disputed, executing or
    locked."""
    party = watched_account(case)
    if party is None:
        return []
    account, was = int(case[party]["client"]), case[party]["owner_user"]
    owner = owners.get(f"client:{account}")
    # The holder's account keeps the list older cases recorded; the new holder's has its own (an owner raised
    # for one account is news for the other).
    seen = case.setdefault("owner_changed_while_frozen" if party == "holder" else "new_holder_owner_changed", [])
    # The owner raised last (None once it read the recorded owner again); a case recorded before this was kept
    # has it from the owners it raised.
    away = case.setdefault("owner_away", {})
    last = away.get(party, seen[-1] if seen else None)
    if owner is None or int(owner) == int(was if last is None else last):
        return []
    if int(owner) == int(was):
        away[party] = None
        back = f"client #{account}'s owner is user #{owner} again"
        step(case, now, f"account owner back in WHMCS while {frozen}", "staff", back)
        return []
    away[party] = int(owner)
    seen.append(int(owner))
    why = f"client #{account}'s owner is now user #{owner} (user #{was} when the case opened)"
    step(case, now, f"account owner changed in WHMCS while {frozen}", "staff", why)
    return [
        staff_ticket(
            case,
            rules,
            f"owner-{frozen}-{owner}" + (f"-{len(seen)}" if len(seen) > 1 else ""),
            "ownership.staff_account_owner_changed",
            user=str(owner),
            was=str(was),
            frozen=frozen,
            lock_until=case.get("lock_until"),
        )
    ]
