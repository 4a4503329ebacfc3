"""What staff need to decide an approval of the ladder (pure): who, which stage and steps, how much is owed
since when, how exposed the client's own customers are (or that nobody knows), and its promises and holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def describe_step(kind: str, params: dict[str, Any]) -> str:
    """One planned step in a few words: its kind and what it acts on."""
    what = params.get("function") or params.get("reason") or params.get("status") or ""
    target = params.get("service_id") or params.get("invoice_id")
    words = [kind.replace("_", " ")]
    if what:
        words.append(str(what))
    if target:
        words.append(f"on {'service' if params.get('service_id') else 'invoice'} {target}")
    if kind in ("email", "ticket", "client_note") and isinstance(params.get("msg"), dict):
        words.append(str(params["msg"].get("id", "")))
    return " ".join(words)


def facts(state: dict[str, Any], stage: dict[str, Any] | None = None) -> dict[str, Any]:
    """The case's facts for an approval: the stage waiting (the last one reached, unless given) and the
    case's debt as the bridge knows it now. Amounts are strings, dates ISO; an unknown impact is None."""
    context = state.get("context") or {}
    invoices = state.get("invoices") or {}
    stage = stage if stage is not None else ((state.get("stages") or [None])[-1] or {})
    owed = sum((Decimal(str(i.get("balance", i.get("total")) or "0")) for i in invoices.values()), Decimal("0"))
    dues = sorted(i["due"] for i in invoices.values() if i.get("due"))
    promise = state.get("promise") or {}
    hold = state.get("hold") or {}
    return {
        "client": state.get("client_id"),
        "name": context.get("company") or context.get("name") or f"client #{state.get('client_id')}",
        "stage": stage.get("name", ""),
        "impact": stage.get("impact"),
        "amount_due": f"{owed:.2f}",
        "invoice_count": len(invoices),
        "oldest_due": dues[0] if dues else None,
        "promise": f"until {promise['until']}" + (f", {promise['amount']}" if promise.get("amount") else "")
        if promise
        else "",
        "hold": str(hold.get("reason") or "held") if hold else "",
        "broken_promises": int(state.get("broken_promises") or 0),
    }


def line(f: dict[str, Any]) -> str:
    """The facts as one line for `approvals list`."""
    impact = "impact unknown" if f["impact"] is None else f"impact {f['impact']}"
    parts = [
        f"client #{f['client']} {f['name']}",
        f"stage {f['stage']}",
        f"{f['amount_due']} due on {f['invoice_count']} invoices",
        f"oldest due {f['oldest_due'] or '-'}",
        impact,
        f"promise {f['promise']}" if f["promise"] else "no promise",
        f"{f['broken_promises']} broken",
        f"HELD: {f['hold']}" if f["hold"] else "not held",
    ]
    return ", ".join(parts)
