"""Renewal of one service by the delegate, invoiced to the payer (o2switch's rule), as pure steps of the
delegation rules: find the service's line on the owner's open invoice, invoice the delegate that line's
amount alone, and when the delegate pays, renew that one service once (its next due date one cycle on) and
take its line off the owner's invoice, which keeps its other items, and off any other open invoice of the owner's
WHMCS shows billing the same period then (made after the request: reads.later_invoices; one paid is both paid).
The owner paying first (its invoice, or any
other of its own WHMCS shows billing the same period when its payment is reported: owner_paid_other) cancels the
delegate's invoice; a delegate's invoice cancelled leaves the owner's as it was (a part payment on it is a
staff task); the owner's invoice cancelled withdraws the delegate's unpaid one; both paying, or a refund
after the renewal, is a staff task (renewal_tasks.py); the renewal applied is renewal_done.py's. Settlement is decided in one place, from what WHMCS
says when the renewal runs (the apply action's `renewal_settles` guard, renewal_scope.unsettled): anything
but what was invoiced renews nothing and is a staff task stating what WHMCS shows, as is staff rejecting
the action (WHMCS read first: read_now, renewal_read); a second request while one is open is refused, whichever grant on the
same item asked first (renewal_scope.py: WHMCS is asked whether the other's invoice is still open). The delegate's invoice
bills exactly the period the owner's line bills (its dates against the next due date and billing cycle
WHMCS has now), or staff decide. A granted domain renews the same way, for one registration period: priced
from its line on the owner's invoice, else at WHMCS's TLD price; paid, the registrar renews it once.

Revocation wins: every action of a renewal that changes WHMCS (the delegate's invoice, the owner's line taken
off, the next due date moved) runs only while its grant is active (the executor's `state_active` guard,
re-read just before it runs); when the grant ends, its open renewals end with it and the delegate's unpaid
invoice is cancelled in WHMCS; a payment that comes too late for it is a staff task.

A renewal's status: looking (reading the owner's invoice), invoiced (the delegate's invoice is open), paid
(the delegate paid; the renewal is being applied), renewed, and the ends: nothing to renew, cancelled,
owner paid, withdrawn (the owner's invoice cancelled, or the service ended, before the delegate paid), needs
staff (WHMCS showed something other than what was invoiced), paid twice (both paid: staff refund or credit the delegate), refunded, grant ended (revoked or
expired before it was applied)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.delegation.billing_periods import period_of
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import (
    FAMILY,
    OUTCOME,
    about_grant,
    act,
    grant_refs,
    note,
    notice,
    record,
    rights,
)
from whmcs_bridge.families.delegation.renewal_done import applied_done
from whmcs_bridge.families.delegation.renewal_invoice import (
    cancel_invoice,
    invoice_params,
    owner_paid_other,
    owner_paid_this,
    owner_paid_withdraws,
    staff_first,
)
from whmcs_bridge.families.delegation.renewal_scope import (
    ENDED,
    NOT_PAID,
    OWNER_PAID,
    STILL_OPEN,
    being_invoiced,
    blocking,
    closed_here,
    elsewhere,
    held,
    item_of,
    not_renewable,
    not_the_owners,
    nothing_to_pay,
    open_renewal,
    owner_invoice_held,
    refusal,
    registrar_unknown,
    renewed,
    seen_elsewhere,
    settle_spec,
    unsettled,
    wanted_item,
)
from whmcs_bridge.families.delegation.renewal_tasks import (
    delegate_part_paid,
    held_by_whmcs,
    not_settled,
    owner_paid_part_first,
    owner_part_paid,
    paid_in_whmcs,
    paid_twice,
    payment_unconfirmed,
    read_now,
    refunded_unapplied,
    side_closed,
)
from whmcs_bridge.model import Decision, as_int, message

# A renewal whose unpaid invoice the bridge withdrew, WHMCS showing it can no longer be settled as invoiced.
WITHDRAWN = "withdrawn"
# A renewal whose delegate's invoice WHMCS cancelled or refunded: paid again (staff reopened it), WHMCS is read.
REOPENED = ("cancelled", "refunded")


def while_active(grant: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A renewal's change to WHMCS runs only while its grant is active, re-read by the executor just before."""
    return {"state_active": [FAMILY, f"grant:{grant['id']}"], **more}


