"""The whmcs-bridge command line: load config, build objects, call one function, print. Errors become one sentence."""

from __future__ import annotations

import importlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from whmcs_bridge import __version__, readable, resync
from whmcs_bridge import staff as shared_staff
from whmcs_bridge.backup import make_backup
from whmcs_bridge.cli.common import (
    ID,
    JSON_LIST,
    JSON_OBJECT,
    Context,
    echo_json,
    existing_state,
    fail,
    parse_at,
    setup_logging,
    user_errors,
)
from whmcs_bridge.cli.messages import messages
from whmcs_bridge.cli.staff import approvals, breaker, events
from whmcs_bridge.clock import utcnow
from whmcs_bridge.daemon import Bridge, Daemon, PassReport
from whmcs_bridge.demo import run_demo
from whmcs_bridge.errors import AuditChainError, BridgeError, ConfigError, EnvironmentProblem, PollFailed
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.install import default_url
from whmcs_bridge.install import install_hook as install
from whmcs_bridge.intake import serving
from whmcs_bridge.preview import Shadow
from whmcs_bridge.preview import preview as preview_pass
from whmcs_bridge.probe import gateway_problem, probe_actions, requestor_warning
from whmcs_bridge.sandbox import scenarios
from whmcs_bridge.sandbox.server import SandboxApp, serve
from whmcs_bridge.store import audit as audit_log
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.lease import Lease
from whmcs_bridge.whmcs.api import WhmcsApi


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, readable=False),  # an unreadable file is said by load_config, naming the user
    help="Configuration file [default: $WHMCS_BRIDGE_CONFIG, then ./whmcs-bridge.yaml]. "
    "A .env file beside it is read for secrets.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or as one JSON object each [default: logging.format of the config, else text].",
)
@click.version_option(__version__, prog_name="whmcs-bridge")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, log_format: str | None) -> None:
    """whmcs-bridge: rules for contact delegation, overdue reseller escalation and ownership changes,
    applied beside WHMCS through its API."""
    setup_logging(verbose, log_format or "text")
    ctx.obj = Context(config_path)
    ctx.obj.verbose = verbose
    ctx.obj.log_format = log_format


# --- check --------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--online",
    is_flag=True,
    help="Also call WHMCS: test the credentials and which needed API actions the role allows; the probes change nothing (README).",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def check(obj: Context, online: bool, as_json: bool) -> None:
    """Validate the configuration file (exit 0 valid, 2 invalid; see the README's exit codes); warn on stderr
    when the signing key lies within reach of whoever can edit the state database."""
    try:
        config = obj.config()
    except ConfigError as exc:
        exc.detail = {"config": str(obj.resolved_path()), "valid": False}
        raise
    summary = {
        "config": str(config.source),
        "valid": True,
        "whmcs_api": config.whmcs.api_url,
        "receiver": f"http://{config.receiver.listen}/hooks/whmcs",
        "state": str(config.state.path),
        "timezone": config.zone_name,
        "timezone_from_machine": config.timezone is None,
        "poll_every": str(config.poll.every) if config.poll.enabled else None,
        "families": [spec.name for spec in FAMILIES if spec.enabled(config)],
        "languages": obj.catalogue.languages(),
        "message_notes": list(obj.catalogue.notes),
        "key_warning": keys.exposure(keys.key_path(config.state.path), config.state.path),
    }
    if not as_json:
        echo_check(summary)
    if online:
        try:
            check_online(config, summary, as_json)
        except BridgeError as exc:  # --json: the error's document carries what the check found
            exc.detail = {**summary, **exc.detail}
            raise
    if as_json:
        echo_json(summary)


def check_online(config: Any, summary: dict[str, Any], as_json: bool) -> None:
    """`check --online`: the credentials, the actions the role refuses, the payment gateway."""
    denied = probe_actions(config, echo=(lambda *_: None) if as_json else click.echo)
    summary["denied_actions"] = denied
    if denied:
        raise BridgeError(
            f"the API credential's role does not allow {len(denied)} action(s) the bridge needs: "
            f"{', '.join(denied)}; add them to the API role in WHMCS (System Settings > API Roles)"
        )
    problem = gateway_problem(config)
    if problem:
        raise BridgeError(problem)
    warning = requestor_warning(config)
    summary["warnings"] = [warning] if warning else []
    if warning and not as_json:
        click.echo(warning)
    if not as_json:
        click.echo("WHMCS: credentials accepted; every action the bridge needs is allowed")


