"""What the poll found in WHMCS, shaped as the PHP hook would send it (the same event types and data, so a webhook
and a poll of one fact are one event: intake/facts.py). Records in, events out: no WHMCS call, no store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from whmcs_bridge.pasted import masked
from whmcs_bridge.whmcs.records import Invoice

log = logging.getLogger("whmcs_bridge.poller")

NOTE_EVENT = "TicketAddNote"  # a staff note on a ticket, as the hook of that name tells it (with its id here)


@dataclass(frozen=True)
class Found:
    type: str
    data: dict[str, Any]
    occurred_at: str | None = None


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoiceid": invoice.id,
        "userid": invoice.client_id,
        "status": invoice.status,
        "duedate": invoice.duedate.isoformat() if invoice.duedate else None,
        "total": str(invoice.total),
    }


def ticket_data(ticket: Any, message: str | None = None) -> dict[str, Any]:
    """TicketOpen's data for a ticket WHMCS lists, with its opening message read with GetTicket (GetTickets has
    none; the hook's TicketOpen has it, and the rules route by it: DD:api-reference/getticket.md)."""
    return {
        "ticketid": ticket.id,
        "ticketmask": ticket.tid,
        "userid": ticket.client_id,
        "deptid": ticket.deptid,
        "subject": masked(ticket.subject),  # a subject may hold a pasted code too
        "requestor_name": ticket.requestor_name,
        "requestor_email": ticket.requestor_email,
        "requestor_type": ticket.requestor_type,
        "service": f"{ticket.service_ref[0]}:{ticket.service_ref[1]}" if ticket.service_ref else None,
        "message": masked(message) if message else message,  # a pasted code or password is never kept (pasted.py)
    }


def order_data(order: Any) -> dict[str, Any]:
    """OrderPlaced's data for an order WHMCS lists: who placed it, and what it made."""
    return {
        "orderid": order.id,
        "userid": order.client_id,
        "requestor_id": order.requestor_id,
        "admin_requestor_id": order.admin_requestor_id,
        "invoiceid": order.invoice_id,
        "status": order.status,
        "lines": [{"type": line.type, "relid": line.relid, "domain": line.domain} for line in order.lines],
    }


def note_found(full: Any, note: Any) -> Found:
    data = {
        "ticketid": full.id,
        "noteid": note.id,
        "userid": full.client_id,
        "subject": masked(full.subject),
        "message": masked(note.message),
        "admin": note.admin,
        "date": note.date.isoformat() if note.date else None,
    }
    return Found(NOTE_EVENT, data, note.date.isoformat() if note.date else None)


def reply_found(full: Any, reply: Any) -> Found:
    data = {
        "ticketid": full.id,
        "replyid": reply.id,
        # TicketUserReply's userid is who wrote (0 for a guest writing in by email, or a reply made as
        # the system); an admin reply names the ticket's client, as the rules route by it.
        "userid": full.client_id if reply.admin else reply.client_id,
        "deptid": full.deptid,
        "subject": masked(full.subject),
        "message": masked(reply.message),
        "status": full.status,
        "admin": reply.admin,
        "requestor_name": reply.requestor_name,
        "requestor_email": reply.requestor_email,
        "requestor_type": reply.requestor_type,
        "service": f"{full.service_ref[0]}:{full.service_ref[1]}" if full.service_ref else None,
    }
    kind = "TicketAdminReply" if reply.admin else "TicketUserReply"
    return Found(kind, data, reply.date.isoformat() if reply.date else None)


def email_found(email: Any) -> Found:
    data = {
        "emailid": email.id,
        "userid": email.client_id,
        "subject": email.subject,
        "to": email.to,
        "cc": email.cc,
        "failed": email.failed,
    }
    return Found("EmailLogged", data, email.date.isoformat() if email.date else None)


def ticket_found(ticket: Any, message: str | None = None, kind: str = "TicketOpen") -> Found:
    return Found(kind, ticket_data(ticket, message), ticket.date.isoformat() if ticket.date else None)


def order_found(order: Any) -> Found:
    if order.requestor_id is None:
        log.warning(
            "order #%s: GetOrders gave no requestor_id, so who placed it is unknown; an order by an "
            "administrative contact is flagged for staff instead of granted (README: Known WHMCS uncertainties)",
            order.id,
        )
    return Found("OrderPlaced", order_data(order), order.date.isoformat() if order.date else None)
