"""How each action kind runs against WHMCS, how its effect is recognised after an interruption, and
the guards re-checked just before it (the executor's per-kind tables)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.model import marker
from whmcs_bridge.whmcs.api import WhmcsApi

Params = dict[str, Any]

# Kinds whose effect cannot be read back but which may safely run twice.
REPEAT_SAFE = {
    "client_note",
    "module_command",
    "refresh_client",
    "resolve_ticket",
    "find_open_invoice",
    "read_owners",
    "announce",
}
# Kinds that only read WHMCS (or call nothing): no summary line in WHMCS's activity log.
READ_ONLY = {"refresh_client", "resolve_ticket", "find_open_invoice", "read_owners", "announce"}
OPEN_INVOICE = ("Unpaid", "Collections")


# --- guards: a reason to cancel, or None --------------------------------------------------------


def _guard_invoices_open(api: WhmcsApi, ids: list[int], client_id: int | None = None) -> str | None:
    """Every listed invoice still unpaid (or in collections); anything paid, payment pending or
    cancelled meanwhile cancels the action. One listing of the client's invoices, not a read each."""
    wanted = {int(i) for i in ids}
    statuses: dict[int, str] = {}
    if client_id and len(wanted) > 1:
        for invoice in api.invoices(client_id=client_id):
            if invoice.id in wanted:
                statuses[invoice.id] = invoice.status
    for invoice_id in sorted(wanted):
        status = statuses.get(invoice_id) or api.invoice(invoice_id).status  # not listed: read it
        if status not in OPEN_INVOICE:
            return f"invoice {invoice_id} is now {status}"
    return None