def renew(
    grant: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
    rules: DelegationSection,
    others: Sequence[dict[str, Any]] = (),
) -> Decision:
    """Step 1: find the service's line on the owner's open invoice (a domain's line, or its price), a read that
    also asks WHMCS about the owner's other grants' open renewal invoices for the same item; then invoice the
    delegate. `others`: the owner's other grants in view."""
    if grant.get("status") != "active":
        raise ValueError(f"grant {grant['id']} is {grant.get('status')}: it cannot renew")
    if not rights(grant, rules).renew:
        raise ValueError(f"the {grant['role']} role may not renew (delegation.roles.{grant['role']}.renew)")
    kind, wanted = wanted_item(grant, data.get("service"), data.get("domain"))
    if open_renewal(grant, wanted, kind) is not None:  # staff's command refuses it first; a page's click ends here
        grant["history"].append(
            {
                "at": now.isoformat(timespec="seconds"),
                "what": "renewal refused",
                "by": data.get("by"),
                "reason": refusal(grant, wanted, kind),
            }
        )
        return Decision(state=grant)
    renewals = grant.setdefault("renewals", [])
    n = len(renewals) + 1
    renewal = {
        "n": n,
        kind: wanted,
        "status": "looking",
        "requested": now.isoformat(timespec="seconds"),
        "by": data.get("by"),
    }
    renewals.append(renewal)
    grant["history"].append(
        {"at": now.isoformat(timespec="seconds"), "what": f"renewal {n} asked", "by": data.get("by")}
    )
    pending = elsewhere(others, grant, kind, wanted)
    busy = being_invoiced(kind, wanted, pending)
    if busy is not None:
        return refused(grant, renewal, busy, now, "delegation.renewal_already_open", invoice="")
    pending += closed_here(grant, kind, wanted)  # WHMCS, not memory, says whether they are closed
    find = act(
        grant,
        "find_open_invoice",
        f"renew:{n}:find",
        {
            "client_id": grant["owner"],
            f"{kind}_id": wanted,
            "delegate_id": grant["delegate"],  # whose currency the delegate's invoice would be in
            "report": {"grant": grant["id"], "n": n},
            "parties": {"owner": grant["owner"], "delegate": grant["delegate"]},  # WHMCS says if one is Closed
            # Another grant's open renewal invoice of the item: WHMCS says whether it is still open.
            **(
                {"others": [{"invoice": p["invoice"], "grant": p["grant"], "due": p.get("due")} for p in pending]}
                if pending
                else {}
            ),
        },
        grant["owner"],
    )
    return Decision(state=grant, actions=[find], refs=grant_refs(grant))


