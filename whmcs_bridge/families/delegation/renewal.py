"""Renewal of one service by the delegate, invoiced to the payer (o2switch's rule), as pure steps of the
delegation rules: find the service's line on the owner's open invoice, invoice the delegate that line's
amount alone, and when the delegate pays, renew that one service once (its next due date one cycle on) and
take its line off the owner's invoice, which keeps its other items. The owner paying first cancels the
delegate's invoice; a delegate's invoice cancelled leaves the owner's as it was; both paying, or a refund
after the renewal, is a staff task; a second request while one is open is refused.

A renewal's status: looking (reading the owner's invoice), invoiced (the delegate's invoice is open), paid
(the delegate paid; the renewal is being applied), renewed, and the ends: nothing to renew, cancelled,
owner paid, paid twice (both paid: staff refund or credit the delegate), refunded."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import about_grant, act, grant_refs, note, notice, record, rights
from whmcs_bridge.model import Decision, as_int, message

OPEN = ("looking", "invoiced", "paid")  # a renewal still under way: no second one for the service
OUTCOME = "DelegationRenewalApplied"  # how the executor tells the rules the renewal's action ended
# WHMCS's billing cycles (GetClientsProducts `billingcycle`) and their length in months; the others (Free
# Account, One Time) do not renew.
CYCLES = {"Monthly": 1, "Quarterly": 3, "Semi-Annually": 6, "Annually": 12, "Biennially": 24, "Triennially": 36}


def open_renewal(grant: dict[str, Any], service: int) -> dict[str, Any] | None:
    return next((r for r in grant.get("renewals", []) if r["service"] == service and r["status"] in OPEN), None)


def refusal(grant: dict[str, Any], service: int) -> str | None:
    """Why a new renewal of the service cannot start now (one is open), as one sentence; None if it can."""
    current = open_renewal(grant, service)
    if current is None:
        return None
    where = (
        f"the delegate's invoice #{current['delegate_invoice']}, {current['status']}"
        if current.get("delegate_invoice")
        else current["status"]
    )
    return (
        f"renewal {current['n']} of service #{service} is open ({where}): it is paid, cancelled or answered "
        "before another one starts"
    )


def ticket_refusal(grant: dict[str, Any], item: dict[str, Any] | None) -> str | None:
    """Why a ticket's [renew] starts no renewal (one sentence), or None when it starts one: the ticket must
    name a service the grant covers, and no renewal of it may be open."""
    if item is None or item["kind"] != "service":
        return f"the ticket names no service of grant {grant['id']} to renew"
    return refusal(grant, int(item["id"]))


def wanted_service(grant: dict[str, Any], asked: Any) -> int:
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    wanted = as_int(asked) or (services[0]["id"] if services else None)
    if wanted is None or not any(i["id"] == wanted for i in services):
        raise ValueError(f"grant {grant['id']} covers no service {wanted or ''} to renew".replace("  ", " "))
    return wanted


def renew(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """Step 1: find the service's line on the owner's open invoice (a read), then invoice the delegate."""
    if grant.get("status") != "active":
        raise ValueError(f"grant {grant['id']} is {grant.get('status')}: it cannot renew")
    if not rights(grant, rules).renew:
        raise ValueError(f"the {grant['role']} role may not renew (delegation.roles.{grant['role']}.renew)")
    wanted = wanted_service(grant, data.get("service"))
    if open_renewal(grant, wanted) is not None:  # staff's command refuses it first; a ticket's [renew] ends here
        grant["history"].append(
            {
                "at": now.isoformat(timespec="seconds"),
                "what": "renewal refused",
                "by": data.get("by"),
                "reason": refusal(grant, wanted),
            }
        )
        return Decision(state=grant)
    renewals = grant.setdefault("renewals", [])
    n = len(renewals) + 1
    renewals.append(
        {
            "n": n,
            "service": wanted,
            "status": "looking",
            "requested": now.isoformat(timespec="seconds"),
            "by": data.get("by"),
        }
    )
    grant["history"].append(
        {"at": now.isoformat(timespec="seconds"), "what": f"renewal {n} asked", "by": data.get("by")}
    )
    find = act(
        grant,
        "find_open_invoice",
        f"renew:{n}:find",
        {"client_id": grant["owner"], "service_id": wanted, "report": {"grant": grant["id"], "n": n}},
        grant["owner"],
    )
    return Decision(state=grant, actions=[find], refs=grant_refs(grant))


def next_due(day: date, cycle: str) -> date | None:
    """The due date one billing cycle after `day` (the day of the month kept, or the month's last day)."""
    months = CYCLES.get(cycle)
    if months is None:
        return None
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    return None


def renewal_step(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision:
    renewal = next((r for r in grant.get("renewals", []) if r["n"] == as_int(data.get("n"))), None)
    if renewal is None:
        return Decision(state=grant)
    if kind == "RenewalInvoiceCreated":
        renewal["delegate_invoice"] = as_int(data.get("invoice_id"))
        return Decision(state=grant, refs=grant_refs(grant))
    if renewal["status"] != "looking":
        return Decision(state=grant)
    due = date.fromisoformat(str(data["due"])) if data.get("invoice_id") and data.get("due") else None
    until = next_due(due, str(data.get("cycle") or "")) if due else None
    if until is None or due is None:
        renewal["status"] = "nothing to renew"
        told = message("delegation.renewal_nothing", owner=grant["owner"], service=renewal["service"])
        return Decision(
            state=grant,
            actions=[
                act(grant, "email", f"renew:{renewal['n']}:nothing", notice(grant["delegate"], told), grant["delegate"])
            ],
        )
    renewal.update(
        status="invoiced",
        owner_invoice=int(data["invoice_id"]),
        line=int(data["line_id"]),
        amount=str(data["amount"]),
        due=due.isoformat(),
        until=until.isoformat(),
    )
    # An invoice's lines and notes are not messages (the executor knows the invoice by its notes): they
    # are written once, in English, naming the service, its period and the owner as the grant knows them.
    name = (
        next((i.get("name") for i in grant["items"] if i["id"] == renewal["service"] and i["kind"] == "service"), None)
        or f"service #{renewal['service']}"
    )
    owner = grant.get("owner_name") or f"client #{grant['owner']}"
    line = (
        f"Renewal of {name} for {owner}, {due.isoformat()} to {until.isoformat()} "
        f"(its line on their invoice #{renewal['owner_invoice']})"
    )
    params = {
        "client_id": grant["delegate"],
        "lines": [[line, renewal["amount"]]],
        "notes": f"Delegated renewal {renewal['n']}, grant {grant['id']}: paying this invoice renews {name} until "
        f"{until.isoformat()} and takes it off invoice #{renewal['owner_invoice']} of {owner}.",
        "send": True,
        "report_as": "RenewalInvoiceCreated",
        "report": {"grant": grant["id"], "n": renewal["n"]},
    }
    return Decision(
        state=grant,
        actions=[act(grant, "create_invoice", f"renew:{renewal['n']}:invoice", params, grant["delegate"])],
        refs=grant_refs(grant),
    )


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
    return None


def delegate_invoice(grant: dict[str, Any], renewal: dict[str, Any], kind: str, now: datetime) -> Decision:
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), renewal["delegate_invoice"]
    facts = about_grant(
        grant, invoice=str(invoice), owner_invoice=str(renewal["owner_invoice"]), service=renewal["service"]
    )
    if kind == "InvoicePaid" and renewal["status"] == "invoiced":
        renewal.update(status="paid", paid=at)
        grant["history"].append(
            {"at": at, "what": f"renewal {n} paid by the delegate (invoice #{invoice})", "by": "bridge"}
        )
        apply = act(
            grant,
            "renew_service",
            f"renew:{n}:apply",
            {
                "service_id": renewal["service"],
                "from": renewal["due"],
                "until": renewal["until"],
                "owner_invoice": renewal["owner_invoice"],
                "line_id": renewal["line"],
                "outcome_to": OUTCOME,
            },
            grant["owner"],
            # Renewed meanwhile (the owner paid too, or staff): not again; the rules hear it and ask staff.
            guard={"service_due": {"id": renewal["service"], "is": renewal["due"]}},
        )
        renewal["action"] = apply.key
        return Decision(state=grant, actions=[apply], refs=grant_refs(grant))
    if kind == "InvoicePaid" and renewal["status"] == "owner paid":
        # The owner paid first and the delegate paid too before its invoice was cancelled: nothing is renewed
        # twice (WHMCS renewed it for the owner's payment); staff refund or credit the delegate.
        return paid_twice(grant, renewal, now, "the owner paid first")
    if kind == "InvoiceCancelled" and renewal["status"] == "invoiced":
        renewal.update(status="cancelled", cancelled=at)
        grant["history"].append(
            {"at": at, "what": f"renewal {n}: the delegate's invoice #{invoice} cancelled", "by": "WHMCS"}
        )
        return Decision(state=grant, refs=grant_refs(grant))
    if kind == "InvoiceRefunded" and renewal["status"] == "renewed":
        renewal.update(status="refunded", refunded=at)
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


def owner_paid_first(grant: dict[str, Any], renewal: dict[str, Any], now: datetime) -> Decision:
    """The owner paid its invoice, the service's line with it, while the delegate's was open: WHMCS renews the
    service for that payment; the delegate's invoice is cancelled (unless it was paid meanwhile: then its
    own event finds the service renewed) and the delegate is told."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status="owner paid", owner_paid=at)
    grant["history"].append(
        {"at": at, "what": f"renewal {n}: the owner paid invoice #{renewal['owner_invoice']} first", "by": "WHMCS"}
    )
    invoice = renewal.get("delegate_invoice")
    actions = []
    if invoice:
        cancel = act(
            grant,
            "invoice_status",
            f"renew:{n}:cancel",
            {"invoice_id": invoice, "status": "Cancelled"},
            grant["delegate"],
            guard={"invoices_open": [invoice]},
        )
        told = message(
            "delegation.renewal_owner_paid", **about_grant(grant, invoice=str(invoice), service=renewal["service"])
        )
        # The delegate hears its invoice was cancelled once it was (paid meanwhile, it cannot be: staff refund it).
        after = {"after_steps": [cancel.key]}
        actions = [
            dataclasses.replace(cancel, destructive=False),  # the delegate's own unpaid invoice, now moot
            act(
                grant, "email", f"renew:{n}:owner-paid", notice(grant["delegate"], told), grant["delegate"], guard=after
            ),
        ]
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def renewal_applied(grant: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision | None:
    """Step 3: the renewal's action ended: done (the service renewed, its line off the owner's invoice), or
    cancelled because the service had been renewed meanwhile (both paid: staff refund or credit the delegate)."""
    renewal = next((r for r in grant.get("renewals", []) if r.get("action") == data.get("action_key")), None)
    if renewal is None or renewal["status"] != "paid":
        return None
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        owner_invoice=str(renewal["owner_invoice"]),
        service=renewal["service"],
        until=renewal["until"],
    )
    if data.get("status") == "done":
        renewal.update(status="renewed", renewed=at)
        grant["history"].append(
            {
                "at": at,
                "what": f"renewal {n}: service #{renewal['service']} renewed until {renewal['until']}",
                "by": "bridge",
            }
        )
        record(
            grant,
            at,
            "renewal",
            service=renewal["service"],
            invoice=renewal["delegate_invoice"],
            owner_invoice=renewal["owner_invoice"],
        )
        told = act(
            grant,
            "client_note",
            f"renew:{n}:note",
            note(message("delegation.renewal_settled_note", **facts)),
            grant["owner"],
        )
        return Decision(state=grant, actions=[told], refs=grant_refs(grant))
    return paid_twice(grant, renewal, now, str(data.get("error") or data.get("status")))


def paid_twice(grant: dict[str, Any], renewal: dict[str, Any], now: datetime, why: str) -> Decision:
    """Both the owner and the delegate paid the renewal: the service was renewed once; staff refund or
    credit the delegate (a sticky note on its account)."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status="paid twice", stopped=at)
    grant["history"].append({"at": at, "what": f"renewal {n} not applied: {why}", "by": "bridge"})
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        owner_invoice=str(renewal["owner_invoice"]),
        service=renewal["service"],
        until=renewal["until"],
    )
    task = message("delegation.renewal_paid_twice_note", **facts)
    note_params = note(task, sticky=True, client_id=grant["delegate"])
    return Decision(
        state=grant,
        actions=[act(grant, "client_note", f"renew:{n}:paid-twice", note_params, grant["delegate"])],
        refs=grant_refs(grant),
    )
