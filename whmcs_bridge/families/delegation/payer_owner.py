"""`order_invoice_to: payer` (payer.py): the owner's money on its own order invoice, the one WHMCS made at checkout
and whose order's items the bridge takes off for the agency: the owner paying it first, paying its other items once
the order's came off, paying part of it (the order parked), paying all or part of it while the write taking the
items off ran in WHMCS, or its payment pending (Payment Pending) when they would come off. The statuses are a
billing's (payer.py lists them all)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.grants import about_order, act, grant_refs, note, notice
from whmcs_bridge.families.delegation.payer_closing import cancel_agency_invoice
from whmcs_bridge.model import Action, Decision, as_int, message


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
    money = dict(data.get("owner_paid_meanwhile") or {})
    if money.get("part"):  # the owner paid part of that invoice while the write ran: no order paid
        return owner_part_paid_during_off(grant, money, now)
    if money:  # the owner paid that invoice while the write ran in WHMCS
        return owner_paid_during_off(grant, money, now)
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


def owner_part_paid_during_off(grant: dict[str, Any], money: dict[str, Any], now: datetime) -> Decision:
    """WHMCS showed the owner's order invoice still open with the owner's money on it after the write that took the
    order's items off it (billing_kinds._order_paid_meanwhile, `part`): the owner paid part of it while that write
    ran, which paid no order (WHMCS settles what an invoice bills only once it is Paid), and the invoice now bills
    less than was asked when the owner paid (twenty-sixth break round F7). The order stays invoiced to the agency;
    staff get one sticky task on the owner's account naming the invoice, what it bills now and the owner's money on
    it, to refund or credit; the owner's note that the items came off is not written (staff's task says it)."""
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    billing.pop("tell_owner", None)
    billing.update(lines_off_done=at, owner_money=money)
    what = f"order #{billing['order']}: the owner paid {money['paid']} of invoice #{money['invoice']} while its items came off it"
    grant["history"].append({"at": at, "what": what, "by": "WHMCS"})
    facts = about_order(
        grant, status=str(money["status"]), paid=str(money["paid"]), bills=str(money.get("bills") or "")
    )
    task = note(message("delegation.order_owner_part_paid_during_note", **facts), sticky=True)
    return Decision(
        state=grant,
        actions=[act(grant, "client_note", "payer:owner-part-paid-during", task, grant["owner"])],
        refs=grant_refs(grant),
    )


def owner_pending(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The order's lines-off step cancelled because WHMCS showed the owner's order invoice Payment Pending (guard
    `invoices_open`: a gateway's payment on its way, or staff's, GetInvoice `status`, DD:api-reference/getinvoice.md):
    the owner is paying the order, and the bridge changes no invoice with a payment on its way, so the order's items
    stay on it while the agency's invoice for them is open too (twenty-sixth break round F6). Staff hear it at once
    (one sticky task on the owner's account): whichever money comes second is to refund or credit. The owner's
    payment clearing first withdraws the agency's invoice (owner_paid_first); coming after the agency's payment
    accepted the order, it is staff's refund task (owner_paid_second). None when the outcome is not that step's."""
    billing = grant.get("billing") or {}
    if (
        not billing.get("lines_off")
        or data.get("action_key") != billing["lines_off"]
        or data.get("status") != "cancelled"
        or as_int(data.get("closed_invoice")) != billing.get("owner_invoice")
        or data.get("invoice_status") != "Payment Pending"
        or billing.get("status") != "invoiced"
    ):
        return None
    at = now.isoformat(timespec="seconds")
    billing.pop("tell_owner", None)  # the items did not come off its invoice
    billing["owner_pending"] = at
    what = f"order #{billing['order']}: the owner's invoice #{billing['owner_invoice']} is Payment Pending; its items stay on it"
    return _owners_order_task(grant, at, what, "delegation.order_owner_pending_note", "payer:owner-pending")


def owner_paid_second(grant: dict[str, Any], now: datetime) -> Decision:
    """The owner's order invoice paid (its pending payment cleared) after the agency's payment had the order accepted,
    the order's items still on it (owner_pending()): both paid for one order, the owner second. One sticky staff task
    on the owner's account names the owner's invoice and the order's amount on it to refund or credit the owner (the
    order was accepted for the agency's payment); `delegations show` says paid twice."""
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    billing.update(status="paid twice", stopped=at, owner_paid=at)
    what = f"order #{billing['order']}: the owner paid invoice #{billing['owner_invoice']} after the delegate"
    return _owners_order_task(grant, at, what, "delegation.order_owner_paid_second_note", "payer:owner-paid-second")


def _owners_order_task(grant: dict[str, Any], at: str, what: str, message_id: str, purpose: str) -> Decision:
    """What WHMCS showed of the owner's order invoice, in the grant's history, and one sticky staff task on the
    owner's account naming the order's amount on it."""
    grant["history"].append({"at": at, "what": what, "by": "WHMCS"})
    task = note(message(message_id, **about_order(grant, amount=grant["billing"]["amount"])), sticky=True)
    return Decision(
        state=grant, actions=[act(grant, "client_note", purpose, task, grant["owner"])], refs=grant_refs(grant)
    )
