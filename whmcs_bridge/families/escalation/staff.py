"""Staff views of the overdue ladder: the case list, one client's timeline, staff commands as inbox
events (the collections dossier is dossier.py). Reads the store only."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from whmcs_bridge import readable, staff
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.escalation.rules import Case
from whmcs_bridge.families.escalation.steps import FAMILY
from whmcs_bridge.messages import load
from whmcs_bridge.messages.catalogue import locale_of
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.store import outbox, states
from whmcs_bridge.store.db import Database

NOTICE_KINDS = ("email", "ticket", "client_note")


AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")

def staff_locale(config: Config) -> str:
    return locale_of(config.messages.staff_language) or "en"


def cases(db: Database) -> list[tuple[int, dict[str, Any]]]:
    return sorted((int(key), state) for key, state in states.items(db, FAMILY) if key.isdigit())


def case(db: Database, client_id: int) -> dict[str, Any]:
    return staff.state(
        db,
        FAMILY,
        str(client_id),
        f"client {client_id} has no escalation case; `whmcs-bridge escalations list` shows the open ones",
    )


def summary(config: Config, db: Database, client_id: int, state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One line of `escalations list`."""
    view = Case(json.loads(json.dumps(state)), now, config.escalation, config.safety.staff_email, config.zone)
    # What is owed as the last read of WHMCS gave it: balances of the invoices overdue today.
    invoices = view.owed_invoices() if state.get("account") is not None else state.get("invoices") or {}
    total = sum((Decimal(i.get("balance", i.get("total", "0"))) for i in invoices.values()), Decimal("0"))
    oldest = min((date.fromisoformat(i["due"]) for i in invoices.values() if i.get("due")), default=None)
    context = state.get("context") or {}
    reached = state.get("stages") or []
    policy = view.current_policy()
    waiting = view.waiting_stage()  # holds the ladder: no next date until staff decide or it is done
    next_at = view.next_due_at() if invoices and waiting is None else None
    next_stage = policy.ladder[len(reached)].name if policy and len(reached) < len(policy.ladder) else None
    pending = len(outbox.entries(db, family=FAMILY, client_id=client_id, statuses=["awaiting_approval"]))
    return {
        "client_id": client_id,
        "client": readable.safe(context.get("company") or context.get("name") or ""),
        "policy": state.get("policy"),
        "stage": reached[-1]["name"] if reached else None,
        "days_overdue": (view.today - oldest).days if oldest else 0,
        "amount_due": readable.money(total, context.get("currency"), staff_locale(config)),
        "invoices": len(invoices),
        "impact": view.impact(policy) if policy else None,
        "next_stage": next_stage,
        "next_at": next_at.date().isoformat() if next_at else None,
        "hold": hold_reason(config, state.get("hold")),
        "promise_until": (state.get("promise") or {}).get("until"),
        "broken_promises": state.get("broken_promises", 0),
        "pending_approvals": pending,
        "rejected": (waiting or {}).get("rejected"),
        "awaits_delivery": bool((waiting or {}).get("awaits_delivery") and not (waiting or {}).get("delivered")),
        "stopped": state.get("stopped"),
    }


