"""Client-area checkouts in the sandbox (the `checkout` control): a user's order for a client, with its invoice, its
order lines and WHMCS's AfterShoppingCartCheckout hook (DD:hooks-reference/shopping-cart.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from whmcs_bridge.sandbox.actions import Hook
from whmcs_bridge.sandbox.scenarios import World
from whmcs_bridge.sandbox.state import SandboxState

ORDER_NUMBER = 7264919934  # the first order number: the order's id is added to it


def checkout(
    sb: SandboxState, client_id: int, user_id: int, pid: int, domain: str, addon: str | None = None
) -> list[Any]:
    """A client-area checkout by a user for a client: hosting and a domain, their invoice, the order
    (its requestor is the user), and the AfterShoppingCartCheckout hook; `addon`: with an addon for the new
    hosting at that price (its lines typed as addon_checkout's)."""
    w = World(sb)
    service_id = int(sb.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM services"))
    domain_id = int(sb.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM domains"))
    order_id = next_order(sb)
    # Due today, as its first invoice bills it: the line below runs from today for one month (the service
    # was due on the day 30 after it, two periods for one line, which the delegated renewal rightly refused).
    w.service(service_id, client_id, pid, domain, "9.95", due=0, order_id=order_id, regdate=0)
    w.domain(domain_id, client_id, domain, order_id=order_id)
    extra = [("Addon", order_id, f"Daily backups (addon) - {domain}", addon)] if addon else []
    invoice = w.invoice(
        client_id,
        0,
        w.monthly_lines(service_id, "Starter", "9.95", 0)
        + [("DomainRegister", domain_id, f"Domain Registration - {domain} - 1 Year", "11.95")]
        + extra,
    )
    lines = [("product", service_id, "9.95", "Monthly"), ("domain", domain_id, "11.95", "1 Year(s)")]
    if addon:
        lines.append(("addon", order_id, addon, "Monthly"))
    total = f"{Decimal('21.90') + Decimal(addon or '0'):.2f}"
    made = {"ServiceIDs": [service_id], "DomainIDs": [domain_id], "AddonIDs": [order_id] if addon else []}
    return order(sb, order_id, client_id, user_id, invoice, total, lines, made)


def addon_checkout(sb: SandboxState, client_id: int, user_id: int, service_id: int, amount: str) -> list[Any]:
    """A client-area order of one addon only for a service of the client (AddOrder's "Addon Only Order",
    DD:api-reference/addorder.md `addonid`/`serviceid`): its invoice, the order (its requestor is the user) and the
    AfterShoppingCartCheckout hook with the addon in `AddonIDs` (DD:hooks-reference/shopping-cart.md). The
    invoice item's type ("Addon") and the order line's ("addon") are the sandbox's: the pages document neither."""
    order_id = next_order(sb)
    addon_id = order_id  # one addon per order here: its id is not read by anything else
    lines = [("Addon", addon_id, f"Daily backups (addon) - service #{service_id}", amount)]
    invoice = World(sb).invoice(client_id, 0, lines)
    made = {"ServiceIDs": [], "DomainIDs": [], "AddonIDs": [addon_id]}
    return order(sb, order_id, client_id, user_id, invoice, amount, [("addon", addon_id, amount, "Monthly")], made)


def next_order(sb: SandboxState) -> int:
    return int(sb.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM orders"))


def order(
    sb: SandboxState,
    order_id: int,
    client_id: int,
    user_id: int,
    invoice: int,
    total: str,
    lines: list[tuple[str, int, str, str]],
    made: dict[str, list[int]],
) -> list[Any]:
    """The order row (pending, its requestor the user), its lines (type, relid, amount, cycle) and the
    AfterShoppingCartCheckout hook naming what it made (`made`: ServiceIDs, DomainIDs, AddonIDs)."""
    sb.insert(
        "orders",
        id=order_id,
        ordernum=str(ORDER_NUMBER + order_id),
        client_id=client_id,
        requestor_id=user_id,
        date=sb.stamp(),
        amount=total,
        invoice_id=invoice,
        status="Pending",
    )
    for kind, relid, amount, cycle in lines:
        sb.insert("order_lines", order_id=order_id, type=kind, relid=relid, amount=amount, billingcycle=cycle)
    data = {
        "OrderID": order_id,
        "OrderNumber": str(ORDER_NUMBER + order_id),
        **made,
        "RenewalIDs": [],
        "InvoiceID": invoice,
        "TotalDue": total,
        "PaymentMethod": "banktransfer",
    }
    return [Hook("AfterShoppingCartCheckout", data)]
