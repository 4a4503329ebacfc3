"""What the executor reads from WHMCS for the rules (read-only action kinds, fed back to them as events)
and for the guards and texts: a client's open invoices with their balances, its account, the amounts a
notice states at send time, a client's context, the invoice that renews a service or a domain (who owns what now:
owner_reads.py; what a ticket is about and who wrote it: ticket_reads.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.families.delegation.renewal_scope import billed_periods, period_mismatch
from whmcs_bridge.families.escalation.position import RENEWED_ELSEWHERE
from whmcs_bridge.whmcs.api import WhmcsApi, not_found
from whmcs_bridge.whmcs.records import Invoice

Params = dict[str, Any]
OPEN_INVOICE = ("Unpaid", "Collections")


def recent(items: Any, limit: int = 25) -> list[Any]:
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
            invoice = api.invoice(invoice_id)
        except WhmcsApiError:
            left[str(invoice_id)] = "Deleted"
            continue
        left[str(invoice_id)] = RENEWED_ELSEWHERE if renewed_elsewhere(api, invoice) else invoice.status
    return {
        "invoices": [{**i, "total": str(i["total"]), "balance": str(i["balance"])} for i in invoices],
        "left": left,
    }


# The line types that renew a service or a domain (DD:api-reference/getinvoice.md: each item's type and relid), and
# the promotions that follow them.
RENEWS = {"Hosting": "service", "Domain": "domain"}
FOLLOWS = ("PromoHosting", "PromoDomain")


def renewed_elsewhere(api: WhmcsApi, invoice: Invoice) -> bool:
    """Whether a cancelled invoice's debt was paid on another invoice: every line of it renews a service or a domain
    (its promotions aside) whose next due date WHMCS has moved past the invoice's due date, as it does when an
    invoice renewing it is paid, whoever's (a delegate's renewal of exactly that period took the line off and
    cancelled the owner's invoice). Staff moving the date by hand forgive the period: the same for the debt."""
    if invoice.status != "Cancelled" or invoice.duedate is None:
        return False
    lines = [i for i in invoice.items if i.type not in FOLLOWS]
    if not lines or any(i.type not in RENEWS for i in lines):
        return False
    for line in lines:
        if RENEWS[line.type] == "service":
            item: Any = api.service(line.relid)
        else:
            item = next(api.domains(domain_id=line.relid), None)
        if item is None or item.nextduedate is None or item.nextduedate <= invoice.duedate:
            return False
    return True


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
    item = ("domain", int(p["domain_id"])) if p.get("domain_id") else ("service", int(p["service_id"]))
    report = {**(p.get("report") or {}), **renewals_elsewhere(api, *item, p.get("others") or [])}
    # A grant whose owner or delegate WHMCS shows Closed renews nothing (GetClientsDetails `status`,
    # DD:api-reference/getclientsdetails.md).
    for side, client in sorted((p.get("parties") or {}).items()):
        if api.client_details(int(client)).status == "Closed":
            return {**report, "invoice_id": None, "closed": {"side": side, "client": int(client)}}
    if p.get("domain_id"):
        return domain_renewal(api, {**p, "report": report})
    service = api.service(int(p["service_id"]))
    if service is None or service.client_id != int(p["client_id"]):  # a whole-account grant names any id
        return {**report, "invoice_id": None, "not_owners": True, "holder": service.client_id if service else None}
    # A pending service's invoice is its order's first payment, which provisions it: not a renewal. A
    # terminated or cancelled one is not renewed by paying (WHMCS's status, which the delegate is told).
    if service.status not in ("Active", "Suspended"):
        return {**report, "invoice_id": None, "status": service.status, "name": service.domain or service.name}
    found = period_due(api, int(p["client_id"]), service.id, service.nextduedate)
    if found is None:
        return {**report, "invoice_id": None, **held_by_owner(api, int(p["client_id"]), "Hosting", service.id)}
    invoice, line = found
    return {
        **report,
        **billed(invoice, line, "service"),
        "paid": f"{invoice.paid:.2f}",  # part paid already: the renewal is left to staff
        "due": service.nextduedate.isoformat() if service.nextduedate else None,
        "cycle": service.billingcycle,
        "name": service.domain or service.name,  # a whole-account grant does not list it by name
        **currencies(api, int(p["client_id"]), p.get("delegate_id")),
    }


