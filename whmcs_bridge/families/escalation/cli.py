"""`whmcs-bridge escalations ...`: the overdue ladder for staff (registered on the main CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from whmcs_bridge import readable
from whmcs_bridge.cli.common import (
    ID,
    JSON_LIST,
    JSON_OBJECT,
    Context,
    Group,
    echo_json,
    echo_list,
    note_if_disabled,
    open_state,
    parse_at,
    user_errors,
)
from whmcs_bridge.clock import utcnow
from whmcs_bridge.evidence import keys
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.families.escalation import dossier
from whmcs_bridge.families.escalation import staff as esc
from whmcs_bridge.whmcs.api import WhmcsApi


@click.group(cls=Group)
def escalations() -> None:
    """The overdue reseller ladder: cases, promises, holds, letters and the collections dossier."""


@escalations.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.option("--all", "show_all", is_flag=True, help="Also clients whose case is closed.")
@click.pass_obj
@user_errors
def list_cases(obj: Context, as_json: bool, show_all: bool) -> None:
    """Clients on the ladder: stage, days overdue, amount due, impact, next stage, holds and promises."""
    config = obj.config()
    now = utcnow()
    with open_state(config) as db:
        rows = [
            esc.summary(config, db, client_id, state, now)
            for client_id, state in esc.cases(db)
            if show_all or state.get("invoices") or state.get("hold")
        ]
    echo_list(config, "escalation", rows, as_json, case_line, "no client is on the ladder")


def case_line(row: dict[str, Any]) -> str:
    """One client on the ladder, for `escalations list`."""
    pauses = []
    if row["hold"]:
        pauses.append(f"HELD: {row['hold']}")
    if row["promise_until"]:
        pauses.append(f"promise until {row['promise_until']}")
    if row["broken_promises"]:
        pauses.append(f"{row['broken_promises']} broken promise(s)")
    if row["pending_approvals"]:
        pauses.append(f"{row['pending_approvals']} action(s) awaiting approval")
    if row.get("rejected"):
        pauses.append(
            f"stage {row['stage']} rejected by {row['rejected'].get('by')}: skip-stage, hold or close decides what next"
        )
    if row.get("awaits_delivery"):
        pauses.append("waits for the registered letter's delivery (record-letter --delivered)")
    if row.get("stopped"):
        pauses.append(f"closed by {row['stopped'].get('by')}: {row['stopped'].get('reason')}")
    nxt = (
        f"next {row['next_stage']} on {row['next_at']}"
        if row["next_stage"] and row["next_at"]
        else "no further stage scheduled"
    )
    impact = row["impact"] if row["impact"] is not None else "unknown"
    return (
        f"#{row['client_id']} {row['client']}: stage {row['stage'] or '-'}, {row['days_overdue']} days overdue, "
        f"{row['amount_due']} due on {row['invoices']} invoice(s), impact {impact}; {nxt}"
        + (f" ({'; '.join(pauses)})" if pauses else "")
    )


@escalations.command("show")
@click.argument("client_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def show(obj: Context, client_id: int, as_json: bool) -> None:
    """One client's timeline and every action with its outcome."""
    note_if_disabled(obj.config(), "escalation")
    with open_state(obj.config()) as db:
        state = esc.case(db, client_id)
        actions = esc.notices(db, client_id)
    if as_json:
        echo_json({"client_id": client_id, "timeline": state.get("timeline", []), "actions": actions})
        return
    for entry in state.get("timeline", []):
        click.echo(f"{readable.value(entry['at'])}  {entry['what']} {readable.fields(entry.get('detail'))}".rstrip())
    click.echo("actions:")
    for action in actions:
        proof = " ".join(f"{k}={v}" for k, v in action["proof"].items())
        click.echo(
            f"  #{action['id']} {action['kind']:<14} {action['status']:<17} {action['what'][:60]} {proof}".rstrip()
        )


def _command(obj: Context, client_id: int, data: dict[str, Any], at: str | None = None) -> None:
    config = obj.config()
    now = parse_at(at) if at else utcnow()
    with open_state(config, changes=True) as db:
        esc.command(config, db, client_id, data, now)
        row = esc.summary(config, db, client_id, esc.case(db, client_id), now)
    click.echo(
        f"client #{client_id}: {data['command']} recorded; next: {row['next_stage'] or '-'} on {row['next_at'] or '-'}"
    )


@escalations.command("promise")
@click.argument("client_id", type=ID)
@click.option(
    "--until",
    "until",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The date the client promised to pay by (YYYY-MM-DD).",
)
@click.option("--amount", required=True, help="The amount promised (e.g. 500.00): paying at least this by the date keeps it.")
@click.option("--note", default="", help="How and by whom the promise was made.")
@click.option("--by", required=True, help="Staff member recording it.")
@click.option(
    "--at", "at", default=None, help="When the promise was made, ISO-8601 [default: now]; its date is checked against that day."
)
@click.option("--replace", is_flag=True, help="Replace the client's open promise, which then counts as broken.")
@click.pass_obj
@user_errors
def promise(
    obj: Context, client_id: int, until: Any, amount: str, note: str, by: str, at: str | None, replace: bool
) -> None:
    """Hold the ladder until a date: kept if the balance went down by the amount by then, else recorded as
    broken and the ladder resumes. Refused for past dates, dates beyond escalation.promise_horizon_days,
    amounts above what is owed, after escalation.max_broken_promises broken promises, and while another
    promise is open (unless --replace)."""
    data = {"command": "promise", "until": until.date().isoformat(), "amount": amount, "note": note, "by": by}
    _command(obj, client_id, {**data, "replace": replace} if replace else data, at)


