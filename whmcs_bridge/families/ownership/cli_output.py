"""What the ownership commands print after a change: the case's line and what it waits for, what stays in WHMCS,
and whether the decision is anchored in WHMCS's activity log."""

from __future__ import annotations

from typing import Any

import click

from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.evidence import anchor
from whmcs_bridge.families.ownership import staff as own
from whmcs_bridge.families.ownership.policies import and_words, missing_contact, to_classify
from whmcs_bridge.whmcs.api import WhmcsApi


def echo_case(c: dict[str, Any]) -> None:
    click.echo(own.line(c))
    if c["status"] == "collecting":
        missing = own.missing_evidence(c, utcnow())
        if missing:
            click.echo(f"  still needed: {'; '.join(missing)}")
        if not c.get("requester_confirmed"):
            click.echo("  waiting for the requester to confirm through its link")
    contact = missing_contact(c) if c["status"] == "review" else []
    if contact:
        click.echo(
            f"  the requester is not a WHMCS client: its {and_words(contact)} {'is' if len(contact) == 1 else 'are'} "
            "needed before the domain moves "
            f"(ownership requester-contact {c['id']} ...)"
        )
    pending = c.get("consent_confirmations") or []
    if c["status"] == "disputed" and pending:
        names = ", ".join(p["by"] for p in pending)
        click.echo(
            f"  the holder's consent after its objection is recorded by {names}: a second member of staff must "
            f"confirm it (ownership resolve {c['id']} --outcome objection-withdrawn --by NAME, or "
            f"ownership record-answer {c['id']} --party holder --answer consent --by NAME)"
        )
    if c["status"] == "executing" and c.get("backup_waiting"):
        click.echo(
            f"  every move is done; the backup hand-over waits: once sent, `ownership complete {c['id']} --by NAME "
            "--note ...` records it and completes the case"
        )
    held = c.get("requester_objection") if c["status"] == "executing" else None
    if held:
        click.echo(
            f"  the requester's objection recorded by {held['by']} holds the case: it completes once staff record the "
            f"requester's consent (ownership record-answer {c['id']} --party requester --answer consent), or cancel "
            "it once nothing sits with the requester"
        )
    echo_left(c)
    for r in c.get("replies", []):
        if not r.get("classified"):
            click.echo(f"  to classify: {to_classify(c, r)}")


def echo_left(c: dict[str, Any]) -> None:
    """A closed case's steps the bridge ran in WHMCS, which stay there until staff put them back."""
    left = c.get("left_in_whmcs") if c["status"] in ("cancelled", "rejected") else None
    if left:
        click.echo(f"  still in WHMCS for staff to undo: {', '.join(left)} (a staff ticket says how)")


def anchor_now(config: Any, db: Any) -> str | None:
    """A decision is anchored in WHMCS's activity log before the command returns (not at the next pass);
    WHMCS unreachable: the decision stands, and the daemon's next pass anchors it. None: nothing to anchor."""
    try:
        point = anchor.anchor_if_due(db, WhmcsApi.from_config(config), utcnow())
    except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
        return (
            f"  the audit chain is not anchored in WHMCS yet ({exc}): the decision stands, and the bridge's "
            "next pass anchors it"
        )
    if point is None:
        return None
    where = f"entry {point.anchor_id}" if point.anchor_id else "an entry whose id was not found back"
    return f"  anchored in WHMCS's activity log ({where}, {point.count} audit rows)"


def echo_anchor(line: str | None) -> None:
    if line is not None:
        click.echo(line, err="not anchored" in line)
