"""What an ownership case stops changes on: its subjects and, while open, its holder's account; a claim on a whole
account, everything the account holds (read from WHMCS at approval); a dispute, the holder's whole account; a
completed case, what changed hands until its lock ends. Staff commands (staff.py) and approvals ask here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge import staff
from whmcs_bridge.families.ownership.integrity import edited_sentence
from whmcs_bridge.families.ownership.policies import FAMILY, and_words, ref
from whmcs_bridge.families.ownership.whmcs_reads import contents
from whmcs_bridge.store import seals
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


def cases(db: Database) -> list[dict[str, Any]]:
    """Every ownership case's state, whatever its status."""
    return staff.states_of(db, FAMILY, "case:")


def covers(c: dict[str, Any]) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """What a case stops changes on: its subjects (once completed, only what changed hands), and while open its
    holder's account as a whole; and the accounts whose contents it covers (`account` items): a claim on a whole
    account covers every service and domain it holds (a second case on one of them would run a second execution on
    it), so does the lock on an account that changed hands, and a dispute freezes the holder's account."""
    completed = c["status"] == "completed"
    held = [s for s in c["subjects"] if not completed or s.get("moved_to")]
    covered = {(s["kind"], int(s["id"])) for s in held}
    accounts = {("account", int(s["id"])) for s in held if s["kind"] == "client"}
    holder = c["holder"].get("client")
    if not completed and holder:
        covered.add(("client", int(holder)))
    if c["status"] == "disputed" and holder:
        accounts.add(("account", int(holder)))
    return covered, accounts


def frozen(
    db: Database,
    items: list[dict[str, Any]],
    now: datetime,
    *,
    open_cases: bool = False,
    court_order: bool = False,
    but: str | None = None,
) -> str | None:
    """Why a change on these subjects is refused now (a disputed case, a lock after a completed one,
    and with `open_cases` any case still open), or None. `items` are {"kind", "id"}: a claim on a whole
    account lists what the account holds too (contents()). A disputed or open case covers its subjects
    and its holder's whole account; a completed one only what changed hands. The lock after a completion
    holds claims back, not a court order (`court_order`). An `account` item is the account that holds the
    items: an open claim on that whole account covers them. `but`: a case not to count (the one approved)."""
    wanted = {(i["kind"], int(i["id"])) for i in items}
    edited = edited_case(db)
    if edited:
        return edited
    for c in cases(db):
        if c["status"] in ("cancelled", "rejected", "draft") or c["id"] == but:
            continue
        completed = c["status"] == "completed"
        if completed and (
            court_order
            or c.get("lock_ended")
            or not c.get("lock_until")
            or datetime.fromisoformat(c["lock_until"]) <= now
        ):
            continue
        covered, accounts = covers(c)
        if not (covered | accounts) & wanted:
            continue
        if c["status"] == "disputed":
            return f"ownership case {c['id']} on it is disputed: nothing changes until it is resolved"
        if completed:
            return f"ownership case {c['id']} completed on {c['completed'][:10]}: it is locked until {c['lock_until'][:10]}"
        if open_cases and not covered & wanted:  # only through the account it claims
            [(_, account)] = accounts & wanted
            return (
                f"ownership case {c['id']} on the whole account of client #{account}, which holds it, is open "
                f"({c['status']}): finish or cancel it first"
            )
        if open_cases:
            return f"ownership case {c['id']} on it is open ({c['status']}): finish or cancel it first"
    return None


def edited_case(db: Database) -> str | None:
    """A case whose state is not the one its last seal recorded (store/seals.py), as the sentence naming it, or
    None: an edited status or subject list would say what it covers, so nothing is decided on what it says
    (twenty-third break round: a dispute set to "cancelled" let a new case open on what it froze)."""
    for family, key, case_id in seals.sealed(db):
        found = seals.problems(db, family, key, case_id) if family == FAMILY else []
        if found:
            return edited_sentence(case_id, found[0])
    return None


def frozen_now(db: Database, api: WhmcsApi, state: dict[str, Any], now: datetime) -> str | None:
    """What the other cases say now of what an approval would hand over: a claim on a whole account covers what the
    account holds when it is approved (read from WHMCS), which may have changed hands since the case was opened
    (a domain another case moved into it and locked); and what it no longer holds of what it held then
    (left_account)."""
    accounts = [int(s["id"]) for s in state.get("subjects") or [] if s["kind"] == "client"]
    if not accounts:
        return None
    left = left_account(api, state)
    if left:
        return left
    court_order = state.get("grounds") == "court-order"
    for account in accounts:
        for item in contents(api, account):
            refusal = frozen(db, [item], now, open_cases=True, court_order=court_order, but=state["id"])
            if refusal:
                return f"client #{account} holds {item['kind']} #{item['id']} now: {refusal}"
    return None


def left_account(api: WhmcsApi, state: dict[str, Any]) -> str | None:
    """What a whole account the case hands over no longer holds in WHMCS of what it held when the case was opened
    (the subject's `contents`, what its holder was asked about), in words, or None: the approval would hand over
    the account without it, and the completion would say nothing (twenty-sixth break round, ownership MEDIUM 11: a
    domain moved out to a third client in the window, approved and completed without it). Named as WHMCS has it now
    (GetClientsProducts, GetClientsDomains; DD:api-reference/getclientsproducts.md)."""
    for s in state.get("subjects") or []:
        if s["kind"] != "client" or s.get("hand_over") != "move" or "contents" not in s:
            continue
        held = {ref(item) for item in contents(api, int(s["id"]))}
        gone = [item for item in s["contents"] if item not in held]
        if gone:
            them = "it" if len(gone) == 1 else "them"
            return (
                f"client #{s['id']} no longer holds {and_words([where_now(api, item) for item in gone])}, which it "
                f"held when the case was opened on {state['opened'][:10]} and its holder was asked about: move {them} "
                f"back into the account in WHMCS, or cancel the case (ownership cancel {state['id']} --by NAME --note "
                "...) and open a new one on the account as it is now"
            )
    return None


def where_now(api: WhmcsApi, item: str) -> str:
    """A service or a domain ("domain:20") as WHMCS has it now: its name and the client holding it, or gone."""
    kind, item_id = item.split(":")
    found: Any = next(api.domains(domain_id=int(item_id)), None) if kind == "domain" else api.service(int(item_id))
    if found is None:
        return f"{kind} #{item_id} (no longer in WHMCS)"
    name = found.domainname.lower() if kind == "domain" else found.domain or found.name
    return f"{kind} #{item_id} {name} (with client #{found.client_id} now)"