@escalations.command("hold")
@click.argument("client_id", type=ID)
@click.option("--reason", required=True, help="Why (a dispute, a staff decision...); not empty: `list` shows it.")
@click.option("--by", required=True, help="Staff member holding it.")
@click.pass_obj
@user_errors
def hold(obj: Context, client_id: int, reason: str, by: str) -> None:
    """Freeze the ladder for this client until `resume`."""
    _command(obj, client_id, {"command": "hold", "reason": reason, "by": by})


@escalations.command("resume")
@click.argument("client_id", type=ID)
@click.option("--by", required=True, help="Staff member resuming it.")
@click.pass_obj
@user_errors
def resume(obj: Context, client_id: int, by: str) -> None:
    """Let a held ladder go on."""
    _command(obj, client_id, {"command": "resume", "by": by})


@escalations.command("skip-stage")
@click.argument("client_id", type=ID)
@click.option("--reason", required=True, help="Why the stage is skipped (recorded in the case and the audit chain).")
@click.option("--by", required=True, help="Staff member deciding.")
@click.pass_obj
@user_errors
def skip_stage(obj: Context, client_id: int, reason: str, by: str) -> None:
    """Count the stage waiting (rejected, or stuck) as done today: the next stage follows after its days."""
    _command(obj, client_id, {"command": "skip_stage", "reason": reason, "by": by})


@escalations.command("close")
@click.argument("client_id", type=ID)
@click.option("--reason", required=True, help="Why the ladder stops (recorded in the case and the audit chain).")
@click.option("--by", required=True, help="Staff member deciding.")
@click.pass_obj
@user_errors
def close(obj: Context, client_id: int, reason: str, by: str) -> None:
    """Stop the ladder for this client: no further stage; what was done stays (undone when the client pays)."""
    _command(obj, client_id, {"command": "close", "reason": reason, "by": by})


@escalations.command("record-letter")
@click.argument("client_id", type=ID)
@click.option("--tracking", required=True, help="The registered letter's tracking number.")
@click.option(
    "--delivered",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day it was delivered (YYYY-MM-DD), again with the same --tracking once known: a stage with "
    "wait_for_delivery waits for it, and its deadline counts from it.",
)
@click.option("--note", default="", help="Anything else worth keeping (post office, date sent).")
@click.option("--by", required=True, help="Staff member who sent it.")
@click.pass_obj
@user_errors
def record_letter(obj: Context, client_id: int, tracking: str, delivered: Any, note: str, by: str) -> None:
    """Keep the proof of a registered letter (and its delivery) in the case and the dossier."""
    data = {"command": "letter", "tracking": tracking, "note": note, "by": by}
    if delivered is not None:
        data["delivered"] = delivered.date().isoformat()
    _command(obj, client_id, data)


@escalations.command("export")
@click.argument("client_id", type=ID)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="A new (or empty) folder for the dossier: its page, its data and the manifest that seals them.",
)
@click.pass_obj
@user_errors
def export(obj: Context, client_id: int, out: Path) -> None:
    """Write the collections dossier for an agency or a court: the creditor and the debtor as WHMCS holds
    it, every invoice with its number, dates, lines and balance, the payments, every notice with its
    recipient, text and WHMCS proof, the measures taken, promises, holds and staff decisions. Reads WHMCS;
    sealed (manifest.json) and recorded in the audit chain; it keeps the history after the client paid."""
    config = obj.config()
    with open_state(config, changes=True) as db:
        sealed = dossier.export(config, db, WhmcsApi.from_config(config), client_id, out, now=utcnow())
    click.echo(
        f"collections dossier of client #{client_id} written to {out}: {len(sealed.manifest['files'])} files, "
        f"signed by {sealed.manifest['signed_by']['fingerprint']}, seal {sealed.seal}"
    )


@escalations.command("verify-dossier")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The bridge's public key (PEM) to check the signature with, e.g. on a machine without the bridge "
    "[default: the key beside this bridge's state database, which must be the pinned one if a key is pinned].",
)
@click.option(
    "--against-state",
    is_flag=True,
    help="Also check that this bridge's audit chain recorded the export and holds the chain head it names.",
)
@click.pass_obj
@user_errors
def verify_dossier(obj: Context, folder: Path, public_key: Path | None, against_state: bool) -> None:
    """Check a collections dossier's signature and every file's SHA-256, and name anything changed, added
    or removed (exit 1). A dossier checked with the public key inside its own folder proves nothing: give
    the key you hold."""
    key = PublicKey.from_file(public_key) if public_key else None
    if key is None or against_state:
        config = obj.config()
        if key is None:
            key = keys.verifying_key(config)
            if key is None:
                raise click.UsageError("this bridge has no signing key beside its state: give --public-key FILE")
    if against_state:
        with open_state(obj.config()) as db:
            found = dossier.verify(folder, key, db)
    else:
        found = dossier.verify(folder, key)
    click.echo(
        f"collections dossier of client #{found.manifest['dossier']['client']} verifies: signed by "
        f"{key.fingerprint}, {len(found.manifest['files'])} files match their hashes"
        + (", and the live audit chain recorded its export" if against_state else "")
    )


group = escalations  # what the command line registers (families/__init__.py)
