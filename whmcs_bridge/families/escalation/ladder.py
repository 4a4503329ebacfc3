"""The ladder's pure helpers: which clients and services a policy covers, and how a notice is addressed."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.escalation.config import EmailSpec, Policy
from whmcs_bridge.model import message


def email_params(
    spec: EmailSpec, client: int, data: dict[str, Any], related: dict[str, list[int]] | None = None
) -> list[dict[str, Any]]:
    """One SendEmail per record the email is about. A custom email is about the client; a template about
    the records of its type (DD:api-reference/sendemail.md: general -> client id, invoice -> invoice id,
    product -> service id, domain -> domain id), given in `related` by type: none, no email. A message of
the catalogue is rendered in the client's language when it is sent."""
    if spec.template:
        ids = [client] if spec.template_type == "general" else (related or {}).get(spec.template_type or "", [])
        return [{"related_id": i, "template": spec.template, "template_type": spec.template_type} for i in ids]
    return [{"related_id": client, "type": "general", "msg": message(spec.message or "", **data)}]


def no_record_note(spec: EmailSpec) -> dict[str, Any]:
    """A staff task when a template has no record of its type to be about (no email is sent)."""
    note = message("escalation.template_without_record", template=spec.template, template_type=spec.template_type)
    return {"msg": note, "sticky": True}


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
