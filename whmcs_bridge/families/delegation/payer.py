"""An administrative contact's order in the owner's name, invoiced to the agency that placed it
(`delegation.order_invoice_to: payer`, o2switch's rule: the invoice goes to whoever pays), as pure steps settled
the way a delegated renewal is (renewal.py): read the order's lines on the owner's invoice, invoice the agency
exactly those, take them off the owner's invoice, and when the agency pays, accept the owner's order once.
WHMCS made the owner's invoice at checkout (an order's `invoiceid`, DD:api-reference/addorder.md and
getorders.md); the calls are GetInvoice (its items' type and relid, getinvoice.md), CreateInvoice
(createinvoice.md), UpdateInvoice `deletelineids` or `status` (updateinvoice.md) and AcceptOrder
(acceptorder.md), each in the executor's kinds.

The owner paying first (its order invoice while it still bills the order's lines) cancels the agency's invoice (the
agency is told); the owner paying that invoice once the order's lines came off it pays its other items (an addon, a
setup fee) and changes nothing; the agency cancelling its invoice,
letting it go overdue, or paying after the owner did, leaves the order as it is (unpaid, not accepted, or
accepted once) with a sticky staff task on the owner's account.

The owner having paid part of its order invoice (before the agency was invoiced, or before the order's lines came
off) parks the order: nothing is moved off an invoice holding the owner's money, and staff get one task.

The agency's WHMCS account in another currency than the owner's: nothing is invoiced (a WHMCS invoice is in its
client's currency; the bridge converts no amount); staff get one task and the agency is told.

The order deleted in WHMCS (by staff, as fraud), or cancelled or marked as fraud there (its status Cancelled or Fraud,
read from WHMCS just before AcceptOrder), before the agency's payment accepted it: nothing is accepted, staff get one
task naming the money to refund or credit, and the agency is told. Only WHMCS showing the order Active counts as
accepted (by this payment, by staff meanwhile, or by an AcceptOrder interrupted before its outcome was recorded).
Staff cancelling the order, or marking it as fraud, while the agency's invoice is unpaid (WHMCS's CancelOrder or
FraudOrder hook): a minute later, the order read no longer Pending nor Active, that invoice is cancelled and the
agency told; read still Pending, nothing changes. The order's status is read again just before CreateInvoice and
before the lines-off step (guards `order_exists`, `order_open`): closed then, nothing is invoiced, or the agency's
invoice made meanwhile is withdrawn, and the owner's invoice is left as it is. A part-paid agency invoice for a
cancelled order stays open; the rest paid later is one more staff task naming the whole amount (rest_paid()).

Staff closing the order, and the grant ending, are payer_closing.py's; the owner's money on its own order
invoice (paid first, paid for its other items, part paid, paid during the write) payer_owner.py's. The grant ending (revoked, expired) before
the agency paid: its invoice is cancelled, the agency and the owner told,
and staff get one task (grant_ended()); a payment after that is a refund task (ended_paid()).

A billing's status: looking, invoicing (the agency's invoice is being made), invoiced, accepting (paid: AcceptOrder
under way), settled, and the ends: nothing to move (the owner's invoice was paid or bills none of it), owner paid,
cancelled, paid twice, parked, other currency, ORDER_GONE, ORDER_CLOSED, ORDER_CANCELLED (WITHDRAWING before it),
ORDER_REFUNDED (the agency's paid invoice refunded afterwards: the order's services are unpaid; a staff task),
NOT_INVOICED, GRANT_ENDED, ENDED_UNINVOICED and ENDED_PAID."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.delegation.grants import OUTCOME, about_order, act, grant_refs, note, notice
from whmcs_bridge.families.delegation.payer_closing import (
    ENDED_UNINVOICED,
    GRANT_ENDED,
    WITHDRAWING,
    ended_paid,
    grant_ended,
)
from whmcs_bridge.families.delegation.payer_owner import (
    owner_paid_first,
    owner_paid_rest,
    owner_paid_second,
    parked,
    withdraw_agency_invoice,
)
from whmcs_bridge.families.delegation.renewal import while_active
from whmcs_bridge.model import Action, Decision, as_int, message

# What `delegations show` says of an order the agency paid for after staff deleted it in WHMCS (accepted()).
ORDER_GONE = "paid, not accepted: the order no longer exists in WHMCS; refund due"
# ... and of one staff had cancelled or marked as fraud (its WHMCS status: Cancelled, Fraud).
ORDER_CLOSED = "paid, not accepted: the order is {status} in WHMCS; refund due"
# ... and before the agency was invoiced (the order's status read from WHMCS just before CreateInvoice).
NOT_INVOICED = "not invoiced: the order is {status} in WHMCS"
# The agency's paid invoice refunded by staff afterwards (InvoiceRefunded: the hook, or the poll finding it Refunded).
ORDER_REFUNDED = "paid, then refunded: the order's services are unpaid; staff decide"


def start(grant: dict[str, Any], order: dict[str, Any], decision: Decision) -> Decision:
    """The order's technical grant was just made: read the order's lines on the owner's invoice."""
    invoice = as_int(order.get("invoiceid"))
    if invoice is None or grant.get("billing"):
        return decision
    grant["billing"] = {"order": as_int(order.get("orderid")), "owner_invoice": invoice, "status": "looking"}
    find = act(
        grant,
        "find_order_invoice",
        "payer:find",
        {
            "invoice_id": invoice,
            "items": [{"kind": i["kind"], "id": i["id"]} for i in grant["items"]],
            "delegate_id": grant["delegate"],  # whose currency the agency's invoice would be in
            "report": {"grant": grant["id"]},
        },
        grant["owner"],
    )
    return dataclasses.replace(decision, state=grant, actions=[*decision.actions, find], refs=grant_refs(grant))


