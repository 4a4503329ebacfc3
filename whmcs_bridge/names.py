"""Domain names found in free text (ticket and email bodies), for the families that act on what a text names (pure)."""

from __future__ import annotations

import re

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
