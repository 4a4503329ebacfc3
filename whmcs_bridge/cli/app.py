"""The whmcs-bridge command line: load config, build objects, call one function, print. Errors become one sentence."""

from __future__ import annotations

import importlib
import json
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from whmcs_bridge import __version__, readable, resync
from whmcs_bridge.backup import make_backup
from whmcs_bridge.cli.audit import audit
from whmcs_bridge.cli.common import (
    JSON_LIST,
    JSON_OBJECT,
    Context,
    Group,
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
from whmcs_bridge.errors import BridgeError, ConfigError, EnvironmentProblem, PollFailed
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.evidence.signer import chain_signer
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.install import default_url
from whmcs_bridge.install import install_hook as install
from whmcs_bridge.intake import serving
from whmcs_bridge.preview import Shadow
from whmcs_bridge.preview import preview as preview_pass
from whmcs_bridge.probe import gateway_problem, probe_actions, requestor_warning
from whmcs_bridge.sandbox import scenarios
from whmcs_bridge.sandbox.server import SandboxApp, serve
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.lease import Lease
from whmcs_bridge.whmcs.api import WhmcsApi


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    when the signing key lies within reach of whoever can edit the state database, or when its fingerprint is
    not pinned (state.key_fingerprint); exit 3 when the key is not the pinned one, not the one the audit log
    was signed with, or missing beside a signed log."""
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
    path, pinned = keys.key_path(config.state.path), config.state.key_fingerprint
    pin = keys.pin_report(path, pinned, config.source, chain_signer(config.state.path))
    summary.update(
        key_fingerprint=pin.fingerprint, key_pinned=config.state.key_fingerprint, key_pin_warning=pin.warning
    )
    if not as_json:
        echo_check(summary)
    if pin.error:  # nothing signs with a key that is not the pinned one (or the one the log was signed with)
        pin.error.detail = summary
        raise pin.error
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
    lost = rollback_problem(config)
    if lost:
        raise EnvironmentProblem(lost)
    warning = requestor_warning(config)
    summary["warnings"] = [warning] if warning else []
    if warning and not as_json:
        click.echo(warning)
    if not as_json:
        click.echo("WHMCS: credentials accepted; every action the bridge needs is allowed")


def rollback_problem(config: Any) -> str | None:
    """WHMCS holding anchors of the audit chain that the state database does not reach (restored from an
    older backup), in one sentence; nothing to say without a database or its key."""
    if not config.state.path.exists() or not keys.key_path(config.state.path).exists():
        return None
    with Database(config.state.path, migrate=False, signing=False) as db:
        signer = keys.load(keys.key_path(db.path.resolve()))
        return anchor.rolled_back(db, WhmcsApi.from_config(config), signer.public) if signer else None


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
    for warning in (summary["key_warning"], summary["key_pin_warning"]):
        if warning:
            click.echo(f"warning: {warning}", err=True)


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
    lines.extend(planned_lines(report))
    for outcome in ("done", "reconciled", "cancelled", "retrying", "parked", "held"):
        for key in getattr(report.executor, outcome):
            lines.append({"what": outcome, "key": key})
    for row in report.executor.would_run:
        lines.append({"what": "would_run", **row})
    if getattr(report, "pending_after", None):
        lines.append({"what": "still_pending", "events": report.pending_after})
    if getattr(report, "waits", None):  # nothing sent: the audit chain not yet compared with WHMCS's anchors
        lines.append({"what": "waits", "reason": report.waits})
    if report.engine.cut_at is not None:
        cut = report.engine.cut_at.isoformat(timespec="minutes")
        lines.append({"what": "cut", "at": cut, "reason": CUT.format(at=cut, n=report.engine.cut_after)})
    return lines


CUT = (
    "the projection stopped at {at}, after {n:,} deadlines (of which at most 1,000 not routine reads): what would "
    "fall due after that is not shown"
)


def planned_lines(report: Any) -> list[dict[str, Any]]:
    """Each planned action, when it was decided; the reads a rule repeats every so often while nothing happens
    (engine.routine) in one line per subject and kind, "reads who owns its subjects every 1:00:00 from ... to ..."
    (twenty-first break round, ownership M4: a projection listed 996 hourly reads)."""
    planned = report.engine.planned
    whens = report.engine.when if len(report.engine.when) == len(planned) else [report.at] * len(planned)
    groups: dict[tuple[Any, ...], list[datetime]] = {}
    for action, when in zip(planned, whens, strict=True):
        if action.params.get("every_s"):
            groups.setdefault((action.family, action.subject, action.kind, action.params["every_s"]), []).append(when)
    lines: list[dict[str, Any]] = []
    folded: set[tuple[Any, ...]] = set()
    for action, when in zip(planned, whens, strict=True):
        group = (action.family, action.subject, action.kind, action.params.get("every_s"))
        if group[3] and len(groups[group]) > 1:
            if group not in folded:
                folded.add(group)
                lines.append(routine_line(action, groups[group]))
            continue
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
    return lines


# What a routine read does, in words (engine.routine).
ROUTINE = {"read_owners": "reads who owns its subjects"}


def routine_line(action: Any, whens: list[datetime]) -> dict[str, Any]:
    first, last = whens[0].isoformat(timespec="minutes"), whens[-1].isoformat(timespec="minutes")
    every = timedelta(seconds=int(action.params["every_s"]))
    does = ROUTINE.get(action.kind, f"runs {action.kind}")
    return {
        "what": "routine",
        "when": first,
        "until": last,
        "every": str(every),
        "count": len(whens),
        "family": action.family,
        "kind": action.kind,
        "subject": action.subject,
        "reason": f"{does} every {every} from {first} to {last} ({len(whens)} reads)",
    }


def counts(report: Any, lines: list[dict[str, Any]]) -> str:
    """The header's figures, as the lines below show them: the routine reads folded into a line are counted apart
    from the actions planned, with the events and timers that only brought them (twenty-second break round,
    ownership LOW: "2882 action(s) planned" above two)."""
    engine = report.engine
    planned = sum(1 for line in lines if line["what"] == "planned")
    reads = sum(line["count"] for line in lines if line["what"] == "routine")
    said = f"{engine.events:,} event(s), {engine.timers:,} timer(s), {engine.parked:,} parked, {planned:,} action(s) planned"
    if reads:
        said += f", and {reads:,} routine read(s) folded below"
    remaining = report.pending_after
    return said + (f", {remaining:,} event(s) still pending (the next pass takes them)" if remaining else "")


def echo_pass(report: Any, as_json: bool, heading: str) -> None:
    lines = pass_lines(report)
    if as_json:
        echo_json(lines)
        return
    for line in getattr(report, "resynced", []):
        click.echo(line)
    if report.poll is not None and report.poll.error:
        click.echo(f"poll failed: {report.poll.error}")
    elif report.poll is not None:
        swept = " (open invoices swept)" if report.poll.swept else ""
        click.echo(f"poll: {report.poll.events} new event(s) in {report.poll.calls} WHMCS call(s){swept}")
    click.echo(f"{heading} at {report.at.isoformat()}: {counts(report, lines)}")
    if getattr(report, "waits", None):
        click.echo(report.waits)
    for line in lines:
        if line["what"] in ("poll_failed", "still_pending", "waits"):  # said above
            continue
        if line["what"] == "cut":
            click.echo(line["reason"])
            continue
        if line["what"] == "routine":
            click.echo(f"  {line['when'][:10]} {'routine':<10} {line['kind']} {line['subject']} {line['reason']}")
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


for command in (approvals, audit, breaker, events, messages):
    main.add_command(command)
for spec in FAMILIES:  # each family's command group: families/<name>/cli.py, `group`
    main.add_command(importlib.import_module(f"{spec.package}.cli").group)