def echo_check(summary: dict[str, Any]) -> None:
    click.echo(f"{summary['config']}: configuration is valid")
    click.echo(f"  WHMCS API:  {summary['whmcs_api']}")
    click.echo(f"  receiver:   {summary['receiver']}")
    click.echo(f"  state:      {summary['state']}")
    machine = " (the machine's; set `timezone:` to choose)" if summary["timezone_from_machine"] else ""
    click.echo(f"  timezone:   {summary['timezone']}{machine}")
    click.echo(f"  poll every: {summary['poll_every'] or 'never (disabled)'}")
    click.echo(f"  families:   {', '.join(summary['families']) or 'none enabled'}")
    click.echo(f"  languages:  {', '.join(summary['languages'])} (others receive English)")
    for note in summary["message_notes"]:
        click.echo(f"  note: {note}")
    if summary["key_warning"]:
        click.echo(f"warning: {summary['key_warning']}", err=True)


# --- the pipeline -------------------------------------------------------------------------------


def terminal_progress(quiet: bool) -> Any:
    """Progress of long reads (the first poll of a large WHMCS) on stderr, only on a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(source: str, done: int) -> None:
        click.echo(f"\r  reading {source}: {done:,} ...", err=True, nl=False)

    return show


def pass_lines(report: Any) -> list[dict[str, Any]]:
    """A pass as one JSON-able object per decision or action."""
    lines: list[dict[str, Any]] = []
    if report.poll is not None and report.poll.error:
        lines.append({"what": "poll_failed", "error": report.poll.error})
    planned = report.engine.planned
    whens = report.engine.when if len(report.engine.when) == len(planned) else [report.at] * len(planned)
    for action, when in zip(planned, whens, strict=True):
        lines.append(
            {
                "what": "planned",
                "when": when.isoformat(timespec="minutes"),
                "key": action.key,
                "family": action.family,
                "kind": action.kind,
                "client_id": action.client_id,
                "subject": action.subject,
                "params": action.params,
                "needs_approval": action.needs_approval,
            }
        )
    for outcome in ("done", "reconciled", "cancelled", "retrying", "parked", "held"):
        for key in getattr(report.executor, outcome):
            lines.append({"what": outcome, "key": key})
    for row in report.executor.would_run:
        lines.append({"what": "would_run", **row})
    if getattr(report, "pending_after", None):
        lines.append({"what": "still_pending", "events": report.pending_after})
    return lines


def echo_pass(report: Any, as_json: bool, heading: str) -> None:
    lines = pass_lines(report)
    if as_json:
        echo_json(lines)
        return
    engine = report.engine
    for line in getattr(report, "resynced", []):
        click.echo(line)
    if report.poll is not None and report.poll.error:
        click.echo(f"poll failed: {report.poll.error}")
    elif report.poll is not None:
        swept = " (open invoices swept)" if report.poll.swept else ""
        click.echo(f"poll: {report.poll.events} new event(s) in {report.poll.calls} WHMCS call(s){swept}")
    remaining = report.pending_after
    left = f", {remaining:,} event(s) still pending (the next pass takes them)" if remaining else ""
    click.echo(
        f"{heading} at {report.at.isoformat()}: {engine.events} event(s), {engine.timers} timer(s), {engine.parked} parked, {len(engine.planned)} action(s) planned{left}"
    )
    for line in lines:
        if line["what"] in ("poll_failed", "still_pending"):  # said above
            continue
        detail = f"{line.get('kind', '')} {line.get('subject') or ''}".strip()
        params = line.get("params") or {}
        about = readable.action(params) if params else ""
        when = f"{line['when'][:10]} " if "when" in line else ""
        flag = " (needs approval)" if line.get("needs_approval") else ""
        click.echo(f"  {when}{line['what']:<10} {detail} {about}{flag}".rstrip())


@main.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Receive and store events, but decide and do nothing: log what a pass would plan, reading WHMCS every "
    "poll.every on a copy of the state (no write sent).",
)
@click.pass_obj
@user_errors
def run(obj: Context, dry_run: bool) -> None:
    """The daemon: the webhook receiver, the engine and the executor in one process.
    SIGTERM/SIGINT exits 0 within about a second (a WHMCS call still unanswered then is left in flight and
    looked for in WHMCS at the next start); a second signal exits at once. At start it
    exits 3 when the port is taken or a path is not permitted, 4 when the database is damaged."""
    daemon = Daemon(obj.config(), dry_run=dry_run, preview=Shadow)
    sys.exit(daemon.run())


@main.command()
@click.option(
    "--at", "at", default=None, help="The instant of the pass, ISO-8601 [default: now]. Lets staff see a deadline pass."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read WHMCS and decide on a throwaway copy of the state, and list what the pass would do: nothing is "
    "stored, no cursor moves, no write action is called.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def tick(obj: Context, at: str | None, dry_run: bool, as_json: bool) -> None:
    """One pass (poll WHMCS, decide on pending events and due timers, run due actions) at the given
    instant, then exit; exit 5 when the poll failed (the rest of the pass still runs)."""
    config = obj.config()
    if dry_run:  # on a copy of the state: it needs no lease and changes nothing
        moment = parse_at(at)
        report = preview_pass(config, moment, moment)
        echo_pass(report, as_json, "dry run")
    else:
        # A pass that runs actions holds the database's lease (as `run` does).
        with Lease(config.state.path, "whmcs-bridge tick"):
            bridge = Bridge(config, progress=terminal_progress(as_json))
            try:
                report = bridge.run_once(parse_at(at), poll=config.poll.enabled)
                echo_pass(report, as_json, "pass")
            finally:
                bridge.close()
    if report.poll is not None and report.poll.error:  # cron and monitors see it in the exit code
        fail(PollFailed(f"the poll of WHMCS failed: {report.poll.error}"))


@main.command()
@click.option(
    "--at",
    "at",
    default=None,
    help="Project up to this instant, ISO-8601: every deadline until then, as if nobody paid or intervened [default: now].",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Read WHMCS first (read-only, on a throwaway copy of the state: nothing stored, no cursor moved, "
    "nothing sent): on a new install, which clients each family would act on and what it would send first.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def plan(obj: Context, at: str | None, preview: bool, as_json: bool) -> None:
    """What the bridge would do from now until --at if nobody paid or intervened (every ladder
    stage, deadline and action), doing nothing."""
    if preview:
        now = utcnow()
        echo_pass(preview_pass(obj.config(), now, max(now, parse_at(at))), as_json, "preview")
        return
    bridge = Bridge(obj.config())
    try:
        now = utcnow()
        until = parse_at(at)
        engine = bridge.engine.plan(min(now, until), until=until)
        executor = bridge.executor.run_once(now, dry_run=True)
        echo_pass(PassReport(until, engine, executor), as_json, "plan")
    finally:
        bridge.close()


# --- install-hook -------------------------------------------------------------------------------


@main.command("install-hook")
@click.option(
    "--whmcs-root",
    required=True,
    type=click.Path(file_okay=False),
    help="The WHMCS installation folder (holding includes/hooks/).",
)
@click.option(
    "--url", default=None, help="Where the hook posts events [default: http://<receiver.listen>/hooks/whmcs]."
)
@click.option(
    "--spool-dir",
    default=None,
    help="Where the hook keeps events while the daemon is unreachable [default: the PHP temp folder].",
)
@click.pass_obj
@user_errors
def install_hook(obj: Context, whmcs_root: str, url: str | None, spool_dir: str | None) -> None:
    """Copy the PHP hook into WHMCS's includes/hooks/ with the receiver URL and webhook secret filled in."""
    config = obj.config()
    target = install(config, Path(whmcs_root), url=url, spool_dir=spool_dir)
    click.echo(
        f"installed {target} (mode 0640; it holds the webhook secret): events go to {url or default_url(config)}"
    )
    click.echo("Make sure the web server's user can read it and that the daemon listens there (whmcs-bridge run).")


