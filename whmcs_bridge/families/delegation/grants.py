"""Helpers shared by the delegation rules: a grant's references, rights, descriptions and actions (pure)."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection, RoleRights
from whmcs_bridge.model import Action, action_key, message

# How the executor tells the rules that a renewal's or an order's WHMCS action ended (its outcome event).
OUTCOME = "DelegationRenewalApplied"

FAMILY = "delegation"


DIGEST = "digest"  # the one state key that times the owners' digests
UNKNOWN_TEMPLATES = "templates:unknown"  # the one state key counting emails of templates nobody classified
CUSTOM = "(custom message)"  # its entry for emails without a template (custom messages) to owners with an active grant
RENEWING = "renewing"  # what a grant with a delegate's renewal invoice open refers to (and its owner's)
SIDES = ("owner", "delegate")


def grant_refs(grant: dict[str, Any]) -> list[str]:
    refs = ["all-grants", f"owner:{grant['owner']}", f"delegate:{grant['delegate']}"]
    for renewal in grant.get("renewals", []):  # the invoices and the action a renewal waits on
        refs += [f"invoice:{renewal[k]}" for k in ("delegate_invoice", "owner_invoice") if renewal.get(k)]
        refs += [f"action:{renewal['action']}"] if renewal.get("action") else []
    if any(r["status"] == "invoiced" for r in grant.get("renewals", [])):
        # Any invoice paid (of the owner's, or of a client the event does not name) while the delegate's is open:
        # one WHMCS made after the request may bill the same period (renewal_invoice.owner_paid_other).
        refs += [RENEWING, f"{RENEWING}:{grant['owner']}"]
    billing = grant.get("billing") or {}  # an order invoiced to the delegate (payer.py): both invoices
    refs += [f"invoice:{billing[k]}" for k in ("delegate_invoice", "owner_invoice") if billing.get(k)]
    refs += [f"action:{billing[k]}" for k in ("invoice", "lines_off", "accept", "withdraw") if billing.get(k)]  # its steps'
    refs += [f"order:{billing['order']}"] if billing.get("order") else []  # staff cancelling it (CancelOrder)
    refs += [f"user:{u}" for u in grant.get("delegate_users", [])]
    for item in grant.get("items", []):
        refs.append(f"{item['kind']}:{item['id']}")
        if item.get("name"):
            refs.append(f"domain:{item['name']}")
    return refs


def parties_open(grant: dict[str, Any]) -> dict[str, Any]:
    """The guard `clients_open`: the action runs only while WHMCS shows neither side's account Closed."""
    return {"clients_open": {"grant": grant["id"], "owner": grant["owner"], "delegate": grant["delegate"]}}


def closed_note(
    grant_id: str, owner: int, side: str, client: int, *, deleted: bool = False
) -> tuple[str, dict[str, Any]]:
    """Staff told, once per grant and closed client (the action key), that WHMCS shows one side of a grant
    Closed (or, `deleted`, has it no more), so it does not act: (its key, the client note's parameters, on the
    owner's account)."""
    key = action_key(FAMILY, f"grant:{grant_id}", f"closed:{client}")
    said = {"deleted": "yes"} if deleted else {}
    msg = message("delegation.grant_closed_note", grant=grant_id, side=side, client=str(client), **said)
    return key, {"msg": msg, "sticky": True, "client_id": owner}


def kept_names(grant: dict[str, Any], msg: dict[str, Any]) -> dict[str, Any]:
    """The message with the names the grant keeps of its two clients (as WHMCS last gave them): the text names a
    client WHMCS no longer has (staff deleted it) by that name, not by its number (executor.texts.WhmcsNames)."""
    names = {f"client:{grant[side]}": str(grant[f"{side}_name"]) for side in SIDES if grant.get(f"{side}_name")}
    return {**msg, "names": names} if names else msg


def rights(grant: dict[str, Any], rules: DelegationSection) -> RoleRights:
    return rules.roles.get(grant["role"]) or RoleRights()


