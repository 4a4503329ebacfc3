"""Whether a one-time link still takes an answer: the consent page's rule, and the evidence check's (a file holding
a live link's token lets whoever reads it answer). One home, so that the page and the check cannot drift."""

from __future__ import annotations

import hashlib
from datetime import datetime

from whmcs_bridge.families.ownership.case import FINAL
from whmcs_bridge.store import consent, states
from whmcs_bridge.store.consent import ConsentLink
from whmcs_bridge.store.db import Database


def late_taken(db: Database, link: ConsentLink) -> bool:
    """Whether the holder's link, past its deadline, still takes an answer: while its case is open, an answer
    after the deadline is recorded as a late answer for staff, never dropped (break round 14 H6)."""
    if link.purpose != "ownership-holder" or link.used_at:
        return False
    case = states.get(db, "ownership", f"case:{link.subject}")
    return case is not None and case.get("status") not in FINAL


def takes_answers(db: Database, link: ConsentLink, now: datetime) -> bool:
    """Whether the page still takes an answer through `link` at `now`: unused, and before its deadline or past it
    taking a late answer (late_taken). The one rule of the page and of the evidence check (live)."""
    return not link.used_at and (datetime.fromisoformat(link.expires_at) > now or late_taken(db, link))


def live(db: Database, token: str, now: datetime) -> bool:
    """Whether a link's raw token (found in a file) still answers on the page (takes_answers): a file holding it
    lets whoever reads it answer (twenty-fourth round HIGH: the holder's link past its deadline still takes a late
    answer while the case is open, and was taken as dead)."""
    link = consent.by_token_hash(db, hashlib.sha256(token.encode()).hexdigest())
    return link is not None and takes_answers(db, link, now)