# --- sandbox ------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8780,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--scenario",
    type=click.Choice(["empty", "reseller-overdue", "agency", "vendor-dispute", "scale"]),
    default="reseller-overdue",
    show_default=True,
    help="The WHMCS world to load.",
)
@click.option(
    "--clients",
    type=click.IntRange(1, 10_000_000),
    default=None,
    help="Number of clients for the scale scenario [default: 100000].",
)
@click.option(
    "--identifier",
    envvar="WHMCS_API_IDENTIFIER",
    default="sandbox-identifier",
    show_default=True,
    help="API identifier to accept [env WHMCS_API_IDENTIFIER].",
)
@click.option(
    "--secret",
    envvar="WHMCS_API_SECRET",
    default="sandbox-secret",
    show_default=False,
    help="API secret to accept [env WHMCS_API_SECRET; default sandbox-secret].",
)
@click.option("--hook-url", default=None, help="Send signed hook events here when the sandbox's state changes.")
@click.option(
    "--hook-secret",
    envvar="WHMCS_BRIDGE_WEBHOOK_SECRET",
    default=None,
    help="Standard Webhooks secret for --hook-url [env WHMCS_BRIDGE_WEBHOOK_SECRET].",
)
def sandbox(
    host: str,
    port: int,
    scenario: str,
    clients: int | None,
    identifier: str,
    secret: str,
    hook_url: str | None,
    hook_secret: str | None,
) -> None:
    """Run the bundled WHMCS API emulator (includes/api.php plus a /_sandbox/ control API) until stopped."""
    app = SandboxApp(identifier, secret)
    summary = scenarios.load(app.state, scenario, clients=clients)
    try:
        server = serve(app, host, port)
    except OSError as exc:
        fail(EnvironmentProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}"))
    url = f"http://{host}:{server.effective_port}/"
    app.hooks.whmcs_url = url
    if hook_url:
        if not hook_secret:
            raise click.UsageError("--hook-url needs --hook-secret (or WHMCS_BRIDGE_WEBHOOK_SECRET)")
        app.hooks.url, app.hooks.secret = hook_url, hook_secret
    click.echo(
        f"WHMCS sandbox at {url} (API: {url}includes/api.php), scenario {summary['scenario']},"
        f" list-order seed {app.state.orders.seed} (set WHMCS_SANDBOX_SEED to repeat)",
        err=True,
    )
    click.echo(json.dumps(summary), err=True)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        serving.stop(server)
        app.hooks.close()


