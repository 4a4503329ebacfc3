"""How staff screens (list and show commands, the collections dossier) write the bridge's records: fields
as "name: value" words instead of JSON, instants to the minute, an action by what it says or does (pure).
`--json` keeps the records as they are, for machines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

# A terminal's escape sequence whole (CSI "ESC [ ... letter"; OSC "ESC ] ... BEL or ESC \\"; else ESC and the
# one character after it), then any other control character or bidi override alone.
CONTROLS = re.compile(
    "\x1b\\[[0-?]*[ -/]*[@-~]?|\x1b\\][^\x07\x1b]{0,200}(?:\x07|\x1b\\\\)|\x1b[0-~]?"
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def safe(text: str) -> str:
    """Text from WHMCS or a person as a terminal may print it: no escape sequences, no bidi overrides."""
    return CONTROLS.sub("", text)


def one_line(text: Any) -> str:
    """Free text a person typed (a name, a basis, a reason) on one line of a staff screen: `safe`, then every other
    control, format or separator character (a newline, a zero-width space, U+2028) shown by its code point, so that
    a row stored before the CLI refused them cannot forge a line or pass for another name."""
    return "".join(
        f"<U+{ord(c):04X}>" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in safe(str(text))
    )


def value(item: Any) -> str:
    """One value: an instant to the minute, a list as "a, b", a mapping as its fields, nothing as "-"."""
    if item is None or item == "":
        return "-"
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, str) and _INSTANT.match(item):
        try:
            moment = datetime.fromisoformat(item)
        except ValueError:
            return item
        zone = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
        return moment.strftime("%Y-%m-%d %H:%M") + zone
    if isinstance(item, Mapping):
        return "(" + fields(item) + ")"
    if isinstance(item, list | tuple):
        return ", ".join(value(i) for i in item) or "-"
    return safe(str(item))


def fields(detail: Mapping[str, Any] | None) -> str:
    """A record's fields as "name: value; name: value" (names with spaces, in their order)."""
    if not detail:
        return ""
    return "; ".join(f"{str(k).replace('_', ' ')}: {value(v)}" for k, v in detail.items())


def action(params: Mapping[str, Any]) -> str:
    """What an action says or does, for a list: its subject once written, else the message it will write
    (with its facts), a module function, a suspension reason, an invoice status, a note's first line."""
    if params.get("subject"):
        return safe(str(params["subject"]))
    written = params.get("text") or params.get("message")
    if written and params.get("lang"):  # a message already written (a note has no subject): its first line
        return safe(str(written).splitlines()[0])
    planned = params.get("msg")
    if planned:
        facts = fields({k: v for k, v in (planned.get("data") or {}).items() if v not in (None, "", [])})
        return f"message {planned['id']}" + (f" ({facts})" if facts else "")
    for key in ("function", "reason", "status"):  # lock_reseller_panel, Administrative reasons, Collections
        if params.get(key):
            return str(params[key])
    text = safe(str(params.get("text") or params.get("message") or ""))
    return text.splitlines()[0] if text else ""


def money(amount: Any, currency: str | None, locale: str = "en") -> str:
    """An amount with its currency as the reader writes it ("€944.70"; "944.70" when the currency is unknown)."""
    if amount in (None, ""):
        return "-"
    if not currency:
        return str(amount)
    return format_currency(Decimal(str(amount)), currency, locale=locale)


def target(params: Mapping[str, Any]) -> str:
    """The WHMCS records an action is about ("service 12", "invoice 7"), from its ids."""
    names = ("service_id", "invoice_id", "ticket_id", "domain_id", "related_id")
    return ", ".join(f"{k[:-3]} {params[k]}" for k in names if params.get(k) not in (None, ""))
