"""`whmcs-bridge delegations ...`: per-service technical and administrative contacts (registered on the main CLI)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import click

from whmcs_bridge.cli.common import (
    ID,
    JSON_LIST,
    JSON_OBJECT,
    WORDS,
    Context,
    Group,
    echo_json,
    echo_list,
    note_if_disabled,
    open_state,
    user_errors,
)
from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import UsageProblem
from whmcs_bridge.families.delegation import staff as dg
from whmcs_bridge.whmcs.api import WhmcsApi


class GrantId(click.ParamType):
    """A grant's id as printed by `delegations list`; spaces around it (a pasted id) are not part of it."""

    name = "GRANT_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text:
            self.fail("give a grant id (`whmcs-bridge delegations list` shows them)", param, ctx)
        return text


LONGEST_GRANT = timedelta(days=3650)  # as far ahead as a configured duration may reach (config: 10 years)

GRANT_ID = GrantId()


@click.group(cls=Group)
def delegations() -> None:
    """Contact delegation: a webmaster or agency acting on services its end clients own."""


@delegations.command("list")
@click.option("--owner", type=ID, default=None, help="Only grants on this client's services.")
@click.option("--delegate", type=ID, default=None, help="Only grants held by this client.")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def list_grants(obj: Context, owner: int | None, delegate: int | None, as_json: bool) -> None:
    """List grants: who acts on what, for whom, since when, and their status."""
    with open_state(obj.config()) as db:
        rows = dg.grants(db, owner=owner, delegate=delegate)
    echo_list(obj.config(), "delegation", rows, as_json, dg.line, "no grants")


@delegations.command("show")
@click.argument("grant_id", type=GRANT_ID)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def show(obj: Context, grant_id: str, as_json: bool) -> None:
    """One grant with its history."""
    note_if_disabled(obj.config(), "delegation")
    with open_state(obj.config()) as db:
        g = dg.grant(db, grant_id)
    if as_json:
        echo_json(g)
        return
    for text in dg.show(g, obj.config().zone):
        click.echo(text)
    # What WHMCS says now that the grant no longer matches (an item moved, a side closed): read, not remembered.
    for text in dg.whmcs_now(WhmcsApi.from_config(obj.config()), g):
        click.echo(f"  WHMCS now: {text}")


@delegations.command("templates")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def templates(obj: Context, as_json: bool) -> None:
    """Email templates WHMCS sent to owners that the bridge does not know (never copied), with how to list them."""
    config = obj.config()
    note_if_disabled(config, "delegation")
    with open_state(config) as db:
        unknown = dg.unknown_templates(db)
    if as_json:
        echo_json(unknown)
        return
    for text in [dg.unknown_template_line(t, config.zone) for t in unknown] or ["no email template left unclassified"]:
        click.echo(text)


@delegations.command("grant")
@click.option("--owner", type=ID, required=True, help="The client who owns the services (the end client).")
@click.option(
    "--delegate", type=ID, required=True, help="The client who will act on them (the webmaster's own account)."
)
@click.option("--service", "services", type=ID, multiple=True, help="A service id (repeatable).")
@click.option("--domain", "domains", type=ID, multiple=True, help="A domain id (repeatable).")
@click.option("--whole-client", is_flag=True, help="Every service and domain of the owner.")
@click.option(
    "--role",
    type=click.Choice(["technical", "administrative"]),
    default="technical",
    show_default=True,
    help="The role, whose rights come from the configuration.",
)
@click.option("--by", type=WORDS, required=True, help="Staff member granting it (or, with --request, who asks).")
@click.option(
    "--basis",
    type=WORDS,
    required=True,
    help="On what basis (e.g. 'owner's email of 2026-11-20'), or the delegate's reason; one line, no control characters.",
)
@click.option(
    "--request",
    is_flag=True,
    help="The delegate asks: the grant waits for the owner's consent through a one-time link.",
)
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The last day of the grant, today or later: it ends at the end of that day, in the configured time "
    "zone [default: delegation.default_expiry, else never].",
)
@click.pass_obj
@user_errors
def grant(
    obj: Context,
    owner: int,
    delegate: int,
    services: tuple[int, ...],
    domains: tuple[int, ...],
    whole_client: bool,
    role: str,
    by: str,
    basis: str,
    request: bool,
    expires: Any,
) -> None:
    """Make a client the technical or administrative contact of another client's services (with
    --request: ask the owner, who accepts or declines through a one-time link). WHMCS is read first: both
    clients must exist and each service or domain must be the owner's. Granted by staff over the delegate's
    pending request for the same services, it supersedes the request (withdrawn; the delegate is told)."""
    if whole_client and (services or domains):
        # Staff meant one of the two: a whole-account grant silently dropping the item typed gives far more.
        named = "--service" if services else "--domain"
        raise UsageProblem(f"--whole-client is every service and domain of the owner: give it or {named}, not both")
    if expires is not None and expires.date() > date.today() + LONGEST_GRANT:
        # The timers that end it and remind of it must be reckonable (a date near 9999 overflowed them).
        raise UsageProblem(
            f"--expires {expires.date().isoformat()} is more than 10 years away: give a nearer last day, or no "
            "--expires for a grant that lasts until it is revoked"
        )
    items = [{"kind": "service", "id": s} for s in services] + [{"kind": "domain", "id": d} for d in domains]
    if whole_client:
        items.append({"kind": "client", "id": owner})
    config = obj.config()
    with open_state(config, changes=True) as db:
        grant_id = dg.new_grant(
            config,
            db,
            owner=owner,
            delegate=delegate,
            role=role,
            items=items,
            by=by,
            basis=basis,
            expires=end_of_day(expires.date(), config.zone) if expires else None,
            now=utcnow(),
            api=WhmcsApi.from_config(config),
            request=request,
        )
        click.echo(dg.line(dg.grant(db, grant_id)))
        request_id = dg.superseded_by(db, grant_id)
        if request_id:
            click.echo(
                f"request {request_id} withdrawn: grant {grant_id} supersedes it (the delegate is told its request was replaced)"
            )


