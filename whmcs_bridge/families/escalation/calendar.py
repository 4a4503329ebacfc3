"""Business days and destructive-action windows (pure)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_business_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_days(start: date, days: int, *, business: bool, holidays: Collection[date]) -> date:
    """`days` calendar days after `start`, or `days` business days (skipping weekends and holidays)."""
    if not business:
        return start + timedelta(days=days)
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def parse_hours(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), (time(23, 59, 59) if end == "24:00" else time.fromisoformat(end))


def next_window(moment: datetime, days: Collection[str], hours: str, holidays: Collection[date]) -> datetime:
    """The first instant at or after `moment` inside the allowed days and hours (holidays excluded)."""
    start, end = parse_hours(hours)
    current = moment
    for _ in range(400):  # a year of days is more than any configuration needs
        allowed = WEEKDAYS[current.weekday()] in days and current.date() not in holidays
        if allowed and start <= current.timetz().replace(tzinfo=None) < end:
            return current
        if allowed and current.timetz().replace(tzinfo=None) < start:
            return current.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        following = (current + timedelta(days=1)).replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        current = following
    raise ValueError("no allowed day in the destructive-action window")
