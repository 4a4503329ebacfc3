"""A [renew] in a delegate's ticket (pure): it never invoices anything by itself. Its writer, verified for what the
ticket names with the right to renew, is emailed its one-time renewal page link, once per ticket while that link is
valid; the renewal happens only when it clicks renew on the page (web/selfservice.py), with the page's own checks.

Whether words around a [renew] ask for a renewal is not decided here, nor anywhere: refusals read as requests
invoiced agencies, and urgent requests read as refusals were dropped (break rounds 13 and 14)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import FAMILY, about_grant, notice, parties_open, rights
from whmcs_bridge.families.delegation.renewal_scope import RENEWABLE
from whmcs_bridge.model import Action, action_key, message

# [renew], or [renew service 110] / [renew domain 11] ("hosting" for service): which item the link's email names.
RENEW_KEYWORD = re.compile(r"\[renew(?:\s+(service|hosting|domain)\s*#?(\d{1,18}))?\]", re.IGNORECASE)


def renew_asked(text: str) -> dict[str, Any] | bool:
    """False when the text has no [renew]; else {"named": ["service:110", ...]}, the items it names by WHMCS type and
    id (none for a plain [renew]), whatever the words around it."""
    found = list(RENEW_KEYWORD.finditer(text))
    if not found:
        return False
    named = [f"{'domain' if m.group(1).lower() == 'domain' else 'service'}:{int(m.group(2))}" for m in found if m.group(1)]
    return {"named": list(dict.fromkeys(named))}


def answer(
    verified: list[dict[str, Any]], data: dict[str, Any], now: datetime, rules: DelegationSection
) -> tuple[dict[str, dict[str, Any]], list[Action]]:
    """For a message carrying [renew]: what each grant's note says of it ({grant id: fields}: `renew` "link" (sent
    now), "again" (sent for this ticket already, still valid), "no_link" (no page can be linked: receiver.public_url
    unset) or "no_right" (the role may not renew); `renew_until` the link's end), and the one email with the link.
    `verified`: the writer's grants verified on the ticket (copies.verified), changed here (renew_links, history)."""
    if not data.get("renew"):
        return {}, []
    ticket = str(data.get("ticketid"))
    renewers = [g for g in verified if rights(g, rules).renew]
    said: dict[str, dict[str, Any]] = {g["id"]: {"renew": "no_right"} for g in verified if g not in renewers}
    if not renewers:
        return said, []
    if not rules.links:
        return {**said, **{g["id"]: {"renew": "no_link"} for g in renewers}}, []
    # One link per delegate and ticket while it is valid, whichever of its grants it was sent under: its page shows
    # every grant of the delegate (outside tester L3). A reply quoting the [renew], or writing it again, or a grant
    # made since: the link sent still serves.
    earlier = max((u for u in (valid_link(g, ticket, now) for g in renewers) if u), default=None)
    if earlier:
        return {**said, **{g["id"]: {"renew": "again", "renew_until": earlier} for g in renewers}}, []
    until = (now + rules.consent_link_ttl).isoformat(timespec="seconds")
    for grant in renewers:
        links = {t: u for t, u in (grant.get("renew_links") or {}).items() if datetime.fromisoformat(u) > now}
        grant["renew_links"] = {**links, ticket: until}
        what = f"[renew] in ticket #{ticket}: renewal page link emailed to the delegate, nothing invoiced"
        grant.setdefault("history", []).append({"at": now.isoformat(timespec="seconds"), "what": what, "by": "bridge"})
    shown = str(data.get("ticketmask") or ticket)  # as the delegate's client area numbers it (ticket_reads)
    email = link_email(renewers, ticket, shown, items_named(renewers, data), until, rules)
    return {**said, **{g["id"]: {"renew": "link", "renew_until": until} for g in renewers}}, [email]


def valid_link(grant: dict[str, Any], ticket: str, now: datetime) -> str | None:
    """When the renewal page link sent for the ticket ends, while it is valid; None when none was sent, or it ended."""
    until = (grant.get("renew_links") or {}).get(ticket)
    return until if until and datetime.fromisoformat(until) > now else None


def items_named(renewers: list[dict[str, Any]], data: dict[str, Any]) -> list[str]:
    """What the email names: the renewable items the writer was verified for on the ticket ("service:110"), only
    those its [renew service ID] / [renew domain ID] names when it names some of them."""
    items = [
        f"{i['kind']}:{i['id']}" for g in renewers for i in g.get("verified_ticket_items") or [] if i["kind"] in RENEWABLE
    ]
    items = list(dict.fromkeys(items))
    asked = data.get("renew")
    named = [i for i in items if isinstance(asked, dict) and i in (asked.get("named") or [])]
    return named or items


def link_email(
    renewers: list[dict[str, Any]], ticket: str, shown: str, items: list[str], until: str, rules: DelegationSection
) -> Action:
    """The delegate's email: it wrote [renew] in the ticket about these items; nothing is invoiced from a ticket; its
    page (the one-time link, minted when the email is sent) renews with one click. Revocation wins: it is sent only
    while the grant is active and neither side is Closed in WHMCS."""
    grant = renewers[0]
    delegate = int(grant["delegate"])
    consent = {
        "purpose": "delegation-delegate",
        "subject": str(delegate),
        "summary": message("delegation.page_summary", side="delegate"),
        "ttl_s": int(rules.consent_link_ttl.total_seconds()),
        # Outside tester M2: the link renews, invoiced to the delegate; it reaches the delegate's own address alone,
        # never its contacts who receive general emails (executor/one_recipient.py says how, and which doc lines).
        "alone": True,
    }
    msg = message("delegation.renew_link", **about_grant(grant, ticket=shown, items=items, until=until))
    return Action(
        # One per delegate, ticket and link: two grants verified on one ticket send one email.
        key=action_key(FAMILY, f"delegate:{delegate}", f"renew-link:{ticket}:{until}"),
        family=FAMILY,
        kind="email",
        params={**notice(delegate, msg), "consent": consent},
        client_id=delegate,
        subject=f"grant:{grant['id']}",
        guard={"state_active": [FAMILY, f"grant:{grant['id']}"], **parties_open(grant)},
    )