@delegations.command("revoke")
@click.argument("grant_id", type=GRANT_ID)
@click.option("--by", type=WORDS, required=True, help="Who revokes it: 'owner' (at the owner's request) or a staff member.")
@click.option("--reason", type=WORDS, required=True, help="Why (recorded, and told to both sides).")
@click.pass_obj
@user_errors
def revoke(obj: Context, grant_id: str, by: str, reason: str) -> None:
    """End a grant at once: copies and support authority stop; both sides are told."""
    config = obj.config()
    with open_state(config, changes=True) as db:
        click.echo(dg.line(dg.revoke(config, db, grant_id, by=by, reason=reason, now=utcnow())))


@delegations.command("withdraw")
@click.argument("grant_id", type=GRANT_ID)
@click.option("--by", type=WORDS, required=True, help="Who withdraws it: the delegate's contact, or staff for them.")
@click.option("--reason", type=WORDS, required=True, help="Why (recorded, and told to the owner).")
@click.pass_obj
@user_errors
def withdraw(obj: Context, grant_id: str, by: str, reason: str) -> None:
    """Withdraw a pending request (grant --request) before the owner answers: the owner is told, and its
    consent link no longer does anything."""
    config = obj.config()
    with open_state(config, changes=True) as db:
        click.echo(dg.line(dg.withdraw(config, db, grant_id, by=by, reason=reason, now=utcnow())))


@delegations.command("renew")
@click.argument("grant_id", type=GRANT_ID)
@click.option(
    "--service",
    type=ID,
    default=None,
    help="Which granted service [default: the grant's first service]; on a whole-account grant, any of the "
    "owner's services (WHMCS is asked whether the owner holds it).",
)
@click.option(
    "--domain",
    type=ID,
    default=None,
    help="Which granted domain (on a whole-account grant, any of the owner's), to renew a domain instead.",
)
@click.option("--by", type=WORDS, required=True, help="Who asks (the delegate's contact, or staff for them).")
@click.pass_obj
@user_errors
def renew(obj: Context, grant_id: str, service: int | None, domain: int | None, by: str) -> None:
    """Renew one granted service (or domain) for its owner, invoiced to the delegate: the delegate's invoice
    bills exactly the period of the owner's invoice line (a domain without one: one registration period at
    WHMCS's price); when the delegate pays, it is renewed once and its line comes off the owner's invoice.
    Refused while a renewal invoice for the same item is open in WHMCS, through this grant or another one.
    A delegate's [renew] in a ticket invoices nothing: it is emailed its renewal page link; this command is how
    staff renew for it (when it asks in a ticket and cannot use the page, say)."""
    if service is not None and domain is not None:
        raise click.UsageError("give --service or --domain, not both")
    config = obj.config()
    with open_state(config, changes=True) as db:
        api = WhmcsApi.from_config(config)
        g = dg.renew(config, db, grant_id, by=by, service=service, domain=domain, now=utcnow(), api=api)
    last = g.get("renewals", [])[-1]
    which = f"renewal {last['n']} of grant {grant_id}"
    if last["status"] == "refused":  # decided already, from what the bridge knows
        click.echo(f"{which} refused: {last.get('reason')}")
        return
    # Only the next pass knows, from WHMCS, whether the delegate is invoiced, the request refused or staff asked.
    click.echo(
        f"{which} asked; the next pass reads WHMCS and decides whether the delegate is invoiced, the request "
        f"refused or staff asked (`whmcs-bridge delegations show {grant_id}` says which)"
    )


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """A day given on the command line means the whole of it: its last second in the configured zone (so
    `--expires` today is the end of today, not its midnight, already past)."""
    return datetime.combine(day + timedelta(days=1), time(0), zone) - timedelta(seconds=1)


group = delegations  # what the command line registers (families/__init__.py)
