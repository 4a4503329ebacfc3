"""The billing rows of the executor's table of kinds: invoice status, invoices made, settled and renewed, lines
taken off, orders accepted, domains renewed; each with how it runs and how its effect is recognised after an
interruption (kinds.py holds the whole table)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from whmcs_bridge.clock import utcnow
from whmcs_bridge.executor.call import ActionError, ActionKind, Call, Observed, Result, done_if
from whmcs_bridge.executor.reads import later_invoices, period_lines, recent, renewal_line_ids
from whmcs_bridge.families.delegation.billing_periods import years_on


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
    return done_if(c.api.invoice(int(c.params["invoice_id"])).status == c.params["status"])


def _invoice_lines(c: Call) -> list[tuple[str, Decimal, bool]]:
    """The invoice's lines: [description, amount] or [description, amount, taxed] (a row planned before lines
    carried the flag bills untaxed, as it was planned)."""
    return [
        (str(line[0]), Decimal(str(line[1])), bool(line[2]) if len(line) > 2 else False) for line in c.params["lines"]
    ]


def _run_create_invoice(c: Call) -> Result:
    # No key in the invoice: its notes "appear on the created invoice" (DD:api-reference/createinvoice.md)
    # the client sees, and neither CreateInvoice nor UpdateInvoice has a field the client does not see.
    # Due when the rule says (`duedate`), else the day it is made, as WHMCS does without one.
    notes = str(c.params.get("notes", ""))
    due = date.fromisoformat(str(c.params["duedate"])) if c.params.get("duedate") else None
    invoice_id = c.api.create_invoice(
        c.client(), _invoice_lines(c), duedate=due, notes=notes, send=c.params.get("send", False)
    )
    return {"invoice_id": invoice_id}


def _observe_create_invoice(c: Call) -> Observed:
    """The client's recent invoice with the action's notes and exactly its lines, taxed as asked (rules write notes that
    name what the invoice is for, e.g. which renewal, so they differ between actions); without notes the
    invoice cannot be told from another: unknowable. Found after a call answered too late, the invoice may have been
    paid before the rules knew its number (its InvoicePaid meant nothing to them then): its status and what was paid
    on it, as WHMCS shows them now, go with it."""
    notes = str(c.params.get("notes", "")).strip()
    if not notes:
        return None
    wanted = sorted(_invoice_lines(c))
    for summary in recent(c.api.invoices(client_id=c.client(), newest_first=True)):
        if summary.notes.strip() != notes:
            continue
        invoice = c.api.invoice(summary.id)
        if sorted((item.description, item.amount, item.taxed) for item in invoice.items) == wanted:
            return {"invoice_id": invoice.id, "invoice_status": invoice.status, "invoice_paid": f"{invoice.paid:.2f}"}
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
    return done_if(any(t.transid == c.key and t.invoice_id == int(c.params["invoice_id"]) for t in found))


def _renewal_line(c: Call) -> tuple[Any, bool]:
    """The owner's invoice, and whether it still bills the renewed item (open, with its line or its promotions)."""
    invoice = c.api.invoice(int(c.params["owner_invoice"]))
    return invoice, invoice.is_open and bool(_renewal_items(c, invoice))


def _renewal_items(c: Call, invoice: Any) -> list[int]:
    """The ids of the owner's lines the renewal bills (its line and that line's promotions) still on the invoice."""
    ids = set(renewal_line_ids(c.params))
    return [i.id for i in invoice.items if i.id in ids]


def _line_off(c: Call, invoice: Any, billed: bool) -> str:
    """The renewed item's lines (its line and that line's promotions, reads.billed) off the owner's invoice: the
    invoice cancelled when they were all its items ("cancelled"), else those lines deleted and the rest still due
    ("kept"); "untouched" when it no longer billed them (an earlier run, staff). Told to the rules with the
    action's outcome, so the owner's note says which."""
    _payment_on_its_way(c, invoice)
    if not billed:
        return "untouched"
    _untouchable(invoice, "cancel or take lines off")
    lines = _renewal_items(c, invoice)
    if len(lines) == len(invoice.items):
        c.api.update_invoice(invoice.id, status="Cancelled")
        return "cancelled"
    c.api.update_invoice(invoice.id, deletelineids=lines)
    return "kept"


