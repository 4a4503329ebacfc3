"""The delegate's renewal invoice (pure): whether staff must look first (the owner's line bills another period, or
the two WHMCS accounts are in different currencies), its lines (the item's line and its promotions, each taxed as
the owner's line it bills) and the CreateInvoice parameters, its text a message rendered in the delegate's
language when the executor makes it; and its withdrawal (cancelled while unpaid, the delegate told) when the owner
paid first (an invoice of the owner's paid while it is open is read from WHMCS: owner_paid_other) or the grant
ended."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

from whmcs_bridge.families.delegation.grants import OUTCOME, about_grant, act, grant_refs, notice
from whmcs_bridge.families.delegation.renewal_scope import ENDED, period_mismatch, renewed, settle_spec
from whmcs_bridge.families.delegation.renewal_tasks import needs_staff
from whmcs_bridge.model import Action, Decision, as_int, message


def invoice_params(
    grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], due: date, until: date, now: datetime
) -> dict[str, Any]:
    """The delegate's invoice: its line and notes are messages, rendered once in the delegate's WHMCS language just
    before WHMCS makes it and kept in the action (the executor finds the invoice again by them); the notes open with
    a reference in no language (staff search it). The period shown ends the day before the next due date, as
    WHMCS's own lines show it; the invoice is due when the owner's line is, or the day it is decided if that is
    past (CreateInvoice `duedate`, DD:api-reference/createinvoice.md; without it WHMCS makes it due at once)."""
    owner_invoice = str(renewal["owner_invoice"] or "")
    item = {**renewed(renewal), "owner": grant["owner"], "owner_invoice": owner_invoice}
    line = message(
        "delegation.renewal_invoice_line",
        **item,
        start=due.isoformat(),
        end=(until - timedelta(days=1)).isoformat(),
        years=renewal.get("years"),
    )
    return {
        "client_id": grant["delegate"],
        "lines": billed_lines(line, data, renewal["amount"]),
        "notes": message("delegation.renewal_invoice_notes", **item, until=until.isoformat()),
        "reference": f"Delegated renewal {renewal['n']}, grant {grant['id']}",
        "duedate": max(due, now.date()).isoformat(),
        "send": True,
        "report_as": "RenewalInvoiceCreated",
        "report": {"grant": grant["id"], "n": renewal["n"]},
    }


def staff_first(
    grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], period: str, now: datetime
) -> Decision | None:
    """What leaves the renewal to staff before anything is invoiced (needs_staff), or None: the owner's line bills
    another period than WHMCS has for the item (the delegate pays what the line bills for what the item gets), or
    the delegate's account is in another currency (a WHMCS invoice is in its client's currency,
    DD:api-reference/getclientsdetails.md `currency_code`: no amount is converted on a guess)."""
    line = str(data.get("line") or "")
    due, until = date.fromisoformat(renewal["due"]), date.fromisoformat(renewal["until"])
    why = period_mismatch(line, due, until) if renewal["owner_invoice"] else None
    if why is not None:
        return needs_staff(grant, renewal, line, period, why, now)
    if other_currency(data):
        return needs_staff(grant, renewal, line, period, "currency", now, currencies=currencies_of(data))
    return None


def other_currency(data: dict[str, Any]) -> bool:
    """Whether the read found the owner's and the delegate's WHMCS accounts in different currencies
    (reads.currencies; a read that did not say is taken as one currency, as before it said)."""
    return (
        bool(data.get("currency") and data.get("delegate_currency")) and data["currency"] != data["delegate_currency"]
    )


def currencies_of(data: dict[str, Any]) -> dict[str, str]:
    return {"currency": str(data["currency"]), "delegate_currency": str(data["delegate_currency"])}


def billed_lines(line: Any, data: dict[str, Any], amount: str) -> list[list[Any]]:
    """The delegate's invoice lines: the item's line (`line`, a message rendered in the delegate's language) at its amount, then its promotions in WHMCS's
    words, each taxed as the owner's line it bills (CreateInvoice `itemtaxedx`, DD:api-reference/createinvoice.md);
    a domain priced from WHMCS's TLD pricing, with no owner's line, is one untaxed line at that price."""
    items = list(data.get("items") or [])
    if not items:
        return [[line, amount, False]]
    first, *promotions = items
    return [
        [line, str(first["amount"]), bool(first.get("taxed"))],
        *([str(i["description"]), str(i["amount"]), bool(i.get("taxed"))] for i in promotions),
    ]


def owner_paid_withdraws(grant: dict[str, Any], renewal: dict[str, Any]) -> list[Action]:
    """The delegate's invoice for a renewal the owner paid first: cancelled, and the delegate told once it is
    (paid meanwhile, it cannot be: staff refund it)."""
    invoice, n = renewal["delegate_invoice"], renewal["n"]
    cancel = cancel_invoice(grant, renewal)
    told = message("delegation.renewal_owner_paid", **about_grant(grant, invoice=str(invoice), **renewed(renewal)))
    after = {"after_steps": [cancel.key]}
    return [
        cancel,
        act(grant, "email", f"renew:{n}:owner-paid", notice(grant["delegate"], told), grant["delegate"], guard=after),
    ]


def owner_paid_other(grant: dict[str, Any], invoice: int, client: int | None) -> Decision | None:
    """An invoice the grant does not know was paid while a delegate's renewal invoice is open: WHMCS is asked whose
    it is and whether it bills the renewed item for the period invoiced (one its cron made after the request, e.g.
    for a domain the delegate was invoiced at the TLD's price): the owner paying it is the owner paying first
    (renewal_read, "owner paid other"). An invoice the event says is another client's is not read."""
    if client is not None and client != grant["owner"]:
        return None
    reads = []
    for renewal in grant.get("renewals", []):
        if renewal["status"] != "invoiced" or renewal.get("owner_invoice") == invoice:
            continue
        report = {"grant": grant["id"], "n": renewal["n"], "why": "owner paid other"}
        params = {**settle_spec(renewal), "paid_invoice": invoice, "report": report}
        reads.append(act(grant, "read_renewal", f"renew:{renewal['n']}:paid-{invoice}", params, grant["owner"]))
    return Decision(state=grant, actions=reads, refs=grant_refs(grant)) if reads else None



def cancel_invoice(grant: dict[str, Any], renewal: dict[str, Any]) -> Action:
    """The delegate's renewal invoice cancelled in WHMCS, if it is still unpaid (a paid one is a staff task);
    one with part of it paid is left as it is, and the rules hear the amount (delegate_part_paid)."""
    invoice = renewal["delegate_invoice"]
    cancel = act(
        grant,
        "invoice_status",
        f"renew:{renewal['n']}:cancel",
        {"invoice_id": invoice, "status": "Cancelled", "outcome_to": OUTCOME},
        grant["delegate"],
        guard={"invoices_open": [invoice], "nothing_paid": [invoice]},
    )
    renewal["cancel"] = cancel.key
    return dataclasses.replace(cancel, destructive=False)  # the delegate's own unpaid invoice, now moot



def grant_ended(grant: dict[str, Any], now: datetime) -> list[Action]:
    """The grant was revoked or expired: its open renewals end with it (a paid one's renewal, if not applied
    yet, is cancelled by its guard and becomes a staff task) and the delegate's unpaid invoices are cancelled."""
    at = now.isoformat(timespec="seconds")
    actions = []
    for renewal in grant.get("renewals", []):
        if renewal["status"] not in ("looking", "invoiced"):
            continue
        renewal.update(status=ENDED, stopped=at)
        grant["history"].append(
            {"at": at, "what": f"renewal {renewal['n']} ended with the grant ({grant['status']})", "by": "bridge"}
        )
        if renewal.get("delegate_invoice"):
            actions.append(cancel_invoice(grant, renewal))
    return actions


def owner_paid_this(grant: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether the invoice read (reads.paid_invoice_now) is the owner's, paid in full, billing the renewed item for
    the period the delegate was invoiced."""
    return (
        as_int(data.get("paid_client")) == grant["owner"]
        and data.get("paid_status") == "Paid"
        and bool(data.get("bills"))
    )