def refused(
    grant: dict[str, Any], renewal: dict[str, Any], reason: str, now: datetime, msg: str, **fields: Any
) -> Decision:
    """The request ends here, nothing invoiced: the reason (one sentence) in the grant's history, and the
    delegate told in its language."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status="refused", stopped=at, reason=reason)
    grant["history"].append({"at": at, "what": f"renewal {n} refused", "by": "bridge", "reason": reason})
    told = message(msg, **about_grant(grant, **renewed(renewal), **fields))
    email = act(grant, "email", f"renew:{n}:refused", notice(grant["delegate"], told), grant["delegate"])
    return Decision(state=grant, actions=[email], refs=grant_refs(grant))


def refused_by_whmcs(
    grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime
) -> Decision | None:
    """What WHMCS said when the renewal started that refuses it: another grant's renewal invoice for the item
    still open, the item not the owner's (a whole-account grant names any id), or its status one that is not
    renewed (reads.find_open_invoice); None when nothing does."""
    what, item = item_of(renewal)
    found, due_now = seen_elsewhere(data)  # and the item's next due date in WHMCS now
    if data.get("closed"):  # WHMCS shows the owner's or the delegate's account Closed
        return side_closed(grant, renewal, dict(data["closed"]), now)
    entry = blocking(found, due_now)
    if entry is not None:
        why = str(held(what, item, found, due_now))
        return refused(grant, renewal, why, now, "delegation.renewal_already_open", invoice=str(entry["invoice"]))
    if data.get("not_owners"):
        holder = as_int(data.get("holder"))
        why = not_the_owners(what, item, grant["owner"], holder)
        return refused(grant, renewal, why, now, "delegation.renewal_not_owners", kind=what, id=str(item))
    if data.get("owner_held"):  # the owner's invoice for it is in collections, or its payment on the way
        on = dict(data["owner_held"])
        why = owner_invoice_held(what, item, int(on["invoice"]), str(on["status"]))
        return refused(
            grant,
            renewal,
            why,
            now,
            "delegation.renewal_owner_held",
            invoice=str(on["invoice"]),
            status=str(on["status"]),
        )
    if data.get("status"):  # WHMCS's status says it cannot be renewed (terminated, cancelled, pending...)
        why = not_renewable(what, item, str(data["status"]))
        return refused(grant, renewal, why, now, "delegation.renewal_not_renewable", status=str(data["status"]))
    if data.get("amount") is not None and Decimal(str(data["amount"])) <= 0:  # free with a hosting, say
        why = nothing_to_pay(what, item, str(data["amount"]))
        return refused(grant, renewal, why, now, "delegation.renewal_nothing_to_pay", amount=str(data["amount"]))
    return None


def renewal_step(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision:
    renewal = next((r for r in grant.get("renewals", []) if r["n"] == as_int(data.get("n"))), None)
    if renewal is None:
        return Decision(state=grant)
    if kind == "RenewalInvoiceCreated":
        return invoice_made(grant, renewal, data, now)
    if renewal["status"] != "looking":
        return Decision(state=grant)
    what, _ = item_of(renewal)
    stopped = refused_by_whmcs(grant, renewal, data, now)
    if stopped is not None:
        return stopped
    if data.get("invoice_id") and Decimal(str(data.get("paid") or "0")) > 0:
        return owner_paid_part_first(grant, renewal, data, now)
    due, until = period_of(what, data)
    if until is None or due is None:
        renewal["status"] = "nothing to renew"
        told = message("delegation.renewal_nothing", owner=grant["owner"], **renewed(renewal))
        return Decision(
            state=grant,
            actions=[
                act(grant, "email", f"renew:{renewal['n']}:nothing", notice(grant["delegate"], told), grant["delegate"])
            ],
        )
    renewal.update(
        status="invoiced",
        owner_invoice=as_int(data.get("invoice_id")),
        line=as_int(data.get("line_id")),
        # The owner's lines it bills: the item's line and that line's promotions (reads.billed).
        **({"lines": [int(i) for i in data["line_ids"]]} if data.get("line_ids") else {}),
        amount=str(data["amount"]),
        # The delegate's invoice is in the delegate's currency, the owner's when it is invoiced at all (reads.currencies).
        **({"currency": str(data["delegate_currency"])} if data.get("delegate_currency") else {}),
        due=due.isoformat(),
        until=until.isoformat(),
    )
    if what == "domain":
        renewal["years"] = as_int(data.get("years")) or 1
    period = f"{renewal['years']} year(s)" if what == "domain" else str(data.get("cycle"))
    staff = staff_first(grant, renewal, data, period, now)
    if staff is not None:
        return staff
    # Not made once the owner paid its invoice (a CreateInvoice waiting out an outage, say): the owner's payment
    # renews it (owner_paid_first).
    still_due = {"invoices_open": [renewal["owner_invoice"]]} if renewal.get("owner_invoice") else {}
    invoice = act(
        grant,
        "create_invoice",
        f"renew:{renewal['n']}:invoice",
        invoice_params(grant, renewal, data, due, until, now),
        grant["delegate"],
        guard=while_active(grant, **still_due),
    )
    return Decision(state=grant, actions=[invoice], refs=grant_refs(grant))


def invoice_made(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The delegate's invoice exists in WHMCS. Made (or found there after a call answered late) once the grant
    had ended or the owner had paid first: withdrawn like one made before (a payment of it found on the way is
    staff's refund task, renewal_applied). Found paid (a call answered late, the delegate paying before the bridge
    knew the invoice's number, so its InvoicePaid named an invoice of nobody's): that payment is acted on now, as
    its event would have been (issue 16 twelfth round N3)."""
    renewal["delegate_invoice"] = as_int(data.get("invoice_id"))
    if renewal["delegate_invoice"] and data.get("invoice_status") == "Paid":
        paid = delegate_invoice(grant, renewal, "InvoicePaid", now)
        return dataclasses.replace(paid, refs=grant_refs(grant))
    if renewal["status"] == ENDED and renewal["delegate_invoice"]:  # issued just before the grant ended
        return Decision(state=grant, actions=[cancel_invoice(grant, renewal)], refs=grant_refs(grant))
    if renewal["status"] == "owner paid" and renewal["delegate_invoice"]:
        return Decision(state=grant, actions=owner_paid_withdraws(grant, renewal), refs=grant_refs(grant))
    return Decision(state=grant, refs=grant_refs(grant))


