"""A grant from creation to its end: granted by staff or requested and consented by the owner, activated with its notices, ended by revocation, expiry or an ownership change (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import act, describe, grant_refs, notice
from whmcs_bridge.families.delegation.renewal import renew
from whmcs_bridge.model import Action, Decision, as_int


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


def expire(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    if grant.get("status") == "active" and grant.get("expires") and datetime.fromisoformat(grant["expires"]) <= now:
        return end(grant, "expired", now, rules, by="bridge", reason="the grant reached its expiry date")
    return Decision(state=grant)


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