class _Unnamed:
    """Names for a staff screen that calls no WHMCS (the hold messages name records by number only)."""

    def client(self, client_id: int) -> Named:
        return Named(f"client #{client_id}", client_id)

    def service(self, service_id: int) -> Named:
        return Named(f"service #{service_id}", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named(f"domain #{domain_id}", domain_id)


def hold_reason(config: Config, hold: dict[str, Any] | None) -> str | None:
    """Why the ladder is held: as staff wrote it, or, for a hold the bridge put on, its catalogue message in
    the staff's language (a case kept by an older version has the bridge's reason in English: shown as is)."""
    if not hold:
        return None
    if hold.get("reason"):
        return readable.safe(str(hold["reason"]))
    why = hold.get("why")
    if not isinstance(why, dict):
        return "held"
    catalogue = load.for_config(config)
    reader = Reader(catalogue.staff_locale, None, config.zone)
    return catalogue.render(str(why["id"]), why.get("data") or {}, reader, _Unnamed()).body.strip()


def broken_promises(state: dict[str, Any]) -> int:
    """Promises the client broke, in this episode and the closed ones."""
    return int(state.get("broken_promises", 0)) + sum(int(h.get("broken_promises", 0)) for h in state.get("history") or [])


def check_promise(config: Config, state: dict[str, Any], client_id: int, data: dict[str, Any], now: datetime) -> None:
    """A promise names an amount (a number above 0) and a date between today and the horizon; beyond
    `max_broken_promises` broken ones, no new promise is recorded (staff may hold the ladder instead)."""
    section = config.escalation
    raw = str(data.get("amount") or "").strip()
    try:  # digits with at most two decimals: no exponent, no fraction of a cent
        amount = Decimal(raw) if AMOUNT.fullmatch(raw) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        raise BridgeError(f"--amount {raw!r} is not an amount: give what the client promised to pay, such as 500.00")
    owed = sum((Decimal(str(i.get("balance", i.get("total", "0")))) for i in (state.get("invoices") or {}).values()), Decimal(0))
    if owed > 0 and amount > owed:
        raise BridgeError(
            f"--amount {amount:.2f} is more than client {client_id} owes on its overdue invoices ({owed:.2f}): "
            "give what the client promised to pay"
        )
    open_promise = state.get("promise")
    if open_promise and not open_promise.get("kept") and not data.get("replace"):
        raise BridgeError(
            f"client {client_id} already promised {open_promise.get('amount')} by {open_promise.get('until')} "
            f"(recorded by {open_promise.get('by')}): it is kept or broken on that date; to agree a new promise "
            "now, record it with --replace, which counts the open one as broken"
        )
    until = date.fromisoformat(data["until"])
    today = now.astimezone(config.zone).date()
    if until < today:
        raise BridgeError(f"the promised date {until} is in the past (today is {today}): give the date the client will pay by")
    horizon = today + timedelta(days=section.promise_horizon_days)
    if until > horizon:
        raise BridgeError(
            f"the promised date {until} is further than {section.promise_horizon_days} days ahead "
            f"(escalation.promise_horizon_days; at most {horizon}): agree a nearer date, or hold the ladder with a reason"
        )
    broken = broken_promises(state)
    if broken >= section.max_broken_promises:
        raise BridgeError(
            f"client {client_id} has broken {broken} promise(s) (escalation.max_broken_promises: "
            f"{section.max_broken_promises}): no further promise is recorded; if staff agree to wait, "
            "hold the ladder with a reason (`whmcs-bridge escalations hold`)"
        )
    data["amount"] = f"{amount:.2f}"


def command(config: Config, db: Database, client_id: int, data: dict[str, Any], now: datetime) -> None:
    """A staff command (promise, hold, resume, letter) goes through the inbox like any event, so the
    rules decide and the audit chain records it; it is applied at once. A promise or a hold that makes no
    sense is refused with a sentence."""
    if not config.escalation.enabled:
        raise BridgeError("escalation is not enabled (escalation.enabled in the configuration)")
    state = case(db, client_id)  # the client must have a case
    if data.get("command") == "promise":
        check_promise(config, state, client_id, data, now)
    if data.get("command") == "hold" and not str(data.get("reason") or "").strip():
        raise BridgeError("a hold needs a reason (--reason): staff read it in `whmcs-bridge escalations list`")
    if data.get("command") == "hold":
        data["reason"] = str(data["reason"]).strip()
    staff.submit(
        db,
        config,
        "EscalationCommand",
        {"client_id": client_id, **data},
        by=data.get("by") or "staff",
        client_id=client_id,
        now=now,
    )


def notices(db: Database, client_id: int) -> list[dict[str, Any]]:
    out = []
    for r in outbox.entries(db, family=FAMILY, client_id=client_id):
        params, result = r.params, r.result or {}
        out.append(
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "planned": r.created_at,
                "done": r.finished_at if r.status == "done" else None,
                "what": readable.action(params),
                "channel": {"email": "email", "ticket": "ticket", "client_note": "client note"}.get(
                    r.kind, "WHMCS action"
                ),
                "proof": {k: v for k, v in result.items() if k in ("email_id", "ticket_id", "tid", "invoice_id")},
                "approval": r.decided_by,
                "error": r.error,
            }
        )
    return out
