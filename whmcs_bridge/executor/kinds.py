"""The executor's table of action kinds (ACTION_KINDS, one row per kind: how it runs against WHMCS, how
its effect is recognised after an interruption, whether repeating it is harmless, whether it only
reads, what undoes it), and the guards re-checked just before an action runs. The kind names and
which are destructive by default are model.KINDS and model.DESTRUCTIVE_KINDS (the pure rules need them)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import BridgeError, WhmcsApiError, WhmcsAuthError
from whmcs_bridge.families.escalation.calendar import next_window
from whmcs_bridge.model import DESTRUCTIVE_KINDS, marker, message
from whmcs_bridge.whmcs import whois
from whmcs_bridge.whmcs.api import WhmcsApi, not_found

Params = dict[str, Any]
Result = dict[str, Any]
# What an observer finds after an interruption: the result if the effect is in WHMCS, False if it is
# absent (run it again), None if WHMCS cannot tell.
Observed = Result | Literal[False] | None
Mint = Callable[[dict[str, Any]], str]
RULE_BUG = "(a rule bug: report it; reject this action with `whmcs-bridge approvals reject`)"
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


class Cancel(str):
    """A guard's reason to cancel that staff must hear of: `note` is a client note (a message) to plan."""

    note: dict[str, Any] | None = None

    @classmethod
    def noting(cls, reason: str, note: dict[str, Any]) -> Cancel:
        cancel = cls(reason)
        cancel.note = note
        return cancel


