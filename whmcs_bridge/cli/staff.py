"""Staff commands: approvals of held actions, parked events, the circuit breaker (registered on the main CLI)."""

from __future__ import annotations

import json

import click

from whmcs_bridge import staff
from whmcs_bridge.cli.common import ID, JSON_LIST, JSON_OBJECT, Context, echo_json, existing_state, user_errors
from whmcs_bridge.clock import utcnow
from whmcs_bridge.executor.loop import reset_breaker
from whmcs_bridge.store import switches
from whmcs_bridge.store.db import Database


@click.group()
def approvals() -> None:
    """Actions held for a staff decision (needing approval, or parked after a failure)."""


@approvals.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def approvals_list(obj: Context, as_json: bool) -> None:
    """List the actions waiting for a decision."""
    with Database(existing_state(obj.config())) as db:
        rows = staff.awaiting(db)
    if as_json:
        fields = ("id", "key", "family", "kind", "client_id", "subject", "params", "status", "error", "created_at")
        echo_json([{"action_key" if f == "key" else f: getattr(row, f) for f in fields} for row in rows])
        return
    for row in rows:
        why = "needs approval" if row.status == "awaiting_approval" else f"parked: {row.error}"
        click.echo(f"#{row.id} {row.family} {row.kind} {row.subject or ''} {json.dumps(row.params, sort_keys=True)} ({why})")
    if not rows:
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
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def events_parked(obj: Context, as_json: bool) -> None:
    """List parked events with the error that parked them."""
    with Database(existing_state(obj.config())) as db:
        rows = staff.parked_events(db)
    if as_json:
        echo_json([{k: getattr(row, k) for k in ("id", "event_id", "type", "source", "received_at", "error")} for row in rows])
        return
    for row in rows:
        click.echo(f"#{row.id} {row.type} {row.event_id} ({row.received_at}): {row.error}")
    if not rows:
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
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def breaker_status(obj: Context, as_json: bool) -> None:
    """Say whether destructive actions are held, and why."""
    with Database(existing_state(obj.config())) as db:
        tripped = switches.get(db, switches.BREAKER)
    limit = obj.config().safety.max_destructive_per_hour
    if as_json:
        echo_json({"tripped": tripped is not None, "detail": tripped, "max_destructive_per_hour": limit})
    elif tripped is None:
        click.echo(f"closed: destructive actions run (limit {limit} an hour)")
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
