"""Helpers shared by the delegation rules: a grant's references, rights, descriptions and actions (pure)."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection, RoleRights
from whmcs_bridge.model import Action, action_key

FAMILY = "delegation"


DIGEST = "digest"  # the one state key that times the owners' digests


def grant_refs(grant: dict[str, Any]) -> list[str]:
    refs = ["all-grants", f"owner:{grant['owner']}", f"delegate:{grant['delegate']}"]
    refs += [f"invoice:{r['delegate_invoice']}" for r in grant.get("renewals", []) if r.get("delegate_invoice")]
    refs += [f"user:{u}" for u in grant.get("delegate_users", [])]
    for item in grant.get("items", []):
        refs.append(f"{item['kind']}:{item['id']}")
        if item.get("name"):
            refs.append(f"domain:{item['name']}")
    return refs


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


def describe(grant: dict[str, Any]) -> str:
    items = grant.get("items") or []
    if any(i["kind"] == "client" for i in items):
        return f"all services of client #{grant['owner']}"
    return ", ".join(dict.fromkeys(i.get("name") or f"{i['kind']} #{i['id']}" for i in items))


def notice(client: int, subject: str, html: str) -> dict[str, Any]:
    return {"related_id": client, "type": "general", "subject": subject, "html": html}


def record(grant: dict[str, Any], at: str, what: str) -> None:
    """What the delegate did on the owner's behalf, for the owner's next digest."""
    grant.setdefault("activity", []).append({"at": at, "what": what})