def renewal_payment(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision | None:
    """Step 2: what an invoice event means for a renewal: the delegate's invoice paid, cancelled or refunded,
    or the owner's invoice paid first."""
    invoice = as_int(data.get("invoiceid"))
    renewal = next((r for r in grant.get("renewals", []) if r.get("delegate_invoice") == invoice), None)
    if renewal is not None:
        return delegate_invoice(grant, renewal, kind, now)
    owners = next(
        (r for r in grant.get("renewals", []) if r.get("owner_invoice") == invoice and r["status"] == "invoiced"), None
    )
    if owners is not None and kind == "InvoicePaid":
        return owner_paid_first(grant, owners, now)
    if owners is not None and kind == "InvoiceCancelled":
        # The owner's invoice that billed the renewal cancelled (staff cancelling the service with it): WHMCS is
        # read for what it says now before the delegate's invoice is withdrawn (renewal_read).
        return Decision(state=grant, actions=[read_now(grant, owners, "owner cancelled")], refs=grant_refs(grant))
    if kind == "InvoicePaid" and invoice:
        return owner_paid_other(grant, invoice, as_int(data.get("userid")))
    return None


def delegate_invoice(grant: dict[str, Any], renewal: dict[str, Any], kind: str, now: datetime) -> Decision:
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), renewal["delegate_invoice"]
    facts = about_grant(
        grant, invoice=str(invoice), owner_invoice=str(renewal.get("owner_invoice") or ""), **renewed(renewal)
    )
    if kind == "InvoicePaid" and renewal["status"] == "invoiced":
        return settle(grant, renewal, now)
    if kind == "InvoicePaid" and renewal["status"] in REOPENED:
        # Staff cancelled the invoice (or refunded it), set it back to Unpaid, and the delegate paid it: the payment
        # is never ignored; WHMCS is read (renewal_read, "paid cancelled"): settled if the owner's line is still
        # due, else a staff task and the delegate told.
        return Decision(state=grant, actions=[read_now(grant, renewal, "paid cancelled")], refs=grant_refs(grant))
    if kind == "InvoicePaid" and renewal["status"] == ENDED:
        # Paid after its grant ended, before the cancellation reached WHMCS: nothing is renewed for a grant that
        # ended; WHMCS is read for what was paid (renewal_read): staff's refund task and the delegate told.
        return Decision(state=grant, actions=[read_now(grant, renewal, "paid ended")], refs=grant_refs(grant))
    if kind == "InvoicePaid" and renewal["status"] == WITHDRAWN:
        # Paid before its withdrawal reached WHMCS: nothing is renewed; WHMCS is read for the staff task.
        return Decision(state=grant, actions=[read_now(grant, renewal, "paid withdrawn")], refs=grant_refs(grant))
    if kind == "InvoicePaid" and renewal["status"] == "owner paid":
        # The owner paid first and the delegate paid too before its invoice was cancelled: nothing is renewed
        # twice (WHMCS renewed it for the owner's payment); staff refund or credit the delegate, once WHMCS shows
        # the payment (renewal_read, "paid owner paid": a payment it does not show is nobody's to refund).
        return Decision(state=grant, actions=[read_now(grant, renewal, "paid owner paid")], refs=grant_refs(grant))
    if kind == "InvoiceCancelled" and renewal["status"] == "invoiced":
        renewal.update(status="cancelled", cancelled=at)
        grant["history"].append(
            {"at": at, "what": f"renewal {n}: the delegate's invoice #{invoice} cancelled", "by": "WHMCS"}
        )
        # What the delegate had paid on it is read from WHMCS (renewal_read): a part payment is staff's to refund.
        return Decision(state=grant, actions=[read_now(grant, renewal, "cancelled")], refs=grant_refs(grant))
    if kind == "InvoiceRefunded" and renewal["status"] == "invoiced":
        return refunded_unapplied(grant, renewal, now)
    if kind == "InvoiceRefunded" and renewal["status"] == "renewed":
        renewal.update(status="refunded", refunded=at)
        record(grant, at, "refund", **renewed(renewal), invoice=invoice)  # the digest no longer says it was paid
        grant["history"].append(
            {"at": at, "what": f"renewal {n}: the delegate's invoice #{invoice} refunded", "by": "WHMCS"}
        )
        task = message("delegation.renewal_refunded_note", **facts, until=renewal["until"])
        return Decision(
            state=grant,
            actions=[act(grant, "client_note", f"renew:{n}:refunded", note(task, sticky=True), grant["owner"])],
            refs=grant_refs(grant),
        )
    return Decision(state=grant)


