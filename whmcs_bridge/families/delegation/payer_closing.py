"""`order_invoice_to: payer` (payer.py) when the order's way ends before the agency paid: staff cancel the order or
mark it as fraud while the agency's invoice is open (order_closing) or being made (lines_kept_for_closed), or the
grant ends, revoked or expired (grant_ended): the agency's unpaid invoice is withdrawn, the agency told, and the
order stays the owner's; the agency paying all the same is a refund task (ended_paid). The statuses below are a
billing's (payer.py lists them all)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.families.delegation.grants import OUTCOME, about_order, act, grant_refs, note, notice
from whmcs_bridge.model import Action, Decision, as_int, message

# Staff cancelling the order (or marking it as fraud) while the agency's invoice was unpaid (order_closing()).
WITHDRAWING = "invoiced, the order being cancelled in WHMCS"
ORDER_CANCELLED = "not paid: the order was cancelled in WHMCS; the delegate's invoice cancelled"
# The grant ended (revoked, expired) before the agency paid (grant_ended()): its invoice withdrawn, or not made; and
# the agency paying it all the same (ended_paid()).
GRANT_ENDED = "not paid: the grant ended; the delegate's invoice withdrawn"
ENDED_UNINVOICED = "not invoiced: the grant ended"
ENDED_PAID = "paid after the grant ended, not accepted; refund due"
# WHMCS runs the CancelOrder and FraudOrder hooks "prior to the change of status actually occurring"
# (DD:hooks-reference/shopping-cart.md): the status is read this long after the hook.
CLOSING_READ_AFTER = timedelta(minutes=1)


def cancel_agency_invoice(grant: dict[str, Any], step: str, **guard: Any) -> Action:
    """The agency's order invoice cancelled in WHMCS (UpdateInvoice `status`, DD:api-reference/updateinvoice.md) while
    it is open with nothing paid on it: paid meanwhile, the rules hear it (payer.cancel_found_paid), part paid, the
    amount (payer.part_paid), and staff are asked. Not destructive: nothing of the owner's changes. `guard`: more."""
    invoice = grant["billing"]["delegate_invoice"]
    cancel = act(
        grant,
        "invoice_status",
        step,
        {"invoice_id": invoice, "status": "Cancelled", "outcome_to": OUTCOME},
        grant["delegate"],
        guard={"invoices_open": [invoice], "nothing_paid": [invoice], **guard},
    )
    return dataclasses.replace(cancel, destructive=False)