def found(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The order's lines on the owner's invoice: invoice the agency exactly those."""
    billing = grant.get("billing") or {}
    if billing.get("status") != "looking":
        return Decision(state=grant)
    at = now.isoformat(timespec="seconds")
    lines = data.get("lines") or []
    if not data.get("open") or not lines:
        billing["status"] = "nothing to move"
        grant["history"].append(
            {"at": at, "what": f"order #{billing['order']}: its invoice asks nothing to move", "by": "bridge"}
        )
        return Decision(state=grant)
    if Decimal(str(data.get("paid") or "0")) > 0:  # the owner's money is on it: nothing is moved, staff decide
        return parked(grant, str(data["paid"]), at)
    amount = str(sum((Decimal(str(line["amount"])) for line in lines), Decimal("0")))
    if data.get("currency") and data.get("delegate_currency") and data["currency"] != data["delegate_currency"]:
        return other_currency(grant, amount, str(data["currency"]), str(data["delegate_currency"]), at)
    billing.update(status="invoicing", lines=[int(line["id"]) for line in lines], amount=amount)
    # Its lines and notes are messages, rendered once in the agency's WHMCS language just before WHMCS makes the
    # invoice and kept in the action (the executor finds the invoice again by them, executor/texts.py), as a
    # delegated renewal's are; the notes open with a reference in no language (staff search it).
    names = {f"{i['kind']}:{i['id']}": i.get("name") or "" for i in grant["items"]}
    order = str(billing["order"])

    def described(line: dict[str, Any]) -> dict[str, Any]:
        """WHMCS's own description, with the service's or domain's name when it does not say it."""
        said, name = str(line["description"]), names.get(str(line.get("item")), "")
        return message(
            "delegation.order_invoice_line",
            said=said if not name or name in said else f"{said} - {name}",
            owner=grant["owner"],
            order=order,
        )

    params = {
        "client_id": grant["delegate"],
        # Each taxed as the owner's line it bills (CreateInvoice `itemtaxedx`, DD:api-reference/createinvoice.md).
        "lines": [[described(line), line["amount"], bool(line.get("taxed"))] for line in lines],
        "notes": message(
            "delegation.order_invoice_notes",
            owner=grant["owner"],
            order=order,
            owner_invoice=str(billing["owner_invoice"]),
        ),
        "reference": f"Order #{order}, grant {grant['id']}",
        "send": True,
        "report_as": "PayerInvoiceCreated",
        "report": {"grant": grant["id"]},
        "outcome_to": OUTCOME,  # cancelled by a guard: the rules hear why (not_invoiced)
    }
    # Not made once the owner paid its order invoice (a CreateInvoice waiting out an outage, say), nor for an order
    # WHMCS no longer shows Pending or Active: staff deleted it, cancelled it or marked it as fraud before the bridge
    # invoiced the agency (its status read now, not a hook remembered; fourteenth break round G4).
    guard: dict[str, Any] = {"invoices_open": [billing["owner_invoice"]]} if billing.get("owner_invoice") else {}
    guard.update(order_exists=billing["order"], order_open=billing["order"], **while_active(grant))
    invoice = act(grant, "create_invoice", "payer:invoice", params, grant["delegate"], guard=guard)
    billing["invoice"] = invoice.key
    return Decision(state=grant, actions=[invoice], refs=grant_refs(grant))


def not_invoiced(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The agency's CreateInvoice cancelled because WHMCS no longer shows the order (deleted) or shows it
    Cancelled or Fraud (guards `order_exists`, `order_open`): nothing is invoiced to the agency and nothing moves off
    the owner's invoice, which is left as WHMCS has it; `delegations show` says why. None when the outcome is not
    that step's."""
    billing = grant.get("billing") or {}
    if (
        not billing.get("invoice")
        or data.get("action_key") != billing["invoice"]
        or data.get("status") != "cancelled"
        or billing.get("status") != "invoicing"
    ):
        return None
    gone = as_int(data.get("order_gone")) == billing["order"]
    if not gone and as_int(data.get("order_closed")) != billing["order"]:
        return None
    at = now.isoformat(timespec="seconds")
    status = "deleted" if gone else str(data.get("order_status") or "")
    billing.update(status=NOT_INVOICED.format(status=status), stopped=at)
    what = f"order #{billing['order']} not invoiced to the delegate: it is {status} in WHMCS"
    grant["history"].append({"at": at, "what": what, "by": "bridge"})
    return Decision(state=grant)


def other_currency(grant: dict[str, Any], amount: str, currency: str, delegate_currency: str, at: str) -> Decision:
    """The agency's WHMCS account is in another currency than the owner's, whose invoice bills the order: a WHMCS
    invoice is in its client's currency (GetClientsDetails `currency_code`, DD:api-reference/getclientsdetails.md)
    and the bridge converts no amount, so nothing is invoiced to the agency and nothing moves off the owner's
    invoice; the order stays pending, with one sticky staff task on the owner's account, and the agency is told."""
    billing = grant["billing"]
    billing.update(status="other currency", amount=amount, stopped=at)
    grant["history"].append(
        {
            "at": at,
            "what": f"order #{billing['order']} not invoiced to the delegate: the owner's invoice is in {currency}, "
            f"the delegate's account in {delegate_currency}",
            "by": "bridge",
        }
    )
    fields = about_order(grant, amount=amount, currency=currency, delegate_currency=delegate_currency)
    task = note(message("delegation.order_currency_note", **fields), sticky=True)
    told = message("delegation.order_currency_told", **fields)
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", "payer:currency", task, grant["owner"]),
            act(grant, "email", "payer:currency-told", notice(grant["delegate"], told), grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def invoiced(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The agency's invoice exists: the order's lines come off the owner's invoice (unless paid meanwhile). Found
    in WHMCS already paid (a CreateInvoice answered late, the agency paying before the bridge knew its number, so
    its InvoicePaid named an invoice of nobody's; fourteenth break round G6): that payment is acted on now, as its
    event would have been (agency_invoice), as a delegated renewal's is (renewal.invoice_made)."""
    billing = grant.get("billing") or {}
    found_paid = data.get("invoice_status") == "Paid" and bool(as_int(data.get("invoice_id")))
    if billing.get("status") == "owner paid" and not billing.get("delegate_invoice") and data.get("invoice_id"):
        # Made by a call WHMCS answered late (or found in WHMCS after it), once the owner had paid: withdrawn; found
        # paid, both paid (a staff task).
        billing["delegate_invoice"] = as_int(data.get("invoice_id"))
        if found_paid:
            return dataclasses.replace(agency_invoice(grant, "InvoicePaid", now), refs=grant_refs(grant))
        return Decision(state=grant, actions=withdraw_agency_invoice(grant), refs=grant_refs(grant))
    if billing.get("status") == ENDED_UNINVOICED and not billing.get("delegate_invoice") and data.get("invoice_id"):
        # Made by a call WHMCS answered late, once the grant had ended: withdrawn as one made before (grant_ended()).
        billing.update(status="invoiced", delegate_invoice=as_int(data.get("invoice_id")))
        if found_paid:
            paid = ended_paid(grant, str(billing.get("amount") or ""), now.isoformat(timespec="seconds"))
            return dataclasses.replace(paid, refs=grant_refs(grant))
        return Decision(state=grant, actions=grant_ended(grant, now), refs=grant_refs(grant))
    if billing.get("status") != "invoicing":
        return Decision(state=grant)
    billing.update(status="invoiced", delegate_invoice=as_int(data.get("invoice_id")))
    grant["history"].append(
        {
            "at": now.isoformat(timespec="seconds"),
            "what": f"order #{billing['order']} invoiced to the delegate (invoice #{billing['delegate_invoice']})",
            "by": "bridge",
        }
    )
    off = act(
        grant,
        "invoice_lines_off",
        "payer:lines-off",
        # Part paid by the owner meanwhile: its lines stay (the kind would park unseen); the rules hear the
        # amount (part_paid) and park the order with a staff task.
        # `order_id`: the order's status, read again should the owner's money be found on its invoice after the write.
        {
            "invoice_id": billing["owner_invoice"],
            "line_ids": billing["lines"],
            "order_id": billing["order"],
            "outcome_to": OUTCOME,
        },
        grant["owner"],
        # Nor for an order WHMCS shows deleted, cancelled or as fraud now (staff acted while the agency's invoice was
        # being made): the owner's invoice is left as it is and the agency's withdrawn (lines_kept_for_closed).
        guard={
            "invoices_open": [billing["owner_invoice"]],
            "nothing_paid": [billing["owner_invoice"]],
            "order_exists": billing["order"],
            "order_open": billing["order"],
            **while_active(grant),  # the grant ended meanwhile: the lines stay the owner's (grant_ended())
        },
    )
    billing["lines_off"] = off.key
    if found_paid:  # its lines come off, then its payment accepts the order (and says so)
        paid = agency_invoice(grant, "InvoicePaid", now)
        return dataclasses.replace(paid, actions=[off, *paid.actions], refs=grant_refs(grant))
    billing["tell_owner"] = True  # the owner's note once its items came off its invoice (lines_off_ended)
    return Decision(state=grant, actions=[off], refs=grant_refs(grant))


def payment(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision | None:
    """What an invoice event means for the order's billing; None when it is not about it."""
    billing = grant.get("billing") or {}
    invoice = as_int(data.get("invoiceid"))
    if invoice is None or not billing:
        return None
    if invoice == billing.get("delegate_invoice"):
        return agency_invoice(grant, kind, now)
    if (
        invoice == billing.get("owner_invoice")
        and kind == "InvoicePaid"
        and billing["status"] in ("invoicing", "invoiced")
    ):
        # Paid after the order's lines came off it, the invoice billed the owner's other items (an addon, a setup
        # fee): the agency's invoice stays (thirteenth break round F2). Its lines-off step's outcome comes before
        # this event: that step ends before the owner can see, and pay, what is left.
        return owner_paid_rest(grant, now) if billing.get("lines_off_done") else owner_paid_first(grant, now)
    if invoice == billing.get("owner_invoice") and kind == "InvoicePaid" and billing.get("owner_pending"):
        if billing["status"] in ("accepting", "settled") and not billing.get("lines_off_done"):
            return owner_paid_second(grant, now)  # its pending payment cleared after the agency's
    return None


def agency_invoice(grant: dict[str, Any], kind: str, now: datetime) -> Decision:
    billing = grant["billing"]
    at = now.isoformat(timespec="seconds")
    if kind == "InvoicePaid" and billing["status"] in ("invoiced", WITHDRAWING):
        # Settled once WHMCS accepted the order (accepted()); staff may have deleted it, cancelled it or marked it
        # as fraud meanwhile (accepted() again: nothing accepted, a refund task). Paid while its withdrawal for a
        # cancelled order waited: the same (the withdrawal's guards stop it).
        grant["history"].append({"at": at, "what": f"order #{billing['order']} paid by the delegate", "by": "WHMCS"})
        accept = act(
            grant,
            "accept_order",
            "payer:accept",
            # Its services' next due dates are read once it is accepted (billing_kinds._due_not_moved: accepted()).
            {"order_id": billing["order"], "services": order_services(grant), "outcome_to": OUTCOME},
            grant["owner"],
            # Deleted, or cancelled or marked as fraud, meanwhile: not accepted (accepted() asks staff to refund).
            guard={"order_exists": billing["order"], "order_open": billing["order"]},
        )
        billing.update(status="accepting", paid=at, accept=accept.key)
        kept = "yes" if billing.get("owner_pending") and not billing.get("lines_off_done") else ""
        told = note(message("delegation.order_settled_note", **about_order(grant, kept=kept)))
        staff = act(grant, "client_note", "payer:settled", told, grant["owner"], guard={"after_steps": [accept.key]})
        return Decision(state=grant, actions=[accept, staff], refs=grant_refs(grant))
    if kind == "InvoicePaid" and billing["status"] == GRANT_ENDED:
        return ended_paid(grant, str(billing.get("amount") or ""), at)
    if kind == "InvoicePaid" and billing["status"] == "owner paid":
        billing.update(status="paid twice", stopped=at)
        return staff_task(grant, "paid twice", at)
    if kind == "InvoicePaid" and billing.get("refund_kind") == "order_closed" and billing.get("refund_named"):
        return rest_paid(grant, at)
    if kind == "InvoiceRefunded" and billing["status"] in ("accepting", "settled"):
        return refunded(grant, at)
    if kind == "InvoiceCancelled" and billing["status"] == "invoiced":
        # The staff task says what the delegate had paid on it, read from WHMCS first (InvoiceRead, read()).
        billing.update(status="cancelled", cancelled=at)
        report = {"grant": grant["id"], "why": "cancelled"}
        params = {"invoice_id": billing["delegate_invoice"], "report": report}
        read_it = act(grant, "read_invoice", "payer:cancelled-read", params, grant["delegate"])
        return Decision(state=grant, actions=[read_it], refs=grant_refs(grant))
    if kind == "InvoiceOverdue" and billing["status"] == "invoiced" and not billing.get("chased"):
        billing["chased"] = at
        # Its note says the order's items came off the owner's invoice: it waits for that step, and goes only if
        # it ran (the owner had paid part meanwhile: the order is parked with its own task instead).
        return staff_task(grant, "overdue", at, after=billing.get("lines_off"))
    return Decision(state=grant)


def refunded(grant: dict[str, Any], at: str) -> Decision:
    """The agency's invoice, paid (the order accepted, or being accepted), refunded by staff afterwards (WHMCS's
    InvoiceRefunded, DD:hooks-reference/invoices.md; the poll reports an invoice found Refunded the same way): the
    order's items had come off the owner's invoice, so nobody pays for them now. Nothing is suspended or invoiced
    on a guess: one sticky staff task on the owner's account (as for a delegated renewal refunded, renewal.py), and
    `delegations show` no longer says settled. Once: a second report finds the status changed."""
    billing = grant["billing"]
    billing.update(status=ORDER_REFUNDED, refunded=at, stopped=at)
    what = f"order #{billing['order']}: the delegate's invoice #{billing['delegate_invoice']} refunded"
    grant["history"].append({"at": at, "what": what, "by": "WHMCS"})
    task = note(
        message("delegation.order_refunded_note", **about_order(grant, amount=billing.get("amount") or "")), sticky=True
    )
    return Decision(
        state=grant,
        actions=[act(grant, "client_note", "payer:refunded", task, grant["owner"])],
        refs=grant_refs(grant),
    )


def accepted(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The agency's payment's AcceptOrder ended: done (WHMCS shows the order Active: the order is settled), or
    cancelled because staff had deleted the order in WHMCS, or cancelled it or marked it as fraud (its status read
    from WHMCS just before: guards `order_exists`, `order_open`): nothing was accepted, the agency's money is to
    refund or credit (one sticky staff task naming it) and the agency is told. None when the outcome is not this
    order's acceptance."""
    billing = grant.get("billing") or {}
    if not billing.get("accept") or data.get("action_key") != billing["accept"] or billing["status"] != "accepting":
        return None
    at = now.isoformat(timespec="seconds")
    if data.get("status") == "done":
        billing.update(status="settled", settled=at)
        # The order's items still on the owner's invoice, whose payment was pending (payer_owner.owner_pending):
        # WHMCS moves the due dates when that invoice is paid; staff's task says what to do otherwise.
        due = [] if billing.get("owner_pending") and not billing.get("lines_off_done") else due_not_moved(grant, data)
        return Decision(state=grant, actions=due, refs=grant_refs(grant))
    if data.get("status") != "cancelled":
        return None
    if as_int(data.get("order_gone")) == billing["order"]:
        return not_accepted(grant, ORDER_GONE, "it no longer exists in WHMCS", "order_gone", at)
    if as_int(data.get("order_closed")) == billing["order"]:
        status = str(data.get("order_status") or "")
        return not_accepted(
            grant, ORDER_CLOSED.format(status=status), f"it is {status} in WHMCS", "order_closed", at, status=status
        )
    return None


def order_services(grant: dict[str, Any]) -> list[int]:
    """The order's services (the order's grant covers exactly its items)."""
    return [int(i["id"]) for i in grant.get("items") or [] if i.get("kind") == "service"]


def due_not_moved(grant: dict[str, Any], data: dict[str, Any]) -> list[Action]:
    """One sticky staff task on the owner's account per service of the order WHMCS still shows due on its order date
    once the agency's payment accepted the order (billing_kinds._due_not_moved; twenty-fifth round MEDIUM 4): WHMCS's
    cron would bill the owner the period the agency paid. Staff move it (the README leaves due dates to them)."""
    out = []
    for found in data.get("due_not_moved") or []:
        fields = about_order(grant, service=int(found["service"]), due=str(found["due"]), cycle=str(found["cycle"]))
        task = note(message("delegation.order_due_not_moved_note", **fields), sticky=True)
        key = f"payer:due-{found['service']}"
        out.append(act(grant, "client_note", key, task, grant["owner"]))
    return out


def not_accepted(grant: dict[str, Any], shown: str, why: str, kind: str, at: str, **more: str) -> Decision:
    """The agency paid for an order that WHMCS no longer has, or shows cancelled or as fraud: nothing is accepted;
    one sticky staff task on the owner's account names the money to refund or credit, and the agency is told."""
    billing = grant["billing"]
    billing.update(status=shown, stopped=at)
    grant["history"].append({"at": at, "what": f"order #{billing['order']} not accepted: {why}", "by": "bridge"})
    kept = {"kept": billing.get("lines_kept") or ""} if kind == "order_closed" else {}  # still on the owner's?
    fields = about_order(grant, **{"paid": billing.get("amount") or "", **kept, **more})
    billing.update(refund_kind=kind, refund_named=fields["paid"])  # what the staff task names (rest_paid())
    task = note(message(f"delegation.{kind}_note", **fields), sticky=True)
    told = notice(grant["delegate"], message(f"delegation.{kind}", **fields))
    step = kind.replace("_", "-")
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", f"payer:{step}", task, grant["owner"]),
            act(grant, "email", f"payer:{step}-told", told, grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def rest_paid(grant: dict[str, Any], at: str) -> Decision:
    """The agency's invoice for a cancelled order paid in full (InvoicePaid) after its refund task named a part of
    it: the bridge leaves an invoice holding a customer's money open (it does not cancel it), so WHMCS went on asking
    for the rest, and the agency paid it (fourteenth break round G5). One more sticky staff task names the whole
    amount, replacing the first one's, and the agency is told: every cent paid for the cancelled order is in a task.
    Once: the amount named is then the invoice's."""
    billing = grant["billing"]
    earlier, paid = str(billing["refund_named"]), str(billing.get("amount") or "")
    if not paid or Decimal(earlier) >= Decimal(paid):
        return Decision(state=grant)  # the task named it all already (an InvoicePaid reported again)
    billing["refund_named"] = paid
    what = f"order #{billing['order']}: the delegate paid the rest of invoice #{billing['delegate_invoice']}"
    grant["history"].append({"at": at, "what": f"{what}; refund due {paid}", "by": "WHMCS"})
    status = str(billing.get("order_status") or "Cancelled")
    fields = about_order(grant, paid=paid, earlier=earlier, status=status, kept=billing.get("lines_kept") or "")
    task = note(message("delegation.order_closed_note", **fields), sticky=True)
    told = notice(grant["delegate"], message("delegation.order_closed", **fields))
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", "payer:order-closed-rest", task, grant["owner"]),
            act(grant, "email", "payer:order-closed-rest-told", told, grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def part_paid(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The agency's invoice was to be cancelled (the owner paid first), but the agency had paid part of it: the
    bridge left it open; staff refund or credit the amount (a sticky note naming it). Or the owner had paid part
    of its own invoice when the order's lines were to come off it: the order is parked (parked())."""
    billing = grant.get("billing") or {}
    if not billing or not data.get("paid"):
        return None
    if (
        as_int(data.get("paid_invoice")) == billing.get("owner_invoice")
        and billing.get("status") == "invoiced"
        and data.get("action_key") == billing.get("lines_off")
    ):
        return parked(grant, str(data["paid"]), now.isoformat(timespec="seconds"))
    if as_int(data.get("paid_invoice")) != billing.get("delegate_invoice"):
        return None
    if billing.get("status") == WITHDRAWING and data.get("action_key") == billing.get("withdraw"):
        # The order being cancelled, the agency's invoice part paid: left open; the refund task names the amount.
        status = str(billing.get("order_status") or "Cancelled")
        return not_accepted(
            grant, ORDER_CLOSED.format(status=status), f"it is {status} in WHMCS", "order_closed",
            now.isoformat(timespec="seconds"), status=status, paid=str(data["paid"]),
        )  # fmt: skip
    if billing.get("status") == GRANT_ENDED and data.get("action_key") == billing.get("ended_cancel"):
        return ended_paid(grant, str(data["paid"]), now.isoformat(timespec="seconds"))
    billing["part_paid"] = str(data["paid"])
    return staff_task(grant, "part paid", now.isoformat(timespec="seconds"), str(data["paid"]))


def read(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The delegate's cancelled invoice as WHMCS has it now: the staff task names what was paid on it."""
    billing = grant.get("billing") or {}
    if billing.get("status") != "cancelled" or as_int(data.get("invoice_id")) != billing.get("delegate_invoice"):
        return Decision(state=grant)
    paid = str(data["paid"]) if Decimal(str(data.get("paid") or "0")) > 0 else None
    return staff_task(grant, str(data.get("why") or "cancelled"), now.isoformat(timespec="seconds"), paid)


def staff_task(grant: dict[str, Any], why: str, at: str, paid: str | None = None, after: str | None = None) -> Decision:
    """The order stays as it is (unpaid and not accepted; or, paid twice, accepted once): staff decide, from a
    sticky note on the owner's account."""
    billing = grant["billing"]
    grant["history"].append(
        {"at": at, "what": f"order #{billing['order']}: the delegate's invoice {why}", "by": "WHMCS"}
    )
    task = note(message("delegation.order_unsettled_note", **about_order(grant, why=why, paid=paid)), sticky=True)
    return Decision(
        state=grant,
        actions=[
            act(
                grant,
                "client_note",
                f"payer:{why.replace(' ', '-')}",
                task,
                grant["owner"],
                guard={"after_steps": [after]} if after else None,
            )
        ],
        refs=grant_refs(grant),
    )


def cancel_found_paid(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The agency's invoice found paid in full by its cancellation: a payment whose event may have come before
    the invoice was known, acted on as that event would have been (agency_invoice)."""
    billing = grant.get("billing") or {}
    if (
        data.get("status") != "cancelled"
        or data.get("invoice_status") != "Paid"
        or not billing.get("delegate_invoice")
        or as_int(data.get("closed_invoice")) != billing["delegate_invoice"]
    ):
        return None
    return agency_invoice(grant, "InvoicePaid", now)
