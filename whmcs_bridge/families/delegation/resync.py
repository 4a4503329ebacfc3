"""What delegation re-reads from WHMCS when it is enabled later or its rules change: what its grants track.

While delegation was off, the poller's facts went by without it: an owner's services and domains renamed,
a delegate's users added (who may order for the owner), orders an administrative contact's user placed
in the owner's name. For every live grant (active, or waiting for the owner's consent) this reads again
the owner's and the delegate's context (the read `refresh_client` makes), then each owner's orders since
its administrative grant began, and the delegate's invoice each renewal or payer-mode order waits on (paid while
delegation was off: applied now). The rules are idempotent on all: a grant made from an order is keyed by the
order, and one already made is left as it is; a renewal already applied is not applied again."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.executor.reads import client_context
from whmcs_bridge.families.delegation.grants import FAMILY
from whmcs_bridge.families.delegation.staff import grants
from whmcs_bridge.intake.found import invoice_data, order_data
from whmcs_bridge.intake.reread import Facts, Source
from whmcs_bridge.whmcs.api import not_found

LIVE = ("active", "pending")


def read(source: Source) -> Facts:
    live = [g for g in grants(source.db) if g.get("status") in LIVE]
    for client_id in sorted({g["owner"] for g in live} | {g["delegate"] for g in live}):
        try:
            context = client_context(source.api, client_id)
        except WhmcsApiError as exc:
            if not_found(exc):  # the client was deleted in WHMCS: nothing to read of it
                continue
            raise
        yield f"client:{client_id}", "ClientContext", {**context, "requested_by": FAMILY}
    yield from waited_invoices(grants(source.db), source)
    for owner, since in sorted(ordering_since(live, source).items()):
        # GetOrders filters by client but not by date (DD:api-reference/getorders.md): every order of the
        # owner is listed, and those dated before its administrative grant began are left out, as the
        # poller would never have given them to the grant. Order dates are WHMCS's wall clock (the
        # configured timezone), so the comparison is by that day.
        for order in source.api.orders(client_id=owner):
            if order.date is not None and order.date.date() >= since:
                yield f"order:{order.id}", "OrderPlaced", order_data(order)


WAITING = ("invoicing", "invoiced")  # a renewal's or payer order's billing waiting on the delegate's invoice
CLOSED = {"Paid": "InvoicePaid", "Cancelled": "InvoiceCancelled", "Refunded": "InvoiceRefunded"}


def waited_invoices(all_grants: list[dict[str, Any]], source: Source) -> Facts:
    """The delegate's invoice each renewal (and payer-mode order) of a grant waits on, and the owner's invoice each
    invoiced renewal was priced from, as WHMCS has them now: one it shows paid, cancelled or refunded is told as the
    poller tells it (intake/poller.py), since the poller's report went by while delegation was off (twenty-fourth
    break round, billing HIGH 6): the owner's paid first withdraws the delegate's invoice (twenty-sixth round F3).
    Still open: nothing to tell."""
    waiting = {
        int(item["delegate_invoice"])
        for grant in all_grants
        for item in [*(grant.get("renewals") or []), grant.get("billing") or {}]
        if item.get("status") in WAITING and item.get("delegate_invoice")
    }
    owners = {
        int(renewal["owner_invoice"])
        for grant in all_grants
        for renewal in grant.get("renewals") or []
        if renewal.get("status") == "invoiced" and renewal.get("owner_invoice")
    }
    # The owner's read first: both paid while off ends as the owner paying first, the delegate's payment staff's refund.
    for invoice_id in [*sorted(owners - waiting), *sorted(waiting)]:
        try:
            invoice = source.api.invoice(invoice_id)
        except WhmcsApiError as exc:
            if not_found(exc):
                continue
            raise
        kind = CLOSED.get(invoice.status)
        if kind:
            data = invoice_data(invoice)
            data["datepaid"] = invoice.datepaid.isoformat() if invoice.datepaid else None
            yield f"invoice:{invoice_id}", kind, data


def ordering_since(live: list[dict[str, Any]], source: Source) -> dict[int, date]:
    """Each owner with an active administrative grant, and the day (WHMCS's zone) its first one began."""
    out: dict[int, date] = {}
    for grant in live:
        if grant.get("status") != "active" or grant.get("role") != "administrative":
            continue
        day = datetime.fromisoformat(grant["since"]).astimezone(source.config.zone).date()
        out[grant["owner"]] = min(day, out.get(grant["owner"], day))
    return out
