"""A delegated renewal's billing period (pure): one billing cycle of a service, or one registration period of a
domain, on from its next due date, as WHMCS counts them."""

from __future__ import annotations

from datetime import date
from typing import Any

from whmcs_bridge.model import as_int

# WHMCS's billing cycles (GetClientsProducts `billingcycle`) and their length in months; the others (Free
# Account, One Time) do not renew.
CYCLES = {"Monthly": 1, "Quarterly": 3, "Semi-Annually": 6, "Annually": 12, "Biennially": 24, "Triennially": 36}


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


def period_of(what: str, data: dict[str, Any]) -> tuple[date | None, date | None]:
    """The period a renewal bills, from what the read found: (its next due date, the one after), or Nones."""
    found = bool(data.get("invoice_id")) or (what == "domain" and bool(data.get("priced")))
    due = date.fromisoformat(str(data["due"])) if found and data.get("due") else None
    if due is None:
        return None, None
    if what == "domain":
        return due, years_on(due, as_int(data.get("years")) or 1)
    return due, next_due(due, str(data.get("cycle") or ""))


def years_on(day: date, years: int) -> date:
    """A domain's next due date one registration period on (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
