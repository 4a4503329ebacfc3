"""The ladder's pure helpers: which clients and services a policy covers, and merge fields in notices."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.escalation.config import EmailSpec, Policy


def render(text: str, merge: dict[str, str]) -> str:
    out = text
    for name, value in merge.items():
        out = out.replace("{" + name + "}", value)
    return out


def email_params(spec: EmailSpec, client: int, merge: dict[str, str]) -> dict[str, Any]:
    if spec.template:
        return {"related_id": client, "template": spec.template}
    return {
        "related_id": client,
        "type": "general",
        "subject": render(spec.subject or "", merge),
        "html": render(spec.body or "", merge),
    }


def service_matches(policy: Policy, service: dict[str, Any]) -> bool:
    return service.get("pid") in policy.match.product_ids or (service.get("group") or "") in policy.match.product_groups


def client_matches(policy: Policy, context: dict[str, Any]) -> bool:
    match = policy.match
    if context.get("groupid") in match.client_groups:
        return True
    field = match.client_custom_field
    return bool(field and (context.get("customfields") or {}).get(str(field.id)) == field.equals)


def matches(policy: Policy, context: dict[str, Any]) -> bool:
    return client_matches(policy, context) or any(service_matches(policy, s) for s in context.get("services") or [])
