"""The executor's table of action kinds (ACTION_KINDS, one row per kind: how it runs against WHMCS, how
its effect is recognised after an interruption, whether repeating it is harmless, whether it only
reads, what undoes it). The guards re-checked before an action runs are guards.py; the reads, reads.py. The kind names and
which are destructive by default are model.KINDS and model.DESTRUCTIVE_KINDS (the pure rules need them)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import BridgeError, WhmcsApiError, WhmcsAuthError
from whmcs_bridge.executor.reads import (
    client_context,
    find_open_invoice,
    find_order_invoice,
    read_owners,
    recent,
    renewal_now,
    resolve_ticket,
)
from whmcs_bridge.model import DESTRUCTIVE_KINDS, marker
from whmcs_bridge.whmcs import whois
from whmcs_bridge.whmcs.api import WhmcsApi, not_found

Params = dict[str, Any]
Result = dict[str, Any]
# What an observer finds after an interruption: the result if the effect is in WHMCS, False if it is
# absent (run it again), None if WHMCS cannot tell.
Observed = Result | Literal[False] | None
Mint = Callable[[dict[str, Any]], str]
RULE_BUG = "(a rule bug: report it; reject this action with `whmcs-bridge approvals reject`)"


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


def _untouchable(invoice: Any, what: str) -> None:
    """The bridge never cancels an invoice, nor takes lines off one, that holds a customer's money (payments or
    credit, read now): the action parks for staff (the rules' `nothing_paid` guard tells them first)."""
    if invoice.paid > 0:
        raise ActionError(
            f"invoice {invoice.id} has {invoice.paid:.2f} paid on it: the bridge does not {what} it; staff settle it"
        )


def _run_invoice_status(c: Call) -> Result:
    if c.params["status"] == "Cancelled":
        _untouchable(c.api.invoice(int(c.params["invoice_id"])), "cancel")
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
    for summary in recent(c.api.invoices(client_id=c.client(), newest_first=True)):
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


def _line_off(c: Call, invoice: Any, billed: bool) -> str:
    """The renewed line off the owner's invoice: the invoice cancelled when it was its only item ("cancelled"),
    else the line deleted and the rest still due ("kept"); "untouched" when it no longer billed it (an earlier
    run, staff). Told to the rules with the action's outcome, so the owner's note says which."""
    if not billed:
        return "untouched"
    _untouchable(invoice, "cancel or take lines off")
    if len(invoice.items) == 1:
        c.api.update_invoice(invoice.id, status="Cancelled")
        return "cancelled"
    c.api.update_invoice(invoice.id, deletelineids=[int(c.params["line_id"])])
    return "kept"


def _run_renew_service(c: Call) -> Result:
    """The delegate paid one service's renewal: take its line off the owner's invoice (UpdateInvoice
    `deletelineids`, DD:api-reference/updateinvoice.md; the totals follow the items), or cancel that invoice
    when the line was its only item, rather than leave a zero invoice whose fate WHMCS does not document;
    then move the service's next due date one cycle on (UpdateClientProduct `nextduedate`). Each step reads
    first, so a second run after an interruption finishes what the first left."""
    p = c.params
    invoice, billed = _renewal_line(c)
    left = _line_off(c, invoice, billed)
    service = c.api.service(int(p["service_id"]))
    if service is None:
        raise ActionError(f"service {p['service_id']} no longer exists: its renewal cannot be applied")
    if service.nextduedate is not None and service.nextduedate.isoformat() == str(p["from"]):
        c.api.update_service_due(service.id, date.fromisoformat(str(p["until"])))
    return {"nextduedate": str(p["until"]), "outcome": {"owner_invoice_left": left}}


def _observe_renew_service(c: Call) -> Observed:
    service = c.api.service(int(c.params["service_id"]))
    moved = (
        service is not None
        and service.nextduedate is not None
        and service.nextduedate.isoformat() == str(c.params["until"])
    )
    return {"nextduedate": str(c.params["until"])} if moved and _line_taken_off(c) else False


def _line_taken_off(c: Call) -> bool:
    """Whether the renewed line is off the owner's invoice the way this action takes it off: deleted from it, or
    the invoice cancelled when it was its only item; true when the renewal was priced without an owner's invoice.
    The owner's invoice paid with the line still on it is the owner's renewal, not this one (issue 16, H2: WHMCS
    moved the same due date for the owner's payment)."""
    if not c.params.get("owner_invoice"):
        return True
    invoice = c.api.invoice(int(c.params["owner_invoice"]))
    return invoice.status == "Cancelled" or not any(i.id == int(c.params["line_id"]) for i in invoice.items)


def _lines_billed(c: Call) -> tuple[Any, list[int]]:
    """The owner's invoice, and which of the given lines it still bills (open, with those lines)."""
    invoice = c.api.invoice(int(c.params["invoice_id"]))
    wanted = {int(i) for i in c.params["line_ids"]}
    return invoice, [i.id for i in invoice.items if i.id in wanted] if invoice.is_open else []


def _run_invoice_lines_off(c: Call) -> Result:
    """An order invoiced to the agency instead: its lines come off the owner's invoice (UpdateInvoice
    `deletelineids`, DD:api-reference/updateinvoice.md), or that invoice is cancelled when they were all its
    items (as for a delegated renewal: no zero invoice whose fate WHMCS does not document). Reads first."""
    invoice, billed = _lines_billed(c)
    if billed:
        _untouchable(invoice, "cancel or take lines off")
    if billed and len(billed) == len(invoice.items):
        c.api.update_invoice(invoice.id, status="Cancelled")
    elif billed:
        c.api.update_invoice(invoice.id, deletelineids=billed)
    return {}


def _observe_invoice_lines_off(c: Call) -> Observed:
    return _done_if(not _lines_billed(c)[1])


def _order_pending(c: Call) -> bool:
    """Whether WHMCS lists the order as Pending now (GetOrders `id`, DD:api-reference/getorders.md)."""
    order = next(c.api.orders(order_id=int(c.params["order_id"])), None)
    if order is None:
        raise ActionError(f"order {c.params['order_id']} no longer exists in WHMCS: it cannot be accepted")
    return order.status == "Pending"


def _run_accept_order(c: Call) -> Result:
    """AcceptOrder (DD:api-reference/acceptorder.md), once: an order no longer Pending (accepted by staff
    meanwhile, or by this action before an interruption) is not accepted again."""
    if _order_pending(c):
        c.api.accept_order(int(c.params["order_id"]))
    return {}


def _observe_accept_order(c: Call) -> Observed:
    return _done_if(not _order_pending(c))


def _domain_line(c: Call) -> tuple[Any, bool]:
    """The owner's invoice (None when the renewal was priced from WHMCS's TLD pricing, with no line), and
    whether it still bills the domain's line."""
    if not c.params.get("owner_invoice"):
        return None, False
    return _renewal_line(c)


def _run_renew_domain(c: Call) -> Result:
    """The delegate paid one domain's renewal: its line comes off the owner's invoice (as for a service), then
    the registrar renews it for the period paid (DomainRenew, DD:api-reference/domainrenew.md) and its next due
    date moves that period on (UpdateClientDomain `nextduedate`, DD:api-reference/updateclientdomain.md; the
    DomainRenew page does not say WHMCS moves it). The registrar is asked only while the due date is the one
    invoiced; interrupted between the two calls, WHMCS cannot tell whether the registrar renewed it: the
    action parks for staff rather than renew twice."""
    p = c.params
    invoice, billed = _domain_line(c)
    left = _line_off(c, invoice, billed)
    domain = next(c.api.domains(domain_id=int(p["domain_id"])), None)
    if domain is None:
        raise ActionError(f"domain {p['domain_id']} no longer exists: its renewal cannot be applied")
    if domain.nextduedate is not None and domain.nextduedate.isoformat() == str(p["from"]):
        c.api.renew_domain(domain.id, int(p["years"]))
        c.api.update_domain_due(domain.id, date.fromisoformat(str(p["until"])))
    return {"nextduedate": str(p["until"]), "outcome": {"owner_invoice_left": left}}


def _observe_renew_domain(c: Call) -> Observed:
    """Done when the due date moved and the line is off; otherwise unknowable (the registrar may have renewed
    it before the due date moved): never run again on a guess."""
    domain = next(c.api.domains(domain_id=int(c.params["domain_id"])), None)
    due = domain.nextduedate if domain is not None else None
    moved = due is not None and due.isoformat() == str(c.params["until"])
    if moved and not _line_taken_off(c):
        return False  # the owner's own payment renewed it: not this action's effect
    return {"nextduedate": str(c.params["until"])} if moved else None


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
    """The client's context (ClientContext), with what the rules asked to hear back beside it (`report`: e.g.
    the order a delegate's users were read for)."""
    known = c.params.get("known_invoices")
    context = client_context(c.api, c.client(), None if known is None else [int(i) for i in known])
    return {"context": {**(c.params.get("report") or {}), **context}}


def _run_resolve_ticket(c: Call) -> Result:
    return {"feed": ("TicketResolved", resolve_ticket(c.api, c.params))}


def _run_find_open_invoice(c: Call) -> Result:
    return {"feed": ("OpenInvoiceFound", find_open_invoice(c.api, c.params))}


def _run_find_order_invoice(c: Call) -> Result:
    return {"feed": ("OrderInvoiceFound", find_order_invoice(c.api, c.params))}


def _run_read_invoice(c: Call) -> Result:
    """An invoice as WHMCS has it now: its status and what has been paid on it (payments less refunds, and credit
    applied), fed back to the rules (InvoiceRead), e.g. to tell staff the amount on an invoice that was cancelled."""
    invoice = c.api.invoice(int(c.params["invoice_id"]))
    data = {**(c.params.get("report") or {}), "invoice_id": invoice.id, "status": invoice.status}
    return {"feed": ("InvoiceRead", {**data, "paid": f"{invoice.paid:.2f}"})}


def _run_read_renewal(c: Call) -> Result:
    """A delegated renewal as WHMCS has it now (reads.renewal_now: the service or domain, the owner's line, the
    delegate's invoice), fed back to the rules (RenewalRead) to settle it or tell staff what WHMCS shows."""
    return {"feed": ("RenewalRead", {**(c.params.get("report") or {}), **renewal_now(c.api, c.params)})}


def _run_read_owners(c: Call) -> Result:
    owners = read_owners(c.api, c.params["subjects"])
    report = {**(c.params.get("report") or {}), "owners": owners}
    if c.params.get("owner_emails"):  # an outside requester is recognised by its address (ownership execution)
        clients = {o for k, o in owners.items() if o and not k.startswith("client:")}
        report["emails"] = {str(o): c.api.client_details(o).email for o in sorted(clients)}
    return {"feed": ("OwnershipOwners", report)}


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
            name=reply.requestor_name or reply.name,
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
            # UpdateInvoice deletelineids (or status=Cancelled): the lines' absence tells
            ActionKind("invoice_lines_off", _run_invoice_lines_off, _observe_invoice_lines_off),
            # AcceptOrder, only while the order is Pending: its status tells
            ActionKind("accept_order", _run_accept_order, _observe_accept_order),
            ActionKind("renew_domain", _run_renew_domain, _observe_renew_domain),
            # DomainUpdateWhoisInfo; the contact it asked for tells
            ActionKind("registrant_update", _run_registrant_update, _observe_registrant_update),
            # DomainUpdateLockingStatus: turning the lock on twice is harmless (OwnershipLock)
            ActionKind("domain_lock", _run_domain_lock, repeat_safe=True),
            # ModuleChangePw, then the service's welcome email: WHMCS cannot tell whether an interrupted one
            # ran (the template's email carries no key), and it is repeated: a fresh password set again and
            # sent again leaves the new holder with working credentials, where a parked one left it with none
            # (a password changed by the lost call and never sent). The bridge never keeps the password.
            ActionKind("credential_change", _run_credential_change, repeat_safe=True),
            # Reads, fed back to the rules as events: the client's details and services (ClientContext),
            # who owns what a ticket names (TicketResolved), a client's unpaid invoice for a service
            # (OpenInvoiceFound), who owns each subject of an ownership case now (OwnershipOwners).
            ActionKind("refresh_client", _run_refresh_client, repeat_safe=True, read_only=True),
            ActionKind("resolve_ticket", _run_resolve_ticket, repeat_safe=True, read_only=True),
            ActionKind("find_open_invoice", _run_find_open_invoice, repeat_safe=True, read_only=True),
            ActionKind("find_order_invoice", _run_find_order_invoice, repeat_safe=True, read_only=True),
            # An invoice's status and the amount paid on it now (InvoiceRead).
            ActionKind("read_invoice", _run_read_invoice, repeat_safe=True, read_only=True),
            # A delegated renewal's service or domain, owner's line and delegate's invoice now (RenewalRead).
            ActionKind("read_renewal", _run_read_renewal, repeat_safe=True, read_only=True),
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
