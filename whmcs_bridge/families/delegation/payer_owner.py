"""`order_invoice_to: payer` (payer.py): the owner's money on its own order invoice, the one WHMCS made at checkout
and whose order's items the bridge takes off for the agency: the owner paying it first, paying its other items once
the order's came off, paying part of it (the order parked), or paying while the write taking the items off ran in
WHMCS. The statuses are a billing's (payer.py lists them all)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.grants import about_order, act, grant_refs, note, notice
from whmcs_bridge.families.delegation.payer_closing import cancel_agency_invoice
from whmcs_bridge.model import Action, Decision, message


def parked(grant: dict[str, Any], owner_paid: str, at: str) -> Decision:
    """The owner has paid part of the invoice that bills the order: the bridge neither invoices the agency nor
    takes the order's lines off that invoice (it never cuts an invoice holding a customer's money), and the order
    is parked, pending, with one sticky staff task on the owner's account saying what and why (the agency's
    invoice, if one was made, is named there too)."""
    billing = grant["billing"]
    billing.update(status="parked", owner_paid=owner_paid, stopped=at)
    grant["history"].append(
        {
            "at": at,
            "what": f"order #{billing['order']} parked: {owner_paid} paid on invoice #{billing['owner_invoice']}",
            "by": "bridge",
        }
    )
    task = note(message("delegation.order_parked_note", **about_order(grant, owner_paid=owner_paid)), sticky=True)
    return Decision(
        state=grant,
        actions=[act(grant, "client_note", "payer:parked", task, grant["owner"])],
        refs=grant_refs(grant),
    )


def lines_off_ended(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The order's lines came off the owner's invoice (its lines-off step done): from now on the owner paying that
    invoice pays its other items, not the order (payment()). None when the outcome is not that step's."""
    billing = grant.get("billing") or {}
    if not billing.get("lines_off") or data.get("action_key") != billing["lines_off"] or data.get("status") != "done":
        return None
    if data.get("owner_paid_meanwhile"):  # the owner paid that invoice while the write ran in WHMCS
        return owner_paid_during_off(grant, dict(data["owner_paid_meanwhile"]), now)
    if data.get("lines_kept"):  # found on the invoice the owner paid: the owner paid the order itself
        return Decision(state=grant)
    billing["lines_off_done"] = now.isoformat(timespec="seconds")
    if not billing.pop("tell_owner", None):
        return Decision(state=grant)
    # Written once WHMCS showed the items off the owner's invoice with nothing of the owner's on it, so it is true.
    told = note(message("delegation.order_invoiced_note", **about_order(grant, amount=billing["amount"])))
    return Decision(state=grant, actions=[act(grant, "client_note", "payer:note", told, grant["owner"])])


def owner_paid_during_off(grant: dict[str, Any], money: dict[str, Any], now: datetime) -> Decision:
    """WHMCS showed the owner's order invoice holding the owner's money after the write that took the order's items
    off it (billing_kinds._order_paid_meanwhile: Cancelled with a payment, or Paid for more than it bills now): the
    owner paid the order itself while that write ran (twenty-sixth round F4). As when the owner pays first, the
    agency's unpaid invoice is withdrawn and the agency told; the bridge does not restore a paid invoice, so staff get
    one sticky task on the owner's account naming the invoice, what WHMCS shows on it and the order to accept (or,
    the agency having paid too and the order accepted for it, the payment to refund or credit)."""
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    billing.pop("tell_owner", None)
    billing["owner_money"] = money
    withdrawn = owner_paid_first(grant, now).actions if billing["status"] == "invoiced" else []
    both = billing["status"] in ("accepting", "settled")  # the agency paid and the order was accepted for it
    grant["history"].append(
        {
            "at": at,
            "what": f"order #{billing['order']}: the owner paid invoice #{money['invoice']} ({money['paid']}) while "
            "its items came off it",
            "by": "WHMCS",
        }
    )
    facts = about_order(
        grant,
        status=str(money["status"]),
        paid=str(money["paid"]),
        order_status=str(money.get("order_status") or ""),
        both="yes" if both else "",
    )
    task = note(message("delegation.order_owner_paid_during_note", **facts), sticky=True)
    staff = act(grant, "client_note", "payer:owner-paid-during", task, grant["owner"])
    return Decision(state=grant, actions=[*withdrawn, staff], refs=grant_refs(grant))


def owner_paid_rest(grant: dict[str, Any], now: datetime) -> Decision:
    """The owner paid what was left on its order invoice once the order's lines had come off it: not the order,
    which the agency's invoice still bills; nothing changes but the history."""
    billing = grant["billing"]
    grant["history"].append(
        {
            "at": now.isoformat(timespec="seconds"),
            "what": f"the owner paid invoice #{billing['owner_invoice']} for its other items (order "
            f"#{billing['order']}'s had come off it)",
            "by": "WHMCS",
        }
    )
    return Decision(state=grant)


def owner_paid_first(grant: dict[str, Any], now: datetime) -> Decision:
    """The owner paid its order invoice before its lines came off: WHMCS settles the order for that payment;
    the agency's invoice is cancelled (unless paid meanwhile: its own event then asks staff) and it is told."""
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    billing.update(status="owner paid", owner_paid=at)
    grant["history"].append({"at": at, "what": f"order #{billing['order']}: the owner paid first", "by": "WHMCS"})
    actions = withdraw_agency_invoice(grant) if billing.get("delegate_invoice") else []
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def withdraw_agency_invoice(grant: dict[str, Any]) -> list[Action]:
    """The agency's invoice for an order the owner paid: cancelled, and the agency told once it is."""
    cancel = cancel_agency_invoice(grant, "payer:cancel")
    told = message("delegation.order_owner_paid", **about_order(grant))
    email = act(
        grant, "email", "payer:owner-paid", notice(grant["delegate"], told), grant["delegate"],
        guard={"after_steps": [cancel.key]},
    )  # fmt: skip
    return [cancel, email]

