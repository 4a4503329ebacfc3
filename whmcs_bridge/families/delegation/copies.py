"""Contact delegation's email copies and support authority (pure): which email a delegate gets a copy
of, and the staff-only note a ticket gets (owner, verified delegate, or a warning)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import FAMILY, notice, record, rights
from whmcs_bridge.model import Action, Decision, Event, action_key, as_int
from whmcs_bridge.names import ask_owners, domain_names
from whmcs_bridge.whmcs.templates import EmailIdentity, identify

COPY_MARK = "whmcs-bridge delegated copy"
OWN_EMAIL = "<!-- [wb-"  # every email the bridge sends carries its action key (executor: Call.marked)
RENEW_KEYWORD = re.compile(r"\[renew\]", re.IGNORECASE)


def ticket_key(data: dict[str, Any]) -> str:
    return f"ticket:{as_int(data.get('ticketid'))}:{as_int(data.get('replyid')) or 0}"


# --- email copies ---------------------------------------------------------------------------------


def concerns(grant: dict[str, Any], email: EmailIdentity, subject: str, message: str) -> str | None:
    """The granted item an email is about, or the whole client. A product or domain template names its
    service or domain by the related id: only a grant on that very service or domain matches (a hosting
    and a domain of the same name are two things). Other types name an invoice, a ticket or the client,
    not an item: a grant on items falls back to the domain names the email mentions (issue 16 settles it)."""
    items = grant.get("items") or []
    if any(i["kind"] == "client" for i in items):
        return f"client #{grant['owner']}"
    if email.record in ("service", "domain"):
        item = next((i for i in items if i["kind"] == email.record and i["id"] == email.record_id), None)
        return None if item is None else str(item.get("name") or f"{item['kind']} #{item['id']}")
    text = f"{subject} {message}".lower()
    for item in items:
        if item.get("name") and item["name"] in text:
            return str(item["name"])
    return None


def email_fingerprint(data: dict[str, Any], email: EmailIdentity, subject: str, message: str) -> str:
    """What tells one email from another: its client, second, template, related id, subject and text.
    The same email reported twice yields the same fingerprint, so one copy; two emails of one template
    in one second about services 110 and 111, or two replies on one ticket, are two. WHMCS's email id is
    left out: the hook's EmailPreLog never has it (the email is not logged yet; the sandbox's event
    has), so one email reported with it and without it would be copied twice."""
    parts = [as_int(data.get("userid")), str(data.get("date") or ""), email.template, email.record_id, subject]
    digest = hashlib.sha256(json.dumps(parts).encode())
    digest.update(message.encode())
    return digest.hexdigest()[:16]


def copies(
    grant: dict[str, Any], data: dict[str, Any], event: Event, now: datetime, rules: DelegationSection
) -> list[Action]:
    """A delegate's copy (or notice) of an email WHMCS sent the owner. What the email is comes from its
    template name and related id, never its words; an email whose template is unknown (a custom message,
    an event from a hook older than version 2, a template name the configuration does not list) is
    not copied at all: it may carry credentials nobody can tell apart."""
    subject, message = str(data.get("subject") or ""), str(data.get("message") or "")
    if COPY_MARK in subject + message or OWN_EMAIL in message:
        return []  # a copy is never copied, and neither is anything the bridge itself sent (consent links!)
    if grant.get("expires") and datetime.fromisoformat(grant["expires"]) <= now:
        return []
    email = identify(data.get("messagename"), data.get("relid"), data.get("userid"), rules.email_templates)
    if email is None or email.secret == "takeover":
        return []  # unknown, or what hands over the account or a domain: never, not even as a notice
    about = concerns(grant, email, subject, message)
    if about is None:
        return []
    allowed = rights(grant, rules)
    welcome = email.secret == "service-access"
    if welcome and allowed.welcome_email == "none":
        return []
    if not welcome and email.type not in allowed.copy_emails:
        return []
    fingerprint = email_fingerprint(data, email, subject, message)
    owner = grant.get("owner_name") or f"client #{grant['owner']}"
    header = f"<p><em>{COPY_MARK}: sent to {owner} about {about}; you receive it as {grant['role']} contact (grant #{grant['id']}).</em></p><hr>"
    if welcome and allowed.welcome_email == "notice":
        body = f"{header}<p>{owner} has received the access details for {about}. Ask them for what you need, or contact us to change the password.</p>"
    else:
        body = header + message
    params = notice(grant["delegate"], f"[Copy] {subject}", body)
    record(grant, now.isoformat(timespec="seconds"), f'received a copy of "{subject}" (about {about})')
    # Keyed per delegate, not per grant: two grants to one delegate give one copy.
    key = action_key(FAMILY, f"delegate:{grant['delegate']}", f"copy:{fingerprint}")
    return [
        Action(
            key=key,
            family=FAMILY,
            kind="email",
            params=params,
            client_id=grant["delegate"],
            subject=f"grant:{grant['id']}",
        )
    ]


# --- support authority ------------------------------------------------------------------------------


def ticket_opened(data: dict[str, Any], now: datetime) -> Decision:
    """Ask WHMCS who owns what the ticket names; the note comes with the answer (TicketResolved)."""
    link = data.get("service")
    names = domain_names(str(data.get("subject") or ""), str(data.get("message") or ""))
    if not link and not names:
        return Decision(state=None)  # names nothing: a general question
    return ask_owners(
        FAMILY,
        ticket_key(data),
        data,
        names,
        now,
        link=link,
        # A delegate may ask for a renewal by writing [renew] in a ticket about the service.
        renew=bool(RENEW_KEYWORD.search(f"{data.get('subject') or ''} {data.get('message') or ''}")),
    )


def ticket_note(
    grants: list[dict[str, Any]], data: dict[str, Any], now: datetime, rules: DelegationSection
) -> list[Action]:
    """The staff-only note on a ticket: for each item it names, written by its owner, by a verified
    delegate, or a warning that the writer has no grant on it."""
    writer = as_int(data.get("writer"))
    ticket = as_int(data.get("ticketid"))
    lines: list[str] = []
    warn = False
    for item in data.get("items") or []:
        label = f"{item_name(item)} ({item['kind']} #{item['id']}, owner client #{item['owner']})"
        if item["owner"] == writer:
            lines.append(f"- {label}: written by its owner.")
            continue
        match = verifying_grant(grants, writer, item, rules)
        if match:
            lines.append(f"- {label}: {verified(match, item, ticket, now, rules)}")
        else:
            warn = True
            lines.append(
                f"- {label}: WARNING: client #{writer} has NO grant on this. Do not disclose details or act on it without the owner's confirmation."
            )
    if not lines:
        return []
    if data.get("renew") and not warn:
        lines.append("- [renew] asked: if the writer may renew, the renewal starts now (invoiced to the writer).")
    return [note_action(data, writer, ticket, lines, warn)]


def item_name(item: dict[str, Any]) -> str:
    return str(item["name"] or item["kind"] + " #" + str(item["id"]))


def verifying_grant(
    grants: list[dict[str, Any]], writer: int | None, item: dict[str, Any], rules: DelegationSection
) -> dict[str, Any] | None:
    """The writer's active grant with support authority over the item (by kind and id, or name, or the whole client)."""
    return next(
        (
            g
            for g in grants
            if g.get("status") == "active"
            and g["delegate"] == writer
            and g["owner"] == item["owner"]
            and rights(g, rules).support_authority
            and any(
                i["kind"] == "client"
                or (i["kind"] == item["kind"] and i["id"] == item["id"])
                or (i.get("name") and i["name"] == item["name"])
                for i in g.get("items", [])
            )
        ),
        None,
    )


