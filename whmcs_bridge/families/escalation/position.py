"""A case's position, from WHMCS's facts (issue 15): what the client owes now, read from its account (the
open invoices and their balances), never from the events seen. A cancelled invoice is not a payment: an
invoice that appears after others were cancelled replaces them and counts from the oldest due date of what it
replaced. One half of the escalation case (rules.py Case)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.escalation.config import EscalationSection
from whmcs_bridge.model import as_int

# Invoices that appear this long after others were cancelled do not replace them (a consolidation is made
# at once or within days; a later invoice is the next month's, counted from its own due date).
REPLACED_WITHIN = timedelta(days=7)
BRIDGE = "whmcs-bridge"  # who holds a case the bridge held itself (cancelled invoices)
# What the account read (executor/reads.py renewed_elsewhere) says of a cancelled invoice whose every line renews a
# service or domain WHMCS has since renewed past its due date: the period it billed was paid on another invoice
# (an agency's delegated renewal of it), so its debt went away by a payment.
RENEWED_ELSEWHERE = "Renewed elsewhere"
PAID = ("Paid", RENEWED_ELSEWHERE)


class AccountPosition:
    """Reads and writes the case's account, invoices and read requests (the state `s`)."""

    s: dict[str, Any]
    now: datetime
    today: date
    rules: EscalationSection

    def log(self, what: str, detail: dict[str, Any]) -> None:
        raise NotImplementedError

    def plan(self, kind: str, purpose: str, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def account_read(self, data: dict[str, Any]) -> None:
        """The account as WHMCS gives it now. An invoice gone from the open list was paid (the balance says
        how much is left), or cancelled: a cancellation is not a payment, and an invoice appearing after
        cancellations replaces them, counting from the oldest due date of what it replaced."""
        before = self.s.get("account") or {}
        replaced = self.cancelled_since(before, data.get("left") or {})
        account: dict[str, Any] = {}
        new = []
        for item in data.get("invoices") or []:
            key = str(as_int(item.get("id")))
            known = before.get(key) or {}
            account[key] = {
                "due": known.get("due") or item.get("due"),
                "own_due": item.get("due"),
                "total": str(item.get("total")),
                "balance": str(item.get("balance")),
                "status": item.get("status"),
            }
            if not known:
                new.append(key)
        if replaced and new and self.s.get("account") is not None:
            self.replace(account, new, replaced)
            replaced = None
        if replaced:
            self.s["replaced_due"] = replaced
        else:
            self.s.pop("replaced_due", None)
            self.s.pop("replaced_at", None)
        self.s["account"] = account
        self.s["read_at"] = self.today.isoformat()
        self.owe()

    def cancelled_since(self, before: dict[str, Any], left: dict[str, str]) -> str | None:
        """The invoices that left the open list since the last read: paid, or cancelled (refunded, deleted),
        whose debt did not go away by a payment. The oldest due date of those awaiting a replacement."""
        replaced = self.s.get("replaced_due")
        if replaced and self.s.get("replaced_at", self.today.isoformat()) < (self.today - REPLACED_WITHIN).isoformat():
            replaced = None  # an invoice made long after the cancellations is new business, not their replacement
            self.s.pop("cancelled", None)
        for invoice, status in sorted(left.items(), key=lambda kv: int(kv[0])):
            if invoice not in before:
                continue
            self.log(f"invoice {status.lower()}", {"invoice": int(invoice)})
            if status not in PAID:
                due = before[invoice].get("due")
                replaced = min(replaced, due) if replaced and due else (replaced or due)
                self.s.setdefault("cancelled", []).append(int(invoice))
                self.s["replaced_at"] = self.today.isoformat()
        return replaced

    def replace(self, account: dict[str, Any], new: list[str], replaced: str) -> None:
        """New invoices replace the cancelled ones: they count from the oldest due date of what they replaced,
        and a hold the bridge put on the case for the cancellations ends."""
        for key in new:
            own = account[key]["own_due"]
            account[key]["due"] = min(replaced, own) if own else replaced
            self.log("invoice replaces cancelled invoices", {"invoice": int(key), "counts_from": replaced})
        self.s.pop("cancelled", None)
        if (self.s.get("hold") or {}).get("by") == BRIDGE:
            self.s.pop("hold")
            self.log("ladder resumed: the cancelled invoices were replaced", {})

    def owe(self) -> None:
        """What the case is about now; every invoice it was ever about in this episode is remembered (the
        collections dossier lists them after they are paid, reading each from WHMCS again)."""
        self.s["invoices"] = self.owed_invoices()
        seen = self.s.setdefault("owed_ever", {})
        for key, invoice in self.s["invoices"].items():
            seen.setdefault(key, invoice.get("due"))

    def owed_invoices(self) -> dict[str, Any]:
        """The account's invoices overdue today with something left to pay: what the case is about."""
        return {
            k: v
            for k, v in (self.s.get("account") or {}).items()
            if Decimal(v["balance"]) > 0 and v.get("due") and date.fromisoformat(v["due"]) < self.today
        }

    def owed(self) -> Decimal:
        # (a case kept by an older version knew totals only, until its first read)
        return sum((Decimal(i.get("balance", i.get("total", "0"))) for i in self.s["invoices"].values()), Decimal("0"))

    def current(self) -> bool:
        return self.owed() <= Decimal(self.rules.current_below)

    def request_read(self) -> None:
        """Ask WHMCS for the client's context and account (a read the executor turns into ClientContext).
        One at a time: a read planned and not answered yet covers whatever happened before it runs (unless
        it was asked more than an hour ago: it may have failed)."""
        client = self.s.get("client_id")
        if not client:
            return
        asked = self.s.get("read_requested")
        if asked and datetime.fromisoformat(asked) > self.now - timedelta(hours=1):
            return
        self.s["reads"] = self.s.get("reads", 0) + 1
        self.s["read_requested"] = self.now.isoformat()
        known = sorted(int(i) for i in self.s.get("account") or {})
        self.plan("refresh_client", f"read:{self.s['reads']}", {"client_id": client, "known_invoices": known})