def period_due(
    api: WhmcsApi, owner: int, item_id: int, next_due: date | None, kind: str = "Hosting"
) -> tuple[Any, Any] | None:
    """The owner's unpaid invoice that bills the service's (`kind` "Hosting") or domain's ("Domain") period due, and
    its line: among the 50 newest billing the item, the one WHMCS dated on the item's next due date (WHMCS dates a
    renewal invoice on it: GetInvoice `duedate`, DD:api-reference/getinvoice.md); else the newest, whose period the
    rules then compare (an owner behind by two periods has both: twenty-fourth break round, billing MEDIUM 2, and
    for a domain the twenty-fifth round). None when none bills it, or when the period due is in an invoice the owner
    has in Payment Pending or Collections (held_by_owner)."""
    found = []
    for summary in recent(api.invoices(client_id=owner, status="Unpaid", newest_first=True), 50):
        invoice = api.invoice(summary.id)
        line = next((i for i in invoice.items if i.type == kind and i.relid == item_id), None)
        if line is not None and invoice.is_open:
            if next_due is not None and invoice.duedate == next_due:
                return invoice, line
            found.append((invoice, line))
    if not found or held_by_owner(api, owner, kind, item_id):
        return None
    return found[0]


# An owner's invoice that still bills what it billed but is not the owner's to be asked for now: a payment on its
# way, or in collections (GetInvoices `status`, DD:api-reference/getinvoices.md).
HELD = ("Payment Pending", "Collections")


def held_by_owner(api: WhmcsApi, owner: int, kind: str, relid: int) -> dict[str, Any]:
    """The owner's invoice, among its newest of each status in HELD, that bills the item (a "Hosting" or "Domain"
    line whose relid is it): its id and status (`owner_held`), or nothing. Its renewal is settled there, so the
    agency is not invoiced for it (twenty-third break round, delegation MEDIUM 2: the agency was invoiced at the
    TLD's price, then its payment was held for staff)."""
    for status in HELD:
        for summary in recent(api.invoices(client_id=owner, status=status, newest_first=True), 25):
            invoice = api.invoice(summary.id)
            if invoice.status in HELD and any(i.type == kind and i.relid == relid for i in invoice.items):
                return {"owner_held": {"invoice": invoice.id, "status": invoice.status}}
    return {}


def billed(invoice: Any, line: Any, kind: str) -> dict[str, Any]:
    """What the owner's invoice bills for a renewed item: its line and that line's promotions (the same relid,
    RENEWAL_PROMOTIONS: lines_for, as an order's lines are found), their total (what the owner would pay for it),
    each line's amount and whether it is taxed (GetInvoice `items.item[].taxed`, DD:api-reference/getinvoice.md)."""
    lines = [line, *promotions_of(invoice, line, kind)]
    return {
        "invoice_id": invoice.id,
        "line_id": line.id,
        "line_ids": [i.id for i in lines],
        "amount": str(sum((i.amount for i in lines), Decimal("0"))),
        "items": [{"id": i.id, "description": i.description, "amount": str(i.amount), "taxed": i.taxed} for i in lines],
        "line": line.description,  # the period it bills, in its words (renewal.billed_periods)
    }


def currencies(api: WhmcsApi, owner: int, delegate: Any) -> dict[str, Any]:
    """The owner's and the delegate's currencies (GetClientsDetails `currency_code`,
    DD:api-reference/getclientsdetails.md): an invoice is in its client's currency, so the owner's amount is the
    delegate's only when both are the same. Nothing when the read names no delegate (a row planned before)."""
    if not delegate:
        return {}
    return {
        "currency": api.client_details(owner).currency_code,
        "delegate_currency": api.client_details(int(delegate)).currency_code,
    }


def renewals_elsewhere(api: WhmcsApi, kind: str, item: int, others: list[dict[str, Any]]) -> dict[str, Any]:
    """Other grants' renewal invoices for the same item as WHMCS has them now (`others`: GetInvoice `status`,
    DD:api-reference/getinvoice.md; an invoice WHMCS no longer has is "Deleted") and, when there are any, the item's
    next due date now (`item_due`: GetClientsProducts / GetClientsDomains `nextduedate`), which tells a paid one
    whose period WHMCS renewed from one still to be applied. What renewal_scope.held weighs, read the same way for the
    rules (find_open_invoice) and for staff's `delegations renew` (families/delegation/staff.py)."""
    out = []
    for other in others:
        try:
            status = api.invoice(int(other["invoice"])).status
        except WhmcsApiError as exc:
            if not not_found(exc):
                raise
            status = "Deleted"
        out.append({**other, "status": status})
    if not out:
        return {"others": out}
    found: Any = api.service(item) if kind == "service" else next(api.domains(domain_id=item), None)
    due = found.nextduedate.isoformat() if found is not None and found.nextduedate else None
    return {"others": out, "item_due": due}


