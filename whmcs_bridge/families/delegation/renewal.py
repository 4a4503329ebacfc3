"""Renewal by the delegate, invoiced to the payer (o2switch's rule), as pure steps of the delegation rules:
find the owner's open invoice for the service, invoice the delegate, and when the delegate pays,
settle the owner's invoice once; a cancelled or refunded delegate invoice is handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import about_grant, act, grant_refs, note, notice, record, rights
from whmcs_bridge.model import Decision, as_int, message


def renew(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """Step 1: find the owner's open invoice for the service (a read), then invoice the delegate."""
    if grant.get("status") != "active":
        raise ValueError(f"grant {grant['id']} is {grant.get('status')}: it cannot renew")
    if not rights(grant, rules).renew:
        raise ValueError(f"the {grant['role']} role may not renew (delegation.roles.{grant['role']}.renew)")
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    wanted = as_int(data.get("service")) or (services[0]["id"] if services else None)
    if wanted is None or not any(i["id"] == wanted for i in services):
        raise ValueError(f"grant {grant['id']} covers no service {wanted or ''} to renew".replace("  ", " "))
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


def renewal_step(grant: dict[str, Any], kind: str, data: dict[str, Any], now: datetime) -> Decision:
    renewal = next((r for r in grant.get("renewals", []) if r["n"] == as_int(data.get("n"))), None)
    if renewal is None:
        return Decision(state=grant)
    name = (
        next((i.get("name") for i in grant["items"] if i["id"] == renewal["service"] and i["kind"] == "service"), None)
        or f"service #{renewal['service']}"
    )
    owner = grant.get("owner_name") or f"client #{grant['owner']}"
    if kind == "RenewalInvoiceCreated":
        renewal["delegate_invoice"] = as_int(data.get("invoice_id"))
        return Decision(state=grant, refs=grant_refs(grant))
    if renewal["status"] != "looking":
        return Decision(state=grant)
    if not data.get("invoice_id"):
        renewal["status"] = "nothing to renew"
        told = message("delegation.renewal_nothing", owner=grant["owner"], service=renewal["service"])
        return Decision(
            state=grant,
            actions=[
                act(grant, "email", f"renew:{renewal['n']}:nothing", notice(grant["delegate"], told), grant["delegate"])
            ],
        )
    renewal.update(status="invoiced", owner_invoice=int(data["invoice_id"]), amount=str(data["amount"]))
    # An invoice's lines and notes are not messages (the executor knows the invoice by its notes): they
    # are written once, in English, naming the service and the owner as the grant knows them.
    line = f"Renewal of {name} for {owner} (settles their invoice #{renewal['owner_invoice']})"
    params = {
        "client_id": grant["delegate"],
        "lines": [[line, renewal["amount"]]],
        # The notes (which the client sees) name the renewal: the executor recognises the invoice by them.
        "notes": f"Delegated renewal {renewal['n']}, grant {grant['id']}: paying this invoice settles invoice #{renewal['owner_invoice']} of {owner}.",
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
    """Step 2: the delegate's invoice paid settles the owner's, once; cancelled or refunded is handled."""
    invoice = as_int(data.get("invoiceid"))
    renewal = next((r for r in grant.get("renewals", []) if r.get("delegate_invoice") == invoice), None)
    if renewal is None:
        return None
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    if kind == "InvoicePaid" and renewal["status"] == "invoiced":
        renewal.update(status="settled", paid=at)
        record(
            grant, at, "renewal", service=renewal["service"], invoice=invoice, owner_invoice=renewal["owner_invoice"]
        )
        grant["history"].append({"at": at, "what": f"renewal {n} paid by the delegate", "by": "bridge"})
        settle = act(
            grant,
            "settle_invoice",
            f"renew:{n}:settle",
            {"invoice_id": renewal["owner_invoice"], "amount": renewal["amount"]},
            grant["owner"],
            guard={"invoices_open": [renewal["owner_invoice"]]},
        )
        settled = message(
            "delegation.renewal_settled_note",
            **about_grant(grant, invoice=str(invoice), owner_invoice=str(renewal["owner_invoice"])),
        )
        told = act(grant, "client_note", f"renew:{n}:note", note(settled), grant["owner"])
        return Decision(state=grant, actions=[settle, told], refs=grant_refs(grant))
    if kind == "InvoiceCancelled" and renewal["status"] == "invoiced":
        renewal.update(status="cancelled", cancelled=at)
        return Decision(state=grant, refs=grant_refs(grant))
    if kind == "InvoiceRefunded" and renewal["status"] == "settled":
        renewal.update(status="refunded", refunded=at)
        task = message(
            "delegation.renewal_refunded_note",
            **about_grant(grant, invoice=str(invoice), owner_invoice=str(renewal["owner_invoice"])),
        )
        return Decision(
            state=grant,
            actions=[act(grant, "client_note", f"renew:{n}:refunded", note(task, sticky=True), grant["owner"])],
            refs=grant_refs(grant),
        )
    return Decision(state=grant)