def settle(grant: dict[str, Any], renewal: dict[str, Any], now: datetime) -> Decision:
    """The delegate's invoice paid: the renewal's action, guarded to settle only as invoiced while the grant is
    active."""
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), renewal["delegate_invoice"]
    renewal.update(status="paid", paid=at)
    grant["history"].append(
        {"at": at, "what": f"renewal {n} paid by the delegate (invoice #{invoice})", "by": "bridge"}
    )
    what, item = item_of(renewal)
    params = {
        f"{what}_id": item,
        "from": renewal["due"],
        "until": renewal["until"],
        "owner_invoice": renewal["owner_invoice"],
        "line_id": renewal["line"],
        **({"line_ids": renewal["lines"]} if renewal.get("lines") else {}),
        "outcome_to": OUTCOME,
        "tell_parked": True,  # WHMCS refusing it (a registrar error) parks it for staff: the delegate is told
    }
    if what == "domain":
        params["years"] = renewal.get("years") or 1
    again = int(renewal.get("applies") or 1)  # a payment WHMCS did not show came first (payment_unconfirmed)
    apply = act(
        grant,
        f"renew_{what}",
        f"renew:{n}:apply" + (f"-{again}" if again > 1 else ""),
        params,
        grant["owner"],
        # Its grant ended meanwhile: not at all; the rules hear it and ask staff.
        # Settled only as invoiced, as WHMCS has things when it runs (also when staff approve it after it
        # parked): the item cancelled, renewed meanwhile (the owner paid too), the owner's invoice cancelled,
        # part paid or its line changed: nothing renewed; the rules hear what WHMCS says and ask staff.
        guard=while_active(grant, renewal_settles=settle_spec(renewal)),
    )
    renewal["action"] = apply.key
    return Decision(state=grant, actions=[apply], refs=grant_refs(grant))


