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

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation import payer, payer_closing, payer_owner
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.copies import (
    COPY_MARK,
    COPY_SENT,
    OWN_EMAIL,
    copies,
    ticket_key,
    ticket_note,
    ticket_opened,
)
from whmcs_bridge.families.delegation.digest import digest
from whmcs_bridge.families.delegation.ending import covers, expire, next_timer, ownership_changed
from whmcs_bridge.families.delegation.grants import (
    CUSTOM,
    DIGEST,
    FAMILY,
    OUTCOME,
    RENEWING,
    UNKNOWN_TEMPLATES,
    grant_refs,
    record,
    rights,
)
from whmcs_bridge.families.delegation.lifecycle import ask_consent, command, with_names
from whmcs_bridge.families.delegation.orders import ordered
from whmcs_bridge.families.delegation.renewal import (
    cancel_found_paid,
    renewal_applied,
    renewal_held,
    renewal_payment,
    renewal_read,
    renewal_step,
)
from whmcs_bridge.model import Action, Decision, Event, State, as_int, message
from whmcs_bridge.whmcs.templates import identify


class Delegation:
    name = FAMILY
    tracks_client_services = False

    def __init__(self, rules: DelegationSection) -> None:
        self.rules = rules

    def route(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type == "DelegationCommand" and data.get("grant"):
            return [f"grant:{data['grant']}"]
        if event.type == "EmailPreLog" and (unknown_template(data, self.rules) or custom_email(data)):
            return [UNKNOWN_TEMPLATES]
        if event.type in ("TicketOpen", "TicketUserReply") and as_int(data.get("ticketid")):
            return [ticket_key(data)]
        if event.type == "TicketResolved" and data.get("requested_by") == FAMILY and data.get("state_key"):
            return [str(data["state_key"])]
        if (
            event.type
            in (
                "OpenInvoiceFound",
                "RenewalInvoiceCreated",
                "OrderInvoiceFound",
                "PayerInvoiceCreated",
                "InvoiceRead",
                "RenewalRead",
            )
            and data.get("requested_by") == FAMILY
            and data.get("grant")
        ):
            return [f"grant:{data['grant']}"]
        if event.type == COPY_SENT and data.get("grant"):  # a copy's action ended (copies.py)
            # Cancelled as an email its template does not render (a custom message the hook named): counted.
            return [f"grant:{data['grant']}"] + ([UNKNOWN_TEMPLATES] if data.get("unpaired") else [])
        return []

    def refs(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type == "DelegationCommand":  # and the owner's other grants, to say what stays when one ends
            return ["digest-timer"] + ([f"owner:{as_int(data['owner'])}"] if as_int(data.get("owner")) else [])
        if event.type == "Tick" and data.get("key") == DIGEST:
            return ["all-grants"]
        if event.type == "EmailPreLog" and COPY_MARK not in f"{data.get('subject', '')}{data.get('message', '')}":
            owner = as_int(data.get("userid"))
            return [f"owner:{owner}"] if owner else []
        if event.type == "ClientContext" and data.get("requested_by") == FAMILY:
            return [f"owner:{as_int(data.get('userid'))}", f"delegate:{as_int(data.get('userid'))}"]
        if event.type == "OrderPlaced" and as_int(data.get("userid")):
            return [f"owner:{as_int(data.get('userid'))}", f"user:{as_int(data.get('requestor_id'))}"]
        if event.type in ("InvoicePaid", "InvoiceCancelled", "InvoiceRefunded", "InvoiceOverdue", OUTCOME, *ORDER_CLOSING):
            return billing_refs(event.type, data)
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


# Staff cancelling an order, or marking it as fraud, in WHMCS (hooks): one invoiced to the delegate (payer.py).
ORDER_CLOSING = ("CancelOrder", "FraudOrder")


def billing_refs(kind: str, data: dict[str, Any]) -> list[str]:
    """What an invoice's or an order's event, or a billing step's outcome, is about."""
    if kind in ORDER_CLOSING:
        return [f"order:{as_int(data.get('orderid'))}"] if as_int(data.get("orderid")) else []
    return renewal_refs(data, paid=kind == "InvoicePaid")


def renewal_refs(data: dict[str, Any], paid: bool = False) -> list[str]:
    """What an invoice's event, or the outcome of a renewal's action, is about (a renewal lists both): an action
    left a paid invoice, or found the invoice it was to cancel closed (paid meanwhile: cancel_found_paid). An
    invoice paid (`paid`) also reaches the grants whose delegate's invoice is open (of the client the event names:
    the poller names it, the hook does not): one of their owner's may bill the same period (owner_paid_other)."""
    invoice = as_int(data.get("invoiceid")) or as_int(data.get("paid_invoice")) or as_int(data.get("closed_invoice"))
    refs = [f"invoice:{invoice}"] if invoice else [f"action:{data['action_key']}"] if data.get("action_key") else []
    client = as_int(data.get("userid"))
    return refs + ([f"{RENEWING}:{client}" if client else RENEWING] if paid else [])


def with_page_links(decisions: dict[str, Decision], rules: DelegationSection) -> dict[str, Decision]:
    """Every email to an owner or a delegate that carries no other one-time link carries one to its
    self-service page (web/selfservice.py), under the message (and above a copy's original)."""
    if not rules.links:
        return decisions
    out = {}
    for key, decision in decisions.items():
        grant = decision.state if key.startswith("grant:") and decision.state else {}
        actions = [page_link(a, grant, rules) for a in decision.actions]
        out[key] = dataclasses.replace(decision, actions=actions) if actions != decision.actions else decision
    return out


def page_link(action: Action, grant: dict[str, Any], rules: DelegationSection) -> Action:
    if action.kind != "email" or action.params.get("consent") or action.client_id is None:
        return action
    side = (
        "owner"
        if action.client_id == grant.get("owner") or (action.subject or "").startswith("owner:")
        else "delegate"
        if action.client_id == grant.get("delegate")
        else None
    )
    if side is None or (side == "owner" and grant.get("status") in ("revoked", "expired")):
        return action  # an owner is not offered to end, with one click, an access that already ended
    if side == "delegate" and grant.get("status") != "active":
        return action  # a request waiting or lapsed, an access ended: its page would list nothing of it
    consent = {
        "purpose": f"delegation-{side}",
        "subject": str(action.client_id),
        "summary": message("delegation.page_summary", side=side),
        "ttl_s": int(rules.consent_link_ttl.total_seconds()),
    }
    if side == "delegate" and "original_html" in action.params:
        # A copy (or notice) of one owner's email is forwarded to that owner (tenth break round H4): its link shows
        # only the grants with that owner. The scope is kept with the link, out of reach of its address.
        consent["scope"] = f"owner:{grant['owner']}"
    renews = side == "delegate" and rights(grant, rules).renew  # the delegate's page offers a renewal only then
    footer = message("delegation.page_footer", side=side, may_renew="yes" if renews else None)
    return dataclasses.replace(action, params={**action.params, "consent": consent, "footer": footer})


def timed(decisions: dict[str, Decision], rules: DelegationSection) -> dict[str, Decision]:
    """Every decision about a grant carries the grant's next deadline (its end, reminder or lapse), read
    from the state: a decision that names none would otherwise clear the timer (finding 4 of issue 16)."""
    return {
        k: dataclasses.replace(d, due_at=next_timer(d.state, rules))
        if k.startswith("grant:") and d.state is not None
        else d
        for k, d in decisions.items()
    }


def decide_all(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """Pure: decisions for the grants and tickets an event concerns (only keys that change)."""
    if event.type == "Tick" and event.data.get("key") == DIGEST:
        return with_page_links(timed(digest(grant_copies(states), states.get(DIGEST) or {}, now, rules), rules), rules)
    handler = EVENTS.get(event.type)
    return with_page_links(timed(handler(states, event, now, rules), rules), rules) if handler else {}


def grant_copies(states: Mapping[str, State]) -> dict[str, dict[str, Any]]:
    """Copies of the grants among the states (never change the caller's states)."""
    return {k: json.loads(json.dumps(v)) for k, v in states.items() if k.startswith("grant:") and v}


def on_command(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    data = event.data
    key = f"grant:{data['grant']}"
    others = [g for k, g in grant_copies(states).items() if k != key]  # the owner's other grants (refs)
    out = {key: command(json.loads(json.dumps(states.get(key) or {})), data, now, rules, others)}
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
    out = {k: Decision(state=g, actions=ask_consent(g, now, rules), refs=grant_refs(g)) for k, g in named.items()}
    order = event.data.get("order")
    if isinstance(order, dict):  # the delegate's users, and the owner's owner user, read for this order (read_users)
        read = as_int(event.data.get("userid")), as_int(event.data.get("owner_user"))
        for key, decision in ordered(named, order, now, rules, users_of=read[0], owner_user=read[1]).items():
            before = out.get(key)
            actions = [*before.actions, *decision.actions] if before else decision.actions
            out[key] = dataclasses.replace(decision, actions=actions)
    return out


def on_order(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    return ordered(grant_copies(states), event.data, now, rules)


def on_email(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    made = {k: copies(g, event.data, event, now, rules) for k, g in grant_copies(states).items() if g.get("status") == "active"}
    out = {k: Decision(state=grant_copies(states)[k], actions=shared(actions, made)) for k, actions in made.items()}
    name = unknown_template(event.data, rules)
    if not name and custom_email(event.data) and any(g.get("status") == "active" for g in grant_copies(states).values()):
        name = CUSTOM  # a delegate of the owner missed it: staff see how many, never its words
    if name:
        out[UNKNOWN_TEMPLATES] = Decision(state=counted(states.get(UNKNOWN_TEMPLATES) or {}, name, now))
    return out


def on_copy_ended(states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection) -> dict[str, Decision]:
    """A copy's action ended: sent ("done"), it joins the owner's next digest; cancelled or rejected, nothing."""
    data = event.data
    grant = grant_copies(states).get(f"grant:{data.get('grant')}")
    if data.get("unpaired") and data.get("status") == "cancelled":  # not the template's email: a custom message
        return {UNKNOWN_TEMPLATES: Decision(state=counted(states.get(UNKNOWN_TEMPLATES) or {}, CUSTOM, now))}
    if grant is None or data.get("status") != "done":
        return {}
    record(grant, str(data.get("at") or now.isoformat(timespec="seconds")), "copy", email=data.get("email"), about=data.get("about"))
    return {f"grant:{grant['id']}": Decision(state=grant, refs=grant_refs(grant))}


def unknown_template(data: dict[str, Any], rules: DelegationSection) -> str | None:
    """The name of a template neither WHMCS's defaults nor delegation.email_templates know: its emails are
    never copied, so staff are shown it to classify (an email without a name is a custom message)."""
    name = data.get("messagename")
    if not isinstance(name, str) or not name.strip():
        return None
    known = identify(name, data.get("relid"), data.get("userid"), rules.email_templates)
    return None if known else name.strip()[:200]


def shared(actions: list[Action], made: dict[str, list[Action]]) -> list[Action]:
    """A copy is keyed per delegate (copies.py): two grants of one delegate covering the email give one copy, which
    goes while either of them is active, not only the one that happened to plan it (twentieth break round H3).
    A notice in the stead of a full copy (copies.instead_of) is not sent while a grant that plans the full copy is
    active: its guard names those grants (twenty-first break round H1)."""
    out = []
    for action in actions:
        covering = planned(action.key, made)
        if len(covering) > 1 and "state_active" in action.guard:
            action = dataclasses.replace(action, guard={**action.guard, "state_active": [FAMILY, *covering]})
        stead = action.guard.get("instead_of")
        if stead:
            stead = {**stead, "grants": planned(stead["action"], made)}
            action = dataclasses.replace(action, guard={**action.guard, "instead_of": stead})
        out.append(action)
    return out


def planned(key: str, made: dict[str, list[Action]]) -> list[str]:
    """The grants whose decision plans the action `key`."""
    return sorted(k for k, others in made.items() if any(o.key == key for o in others))


def custom_email(data: dict[str, Any]) -> bool:
    """An email WHMCS sent a client without a template name (a custom message, or one logged by a hook older than
    version 2), not one the bridge sent itself: its emails end with their action key, which the receiver keeps
    (`message_key`) when it drops the words of an email nobody copies (inbox.without_message)."""
    name, text = data.get("messagename"), f"{data.get('subject') or ''}{data.get('message') or ''}"
    unnamed = not isinstance(name, str) or not name.strip()
    ours = data.get("message_key") or OWN_EMAIL in text or COPY_MARK in text
    return unnamed and bool(as_int(data.get("userid"))) and not ours


def counted(seen: State, name: str, now: datetime) -> dict[str, Any]:
    """How often each unknown template was seen, first and last, for `delegations templates`."""
    out = json.loads(json.dumps(seen))
    at = now.isoformat(timespec="seconds")
    entry = out.setdefault(name, {"count": 0, "first": at})
    entry["count"] += 1
    entry["last"] = at
    return dict(out)


def on_ticket(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    return {ticket_key(event.data): ticket_opened(event.data, now)}


def on_ticket_resolved(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """The ticket gets its note (and a delegate's [renew] its renewal page link: ticket_renew); the grants it verified
    remember it for the owner's digest, and a link they sent for it."""
    data = event.data
    grants = grant_copies(states)
    out = {
        str(data.get("state_key")): Decision(state=None, actions=ticket_note(list(grants.values()), data, now, rules))
    }
    for key, grant in grants.items():
        if grant.get("verified_ticket") == as_int(data.get("ticketid")):
            out[key] = Decision(state=forget_ticket(grant))
    return out


def forget_ticket(grant: dict[str, Any]) -> dict[str, Any]:
    """The grant keeps no ticket it was verified on once the note is decided."""
    grant.pop("verified_ticket_items", None)
    grant.pop("verified_ticket_item", None)  # as an older version kept it
    grant.pop("verified_ticket")
    return grant


def on_renewal_invoice(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    grants = grant_copies(states)
    key = f"grant:{event.data['grant']}"
    return {key: renewal_step(grants[key], event.type, event.data, now)} if key in grants else {}


def on_invoice_settled(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """An invoice event: a delegated renewal's (renewal.py), or an order's invoiced to the delegate (payer.py)."""
    out = {}
    for k, g in grant_copies(states).items():
        d = payer.payment(g, event.type, event.data, now)
        if d is None and event.type != "InvoiceOverdue":
            d = renewal_payment(g, event.type, event.data, now)
        if d is not None:
            out[k] = d
    return out


def on_order_invoice(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    grants = grant_copies(states)
    key = f"grant:{event.data['grant']}"
    if key not in grants:
        return {}
    steps = {"OrderInvoiceFound": payer.found, "PayerInvoiceCreated": payer.invoiced, "InvoiceRead": payer.read}
    step = steps[event.type]
    return {key: step(grants[key], event.data, now)}


def on_order_closing(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """Staff cancel an order, or mark it as fraud, in WHMCS: one invoiced to the delegate (payer.py)."""
    out = {}
    for k, g in grant_copies(states).items():
        d = payer_closing.order_closing(g, event.type, event.data, now)
        if d is not None:
            out[k] = d
    return out


def on_renewal_applied(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    out = {}
    for k, g in grant_copies(states).items():
        d = payer.part_paid(g, event.data, now) if event.data.get("paid") else None
        d = d if d is not None else payer.cancel_found_paid(g, event.data, now)
        d = d if d is not None else cancel_found_paid(g, event.data, now)
        d = d if d is not None else payer_owner.lines_off_ended(g, event.data, now)
        d = d if d is not None else payer_owner.owner_pending(g, event.data, now)
        d = d if d is not None else payer_closing.lines_kept_for_closed(g, event.data, now)
        d = d if d is not None else payer.not_invoiced(g, event.data, now)
        d = d if d is not None else payer_closing.withdrawn(g, event.data, now)
        d = d if d is not None else payer.accepted(g, event.data, now)
        d = d if d is not None else renewal_held(g, event.data, now)
        d = d if d is not None else renewal_applied(g, event.data, now)
        if d is not None:
            out[k] = d
    return out


def on_renewal_read(
    states: Mapping[str, State], event: Event, now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """A delegated renewal as WHMCS has it now, read for its grant (renewal.renewal_read)."""
    key = f"grant:{event.data['grant']}"
    grants = grant_copies(states)
    return {key: renewal_read(grants[key], event.data, now)} if key in grants else {}


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
    "InvoiceOverdue": on_invoice_settled,
    "OrderInvoiceFound": on_order_invoice,
    "PayerInvoiceCreated": on_order_invoice,
    "InvoiceRead": on_order_invoice,
    "CancelOrder": on_order_closing,
    "FraudOrder": on_order_closing,
    OUTCOME: on_renewal_applied,
    COPY_SENT: on_copy_ended,
    "RenewalRead": on_renewal_read,
    "OwnershipChanged": on_ownership_changed,
}


# --- grants ---------------------------------------------------------------------------------------