def _guard_suspended_by_us(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """An unsuspension undoes the bridge's own suspension only: the service still suspended, for the
    reason the bridge gave (GetClientsProducts' `suspensionreason`, DD:api-reference/getclientsproducts.md,
    which ModuleSuspend sets and UpdateClientProduct's `suspendreason` changes). Staff who re-suspended
    it, or changed the reason (an abuse suspension), own it now: it is left alone and they are told."""
    service = api.service(int(spec["id"]))
    if service is None:
        return f"service {spec['id']} no longer exists"
    if service.status != "Suspended":
        return f"service {service.id} is {service.status}, not suspended"
    if service.suspension_reason.strip() != str(spec["reason"]).strip():
        note = message(
            "escalation.left_suspended",
            service=service.id,
            reason=service.suspension_reason,
            ours=str(spec["reason"]),
        )
        reason = f"service {service.id} is suspended for {service.suspension_reason!r}, not the bridge's {spec['reason']!r}: left to staff"
        return Cancel.noting(reason, {"msg": note, "sticky": True})
    return None


def _guard_not_staffs(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """An undo of the bridge's module command (mail back on, panel unlocked) runs on a service that is active,
    or suspended for one of the ladder's own reasons (its unsuspension follows). A service staff suspended
    for a reason of their own (an abuse suspension) is left as it is, and staff are told what was not undone."""
    service = api.service(int(spec["id"]))
    if service is None:
        return f"service {spec['id']} no longer exists"
    if service.status not in ("Active", "Suspended"):
        return f"service {service.id} is {service.status}, not Active or Suspended"
    reason = service.suspension_reason.strip()
    if service.status == "Suspended" and reason not in {str(r).strip() for r in spec.get("reasons") or []}:
        note = message("escalation.left_undone", service=service.id, reason=reason, function=str(spec["function"]))
        why = f"service {service.id} is suspended for {reason!r} by staff: {spec['function']} left to staff"
        return Cancel.noting(why, {"msg": note, "sticky": True})
    return None


def _guard_services_active(api: WhmcsApi, ids: list[int], client_id: int | None = None) -> str | None:
    for service_id in ids:
        service = api.service(int(service_id))
        if service is None or service.status != "Active":
            return f"service {service_id} is {service.status if service else 'gone'}, not Active"
    return None


def _guard_client_owes(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """The client still owes more than the tolerance on its overdue invoices (their balances, read now): a
    step of the ladder is cancelled when the client became current, not when one invoice of many was paid."""
    owed = Decimal(live_facts(api, spec)["amount_due"])
    if owed <= Decimal(str(spec.get("tolerance") or "0")):
        return f"client {spec['client_id']} is current (it owes {owed:.2f} on its overdue invoices)"
    return None


def _guard_service_due(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """A renewal applies to the due date it was invoiced for: a service renewed meanwhile (its owner paid the
    line too, or staff moved the date) is not renewed again."""
    service = api.service(int(spec["id"]))
    if service is None:
        return f"service {spec['id']} no longer exists"
    now = service.nextduedate.isoformat() if service.nextduedate else "none"
    if now != str(spec["is"]):
        return f"service {service.id} was renewed meanwhile: its next due date is {now}, not {spec['is']}"
    return None


GUARDS: dict[str, Callable[[WhmcsApi, Any, int | None], str | None]] = {
    "client_owes": _guard_client_owes,
    "invoices_open": _guard_invoices_open,
    "service_status": _guard_service_status,
    "ticket_exists": _guard_ticket_exists,
    "suspended_by_us": _guard_suspended_by_us,
    "service_due": _guard_service_due,
    "not_staffs": _guard_not_staffs,
    "services_active": _guard_services_active,
}
# Guards answered from the bridge's own store rather than WHMCS.
STORE_GUARDS = {"action_done", "awaiting_approval", "state_active", "after_steps", "ladder_running"}
# Guards that make an action wait rather than cancel it (checked before the breaker and the claim).
WAITS = {"window"}


def window_opens(api: WhmcsApi, spec: dict[str, Any], now: datetime) -> tuple[datetime, str]:
    """The first instant a destructive step may run, approved or not, and why it waits: the allowed days and
    hours of the configured zone without holidays; `after` (the day after a deadline announced to the client,
    or the spacing after the client's last destructive stage); the day after the service's "do not suspend
    until" date, read from WHMCS now (GetClientsProducts `overidesuspenduntil`, which UpdateClientProduct
    sets: DD:api-reference/updateclientproduct.md)."""
    zone = ZoneInfo(str(spec.get("zone") or "UTC"))
    earliest, why = now, "the destructive window"
    if spec.get("after"):
        after = datetime.combine(date.fromisoformat(str(spec["after"])), time(0), zone)
        if after > earliest:
            earliest, why = after, "the deadline announced to the client and the spacing between destructive stages"
    if spec.get("service_id"):
        service = api.service(int(spec["service_id"]))
        until = service.override_suspend_until if service else None
        if until is not None:
            after_override = datetime.combine(until + timedelta(days=1), time(0), zone)
            if after_override > earliest:
                earliest, why = after_override, f"the service's do-not-suspend-until date {until.isoformat()}"
    holidays = {date.fromisoformat(d) for d in spec.get("holidays") or []}
    opens = next_window(earliest.astimezone(zone), spec["days"], spec["hours"], holidays).astimezone(UTC)
    return opens, why


# --- one action as its kind sees it ------------------------------------------------------------


class ActionError(BridgeError):
    """An action that cannot run as planned, said as one sentence staff can act on; it parks the action."""


def bad_parameters(kind: str, exc: KeyError | TypeError | ValueError) -> ActionError:
    """A failure inside a kind's runner or observer: the rule planned parameters the kind cannot use."""
    if isinstance(exc, KeyError):
        what = f"is missing its parameter {exc.args[0]!r}" if exc.args else "is missing a parameter"
    else:
        what = f"has a parameter it cannot use: {exc}"
    return ActionError(f"{kind} action {what} {RULE_BUG}")


@dataclass(frozen=True)
class Call:
    """One action as its kind's runner and observer see it."""

    api: WhmcsApi
    params: Params
    key: str
    client_id: int | None

    @property
    def tag(self) -> str:
        """How the action's key is written into what it creates in WHMCS."""
        return marker(self.key)

    def marked(self, text: str, html: bool = False) -> str:
        """The text with the action's key written into it, to recognise it after a crash."""
        return f"{text}\n<!-- {self.tag} -->" if html else f"{text}\n\n{self.tag}"

    def client(self) -> int:
        """The client the action is for: its own `client_id` parameter, else the action's client."""
        value = self.params.get("client_id", self.client_id)
        if value is None:
            raise KeyError("client_id")  # neither the action nor its parameters name one
        return int(value)

    def reported(self, result: Result) -> tuple[str, dict[str, Any]] | None:
        """An action that asks for it (`report_as`) has its result fed back to the rules as an event."""
        if not self.params.get("report_as"):
            return None
        return str(self.params["report_as"]), {**(self.params.get("report") or {}), **result, "action_key": self.key}


def with_consent_link(params: Params, mint: Mint | None) -> Params:
    """A one-time link, made now, goes into the message (email or ticket) of an action that asks for it."""
    if not params.get("consent"):
        return params
    if mint is None:
        raise ActionError("no consent link can be made here")
    link = mint(params["consent"])
    return {**params, **{f: params[f].replace("{consent_link}", link) for f in ("html", "message") if f in params}}


def _done_if(seen: bool) -> Observed:
    return {} if seen else False


def _email_with(api: WhmcsApi, client_id: int, tag: str, subject: str | None = None) -> int | None:
    """The client's logged email carrying the key, looked for among every email with that subject
    (GetEmails states no order: the newest is not necessarily on the first page)."""
    return next((e.id for e in api.emails(int(client_id), subject=subject) if tag in e.message), None)


def _recent(items: Any, limit: int = 25) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= limit:
            break
    return out


# --- reads the rules ask for, fed back to them as events ---------------------------------------


def open_invoices(api: WhmcsApi, client_id: int) -> list[dict[str, Any]]:
    """The client's open invoices (Unpaid and Collections) with what is left to pay on each, as Decimals.
    GetInvoices lists no balance (DD:api-reference/getinvoices.md); GetInvoice gives it, "the amount left
    to pay on the invoice" (DD:api-reference/getinvoice.md), net of partial payments (AddInvoicePayment
    with an amount, DD:api-reference/addinvoicepayment.md) and of credit applied (ApplyCredit): the total
    is never what is owed."""
    out = []
    for status in OPEN_INVOICE:
        for summary in api.invoices(client_id=client_id, status=status):
            invoice = api.invoice(summary.id)
            if invoice.status not in OPEN_INVOICE:  # changed between the list and the read
                continue
            out.append(
                {
                    "id": invoice.id,
                    "due": invoice.duedate.isoformat() if invoice.duedate else None,
                    "total": invoice.total,
                    "balance": invoice.balance if invoice.balance is not None else invoice.total,
                    "status": invoice.status,
                }
            )
    return sorted(out, key=lambda i: int(i["id"]))


def account(api: WhmcsApi, client_id: int, known: list[int]) -> dict[str, Any]:
    """The client's open invoices and balances now, and what became of the invoices the rules knew as
    open and that are no longer (Paid, Cancelled, Refunded... read one by one): a cancelled invoice is
    not a payment."""
    invoices = open_invoices(api, client_id)
    still = {i["id"] for i in invoices}
    left: dict[str, str] = {}
    for invoice_id in sorted({int(i) for i in known} - still):
        try:
            left[str(invoice_id)] = api.invoice(invoice_id).status
        except WhmcsApiError:
            left[str(invoice_id)] = "Deleted"
    return {
        "invoices": [{**i, "total": str(i["total"]), "balance": str(i["balance"])} for i in invoices],
        "left": left,
    }


def live_facts(api: WhmcsApi, spec: dict[str, Any]) -> dict[str, Any]:
    """The ladder's amount fields as they are now (a notice says what is owed when it is sent, not when it
    was planned): the balances of the client's invoices overdue on the day the step was planned (`as_of`;
    an invoice replacing cancelled ones counts from the due date in `counts_from`), their number, the
    oldest due date and the days since it on that day."""
    as_of = date.fromisoformat(str(spec["as_of"]))
    counts_from = {str(k): v for k, v in (spec.get("counts_from") or {}).items()}
    owed, dues = Decimal("0"), []
    for invoice in open_invoices(api, int(spec["client_id"])):
        due = counts_from.get(str(invoice["id"])) or invoice["due"]
        if invoice["balance"] > 0 and due and date.fromisoformat(due) < as_of:
            owed += invoice["balance"]
            dues.append(date.fromisoformat(due))
    facts: dict[str, Any] = {"amount_due": f"{owed:.2f}", "invoice_count": len(dues)}
    if dues:
        facts.update(oldest_due=min(dues).isoformat(), days_overdue=(as_of - min(dues)).days)
    return facts


def client_context(api: WhmcsApi, client_id: int, known: list[int] | None = None) -> dict[str, Any]:
    """What the rules need to know of a client: who it is, its group and custom fields, its services; with
    `known` (the invoices a case knows as open), its account too (open invoices and balances)."""
    details = api.client_details(client_id)
    services = [
        {
            "id": s.id,
            "pid": s.pid,
            "group": s.groupname,
            "name": s.name,
            "domain": s.domain,
            "status": s.status,
            "nextduedate": s.nextduedate.isoformat() if s.nextduedate else None,
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
        "currency": details.currency_code,
        "language": details.language,
        "groupid": details.groupid,
        "customfields": {str(k): v for k, v in details.customfields.items()},
        "services": services,
        "domains": [{"id": d.id, "name": d.domainname} for d in api.domains(client_id=client_id)],
        "users": [{"id": u.id, "is_owner": u.is_owner} for u in details.users],
        **(account(api, client_id, known) if known is not None else {}),
    }


def find_open_invoice(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The owner's open invoice that bills the service's renewal, newest first: its line for the service (a
    "Hosting" item whose relid is the service: DD:api-reference/getinvoice.md lists each item's id, type,
    relid and amount), and the service's next due date and billing cycle now (GetClientsProducts). A service
    that is gone, is another client's now or is not active has nothing to renew; none found is an answer too."""
    report = p.get("report") or {}
    service = api.service(int(p["service_id"]))
    # A pending service's invoice is its order's first payment, which provisions it: not a renewal.
    if service is None or service.client_id != int(p["client_id"]) or service.status not in ("Active", "Suspended"):
        return {**report, "invoice_id": None}
    for summary in _recent(api.invoices(client_id=int(p["client_id"]), status="Unpaid", newest_first=True), 50):
        invoice = api.invoice(summary.id)
        line = next((i for i in invoice.items if i.type == "Hosting" and i.relid == service.id), None)
        if line is not None and invoice.is_open:
            return {
                **report,
                "invoice_id": invoice.id,
                "line_id": line.id,
                "amount": str(line.amount),
                "due": service.nextduedate.isoformat() if service.nextduedate else None,
                "cycle": service.billingcycle,
            }
    return {**report, "invoice_id": None}


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
    out = {
        "ticketid": p["ticket_id"],
        "writer": p.get("writer"),
        "items": items,
        "state_key": p.get("state_key"),
        "renew": p.get("renew", False),
    }
    return {**out, **who_wrote(api, p)} if items else out


def who_wrote(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """For a family that asks (`who_wrote`): the WHMCS user who wrote the message, and whether the text
    asks for something only the account's owner may have (`sensitive`, decided by the rules)."""
    if not p.get("who_wrote") or not p.get("writer"):
        return {}
    requestor = ticket_requestor(api, int(p["ticket_id"]), p.get("reply"), int(p["writer"]))
    return {"requestor": requestor, "sensitive": bool(p.get("sensitive"))}


def ticket_requestor(api: WhmcsApi, ticket_id: int, reply_id: Any, client_id: int) -> dict[str, Any] | None:
    """Which WHMCS user wrote the ticket's message on the client's account, and whether that user is the
    account's owner: GetTicket names the requestor of each message (WHMCS 8.0+, by name and email,
    DD:api-reference/getticket.md); GetUsers gives the user's id, creation date and its link to each client
    with `isOwner` (DD:api-reference/getusers.md). GetTicket's requestor_type values are not listed, so only
    GetUsers' isOwner decides. None when WHMCS does not say (an older WHMCS, a guest, a ticket deleted
    meanwhile: its note's own guard then finds it gone)."""
    try:
        ticket = api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not_found(exc):
            return None
        raise
    message = next((r for r in ticket.replies if reply_id and r.id == int(reply_id)), None)
    if message is None and not reply_id and ticket.replies:
        message = ticket.replies[0]
    email = (message.requestor_email if message else ticket.requestor_email).strip()
    name = (message.requestor_name if message else ticket.requestor_name).strip()
    if not email:
        return None
    user = next((u for u in api.users(search=email) if u.email.lower() == email.lower()), None)
    link = next((c for c in user.clients if c.client_id == client_id), None) if user else None
    return {
        "name": name,
        "email": email,
        "user": user.id if user else None,
        "owner": link.is_owner if link else None,
        "since": user.datecreated.isoformat() if user and user.datecreated else None,
        "company": bool(api.client_details(client_id).companyname) if link and not link.is_owner else None,
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


# --- each kind: how it runs, and how its effect is recognised after an interruption -------------


def _run_email(c: Call) -> Result:
    p = c.params
    if p.get("template"):
        c.api.send_email(int(p["related_id"]), template=p["template"], merge=p.get("merge"))
        return {}
    c.api.send_email(
        int(p["related_id"]),
        custom_type=p.get("type", "general"),
        subject=p["subject"],
        html=c.marked(p["html"], html=True),
        merge=p.get("merge"),
    )
    # Proof: the email-log id of what was sent, found by the key written into it.
    found = _email_with(c.api, c.client_id, c.tag, p["subject"]) if c.client_id else None
    return {"email_id": found} if found else {}


def _observe_email(c: Call) -> Observed:
    if c.params.get("template") or c.client_id is None:
        return None  # a template's text is WHMCS's own (no key in it), or no client's email log to read
    found = _email_with(c.api, c.client_id, c.tag, c.params.get("subject"))
    return {"email_id": found} if found else False


def _run_ticket(c: Call) -> Result:
    p = c.params
    ticket_id, tid = c.api.open_ticket(
        deptid=int(p["deptid"]),
        subject=p["subject"],
        message=c.marked(p["message"]),
        client_id=p.get("client_id", c.client_id),
        service_id=p.get("service_id"),
        domain_id=p.get("domain_id"),
        priority=p.get("priority", "Medium"),
        notify=p.get("notify", True),
        name=p.get("name"),
        email=p.get("email"),
        preface=p.get("preface"),
    )
    return {"ticket_id": ticket_id, "tid": tid}


def _observe_ticket(c: Call) -> Observed:
    # Every ticket with the subject (GetTickets states no order), each read with its opening message
    # first (api.ticket sends repliessort=ASC).
    for ticket in c.api.tickets(client_id=c.params.get("client_id", c.client_id), subject=c.params["subject"]):
        full = c.api.ticket(ticket.id)
        if full.replies and c.tag in full.replies[0].message:
            return {"ticket_id": full.id, "tid": full.tid}
    return False


def _run_ticket_note(c: Call) -> Result:
    c.api.add_ticket_note(int(c.params["ticket_id"]), c.marked(c.params["message"]))
    return {}


def _observe_ticket_note(c: Call) -> Observed:
    return _done_if(any(c.tag in n.message for n in c.api.ticket(int(c.params["ticket_id"])).notes))


def _run_ticket_reply(c: Call) -> Result:
    c.api.add_ticket_reply(int(c.params["ticket_id"]), c.marked(c.params["message"]))
    return {}


def _observe_ticket_reply(c: Call) -> Observed:
    return _done_if(any(c.tag in r.message for r in c.api.ticket(int(c.params["ticket_id"])).replies))


def _run_client_note(c: Call) -> Result:
    note_id = c.api.add_client_note(c.client(), c.marked(c.params["text"]), sticky=c.params.get("sticky", False))
    return {"note_id": note_id}


def _run_activity(c: Call) -> Result:
    c.api.log_activity(f"{c.params['text']} {c.tag}", c.params.get("client_id", c.client_id))
    return {}


def _observe_activity(c: Call) -> Observed:
    return _done_if(next(c.api.activity(description=c.tag), None) is not None)


def _observe_client_note(c: Call) -> Observed:
    """No API reads client notes; the note's trace line in the activity log, written once the note was
    made, proves it was. Without the line WHMCS cannot tell (None), it does not say the note is absent."""
    traced = any("client_note" in entry.description for entry in c.api.activity(description=c.tag))
    return {"found_by": "its trace line in the activity log"} if traced else None


def _run_suspend(c: Call) -> Result:
    c.api.suspend(int(c.params["service_id"]), c.params.get("reason"))
    return {}


def _run_unsuspend(c: Call) -> Result:
    c.api.unsuspend(int(c.params["service_id"]))
    return {}


def _run_terminate(c: Call) -> Result:
    c.api.terminate(int(c.params["service_id"]))
    return {}


def _service_now(status: str) -> Callable[[Call], Observed]:
    """An observer: the action's service is in `status` now."""

    def observe(c: Call) -> Observed:
        service = c.api.service(int(c.params["service_id"]))
        return _done_if(service is not None and service.status == status)

    return observe


def _run_module_command(c: Call) -> Result:
    c.api.module_command(int(c.params["service_id"]), c.params["function"])
    return {}


def _run_invoice_status(c: Call) -> Result:
    c.api.update_invoice(int(c.params["invoice_id"]), status=c.params["status"])
    return {}


def _observe_invoice_status(c: Call) -> Observed:
    return _done_if(c.api.invoice(int(c.params["invoice_id"])).status == c.params["status"])


def _invoice_lines(c: Call) -> list[tuple[str, Decimal]]:
    return [(str(d), Decimal(str(a))) for d, a in c.params["lines"]]


def _run_create_invoice(c: Call) -> Result:
    # No key in the invoice: its notes "appear on the created invoice" (DD:api-reference/createinvoice.md)
    # the client sees, and neither CreateInvoice nor UpdateInvoice has a field the client does not see.
    notes = str(c.params.get("notes", ""))
    invoice_id = c.api.create_invoice(c.client(), _invoice_lines(c), notes=notes, send=c.params.get("send", False))
    return {"invoice_id": invoice_id}


def _observe_create_invoice(c: Call) -> Observed:
    """The client's recent invoice with the action's notes and exactly its lines (rules write notes that
    name what the invoice is for, e.g. which renewal, so they differ between actions); without notes the
    invoice cannot be told from another: unknowable."""
    notes = str(c.params.get("notes", "")).strip()
    if not notes:
        return None
    wanted = sorted(_invoice_lines(c))
    for summary in _recent(c.api.invoices(client_id=c.client(), newest_first=True)):
        if summary.notes.strip() != notes:
            continue
        invoice = c.api.invoice(summary.id)
        if sorted((item.description, item.amount) for item in invoice.items) == wanted:
            return {"invoice_id": invoice.id}
    return False


def _run_settle_invoice(c: Call) -> Result:
    p = c.params
    amount = Decimal(str(p["amount"])) if p.get("amount") is not None else None
    # The gateway is this WHMCS's, not the rule's (older rows named a made-up one): one that GetPaymentMethods
    # lists, else WHMCS would refuse the payment or book it under a gateway that does not exist.
    gateway = c.api.payment_gateway
    active = c.api.payment_methods()
    if gateway not in active:
        raise ActionError(
            f"the payment gateway {gateway!r} (whmcs.payment_gateway) is not active in WHMCS, which lists "
            f"{', '.join(active) or 'none'}: set whmcs.payment_gateway to one of them, restart, and approve the action again (`whmcs-bridge approvals approve`)"
        )
    # The payment is dated when it is recorded (the bridge's clock, UTC).
    c.api.add_invoice_payment(int(p["invoice_id"]), transid=c.key, gateway=gateway, paid_at=utcnow(), amount=amount)
    return {}


def _observe_settle_invoice(c: Call) -> Observed:
    # DD:api-reference/gettransactions.md filters by `transid`: the key is the payment's transaction id.
    found = c.api.transactions(transid=c.key)
    return _done_if(any(t.transid == c.key and t.invoice_id == int(c.params["invoice_id"]) for t in found))


def _renewal_line(c: Call) -> tuple[Any, bool]:
    """The owner's invoice, and whether it still bills the renewed service's line (open, with the line)."""
    invoice = c.api.invoice(int(c.params["owner_invoice"]))
    return invoice, invoice.is_open and any(i.id == int(c.params["line_id"]) for i in invoice.items)


def _run_renew_service(c: Call) -> Result:
    """The delegate paid one service's renewal: take its line off the owner's invoice (UpdateInvoice
    `deletelineids`, DD:api-reference/updateinvoice.md; the totals follow the items), or cancel that invoice
    when the line was its only item, rather than leave a zero invoice whose fate WHMCS does not document;
    then move the service's next due date one cycle on (UpdateClientProduct `nextduedate`). Each step reads
    first, so a second run after an interruption finishes what the first left."""
    p = c.params
    invoice, billed = _renewal_line(c)
    if billed and len(invoice.items) == 1:
        c.api.update_invoice(invoice.id, status="Cancelled")
    elif billed:
        c.api.update_invoice(invoice.id, deletelineids=[int(p["line_id"])])
    service = c.api.service(int(p["service_id"]))
    if service is None:
        raise ActionError(f"service {p['service_id']} no longer exists: its renewal cannot be applied")
    if service.nextduedate is not None and service.nextduedate.isoformat() == str(p["from"]):
        c.api.update_service_due(service.id, date.fromisoformat(str(p["until"])))
    return {"nextduedate": str(p["until"])}


def _observe_renew_service(c: Call) -> Observed:
    service = c.api.service(int(c.params["service_id"]))
    moved = (
        service is not None
        and service.nextduedate is not None
        and service.nextduedate.isoformat() == str(c.params["until"])
    )
    return {"nextduedate": str(c.params["until"])} if moved and not _renewal_line(c)[1] else False


def _holder(c: Call) -> dict[str, str]:
    """The new holder's details: read from its WHMCS profile now when it is a client (`holder_client`),
    else as the case recorded them (`holder`; rows planned before it carried `expect` in registrar
    spelling)."""
    client_id = c.params.get("holder_client")
    if client_id:
        profile = c.api.client_details(int(client_id))
        party = {
            "name": f"{profile.firstname} {profile.lastname}".strip(),
            "company": profile.companyname,
            "email": profile.email,
            **profile.postal,
        }
        return whois.holder_details(party)
    details = c.params.get("holder") or c.params["expect"]
    return {str(k): str(v) for k, v in details.items()}


def _run_registrant_update(c: Call) -> Result:
    """Read the domain's contacts, put the holder's details in place, send every block whole: a partial
    block would wipe the address and phone at a registrar that replaces it (whmcs/whois.py)."""
    domain_id, kind = int(c.params["domain_id"]), c.params.get("contact_type", "Registrant")
    contacts = dict(c.api.whois(domain_id).contacts)
    contacts[kind] = whois.with_holder(contacts.get(kind, {}), _holder(c))
    c.api.update_whois(domain_id, whois.contacts_xml(contacts))
    return {}


def _observe_registrant_update(c: Call) -> Observed:
    kind = c.params.get("contact_type", "Registrant")
    current = c.api.whois(int(c.params["domain_id"])).contacts.get(kind, {})
    # Done when putting the holder in place would change nothing.
    return _done_if(bool(current) and whois.with_holder(current, _holder(c)) == current)


def _run_credential_change(c: Call) -> Result:
    # Made here, sent to WHMCS, never stored or logged: the owner gets it through WHMCS's own email.
    c.api.change_password(int(c.params["service_id"]), secrets.token_urlsafe(15))
    if c.params.get("notify_template"):
        c.api.send_email(int(c.params["service_id"]), template=c.params["notify_template"])
    return {}


def _run_refresh_client(c: Call) -> Result:
    known = c.params.get("known_invoices")
    return {"context": client_context(c.api, c.client(), None if known is None else [int(i) for i in known])}


def _run_resolve_ticket(c: Call) -> Result:
    return {"feed": ("TicketResolved", resolve_ticket(c.api, c.params))}


def _run_find_open_invoice(c: Call) -> Result:
    return {"feed": ("OpenInvoiceFound", find_open_invoice(c.api, c.params))}


def _run_read_owners(c: Call) -> Result:
    owners = read_owners(c.api, c.params["subjects"])
    return {"feed": ("OwnershipOwners", {**(c.params.get("report") or {}), "owners": owners})}


def _run_domain_lock(c: Call) -> Result:
    """The domain's transfer lock on; a registrar module that refuses (it cannot lock, or the registry has
    no such lock) is reported to the case, for staff to set it by hand, rather than parked."""
    domain_id = int(c.params["domain_id"])
    report = {**(c.params.get("report") or {}), "domain": domain_id}
    try:
        c.api.lock_domain(domain_id)
    except WhmcsApiError as exc:
        if isinstance(exc, WhmcsAuthError):
            raise
        return {"feed": ("OwnershipLock", {**report, "locked": False, "error": exc.whmcs_message})}
    return {"feed": ("OwnershipLock", {**report, "locked": True})}


def _run_read_reply(c: Call) -> Result:
    """A ticket reply as WHMCS has it: who wrote it (its client id, or a guest's address: the hook's
    TicketUserReply gives only the userid, DD:hooks-reference/ticket.md), when, and what it says."""
    ticket_id, reply_id = int(c.params["ticket_id"]), int(c.params["reply_id"])
    try:
        ticket = c.api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        replies: list[Any] = []
    else:
        replies = list(ticket.replies)
    reply = next((r for r in replies if r.id == reply_id), None)
    data: dict[str, Any] = {**(c.params.get("report") or {}), "ticket": ticket_id, "reply": reply_id, "found": reply is not None}
    if reply is not None:
        data.update(
            userid=reply.client_id,
            contactid=reply.contact_id,
            email=reply.requestor_email or reply.email,
            admin=bool(reply.admin),
            date=reply.date.isoformat() if reply.date else None,
            message=reply.message,
        )
    return {"feed": ("OwnershipReply", data)}


def _run_announce(c: Call) -> Result:
    return {"feed": (str(c.params["type"]), dict(c.params["data"]))}


# --- the table: one row per action kind ---------------------------------------------------------


@dataclass(frozen=True)
class ActionKind:
    """What the executor knows of one action kind."""

    name: str
    # Runs it against WHMCS; the result is recorded (a "feed" or "context" entry goes back to the rules).
    runner: Callable[[Call], Result]
    # After an interruption, tells whether its effect is in WHMCS; None: it cannot be read back.
    observer: Callable[[Call], Observed] | None = None
    # Running it twice is harmless: when WHMCS cannot tell whether it ran, it runs again (else it parks).
    repeat_safe: bool = False
    # When WHMCS cannot tell whether it ran, it counts as done, unconfirmed: its call reached WHMCS, and
    # PHP finishes a request it received. For what staff read (a client note): a second copy, or staff
    # asked to check every note after an outage, would be worse than a note that may be missing.
    assume_ran: bool = False
    # It only reads WHMCS (or calls nothing): no summary line in WHMCS's activity log.
    read_only: bool = False
    # The kind that undoes it (the escalation ladder undoes its steps when the client pays).
    inverse: str | None = None

    @property
    def destructive(self) -> bool:
        """Destructive by default (model.DESTRUCTIVE_KINDS, which the pure rules read too); an Action may
        override it, and the outbox row keeps what was decided."""
        return self.name in DESTRUCTIVE_KINDS

    def run(self, call: Call, mint: Mint | None = None) -> Result:
        """Run it; `mint` makes the one-time consent link an action may ask for. Parameters it cannot
        use raise ActionError, naming the kind and what is wrong."""
        try:
            return self.runner(replace(call, params=with_consent_link(call.params, mint)))
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_parameters(self.name, exc) from exc

    def observe(self, call: Call) -> Observed:
        """After an interruption: the result if its effect is in WHMCS, False if absent, None if unknowable."""
        if self.observer is None:
            return None
        try:
            return self.observer(call)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_parameters(self.name, exc) from exc


ACTION_KINDS: Mapping[str, ActionKind] = MappingProxyType(
    {
        row.name: row
        for row in (
            # SendEmail; the key is an HTML comment in the body (a WHMCS template's is not: unknowable)
            ActionKind("email", _run_email, _observe_email),
            # OpenTicket; the key is in the first message
            ActionKind("ticket", _run_ticket, _observe_ticket),
            # AddTicketNote; the key is in the note
            ActionKind("ticket_note", _run_ticket_note, _observe_ticket_note),
            # AddTicketReply as staff (mails the party); the key is in the reply
            ActionKind("ticket_reply", _run_ticket_reply, _observe_ticket_reply),
            # AddClientNote: WHMCS's API cannot list a client's notes, so an interrupted note is parked for
            # staff to look at rather than added twice (duplicates piled up after crashes)
            # No API reads client notes: its trace line is looked for, else it counts as done, unconfirmed.
            ActionKind("client_note", _run_client_note, _observe_client_note, assume_ran=True),
            # LogActivity; the key is in the description
            ActionKind("activity", _run_activity, _observe_activity),
            # ModuleSuspend, ModuleUnsuspend, ModuleTerminate (irreversible): the service's status tells
            ActionKind("suspend", _run_suspend, _service_now("Suspended"), inverse="unsuspend"),
            ActionKind("unsuspend", _run_unsuspend, _service_now("Active")),
            ActionKind("terminate", _run_terminate, _service_now("Terminated")),
            # ModuleCustom: the module's command must be idempotent itself; undone by the inverse command
            # configured for it, if any
            ActionKind("module_command", _run_module_command, repeat_safe=True, inverse="module_command"),
            # UpdateInvoice status=...; the invoice's status tells
            ActionKind("invoice_status", _run_invoice_status, _observe_invoice_status),
            # CreateInvoice; recognised by its notes and lines (no key: the client sees the notes)
            ActionKind("create_invoice", _run_create_invoice, _observe_create_invoice),
            # AddInvoicePayment with transid = key
            ActionKind("settle_invoice", _run_settle_invoice, _observe_settle_invoice),
            # UpdateInvoice deletelineids (or status=Cancelled) then UpdateClientProduct nextduedate: the
            # service's due date and its line's absence tell
            ActionKind("renew_service", _run_renew_service, _observe_renew_service),
            # DomainUpdateWhoisInfo; the contact it asked for tells
            ActionKind("registrant_update", _run_registrant_update, _observe_registrant_update),
            # DomainUpdateLockingStatus: turning the lock on twice is harmless (OwnershipLock)
            ActionKind("domain_lock", _run_domain_lock, repeat_safe=True),
            # ModuleChangePw: never repeated without staff
            ActionKind("credential_change", _run_credential_change),
            # Reads, fed back to the rules as events: the client's details and services (ClientContext),
            # who owns what a ticket names (TicketResolved), a client's unpaid invoice for a service
            # (OpenInvoiceFound), who owns each subject of an ownership case now (OwnershipOwners).
            ActionKind("refresh_client", _run_refresh_client, repeat_safe=True, read_only=True),
            ActionKind("resolve_ticket", _run_resolve_ticket, repeat_safe=True, read_only=True),
            ActionKind("find_open_invoice", _run_find_open_invoice, repeat_safe=True, read_only=True),
            ActionKind("read_owners", _run_read_owners, repeat_safe=True, read_only=True),
            # A reply in an ownership case's ticket thread, read to learn who wrote it (OwnershipReply).
            ActionKind("read_reply", _run_read_reply, repeat_safe=True, read_only=True),
            # No WHMCS call: tells the other families something (e.g. an ownership change ends grants).
            ActionKind("announce", _run_announce, repeat_safe=True, read_only=True),
        )
    }
)


def action_kind(name: str) -> ActionKind:
    """The table's row for a kind; an outbox row of a kind this version does not know parks."""
    try:
        return ACTION_KINDS[name]
    except KeyError:
        raise ValueError(f"no runner for action kind {name}") from None