def order_closing(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision | None:
    """Staff asked WHMCS to cancel the order, or to mark it as fraud (the CancelOrder or FraudOrder hook, which runs
    before the status changes, DD:hooks-reference/shopping-cart.md), while the agency's invoice for it is unpaid:
    a minute later, with the order's status read from WHMCS then (guard `order_closed`), that invoice is cancelled
    (UpdateInvoice `status`, DD:api-reference/updateinvoice.md; not if anything was paid on it) and the agency is
    told. None when the event is not about this order. `kind`: the hook (the status asked for, which a refund
    task for a part payment found meanwhile names, part_paid())."""
    billing = grant.get("billing") or {}
    if not billing or as_int(data.get("orderid")) != billing.get("order"):
        return None
    if billing.get("status") != "invoiced" or not billing.get("delegate_invoice"):
        # Not invoiced yet: CreateInvoice and the lines-off step read the order's status first; paid or ended: the
        # payment's AcceptOrder reads it.
        return Decision(state=grant)
    return withdraw_for_closed(grant, "Fraud" if kind == "FraudOrder" else "Cancelled", now, CLOSING_READ_AFTER)


def lines_kept_for_closed(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The order's lines-off step cancelled because WHMCS no longer shows the order, or shows it Cancelled or Fraud
    (staff acted while the agency's invoice was being made, or before a late CreateInvoice was found; fourteenth
    break round G4): the owner's invoice is left as it is, and the agency's is withdrawn at once as for an order
    cancelled while invoiced (order_closing). None when the outcome is not that step's."""
    billing = grant.get("billing") or {}
    if (
        not billing.get("lines_off")
        or data.get("action_key") != billing["lines_off"]
        or data.get("status") != "cancelled"
        or billing.get("status") != "invoiced"
    ):
        return None
    if as_int(data.get("order_gone")) != billing["order"] and as_int(data.get("order_closed")) != billing["order"]:
        return None
    billing["lines_kept"] = "yes"  # a refund task for a part payment says they are still on the owner's invoice
    return withdraw_for_closed(grant, str(data.get("order_status") or "Cancelled"), now)


def withdraw_for_closed(grant: dict[str, Any], asked: str, now: datetime, wait: timedelta | None = None) -> Decision:
    """The agency's unpaid invoice for an order staff cancel (or mark as fraud): cancelled once WHMCS shows the order
    so (guard `order_closed`, read after `wait`), and the agency told. `asked`: the status a refund task for a part
    payment found meanwhile names (part_paid())."""
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    cancel = cancel_agency_invoice(grant, "payer:withdraw", order_closed=billing["order"])
    billing.update(status=WITHDRAWING, closing=at, order_status=asked, withdraw=cancel.key)
    told = notice(grant["delegate"], message("delegation.order_cancelled", **about_order(grant)))
    email = act(grant, "email", "payer:withdraw-told", told, grant["delegate"], guard={"after_steps": [cancel.key]})
    cancel = dataclasses.replace(cancel, not_before=now + wait if wait else None)
    return Decision(state=grant, actions=[cancel, email], refs=grant_refs(grant))


def withdrawn(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """How the agency's invoice's withdrawal for a cancelled order ended: done (or found cancelled already): the
    order stays unpaid; the order read still Pending or Active (the cancel request did not go through): nothing
    changes, the invoice stays. A payment found meanwhile is cancel_found_paid()'s, part of one part_paid()'s.
    None when the outcome is not that withdrawal's."""
    billing = grant.get("billing") or {}
    if not billing.get("withdraw") or data.get("action_key") != billing["withdraw"] or billing["status"] != WITHDRAWING:
        return None
    at = now.isoformat(timespec="seconds")
    closed = as_int(data.get("closed_invoice")) == billing.get("delegate_invoice")
    if data.get("status") == "done" or (closed and data.get("invoice_status") == "Cancelled"):
        billing.update(status=ORDER_CANCELLED, stopped=at)
        what = f"order #{billing['order']} cancelled in WHMCS: the delegate's invoice cancelled"
        grant["history"].append({"at": at, "what": what, "by": "bridge"})
        return Decision(state=grant)
    if data.get("status") == "cancelled" and data.get("order_status"):
        billing["status"] = "invoiced"
        what = f"order #{billing['order']} still {data['order_status']} in WHMCS: the delegate's invoice stays"
        grant["history"].append({"at": at, "what": what, "by": "bridge"})
        return Decision(state=grant)
    return None


def grant_ended(grant: dict[str, Any], now: datetime) -> list[Action]:
    """The grant was revoked or expired before the agency paid for the order (fourteenth break round G10, as its open
    renewals end with it, renewal_invoice.grant_ended): the agency's unpaid invoice is cancelled (not if anything was
    paid on it: ended_paid()) and the agency told; the order stays the owner's, pending and not accepted, and the
    owner is told; one sticky staff task on the owner's account says whether its items came off the owner's invoice
    (then staff invoice the owner again, or cancel the order) or stay on it (the lines-off step stops with the
    grant). Not invoiced yet: nothing is (CreateInvoice's guard `state_active`), and the owner's invoice stays."""
    billing = grant.get("billing") or {}
    at = now.isoformat(timespec="seconds")
    if billing.get("status") in ("looking", "invoicing"):
        billing.update(status=ENDED_UNINVOICED, stopped=at)
        what = f"order #{billing['order']} not invoiced: the grant ended"
        grant["history"].append({"at": at, "what": what, "by": "bridge"})
        return []
    if billing.get("status") != "invoiced" or not billing.get("delegate_invoice"):
        return []  # paid (being accepted, settled) or ended otherwise: nothing is withdrawn
    invoice = billing["delegate_invoice"]
    cancel = cancel_agency_invoice(grant, "payer:ended-cancel")  # paid meanwhile, or part paid: ended_paid()
    billing.update(status=GRANT_ENDED, stopped=at, ended_cancel=cancel.key)
    what = f"order #{billing['order']}: the grant ended; the delegate's invoice #{invoice} withdrawn"
    grant["history"].append({"at": at, "what": what, "by": "bridge"})
    after = {"after_steps": [cancel.key]}
    return [cancel, *ended_told(grant, None, after)]


def ended_told(grant: dict[str, Any], paid: str | None, guard: dict[str, Any] | None) -> list[Action]:
    """The staff task on the owner's account, and the agency and the owner told, of an order whose grant ended before
    the agency paid: `paid`, what the agency paid all the same (to refund or credit), else None (its invoice
    cancelled)."""
    billing = grant["billing"]
    lines_off = "yes" if billing.get("lines_off_done") else ""
    fields = about_order(grant, paid=paid, amount=str(billing.get("amount") or ""), lines_off=lines_off)
    step = "ended-paid" if paid else "ended"
    task = note(message("delegation.order_ended_note", **fields), sticky=True)
    agency = notice(grant["delegate"], message("delegation.order_ended", **fields))
    owner = notice(grant["owner"], message("delegation.order_ended_owner", **fields))
    return [
        act(grant, "client_note", f"payer:{step}-task", task, grant["owner"], guard=guard),
        act(grant, "email", f"payer:{step}-told", agency, grant["delegate"], guard=guard),
        act(grant, "email", f"payer:{step}-told-owner", owner, grant["owner"], guard=guard),
    ]


def ended_paid(grant: dict[str, Any], paid: str, at: str) -> Decision:
    """The agency paid (all or `paid` of) its order invoice after the grant ended: the order is not accepted on the
    word of a contact the owner no longer has; staff refund or credit it (one sticky task), and both are told."""
    billing = grant["billing"]
    billing.update(status=ENDED_PAID, stopped=at, refund_named=paid)
    what = f"order #{billing['order']}: the delegate paid {paid} on invoice #{billing['delegate_invoice']}, the grant ended"
    grant["history"].append({"at": at, "what": what, "by": "WHMCS"})
    return Decision(state=grant, actions=ended_told(grant, paid, None), refs=grant_refs(grant))
