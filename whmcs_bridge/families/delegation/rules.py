"""Contact delegation (SPEC §4.1): per-service technical and administrative contacts, as a pure decide_all().

State keys:
- `grant:ID`: one grant: a delegate client acting on an owner's services, domains or whole account,
  with a role, who granted it and on what basis, its status (active, revoked, expired), expiry and
  history. Indexed by owner, delegate, service and domain, so the events that concern it reach it.
- `ticket:ID:REPLY`: a ticket message waiting for its resolution (who owns what it names).

Events: DelegationCommand (grant, revoke, from the CLI), ClientContext (names of the owner's
services and domains), EmailPreLog (copies to delegates), TicketOpen/TicketUserReply then
TicketResolved (a staff-only note: owner, verified delegate, or a warning), Tick (expiry).
A copy is never copied again, and nothing is ever sent to a writer who has no grant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.copies import COPY_MARK, copies, ticket_key, ticket_note, ticket_opened
from whmcs_bridge.families.delegation.grants import DIGEST, FAMILY, act, describe, grant_refs, notice, rights
from whmcs_bridge.families.delegation.renewal import renew, renewal_payment, renewal_step
from whmcs_bridge.model import Action, Decision, Event, State, action_key, as_int


class Delegation:
    name = FAMILY
    tracks_client_services = False

    def __init__(self, rules: DelegationSection) -> None:
        self.rules = rules

    def route(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type == "DelegationCommand" and data.get("grant"):
            return [f"grant:{data['grant']}"]
        if event.type in ("TicketOpen", "TicketUserReply") and as_int(data.get("ticketid")):
            return [ticket_key(data)]
        if event.type == "TicketResolved" and data.get("requested_by") == FAMILY and data.get("state_key"):
            return [str(data["state_key"])]
        if (
            event.type in ("OpenInvoiceFound", "RenewalInvoiceCreated")
            and data.get("requested_by") == FAMILY
            and data.get("grant")
        ):
            return [f"grant:{data['grant']}"]
        return []

    def refs(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type == "DelegationCommand":
            return ["digest-timer"]
        if event.type == "Tick" and data.get("key") == DIGEST:
            return ["all-grants"]
        if event.type == "EmailPreLog" and COPY_MARK not in f"{data.get('subject', '')}{data.get('message', '')}":
            owner = as_int(data.get("userid"))
            return [f"owner:{owner}"] if owner else []
        if event.type == "ClientContext" and data.get("requested_by") == FAMILY:
            return [f"owner:{as_int(data.get('userid'))}", f"delegate:{as_int(data.get('userid'))}"]
        if event.type == "OrderPlaced" and as_int(data.get("userid")):
            return [f"owner:{as_int(data.get('userid'))}", f"user:{as_int(data.get('requestor_id'))}"]
        if event.type in ("InvoicePaid", "InvoiceCancelled", "InvoiceRefunded") and as_int(data.get("invoiceid")):
            return [f"invoice:{as_int(data.get('invoiceid'))}"]
        if event.type == "OwnershipChanged":
            refs = [f"{s['kind']}:{s['id']}" for s in data.get("subjects") or []]
            return refs + [f"owner:{as_int(data.get('holder'))}"]
        if event.type == "TicketResolved" and data.get("requested_by") == FAMILY:
            refs = [f"delegate:{as_int(data.get('writer'))}"]
            for item in data.get("items") or []:
                refs.append(f"{item['kind']}:{item['id']}")
                refs.append(f"domain:{item['name']}")
            return refs
        return []

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        return decide_all(states, event, now, self.rules)


def decide_all(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """Pure: decisions for the grants and tickets an event concerns (only keys that change)."""
    if event.type == "Tick" and event.data.get("key") == DIGEST:
        return digest(grant_copies(states), states.get(DIGEST) or {}, now, rules)
    handler = EVENTS.get(event.type)
    return handler(states, event, now, rules) if handler else {}


def grant_copies(states: Mapping[str, State]) -> dict[str, dict[str, Any]]:
    """Copies of the grants among the states (never change the caller's states)."""
    return {k: json.loads(json.dumps(v)) for k, v in states.items() if k.startswith("grant:") and v}


def on_command(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    data = event.data
    key = f"grant:{data['grant']}"
    out = {key: command(json.loads(json.dumps(states.get(key) or {})), data, now, rules)}
    if rules.digest_every and DIGEST not in states:  # the first grant starts the digest clock
        out[DIGEST] = Decision(
            state={"last": now.isoformat(timespec="seconds")},
            due_at=now + rules.digest_every,
            refs=["digest-timer"],
        )
    return out


def on_tick(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    return {k: expire(g, now, rules) for k, g in grant_copies(states).items()}


def on_context(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    named = {k: with_names(g, event.data) for k, g in grant_copies(states).items()}
    return {k: Decision(state=g, actions=ask_consent(g, rules), refs=grant_refs(g)) for k, g in named.items()}


def on_order(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    return ordered(grant_copies(states), event.data, now, rules)


def on_email(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    return {
        k: Decision(state=g, actions=copies(g, event.data, event, now, rules))
        for k, g in grant_copies(states).items()
        if g.get("status") == "active"
    }


def on_ticket(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    return {ticket_key(event.data): ticket_opened(event.data, now)}


def on_ticket_resolved(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """The ticket gets its note; the grants it verified remember it for the owner's digest, and a
    delegate's [renew] starts the renewal of the service it names."""
    data = event.data
    grants = grant_copies(states)
    out = {
        str(data.get("state_key")): Decision(state=None, actions=ticket_note(list(grants.values()), data, now, rules))
    }
    for key, grant in grants.items():
        if grant.get("verified_ticket") == as_int(data.get("ticketid")):
            out[key] = verified_on_ticket(grant, data, now, rules)
    return out


def verified_on_ticket(
    grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection
) -> Decision:
    item = grant.pop("verified_ticket_item", None)
    grant.pop("verified_ticket")
    if data.get("renew") and rights(grant, rules).renew and item and item["kind"] == "service":
        return renew(grant, {"service": item["id"], "by": f"delegate, ticket #{data.get('ticketid')}"}, now, rules)
    return Decision(state=grant)


def on_renewal_invoice(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    grants = grant_copies(states)
    key = f"grant:{event.data['grant']}"
    return {key: renewal_step(grants[key], event.type, event.data, now)} if key in grants else {}


def on_invoice_settled(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    return {
        k: d
        for k, g in grant_copies(states).items()
        if (d := renewal_payment(g, event.type, event.data, now)) is not None
    }


def on_ownership_changed(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    return {
        k: ownership_changed(g, event.data, now, rules)
        for k, g in grant_copies(states).items()
        if covers(g, event.data)
    }


EventHandler = Callable[[Mapping[str, State], Event, datetime, DelegationSection], dict[str, Decision]]

# What each event does (the digest's own Tick is told apart by its key first); others change nothing.
EVENTS: dict[str, EventHandler] = {
    "DelegationCommand": on_command,
    "Tick": on_tick,
    "ClientContext": on_context,
    "OrderPlaced": on_order,
    "EmailPreLog": on_email,
    "TicketOpen": on_ticket,
    "TicketUserReply": on_ticket,
    "TicketResolved": on_ticket_resolved,
    "OpenInvoiceFound": on_renewal_invoice,
    "RenewalInvoiceCreated": on_renewal_invoice,
    "InvoicePaid": on_invoice_settled,
    "InvoiceCancelled": on_invoice_settled,
    "InvoiceRefunded": on_invoice_settled,
    "OwnershipChanged": on_ownership_changed,
}


def covers(grant: dict[str, Any], data: dict[str, Any]) -> bool:
    """Does an ownership change (its subjects, from its holder) touch this grant?"""
    if grant.get("status") != "active" or grant["owner"] != as_int(data.get("holder")):
        return False
    moved = {(s["kind"], int(s["id"])) for s in data.get("subjects") or []}
    names = {str(s.get("name") or "").lower() for s in data.get("subjects") or []} - {""}
    for item in grant.get("items", []):
        if item["kind"] == "client" or (item["kind"], item["id"]) in moved or (item.get("name") or "") in names:
            return True
    return False


def ownership_changed(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """The subjects changed holder (an ownership case executed): the old holder's grants on them end."""
    return end(grant, "revoked", now, rules, by=f"ownership case {data.get('case')}", reason="the holder changed")


# --- grants ---------------------------------------------------------------------------------------


def command(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    what = data.get("command")
    if what in ("grant", "request"):
        if grant:
            return Decision(state=grant)  # the same command twice
        grant = create(data, now, rules)
        if what == "grant":
            return activated(grant)
        return requested(grant, now, rules)
    if not grant:
        raise ValueError(f"there is no grant {data.get('grant')}")
    if what == "consent":
        return consented(grant, data, now)
    if what == "revoke":
        return end(grant, "revoked", now, rules, by=data.get("by") or "staff", reason=data.get("reason") or "")
    if what == "renew":
        return renew(grant, data, now, rules)
    return Decision(state=grant)


def create(data: dict[str, Any], now: datetime, rules: DelegationSection) -> dict[str, Any]:
    expires = data.get("expires")
    if not expires and rules.default_expiry:
        expires = (now + rules.default_expiry).isoformat(timespec="seconds")
    grant = {
        "id": data["grant"],
        "owner": int(data["owner"]),
        "delegate": int(data["delegate"]),
        "role": data.get("role", "technical"),
        "items": [
            {"kind": i["kind"], "id": int(i["id"]), "name": (i.get("name") or "").lower() or None}
            for i in data.get("items", [])
        ],
        "by": data.get("by", "staff"),
        "basis": data.get("basis") or "staff decision",
        "status": "active",
        "since": now.isoformat(timespec="seconds"),
        "expires": expires,
        "history": [
            {
                "at": now.isoformat(timespec="seconds"),
                "what": "granted",
                "by": data.get("by"),
                "basis": data.get("basis"),
            }
        ],
    }
    if data.get("command") == "request":
        grant["status"] = "pending"
        grant["history"][0]["what"] = "requested"
    return grant


def activated(grant: dict[str, Any]) -> Decision:
    """An active grant is announced to both sides and mirrored as a note on both accounts."""
    what_for = describe(grant)
    actions = [
        act(grant, "refresh_client", "names", {"client_id": grant["owner"]}, grant["owner"]),
        # The delegate's users: who may order for the owner, and who to recognise at checkout.
        act(grant, "refresh_client", "delegate-users", {"client_id": grant["delegate"]}, grant["delegate"]),
        act(
            grant,
            "client_note",
            "note-owner",
            {
                "text": f"Delegation #{grant['id']}: client #{grant['delegate']} is {grant['role']} contact for {what_for} (by {grant['by']}: {grant['basis']})."
            },
            grant["owner"],
        ),
        act(
            grant,
            "client_note",
            "note-delegate",
            {"text": f"Delegation #{grant['id']}: {grant['role']} contact of client #{grant['owner']} for {what_for}."},
            grant["delegate"],
        ),
        act(
            grant,
            "email",
            "told-owner",
            notice(
                grant["owner"],
                f"Client #{grant['delegate']} is now {grant['role']} contact for {what_for}",
                f"<p>Client #{grant['delegate']} can now act on {what_for} as your {grant['role']} contact (grant #{grant['id']}). You can revoke this at any time by contacting us.</p>",
            ),
            grant["owner"],
        ),
        act(
            grant,
            "email",
            "told-delegate",
            notice(
                grant["delegate"],
                f"You are now {grant['role']} contact for {what_for}",
                f"<p>You can now act on {what_for} for client #{grant['owner']} (grant #{grant['id']}).</p>",
            ),
            grant["delegate"],
        ),
    ]
    expires = grant.get("expires")
    return Decision(
        state=grant,
        actions=actions,
        due_at=datetime.fromisoformat(expires) if expires else None,
        refs=grant_refs(grant),
    )


def requested(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """A delegate's request waits for the owner: first read the names of what it covers, then (on
    the owner's context) send the one-time consent link."""
    what_for = describe(grant)
    actions = [
        act(grant, "refresh_client", "names", {"client_id": grant["owner"]}, grant["owner"]),
        act(
            grant,
            "email",
            "request-sent",
            notice(
                grant["delegate"],
                f"Your request for {what_for} was sent to the owner",
                "<p>The owner will receive a link to accept or decline. You will hear from us.</p>",
            ),
            grant["delegate"],
        ),
        act(
            grant,
            "client_note",
            "request-note",
            {
                "text": f"Delegation request #{grant['id']}: client #{grant['delegate']} asks to be {grant['role']} contact for {what_for}; owner consent link sent."
            },
            grant["owner"],
        ),
    ]
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def ask_consent(grant: dict[str, Any], rules: DelegationSection) -> list[Action]:
    """The owner's email with the one-time link (the executor mints the link when it sends it)."""
    if grant.get("status") != "pending" or grant.get("consent_sent"):
        return []
    grant["consent_sent"] = True
    what_for = describe(grant)
    summary = (
        f"{grant.get('delegate_name') or 'Client #' + str(grant['delegate'])} asks to become {grant['role']} contact for {what_for} "
        f"of your account (client #{grant['owner']}): it would receive copies of the related emails and could speak for them to "
        f"our support. Reason given: {grant['basis']}."
    )
    html_body = f'<p>{summary}</p><p>Accept or decline here (the link works once): <a href="{{consent_link}}">{{consent_link}}</a></p><p>If you did not expect this, decline.</p>'
    consent = {
        "purpose": "delegation",
        "subject": grant["id"],
        "summary": summary,
        "ttl_s": int(rules.consent_link_ttl.total_seconds()),
    }
    params = {
        **notice(
            grant["owner"], f"Your consent is needed: client #{grant['delegate']} asks to act on {what_for}", html_body
        ),
        "consent": consent,
    }
    return [act(grant, "email", "consent-asked", params, grant["owner"])]


def password_change(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The owner confirmed: change the password of each service the grant covered, once, and send the
    owner WHMCS's welcome email with the new details (the executor makes the password; it is never stored)."""
    if data.get("decision") != "accept" or grant.get("password_changed"):
        return Decision(state=grant)
    grant["password_changed"] = now.isoformat(timespec="seconds")
    grant["history"].append(
        {
            "at": grant["password_changed"],
            "what": "owner asked for a password change",
            "by": "owner (consent link)",
            "ip": data.get("ip"),
        }
    )
    actions = [
        act(
            grant,
            "credential_change",
            f"password:{item['id']}",
            {"service_id": item["id"], "notify_template": "Hosting Account Welcome Email"},
            grant["owner"],
        )
        for item in grant.get("items", [])
        if item["kind"] == "service"
    ]
    return Decision(state=grant, actions=actions)


def consented(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    if data.get("purpose") == "password-change":
        return password_change(grant, data, now)
    if grant.get("status") != "pending":
        return Decision(state=grant)  # answered already
    at = now.isoformat(timespec="seconds")
    decision = data.get("decision")
    grant["history"].append(
        {
            "at": at,
            "what": f"owner {decision}ed" if decision == "accept" else "owner declined",
            "by": "owner (consent link)",
            "reason": data.get("reason"),
            "ip": data.get("ip"),
        }
    )
    if decision == "accept":
        grant["status"] = "active"
        grant["since"] = at
        return activated(grant)
    grant["status"] = "declined"
    grant["ended"] = at
    told = act(
        grant,
        "email",
        "declined-told-delegate",
        notice(
            grant["delegate"],
            f"Your request for {describe(grant)} was declined",
            "<p>The owner declined your request.</p>",
        ),
        grant["delegate"],
    )
    return Decision(state=grant, actions=[told], refs=grant_refs(grant))


def ordered(
    grants: dict[str, dict[str, Any]], data: dict[str, Any], now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """An administrative contact's user ordered in the owner's name: the delegate becomes technical
    contact of what was ordered, automatically (and both sides are told)."""
    requestor = as_int(data.get("requestor_id"))
    owner = as_int(data.get("userid"))
    items = ordered_items(data)
    out: dict[str, Decision] = {}
    for admin in grants.values():
        if not items or not orders_for_owner(admin, owner, requestor, rules):
            continue
        grant_id = f"o{as_int(data.get('orderid'))}-{admin['delegate']}"
        command_data = {
            "command": "grant",
            "grant": grant_id,
            "owner": owner,
            "delegate": admin["delegate"],
            "role": "technical",
            "items": items,
            "by": "bridge",
            "basis": f"order #{data.get('orderid')} placed by user #{requestor} of client #{admin['delegate']}, administrative contact (grant #{admin['id']})",
        }
        key = f"grant:{grant_id}"
        out[key] = command(
            json.loads(json.dumps(grants.get(key) or {})), command_data, now, rules
        )  # seen again: unchanged
    if not out:
        out.update(agency_became_owner(grants, data, requestor, owner))
    return out


def ordered_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The services and domains an order created."""
    return [
        {
            "kind": "service" if line.get("type") == "product" else "domain",
            "id": int(line["relid"]),
            "name": line.get("domain"),
        }
        for line in data.get("lines") or []
        if line.get("type") in ("product", "domain") and line.get("relid")
    ]


def orders_for_owner(admin: dict[str, Any], owner: int | None, requestor: int | None, rules: DelegationSection) -> bool:
    """Is the order's requestor a user of an active administrative contact of the owner that may order for it?"""
    return (
        admin.get("status") == "active"
        and admin["role"] == "administrative"
        and admin["owner"] == owner
        and rights(admin, rules).order_for_owner
        and requestor is not None
        and requestor in admin.get("delegate_users", [])
    )


def agency_became_owner(
    grants: dict[str, dict[str, Any]], data: dict[str, Any], requestor: int | None, owner: int | None
) -> dict[str, Decision]:
    """A delegate's user ordered for a client the delegate has no grant on. In WHMCS 8 whoever creates
    an account at checkout becomes its owner: the agency may now own its end client's account. Flag it
    for staff with the steps to make the end client the owner."""
    if requestor is None or owner is None:
        return {}
    for key, grant in grants.items():
        if requestor not in grant.get("delegate_users", []) or grant["delegate"] == owner:
            continue
        if any(
            g["owner"] == owner and g["delegate"] == grant["delegate"] and g.get("status") == "active"
            for g in grants.values()
        ):
            continue
        delegate = grant["delegate"]
        text = (
            f"STAFF CHECK: order #{data.get('orderid')} for client #{owner} was placed by user #{requestor}, a user of client "
            f"#{delegate} (who acts for other clients through grants). WHMCS makes whoever creates an account at checkout its "
            f"owner: if user #{requestor} now owns client #{owner}, make the end client the owner: Clients > #{owner} > Users > "
            f"invite the end client, then Manage User > Make Owner; then, if agreed, give the agency a technical grant: "
            f'whmcs-bridge delegations grant --owner {owner} --delegate {delegate} --whole-client --by STAFF --basis "...".'
        )
        flag = act(
            grant,
            "client_note",
            f"order:{data.get('orderid')}:owner-check",
            {"client_id": owner, "text": text, "sticky": True},
            owner,
        )
        return {key: Decision(state=grant, actions=[flag])}
    return {}


def digest(
    grants: dict[str, dict[str, Any]], timer: dict[str, Any], now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """One email per owner listing what each delegate did since the last digest; then start over."""
    out: dict[str, Decision] = {}
    by_owner: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for key, grant in grants.items():
        if grant.get("activity"):
            by_owner.setdefault(grant["owner"], []).append((key, grant))
    actions: list[Action] = []
    period = timer.get("last", "")[:10]
    for owner, items in sorted(by_owner.items()):
        sections = []
        for key, grant in items:
            who = grant.get("delegate_name") or f"client #{grant['delegate']}"
            lines = "".join(f"<li>{e['at'][:10]}: {e['what']}</li>" for e in grant["activity"])
            sections.append(
                f"<h3>{who}, {grant['role']} contact for {describe(grant)} (grant #{grant['id']}, {grant['status']})</h3><ul>{lines}</ul>"
            )
            grant["activity"] = []
            out[key] = Decision(state=grant, refs=grant_refs(grant))
        html_body = f"<p>Since {period}, your contacts acted on your behalf as follows.</p>{''.join(sections)}<p>To end a contact's access, reply to this email.</p>"
        digest_key = action_key(FAMILY, f"owner:{owner}", f"digest:{now.date().isoformat()}")
        actions.append(
            Action(
                key=digest_key,
                family=FAMILY,
                kind="email",
                params=notice(owner, "What your contacts did on your behalf", html_body),
                client_id=owner,
                subject=f"owner:{owner}",
            )
        )
    every = rules.digest_every
    out[DIGEST] = Decision(
        state={"last": now.isoformat(timespec="seconds")},
        actions=actions,
        due_at=now + every if every else None,
        refs=["digest-timer"],
    )
    return out


def expire(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    if grant.get("status") == "active" and grant.get("expires") and datetime.fromisoformat(grant["expires"]) <= now:
        return end(grant, "expired", now, rules, by="bridge", reason="the grant reached its expiry date")
    return Decision(state=grant)


def end(
    grant: dict[str, Any], status: str, now: datetime, rules: DelegationSection, *, by: str, reason: str
) -> Decision:
    if grant.get("status") != "active":
        return Decision(state=grant)
    grant["status"] = status
    grant["ended"] = now.isoformat(timespec="seconds")
    grant["history"].append({"at": grant["ended"], "what": status, "by": by, "reason": reason})
    what_for = describe(grant)
    actions = [
        act(
            grant,
            "client_note",
            f"{status}-note-owner",
            {
                "text": f"Delegation #{grant['id']} {status} ({by}: {reason}): client #{grant['delegate']} no longer acts on {what_for}."
            },
            grant["owner"],
        ),
        act(
            grant,
            "client_note",
            f"{status}-note-delegate",
            {
                "text": f"Delegation #{grant['id']} {status}: no longer {grant['role']} contact of client #{grant['owner']}."
            },
            grant["delegate"],
        ),
        act(
            grant,
            "email",
            f"{status}-told-delegate",
            notice(
                grant["delegate"],
                f"Your access to {what_for} has ended",
                f"<p>Your role as {grant['role']} contact for {what_for} ({status}) has ended. You will no longer receive copies or be answered about it.</p>",
            ),
            grant["delegate"],
        ),
    ]
    actions.append(act(grant, "email", f"{status}-told-owner", owner_end_email(grant, status, rules), grant["owner"]))
    return Decision(state=grant, actions=actions, due_at=None, refs=grant_refs(grant))


def owner_end_email(grant: dict[str, Any], status: str, rules: DelegationSection) -> dict[str, Any]:
    """The owner hears that the grant ended and, if configured, is offered a password change: by
    replying, or (for services, with links) through a one-time link."""
    what_for = describe(grant)
    owner_text = f"<p>Client #{grant['delegate']} is no longer your {grant['role']} contact for {what_for}.</p>"
    owner_email = notice(grant["owner"], f"Delegation for {what_for} {status}", owner_text)
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    if rules.offer_password_change and not (services and rules.links):
        owner_email["html"] += (
            "<p>If they knew your control-panel password, we recommend changing it: reply to this email and we will change it for you.</p>"
        )
    elif rules.offer_password_change:
        owner_email["html"] += (
            "<p>If they knew your control-panel password, we recommend changing it. To have us change it now "
            "and send you the new details, confirm here (the link works once): "
            '<a href="{consent_link}">{consent_link}</a></p>'
        )
        summary = f"Change the control-panel password of {what_for} now that client #{grant['delegate']} no longer acts on it. The new details will be emailed to you."
        owner_email["consent"] = {
            "purpose": "password-change",
            "subject": grant["id"],
            "summary": summary,
            "ttl_s": int(rules.consent_link_ttl.total_seconds()),
        }
    return owner_email


def with_names(grant: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Fill the domain names of the grant's items from the owner's context, and the delegate's users
    (who may order for the owner) from the delegate's."""
    if as_int(context.get("userid")) == grant["delegate"]:
        grant["delegate_users"] = sorted(int(u["id"]) for u in context.get("users") or [])
        grant["delegate_name"] = context.get("company") or context.get("name")
        return grant
    services = {s["id"]: (s.get("domain") or "").lower() for s in context.get("services") or []}
    domains = {d["id"]: (d.get("name") or "").lower() for d in context.get("domains") or []}
    for item in grant.get("items", []):
        name = (
            services.get(item["id"])
            if item["kind"] == "service"
            else domains.get(item["id"])
            if item["kind"] == "domain"
            else None
        )
        if name:
            item["name"] = name
    grant["owner_name"] = context.get("company") or context.get("name") or grant.get("owner_name")
    return grant