def owner_paid_first(
    grant: dict[str, Any], renewal: dict[str, Any], now: datetime, paid: int | None = None
) -> Decision:
    """The owner paid its invoice, the service's line with it, while the delegate's was open: WHMCS renews the
    service for that payment; the delegate's invoice is cancelled (unless it was paid meanwhile: then its
    own event finds the service renewed) and the delegate is told. `paid`: the owner's invoice WHMCS shows paid
    when it is another than the one the renewal was priced from (made after the request)."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status="owner paid", owner_paid=at, owner_paid_invoice=paid or renewal.get("owner_invoice"))
    grant["history"].append(
        {"at": at, "what": f"renewal {n}: the owner paid invoice #{renewal['owner_paid_invoice']} first", "by": "WHMCS"}
    )
    actions = owner_paid_withdraws(grant, renewal) if renewal.get("delegate_invoice") else []
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def cancel_found_paid(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """A cancellation of the delegate's invoice found it paid in full: a payment whose event may have come before
    the invoice was known (a CreateInvoice answered late), acted on as that event would have been."""
    if data.get("status") != "cancelled" or data.get("invoice_status") != "Paid":
        return None
    found = next((r for r in grant.get("renewals", []) if r.get("cancel") == data.get("action_key")), None)
    if found is None or found.get("delegate_invoice") != as_int(data.get("closed_invoice")):
        return None
    if found["status"] == "owner paid":  # WHMCS showed it paid: no read needed before staff's refund task
        return paid_twice(grant, found, now, "the owner paid first", as_int(found.get("owner_paid_invoice")))
    return delegate_invoice(grant, found, "InvoicePaid", now)


def renewal_held(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """The renewal's action parked after the delegate paid (WHMCS refused it): held_by_whmcs."""
    renewal = next((r for r in grant.get("renewals", []) if r.get("action") == data.get("action_key")), None)
    if data.get("status") != "parked" or renewal is None or renewal["status"] != "paid":
        return None
    return held_by_whmcs(grant, renewal, data, now)


def renewal_applied(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """Step 3: the renewal's action ended: done (the service renewed, its line off the owner's invoice), or
    cancelled because the service had been renewed meanwhile (both paid: staff refund or credit the delegate)."""
    if data.get("status") == "cancelled" and data.get("paid"):
        kept = next(
            (r for r in grant.get("renewals", []) if r.get("delegate_invoice") == as_int(data.get("paid_invoice"))),
            None,
        )
        if kept is not None and kept.get("cancel") == data.get("action_key"):
            return delegate_part_paid(grant, kept, str(data["paid"]), now)
    renewal = next((r for r in grant.get("renewals", []) if r.get("action") == data.get("action_key")), None)
    if renewal is None or renewal["status"] != "paid":
        return None
    at = now.isoformat(timespec="seconds")
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        owner_invoice=str(renewal.get("owner_invoice") or ""),
        **renewed(renewal),
        until=renewal["until"],
    )
    if data.get("status") == "cancelled" and data.get("paid"):
        return owner_part_paid(grant, renewal, data, now)
    if data.get("status") == "cancelled" and grant_over(grant, now):
        # Its grant ended before it ran: nothing more is done for it, and what staff and the delegate are told is
        # what WHMCS shows now (a try killed mid-way may have changed the owner's invoice; staff may have renewed
        # it by hand), read first (renewal_read, "paid ended"), never what the bridge remembers.
        renewal.update(status=ENDED, stopped=at, tried=bool(data.get("tried")))  # tried: registrar_unknown
        return Decision(state=grant, actions=[read_now(grant, renewal, "paid ended")], refs=grant_refs(grant))
    why = str(data.get("why") or "")
    if data.get("status") == "cancelled" and why and why != OWNER_PAID:
        seen = dict(data.get("seen") or {})
        unconfirmed = why == NOT_PAID  # the guard found nothing paid on the delegate's invoice
        return (
            payment_unconfirmed(grant, renewal, seen, now)
            if unconfirmed
            else not_settled(grant, renewal, why, seen, now, "needs staff")
        )
    if data.get("status") == "rejected":
        # Staff rejected the action (e.g. one interrupted whose outcome WHMCS could not tell): nothing is asserted
        # about what happened; WHMCS is read and the staff task states what it shows (renewal_read), and whether a
        # try of it called WHMCS (a registrar call it cannot show may have been sent: registrar_unknown).
        renewal["tried"] = bool(data.get("tried"))
        return Decision(state=grant, actions=[read_now(grant, renewal, "rejected")], refs=grant_refs(grant))
    if data.get("status") == "done":
        return applied_done(grant, renewal, data, facts, now)
    why = str(data.get("error") or data.get("status"))
    return paid_twice(grant, renewal, now, why, as_int(data.get("owner_paid_invoice")))


