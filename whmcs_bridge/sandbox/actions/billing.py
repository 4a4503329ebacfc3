"""Invoices and payments: GetInvoices, GetInvoice, CreateInvoice, UpdateInvoice, AddInvoicePayment, AddCredit,
ApplyCredit."""

from __future__ import annotations

import re
from datetime import date as _date
from datetime import timedelta as _timedelta
from decimal import Decimal
from typing import Any

from whmcs_bridge.sandbox.actions.base import (
    INVOICE_STATUSES,
    ZERO_DATETIME,
    ApiFail,
    Hook,
    Params,
    Where,
    listing,
    money,
)
from whmcs_bridge.sandbox.state import SandboxState

PREFIXES = {"EUR": "€", "USD": "$", "GBP": "£"}


def _invoice_summary(r: Any, client: Any) -> dict[str, Any]:
    code = client["currency_code"] if client else "EUR"
    return {
        "id": r["id"],
        "userid": r["client_id"],
        "firstname": client["firstname"] if client else "",
        "lastname": client["lastname"] if client else "",
        "companyname": client["companyname"] if client else "",
        "invoicenum": r["invoicenum"],
        "date": r["date"],
        "duedate": r["duedate"],
        "datepaid": r["datepaid"],
        "last_capture_attempt": ZERO_DATETIME,
        "date_refunded": ZERO_DATETIME,
        "date_cancelled": r["date_cancelled"],
        "subtotal": money(r["subtotal"]),
        "credit": money(r["credit"]),
        "tax": money(r["tax"]),
        "tax2": "0.00",
        "total": money(r["total"]),
        "taxrate": "0.000",
        "taxrate2": "0.000",
        "status": r["status"],
        "paymentmethod": r["paymentmethod"],
        "paymethodid": None,
        "notes": r["notes"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        # An invoice is in its client's currency (DD:api-reference/getinvoices.md lists `currencycode`).
        "currencycode": code,
        "currencyprefix": PREFIXES.get(code, ""),
        "currencysuffix": f" {code}",
    }


def _invoice_order(sb: SandboxState, p: Params) -> str:
    """`orderby` and `order` are honoured (DD:api-reference/getinvoices.md, 7.7+); their defaults are
    unstated, so without them the order is the run's choice."""
    column = {"invoicenumber": "invoicenum"}.get(p.text("orderby"), p.text("orderby"))
    if column not in ("id", "invoicenum", "date", "duedate", "total", "status"):
        return sb.orders.sql("GetInvoices")
    asked = p.text("order").lower()
    direction = asked.upper() if asked in ("asc", "desc") else sb.orders.sql("GetInvoices.order")
    return f"{column} {direction}, id {direction}"


def get_invoices(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    where.ids(p, userid="client_id")
    status = p.text("status")
    if status == "Overdue":  # a derived filter, not a stored status
        where.clauses.append("status = 'Unpaid' AND duedate < ?")
        where.args.append(sb.today().isoformat())
    elif status:
        where.clauses.append("status = ?")
        where.args.append(status)
    total, start, rows = listing(sb, p, "SELECT * FROM invoices WHERE " + where.sql, where.args, _invoice_order(sb, p))
    clients = (
        {
            r["id"]: r
            for r in sb.all(
                f"SELECT * FROM clients WHERE id IN ({','.join('?' * len(rows))})", [r["client_id"] for r in rows]
            )
        }
        if rows
        else {}
    )
    return {
        "totalresults": total,
        "startnumber": start,
        "numreturned": len(rows),
        "invoices": {"invoice": [_invoice_summary(r, clients.get(r["client_id"])) for r in rows]},
    }


def _balance(sb: SandboxState, invoice: Any) -> Decimal:
    paid = sb.scalar(
        "SELECT COALESCE(SUM(CAST(amountin AS REAL)), 0) FROM transactions WHERE invoice_id = ?", [invoice["id"]]
    )
    return (Decimal(invoice["total"]) - Decimal(str(paid))).quantize(Decimal("0.01"))


def get_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    items = sb.all("SELECT * FROM invoice_items WHERE invoice_id = ? ORDER BY id", [r["id"]])
    txs = sb.all("SELECT * FROM transactions WHERE invoice_id = ? ORDER BY id", [r["id"]])
    return {
        "invoiceid": r["id"],
        "invoicenum": r["invoicenum"],
        "userid": r["client_id"],
        "date": r["date"],
        "duedate": r["duedate"],
        "datepaid": r["datepaid"],
        "lastcaptureattempt": ZERO_DATETIME,
        "subtotal": money(r["subtotal"]),
        "credit": money(r["credit"]),
        "tax": money(r["tax"]),
        "tax2": "0.00",
        "total": money(r["total"]),
        "balance": money(_balance(sb, r)),
        "taxrate": "0.000",
        "taxrate2": "0.000",
        "status": r["status"],
        "paymentmethod": r["paymentmethod"],
        "notes": r["notes"],
        "ccgateway": False,
        "items": {
            "item": [
                {
                    "id": i["id"],
                    "type": i["type"],
                    "relid": i["relid"],
                    "description": i["description"],
                    "amount": money(i["amount"]),
                    "taxed": i["taxed"],
                }
                for i in items
            ]
        },
        # No transactions is an empty string, not an empty list (DD:api-reference/getinvoice.md).
        "transactions": {
            "transaction": [
                {
                    "id": t["id"],
                    "userid": t["client_id"],
                    "currency": 0,
                    "gateway": t["gateway"],
                    "date": t["date"],
                    "description": t["description"],
                    "amountin": money(t["amountin"]),
                    "fees": money(t["fees"]),
                    "amountout": "0.00",
                    "rate": "1.00000",
                    "transid": t["transid"],
                    "invoiceid": t["invoice_id"],
                    "refundid": 0,
                }
                for t in txs
            ]
        }
        if txs
        else "",
    }


def create_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    client = sb.one("SELECT id FROM clients WHERE id = ?", [p.num("userid")])
    if client is None:
        raise ApiFail("Client ID Not Found")
    if p.flag("draft") and p.flag("sendinvoice"):
        raise ApiFail(
            "Cannot create and send a draft invoice in a single API request. Please create and send separately."
        )
    status = "Draft" if p.flag("draft") else (p.text("status") or "Unpaid")
    if status not in INVOICE_STATUSES:
        raise ApiFail(f"Invalid status {status}")
    lines = []
    for key in sorted(p.values):
        match = re.fullmatch(r"itemdescription(\d+)", key)
        if match:
            n = match.group(1)
            lines.append((p.text(key), p.money(f"itemamount{n}") or Decimal("0"), int(p.flag(f"itemtaxed{n}"))))
    total = sum((amount for _, amount, _ in lines), Decimal("0"))
    today = sb.today().isoformat()
    invoice_id = sb.insert(
        "invoices",
        client_id=client["id"],
        date=p.text("date") or today,
        duedate=p.text("duedate") or today,
        subtotal=money(total),
        total=money(total),
        status=status,
        paymentmethod=p.text("paymentmethod") or "banktransfer",
        notes=p.text("notes"),
        created_at=sb.stamp(),
        updated_at=sb.stamp(),
    )
    for description, amount, taxed in lines:
        sb.insert(
            "invoice_items",
            invoice_id=invoice_id,
            type="",
            relid=0,
            description=description,
            amount=money(amount),
            taxed=taxed,
        )
    if status != "Draft":
        p.hooks.append(
            Hook("InvoiceCreated", {"source": "api", "user": "system", "invoiceid": invoice_id, "status": status})
        )
    return {"invoiceid": str(invoice_id), "status": status}


STATUS_HOOKS = {
    "Cancelled": "InvoiceCancelled",
    "Unpaid": "InvoiceUnpaid",
    "Paid": "InvoicePaid",
    "Refunded": "InvoiceRefunded",
}


def update_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    changes = _status_change(sb, p, r) if p.has("status") else {}
    for key in ("duedate", "date", "notes", "paymentmethod"):
        if key in p.values:
            changes[key] = p.text(key)
    if _edit_lines(sb, p, r["id"]):
        lines = sb.all("SELECT amount FROM invoice_items WHERE invoice_id = ?", [r["id"]])
        total = money(sum((Decimal(line["amount"]) for line in lines), Decimal("0")))
        changes.update(subtotal=total, total=total)
    if changes:
        changes["updated_at"] = sb.stamp()
        sb.update("invoices", r["id"], **changes)
        new_status = changes.get("status")
        hook = STATUS_HOOKS.get(new_status) if new_status and new_status != r["status"] else None
        if hook:
            p.hooks.append(Hook(hook, {"invoiceid": r["id"]}))
    return {"invoiceid": str(r["id"])}


def _edit_lines(sb: SandboxState, p: Params, invoice_id: int) -> bool:
    """UpdateInvoice's line edits (DD:api-reference/updateinvoice.md): `itemdescription`/`itemamount`/
    `itemtaxed` keyed by line id change lines, `newitem*` (numerically indexed) add untyped lines,
    `deletelineids` removes lines by their GetInvoice id; the totals follow the lines (its 7.8 note: adjust
    the items to adjust the totals). Whether the lines changed."""
    changed = p.sub("itemdescription")
    amounts, taxed = p.sub("itemamount"), p.sub("itemtaxed")
    if changed and (set(changed) - set(amounts) or set(changed) - set(taxed)):
        raise ApiFail(
            "Missing Variables: itemdescription, itemamount and itemtaxed are required for each item being changed"
        )
    for line_id, description in changed.items():
        sb.db.execute(
            "UPDATE invoice_items SET description = ?, amount = ?, taxed = ? WHERE id = ? AND invoice_id = ?",
            (
                description,
                money(Decimal(amounts[line_id] or "0")),
                int(taxed[line_id] in ("1", "true", "on")),
                int(line_id),
                invoice_id,
            ),
        )
    added = p.sub("newitemdescription")
    new_amounts, new_taxed = p.sub("newitemamount"), p.sub("newitemtaxed")
    for index, description in sorted(added.items()):
        sb.insert(
            "invoice_items",
            invoice_id=invoice_id,
            type="",
            relid=0,
            description=description,
            amount=money(Decimal(new_amounts.get(index) or "0")),
            taxed=int(new_taxed.get(index, "0") in ("1", "true", "on")),
        )
    deleted = [int(v) for v in p.sub("deletelineids").values() if v.strip().isdigit()]
    for gone in deleted:
        sb.db.execute("DELETE FROM invoice_items WHERE id = ? AND invoice_id = ?", (gone, invoice_id))
    return bool(changed or added or deleted)


def add_typed_line(sb: SandboxState, invoice_id: int, line: dict[str, Any]) -> int:
    """A line WHMCS's own billing writes on an invoice, with its type and relid (a promotion's discount:
    `PromoHosting`, `PromoDomain`; a renewal: `Hosting`, `Domain`, DD:api-reference/getinvoice.md), which no API
    call adds (UpdateInvoice's new items are untyped, DD:api-reference/updateinvoice.md); the totals follow the
    lines, as UpdateInvoice's do. The new line's id."""
    line_id = sb.insert(
        "invoice_items",
        invoice_id=invoice_id,
        type=str(line["type"]),
        relid=int(line.get("relid") or 0),
        description=str(line["description"]),
        amount=money(Decimal(str(line["amount"]))),
        taxed=int(bool(line.get("taxed"))),
    )
    lines = sb.all("SELECT amount FROM invoice_items WHERE invoice_id = ?", [invoice_id])
    total = money(sum((Decimal(item["amount"]) for item in lines), Decimal("0")))
    sb.update("invoices", invoice_id, subtotal=total, total=total, updated_at=sb.stamp())
    return line_id


def _status_change(sb: SandboxState, p: Params, r: Any) -> dict[str, Any]:
    """The columns a new status sets: the status, and when it was cancelled or first paid."""
    status = p.text("status")
    if status not in INVOICE_STATUSES:
        raise ApiFail(f"Invalid status {status}")
    changes: dict[str, Any] = {"status": status}
    if status == "Cancelled":
        changes["date_cancelled"] = sb.stamp()
    if status == "Paid" and r["datepaid"].startswith("0000"):
        changes["datepaid"] = sb.stamp()
    return changes


# The active gateways (GetPaymentMethods): module system name -> display name.
PAYMENT_METHODS = {"banktransfer": "Bank Transfer", "mailin": "Mail In Payment", "paypal": "PayPal", "stripe": "Stripe"}


def get_payment_methods(sb: SandboxState, p: Params) -> dict[str, Any]:
    methods = [{"module": module, "displayname": name} for module, name in PAYMENT_METHODS.items()]
    return {"totalresults": len(methods), "paymentmethods": {"paymentmethod": methods}}


def get_transactions(sb: SandboxState, p: Params) -> dict[str, Any]:
    """DD:api-reference/gettransactions.md: filters invoiceid, clientid, transid; no paging parameters."""
    where = Where()
    where.ids(p, invoiceid="invoice_id", clientid="client_id")
    where.texts(p, transid="transid")
    rows = sb.all(f"SELECT * FROM transactions WHERE {where.sql} ORDER BY id", where.args)
    items = [
        {
            "id": str(t["id"]),
            "userid": str(t["client_id"]),
            "currency": "0",
            "gateway": t["gateway"],
            "date": t["date"],
            "description": t["description"],
            "amountin": t["amountin"],
            "fees": t["fees"],
            "amountout": "0.00",
            "rate": "1.00000",
            "transid": t["transid"],
            "invoiceid": str(t["invoice_id"]),
            "refundid": "0",
        }
        for t in rows
    ]
    return {
        "totalresults": len(items),
        "startnumber": 0,
        "numreturned": len(items),
        "transactions": {"transaction": items} if items else [],
    }


def _payment_checks(p: Params) -> None:
    """AddInvoicePayment's required parameters (DD:api-reference/addinvoicepayment.md marks transid,
    gateway and date required; the texts for a missing one are not documented: chosen)."""
    for key in ("transid", "gateway", "date"):
        if not p.has(key):
            raise ApiFail(f"{key} is required")
    if not re.fullmatch(r"\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d)?", p.text("date")):
        raise ApiFail("Invalid Date Format")
    if p.text("gateway") not in PAYMENT_METHODS:
        # The text WHMCS documents for an unknown payment method (addorder.md, upgradeproduct.md).
        raise ApiFail(f"Invalid Payment Method. Valid options include {','.join(PAYMENT_METHODS)}")


def add_invoice_payment(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    if r["status"] == "Cancelled":
        raise ApiFail("It is not possible to add a payment to an invoice that is Cancelled")
    _payment_checks(p)
    amount = p.money("amount")
    if amount is None:
        amount = _balance(sb, r)
    sb.insert(
        "transactions",
        invoice_id=r["id"],
        client_id=r["client_id"],
        gateway=p.text("gateway"),
        transid=p.text("transid"),
        date=p.text("date"),
        amountin=money(amount),
        fees=money(p.money("fees") or 0),
    )
    sb.log(f"Added Invoice Payment - Invoice ID: {r['id']}", r["client_id"])
    p.hooks.append(Hook("AddInvoicePayment", {"invoiceid": r["id"]}))
    _settle_if_paid(sb, p, r["id"])
    return {}


def _settle_if_paid(sb: SandboxState, p: Params, invoice_id: int) -> bool:
    """An open invoice with nothing left to pay becomes Paid (InvoicePaid), its services renewed."""
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [invoice_id])
    if r is None or _balance(sb, r) > 0 or r["status"] not in ("Unpaid", "Collections", "Payment Pending", "Draft"):
        return False
    sb.update("invoices", r["id"], status="Paid", datepaid=sb.stamp(), updated_at=sb.stamp())
    _mark_services_paid(sb, r["id"])
    _renew_domains_paid(sb, r["id"])
    p.hooks.append(Hook("InvoicePaid", {"invoiceid": r["id"]}))
    return True


def add_credit(sb: SandboxState, p: Params) -> dict[str, Any]:
    """AddCredit (DD:api-reference/addcredit.md): a positive amount added to, or with type=remove taken
    from, the client's credit balance. The docs state no text for removing more than the balance: refused."""
    client = sb.one("SELECT * FROM clients WHERE id = ?", [p.num("clientid")])
    if client is None:
        raise ApiFail("Client ID Not Found")
    amount = p.money("amount")
    if amount is None or amount <= 0:
        raise ApiFail("Amount must be a positive value")
    balance = Decimal(client["credit"] or "0")
    new = balance - amount if p.text("type", "add") == "remove" else balance + amount
    if new < 0:
        raise ApiFail("Amount exceeds the client's credit balance")
    sb.update("clients", client["id"], credit=money(new))
    sb.log(f"Added Credit - {p.text('description')}", client["id"])
    return {"newbalance": money(new)}


def apply_credit(sb: SandboxState, p: Params) -> dict[str, Any]:
    """ApplyCredit (DD:api-reference/applycredit.md): the client's credit applied to an invoice, `amount` of
    it (optional; without it, as much as the credit and the invoice's balance allow: the docs do not say).
    The invoice's credit grows and its total shrinks by the amount, so its balance does too; an invoice
    left with nothing to pay is Paid."""
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    if r["status"] not in ("Unpaid", "Collections", "Payment Pending", "Draft"):
        raise ApiFail("Invoice is not unpaid")
    client = sb.one("SELECT * FROM clients WHERE id = ?", [r["client_id"]])
    credit = Decimal(client["credit"] or "0") if client else Decimal("0")
    amount = p.money("amount")
    amount = min(credit, _balance(sb, r)) if amount is None else amount
    if amount <= 0 or amount > credit or amount > _balance(sb, r):
        raise ApiFail("Amount exceeds the client's credit balance or the invoice's balance")
    sb.update("clients", r["client_id"], credit=money(credit - amount))
    sb.update(
        "invoices",
        r["id"],
        credit=money(Decimal(r["credit"] or "0") + amount),
        total=money(Decimal(r["total"]) - amount),
        updated_at=sb.stamp(),
    )
    sb.log(f"Credit Applied to Invoice ID: {r['id']} - Amount: {money(amount)}", r["client_id"])
    paid = _settle_if_paid(sb, p, r["id"])
    return {"invoiceid": r["id"], "amount": money(amount), "invoicepaid": "true" if paid else "false"}


def _mark_services_paid(sb: SandboxState, invoice_id: int) -> None:
    """WHMCS's renewal logic: paying a service's invoice moves its next due date one cycle on."""
    for item in sb.all("SELECT relid FROM invoice_items WHERE invoice_id = ? AND type = 'Hosting'", [invoice_id]):
        service = sb.one("SELECT * FROM services WHERE id = ?", [item["relid"]])
        if service and service["nextduedate"]:
            due = _date.fromisoformat(service["nextduedate"])
            month = due.month % 12 + 1
            year = due.year + (due.month == 12)
            nxt = due.replace(year=year, month=month, day=min(due.day, 28))
            sb.update("services", service["id"], nextduedate=nxt.isoformat())


def _renew_domains_paid(sb: SandboxState, invoice_id: int) -> None:
    """A paid domain renewal ("Domain" line): the registrar renews the domain (DD:domain-registrars/index.md:
    renewals "are triggered when payments are made within WHMCS for domain purchases or renewals"), for its
    period, and its next due date moves that period on (chosen, as a service's does); the expiry date is the
    registrar's, synced later: left as it is."""
    for item in sb.all("SELECT relid FROM invoice_items WHERE invoice_id = ? AND type = 'Domain'", [invoice_id]):
        domain = sb.one("SELECT * FROM domains WHERE id = ?", [item["relid"]])
        if domain is None:
            continue
        years = int(domain["regperiod"] or 1)
        sb.insert("registrar_renewals", domain_id=domain["id"], years=years, at=sb.stamp())
        sb.log(f"Domain Renewal Successful - {domain['domainname']} - {years} Year(s)", domain["client_id"])
        if domain["nextduedate"]:
            due = _date.fromisoformat(domain["nextduedate"])
            try:
                nxt = due.replace(year=due.year + years)
            except ValueError:
                nxt = due.replace(year=due.year + years, day=28)
            sb.update("domains", domain["id"], nextduedate=nxt.isoformat())


def gen_invoices(sb: SandboxState, p: Params) -> dict[str, Any]:
    """GenInvoices (DD:api-reference/geninvoices.md) for the domains named in `domainids[]` (the sandbox
    generates no service or addon invoices, and without `domainids` none: when an invoice is "due to be
    generated" is WHMCS's configuration, not the page's). Each domain not yet billed for its next due date gets
    an invoice of one "Domain" line (relid: the domain) for its recurring amount and registration period,
    named as WHMCS's default renewal line reads (chosen: "Domain Renewal - NAME - N Year/s (FROM - TO)")."""
    client_id = p.num("clientid")
    if client_id and sb.one("SELECT id FROM clients WHERE id = ?", [client_id]) is None:
        raise ApiFail("Client ID Not Found")
    created: list[int] = []
    for value in p.sub("domainids").values():
        domain = sb.one("SELECT * FROM domains WHERE id = ?", [int(value)])
        if domain is None or not domain["nextduedate"] or (client_id and domain["client_id"] != client_id):
            continue
        billed = sb.one(
            "SELECT i.id FROM invoices i JOIN invoice_items t ON t.invoice_id = i.id"
            " WHERE t.type = 'Domain' AND t.relid = ? AND i.status IN ('Unpaid', 'Draft')",
            [domain["id"]],
        )
        if billed is not None:
            continue
        due = _date.fromisoformat(domain["nextduedate"])
        years = int(domain["regperiod"] or 1)
        try:
            until = due.replace(year=due.year + years)
        except ValueError:
            until = due.replace(year=due.year + years, day=28)
        description = (
            f"Domain Renewal - {domain['domainname']} - {years} Year/s "
            f"({due:%d/%m/%Y} - {until - _timedelta(days=1):%d/%m/%Y})"
        )
        amount = money(domain["recurringamount"])
        invoice_id = sb.insert(
            "invoices",
            client_id=domain["client_id"],
            date=sb.today().isoformat(),
            duedate=due.isoformat(),
            subtotal=amount,
            total=amount,
            status="Unpaid",
            created_at=sb.stamp(),
            updated_at=sb.stamp(),
        )
        sb.insert(
            "invoice_items",
            invoice_id=invoice_id,
            type="Domain",
            relid=domain["id"],
            description=description,
            amount=amount,
            taxed=0,
        )
        p.hooks.append(
            Hook("InvoiceCreated", {"source": "autogen", "user": "system", "invoiceid": invoice_id, "status": "Unpaid"})
        )
        created.append(invoice_id)
    answer: dict[str, Any] = {"numcreated": str(len(created))}
    if client_id and created:
        answer["latestinvoiceid"] = created[-1]
    return answer
