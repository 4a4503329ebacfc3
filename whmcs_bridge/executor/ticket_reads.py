"""What the executor reads from WHMCS about a ticket for the rules: what it is about (its related service or domain,
the domain names in it, each under its nearest site name) with their owners, and which WHMCS user wrote it."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.whmcs.api import WhmcsApi, not_found
from whmcs_bridge.whmcs.records import Ticket

Params = dict[str, Any]


def resolve_ticket(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The owners of what a ticket names: its linked service or domain (`related`: read from GetTicket `service`,
    DD:api-reference/getticket.md, when the event did not carry it), and the domain names found in it, a host name
    under a site's name (webmail.example.com) being that site."""
    items: dict[tuple[str, int], dict[str, Any]] = {}
    named = {name: named_items(api, [name]) for name in p.get("names", [])}
    for kind, item_id, name, owner in [*linked_item(api, p), *(i for found in named.values() for i in found)]:
        items.setdefault((kind, item_id), {"kind": kind, "id": item_id, "name": name.lower(), "owner": owner})
    out = {
        "ticketid": p["ticket_id"],
        "writer": p.get("writer"),
        "items": list(items.values()),
        "state_key": p.get("state_key"),
        "renew": p.get("renew", False),
    }
    if p.get("unmatched"):  # for a family that asks: the names WHMCS lists for nobody, and what the text asks
        out.update(unmatched=[n for n, found in named.items() if not found], sensitive=bool(p.get("sensitive")))
    return {**out, **who_wrote(api, p), **guest(api, p)} if items else out


def guest(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """For a family that asks (`guest`): who wrote a ticket no client wrote (`writer` 0), by the name and email it
    gave (GetTicket `name`, `email`, DD:api-reference/getticket.md), for staff to name the requester by."""
    if not p.get("guest") or p.get("writer"):
        return {}
    ticket = ticket_or_none(api, int(p["ticket_id"]))
    return {"guest": {"name": ticket.name.strip(), "email": ticket.email.strip()}} if ticket and ticket.email else {}


def linked_item(api: WhmcsApi, p: Params) -> list[tuple[str, int, str, int]]:
    """The service or domain a ticket is linked to (`link`, "service:12" or "domain:3"; or, `related`, the one
    GetTicket names): [(kind, id, name, owner)], empty when none or gone."""
    link = p.get("link")
    if not link and p.get("related"):
        ticket = ticket_or_none(api, int(p["ticket_id"]))
        link = f"{ticket.service_ref[0]}:{ticket.service_ref[1]}" if ticket and ticket.service_ref else None
    kind, _, raw = str(link or "").partition(":")
    if kind == "service" and (service := api.service(int(raw))):
        return [("service", service.id, service.domain, service.client_id)]
    if kind == "domain":
        return [("domain", d.id, d.domainname, d.client_id) for d in api.domains(domain_id=int(raw))]
    return []


def named_items(api: WhmcsApi, names: list[str]) -> list[tuple[str, int, str, int]]:
    """The services and domains of the names a text gives, each under its nearest site name (site_names)."""
    out = []
    for written in names:
        for name in site_names(written):
            found = [("service", s.id, name, s.client_id) for s in api.services(domain=name)]
            found += [("domain", d.id, name, d.client_id) for d in api.domains(domain=name)]
            if found:
                out += found
                break
    return out


def site_names(name: str) -> list[str]:
    """A host name and the names above it down to two labels ("webmail.shop.example.co.id" -> itself,
    "shop.example.co.id", "example.co.id", "co.id"): a site's service or domain is found under the nearest."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]


def ticket_or_none(api: WhmcsApi, ticket_id: int) -> Any:
    """The ticket (GetTicket), or None when WHMCS no longer has it."""
    try:
        return api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        return None


def who_wrote(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """For a family that asks (`who_wrote`): the WHMCS user who wrote the message, and whether the text
    asks for something only the account's owner may have (`sensitive`, decided by the rules)."""
    if not p.get("who_wrote") or not p.get("writer"):
        return {}
    ticket = ticket_or_none(api, int(p["ticket_id"]))
    requestor = ticket_requestor(api, ticket, p.get("reply"), int(p["writer"]))
    # The ticket as its client knows it (GetTicket `tid`, the mask the client area shows), not the database id.
    mask = {"ticketmask": ticket.tid} if ticket is not None and ticket.tid else {}
    return {"requestor": requestor, "sensitive": bool(p.get("sensitive")), **mask}


def ticket_requestor(api: WhmcsApi, ticket: Ticket | None, reply_id: Any, client_id: int) -> dict[str, Any] | None:
    """Which WHMCS user wrote the ticket's message on the client's account, and whether that user is the
    account's owner: GetTicket names the requestor of each message (WHMCS 8.0+, by name and email,
    DD:api-reference/getticket.md); GetUsers gives the user's id, creation date and its link to each client
    with `isOwner` (DD:api-reference/getusers.md). GetTicket's requestor_type values are not listed, so only
    GetUsers' isOwner decides. None when WHMCS does not say (an older WHMCS, a guest, a ticket deleted
    meanwhile: its note's own guard then finds it gone). A message a contact of the client wrote (`contactid`) is
    the contact's, named as GetTicket names its submitter."""
    if ticket is None:
        return None
    message = next((r for r in ticket.replies if reply_id and r.id == int(reply_id)), None)
    if message is None and not reply_id and ticket.replies:
        message = ticket.replies[0]
    email = (message.requestor_email if message else ticket.requestor_email).strip()
    name = (message.requestor_name if message else ticket.requestor_name).strip()
    if not email:
        return None
    contact = message.contact_id if message else 0  # (a Ticket record has no contact: its opening message has)
    if contact:  # a contact of the client opened it (GetTicket `contactid`): never its owner, nor one of its users
        company = bool(api.client_details(client_id).companyname)
        return {"name": name, "email": email, "user": None, "owner": False, "contact": contact, "company": company}
    user, link = user_link(api, email, client_id)
    return {
        "name": name,
        "email": email,
        "user": user.id if user else None,
        "owner": link.is_owner if link else None,
        "since": user.datecreated.isoformat() if user and user.datecreated else None,
        "company": bool(api.client_details(client_id).companyname) if link and not link.is_owner else None,
    }


def user_link(api: WhmcsApi, email: str, client_id: int) -> tuple[Any, Any]:
    """The WHMCS user with this address and its link to the client (with `is_owner`), by GetUsers
    (DD:api-reference/getusers.md); Nones when WHMCS has no such user or no such link."""
    user = next((u for u in api.users(search=email) if u.email.lower() == email.lower()), None)
    link = next((c for c in user.clients if c.client_id == client_id), None) if user else None
    return user, link


def user_links(api: WhmcsApi, email: str, client_ids: list[int]) -> dict[int, bool]:
    """Which of these clients the WHMCS user with this address is a user of, and whether its owner (`isOwner`),
    by one GetUsers (DD:api-reference/getusers.md); empty when WHMCS has no such user."""
    user = next((u for u in api.users(search=email) if u.email.lower() == email.lower()), None)
    wanted = set(client_ids)
    return {c.client_id: bool(c.is_owner) for c in user.clients if c.client_id in wanted} if user else {}
