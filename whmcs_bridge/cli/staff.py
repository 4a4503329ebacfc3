"""Staff commands: approvals of held actions, parked events, the circuit breaker (registered on the main CLI)."""

from __future__ import annotations

from typing import Any

import click

from whmcs_bridge import readable, staff
from whmcs_bridge.cli.common import (
    ID,
    JSON_LIST,
    JSON_OBJECT,
    Context,
    Group,
    echo_json,
    open_state,
    user_errors,
)
from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config
from whmcs_bridge.executor.breaker import reset_breaker
from whmcs_bridge.families.escalation import approval as approval_facts
from whmcs_bridge.families.escalation.staff import hold_reason
from whmcs_bridge.families.escalation.steps import FAMILY as ESCALATION
from whmcs_bridge.store import planned, states, switches
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry


@click.group(cls=Group)
def approvals() -> None:
    """Actions held for a staff decision (needing approval, or parked after a failure)."""


@approvals.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def approvals_list(obj: Context, as_json: bool) -> None:
    """List the actions waiting for a decision; a ladder's steps under what staff need to decide them (the
    client, the stage, the amount due, its invoices and oldest due date, the impact or "unknown", promises
    and holds)."""
    with open_state(obj.config()) as db:
        rows = staff.awaiting(db)
        facts = {row.id: _ladder_facts(obj.config(), db, row) for row in rows}
        edited = {row.id: planned.problem(db, row) for row in rows}  # a row the chain does not back (`approve` refuses)
    if as_json:
        fields = ("id", "key", "family", "kind", "client_id", "subject", "params", "status", "error", "created_at")
        echo_json(
            [
                {"action_key" if f == "key" else f: getattr(row, f) for f in fields}
                | {"decide_on": facts[row.id], "edited": edited[row.id]}
                for row in rows
            ]
        )
        return
    header = None
    for row in rows:
        decide_on = facts[row.id]
        if decide_on and approval_facts.line(decide_on) != header:
            header = approval_facts.line(decide_on)
            click.echo(header + ":")
        why = edited[row.id] or ("needs approval" if row.status == "awaiting_approval" else f"parked: {row.error}")
        about = ", ".join(x for x in (row.subject, readable.target(row.params)) if x)
        params = {k: v for k, v in row.params.items() if k != "outcome_to"}
        click.echo(f"#{row.id} {row.family} {row.kind} {about}: {readable.action(params)} ({why})")
    if not rows:
        click.echo("nothing is waiting for a decision")


def _ladder_facts(config: Config, db: Database, row: OutboxEntry) -> dict[str, Any] | None:
    """For a step of the overdue ladder: the case's facts at the stage the step belongs to."""
    if row.family != ESCALATION or row.client_id is None:
        return None
    case = states.get(db, ESCALATION, str(row.client_id)) or {}
    stage = next((s for s in case.get("stages") or [] if row.key in s.get("actions", [])), None)
    if stage is None:
        return None
    facts = approval_facts.facts(case, stage)
    if case.get("hold"):  # why, as staff wrote it or in their language (a hold the bridge put on)
        facts["hold"] = hold_reason(config, case["hold"])
    return facts


def _decide(obj: Context, action_id: int, approve: bool, by: str, reason: str) -> None:
    config = obj.config()
    with open_state(config, changes=True) as db:
        result = staff.decide(db, action_id, approve=approve, by=by, reason=reason, now=utcnow(), config=config)
    click.echo(f"action #{result['id']} {result['key']} is now {result['status']}")


@approvals.command("approve")
@click.argument("action_id", type=ID)
@click.option(
    "--by",
    required=True,
    help="Who approves (recorded in the audit chain): one of the configured staff where the action's family lists them.",
)
@click.option("--reason", default="", help="Why (recorded in the audit chain).")
@click.pass_obj
@user_errors
def approvals_approve(obj: Context, action_id: int, by: str, reason: str) -> None:
    """Approve a held action: it runs on the next pass."""
    _decide(obj, action_id, True, by, reason)


@approvals.command("reject")
@click.argument("action_id", type=ID)
@click.option(
    "--by",
    required=True,
    help="Who rejects (recorded in the audit chain): one of the configured staff where the action's family lists them.",
)
@click.option("--reason", required=True, help="Why (recorded in the audit chain).")
@click.pass_obj
@user_errors
def approvals_reject(obj: Context, action_id: int, by: str, reason: str) -> None:
    """Reject a held action: it never runs."""
    _decide(obj, action_id, False, by, reason)


@click.group(cls=Group)
def events() -> None:
    """Inbox events a rule failed on (parked), and retrying them."""


@events.command("parked")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def events_parked(obj: Context, as_json: bool) -> None:
    """List parked events with the error that parked them."""
    with open_state(obj.config()) as db:
        rows = staff.parked_events(db)
    if as_json:
        echo_json(
            [{k: getattr(row, k) for k in ("id", "event_id", "type", "source", "received_at", "error")} for row in rows]
        )
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
    with open_state(obj.config(), changes=True) as db:
        staff.retry_event(db, event_id, by=by, now=utcnow())
    click.echo(f"event #{event_id} is pending again")


@click.group(cls=Group)
def breaker() -> None:
    """The circuit breaker that holds destructive actions."""


@breaker.command("status")
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def breaker_status(obj: Context, as_json: bool) -> None:
    """Say whether destructive actions are held, and why."""
    with open_state(obj.config()) as db:
        tripped = switches.get(db, switches.BREAKER)
    limit = obj.config().safety.max_destructive_per_hour
    if as_json:
        echo_json({"tripped": tripped is not None, "detail": tripped, "max_destructive_per_hour": limit})
    elif tripped is None:
        click.echo(f"closed: destructive actions run (limit {limit} an hour)")
    else:
        click.echo(f"TRIPPED: destructive actions are held ({readable.fields(tripped)})")


@breaker.command("reset")
@click.option("--by", required=True, help="Who resets it (recorded in the audit chain).")
@click.pass_obj
@user_errors
def breaker_reset(obj: Context, by: str) -> None:
    """Release the destructive steps held now (after checking the rules and the outbox): they run, recorded
    with who released them; steps due later count against the limit again."""
    limit = obj.config().safety.max_destructive_per_hour
    with open_state(obj.config(), changes=True) as db:
        done = reset_breaker(db, by, utcnow())
    if done["released"]:
        click.echo(
            f"breaker reset by {by}: {done['released']} held destructive step(s) of {done['clients']} client(s) "
            f"released, they run on the next pass; new ones stay within {limit} clients an hour"
        )
    elif done["was_tripped"]:
        click.echo(
            f"breaker reset by {by}: nothing was held; destructive steps run again (limit {limit} clients an hour)"
        )
    else:
        click.echo("the breaker was not tripped and nothing is held: nothing to release")