def grant_over(grant: dict[str, Any], now: datetime) -> bool:
    """The grant ended, or its last day passed (its end not decided yet: delegation was off, or the timer waits behind
    other events), as the executor's `state_active` guard reads it (twenty-sixth round F8): a renewal its guard
    stopped then is the grant's end, not a payment of the owner's."""
    ends = grant.get("expires")
    return grant.get("status") != "active" or bool(ends and datetime.fromisoformat(str(ends)) <= now)


def renewal_read(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """What WHMCS says now about a renewal, read because staff rejected its action ("rejected"), the delegate's
    invoice was cancelled ("cancelled") or the owner's was ("owner cancelled"): a staff task stating it, or the
    delegate's unpaid invoice withdrawn when the renewal it bills can no longer be settled as invoiced."""
    renewal = next((r for r in grant.get("renewals", []) if r["n"] == as_int(data.get("n"))), None)
    if renewal is None:
        return Decision(state=grant)
    why, status = str(data.get("why")), renewal["status"]
    if why.startswith("paid "):
        return paid_read(grant, renewal, data, now) or Decision(state=grant)
    if why == "rejected" and status == "paid":
        return not_settled(grant, renewal, registrar_unknown(renewal, data) or "rejected", data, now, "needs staff")
    if why == "cancelled" and status == "cancelled" and Decimal(str(data.get("delegate_paid") or "0")) > 0:
        return not_settled(grant, renewal, "cancelled", data, now, "cancelled")
    if why == "owner paid other" and status == "invoiced" and owner_paid_this(grant, data):
        return owner_paid_first(grant, renewal, now, as_int(data.get("paid_invoice")))
    reason = unsettled(settle_spec(renewal), data) if why == "owner cancelled" and status == "invoiced" else None
    if reason is None or data.get("delegate_status") not in STILL_OPEN:
        return Decision(state=grant)
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status=WITHDRAWN, cancelled=at, why=reason)
    grant["history"].append({"at": at, "what": f"renewal {n} withdrawn: {reason} in WHMCS", "by": "bridge"})
    cancel = cancel_invoice(grant, renewal)
    told = message(
        "delegation.renewal_withdrawn",
        **about_grant(grant, invoice=str(renewal["delegate_invoice"]), **renewed(renewal)),
        why=reason,
        status=str(data.get("status") or ""),
        owner_status=str(data.get("owner_status") or ""),
    )
    email = act(
        grant,
        "email",
        f"renew:{n}:withdrawn",
        notice(grant["delegate"], told),
        grant["delegate"],
        guard={"after_steps": [cancel.key]},  # told once it is cancelled (part paid: staff's task instead)
    )
    return Decision(state=grant, actions=[cancel, email], refs=grant_refs(grant))


def paid_read(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """What WHMCS says now of a payment on the delegate's invoice that came when nothing could be renewed for it as
    invoiced (`why` "paid ..."): nothing paid there, nothing done (payment_unconfirmed); else staff's task, or the
    renewal settled after all."""
    why, status = str(data.get("why")), renewal["status"]
    if not paid_in_whmcs(data):
        return payment_unconfirmed(grant, renewal, data, now)
    if why == "paid owner paid" and status == "owner paid":
        return paid_twice(grant, renewal, now, "the owner paid first", as_int(renewal.get("owner_paid_invoice")))
    if why == "paid ended" and status == ENDED:  # paid after the grant ended, or before it but not yet renewed
        return not_settled(grant, renewal, registrar_unknown(renewal, data) or ENDED, data, now, ENDED)
    if why == "paid cancelled" and status in REOPENED and not renewal.get("why"):
        late = ENDED if grant.get("status") != "active" else unsettled(settle_spec(renewal), data)
        if late is None and (status == "cancelled" or renewal.get("unapplied")):  # a refunded one applied: spent
            return settle(grant, renewal, now)
        return not_settled(grant, renewal, late or "renewed", data, now, "needs staff")
    if why == "paid withdrawn" and status == WITHDRAWN:  # paid before its cancellation reached WHMCS
        late = unsettled(settle_spec(renewal), data) or str(renewal.get("why") or "owner invoice")
        return not_settled(grant, renewal, late, data, now, "needs staff")
    return None
