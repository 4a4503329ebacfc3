"""What the executor reads from WHMCS about who holds what, for ownership cases: the client owning each service or
domain now, a whole account's owner user and what it holds, a subject gone from WHMCS, and a domain's registrant
against the new holder (split from reads.py, which reads invoices and accounts)."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.whmcs import whois
from whmcs_bridge.whmcs.api import WhmcsApi

Params = dict[str, Any]


def read_owners(api: WhmcsApi, subjects: list[dict[str, Any]]) -> dict[str, int | None]:
    """The client that owns each subject now ("service:12" -> client id; None when it is gone)."""
    owners: dict[str, int | None] = {}
    for subject in subjects:
        kind, item_id = subject["kind"], int(subject["id"])
        if kind == "service":
            service = api.service(item_id)
            owners[f"service:{item_id}"] = service.client_id if service else None
        elif kind == "domain":
            domain = next(api.domains(domain_id=item_id), None)
            owners[f"domain:{item_id}"] = domain.client_id if domain else None
        else:  # a whole account: its owner user is the one WHMCS's "Make Owner" changes
            owners[f"client:{item_id}"] = owner_user(api, item_id)
    return owners


def subject_gone(api: WhmcsApi, subject: dict[str, Any], gone: list[str] | tuple[str, ...]) -> tuple[str, str] | None:
    """Why a service or domain is no longer there to hand over: (in words, "domain #20 example.com is
    Transferred Away in WHMCS"; WHMCS's status, "" when it is not in WHMCS at all), or None when it is there."""
    kind, item_id = subject["kind"], int(subject["id"])
    found: Any = next(api.domains(domain_id=item_id), None) if kind == "domain" else api.service(item_id)
    name = f"{kind} #{item_id}" + (f" {subject['name']}" if subject.get("name") else "")
    if found is None:
        return f"{name} is no longer in WHMCS", ""
    if found.status in gone:
        return f"{name} is {found.status} in WHMCS", str(found.status)
    return None


def user_facts(api: WhmcsApi, client_id: int, user_id: int) -> dict[str, str]:
    """Who a whole account's owner user is, for the rules to tell the new holder from anyone else: its email
    (`user:ID`, from the account's users, GetClientsDetails `users`) and the accounts it is a user of
    (`user:ID:clients`, GetUsers `clients`, DD:api-reference/getusers.md), comma-separated (twenty-third break
    round, ownership HIGH 2: any owner but the holder's was taken for the requester)."""
    email = next((u.email for u in api.client_details(client_id).users if u.id == user_id), "")
    user = next((u for u in api.users(search=email) if u.id == user_id), None) if email else None
    clients = ",".join(str(c.client_id) for c in user.clients) if user else ""
    return {f"user:{user_id}": email, f"user:{user_id}:clients": clients}


def account_holds(api: WhmcsApi, client_id: int) -> list[str]:
    """What a whole account holds now, as refs ("service:12", "domain:20"): its services and its domains
    (GetClientsProducts, GetClientsDomains by client)."""
    services = [f"service:{s.id}" for s in api.services(client_id=client_id)]
    return services + [f"domain:{d.id}" for d in api.domains(client_id=client_id)]


def account_users(api: WhmcsApi, client_id: int) -> dict[str, str]:
    """Who may act for a whole account now: each of its users' id and email (GetClientsDetails `users`,
    DD:api-reference/getclientsdetails.md), the owner among them."""
    return {str(u.id): u.email for u in api.client_details(client_id).users}


def owner_user(api: WhmcsApi, client_id: int) -> int | None:
    """The client's owner user now: of its users, the one WHMCS marks `is_owner` (GetClientsDetails `users`,
    DD:api-reference/getclientsdetails.md); the others are users invited on the account."""
    return next((u.id for u in api.client_details(client_id).users if u.is_owner), None)


def holder_now(api: WhmcsApi, params: Params) -> dict[str, str]:
    """A registrant update's new holder, by detail: read from its WHMCS profile now when it is a client
    (`holder_client`), else as the case recorded them (`holder`; rows planned before it carried `expect` in
    registrar spelling)."""
    client_id = params.get("holder_client")
    if client_id:
        profile = api.client_details(int(client_id))
        party = {
            "name": f"{profile.firstname} {profile.lastname}".strip(),
            "company": profile.companyname,
            "email": profile.email,
            **profile.postal,
        }
        return whois.holder_details(party)
    details = params.get("holder") or params["expect"]
    return {str(k): str(v) for k, v in details.items()}


def holders_address(email: str, marks: dict[str, Any] | None) -> str:
    """Why an address read at execution is the case's old holder's (`marks`, ownership shared.holders_marks: its
    recorded addresses and its own mail domains), in words ("" when it is not): mail to it reaches the holder."""
    address = str(email or "").strip().casefold()
    if not address or not marks:
        return ""
    if address in marks.get("addresses", []):
        return "an address the case recorded for the holder"
    domain = address.rpartition("@")[2]
    return f"on the holder's mail domain {domain}" if domain in marks.get("domains", []) else ""


def registrant_now(api: WhmcsApi, params: Params) -> tuple[dict[str, str], bool]:
    """A domain's contact block as DomainGetWhoisInfo reads it now (`contact_type`, the Registrant unless
    said), and whether it shows the new holder: putting the holder in place would change nothing."""
    current, differs = registrant_differences(api, params)
    return current, bool(current) and not differs


def registrant_differences(api: WhmcsApi, params: Params) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The contact block as read now and its fields that do not show the new holder (whois.differences)."""
    current = api.whois(int(params["domain_id"])).contacts.get(params.get("contact_type", "Registrant"), {})
    return current, whois.differences(current, holder_now(api, params))
