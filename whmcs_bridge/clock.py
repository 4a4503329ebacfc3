"""The one place the wall clock is read, and how instants are written in the store and in WHMCS text.

Rules never call `utcnow`: the engine passes `now` in, so a decision is a function of its inputs. Tests
that play days against the sandbox WHMCS set `wall` to the sandbox's clock, so that a staff command
typed "on" a simulated day happens that day (tests/conftest.py Sandbox.travel)."""

from __future__ import annotations

from datetime import UTC, datetime


def wall() -> datetime:
    """The machine's clock, in UTC."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Now, in UTC, to the second (what the store and the audit chain record)."""
    return wall().replace(microsecond=0)


def iso(moment: datetime) -> str:
    """An instant as the store writes it: ISO 8601 to the second, in UTC (the store compares instants as text,
    so one written with another offset would sort wrong). A naive time (WHMCS's local time) is kept as it is."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).isoformat(timespec="seconds")