def _guard_service_status(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    service = api.service(int(spec["id"]))
    if service is None:
        return f"service {spec['id']} no longer exists"
    if service.status not in spec["in"]:
        return f"service {service.id} is {service.status}, not {' or '.join(spec['in'])}"
    return None


def _guard_ticket_exists(api: WhmcsApi, ticket_id: int, client_id: int | None = None) -> str | None:
    try:
        api.ticket(int(ticket_id))
    except WhmcsApiError:
        return f"ticket {ticket_id} no longer exists"
    return None


GUARDS: dict[str, Callable[[WhmcsApi, Any, int | None], str | None]] = {
    "invoices_open": _guard_invoices_open,
    "service_status": _guard_service_status,
    "ticket_exists": _guard_ticket_exists,
}
# Guards answered from the bridge's own store rather than WHMCS.
STORE_GUARDS = {"action_done"}


# --- how each kind runs, and how its effect is recognised --------------------------------------


def _with_marker(text: str, key: str, html: bool = False) -> str:
    return f"{text}\n<!-- {marker(key)} -->" if html else f"{text}\n\n{marker(key)}"


def client_context(api: WhmcsApi, client_id: int) -> dict[str, Any]:
    """What the rules need to know of a client: who it is, its group and custom fields, its services."""
    details = api.client_details(client_id)
    services = [
        {
            "id": s.id,
            "pid": s.pid,
            "group": s.groupname,
            "name": s.name,
            "domain": s.domain,
            "status": s.status,
            "suspension_reason": s.suspension_reason,
            "override_until": s.override_suspend_until.isoformat() if s.override_suspend_until else None,
            "customfields": s.customfields,
        }
        for s in api.services(client_id=client_id)
    ]
    return {
        "userid": details.id,
        "name": f"{details.firstname} {details.lastname}".strip(),
        "company": details.companyname,
        "email": details.email,
        "groupid": details.groupid,
        "customfields": {str(k): v for k, v in details.customfields.items()},
        "services": services,
        "domains": [{"id": d.id, "name": d.domainname} for d in api.domains(client_id=client_id)],
        "users": [{"id": u.id, "is_owner": u.is_owner} for u in details.users],
    }


def _report(params: Params, result: dict[str, Any], key: str) -> tuple[str, dict[str, Any]] | None:
    """An action that asks for it (`report_as`) has its result fed back to the rules as an event."""
    if not params.get("report_as"):
        return None
    return str(params["report_as"]), {**(params.get("report") or {}), **result, "action_key": key}


def find_open_invoice(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The client's unpaid invoice that bills a service (its renewal), newest first; none is an answer too."""
    for summary in _recent(api.invoices(client_id=int(p["client_id"]), status="Unpaid", newest_first=True), 50):
        invoice = api.invoice(summary.id)
        if any(
            item.relid == int(p["service_id"]) and item.type in ("Hosting", "Addon", "Domain", "DomainRenew")
            for item in invoice.items
        ):
            amount = invoice.balance if invoice.balance is not None else invoice.total
            return {
                **(p.get("report") or {}),
                "invoice_id": invoice.id,
                "amount": str(amount),
                "duedate": invoice.duedate.isoformat() if invoice.duedate else None,
            }
    return {**(p.get("report") or {}), "invoice_id": None}


def resolve_ticket(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The owners of what a ticket names: its linked service or domain, and the domain names found in it."""
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()

    def add(kind: str, item_id: int, name: str, owner: int) -> None:
        if (kind, item_id) not in seen:
            seen.add((kind, item_id))
            items.append({"kind": kind, "id": item_id, "name": name.lower(), "owner": owner})

    link = p.get("link")  # "service:12" or "domain:3"
    if link:
        kind, _, raw = str(link).partition(":")
        if kind == "service" and (service := api.service(int(raw))):
            add("service", service.id, service.domain, service.client_id)
        elif kind == "domain":
            for domain in api.domains(domain_id=int(raw)):
                add("domain", domain.id, domain.domainname, domain.client_id)
    for name in p.get("names", []):
        for found_service in api.services(domain=name):
            add("service", found_service.id, name, found_service.client_id)
        for found_domain in api.domains(domain=name):
            add("domain", found_domain.id, name, found_domain.client_id)
    return {
        "ticketid": p["ticket_id"],
        "writer": p.get("writer"),
        "items": items,
        "state_key": p.get("state_key"),
        "renew": p.get("renew", False),
    }


def read_owners(api: WhmcsApi, subjects: list[dict[str, Any]]) -> dict[str, int | None]:
    """The client that owns each subject now ("service:12" -> client id; None when it is gone)."""
    owners: dict[str, int | None] = {}
    for subject in subjects:
        kind, item_id = subject["kind"], int(subject["id"])
        if kind == "service":
            service = api.service(item_id)
            owners[f"service:{item_id}"] = service.client_id if service else None
        elif kind == "domain":
            domain = next(api.domains(domain_id=item_id), None)
            owners[f"domain:{item_id}"] = domain.client_id if domain else None
        else:  # a whole account: its owner user is the one WHMCS's "Make Owner" changes
            details = api.client_details(item_id)
            owner = next((u.id for u in details.users if u.is_owner), None)
            owners[f"client:{item_id}"] = owner
    return owners


def _client(p: Params, client_id: int | None) -> int:
    value = p.get("client_id", client_id)
    if value is None:
        raise ValueError("the action names no client")
    return int(value)


def _run(
    api: WhmcsApi,
    kind: str,
    p: Params,
    key: str,
    client_id: int | None,
    mint: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    if p.get("consent"):  # a one-time link, made now, goes into the message (email or ticket)
        if mint is None:
            raise ValueError("no consent link can be made here")
        link = mint(p["consent"])
        p = {**p, **{f: p[f].replace("{consent_link}", link) for f in ("html", "message") if f in p}}
    if kind == "email":
        if p.get("template"):
            api.send_email(int(p["related_id"]), template=p["template"], merge=p.get("merge"))
            return {}
        html = _with_marker(p["html"], key, html=True)
        api.send_email(
            int(p["related_id"]),
            custom_type=p.get("type", "general"),
            subject=p["subject"],
            html=html,
            merge=p.get("merge"),
        )
        # Proof: the email-log id of what was sent, found by the key written into it.
        found = _email_with(api, client_id, marker(key)) if client_id else None
        return {"email_id": found} if found else {}
    if kind == "ticket":
        ticket_id, tid = api.open_ticket(
            deptid=int(p["deptid"]),
            subject=p["subject"],
            message=_with_marker(p["message"], key),
            client_id=p.get("client_id", client_id),
            service_id=p.get("service_id"),
            domain_id=p.get("domain_id"),
            priority=p.get("priority", "Medium"),
            notify=p.get("notify", True),
            name=p.get("name"),
            email=p.get("email"),
        )
        return {"ticket_id": ticket_id, "tid": tid}
    if kind == "ticket_note":
        api.add_ticket_note(int(p["ticket_id"]), _with_marker(p["message"], key))
        return {}
    if kind == "ticket_reply":
        api.add_ticket_reply(int(p["ticket_id"]), _with_marker(p["message"], key))
        return {}
    if kind == "client_note":
        return {
            "note_id": api.add_client_note(
                _client(p, client_id), _with_marker(p["text"], key), sticky=p.get("sticky", False)
            )
        }
    if kind == "activity":
        api.log_activity(f"{p['text']} {marker(key)}", p.get("client_id", client_id))
        return {}
    if kind == "suspend":
        api.suspend(int(p["service_id"]), p.get("reason"))
        return {}
    if kind == "unsuspend":
        api.unsuspend(int(p["service_id"]))
        return {}
    if kind == "terminate":
        api.terminate(int(p["service_id"]))
        return {}
    if kind == "module_command":
        api.module_command(int(p["service_id"]), p["function"])
        return {}
    if kind == "invoice_status":
        api.update_invoice(int(p["invoice_id"]), status=p["status"])
        return {}
    if kind == "create_invoice":
        lines = [(str(d), Decimal(str(a))) for d, a in p["lines"]]
        invoice_id = api.create_invoice(
            _client(p, client_id),
            lines,
            notes=_with_marker(p.get("notes", ""), key),
            send=p.get("send", False),
        )
        return {"invoice_id": invoice_id}
    if kind == "settle_invoice":
        amount = Decimal(str(p["amount"])) if p.get("amount") is not None else None
        api.add_invoice_payment(
            int(p["invoice_id"]), transid=key, gateway=p.get("gateway", "banktransfer"), amount=amount
        )
        return {}
    if kind == "registrant_update":
        api.update_whois(int(p["domain_id"]), p["xml"])
        return {}
    if kind == "credential_change":
        # Made here, sent to WHMCS, never stored or logged: the owner gets it through WHMCS's own email.
        api.change_password(int(p["service_id"]), secrets.token_urlsafe(15))
        if p.get("notify_template"):
            api.send_email(int(p["service_id"]), template=p["notify_template"])
        return {}
    if kind == "refresh_client":
        return {"context": client_context(api, _client(p, client_id))}
    if kind == "resolve_ticket":
        return {"feed": ("TicketResolved", resolve_ticket(api, p))}
    if kind == "find_open_invoice":
        return {"feed": ("OpenInvoiceFound", find_open_invoice(api, p))}
    if kind == "read_owners":
        return {"feed": ("OwnershipOwners", {**(p.get("report") or {}), "owners": read_owners(api, p["subjects"])})}
    if kind == "announce":
        return {"feed": (str(p["type"]), dict(p["data"]))}
    raise ValueError(f"no runner for action kind {kind}")  # the catalogue and this table disagree


def _observe(api: WhmcsApi, kind: str, p: Params, key: str, client_id: int | None) -> dict[str, Any] | None | bool:
    """After an interruption: the result if the effect is in WHMCS, False if absent, None if unknowable."""
    tag = marker(key)
    if kind == "email":
        if p.get("template") or client_id is None:
            return None
        found = _email_with(api, client_id, tag)
        return {"email_id": found} if found else False
    if kind == "ticket":
        for ticket in _recent(api.tickets(client_id=p.get("client_id", client_id), subject=p["subject"])):
            full = api.ticket(ticket.id)
            if full.replies and tag in full.replies[0].message:
                return {"ticket_id": full.id, "tid": full.tid}
        return False
    if kind == "ticket_note":
        return {} if any(tag in n.message for n in api.ticket(int(p["ticket_id"])).notes) else False
    if kind == "ticket_reply":
        return {} if any(tag in r.message for r in api.ticket(int(p["ticket_id"])).replies) else False
    if kind == "activity":
        return {} if next(api.activity(description=tag), None) else False
    if kind in ("suspend", "unsuspend", "terminate"):
        service = api.service(int(p["service_id"]))
        wanted = {"suspend": "Suspended", "unsuspend": "Active", "terminate": "Terminated"}[kind]
        return {} if service is not None and service.status == wanted else False
    if kind == "invoice_status":
        return {} if api.invoice(int(p["invoice_id"])).status == p["status"] else False
    if kind == "create_invoice":
        for invoice in _recent(api.invoices(client_id=_client(p, client_id), newest_first=True)):
            if tag in invoice.notes:
                return {"invoice_id": invoice.id}
        return False
    if kind == "settle_invoice":
        return {} if any(t.transid == key for t in api.invoice(int(p["invoice_id"])).transactions) else False
    if kind == "registrant_update":
        wanted_contact = {str(k): str(v) for k, v in p.get("expect", {}).items()}
        current = api.whois(int(p["domain_id"])).contacts.get(p.get("contact_type", "Registrant"), {})
        return {} if wanted_contact and all(current.get(k) == v for k, v in wanted_contact.items()) else False
    return None


def _email_with(api: WhmcsApi, client_id: int, tag: str) -> int | None:
    return next((e.id for e in _recent(api.emails(int(client_id))) if tag in e.message), None)


def _recent(items: Any, limit: int = 25) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= limit:
            break
    return out
