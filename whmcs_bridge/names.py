"""What a ticket or an email names: domain names found in free text, and the read that asks WHMCS who
owns them, for the families that act on what a text names (pure)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Action, Decision, action_key, as_int

DOMAIN_NAME = re.compile(r"(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b", re.IGNORECASE)


def domain_names(*texts: str) -> list[str]:
    """The distinct domain names in the texts, lower case, without www., at most 20; file names and
    email addresses are not domains."""
    found: list[str] = []
    for text in texts:
        for match in DOMAIN_NAME.findall(re.sub(r"[<>\"'=]", " ", text or "")):
            name = match.lower().rstrip(".").removeprefix("www.")  # the site's name is the service's domain
            if "@" not in name and name not in found and not name.endswith((".php", ".html", ".png", ".jpg")):
                found.append(name)
    return found[:20]


def ask_owners(
    family: str, key: str, data: dict[str, Any], names: list[str], now: datetime, **extra: Any
) -> Decision:
    """A state `key` waiting for WHMCS to say who owns what a ticket (`data`: TicketOpen's variables)
    names; the answer comes back as TicketResolved to the family that asked."""
    params = {
        "ticket_id": as_int(data.get("ticketid")),
        "writer": as_int(data.get("userid")),
        "names": names,
        "link": None,
        "state_key": key,
        **extra,
    }
    resolve = Action(
        key=action_key(family, key, "resolve"),
        family=family,
        kind="resolve_ticket",
        params=params,
        client_id=as_int(data.get("userid")),
        subject=key,
    )
    return Decision(state={"ticket": params["ticket_id"], "asked": iso(now)}, actions=[resolve])
