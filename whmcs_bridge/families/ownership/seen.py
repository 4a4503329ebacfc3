"""What WHMCS shows now of an executing case's hand-over (facts over memory), in words: which steps the case
still waits for and what a read found, for `ownership show` and `ownership record-step` (staff did the step
by hand); the read itself is whmcs_reads.whmcs_now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from whmcs_bridge.families.ownership.policies import ref
from whmcs_bridge.whmcs.whois import detail_of

# What staff name with `record-step --step`: the execution step kind it stands for (a move is no step).
STEPS = {"registrant": "registrant_update", "move": "move"}
# The registrant's details staff read to recognise who it is.
NAMING = ("first_name", "last_name", "name", "company", "email")


@dataclass(frozen=True)
class Seen:
    """One step of one subject as WHMCS shows it now: done or not, and what was read, in words."""

    step: str  # "registrant" or "move"
    subject: str  # "domain:20"
    done: bool
    read: str
    facts: dict[str, Any] = field(default_factory=dict)  # what the case records of the read


def pending(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (step, subject) pairs the case still waits for: moves not seen with the new holder on the last
    read, registrant updates not done."""
    out: list[tuple[str, dict[str, Any]]] = []
    for s in (s for s in case["subjects"] if s.get("hand_over") == "move"):
        if not (s.get("moved_to") and s.get("owner_now") == s["moved_to"]):
            out.append(("move", s))
        steps = case.get("steps", {}).values()
        if any(e["kind"] == "registrant_update" and e["subject"] == ref(s) and e["status"] != "done" for e in steps):
            out.append(("registrant", s))
    return out


def registrant_words(block: dict[str, str]) -> str:
    """Who a WHOIS contact block names, as staff read it."""
    shown = [v for k, v in block.items() if v and detail_of(k) in NAMING]
    return f"the WHOIS registrant reads {', '.join(dict.fromkeys(shown)) or 'nothing'}"