def act(
    grant: dict[str, Any],
    kind: str,
    purpose: str,
    params: dict[str, Any],
    client: int,
    guard: dict[str, Any] | None = None,
) -> Action:
    return Action(
        key=action_key(FAMILY, f"grant:{grant['id']}", purpose),
        family=FAMILY,
        kind=kind,
        params=params,
        client_id=client,
        subject=f"grant:{grant['id']}",
        guard=guard or {},
    )


def covered(grant: dict[str, Any]) -> list[str]:
    """What a grant covers, as a message names it: "service:110", "domain:11", or "client:11" (the
    owner's whole account, named by the owner's name)."""
    return list(dict.fromkeys(f"{i['kind']}:{i['id']}" for i in grant.get("items") or []))


def rights_fields(grant: dict[str, Any], rules: DelegationSection) -> dict[str, Any]:
    """What the grant lets its contact do, as message fields (message_fields.RIGHTS): `copies`, the email
    categories it receives copies of ("product/domain"; on some items, only the kinds of those items: copies.concerns),
    and "yes" or None for `support`, `may_renew` and `may_order`. Texts say exactly these, never the role's name."""
    allowed = rights(grant, rules)
    kinds = {i["kind"] for i in grant.get("items") or []}
    reach = None if "client" in kinds else {"product" if k == "service" else k for k in kinds}
    copies = [c for c in allowed.copy_emails if reach is None or c in reach]
    return {
        "copies": "/".join(copies) or None,
        "support": "yes" if allowed.support_authority else None,
        "may_renew": "yes" if allowed.renew else None,
        "may_order": "yes" if allowed.order_for_owner else None,
    }


def about_grant(grant: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A message's fields about a grant (message_fields.GRANT), with its own."""
    subjects = more.get("subjects", covered(grant))
    whole = bool(subjects) and all(str(s).startswith("client:") for s in subjects)
    return {
        "owner": grant["owner"],
        "delegate": grant["delegate"],
        "role": grant["role"],
        "subjects": covered(grant),
        "whole": "yes" if whole else None,
        "grant": grant["id"],
        **more,
    }


def about_order(grant: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A message's fields about an order invoiced to the agency (`order_invoice_to: payer`: the grant's `billing`)."""
    billing = grant["billing"]
    return about_grant(
        grant,
        order=str(billing["order"]),
        owner_invoice=str(billing["owner_invoice"]),
        invoice=str(billing.get("delegate_invoice") or ""),
        **more,
    )


def notice(client: int, msg: dict[str, Any]) -> dict[str, Any]:
    """An email to a client: a message of the catalogue (model.message), rendered when it is sent."""
    return {"related_id": client, "type": "general", "msg": msg}


def note(msg: dict[str, Any], **params: Any) -> dict[str, Any]:
    """A client note (staff read it in the staff language): a message of the catalogue."""
    return {"msg": msg, **params}


def record(grant: dict[str, Any], at: str, what: str, **facts: Any) -> None:
    """What the delegate did on the owner's behalf, for the owner's next digest: `what` is "copy"
    (with the email's `email` subject), "ticket" (with its `ticket`), "renewal" (with its `service` or `domain`
    and `invoice`) or "refund" (that invoice refunded after the renewal)."""
    grant.setdefault("activity", []).append({"at": at, "what": what, **facts})


def new_grant_subjects(items: list[dict[str, Any]], owner: int) -> list[str]:
    """The subjects a new grant (made, or accepted on a consent page) touches: its items and always the owner's
    account, whose hold (a dispute freezing the holder's account, the lock on an account that changed hands) covers
    whatever the account holds. Acting on a grant that exists (held_subjects) looks at its items only, so that a
    renewal of an unrelated service never waits for another's dispute."""
    return list(dict.fromkeys([*held_subjects(items, owner), f"client:{owner}"]))


def held_subjects(items: list[dict[str, Any]], owner: int) -> list[str]:
    """The subjects a grant touches, as holds name them: each item, and the owner's whole account when
    the grant covers it (a hold on any of the owner's subjects then concerns it too)."""
    subjects = [f"{i['kind']}:{int(i['id'])}" for i in items]
    if any(i["kind"] == "client" for i in items):
        subjects.append(f"client:{owner}")
    return subjects
