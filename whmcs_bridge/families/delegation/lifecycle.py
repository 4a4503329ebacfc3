"""A grant from creation to activation: granted by staff or requested and consented by the owner (and the delegate,
confirm: both), activated with its notices, voided when WHMCS shows a side gone; staff's and the delegate's commands
on it. Its end (revocation, expiry, ownership change, a request's lapse) is in ending.py (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.ending import end, remaining, request_ended
from whmcs_bridge.families.delegation.grants import (
    about_grant,
    act,
    grant_refs,
    note,
    notice,
    rights,
    rights_fields,
)
from whmcs_bridge.families.delegation.renewal import renew
from whmcs_bridge.model import Action, Decision, as_int, message


def command(
    grant: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
    rules: DelegationSection,
    others: Sequence[dict[str, Any]] = (),
) -> Decision:
    """A command about one grant; `others`: the owner's other grants in view (what stays when one ends, and
    their renewals of the item a renewal asks for)."""
    what = data.get("command")
    if what in ("grant", "request"):
        if grant:
            return Decision(state=grant)  # the same command twice
        grant = create(data, now, rules)
        confirm = "owner" if data.get("order") else rules.confirm  # an order's grant comes through its admin grant
        if (what == "grant" and confirm != "both") or (what == "request" and confirm == "none"):
            grant["status"] = "active"
            return activated(grant, rules)
        grant["status"] = "pending"
        grant["needs"] = ["owner", "delegate"] if confirm == "both" else ["owner"]
        return requested(grant, now, rules)
    if not grant:
        raise ValueError(f"there is no grant {data.get('grant')}")
    if what == "consent":
        return consented(grant, data, now, rules)
    if what == "revoke":
        by, reason = data.get("by") or "staff", data.get("reason") or ""
        return end(grant, "revoked", now, rules, by=by, reason=reason, remaining=remaining(grant, others))
    if what == "withdraw":
        return request_ended(grant, "withdrawn", now, by=data.get("by") or "delegate", reason=data.get("reason") or "")
    if what == "supersede":  # staff granted what the request asked for (staff.new_grant)
        return request_ended(
            grant, "withdrawn", now, by=data.get("by") or "staff", reason=str(data.get("reason") or ""),
            superseded_by=str(data.get("by_grant") or ""),
        )  # fmt: skip
    if what == "renew":
        return renew(grant, data, now, rules, others)
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
        "basis": data.get("basis") or "",
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
    if data.get("order"):  # made by an order of the administrative contact's user (orders.py)
        grant["order"] = data["order"]
    if data.get("command") == "request":
        grant["history"][0]["what"] = "requested"
    return grant


def activated(grant: dict[str, Any], rules: DelegationSection) -> Decision:
    """An active grant is announced to both sides and mirrored as a note on both accounts."""
    order = (grant.get("order") or {}).get("id")
    owner_note = message(
        "delegation.granted_owner_note", **about_grant(grant, by=grant["by"], basis=grant["basis"], order=order)
    )
    actions = [
        act(grant, "refresh_client", "names", {"client_id": grant["owner"]}, grant["owner"]),
        # The delegate's users: who may order for the owner, and who to recognise at checkout.
        act(grant, "refresh_client", "delegate-users", {"client_id": grant["delegate"]}, grant["delegate"]),
        act(grant, "client_note", "note-owner", note(owner_note), grant["owner"]),
        act(
            grant,
            "client_note",
            "note-delegate",
            note(message("delegation.granted_delegate_note", **about_grant(grant))),
            grant["delegate"],
        ),
        act(
            grant,
            "email",
            "told-owner",
            notice(
                grant["owner"], message("delegation.granted_owner", **about_grant(grant, **rights_fields(grant, rules)))
            ),
            grant["owner"],
        ),
        act(
            grant,
            "email",
            "told-delegate",
            notice(
                grant["delegate"],
                message("delegation.granted_delegate", **about_grant(grant, **rights_fields(grant, rules))),
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
    """A grant waiting for its confirmation (a delegate's request, or under confirm: both staff's grant
    too): first read the names of what it covers, then (on the owner's context) send the one-time links."""
    actions = [act(grant, "refresh_client", "names", {"client_id": grant["owner"]}, grant["owner"])]
    if grant["history"][0]["what"] == "requested":  # the delegate asked: it hears its request went out
        told = notice(grant["delegate"], message("delegation.request_sent", **about_grant(grant)))
        actions.append(act(grant, "email", "request-sent", told, grant["delegate"]))
    actions.append(
        act(
            grant,
            "client_note",
            "request-note",
            note(message("delegation.request_note", **about_grant(grant, basis=grant["basis"]))),
            grant["owner"],
        )
    )
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def ask_consent(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> list[Action]:
    """The owner's email with the one-time link (the executor mints the link when it sends it); the
    page shows the summary, rendered with the email in the owner's language."""
    if grant.get("status") != "pending" or grant.get("consent_sent"):
        return []
    grant["consent_sent"] = True
    # The request lapses when the link does (the executor mints it in the same pass, so a little later).
    grant["lapses"] = (now + rules.consent_link_ttl).isoformat(timespec="seconds")
    can = rights_fields(grant, rules)
    consent = {
        # The owner chooses notices or full copies of access details, where the role allows copies.
        "purpose": "delegation-copies" if rights(grant, rules).welcome_email == "copy" else "delegation",
        "subject": grant["id"],
        "summary": message("delegation.consent_summary", **about_grant(grant, basis=grant["basis"], **can)),
        "ttl_s": int(rules.consent_link_ttl.total_seconds()),
    }
    params = {
        **notice(
            grant["owner"], message("delegation.consent_asked", **about_grant(grant, basis=grant["basis"], **can))
        ),
        "consent": consent,
    }
    asked = [act(grant, "email", "consent-asked", params, grant["owner"])]
    if "delegate" in grant.get("needs", []):  # confirm: both: the delegate accepts its grant by its own link
        accept = {
            **consent,
            "purpose": "delegation-accept",
            "summary": message("delegation.accept_summary", **about_grant(grant, **can)),
        }
        told = notice(grant["delegate"], message("delegation.accept_asked", **about_grant(grant, **can)))
        asked.append(act(grant, "email", "accept-asked", {**told, "consent": accept}, grant["delegate"]))
    return asked


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
    found = data.get("not_held") or []
    moved = {int(i["id"]) for i in found if i.get("kind") == "service"}
    held = {int(str(i["id"]).split(":")[1]) for i in found if i.get("kind") == "hold"}  # "service:N"
    for service_id in sorted(moved | held):  # read by the consent page: moved since, or held by an ownership case
        why = "is held by an ownership case" if service_id in held else "is no longer the owner's in WHMCS"
        grant["history"].append(
            {
                "at": grant["password_changed"],
                "what": f"service #{service_id} {why}: its password was not changed",
                "by": "bridge",
            }
        )
    moved |= held
    # Read again just before it runs: the new password and WHMCS's welcome email only ever reach the client
    # that holds the service then (guards.py owned_by), the page's read being minutes or days old by then.
    actions = [
        act(
            grant,
            "credential_change",
            f"password:{item['id']}",
            {"service_id": item["id"], "notify_template": "Hosting Account Welcome Email"},
            grant["owner"],
            guard={"owned_by": {"kind": "service", "id": int(item["id"]), "client": int(grant["owner"])}},
        )
        for item in grant.get("items", [])
        if item["kind"] == "service" and int(item["id"]) not in moved
    ]
    return Decision(state=grant, actions=actions)


def consented(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    if data.get("purpose") == "password-change":
        return password_change(grant, data, now)
    if grant.get("status") != "pending":
        return Decision(state=grant)  # answered already
    if data.get("decision") != "decline":
        data = {**data, "not_held": [*past_last_day(grant, data, now), *(data.get("not_held") or [])]}
    if data.get("not_held") and data.get("decision") != "decline":
        return void(grant, data, now)
    if data.get("purpose") == "delegation-accept":
        return delegate_answered(grant, data, now, rules)
    at = now.isoformat(timespec="seconds")
    decision = data.get("decision")
    what = {"accept": "owner accepted", "accept-copies": "owner accepted, with full copies"}
    grant["history"].append(
        {
            "at": at,
            "what": what.get(str(decision), "owner declined"),
            "by": "owner (consent link)",
            "reason": data.get("reason"),
            "ip": data.get("ip"),
        }
    )
    if decision in what:
        # Access details reach the delegate only if the owner chose it here (copies.copies).
        grant["credentials"] = "copy" if decision == "accept-copies" else "notice"
        return confirmed(grant, "owner", at, rules)
    grant["status"] = "declined"
    grant["ended"] = at
    told = act(
        grant,
        "email",
        "declined-told-delegate",
        notice(grant["delegate"], message("delegation.declined_delegate", **about_grant(grant))),
        grant["delegate"],
    )
    return Decision(state=grant, actions=[told], refs=grant_refs(grant))


def past_last_day(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """An acceptance decided after the request's last day (`--expires`): it would start after it ended, and staff's
    `--expires` in the past is refused for the same reason (staff.py). The page says so when it comes (web/consent.py);
    the rules decide later (a backlog), so they check it again at the decision's time."""
    expires = grant.get("expires")
    if not expires or datetime.fromisoformat(str(expires)) > now:
        return []
    said = [i for i in data.get("not_held") or [] if i.get("kind") == "expired"]
    return [] if said else [{"kind": "expired", "id": str(expires)[:10]}]


def void(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """An acceptance came when WHMCS no longer had every item under the owner, or showed the owner's or the delegate's
    account Closed, or an ownership case held part of it (`not_held`, read by the consent page when the answer came:
    staff moved one since the request, a side closed its account, a dispute froze it): the grant is not activated but void, whatever the bridge saw when it was asked; staff
    hear it (a note on the owner's account) and so does the delegate."""
    at = now.isoformat(timespec="seconds")
    side = "delegate" if data.get("purpose") == "delegation-accept" else "owner"
    found = data.get("not_held") or []
    closed = [i for i in found if i["kind"] == "client"]
    held = [i for i in found if i["kind"] == "hold"]
    expired = [i for i in found if i["kind"] == "expired"]
    moved = [
        f"{i['kind']} #{i['id']} "
        + (f"belongs to client #{i['holder']}" if i.get("holder") else "no longer exists")
        + f" in WHMCS now, not to client #{grant['owner']}"
        for i in found
        if i["kind"] not in ("client", "hold", "expired")
    ]
    reasons = [f"its last day, {i['id']}, had passed when it was accepted" for i in expired]
    reasons += [f"client #{i['id']} (the {i['side']}) is Closed in WHMCS" for i in closed]
    reasons += [f"{i['id']} is held: {i['reason']}" for i in held]
    reasons += ["; ".join(moved) + ": a grant covers only what its owner holds"] if moved else []
    reason = "; ".join(reasons)
    grant["history"].append(
        {"at": at, "what": f"{side} accepted", "by": f"{side} (consent link)", "ip": data.get("ip")}
    )
    grant["status"] = "void"
    grant["ended"] = at
    grant["history"].append({"at": at, "what": "void", "by": "bridge", "reason": reason})
    ended = about_grant(grant, status="void", reason=reason, missing="")
    staff = act(
        grant, "client_note", "void-note-owner", note(message("delegation.request_ended_note", **ended)), grant["owner"]
    )
    why = closed[0]["side"] if closed else "hold" if held else "expired" if expired else ""
    told = message("delegation.request_void", **about_grant(grant, closed=why))
    email = act(grant, "email", "void-told-delegate", notice(grant["delegate"], told), grant["delegate"])
    actions = [staff, email]
    if side == "delegate" and (grant.get("confirmed") or {}).get("owner"):  # the owner accepted, and hears it failed
        owner = message("delegation.void_owner", **about_grant(grant, closed=why))
        actions.append(act(grant, "email", "void-told-owner", notice(grant["owner"], owner), grant["owner"]))
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def confirmed(grant: dict[str, Any], side: str, at: str, rules: DelegationSection) -> Decision:
    """One side confirmed; the grant is active once every side it needs has (delegation.confirm)."""
    grant.setdefault("confirmed", {})[side] = at
    if any(s not in grant["confirmed"] for s in grant.get("needs", ["owner"])):
        return Decision(state=grant)
    grant["status"] = "active"
    grant["since"] = at
    return activated(grant, rules)


def delegate_answered(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """The delegate's answer through its own link (confirm: both): accepted, or declined (which withdraws it)."""
    at = now.isoformat(timespec="seconds")
    accepted = data.get("decision") == "accept"
    grant["history"].append(
        {
            "at": at,
            "what": "delegate accepted" if accepted else "delegate declined",
            "by": "delegate (consent link)",
            "reason": data.get("reason"),
            "ip": data.get("ip"),
        }
    )
    if accepted:
        return confirmed(grant, "delegate", at, rules)
    grant["declined_by"] = "delegate"  # the owner hears the delegate declined, not that a request was withdrawn
    return request_ended(grant, "withdrawn", now, by="delegate (consent link)", reason="the delegate declined")


def with_names(grant: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Fill the domain names of the grant's items from the owner's context, and the delegate's users
    (who may order for the owner) from the delegate's."""
    if as_int(context.get("userid")) == grant["delegate"]:
        grant["delegate_users"] = sorted(int(u["id"]) for u in context.get("users") or [])
        grant["delegate_name"] = context.get("company") or context.get("name")
        return grant
    services = {s["id"]: (s.get("domain") or "").lower() for s in context.get("services") or []}
    facts = {s["id"]: s for s in context.get("services") or []}
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
        if item["kind"] == "service" and item["id"] in facts:  # for the delegate's page, as last read
            item.update(status=facts[item["id"]].get("status"), due=facts[item["id"]].get("nextduedate"))
    grant["owner_name"] = context.get("company") or context.get("name") or grant.get("owner_name")
    return grant