def _payment_on_its_way(c: Call, invoice: Any) -> None:
    """The owner's invoice Payment Pending (a gateway's payment on its way, staff's per README) while it still bills
    the renewed item, read just before the bridge would cancel it or take its lines off: the owner is paying that
    period, so nothing is changed nor renewed for the delegate; the action parks for staff (twenty-fifth round
    MEDIUM 1). WHMCS keeps no status history and a pending payment records no transaction (GetInvoice `status`,
    `transactions`, DD:api-reference/getinvoice.md): Payment Pending set while the write itself runs is not seen."""
    if invoice is None or invoice.status != "Payment Pending":
        return
    if _renewal_items(c, invoice) or (c.params.get("until") and period_lines(invoice, c.params)):
        raise ActionError(
            f"the owner's invoice {invoice.id} is Payment Pending in WHMCS (a payment on its way) and still bills the "
            "renewed period: the bridge neither changes it nor renews for the delegate; staff settle it"
        )


def _later_lines_off(c: Call) -> list[dict[str, Any]]:
    """The renewed period's lines off the owner's other open invoices (WHMCS's cron made them after the request,
    reads.later_invoices), as off the one the renewal was priced from: an invoice that billed nothing else cancelled,
    else those lines deleted. [{"invoice", "left"}], told to the rules with the action's outcome."""
    out = []
    for invoice, lines in later_invoices(c.api, c.params, c.client()):
        _payment_on_its_way(c, invoice)
        if not invoice.is_open:
            continue  # paid: the guard stopped the renewal before; not this action's to change
        _untouchable(invoice, "cancel or take lines off")
        if len(lines) == len(invoice.items):
            c.api.update_invoice(invoice.id, status="Cancelled")
            out.append({"invoice": invoice.id, "left": "cancelled"})
        else:
            c.api.update_invoice(invoice.id, deletelineids=[line.id for line in lines])
            out.append({"invoice": invoice.id, "left": "kept"})
    return out


