"""Which one-time fact an event reports, so a webhook and a poll of the same fact are stored once (pure).

Only facts that happen once per WHMCS record get a key: an invoice is created, paid or cancelled
once; a ticket is opened once; an order is placed and accepted once. Repeatable facts (a service
suspended, an invoice marked unpaid) get none: the rules are idempotent, so a duplicate costs a
little work, while a wrongly shared key would lose a real event.
"""

from __future__ import annotations

from typing import Any


def _id(data: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        text = str(value).strip() if isinstance(value, (int, str)) else ""
        if text.isascii() and text.isdigit() and len(text) <= 18:  # "²".isdigit() is true, int() refuses it
            return str(int(text))
    return None


FACTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # event type: (record, id field names, what happened)
    "InvoiceCreated": ("invoice", ("invoiceid",), "created"),
    "InvoicePaid": ("invoice", ("invoiceid",), "paid"),
    "InvoiceCancelled": ("invoice", ("invoiceid",), "cancelled"),
    "TicketOpen": ("ticket", ("ticketid",), "opened"),
    "TicketOpenAdmin": ("ticket", ("ticketid",), "opened"),  # opened by staff (the poller tells it by GetTicket)
    "TicketGone": ("ticket", ("ticketid",), "gone"),  # a watched ticket WHMCS no longer has (deleted: once)
    "AcceptOrder": ("order", ("orderid",), "accepted"),
    # The checkout hook and the poller's OrderPlaced report one order but not the same facts: only
    # the poll carries who placed it (requestor), so they must not swallow each other.
    "AfterShoppingCartCheckout": ("order", ("OrderID", "orderid"), "checkout"),
    "OrderPlaced": ("order", ("orderid",), "placed"),
    "EmailLogged": ("email", ("emailid",), "logged"),  # the poller found it in a client's email log
}


def fact_of(kind: str, data: dict[str, Any]) -> str | None:
    if kind in ("TicketUserReply", "TicketAdminReply"):
        ticket, reply = _id(data, "ticketid"), _id(data, "replyid")
        return f"ticket:{ticket}:reply:{reply}" if ticket and reply else None
    if kind == "TicketAddNote":  # the poll names the note; the hook does not (DD:hooks-reference/ticket.md)
        ticket, note = _id(data, "ticketid"), _id(data, "noteid")
        return f"ticket:{ticket}:note:{note}" if ticket and note else None
    if kind == "InvoiceOverdue":  # once per invoice and due date (a due date can be moved)
        invoice = _id(data, "invoiceid")
        return f"invoice:{invoice}:overdue:{data.get('duedate')}" if invoice and data.get("duedate") else None
    if kind == "ActivityLogged":
        entry = _id(data, "id")
        return f"activity:{entry}" if entry else None
    spec = FACTS.get(kind)
    if spec is None:
        return None
    record, names, happened = spec
    identifier = _id(data, *names)
    return f"{record}:{identifier}:{happened}" if identifier else None
