"""Staff commands: approvals of held actions, parked events, the circuit breaker (registered on the main CLI)."""

from __future__ import annotations

import json

import click

from whmcs_bridge import staff
from whmcs_bridge.cli.common import ID, Context, existing_state, user_errors
from whmcs_bridge.clock import utcnow
from whmcs_bridge.executor.loop import reset_breaker
from whmcs_bridge.store import switches
from whmcs_bridge.store.db import Database


@click.group()
def approvals() -> None:
    """Actions held for a staff decision (needing approval, or parked after a failure)."""


@approvals.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@user_errors
def approvals_list(obj: Context, as_json: bool) -> None:
    """List the actions waiting for a decision."""
    with Database(existing_state(obj.config())) as db:
        rows = staff.awaiting(db)
    for row in rows:
        if as_json:
            line = {
                "id": row.id,
                "action_key": row.key,
                "family": row.family,
                "kind": row.kind,
                "client_id": row.client_id,
                "subject": row.subject,
                "params": row.params,
                "status": row.status,
                "error": row.error,
                "created_at": row.created_at,
            }
            click.echo(json.dumps(line, sort_keys=True, default=str))
        else:
            why = "needs approval" if row.status == "awaiting_approval" else f"parked: {row.error}"
            click.echo(f"#{row.id} {row.family} {row.kind} {row.subject or ''} {json.dumps(row.params, sort_keys=True)} ({why})")
    if not rows and not as_json:
        click.echo("nothing is waiting for a decision")


def _decide(obj: Context, action_id: int, approve: bool, by: str, reason: str) -> None:
    with Database(existing_state(obj.config())) as db:
        result = staff.decide(db, action_id, approve=approve, by=by, reason=reason, now=utcnow())
    click.echo(f"action #{result['id']} {result['key']} is now {result['status']}")


@approvals.command("approve")
@click.argument("action_id", type=ID)
@click.option("--by", required=True, help="Who approves (recorded in the audit chain).")
@click.option("--reason", default="", help="Why (recorded in the audit chain).")
@click.pass_obj
@user_errors
def approvals_approve(obj: Context, action_id: int, by: str, reason: str) -> None:
    """Approve a held action: it runs on the next pass."""
    _decide(obj, action_id, True, by, reason)


@approvals.command("reject")
@click.argument("action_id", type=ID)
@click.option("--by", required=True, help="Who rejects (recorded in the audit chain).")
@click.option("--reason", required=True, help="Why (recorded in the audit chain).")
@click.pass_obj
@user_errors
def approvals_reject(obj: Context, action_id: int, by: str, reason: str) -> None:
    """Reject a held action: it never runs."""
    _decide(obj, action_id, False, by, reason)


@click.group()
def events() -> None:
    """Inbox events a rule failed on (parked), and retrying them."""


@events.command("parked")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@user_errors
def events_parked(obj: Context, as_json: bool) -> None:
    """List parked events with the error that parked them."""
    with Database(existing_state(obj.config())) as db:
        rows = staff.parked_events(db)
    for row in rows:
        line = {k: getattr(row, k) for k in ("id", "event_id", "type", "source", "received_at", "error")}
        click.echo(
            json.dumps(line, sort_keys=True)
            if as_json
            else f"#{row.id} {row.type} {row.event_id} ({row.received_at}): {row.error}"
        )
    if not rows and not as_json:
        click.echo("no parked events")


@events.command("retry")
@click.argument("event_id", type=ID)
@click.option("--by", required=True, help="Who asks for the retry (recorded in the audit chain).")
@click.pass_obj
@user_errors
def events_retry(obj: Context, event_id: int, by: str) -> None:
    """Put a parked event back in the queue (after fixing the rule or the config)."""
    with Database(existing_state(obj.config())) as db:
        staff.retry_event(db, event_id, by=by, now=utcnow())
    click.echo(f"event #{event_id} is pending again")


@click.group()
def breaker() -> None:
    """The circuit breaker that holds destructive actions."""


@breaker.command("status")
@click.pass_obj
@user_errors
def breaker_status(obj: Context) -> None:
    """Say whether destructive actions are held, and why."""
    with Database(existing_state(obj.config())) as db:
        tripped = switches.get(db, switches.BREAKER)
    if tripped is None:
        click.echo(f"closed: destructive actions run (limit {obj.config().safety.max_destructive_per_hour} an hour)")
    else:
        click.echo(f"TRIPPED: destructive actions are held: {json.dumps(tripped)}")


@breaker.command("reset")
@click.option("--by", required=True, help="Who resets it (recorded in the audit chain).")
@click.pass_obj
@user_errors
def breaker_reset(obj: Context, by: str) -> None:
    """Let destructive actions run again (after checking the rules and the outbox)."""
    with Database(existing_state(obj.config())) as db:
        changed = reset_breaker(db, by, utcnow())
    click.echo("breaker reset: destructive actions run again" if changed else "the breaker was not tripped")