def _nothing_due(c: Call, kept: int | None, later: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The owner's invoices this action took lines off and left open with nothing to pay (a 0.00 free domain's
    renewal, a goodwill line of the owner's): [{"invoice", "total"}], for staff (WHMCS renews what an invoice bills
    only once it is paid, and a credit line is the owner's; what becomes of such an invoice is not documented)."""
    ids = ([kept] if kept else []) + [int(x["invoice"]) for x in later if x["left"] == "kept"]
    found = []
    for invoice_id in ids:
        now = c.api.invoice(invoice_id)
        if now.is_open and now.total <= 0:
            found.append({"invoice": invoice_id, "total": f"{now.total:.2f}"})
    return found


def _owners_money(c: Call, touched: list[int]) -> list[dict[str, Any]]:
    """The owner's invoices this renewal changed that hold the owner's money now, read again after the writes: one it
    changed in this try (nothing paid on it just before, _untouchable) now with a payment or Payment Pending (a
    gateway's payment on its way, staff's per README), or the one it was priced from Cancelled with a payment on it
    (GetInvoice `transactions`, DD:api-reference/getinvoice.md), whichever try cancelled it: the owner paid while the
    write ran in WHMCS, and both paid for one period (twenty-third and twenty-fourth break rounds). Each with its
    status and what was paid on it, so staff can restore it: [{"invoice", "status", "paid"}]. The owner's later
    invoices the first try found billing the period (`later_seen`) are read the same way: after a write answered past
    the timeout, one that try cancelled is no longer among later_invoices (twenty-fifth round MEDIUM 6). One whose lines
    a write cut after the owner paid it (Paid, more paid on it than it bills now: _paid_then_cut) is the owner's
    money too, whichever try cut it (twenty-sixth round F2)."""
    priced = int(c.params.get("owner_invoice") or 0)
    seen = [int(i) for i in c.params.get("later_seen") or []]  # as the first try found them (_before_renewal)
    found = []
    for invoice_id in dict.fromkeys([*touched, *([priced] if priced else []), *seen]):
        now = c.api.invoice(invoice_id)
        mine = invoice_id in touched and (now.paid > 0 or now.status == "Payment Pending")
        if mine or (now.status == "Cancelled" and now.paid > 0) or _paid_then_cut(now):
            money = {"invoice": invoice_id, "status": now.status, "paid": f"{now.paid:.2f}"}
            found.append({**money, "part": True} if _part_paid(now) else money)
    return found


def _part_paid(invoice: Any) -> bool:
    """Whether the owner's money on an invoice is less than it billed: still open (Unpaid, Collections) with a
    payment, or Cancelled with payments below its `total` (GetInvoice, DD:api-reference/getinvoice.md; setting the
    status alone changes no item, DD:api-reference/updateinvoice.md). WHMCS runs a payment's automation (the renewal of what the invoice bills) when the
    invoice is Paid (InvoicePaid, DD:hooks-reference/invoices-and-quotes.md), so that money renewed nothing
    (twenty-sixth round F6). Paid, or Payment Pending (a payment on its way, of an amount WHMCS does not show), is
    not."""
    paid_in = invoice.paid - invoice.credit
    return invoice.is_open or (invoice.status == "Cancelled" and paid_in < invoice.total)


def _paid_then_cut(invoice: Any) -> bool:
    """Whether WHMCS shows an owner's invoice Paid with more of the owner's money on it than its lines bill now: its
    payments and the credit applied to it (GetInvoice `transactions` and `credit`, DD:api-reference/getinvoice.md)
    above its `subtotal` and `tax`, which follow the items (DD:api-reference/updateinvoice.md): lines deleted after
    the owner paid, as the renewal's write does when it lands after the owner's payment. `total` is left out: the
    pages do not say how WHMCS nets the credit into it, and an invoice paid by credit alone counts too (twenty-sixth
    break round, delegation HIGH 2)."""
    return invoice.status == "Paid" and invoice.paid > invoice.subtotal + invoice.tax


def _paid_meanwhile(c: Call, outcome: dict[str, Any], billed: Any, later: list[dict[str, Any]]) -> None:
    """Told to the rules with the action's outcome: the owner's invoices found holding its money after the writes
    (_owners_money), the first one's number as `owner_paid_meanwhile`."""
    found = _owners_money(c, ([billed.id] if billed is not None else []) + [int(x["invoice"]) for x in later])
    if found:
        outcome["owner_paid_meanwhile"] = found[0]["invoice"]
        outcome["owners_money"] = found


def _before_renewal(c: Call) -> dict[str, Any]:
    """The owner's open invoices other than the one the renewal was priced from that bill the renewed period
    (reads.later_invoices), as the first try finds them, kept in the action's row before any write leaves
    (`later_seen`): a later try, or the read after an interruption, looks at the same invoices for the owner's money
    (_owners_money), also once a write of an earlier try cancelled one."""
    if "later_seen" in c.params:
        return c.params
    seen = [invoice.id for invoice, _ in later_invoices(c.api, c.params, c.client()) if invoice.is_open]
    return {**c.params, "later_seen": seen}


def _later_open(c: Call) -> bool:
    """Whether an owner's open invoice made after the request still bills the renewed period."""
    return any(invoice.is_open for invoice, _ in later_invoices(c.api, c.params, c.client()))


def _run_renew_service(c: Call) -> Result:
    """The delegate paid one service's renewal: take its line off the owner's invoice (UpdateInvoice
    `deletelineids`, DD:api-reference/updateinvoice.md; the totals follow the items), or cancel that invoice
    when the line was its only item, rather than leave a zero invoice whose fate WHMCS does not document;
    then move the service's next due date one cycle on (UpdateClientProduct `nextduedate`). Each step reads
    first, so a second run after an interruption finishes what the first left."""
    p = c.params
    invoice, billed = _renewal_line(c)
    left = _line_off(c, invoice, billed)
    later = _later_lines_off(c)
    service = c.api.service(int(p["service_id"]))
    if service is None:
        raise ActionError(f"service {p['service_id']} no longer exists: its renewal cannot be applied")
    due = service.nextduedate.isoformat() if service.nextduedate else None
    if due == str(p["from"]):
        c.api.update_service_due(service.id, date.fromisoformat(str(p["until"])))
        due = str(p["until"])  # WHMCS took it (UpdateClientProduct answered success)
    # `due`: the next due date WHMCS has now, what the delegate is told it is renewed until (not the bridge's memory).
    outcome: dict[str, Any] = {"owner_invoice_left": left, "later": later, "due": due}
    outcome["nothing_due"] = _nothing_due(c, invoice.id if left == "kept" else None, later)
    _paid_meanwhile(c, outcome, invoice if billed else None, later)
    if service.status == "Suspended":
        # WHMCS lifts a suspension for non-payment when the owner's invoice is paid; this one was cut or cancelled
        # instead. The bridge does not unsuspend (it cannot tell WHMCS's overdue suspension from staff's own with
        # the same words): the rules hear WHMCS's reason (GetClientsProducts `suspensionreason`,
        # DD:api-reference/getclientsproducts.md) and ask staff.
        outcome["suspended"] = service.suspension_reason
    return {"nextduedate": str(p["until"]), "outcome": outcome}


def _observe_renew_service(c: Call) -> Observed:
    service = c.api.service(int(c.params["service_id"]))
    moved = (
        service is not None
        and service.nextduedate is not None
        and service.nextduedate.isoformat() == str(c.params["until"])
    )
    if not (moved and _line_taken_off(c)):
        return False
    return _observed_done(c)


def _observed_done(c: Call) -> dict[str, Any]:
    """The renewal found done after an interruption: with the owner's money found on the invoice it was priced from,
    Cancelled, or Paid and then cut (_owners_money): the due date may have moved for the owner's payment, not for this
    action."""
    outcome: dict[str, Any] = {"due": str(c.params["until"])}
    _paid_meanwhile(c, outcome, None, [])
    return {"nextduedate": str(c.params["until"]), "outcome": outcome}


def _line_taken_off(c: Call) -> bool:
    """Whether the renewed line is off the owner's invoice the way this action takes it off: deleted from it, or
    the invoice cancelled when it was its only item, and off the owner's invoices made after the request
    (_later_lines_off); true when the renewal was priced without an owner's invoice and none was made since.
    The owner's invoice paid with the line still on it is the owner's renewal, not this one (issue 16, H2: WHMCS
    moved the same due date for the owner's payment)."""
    if _later_open(c):
        return False
    if not c.params.get("owner_invoice"):
        return True
    invoice = c.api.invoice(int(c.params["owner_invoice"]))
    return invoice.status == "Cancelled" or not _renewal_items(c, invoice)


def _lines_billed(c: Call) -> tuple[Any, list[int]]:
    """The owner's invoice, and which of the given lines it still bills (open, with those lines)."""
    invoice = c.api.invoice(int(c.params["invoice_id"]))
    wanted = {int(i) for i in c.params["line_ids"]}
    return invoice, [i.id for i in invoice.items if i.id in wanted] if invoice.is_open else []


def _run_invoice_lines_off(c: Call) -> Result:
    """An order invoiced to the agency instead: its lines come off the owner's invoice (UpdateInvoice
    `deletelineids`, DD:api-reference/updateinvoice.md), or that invoice is cancelled when they were all its
    items (as for a delegated renewal: no zero invoice whose fate WHMCS does not document). Reads first, and the
    invoice again after the write (_order_paid_meanwhile)."""
    invoice, billed = _lines_billed(c)
    if billed:
        _untouchable(invoice, "cancel or take lines off")
    if billed and len(billed) == len(invoice.items):
        c.api.update_invoice(invoice.id, status="Cancelled")
    elif billed:
        c.api.update_invoice(invoice.id, deletelineids=billed)
    return (_kept_on_closed(c, invoice) if not billed else {}) or _order_paid_meanwhile(c)


def _observe_invoice_lines_off(c: Call) -> Observed:
    invoice, billed = _lines_billed(c)
    return False if billed else (_kept_on_closed(c, invoice) or _order_paid_meanwhile(c))


def _order_paid_meanwhile(c: Call) -> dict[str, Any]:
    """The owner's order invoice read again after the write (or after an interruption): Cancelled with a payment on
    it, or Paid with more paid on it than it bills now (_paid_then_cut): the owner paid it, the order's items with
    it, while the write ran in WHMCS (the `nothing_paid` guard found nothing paid just before; twenty-sixth round F4).
    Told to the rules (`owner_paid_meanwhile`: the invoice's status and what was paid on it, and the order's status
    now, GetOrders, DD:api-reference/getorders.md), who withdraw the agency's invoice and ask staff to restore it.
    Still open with the owner's money on it (payments and credit, GetInvoice `transactions` and `credit`,
    DD:api-reference/getinvoice.md): a part payment made while the write ran, which paid no order (WHMCS settles what
    an invoice bills only once it is Paid); told with `part` and what the invoice bills now (`subtotal` and `tax`,
    which follow the items, DD:api-reference/updateinvoice.md), for staff to refund or credit (twenty-sixth break
    round F7, as the renewal's write does since round 26 F6: _owners_money)."""
    invoice = c.api.invoice(int(c.params["invoice_id"]))
    part = invoice.is_open and invoice.paid > 0
    if not (part or (invoice.status == "Cancelled" and invoice.paid > 0) or _paid_then_cut(invoice)):
        return {}
    money: dict[str, Any] = {"invoice": invoice.id, "status": invoice.status, "paid": f"{invoice.paid:.2f}"}
    if part:
        money.update(part=True, bills=f"{invoice.subtotal + invoice.tax:.2f}")
    if c.params.get("order_id"):  # rows planned before it carried the order: its status left unsaid
        order = next(c.api.orders(order_id=int(c.params["order_id"])), None)
        money["order_status"] = str(order.status) if order is not None else "deleted"
    return {"outcome": {"owner_paid_meanwhile": money}}


def _kept_on_closed(c: Call, invoice: Any) -> dict[str, Any]:
    """Nothing to take off because the owner's invoice was closed (paid) with the lines still on it, not because
    they came off: told to the rules (`lines_kept`), for whom the owner then paid the order itself."""
    wanted = {int(i) for i in c.params["line_ids"]}
    kept = invoice.status != "Cancelled" and any(item.id in wanted for item in invoice.items)
    return {"outcome": {"lines_kept": invoice.status}} if kept else {}


def _order_status(c: Call) -> str:
    """The order's status in WHMCS now (GetOrders `id`, DD:api-reference/getorders.md)."""
    order = next(c.api.orders(order_id=int(c.params["order_id"])), None)
    if order is None:
        raise ActionError(f"order {c.params['order_id']} no longer exists in WHMCS: it cannot be accepted")
    return str(order.status)


def _run_accept_order(c: Call) -> Result:
    """AcceptOrder (DD:api-reference/acceptorder.md, "Accepts a pending order"), once: an order Active (accepted by
    staff meanwhile, or by this action before an interruption) is not accepted again. One staff cancelled or marked
    as fraud (Cancelled, Fraud: DD:api-reference/getorderstatuses.md) is not accepted: the guard `order_open` tells
    the rules first; found so between that guard and this call, the action parks for staff."""
    status = _order_status(c)
    if status == "Pending":
        c.api.accept_order(int(c.params["order_id"]))
    elif status != "Active":
        raise ActionError(
            f"order {c.params['order_id']} is {status} in WHMCS: it was not accepted; refund or credit its payer"
        )
    return _due_not_moved(c)


def _observe_accept_order(c: Call) -> Observed:
    """Done when WHMCS shows the order Active, as AcceptOrder leaves it (the GetOrders example, DD:api-reference/
    getorders.md); Cancelled or Fraud is not this action's effect: it runs again, and its guard stops it."""
    return _due_not_moved(c) if _order_status(c) == "Active" else False


# Billing cycles with no next period to bill (GetClientsProducts `billingcycle`, DD:api-reference/getclientsproducts.md).
NO_RENEWAL = ("Free Account", "One Time", "Free", "Onetime")


def _due_not_moved(c: Call) -> Result:
    """The order's services (`services`, a payer-mode order the agency paid) whose next due date WHMCS still shows on
    their registration date once the order is accepted (GetClientsProducts `regdate`, `nextduedate`,
    DD:api-reference/getclientsproducts.md): WHMCS moves it when the order's own invoice is paid, and the bridge took
    that invoice's lines off, so its cron would bill the owner the period the agency paid. AcceptOrder's page says
    nothing of due dates (DD:api-reference/acceptorder.md), and the README leaves them to staff: the rules hear them
    (`due_not_moved`: [{"service", "due", "cycle"}]) and ask staff, nothing is moved on a guess."""
    found = []
    for service_id in c.params.get("services") or []:
        service = c.api.service(int(service_id))
        if service is None or service.billingcycle in NO_RENEWAL or service.nextduedate is None:
            continue
        if service.regdate is not None and service.nextduedate <= service.regdate:
            found.append({"service": service.id, "due": service.nextduedate.isoformat(), "cycle": service.billingcycle})
    return {"outcome": {"due_not_moved": found}}


def _domain_line(c: Call) -> tuple[Any, bool]:
    """The owner's invoice (None when the renewal was priced from WHMCS's TLD pricing, with no line), and
    whether it still bills the domain's line."""
    if not c.params.get("owner_invoice"):
        return None, False
    return _renewal_line(c)


def _domain_now(c: Call) -> Any:
    domain = next(c.api.domains(domain_id=int(c.params["domain_id"])), None)
    if domain is None:
        raise ActionError(f"domain {c.params['domain_id']} no longer exists: its renewal cannot be applied")
    return domain


def _dates(domain: Any) -> dict[str, str | None]:
    """A domain's expiry and next due dates as GetClientsDomains gives them (DD:api-reference/getclientsdomains.md)."""
    return {
        "expiry": domain.expirydate.isoformat() if domain.expirydate else None,
        "due": domain.nextduedate.isoformat() if domain.nextduedate else None,
    }


def _before_renew_domain(c: Call) -> dict[str, Any]:
    """The domain's dates before the first try (kept in the action's row before DomainRenew can leave): a later
    try tells the registrar's renewal from them; and the owner's later invoices, as for a service (_before_renewal)."""
    if c.params.get("seen_before"):
        return _before_renewal(c)
    return _before_renewal(replace(c, params={**c.params, "seen_before": _dates(_domain_now(c))}))


def _registrar_renewed(c: Call, domain: Any) -> bool:
    """Whether WHMCS shows the registrar renewed the domain for the years paid since the first try began: its expiry
    date exactly those years after the one recorded before it (WHMCS's domain sync writes the registrar's date;
    DomainRenew's page does not say the call moves it, DD:api-reference/domainrenew.md)."""
    before = (c.params.get("seen_before") or {}).get("expiry")
    now = _dates(domain)["expiry"]
    return bool(
        before and now and now == years_on(date.fromisoformat(str(before)), int(c.params.get("years") or 1)).isoformat()
    )


def _expiry_moved_otherwise(c: Call, domain: Any) -> bool:
    """Whether the expiry date WHMCS shows changed since the first try began, but not by the years paid: whose
    change it is cannot be told (issue 16, seventh break round M1), and nothing is sent on a guess."""
    before = c.params.get("seen_before") or {}
    return bool(before) and _dates(domain)["expiry"] != before.get("expiry") and not _registrar_renewed(c, domain)


def _run_renew_domain(c: Call) -> Result:
    """The delegate paid one domain's renewal: its line comes off the owner's invoice (as for a service), then
    the registrar renews it for the period paid (DomainRenew, DD:api-reference/domainrenew.md) and its next due
    date moves that period on (UpdateClientDomain `nextduedate`, DD:api-reference/updateclientdomain.md; the
    DomainRenew page does not say WHMCS moves it). The registrar is asked only while the due date is the one
    invoiced and WHMCS does not show it renewed since the first try began (its expiry date later than the one
    recorded before it); interrupted after DomainRenew may have left with nothing moved, the action parks for
    staff (_unknown_renew_domain) rather than renew twice."""
    p = c.params
    invoice, billed = _domain_line(c)
    left = _line_off(c, invoice, billed)
    later = _later_lines_off(c)
    domain = _domain_now(c)
    if _expiry_moved_otherwise(c, domain):
        raise ActionError(_unknown_renew_domain(c))
    due = _dates(domain)["due"]
    if due == str(p["from"]):
        if not _registrar_renewed(c, domain):
            c.api.renew_domain(domain.id, int(p["years"]))
        c.api.update_domain_due(domain.id, date.fromisoformat(str(p["until"])))
        due = str(p["until"])  # WHMCS took it (UpdateClientDomain answered success)
    outcome = {"owner_invoice_left": left, "later": later, "due": due}
    outcome["nothing_due"] = _nothing_due(c, invoice.id if left == "kept" else None, later)
    _paid_meanwhile(c, outcome, invoice if billed else None, later)
    return {"nextduedate": str(p["until"]), "outcome": outcome}


def _observe_renew_domain(c: Call) -> Observed:
    """Done when the due date moved and the line is off. Run it again when nothing after the line came off can
    have been sent (the owner's invoice still bills the line), or when WHMCS shows the registrar renewed it (the
    run then only moves the due date). Otherwise unknowable: DomainRenew may have reached the registrar, and it is
    never sent again on a guess."""
    domain = next(c.api.domains(domain_id=int(c.params["domain_id"])), None)
    due = domain.nextduedate if domain is not None else None
    moved = due is not None and due.isoformat() == str(c.params["until"])
    if moved and not _line_taken_off(c):
        return False  # the owner's own payment renewed it: not this action's effect
    if moved:
        return _observed_done(c)
    if domain is not None and _expiry_moved_otherwise(c, domain):
        return None
    if domain is not None and _registrar_renewed(c, domain):
        return False
    invoice, billed = _domain_line(c)
    return False if billed or _later_open(c) else None  # the lines come off before DomainRenew is sent


def _unknown_renew_domain(c: Call) -> str:
    """Why an interrupted domain renewal parks: the registrar may have renewed it, which WHMCS does not show."""
    domain = next(c.api.domains(domain_id=int(c.params["domain_id"])), None)
    now = _dates(domain) if domain is not None else {"expiry": None, "due": None}
    before = c.params.get("seen_before") or {}
    same = " (as before the call)" if before and before == now else ""
    if before and before.get("expiry") != now["expiry"]:
        same = f" (before the call: expiry date {before.get('expiry') or 'none'}, {c.params.get('years') or 1} year(s) paid)"
    return (
        f"interrupted while renewing domain #{c.params['domain_id']}: the DomainRenew call may have reached the "
        f"registrar, which WHMCS does not show; WHMCS shows now expiry date {now['expiry'] or 'none'} and next due "
        f"date {now['due'] or 'none'}{same}. Check the registrar: if it renewed the domain, set the expiry date in "
        "WHMCS and approve (the bridge then only moves the next due date) or reject (staff settle it by hand); if "
        "it did not, approve to send DomainRenew again"
    )


BILLING_KINDS: tuple[ActionKind, ...] = (
    # UpdateInvoice status=...; the invoice's status tells
    ActionKind("invoice_status", _run_invoice_status, _observe_invoice_status),
    # CreateInvoice; recognised by its notes and lines (no key: the client sees the notes)
    ActionKind("create_invoice", _run_create_invoice, _observe_create_invoice),
    # AddInvoicePayment with transid = key
    ActionKind("settle_invoice", _run_settle_invoice, _observe_settle_invoice),
    # UpdateInvoice deletelineids (or status=Cancelled) then UpdateClientProduct nextduedate: the
    # service's due date and its line's absence tell
    ActionKind("renew_service", _run_renew_service, _observe_renew_service, before=_before_renewal),
    # UpdateInvoice deletelineids (or status=Cancelled): the lines' absence tells
    ActionKind("invoice_lines_off", _run_invoice_lines_off, _observe_invoice_lines_off),
    # AcceptOrder, only while the order is Pending: its status (Active) tells
    ActionKind("accept_order", _run_accept_order, _observe_accept_order),
    # UpdateInvoice as for a service, DomainRenew, UpdateClientDomain nextduedate: the due date, the line's absence
    # and the expiry date against the one recorded before the first try tell
    ActionKind(
        "renew_domain",
        _run_renew_domain,
        _observe_renew_domain,
        before=_before_renew_domain,
        unknown=_unknown_renew_domain,
    ),
)
