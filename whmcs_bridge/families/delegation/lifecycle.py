"""A grant from creation to its end: granted by staff or requested and consented by the owner, activated with its notices, ended by revocation, expiry or an ownership change (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import (
    about_grant,
    act,
    covered,
    grant_refs,
    kept_names,
    note,
    notice,
    rights,
    rights_fields,
)
from whmcs_bridge.families.delegation.renewal import renew
from whmcs_bridge.families.delegation.renewal_invoice import grant_ended
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
    moved = {int(i["id"]) for i in data.get("not_held") or [] if i.get("kind") == "service"}
    for service_id in sorted(moved):  # read by the consent page: staff moved it to another client since
        grant["history"].append(
            {
                "at": grant["password_changed"],
                "what": f"service #{service_id} is no longer the owner's in WHMCS: its password was not changed",
                "by": "bridge",
            }
        )
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


def void(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """An acceptance came when WHMCS no longer had every item under the owner, or showed the owner's or the delegate's
    account Closed (`not_held`, read by the consent page when the answer came: staff moved one since the request, a
    side closed its account): the grant is not activated but void, whatever the bridge saw when it was asked; staff
    hear it (a note on the owner's account) and so does the delegate."""
    at = now.isoformat(timespec="seconds")
    side = "delegate" if data.get("purpose") == "delegation-accept" else "owner"
    found = data.get("not_held") or []
    closed = [i for i in found if i["kind"] == "client"]
    moved = [
        f"{i['kind']} #{i['id']} "
        + (f"belongs to client #{i['holder']}" if i.get("holder") else "no longer exists")
        + f" in WHMCS now, not to client #{grant['owner']}"
        for i in found
        if i["kind"] != "client"
    ]
    reasons = [f"client #{i['id']} (the {i['side']}) is Closed in WHMCS" for i in closed]
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
    told = message("delegation.request_void", **about_grant(grant, closed=closed[0]["side"] if closed else ""))
    email = act(grant, "email", "void-told-delegate", notice(grant["delegate"], told), grant["delegate"])
    return Decision(state=grant, actions=[staff, email], refs=grant_refs(grant))


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
    return request_ended(grant, "withdrawn", now, by="delegate (consent link)", reason="the delegate declined")


def end(
    grant: dict[str, Any],
    status: str,
    now: datetime,
    rules: DelegationSection,
    *,
    by: str,
    reason: str,
    case: str | None = None,
    remaining: dict[str, Any] | None = None,
) -> Decision:
    """The grant ends (`status` revoked or expired; `case`: the ownership case that ended it; `remaining`:
    what the same delegate still covers for the owner, which the owner is told stays)."""
    if grant.get("status") != "active":
        return Decision(state=grant)
    grant["status"] = status
    grant["ended"] = now.isoformat(timespec="seconds")
    grant["history"].append({"at": grant["ended"], "what": status, "by": by, "reason": reason})
    ended = about_grant(grant, status=status, by=by, reason=reason, case=case)
    # A side staff deleted in WHMCS meanwhile hears nothing (its note and email are cancelled, not parked), and the
    # other side's texts name it as the grant last knew it, not "client #10".
    exists = {side: {"client_exists": grant[side]} for side in ("owner", "delegate")}
    actions = [
        act(
            grant,
            "client_note",
            f"{status}-note-owner",
            note(kept_names(grant, message("delegation.ended_owner_note", **ended))),
            grant["owner"],
            exists["owner"],
        ),
        act(
            grant,
            "client_note",
            f"{status}-note-delegate",
            note(kept_names(grant, message("delegation.ended_delegate_note", **ended))),
            grant["delegate"],
            exists["delegate"],
        ),
        act(
            grant,
            "email",
            f"{status}-told-delegate",
            notice(
                grant["delegate"],
                kept_names(grant, message("delegation.ended_delegate", **ended, **open_renewal(grant))),
            ),
            grant["delegate"],
            exists["delegate"],
        ),
    ]
    owner_email = owner_end_email(grant, status, rules, remaining)
    owner_email["msg"] = kept_names(grant, owner_email["msg"])
    actions.append(act(grant, "email", f"{status}-told-owner", owner_email, grant["owner"], exists["owner"]))
    actions += grant_ended(grant, now)  # its open renewals end with it
    return Decision(state=grant, actions=actions, due_at=None, refs=grant_refs(grant))


def open_renewal(grant: dict[str, Any]) -> dict[str, Any]:
    """The delegate's renewal invoice still open in the grant (the latest one invoiced), and the owner's invoice it
    would have settled: the grant's end cancels the first (renewal_invoice.grant_ended), the second stays due. Both sides
    are told, before the end and at it."""
    invoiced = [r for r in grant.get("renewals") or [] if r["status"] == "invoiced" and r.get("delegate_invoice")]
    if not invoiced:
        return {}
    return {"renewal_invoice": invoiced[-1]["delegate_invoice"], "owner_invoice": invoiced[-1].get("owner_invoice")}


def remaining(grant: dict[str, Any], others: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the grant's delegate still covers for its owner through its other active grants, as the owner's email
    says it (delegation.ended_owner): `remaining`, the services and domains, in `remaining_role` (None when its grants
    differ); `remaining_whole`, the role in which it stays the contact of the whole account (never the owner's own
    name as if it were a thing covered)."""
    staying = [
        other
        for other in others
        if other.get("id") != grant["id"]
        and other.get("status") == "active"
        and (other.get("owner"), other.get("delegate")) == (grant["owner"], grant["delegate"])
    ]
    whole = [o["role"] for o in staying if any(s.startswith("client:") for s in covered(o))]
    named = [o for o in staying if o["role"] not in whole]  # a whole-account role already covers its items
    items = [s for o in named for s in covered(o) if not s.startswith("client:") and s not in covered(grant)]
    roles = {o["role"] for o in named if any(s in items for s in covered(o))}
    return {
        "remaining": list(dict.fromkeys(items)),
        "remaining_role": roles.pop() if len(roles) == 1 else None,
        "remaining_whole": "administrative" if "administrative" in whole else (whole[0] if whole else None),
    }


def owner_end_email(
    grant: dict[str, Any], status: str, rules: DelegationSection, remaining: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The owner hears that the grant ended and, if configured, is offered a password change: by
    replying, or (for services, with links) through a one-time link."""
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    offer = None
    if rules.offer_password_change:
        offer = "link" if services and rules.links else "reply"
    owner_email = notice(
        grant["owner"],
        message(
            "delegation.ended_owner",
            **about_grant(grant, status=status, offer=offer, **(remaining or {})),
            **open_renewal(grant),
        ),
    )
    if offer == "link":
        changed = {**grant, "items": services}  # the password change concerns the services only
        owner_email["consent"] = {
            "purpose": "password-change",
            "subject": grant["id"],
            "summary": message("delegation.password_summary", **about_grant(changed)),
            "ttl_s": int(rules.consent_link_ttl.total_seconds()),
        }
    return owner_email


def expire(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """A grant's timer: its end reached, its reminder due, or (pending) its request lapsed."""
    if grant.get("status") == "pending" and (lapse := lapses(grant, rules)) and lapse <= now:
        return request_ended(grant, "lapsed", now, by="bridge", reason="no answer before the link expired")
    if grant.get("status") != "active" or not grant.get("expires"):
        return Decision(state=grant)
    if datetime.fromisoformat(grant["expires"]) <= now:
        return end(grant, "expired", now, rules, by="bridge", reason="expiry date")
    remind = reminder_at(grant, rules)
    if remind is None or remind > now:
        return Decision(state=grant)
    grant["reminded"] = now.isoformat(timespec="seconds")
    ending = about_grant(grant, expires=grant["expires"], **open_renewal(grant))
    actions = [
        act(
            grant,
            "email",
            f"reminder-{side}",
            notice(grant[side], kept_names(grant, message("delegation.expiry_reminder", side=side, **ending))),
            grant[side],
            {"client_exists": grant[side]},  # a side staff deleted is not reminded (cancelled, not parked)
        )
        for side in ("owner", "delegate")
    ]
    return Decision(state=grant, actions=actions)


def lapses(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """When a pending request lapses: with its consent link (a request from before this was kept, a link's
    lifetime after it was made)."""
    if grant.get("lapses"):
        return datetime.fromisoformat(grant["lapses"])
    return datetime.fromisoformat(grant["since"]) + rules.consent_link_ttl if grant.get("since") else None


def reminder_at(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """When an active grant's end is announced to both sides (once), if it has an end and a reminder is due."""
    if grant.get("reminded") or not grant.get("expires") or rules.expiry_reminder is None:
        return None
    return datetime.fromisoformat(grant["expires"]) - rules.expiry_reminder


def next_timer(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """The grant's next deadline, from its state alone, so that no decision about it loses the timer."""
    if grant.get("status") == "pending":
        return lapses(grant, rules) if grant.get("consent_sent") or grant.get("lapses") else None
    if grant.get("status") != "active" or not grant.get("expires"):
        return None
    expires = datetime.fromisoformat(grant["expires"])
    remind = reminder_at(grant, rules)
    return min(remind, expires) if remind is not None else expires


def request_ended(
    grant: dict[str, Any], status: str, now: datetime, *, by: str, reason: str, superseded_by: str = ""
) -> Decision:
    """A pending request ends unanswered: withdrawn by its requester (the owner is told), superseded by staff's
    grant of the same (the delegate is told), or lapsed with its links (each side hears what happened: who
    did not confirm); a note on the owner's account says which."""
    if grant.get("status") != "pending":
        return Decision(state=grant)
    grant["status"] = status
    grant["ended"] = now.isoformat(timespec="seconds")
    grant["history"].append({"at": grant["ended"], "what": status, "by": by, "reason": reason})
    # Who had not confirmed when it lapsed: the owner, the delegate (confirm: both) or both of them.
    waiting = [side for side in grant.get("needs", ["owner"]) if side not in grant.get("confirmed", {})]
    missing = "both" if len(waiting) > 1 else (waiting[0] if waiting else "owner")
    ended = about_grant(grant, status=status, reason=reason, missing=missing if status == "lapsed" else "")
    if superseded_by:
        grant["superseded_by"] = superseded_by
        ended["reason"] = f"superseded by grant {superseded_by}"
    actions = [
        act(
            grant,
            "client_note",
            f"{status}-note-owner",
            note(
                message(
                    "delegation.request_ended_note", **{**ended, **({"status": "superseded"} if superseded_by else {})}
                )
            ),
            grant["owner"],
        )
    ]
    if superseded_by:
        told = message("delegation.request_superseded", **about_grant(grant, by_grant=superseded_by))
        actions.append(
            act(grant, "email", "superseded-told-delegate", notice(grant["delegate"], told), grant["delegate"])
        )
    elif status == "withdrawn":
        told = message("delegation.request_withdrawn", **ended)
        actions.append(act(grant, "email", "withdrawn-told-owner", notice(grant["owner"], told), grant["owner"]))
    elif missing == "owner":  # the owner never answered: the requester hears it lapsed
        told = message("delegation.request_lapsed", **ended)
        actions.append(act(grant, "email", "lapsed-told-delegate", notice(grant["delegate"], told), grant["delegate"]))
    else:  # the delegate did not confirm (confirm: both): each side hears what actually happened
        actions += [
            act(
                grant,
                "email",
                f"lapsed-told-{side}",
                notice(grant[side], message("delegation.confirmation_lapsed", **ended, side=side)),
                grant[side],
            )
            for side in ("owner", "delegate")
        ]
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


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
    case = str(data.get("case") or "")
    return end(grant, "revoked", now, rules, by=f"ownership case {case}", reason="holder changed", case=case)


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
