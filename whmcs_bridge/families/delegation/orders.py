"""Orders placed by a delegate in an owner name: the administrative contact becomes technical contact of what it ordered; an order that made the agency the owner is flagged (pure)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation import payer
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import about_grant, act, grant_refs, note, rights
from whmcs_bridge.families.delegation.lifecycle import command
from whmcs_bridge.model import Decision, as_int, message


def ordered(
    grants: dict[str, dict[str, Any]],
    data: dict[str, Any],
    now: datetime,
    rules: DelegationSection,
    users_of: int | None = None,
    owner_user: int | None = None,
) -> dict[str, Decision]:
    """An administrative contact's user ordered in the owner's name: the delegate becomes technical
    contact of what was ordered, automatically (and both sides are told). Who the delegate's users are, and who
    the owner's own (owner) user is, are read from WHMCS for each order, never taken from what a grant last read
    (tenth break round H3: a user staff removed from the agency's account is no longer its user). users_of: the
    delegate whose users that read answered (they are in its grants); owner_user: the owner's owner user then.
    An order its owner user placed is the owner's own, even when she is also a user of the agency's account
    (tenth break round H2)."""
    # requestor_id is taken as "the WHMCS user who placed the order"; the docs state no meaning and older
    # WHMCS 8 versions send none (None here): then nothing is granted on a guess (unknown_requestor).
    requestor = as_int(data.get("requestor_id"))
    owner = as_int(data.get("userid"))
    items = ordered_items(data)
    if requestor is None:
        return unknown_requestor(grants, data, owner, items, rules)
    out: dict[str, Decision] = {}
    reads: dict[str, Decision] = {}
    # Payer mode: what an order bills that it does not move (an addon) is noted, with or without what it moves.
    others = left_lines(data) if rules.order_invoice_to == "payer" else []
    for key, admin in grants.items():
        if not (items or others) or not may_order(admin, owner, rules):
            continue
        if users_of is None:
            reads[key] = read_users(admin, data)
            continue
        if admin["delegate"] != users_of or not orders_for_owner(admin, owner, requestor, rules):
            continue
        if owner_user is None or requestor == owner_user:  # the owner's own order (or its owner unknown): hers
            continue
        if others:
            out[key] = left_to_owner(admin, data, others, now, moved=bool(items))
        if items:
            out.update(technical_grant(grants, admin, data, items, now, rules))
    if not out:
        out.update(agency_became_owner(grants, data, requestor, owner))
    return {**reads, **out}


def technical_grant(
    grants: dict[str, dict[str, Any]],
    admin: dict[str, Any],
    data: dict[str, Any],
    items: list[dict[str, Any]],
    now: datetime,
    rules: DelegationSection,
) -> dict[str, Decision]:
    """The delegate made technical contact of what its user ordered through `admin` (once per order: seen again,
    unchanged), and, in payer mode, the order invoiced to it (payer.start)."""
    grant_id = f"o{as_int(data.get('orderid'))}-{admin['delegate']}"
    command_data = {
        "command": "grant",
        "grant": grant_id,
        "owner": as_int(data.get("userid")),
        "delegate": admin["delegate"],
        "role": "technical",
        "items": items,
        "by": "bridge",
        "basis": "",
        # What made it: the order, the user who placed it, and the administrative grant it came through.
        "order": {"id": as_int(data.get("orderid")), "user": as_int(data.get("requestor_id")), "via": admin["id"]},
    }
    key = f"grant:{grant_id}"
    existing = json.loads(json.dumps(grants.get(key) or {}))
    decision = command(existing, command_data, now, rules)  # seen again: unchanged
    if not existing and rules.order_invoice_to == "payer" and decision.state is not None:
        decision = payer.start(decision.state, data, decision)  # invoiced to the agency that ordered
    return {key: decision}


def read_users(admin: dict[str, Any], data: dict[str, Any]) -> Decision:
    """Read the delegate's users, and the owner's owner user, from WHMCS now, for this order: the answer (a
    ClientContext carrying the order and `owner_user`) comes back to ordered() with users_of, once per order and
    grant."""
    params = {"client_id": admin["delegate"], "owner_user_of": admin["owner"], "report": {"order": data}}
    read = act(admin, "refresh_client", f"order:{as_int(data.get('orderid'))}:users", params, admin["delegate"])
    return Decision(state=admin, actions=[read], refs=grant_refs(admin))


def unknown_requestor(
    grants: dict[str, dict[str, Any]],
    data: dict[str, Any],
    owner: int | None,
    items: list[dict[str, Any]],
    rules: DelegationSection,
) -> dict[str, Decision]:
    """WHMCS did not say who placed the order: an owner with an administrative contact that may order for
    it gets a staff check on its notes (what to do if the contact placed it), once per order."""
    out: dict[str, Decision] = {}
    for key, admin in grants.items():
        if not items or not may_order(admin, owner, rules) or owner is None:
            continue
        check = message("delegation.order_requestor_unknown", **about_grant(admin, order=str(data.get("orderid"))))
        flag = act(
            admin,
            "client_note",
            f"order:{data.get('orderid')}:requestor-unknown",
            note(check, client_id=owner, sticky=True),
            owner,
        )
        out[key] = Decision(state=admin, actions=[flag])
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


def left_lines(data: dict[str, Any]) -> list[str]:
    """The types of an order's lines that are neither a service nor a domain (an addon, say), in order, once each."""
    kinds = [str(line.get("type") or "") for line in data.get("lines") or []]
    return list(dict.fromkeys(k for k in kinds if k and k not in ("product", "domain")))


def left_to_owner(
    admin: dict[str, Any], data: dict[str, Any], kinds: list[str], now: datetime, *, moved: bool = False
) -> Decision:
    """`order_invoice_to: payer`: the agency's user placed an order that bills something other than a hosting or a
    domain (an addon): the bridge moves none of it to the agency. GetInvoice documents the item type and relid only
    by a hosting's example and GetOrders an order line only by a product's (DD:api-reference/getinvoice.md,
    getorders.md), so an addon's line on the owner's invoice cannot be told from WHMCS's documented answers; and an
    addon is no service or domain a grant covers. So those lines stay on the owner's invoice (the whole order when
    it bills nothing else; `moved`: its hostings and domains go to the agency as usual), and one sticky staff task
    on the owner's account says so and why, once per order."""
    order = as_int(data.get("orderid"))
    if order is None or order in admin.setdefault("orders_left", []):
        return Decision(state=admin)
    admin["orders_left"].append(order)
    invoice = str(as_int(data.get("invoiceid")) or "")
    admin["history"].append(
        {
            "at": now.isoformat(timespec="seconds"),
            "what": f"order #{order} placed by the delegate's user: its {', '.join(kinds)} line(s) left on the owner's "
            f"invoice #{invoice or '?'}"
            if moved
            else f"order #{order} placed by the delegate's user bills no hosting or domain: left on the owner's "
            f"invoice #{invoice or '?'}",
            "by": "bridge",
        }
    )
    fields = about_grant(
        admin, order=str(order), owner_invoice=invoice, lines=", ".join(kinds), moved="yes" if moved else None
    )
    task = note(message("delegation.order_left_to_owner_note", **fields), sticky=True)
    flag = act(admin, "client_note", f"order:{order}:left-to-owner", task, admin["owner"])
    return Decision(state=admin, actions=[flag], refs=grant_refs(admin))


def may_order(admin: dict[str, Any], owner: int | None, rules: DelegationSection) -> bool:
    """Is this an active administrative contact of the owner that may order for it?"""
    return (
        admin.get("status") == "active"
        and admin["role"] == "administrative"
        and admin["owner"] == owner
        and rights(admin, rules).order_for_owner
    )


def orders_for_owner(admin: dict[str, Any], owner: int | None, requestor: int | None, rules: DelegationSection) -> bool:
    """Is the order's requestor a user of an active administrative contact of the owner that may order for it?"""
    return may_order(admin, owner, rules) and requestor is not None and requestor in admin.get("delegate_users", [])


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
        check = message(
            "delegation.order_agency_owner",
            owner=owner,
            delegate=grant["delegate"],
            order=str(data.get("orderid")),
            user=str(requestor),
        )
        flag = act(
            grant,
            "client_note",
            f"order:{data.get('orderid')}:owner-check",
            note(check, client_id=owner, sticky=True),
            owner,
        )
        return {key: Decision(state=grant, actions=[flag])}
    return {}
