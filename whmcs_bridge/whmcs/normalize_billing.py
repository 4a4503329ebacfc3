"""Billing records, from WHMCS answers: invoices with their items and transactions, and orders with their lines
(the values' quirks: normalize_values.py)."""

from __future__ import annotations

from whmcs_bridge.whmcs.normalize_values import (
    Raw,
    as_list,
    ids,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_money,
    to_str,
    unflatten,
)
from whmcs_bridge.whmcs.records import Invoice, InvoiceItem, Order, OrderLine, Transaction


def invoice_item(r: Raw) -> InvoiceItem:
    return InvoiceItem(
        id=ids(r.get("id")),
        type=to_str(r.get("type")),
        relid=ids(r.get("relid")),
        description=to_str(r.get("description")),
        amount=to_money(r.get("amount")),
        taxed=to_bool(r.get("taxed")),
    )


def transaction(r: Raw) -> Transaction:
    return Transaction(
        id=ids(r.get("id")),
        transid=to_str(r.get("transid")),
        gateway=to_str(r.get("gateway")),
        date=to_datetime(r.get("date")),
        amountin=to_money(r.get("amountin")),
        amountout=to_money(r.get("amountout")),
        description=to_str(r.get("description")),
        invoice_id=ids(r.get("invoiceid")),
    )


def invoice(raw: Raw) -> Invoice:
    """One invoice from GetInvoices (a list item) or GetInvoice (the whole answer)."""
    r = unflatten(raw)
    return Invoice(
        id=ids(r.get("id") or r.get("invoiceid")),
        client_id=ids(r.get("userid")),
        invoicenum=to_str(r.get("invoicenum")),
        date=to_date(r.get("date")),
        duedate=to_date(r.get("duedate")),
        datepaid=to_datetime(r.get("datepaid")),
        subtotal=to_money(r.get("subtotal")),
        credit=to_money(r.get("credit")),
        tax=to_money(r.get("tax")),
        total=to_money(r.get("total")),
        balance=to_decimal(r.get("balance")),
        status=to_str(r.get("status")),
        paymentmethod=to_str(r.get("paymentmethod")),
        notes=to_str(r.get("notes")),
        currencycode=to_str(r.get("currencycode")),
        items=[invoice_item(i) for i in as_list(r.get("items"), "item")],
        transactions=[transaction(t) for t in as_list(r.get("transactions"), "transaction")],
    )


def order(r: Raw) -> Order:
    return Order(
        id=ids(r.get("id")),
        ordernum=to_str(r.get("ordernum")),
        client_id=ids(r.get("userid")),
        contact_id=ids(r.get("contactid")),
        # DD:api-reference/getorders.md has `requestor_id` only as a filter and in the example, with no
        # meaning stated; WHMCS before 8.x's users may not send it. Absent is None, never 0: "unknown" is
        # not "nobody" (README, "Known WHMCS uncertainties").
        requestor_id=ids(r["requestor_id"]) if "requestor_id" in r else None,
        admin_requestor_id=ids(r.get("admin_requestor_id")),
        date=to_datetime(r.get("date")),
        amount=to_money(r.get("amount")),
        invoice_id=ids(r.get("invoiceid")),
        status=to_str(r.get("status")),
        paymentstatus=to_str(r.get("paymentstatus")),
        lines=[
            OrderLine(
                type=to_str(li.get("type")),
                relid=ids(li.get("relid")),
                producttype=to_str(li.get("producttype")),
                product=to_str(li.get("product")),
                domain=to_str(li.get("domain")),
                billingcycle=to_str(li.get("billingcycle")),
                amount=to_money(li.get("amount")),
                status=to_str(li.get("status")),
            )
            for li in as_list(r.get("lineitems"), "lineitem")
        ],
    )
