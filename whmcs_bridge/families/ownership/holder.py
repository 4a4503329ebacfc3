"""Who the new holder of a case's subjects is, as WHMCS shows it (pure): the requester's client, or for a requester
outside WHMCS the client staff made with its address; and what staff hear when a subject moved to another client."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.ownership.policies import Rules, staff_ticket
from whmcs_bridge.families.ownership.shared import addresses
from whmcs_bridge.model import Action


def is_new_holder(case: dict[str, Any], subject: dict[str, Any], owner: int, emails: dict[str, str]) -> bool:
    """Whether the client WHMCS names as the owner is the new holder: the requester's client, or for a
    requester outside WHMCS the client staff made with its address. A whole account's owner is a user: one of the
    requester's account's users, or for a requester outside WHMCS one with its address, as the read found them
    (`user:ID`, `user:ID:clients` in `emails`: executor/owner_reads.user_facts); a read from before it named them
    (a row planned by an older version) takes any user but the holder's, as then."""
    if subject["kind"] == "client":
        if f"user:{owner}" not in emails:
            return True
        if requesters_owner(case, owner, emails):
            return True
        if holders_own(case, emails[f"user:{owner}"]):
            return False
        if outside(case):
            return is_requester(case, emails[f"user:{owner}"])
        return str(case["requester"].get("client")) in emails.get(f"user:{owner}:clients", "").split(",")
    if outside(case):
        return is_requester(case, emails.get(str(owner), "")) and not holders_login(case, owner, emails)
    return bool(owner == case["requester"].get("client"))


def requesters_owner(case: dict[str, Any], owner: int, emails: dict[str, str]) -> bool:
    """Whether a whole account's new owner user is the owner user of the requester's account (recorded when the case
    opened, GetClientsDetails `owner_user_id`, DD:api-reference/getclientsdetails.md) and a user of it still, as the
    read found it (`user:ID:clients`), and not the holder's owner: the requester's own person, the hand-over the
    checklist asks for, even when the holder had invited her on its account before (seed 000; twenty-sixth break
    round, ownership MEDIUM 9: taken for the holder's login, the case was stuck)."""
    mine, holders = case["requester"].get("owner_user"), case["holder"].get("owner_user")
    clients = emails.get(f"user:{owner}:clients", "").split(",")
    return bool(mine) and int(mine) == owner != holders and str(case["requester"].get("client")) in clients


def holders_own(case: dict[str, Any], email: str) -> bool:
    """Whether a whole account's owner user, by its address as read now, was one of the holder's own: a user of the
    holder's account when the case opened (`user_emails`, GetClientsDetails `users`,
    DD:api-reference/getclientsdetails.md) or the account's own address. Such a login stays the holder's even when it
    is invited on the requester's account too: "Make Owner" on it hands nothing over (twenty-fourth break round,
    ownership HIGH 1)."""
    holder = case["holder"]
    known = {str(a).strip().casefold() for a in [holder.get("email") or "", *(holder.get("user_emails") or [])]}
    address = email.strip().casefold()
    return bool(address) and address in known


def requesters_own(case: dict[str, Any], email: str) -> bool:
    """Whether a user, by its address as read now, is one of the requester's own people: its profile address or a
    user of its account when the case opened (the holder may have invited them before; they stay at a hand-over)."""
    address = email.strip().casefold()
    return bool(address) and address in addresses(case["requester"])


def holders_login(case: dict[str, Any], client: int, emails: dict[str, str]) -> str:
    """A user of the client (its owner or an invited one, as the read found them: `ID:users`, executor read_owners)
    that was one of the holder's (holders_own), or "": an account with the outside requester's address that the
    holder's own login controls is not the requester's (twenty-sixth break round, ownership HIGH 5)."""
    users = [u for u in emails.get(f"{client}:users", "").split(",") if u]
    return next((u for u in users if holders_own(case, u)), "")


def wrong_client(case: dict[str, Any], client: int, moved: list[str], emails: dict[str, str], rules: Rules) -> Action:
    if outside(case):
        return not_to_requester(case, client, moved, emails, rules)
    return staff_ticket(
        case, rules, f"wrong-client-{client}-{'-'.join(moved)}", "ownership.staff_moved_elsewhere",
        moving=moved, moved_to=client,
    )  # fmt: skip


def outside(case: dict[str, Any]) -> bool:
    """The requester is not a WHMCS client: the client staff move the subjects to must carry its address."""
    return not case["requester"].get("client")


def is_requester(case: dict[str, Any], email: str) -> bool:
    wanted = str(case["requester"].get("email") or "").strip().casefold()
    return bool(wanted) and email.strip().casefold() == wanted


def not_to_requester(
    case: dict[str, Any], client: int, moved: list[str], emails: dict[str, str], rules: Rules
) -> Action:
    """Staff moved an outside requester's subjects to a client with another address, or one a login of the holder's
    account is a user of: nothing is sent to it, the case waits for them to reach the requester's account."""
    return staff_ticket(
        case,
        rules,
        f"not-requester-{client}-{'-'.join(moved)}",
        "ownership.staff_moved_not_to_requester",
        moving=moved,
        moved_to=client,
        moved_to_email=emails[str(client)],
        requester_email=str(case["requester"].get("email") or ""),
        holder_login=holders_login(case, client, emails),
    )