# --- audit --------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Check the signatures with this public key (PEM, as `audit key` prints it) instead of the bridge's own; "
    "repeat it to add the public half of a key replaced with `audit key --new`.",
)
@click.option(
    "--against-whmcs",
    is_flag=True,
    help="Also compare the chain with the anchors the bridge wrote into WHMCS's activity log.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def audit_verify(obj: Context, public_key: tuple[Path, ...], against_whmcs: bool, as_json: bool) -> None:
    """Recompute the audit chain and check its signed head and checkpoints; exit 1 and name the first
    broken row if rows were edited, deleted, added, renumbered or wiped without the signing key.
    Without the signing key beside the database (and no --public-key) it never says intact: it says what
    it could not check and exits 1. With --against-whmcs, also exit 1 if the chain is not the one anchored
    in WHMCS (cut short, rewritten, an anchor missing from WHMCS, or restored from an older copy)."""
    config = obj.config()
    with Database(existing_state(config), migrate=False) as db:
        given = [PublicKey.from_file(path) for path in public_key]
        head_by = audit_log.head_fingerprint(db)
        key = next((k for k in given if k.fingerprint == head_by), given[0]) if given else None
        key = key or (db.signer.public if db.signer else None)
        unchecked: list[audit_log.Checkpoint] = []
        count = audit_log.verify(db, key, older=[k for k in given if k is not key], unchecked=unchecked)
        if unchecked:
            lost = sorted({p.fingerprint for p in unchecked})
            raise BridgeError(
                f"audit chain NOT verified: its {count} row(s) link up and its head is signed with "
                f"{key.fingerprint if key else '?'}, but {len(unchecked)} checkpoint(s) up to row "
                f"{unchecked[-1].count} are signed with the replaced key {', '.join(lost)} and were not checked: "
                "give that key's public half too with another --public-key FILE"
            )
        if key is None:
            # Rows recomputed by a forger link up as well as the bridge's: without a key nothing is vouched for.
            raise BridgeError(
                f"audit chain NOT verified: its {count} row(s) link up, but the signing key "
                f"{keys.key_path(db.path.resolve())} is missing, so the signed head and checkpoints were not "
                "checked: restore the key, or give the bridge's public key with --public-key FILE"
            )
        anchors = None
        if against_whmcs:
            anchors, problems = anchor.compare(db, WhmcsApi.from_config(config), key, [k for k in given if k is not key])
            if problems:
                raise AuditChainError(count, "; ".join(problems))
    signed = f", signed with {key.fingerprint}"
    whmcs = f", matching {anchors} anchor(s) in WHMCS's activity log" if anchors is not None else ""
    if as_json:
        echo_json({"intact": True, "entries": count, "key": key.fingerprint, "whmcs_anchors": anchors})
    else:
        click.echo(f"audit chain intact: {count} entr{'y' if count == 1 else 'ies'}{signed}{whmcs}")


@audit.command("key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the public key to this new file (to hand to whoever checks dossiers); an existing file is refused.",
)
@click.option(
    "--new",
    "new",
    is_flag=True,
    help="Make a new key because signing-key.pem is lost for good (never while it exists): recorded in the audit "
    "chain with the old and new fingerprints and who did it (--by).",
)
@click.option("--by", default=None, help="With --new: the member of staff doing it, one of the configured `staff`.")
@click.option("--note", default="", help="With --new: why (recorded).")
@click.pass_obj
@user_errors
def audit_key(obj: Context, out: Path | None, new: bool, by: str | None, note: str) -> None:
    """Print the public half of the bridge's signing key (PEM) and its fingerprint: what a dossier or the
    audit chain is checked with. The private half stays in signing-key.pem beside the database (0600).
    Restore a lost key from your backup; only if it is lost for good, `--new --by NAME` makes another, on
    purpose and recorded (what the lost key signed is then checked only with its public half)."""
    config = obj.config()
    if new:
        _new_key(config, by, note)
        return
    if by is not None or note:
        raise click.UsageError("--by and --note go with --new only")
    signer = keys.load(keys.key_path(config.state.path))
    if signer is None:
        raise BridgeError(
            f"there is no signing key at {keys.key_path(config.state.path)} yet: it is made when the bridge "
            "first opens its database (`whmcs-bridge check --online`, `run` or any case command)"
        )
    if out is not None:
        try:
            with out.open("x", encoding="ascii") as handle:  # a file already there is someone's: never replaced
                handle.write(signer.public.pem())
        except FileExistsError:
            raise BridgeError(f"{out} exists: give a new file name to --out (an existing file is not replaced)") from None
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(signer.public.pem() + f"fingerprint: {signer.fingerprint}")
    exposed = keys.exposure(keys.key_path(config.state.path), config.state.path)
    if exposed:
        click.echo(f"warning: {exposed}", err=True)


def _new_key(config: Any, by: str | None, note: str) -> None:
    """A new signing key for a chain whose key is lost: refused while one exists; audited (old and new
    fingerprints, the member of staff and the operating-system user) by the first row the new key signs."""
    if not by:
        raise click.UsageError("say who makes the new key (--by NAME): it is recorded in the audit chain")
    member = shared_staff.member(config, by)
    with Database(existing_state(config), signing=False) as db:
        path = keys.key_path(db.path.resolve())
        if path.exists():
            raise BridgeError(
                f"the signing key {path} exists: --new makes a key only when it is lost (a key in place is never "
                "replaced)"
            )
        count = audit_log.verify(db, None)  # the rows must still link up: a broken chain is not re-signed
        old = sorted(
            {fp for fp in (audit_log.head_fingerprint(db), *(p.fingerprint for p in audit_log.checkpoints(db))) if fp}
        )
        if not old and audit_log.was_signed(db):  # signed once, every signature gone: stripped, not lost
            raise BridgeError(
                f"the audit chain in {db.path} was signed but its signatures are gone (removed from the head and "
                "checkpoints): a new key would vouch for whatever the rows say now; restore the state and its key "
                "from a backup, and check the rows against WHMCS's anchors (`audit verify --against-whmcs`)"
            )
        signer, _ = keys.load_or_create(path)
        db.signer = signer
        row = audit_log.append(
            db,
            audit_log.KEY_REPLACED,
            actor=f"staff:{member}",
            detail={
                "old_fingerprints": old,
                "new_fingerprint": signer.fingerprint,
                "rows_before": count,
                "by": member,
                "os_user": shared_staff.os_user(),
                "note": note,
            },
        )
    replaced = ", ".join(old) or "no key (the chain was never signed)"
    click.echo(
        f"new signing key {path}: {signer.fingerprint}; replaced {replaced}; recorded at audit row {row.id} by "
        f"{member}. Hand the new public key (`whmcs-bridge audit key --out FILE`) to whoever checks dossiers."
    )


@audit.command("anchor")
@click.pass_obj
@user_errors
def audit_anchor(obj: Context) -> None:
    """Sign the chain's head now and write it into WHMCS's activity log (the daemon does this after each
    case decision and at least daily)."""
    config = obj.config()
    with Database(existing_state(config), migrate=False) as db:
        if db.signer is None:
            raise keys.missing(db.path)
        point = anchor.anchor(db, WhmcsApi.from_config(config), utcnow(), "staff")
    where = f"WHMCS activity-log entry {point.anchor_id}" if point.anchor_id else "WHMCS (its entry was not found back)"
    click.echo(f"audit chain anchored: {point.count} entries, head {point.hash[:16]}…, in {where}")


@audit.command("show")
@click.option("--client", "client_id", type=ID, help="Only entries about this WHMCS client id.")
@click.option("--case", "case_id", help="Only entries of this case.")
@click.option("--action", help="Only this action (or prefix, e.g. 'escalation.').")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="Only the last N matching entries.")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def audit_show(
    obj: Context, client_id: int | None, case_id: str | None, action: str | None, limit: int | None, as_json: bool
) -> None:
    """List audit entries, oldest first."""
    with Database(existing_state(obj.config())) as db:
        found = list(audit_log.entries(db, client_id=client_id, case_id=case_id, action=action, limit=limit))
    if as_json:
        echo_json([entry.__dict__ for entry in found])
        return
    for entry in found:
        who = f" client {entry.client_id}" if entry.client_id is not None else ""
        case = f" case {entry.case_id}" if entry.case_id else ""
        detail = readable.fields(entry.detail)
        click.echo(f"#{entry.id} {readable.value(entry.at)} {entry.actor} {entry.action}{who}{case} {detail}".rstrip())
    if not found:
        click.echo("no audit entries match")


