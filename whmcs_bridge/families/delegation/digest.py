"""The owner digest: one email per grant whose delegate acted, as often as delegation.digest_every, saying
what the delegate did on the owner's behalf (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import DIGEST, FAMILY, about_grant, grant_refs, notice
from whmcs_bridge.model import Action, Decision, action_key, message

# Activity recorded before the digest kept its facts apart (a sentence in English): read by its opening.
OLD_WORDING = {"received a copy": "copy", "wrote to support": "ticket", "renewed": "renewal"}


def digest(
    grants: dict[str, dict[str, Any]], timer: dict[str, Any], now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """An email to the owner for each grant whose delegate acted since the last digest; then start over."""
    out: dict[str, Decision] = {}
    actions: list[Action] = []
    since = timer.get("last") or None  # an instant: the digest writes its day in the configured zone
    for key, grant in sorted(grants.items()):
        if not grant.get("activity"):
            continue
        owner = grant["owner"]
        summary = message("delegation.digest", **about_grant(grant, since=since, **activity(grant["activity"])))
        grant["activity"] = []  # all of it is in this digest
        # The grant's own count of digests names this one: a digest every hour is one action each (a key by the day
        # made the day's second one a duplicate, dropped with its activity), and the same Tick decided again after a
        # crash (the same state) makes the same key.
        grant["digests"] = int(grant.get("digests") or 0) + 1
        out[key] = Decision(state=grant, refs=grant_refs(grant))
        actions.append(
            Action(
                key=action_key(FAMILY, f"owner:{owner}", f"digest:{grant['id']}:{grant['digests']}"),
                family=FAMILY,
                kind="email",
                params=notice(owner, summary),
                client_id=owner,
                subject=f"owner:{owner}",
            )
        )
    every = rules.digest_every
    out[DIGEST] = Decision(
        state={"last": now.isoformat(timespec="seconds")},
        actions=actions,
        due_at=now + every if every else None,
        refs=["digest-timer"],
    )
    return out


def activity(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The digest's fields from what a delegate did: copies received (and of which emails), tickets
    answered as the owner's contact, services and domains renewed (and those whose renewal was then refunded)."""
    kinds = [kind_of(e) for e in entries]
    emails = [str(e["email"]) for e, k in zip(entries, kinds, strict=True) if k == "copy" and e.get("email")]
    refunds = {e.get("invoice") for e, k in zip(entries, kinds, strict=True) if k == "refund"}
    renewed = [
        subject(e)
        for e, k in zip(entries, kinds, strict=True)
        if k == "renewal" and (e.get("service") or e.get("domain")) and (e.get("invoice") not in refunds)
    ]
    refunded = [subject(e) for e, k in zip(entries, kinds, strict=True) if k == "refund"]
    return {
        "copies": kinds.count("copy"),
        "emails": "; ".join(dict.fromkeys(emails)),
        "tickets": kinds.count("ticket"),
        "renewed": list(dict.fromkeys(renewed)),
        # Renewed, then its payment refunded (in this digest's period or an earlier one's): not "paid for it".
        "refunded": list(dict.fromkeys(refunded)),
    }


def subject(entry: dict[str, Any]) -> str:
    return f"service:{entry['service']}" if entry.get("service") else f"domain:{entry['domain']}"


def kind_of(entry: dict[str, Any]) -> str:
    what = str(entry.get("what") or "")
    return next((kind for opening, kind in OLD_WORDING.items() if what.startswith(opening)), what)
