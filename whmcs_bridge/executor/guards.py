"""The guards re-checked just before an action runs (GUARDS: a fact read from WHMCS now that cancels it;
STORE_GUARDS: answered from the bridge's own store; WAITS: what defers it), and the window a destructive
step waits for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.executor.owner_reads import read_owners, subject_gone
from whmcs_bridge.executor.reads import OPEN_INVOICE, live_facts, renewal_now
from whmcs_bridge.families.delegation.grants import closed_note
from whmcs_bridge.families.delegation.renewal_scope import OWNER_PAID, owner_paid, part_paid_later, unpaid, unsettled
from whmcs_bridge.families.escalation.calendar import next_window
from whmcs_bridge.model import message
from whmcs_bridge.whmcs.api import WhmcsApi, client_exists, not_found
from whmcs_bridge.whmcs.normalize import rendered_from

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
            # The rules hear which and how (an invoice of theirs found paid is a payment to act on).
            cancel = Cancel(f"invoice {invoice_id} is now {status}")
            cancel.outcome = {"closed_invoice": invoice_id, "invoice_status": status}
            return cancel
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
    """A guard's reason to cancel that staff must hear of: `note` is a client note (a message) to plan;
    `outcome`, facts told to the rules with the action's outcome (its `outcome_to`)."""

    note: dict[str, Any] | None = None
    note_key: str | None = None  # the note's own action key (one note for many cancels), else one per action
    outcome: dict[str, Any] | None = None

    @classmethod
    def noting(cls, reason: str, note: dict[str, Any]) -> Cancel:
        cancel = cls(reason)
        cancel.note = note
        return cancel


def _guard_order_exists(api: WhmcsApi, order_id: int, client_id: int | None = None) -> str | None:
    """The order is still in WHMCS (GetOrders `id`, DD:api-reference/getorders.md): staff may have deleted it (as
    fraud) after it was invoiced to the agency; the rules hear it (`order_gone`) and ask staff to refund."""
    if next(api.orders(order_id=int(order_id)), None) is not None:
        return None
    cancel = Cancel(f"order {order_id} no longer exists in WHMCS: it was not accepted")
    cancel.outcome = {"order_gone": int(order_id)}
    return cancel


def _guard_order_open(api: WhmcsApi, order_id: int, client_id: int | None = None) -> str | None:
    """The order is Pending, or Active as AcceptOrder leaves it (GetOrders `status`, DD:api-reference/getorders.md;
    the statuses, DD:api-reference/getorderstatuses.md): staff may have cancelled it, or marked it as fraud
    (DD:api-reference/cancelorder.md, fraudorder.md), after it was invoiced to the agency; the rules hear which
    (`order_closed`, `order_status`) and ask staff to refund. A deleted order is `order_exists`'s."""
    order = next(api.orders(order_id=int(order_id)), None)
    if order is None or order.status in ("Pending", "Active"):
        return None
    cancel = Cancel(f"order {order_id} is {order.status} in WHMCS: it was not accepted")
    cancel.outcome = {"order_closed": int(order_id), "order_status": order.status}
    return cancel


def _guard_order_closed(api: WhmcsApi, order_id: int, client_id: int | None = None) -> str | None:
    """The order is no longer Pending nor Active (Cancelled, Fraud, or deleted: GetOrders, DD:api-reference/
    getorders.md): staff's cancel request (the CancelOrder or FraudOrder hook runs before the status changes,
    DD:hooks-reference/shopping-cart.md) went through; the rules hear otherwise (`order_status`)."""
    order = next(api.orders(order_id=int(order_id)), None)
    if order is None or order.status not in ("Pending", "Active"):
        return None
    cancel = Cancel(f"order {order_id} is still {order.status} in WHMCS")
    cancel.outcome = {"order_status": order.status}
    return cancel


