"""What a ticket or an email names: domain names found in free text, and the read that asks WHMCS who
owns them, for the families that act on what a text names (pure)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Action, Decision, action_key, as_int

DOMAIN_NAME = re.compile(r"(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b", re.IGNORECASE)
# Characters that look like '-' (phones and word processors type U+2011 or a dash): read as the hyphen they show,
# else 'boulangerie\u2011dupont.fr' reads as 'dupont.fr', another client's domain. NFKC has already folded the
# full-width and small hyphen-minus; these are the look-alikes it leaves (dashes are Unicode's category Pd).
HYPHENS = "\u2212\u2043\u02d7\u2796\u2e3a\u2e3b"
# What may come right before a name: the text's start, a space, or punctuation that opens or separates (a URL's
# '/' and ':', brackets, quotes). After any other character the name is part of a longer word, never read alone.
BEFORE_NAME = set("/\\([{<>,;:!?*|\"'«»“”„‘’‚‹›")


def plain(text: str) -> str:
    """The text as a reader sees it: NFKC (full-width letters and dots, U+3002 the ideographic full stop), every
    dash or look-alike hyphen as '-', invisible characters (zero-width, soft hyphen, joiners) removed."""
    text = unicodedata.normalize("NFKC", text).replace("\u3002", ".")
    return "".join(
        "-" if c in HYPHENS or unicodedata.category(c) == "Pd" else c for c in text if unicodedata.category(c) != "Cf"
    )


def domain_names(*texts: str) -> list[str]:
    """The distinct domain names in the texts, lower case, without www., at most 20; file names and
    email addresses are not domains."""
    found: list[str] = []
    for text in texts:
        read = re.sub(r"[<>\"'=]", " ", plain(text or ""))
        for hit in DOMAIN_NAME.finditer(read):
            before = read[hit.start() - 1] if hit.start() else " "
            if not (before.isspace() or before in BEFORE_NAME):
                continue  # 'boulangerie·dupont.fr': a longer name, not dupont.fr
            name = hit.group(1).lower().rstrip(".").removeprefix("www.")  # the site's name is the service's domain
            if "@" not in name and name not in found and not name.endswith((".php", ".html", ".png", ".jpg")):
                found.append(name)
    return found[:20]


def ask_owners(family: str, key: str, data: dict[str, Any], names: list[str], now: datetime, **extra: Any) -> Decision:
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