# --- resync -------------------------------------------------------------------------------------


@main.command("resync")
@click.option(
    "--family",
    type=click.Choice([spec.name for spec in FAMILIES]),
    default=None,
    help="Only this family [default: every enabled family that has facts to re-read].",
)
@click.pass_obj
@user_errors
def resync_command(obj: Context, family: str | None) -> None:
    """Re-read from WHMCS the facts a family needs (escalation: the open overdue invoices; delegation: what
    its grants track; ownership: open tickets asking for ownership) and store them as events for that
    family, as happens by itself when a family is enabled or its rules change; the next pass decides."""
    config = obj.config()
    names = [family] if family else resync.enabled_with_reader(config)
    if not names:
        raise BridgeError(f"no family is enabled ({config.source}): nothing to re-read")
    with Lease(config.state.path, "whmcs-bridge resync"):
        bridge = Bridge(config)
        try:
            for name in names:
                read, stored = resync.resync(bridge.db, bridge.api, config, name, utcnow())
                what = resync.with_reader()[name].resync
                click.echo(f"{name}: {read} {what} re-read from WHMCS, {stored} new event(s); the next pass decides")
        finally:
            bridge.close()


# --- backup -------------------------------------------------------------------------------------


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=False))
@click.pass_obj
@user_errors
def backup(obj: Context, path: str) -> None:
    """Copy the state database to PATH (a new file) while the daemon runs, with SQLite's online backup,
    then verify the copy (integrity_check and every audit-chain entry) before giving it its name."""
    made = make_backup(existing_state(obj.config()), Path(path))
    click.echo(
        f"backup written to {made.path} ({made.size / 2**20:.1f} MB, mode 0600): integrity ok, audit chain intact "
        f"with {made.audit_entries} entr{'y' if made.audit_entries == 1 else 'ies'}, schema {made.migrations[-1] if made.migrations else 'empty'}"
    )


# --- demo ---------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep the demo's config and state here [default: a temporary folder].",
)
@user_errors
def demo(workdir: str | None) -> None:
    """Start the sandbox on a free loopback port, point a bridge config at it, and walk the seed stories."""
    run_demo(Path(workdir) if workdir else None, echo=click.echo)


for command in (approvals, breaker, events, messages):
    main.add_command(command)
for spec in FAMILIES:  # each family's command group: families/<name>/cli.py, `group`
    main.add_command(importlib.import_module(f"{spec.package}.cli").group)
