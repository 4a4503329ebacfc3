"""The owner digest: one email per owner, as often as delegation.digest_every, listing what each delegate did (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import DIGEST, FAMILY, describe, grant_refs, notice
from whmcs_bridge.model import Action, Decision, action_key


def digest(
    grants: dict[str, dict[str, Any]], timer: dict[str, Any], now: datetime, rules: DelegationSection
) -> dict[str, Decision]:
    """One email per owner listing what each delegate did since the last digest; then start over."""
    out: dict[str, Decision] = {}
    by_owner: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for key, grant in grants.items():
        if grant.get("activity"):
            by_owner.setdefault(grant["owner"], []).append((key, grant))
    actions: list[Action] = []
    period = timer.get("last", "")[:10]
    for owner, items in sorted(by_owner.items()):
        sections = []
        for key, grant in items:
            who = grant.get("delegate_name") or f"client #{grant['delegate']}"
            lines = "".join(f"<li>{e['at'][:10]}: {e['what']}</li>" for e in grant["activity"])
            sections.append(
                f"<h3>{who}, {grant['role']} contact for {describe(grant)} (grant #{grant['id']}, {grant['status']})</h3><ul>{lines}</ul>"
            )
            grant["activity"] = []
            out[key] = Decision(state=grant, refs=grant_refs(grant))
        html_body = f"<p>Since {period}, your contacts acted on your behalf as follows.</p>{''.join(sections)}<p>To end a contact's access, reply to this email.</p>"
        digest_key = action_key(FAMILY, f"owner:{owner}", f"digest:{now.date().isoformat()}")
        actions.append(
            Action(
                key=digest_key,
                family=FAMILY,
                kind="email",
                params=notice(owner, "What your contacts did on your behalf", html_body),
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