def _guard_nothing_paid(api: WhmcsApi, ids: list[int], client_id: int | None = None) -> str | None:
    """Nothing paid yet on any listed invoice still open (its payments and credit, read now): the bridge never
    cancels an invoice, nor takes lines off one, that holds a customer's money; the rules hear the amount and ask
    staff. An invoice paid in full, or cancelled, is another guard's matter (an action's guards are checked in
    the order of their names)."""
    for invoice_id in ids:
        invoice = api.invoice(int(invoice_id))
        paid = invoice.paid
        if invoice.is_open and paid > 0:
            cancel = Cancel(f"invoice {invoice_id} has {paid:.2f} paid on it: left to staff")
            cancel.outcome = {"paid_invoice": int(invoice_id), "paid": f"{paid:.2f}"}
            return cancel
    return None


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


def _guard_domain_due(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """As service_due, for a domain's renewal: a domain renewed meanwhile is not renewed again."""
    domain = next(api.domains(domain_id=int(spec["id"])), None)
    if domain is None:
        return f"domain {spec['id']} no longer exists"
    now = domain.nextduedate.isoformat() if domain.nextduedate else "none"
    if now != str(spec["is"]):
        return f"domain {domain.id} was renewed meanwhile: its next due date is {now}, not {spec['is']}"
    return None


def _guard_owned_by(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """The subject still belongs to the client the action is for, as WHMCS says now: what hands something
    over (a new password sent by the service's welcome email goes to the service's owner) never reaches
    another client that staff moved it to meanwhile."""
    owner = read_owners(api, [spec]).get(f"{spec['kind']}:{int(spec['id'])}")
    if owner != int(spec["client"]):
        now = f"client #{owner}" if owner else "no client"
        return f"{spec['kind']} #{spec['id']} now belongs to {now}, not to client #{spec['client']}"
    return None


def _guard_rendered_from(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """A delegate's copy of an email goes only if the subject WHMCS logged is one its template renders, in the
    default language or the owner's (GetEmailTemplates, DD:api-reference/getemailtemplates.md): the PHP hook names
    an email by the EmailPreSend before it, and one whose send another hook aborted names the next email, a custom
    message (copies.copy_action). Its words are never said: the subject may print a password."""
    subject = spec.get("subject")
    if not isinstance(subject, str):
        return None  # planned before the subject was kept: as it was planned then
    language = api.client_details(int(spec["client"])).language
    if any(rendered_from(s, subject) for s in api.template_subjects(str(spec["template"]), language=language)):
        return None
    cancel = Cancel(f"the email's subject is not one template {spec['template']!r} renders: an unknown email")
    cancel.outcome = {"unpaired": True}
    return cancel


def _guard_movable(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """The subject of an ownership hand-over's step is still there to hand over (reads.subject_gone): not
    transferred away, cancelled, expired or terminated since the case was approved (outcome `gone`), and with
    its holder or the new holder (`owners`, or a client with `requester_email`), not a third client staff
    moved it to meanwhile (outcome `elsewhere`); and the requester's account (`requester_client`) not Closed
    (GetClientsDetails `status`, DD:api-reference/getclientsdetails.md; outcome `requester_closed`). The case
    hears which and tells staff."""
    gone = subject_gone(api, spec, spec["gone"])
    if gone is not None:
        cancel = Cancel(gone[0])
        cancel.outcome = {"gone": gone[1] or "absent"}
        return cancel
    requester = spec.get("requester_client")
    if requester and api.client_details(int(requester)).status == "Closed":
        cancel = Cancel(f"the requester, client #{requester}, is Closed in WHMCS")
        cancel.outcome = {"requester_closed": int(requester)}
        return cancel
    allowed = spec.get("owners")
    if not allowed:
        return None
    owner = read_owners(api, [spec]).get(f"{spec['kind']}:{int(spec['id'])}")
    if owner in allowed:
        return None
    wanted = str(spec.get("requester_email") or "").strip().casefold()
    email = api.client_details(owner).email if owner and wanted else ""
    if wanted and email.strip().casefold() == wanted:
        return None
    cancel = Cancel(
        f"{spec['kind']} #{spec['id']} belongs to client #{owner} in WHMCS now, neither its holder nor the requester"
    )
    cancel.outcome = {"elsewhere": owner, "email": email}
    return cancel


def _guard_clients_open(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """Neither side of the grant has its account Closed in WHMCS now (GetClientsDetails `status`,
    DD:api-reference/getclientsdetails.md; UpdateClient sets it, DD:api-reference/updateclient.md), nor is gone
    (staff deleted it: GetClientsDetails then says "Client Not Found"; DeleteClient, DD:api-reference/deleteclient.md,
    closes it for good): a grant whose owner or delegate closed does not copy or verify for it. Staff are told once
    per grant and closed client."""
    for side in ("owner", "delegate"):
        client = int(spec[side])
        try:
            closed, deleted = api.client_details(client).status == "Closed", False
        except WhmcsApiError as exc:
            if not not_found(exc):
                raise
            closed, deleted = True, True
        if closed:
            key, note = closed_note(str(spec["grant"]), int(spec["owner"]), side, client, deleted=deleted)
            said = "no longer exists" if deleted else "is Closed"
            cancel = Cancel.noting(f"client #{client} (the {side} of grant {spec['grant']}) {said} in WHMCS", note)
            cancel.note_key = key
            return cancel
    return None


def _guard_client_exists(api: WhmcsApi, client: int, client_id: int | None = None) -> str | None:
    """The client a notice or note is for is still in WHMCS (GetClientsDetails, DD:api-reference/getclientsdetails.md:
    "Client Not Found" once staff deleted it): what would go to a deleted client is cancelled, not parked."""
    return None if client_exists(api, int(client)) else f"client #{client} no longer exists in WHMCS"


def _guard_renewal_settles(api: WhmcsApi, spec: dict[str, Any], client_id: int | None = None) -> str | None:
    """A delegate's paid renewal is applied only as it was invoiced, as WHMCS has things now: the service (or
    domain) still there and not cancelled, its next due date the one invoiced, the owner's invoice open with
    nothing paid on it and the line at the amount the delegate paid, and no other invoice of the owner's (one WHMCS
    made after the request) paid or part paid for that period. Anything else cancels it, and the rules
    hear what WHMCS says (`why`, `seen`) to tell staff and the delegate."""
    now = renewal_now(api, spec, client_id)
    why = unpaid(spec, now) or unsettled(spec, now)
    if why is None:
        return None
    cancel = Cancel(f"the renewal is not settled as invoiced ({why}): left to staff")
    cancel.outcome = {"why": why, "seen": now}
    later = part_paid_later(now)
    if why == "owner part paid" and later is not None:  # an invoice the rules do not know: told by its number
        cancel.outcome.update(paid=later["paid"], later_invoice=later["invoice"])
    elif why == "owner part paid":  # the rules' part-paid path names the amount and the invoice
        cancel.outcome.update(paid=now["owner_paid"], paid_invoice=int(spec["owner_invoice"]))
    if why == OWNER_PAID:
        cancel.outcome["owner_paid_invoice"] = owner_paid(now)
    return cancel


GUARDS: dict[str, Callable[[WhmcsApi, Any, int | None], str | None]] = {
    "owned_by": _guard_owned_by,
    "rendered_from": _guard_rendered_from,
    "movable": _guard_movable,
    "clients_open": _guard_clients_open,
    "client_exists": _guard_client_exists,
    "domain_due": _guard_domain_due,
    "client_owes": _guard_client_owes,
    "invoices_open": _guard_invoices_open,
    "nothing_paid": _guard_nothing_paid,
    "order_exists": _guard_order_exists,
    "order_open": _guard_order_open,
    "order_closed": _guard_order_closed,
    "renewal_settles": _guard_renewal_settles,
    "service_status": _guard_service_status,
    "ticket_exists": _guard_ticket_exists,
    "suspended_by_us": _guard_suspended_by_us,
    "service_due": _guard_service_due,
    "not_staffs": _guard_not_staffs,
    "services_active": _guard_services_active,
}
# Guards answered from the bridge's own store rather than WHMCS.
STORE_GUARDS = {
    "action_done", "awaiting_approval", "state_active", "state_in", "after_steps", "ladder_running", "instead_of"
}  # fmt: skip
# Guards that make an action wait rather than cancel it (checked before the breaker and the claim; `quiet`, answered
# from the store, again once the action is claimed, just before its call: store_guards.StoreGuards.quiet).
WAITS = {"window", "quiet"}


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