def domain_renewal(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """A domain's renewal for one registration period: its line on the owner's open invoice of the period due if
    there is one (a "Domain" item whose relid is the domain: DD:api-reference/getinvoice.md; period_due), else
    WHMCS's renewal price for its TLD and period (GetTLDPricing), with its next due date and period now
    (GetClientsDomains). A domain that is gone, is another client's now or is not active has nothing to renew."""
    report = p.get("report") or {}
    domain = next(api.domains(domain_id=int(p["domain_id"])), None)
    if domain is None or domain.client_id != int(p["client_id"]):  # a whole-account grant names any id
        return {**report, "invoice_id": None, "not_owners": True, "holder": domain.client_id if domain else None}
    if domain.status != "Active":
        return {**report, "invoice_id": None, "status": domain.status, "name": domain.domainname}
    years = domain.regperiod or 1
    facts = {
        "due": domain.nextduedate.isoformat() if domain.nextduedate else None,
        "years": years,
        "name": domain.domainname,
    }
    found = period_due(api, int(p["client_id"]), domain.id, domain.nextduedate, "Domain")
    if found is not None:
        invoice, line = found
        return {
            **report,
            **facts,
            **billed(invoice, line, "domain"),
            "paid": f"{invoice.paid:.2f}",  # part paid already: the renewal is left to staff
            **currencies(api, int(p["client_id"]), p.get("delegate_id")),
        }
    # No line bills it: the price is WHMCS's renewal price for its TLD and registration period, in the owner's
    # currency (GetTLDPricing `pricing.<tld>.renew.<years>` with `clientid`, DD:api-reference/gettldpricing.md),
    # not a per-domain recurring amount: GetClientsDomains documents its `domains` only as "the domains that
    # match the criteria passed" (DD:api-reference/getclientsdomains.md), so what a recurring amount there holds
    # (an order's promotion, a price since changed) is not something the bridge may bill on. The period is the
    # domain's own `regperiod`, the one DomainRenew is then sent for (DD:api-reference/domainrenew.md).
    held_by = held_by_owner(api, int(p["client_id"]), "Domain", domain.id)
    if held_by:
        return {**report, "invoice_id": None, **held_by}
    tld = domain.domainname.partition(".")[2]
    price = api.domain_renew_price(int(p["client_id"]), tld, years) if tld else None
    if price is None:
        return {**report, "invoice_id": None}
    return {
        **report,
        **facts,
        "invoice_id": None,
        "priced": True,
        "amount": str(price),
        **currencies(api, int(p["client_id"]), p.get("delegate_id")),
    }


def renewal_now(api: WhmcsApi, p: Params, client_id: int | None = None) -> dict[str, Any]:
    """What WHMCS says now about a delegated renewal, read when it is settled (or staff decided on its action):
    the service's or domain's status and next due date (a domain's expiry date too), the client it belongs to if
    not the owner's (`moved_to`), the owner's invoice (its
    status, what has been paid on it, the amount of the renewed line if it still has it), the owner's other
    invoices that bill the same period (`later`: later_lines) and the delegate's invoice (its status and what has
    been paid on it: its transactions less refunds, and credit, DD:api-reference/getinvoice.md).
    An invoice or item WHMCS no longer has is "Deleted"."""
    if p.get("domain_id"):
        domain = next(api.domains(domain_id=int(p["domain_id"])), None)
        item: Any = domain
        facts: dict[str, Any] = {"expiry": domain.expirydate.isoformat() if domain and domain.expirydate else None}
    else:
        item, facts = api.service(int(p["service_id"])), {}
    facts.update(
        status=item.status if item is not None else "Deleted",
        due=item.nextduedate.isoformat() if item is not None and item.nextduedate else None,
    )
    # Staff moved it to another client meanwhile (GetClientsProducts / GetClientsDomains `userid`,
    # DD:api-reference/getclientsproducts.md): a grant renews only what its owner holds now.
    if client_id is not None and item is not None and item.client_id != client_id:
        facts["moved_to"] = item.client_id
    if p.get("owner_invoice"):
        owner = invoice_or_none(api, int(p["owner_invoice"]))
        facts.update(
            owner_invoice=int(p["owner_invoice"]),
            owner_status=owner.status if owner else "Deleted",
            owner_paid=f"{owner.paid:.2f}" if owner else "0.00",
            owner_line=owner_lines(owner, p),
        )
    if client_id is not None:  # the owner's
        facts["later"] = later_lines(api, p, client_id)
    if p.get("delegate_invoice"):
        mine = invoice_or_none(api, int(p["delegate_invoice"]))
        facts.update(
            delegate_status=mine.status if mine else "Deleted", delegate_paid=f"{mine.paid:.2f}" if mine else "0.00"
        )
    return facts


def renewal_line_ids(p: Params) -> list[int]:
    """The owner's lines a renewal bills: its line and that line's promotions (`line_ids`), or its line alone (a
    row planned before promotions were billed with it)."""
    return [int(i) for i in p.get("line_ids") or [p["line_id"]]]


def owner_lines(owner: Any, p: Params) -> str | None:
    """What the owner's invoice still bills for the renewed item: the total of its line and that line's promotions
    still on it, or None when the line itself is gone."""
    if owner is None or not any(i.id == int(p["line_id"]) for i in owner.items):
        return None
    ids = set(renewal_line_ids(p))
    return str(sum((i.amount for i in owner.items if i.id in ids), Decimal("0")))


# An owner's invoice that no longer asks for anything: what it billed is not the owner's to pay (GetInvoices
# `status`, DD:api-reference/getinvoices.md); a Draft is not sent to the client.
NOT_BILLING = ("Cancelled", "Refunded", "Draft")


def later_invoices(api: WhmcsApi, p: Params, owner: int) -> list[tuple[Any, list[Any]]]:
    """The owner's invoices other than the one a renewal was priced from (WHMCS's cron makes the owner's own renewal
    invoice after the delegate was invoiced), among its 25 newest, that bill the renewed item (a "Hosting" or
    "Domain" item whose relid is it, DD:api-reference/getinvoice.md) for the period renewed (its line's dates from
    `from` to `until`, renewal_scope.period_mismatch): each with those lines. None before a renewal had `until`."""
    if not p.get("until"):
        return []
    out = []
    for summary in recent(api.invoices(client_id=owner, newest_first=True)):
        if summary.id == int(p.get("owner_invoice") or 0) or summary.status in NOT_BILLING:
            continue
        invoice = api.invoice(summary.id)
        lines = period_lines(invoice, p)
        if lines and invoice.status not in NOT_BILLING:
            out.append((invoice, lines))
    return out


def period_lines(invoice: Any, p: Params) -> list[Any]:
    """The invoice's lines that bill the renewed item (a "Hosting" or "Domain" item whose relid is it,
    DD:api-reference/getinvoice.md) for the period renewed (its line's dates from `from` to `until`,
    renewal_scope.period_mismatch), with that item's promotions; [] when it bills no such line."""
    kind, relid = ("Domain", int(p["domain_id"])) if p.get("domain_id") else ("Hosting", int(p["service_id"]))
    first, until = date.fromisoformat(str(p["from"])), date.fromisoformat(str(p["until"]))
    lines = [
        i
        for i in invoice.items
        if i.type == kind and i.relid == relid and period_mismatch(i.description, first, until) is None
    ]
    item_kind = "domain" if p.get("domain_id") else "service"
    return [*lines, *(i for line in lines for i in promotions_of(invoice, line, item_kind))]


def promotions_of(invoice: Any, line: Any, kind: str) -> list[Any]:
    """The promotions of one line of a renewed item (RENEWAL_PROMOTIONS: the same relid): all of them when the
    invoice bills the item once; when it bills several periods of it (invoices merged by staff, one made in
    advance), the ones written after this line and before the item's next line, as WHMCS writes a recurring
    discount right after the line it discounts. GetInvoice documents no link between the two
    (DD:api-reference/getinvoice.md: each item's id, type, relid, description and amount), so one period never
    takes the other's discount (twenty-third break round, delegation HIGH 1)."""
    types = RENEWAL_PROMOTIONS[kind]
    item = [
        i
        for i in sorted(invoice.items, key=lambda i: i.id)
        if i.relid == line.relid and (i.type == line.type or i.type in types)
    ]
    if sum(1 for i in item if i.type == line.type) <= 1:
        return [i for i in item if i.type in types]
    out, current = [], None
    for i in item:
        if i.type == line.type:
            current = i.id
        elif current == line.id:
            out.append(i)
    return out


def paid_invoice_now(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """An invoice reported paid while a delegated renewal's invoice is open, as WHMCS has it now: whose it is, its
    status, and whether it bills the renewed item for the period renewed (period_lines). The owner's payment of one
    that does (WHMCS's cron made it after the request) is the owner paying first (issue 16 twelfth round N7)."""
    invoice = invoice_or_none(api, int(p["paid_invoice"]))
    if invoice is None:
        return {"paid_invoice": int(p["paid_invoice"]), "paid_status": "Deleted", "bills": False}
    return {
        "paid_invoice": invoice.id,
        "paid_client": invoice.client_id,
        "paid_status": invoice.status,
        "bills": bool(period_lines(invoice, p)) or covers_period(api, invoice, p),
    }


def covers_period(api: WhmcsApi, invoice: Any, p: Params) -> bool:
    """Whether the invoice bills a longer period of the renewed item that holds the one renewed (a line of it from
    `from` to past `until`: an owner renewing a domain for two years itself, twenty-fifth round MEDIUM 3), and WHMCS
    shows the item's next due date moved past `until` for it (GetClientsDomains / GetClientsProducts `nextduedate`,
    DD:api-reference/getclientsdomains.md): what the delegate's invoice renews, WHMCS has renewed."""
    if not p.get("until"):
        return False
    kind, relid = ("Domain", int(p["domain_id"])) if p.get("domain_id") else ("Hosting", int(p["service_id"]))
    first, until = date.fromisoformat(str(p["from"])), date.fromisoformat(str(p["until"]))
    longer = any(
        start == first and last >= until
        for i in invoice.items
        if i.type == kind and i.relid == relid
        for start, last in billed_periods(i.description)
    )
    if not longer:
        return False
    item: Any = next(api.domains(domain_id=relid), None) if kind == "Domain" else api.service(relid)
    return item is not None and item.nextduedate is not None and item.nextduedate > until


def later_lines(api: WhmcsApi, p: Params, owner: int) -> list[dict[str, Any]]:
    """later_invoices as the rules read them: [{"invoice", "status", "paid", "lines"}]."""
    return [
        {"invoice": i.id, "status": i.status, "paid": f"{i.paid:.2f}", "lines": [line.id for line in lines]}
        for i, lines in later_invoices(api, p, owner)
    ]


def invoice_or_none(api: WhmcsApi, invoice_id: int) -> Any:
    """The invoice, or None when WHMCS no longer has it."""
    try:
        return api.invoice(invoice_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        return None


# GetInvoice item types (DD:api-reference/getinvoice.md lists each item's type and relid) that bill an
# order's service (its first period, its promotion) or domain (registration, transfer, promotion).
ORDER_LINE_TYPES = {
    "service": ("Hosting", "PromoHosting"),
    "domain": ("DomainRegister", "DomainTransfer", "PromoDomain"),
}
# The item types of a renewed service's or domain's promotion (a recurring discount WHMCS writes beside its renewal
# line, with the same relid): billed with the line and taken off with it.
RENEWAL_PROMOTIONS = {"service": ("PromoHosting",), "domain": ("PromoDomain",)}


def lines_for(invoice: Any, wanted: dict[tuple[str, int], str]) -> list[tuple[str, Any]]:
    """The invoice's items that bill what `wanted` names by (item type, relid), each with its "kind:relid"."""
    return [
        (f"{wanted[(item.type, item.relid)]}:{item.relid}", item)
        for item in invoice.items
        if (item.type, item.relid) in wanted
    ]


def find_order_invoice(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The lines of the owner's order invoice that bill the order's services and domains (by item type and
    relid), each with whether it is taxed, and whether that invoice is still open."""
    invoice = api.invoice(int(p["invoice_id"]))
    wanted = {(t, int(i["id"])): i["kind"] for i in p["items"] for t in ORDER_LINE_TYPES.get(i["kind"], ())}
    lines = [
        {
            "id": item.id,
            "description": item.description,
            "amount": str(item.amount),
            "taxed": item.taxed,
            "item": what,
        }
        for what, item in lines_for(invoice, wanted)
    ]
    owner = api.client_details(invoice.client_id)  # named on the agency's invoice as WHMCS names it now
    name = owner.companyname or f"{owner.firstname} {owner.lastname}".strip()
    return {
        **(p.get("report") or {}),
        "invoice_id": invoice.id,
        "open": invoice.is_open,
        "lines": lines,
        "owner": name,
        "paid": f"{invoice.paid:.2f}",  # part paid by the owner already: the order is parked for staff
        **currencies(api, invoice.client_id, p.get("delegate_id")),
    }