def verified(
    grant: dict[str, Any], item: dict[str, Any], ticket: int | None, now: datetime, rules: DelegationSection
) -> str:
    """The grant remembers the ticket (and the item, for a renewal) and records the contact; the
    note says who the writer is and what it may do."""
    grant["verified_ticket"] = ticket
    if item["kind"] == "service" or "verified_ticket_item" not in grant:  # a service is what renews
        grant["verified_ticket_item"] = {"kind": item["kind"], "id": item["id"]}
    record(
        grant,
        now.isoformat(timespec="seconds"),
        f"wrote to support about {item_name(item)} (ticket #{ticket}) and was answered as your contact",
    )
    allowed = rights(grant, rules)
    can = ", ".join(
        r
        for r, ok in (
            ("renew", allowed.renew),
            ("order for the owner", allowed.order_for_owner),
            ("copies: " + "/".join(allowed.copy_emails), bool(allowed.copy_emails)),
        )
        if ok
    )
    return f"VERIFIED {grant['role']} contact of client #{grant['owner']} (grant #{grant['id']}, since {grant['since'][:10]}, by {grant['by']}; rights: support{', ' + can if can else ''})."


def note_action(data: dict[str, Any], writer: int | None, ticket: int | None, lines: list[str], warn: bool) -> Action:
    title = (
        "whmcs-bridge: ticket writer is NOT authorised for something it names"
        if warn
        else "whmcs-bridge: ticket writer checked"
    )
    message = f"{title}\n" + "\n".join(lines)
    key = str(data.get("state_key"))
    return Action(
        key=action_key(FAMILY, key, "note"),
        family=FAMILY,
        kind="ticket_note",
        params={"ticket_id": ticket, "message": message},
        client_id=writer,
        subject=key,
        guard={"ticket_exists": ticket},
    )
