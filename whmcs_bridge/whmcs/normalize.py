"""Every WHMCS response quirk, turned into clean typed records; past this module nobody sees a raw WHMCS dict.
It is the face the bridge imports: the values are made plain in normalize_values.py, and the records parsed by
area in normalize_clients.py (clients, services, domains), normalize_billing.py (invoices, orders) and
normalize_support.py (tickets, emails, the activity log).

Quirks handled (sources: WHMCS/developer-docs api-reference pages and reference/whmcs-api.md):
- ids and counts arrive as ints or numeric strings, even within one action (GetClientsProducts);
- empty lists arrive as `""` (GetInvoice `transactions`), `{}`, `[]`, `[[]]` (GetTicket
  `attachments`), `{"customfield": []}` or are missing altogether;
- lists are wrapped plural -> singular (`invoices.invoice[]`), and a single object may stand where
  a one-item list is expected (XML heritage);
- some documented examples are flattened NVP keys (`domains[domain][0][id]`, GetClientsDomains);
- empty dates are `0000-00-00` or `0000-00-00 00:00:00`; money is a string ("15.95") or a
  formatted amount ("$2645.80 USD"); booleans are `"1"`, `"on"`, `true`, `""`, `"0"`...
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from whmcs_bridge.whmcs.normalize_billing import invoice, invoice_item, order, transaction
from whmcs_bridge.whmcs.normalize_clients import (
    client_details,
    client_summary,
    contact,
    domain,
    service,
    user,
    whois_info,
)
from whmcs_bridge.whmcs.normalize_support import (
    activity_entry,
    email,
    rendered_from,
    subject_filter,
    ticket,
    ticket_reply,
)
from whmcs_bridge.whmcs.normalize_values import (
    KEYED_BY_NUMBER,
    Raw,
    as_list,
    ids,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_int,
    to_money,
    to_str,
    unflatten,
)
from whmcs_bridge.whmcs.records import (
    ActivityEntry,
    ClientDetails,
    ClientSummary,
    ClientUser,
    Contact,
    Domain,
    Email,
    Invoice,
    InvoiceItem,
    Order,
    OrderLine,
    Page,
    Service,
    Ticket,
    TicketNote,
    TicketReply,
    Transaction,
    User,
    UserClientLink,
    WhoisInfo,
)

# What the bridge imports from here: the records, the plain values, and the parsers of every area.
__all__ = [
    "ActivityEntry", "ClientDetails", "ClientSummary", "ClientUser", "Contact", "Domain", "Email", "Invoice",
    "InvoiceItem", "Order", "OrderLine", "Page", "Service", "Ticket", "TicketNote", "TicketReply", "Transaction",
    "User", "UserClientLink", "WhoisInfo",
    "KEYED_BY_NUMBER", "Raw", "as_list", "ids", "to_bool", "to_date", "to_datetime", "to_decimal", "to_int",
    "to_money", "to_str", "unflatten",
    "client_details", "client_summary", "contact", "domain", "service", "user", "whois_info",
    "invoice", "invoice_item", "order", "transaction",
    "activity_entry", "email", "rendered_from", "subject_filter", "ticket", "ticket_reply",
    "generic", "items_of", "page",
]  # fmt: skip


def page(raw: Raw, plural: str, singular: str | None) -> Page:
    """The pagination fields and the item list of a list action (GetActivityLog has no numreturned)."""
    data = unflatten(raw)
    items = as_list(data.get(plural), singular)
    return Page(
        total=to_int(data.get("totalresults")) or 0,
        start=to_int(data.get("startnumber")) or 0,
        returned=(to_int(data.get("numreturned")) or 0) if "numreturned" in data else len(items),
        items=items,
    )


def generic(raw: Raw) -> dict[str, Any]:
    """Any action's answer as plain nested data: flattened keys rebuilt, wrappers kept."""
    return unflatten(raw)


def items_of(pages: Iterable[Page]) -> Iterable[dict[str, Any]]:
    for p in pages:
        yield from p.items
