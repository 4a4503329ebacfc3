"""The command line: exit codes, one-sentence errors, help on every command, audit verify/show, demo."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from tests.conftest import IDENTIFIER, SECRET, WEBHOOK_SECRET, Sandbox, sql
from whmcs_bridge.cli import app as cli
from whmcs_bridge.evidence import keys, pdf
from whmcs_bridge.store import audit, inbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import NEEDED_ACTIONS

ROOT = Path(__file__).resolve().parents[1]


def write_config(
    folder: Path, url: str = "https://billing.example.com/", extra: str = "", env: dict[str, str] | None = None
) -> Path:
    env = (
        {"WHMCS_API_IDENTIFIER": IDENTIFIER, "WHMCS_API_SECRET": SECRET, "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET}
        if env is None
        else env
    )
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (folder / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    path = folder / "bridge.yaml"
    path.write_text(
        f"whmcs:\n  url: {url}\n  identifier: ${{WHMCS_API_IDENTIFIER}}\n  secret: ${{WHMCS_API_SECRET}}\n"
        f"  max_attempts: 1\nreceiver:\n  secret: ${{WHMCS_BRIDGE_WEBHOOK_SECRET}}\nstate:\n  path: state.db\n{extra}"
    )
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_example_config(tmp_path: Path):
    env = {"WHMCS_API_IDENTIFIER": "a", "WHMCS_API_SECRET": "b", "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    (tmp_path / "config.example.yaml").write_text((ROOT / "config.example.yaml").read_text())
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (tmp_path / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    code, out, err = run("--config", str(tmp_path / "config.example.yaml"), "check")
    assert code == 0, err
    assert "configuration is valid" in out


@pytest.mark.parametrize(
    ("extra", "env_drop", "expected"),
    [
        (
            "poll:\n  evry: 5m\n",
            None,
            "bridge.yaml:11: poll.evry: expected one of enabled, every, sweep_every, max_backoff (did you mean 'every'?), found unknown key",
        ),
        ("poll:\n  every: 5s\n  enabled: 3\n", None, "bridge.yaml:12: poll.enabled: expected true or false, found '3'"),
        ("poll:\n  every: soon\n", None, "bridge.yaml:11: poll.every: expected a duration"),
        (
            "",
            "WHMCS_API_SECRET",
            "bridge.yaml:4: whmcs.secret: expected environment variable WHMCS_API_SECRET to be set",
        ),
    ],
)
def test_check_bad_config_exits_2_with_file_line_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, env_drop: str | None, expected: str
):
    env = {
        "WHMCS_API_IDENTIFIER": IDENTIFIER,
        "WHMCS_API_SECRET": SECRET,
        "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    if env_drop:
        env.pop(env_drop)
        monkeypatch.delenv(env_drop, raising=False)
    path = write_config(tmp_path, extra=extra, env=env)
    code, out, err = run("--config", str(path), "check")
    assert code == 2
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_check_reports_a_signing_key_unpinned_or_not_the_pinned_one(tmp_path: Path):
    """From the issue-17 outside test: `check` said nothing of a signing key whose fingerprint the configuration
    does not pin, nor of one that is not the pinned key (only `audit verify` did)."""
    with Database(tmp_path / "state.db"):
        pass  # the first start makes the key beside the database
    path = tmp_path / keys.KEY_FILE
    key = keys.load(path)
    assert key is not None
    code, out, err = run("--config", str(write_config(tmp_path)), "check")
    assert code == 0 and "configuration is valid" in out, err
    assert f"warning: the signing key {path} ({key.fingerprint}) is not pinned" in err, err
    assert f"add `key_fingerprint: {key.fingerprint}` under `state:`" in err, err
    pinned = write_config(tmp_path, extra=f"  key_fingerprint: {key.fingerprint}\n")
    code, out, err = run("--config", str(pinned), "check")
    assert code == 0 and "pinned" not in err, err
    other = keys.SigningKey.generate().fingerprint
    config = write_config(tmp_path, extra=f"  key_fingerprint: {other}\n")
    code, out, err = run("--config", str(config), "check")
    assert code == 3 and "configuration is valid" in out, err
    assert f"error: the signing key {path} is {key.fingerprint}, not the key pinned in the configuration ({other}" in err
    code, out, _ = run("--config", str(config), "check", "--json")
    document = json.loads(out)
    assert code == 3 and document["key_fingerprint"] == key.fingerprint and document["key_pinned"] == other, out


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WHMCS_BRIDGE_CONFIG", str(write_config(tmp_path)))
    code, out, _ = run("check")
    assert code == 0 and str(tmp_path) in out


def test_missing_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WHMCS_BRIDGE_CONFIG", raising=False)
    code, _, err = run("check")
    assert code == 2 and "whmcs-bridge.yaml: configuration file not found" in err


def test_check_online_all_allowed(tmp_path: Path, sandbox: Sandbox):
    code, out, err = run("--config", str(write_config(tmp_path, sandbox.url)), "check", "--online")
    assert code == 0, err
    assert "every action the bridge needs is allowed" in out
    probed = {c["action"] for c in sandbox.calls()}
    assert probed == set(NEEDED_ACTIONS)
    # the probes changed nothing (tests/test_whmcs_docs.py checks every table)
    assert sandbox.rows("client_notes") == [] and sandbox.rows("invoices") == []


def test_check_online_reports_missing_role_actions(tmp_path: Path, sandbox: Sandbox):
    sandbox.control("role", {"allowed": [a for a in NEEDED_ACTIONS if a not in ("ModuleTerminate", "SendEmail")]})
    code, out, err = run("--config", str(write_config(tmp_path, sandbox.url)), "check", "--online")
    assert code == 1
    assert "ModuleTerminate: NOT ALLOWED" in out
    assert "does not allow 2 action(s) the bridge needs: ModuleTerminate, SendEmail" in err


def test_check_online_bad_credentials(tmp_path: Path, sandbox: Sandbox):
    env = {
        "WHMCS_API_IDENTIFIER": IDENTIFIER,
        "WHMCS_API_SECRET": "wrong",
        "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    code, _, err = run("--config", str(write_config(tmp_path, sandbox.url, env=env)), "check", "--online")
    assert code == 5  # WHMCS refused (the README's exit codes)
    assert "WHMCS denied GetClients (HTTP 403): Authentication Failed" in err
    assert "wrong" not in err


def test_audit_verify_and_show(tmp_path: Path):
    path = write_config(tmp_path)
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "escalation.stage_reached", client_id=1, detail={"stage": "reminder"})
        audit.append(db, "ownership.case_opened", case_id="OC-1", client_id=21)
    code, out, _ = run("--config", str(path), "audit", "verify")
    assert code == 0 and "audit chain intact: 2 entries" in out
    code, out, _ = run("--config", str(path), "audit", "show", "--case", "OC-1")
    assert code == 0 and "ownership.case_opened" in out and "escalation" not in out
    code, out, _ = run("--config", str(path), "audit", "show", "--client", "1", "--json")
    assert '"action": "escalation.stage_reached"' in out
    with Database(tmp_path / "state.db") as db:
        sql(db, "DROP TRIGGER audit_log_no_update")
        sql(db, "UPDATE audit_log SET client_id = 2 WHERE id = 1")
    code, _, err = run("--config", str(path), "audit", "verify")
    assert code == 1 and "audit chain broken at row 1" in err


def test_audit_on_a_missing_database_does_not_create_one(tmp_path: Path):
    code, _, err = run("--config", str(write_config(tmp_path)), "audit", "verify")
    assert code == 4 and "there is no state database at" in err
    assert not (tmp_path / "state.db").exists()


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + (name,), command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, prefix + (name,)))
    return found


@pytest.mark.parametrize(
    ("path", "command"), all_commands(cli.main), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help(path: tuple[str, ...], command: click.Command):
    assert command.help and len(command.help) > 15
    code, out, _ = run(*path, "--help")
    assert code == 0 and "Usage:" in out
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts} has help"


def test_readme_lists_the_minimal_api_role():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Minimal WHMCS API role", 1)[1].split("##", 1)[0]
    for action in NEEDED_ACTIONS:
        assert action in section, f"README's API role lists {action}"


def test_readme_starts_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("make ")]
    assert lines[:2] == [line for line in lines[:2] if line.split()[1] in ("demo", "test")] and len(lines) >= 2


def test_demo_runs_to_the_end(tmp_path: Path):
    code, out, err = run("demo", "--workdir", str(tmp_path / "demo"))
    assert code == 0, err
    assert "SnelHost V.O.F.: 11 overdue invoices" in out
    assert "104 domains, 88 users, 4 sub-resellers" in out
    assert "placed by Lena Vogel (not the owner" in out
    assert "majumakmur.co.id is held by Kreatif Studio" in out
    assert "Audit chains verified intact (entries): state.db" in out
    # seed 002 played: order, automatic technical contact, welcome notice, verified note, renewal, revocation
    assert "the agency becomes technical contact automatically" in out
    assert "a notice that the owner has the access details, not the password" in out
    assert "VERIFIED technical contact of Cabinet Martin Avocats (#12)" in out
    assert "WARNING: Garage Leroy (#13) has NO grant" in out
    assert "its line comes off the owner's invoice #8, which keeps its other items (11.95)" in out
    assert "the agency is told" in out
    # seed 001 played: stages, the approval for the downstream impact, the payment, the reversal
    assert "email: Herinnering: 11 openstaande facturen, €\xa0944,70 te betalen" in out
    assert "the lock hits 196 downstream domains, users and sub-resellers (threshold 50): staff approval asked" in out
    assert "suspension on service 101: Administrative reasons" in out
    assert out.index("unsuspension on service 102") < out.index("module command on service 102: unlock_reseller_panel")
    assert "emails and notes only to client 1" in out and "module calls only on its services 101, 102" in out
    # seed 000 played: policies, documents, both links, two approvals, the API part, the move, lock, dossier
    assert "majumakmur.co.id (service): vendor-hosting, holder consent required, 2 approval(s)" in out
    assert "evidence 1: letterhead-letter via ticket" in out and "Kreatif Studio consents" in out
    assert "the WHOIS registrant is now PT Maju Makmur" in out and "Pay the vendor (Kreatif Studio, #20)" in out
    assert "case completed, locked until" in out and "a new claim on the hosting is refused" in out
    files = 8 if pdf.browser() else 7  # 4 evidence files, summary.html, audit.jsonl, public-key.pem, summary.pdf
    signed = r"signed with SHA256:[0-9a-f]{16}\.\.\. and verified"
    assert re.search(rf"dossier exported to dossier-o[0-9a-f]{{7}}/ \({files} files\), {signed}", out), out


def test_sandbox_command_serves_until_sigterm(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WHMCS_API_IDENTIFIER": "cli-id", "WHMCS_API_SECRET": "cli-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "sandbox", "--port", str(port), "--scenario", "vendor-dispute"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.post(
                    f"http://127.0.0.1:{port}/includes/api.php",
                    data={
                        "action": "GetClients",
                        "identifier": "cli-id",
                        "secret": "cli-secret",
                        "responsetype": "json",
                    },
                    timeout=2,
                ).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert answer["totalresults"] == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert json.loads(err.strip().splitlines()[1])["scenario"] == "vendor-dispute"


def test_sandbox_port_in_use_is_one_sentence():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "sandbox", "--port", str(port), "--scenario", "empty"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 3  # environment
    assert "cannot listen on 127.0.0.1" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["approvals", "approve", "18446744073709551616", "--by", "x"],
        ["events", "retry", "99999999999999999999", "--by", "x"],
        ["audit", "show", "--client", "99999999999999999999"],
        ["delegations", "grant", "--owner", "18446744073709551616", "--delegate", "2", "--service", "1", "--by", "x"],
        ["tick", "--at", "9999-12-31T23:59:30"],
        ["escalations", "show", "0"],
    ],
)
def test_out_of_range_ids_and_instants_are_usage_errors(tmp_path: Path, args: list[str]):
    """Found by a break test: a 64-bit overflow or a year-9999 instant printed a traceback."""
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli.main, ["--config", str(config), *args])
    assert result.exit_code == 2 and "Traceback" not in result.output + result.stderr
    assert "Invalid value" in result.stderr


# A one-value option given twice kept the last silently: `ownership open --requester client:30 --requester client:31`
# opened a case for the second requester (issue 17, eleventh round L3). Every command refuses it, naming the option.
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ["ownership", "open", "domain:1", "--requester", "client:30", "--requester", "client:31", "--grounds", "vendor"],
            "--requester",
        ),
        (["ownership", "check-evidence", "c1", "1", "--ok", "--reject", "--by", "alice"], "--ok / --reject"),
        (["delegations", "grant", "--owner", "1", "--owner", "2", "--delegate", "3", "--service", "1"], "--owner"),
        (["approvals", "approve", "1", "--by", "alice", "--by", "bob"], "--by"),
    ],
)
def test_a_one_value_option_given_twice_is_a_usage_error(tmp_path: Path, args: list[str], option: str):
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli.main, ["--config", str(config), *args])
    assert result.exit_code == 2, result.output + result.stderr
    assert f"{option} is given twice: give it once" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["approvals", "list", "--json"],
        ["events", "parked", "--json"],
        ["audit", "show", "--json"],
        ["tick", "--dry-run", "--json"],
        ["plan", "--json"],
        ["escalations", "list", "--json"],
        ["delegations", "list", "--json"],
        ["ownership", "list", "--json"],
    ],
)
def test_json_lists_print_an_empty_array_rather_than_nothing(tmp_path: Path, args: list[str]):
    config = write_config(tmp_path, extra="poll:\n  enabled: false\n")
    Database(tmp_path / "state.db").close()
    code, out, _ = run("--config", str(config), *args)
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "key"),
    [(["check"], "valid"), (["breaker", "status"], "tripped"), (["audit", "verify"], "entries")],
)
def test_status_commands_have_json(tmp_path: Path, args: list[str], key: str):
    config = write_config(tmp_path)
    Database(tmp_path / "state.db").close()
    code, out, _ = run("--config", str(config), *args, "--json")
    assert code == 0 and key in json.loads(out)


def test_lists_of_a_disabled_family_say_so(tmp_path: Path):
    config = write_config(tmp_path)
    Database(tmp_path / "state.db").close()
    code, out, err = run("--config", str(config), "escalations", "list")
    assert code == 0 and "no client is on the ladder" in out
    assert f"escalation is not enabled (escalation.enabled in {config})" in err


def test_tick_says_how_many_events_remain(tmp_path: Path):
    config = write_config(tmp_path, extra="poll:\n  enabled: false\n")
    with Database(tmp_path / "state.db") as db, db.atomic():
        for n in range(620):
            inbox.add(
                db,
                event_id=f"e{n}",
                type="InvoiceCreated",
                source="poll",
                body={"type": "InvoiceCreated", "data": {"invoiceid": n + 1}},
                received_at="2026-11-22T10:00:00+00:00",
            )
    code, out, _ = run("--config", str(config), "tick")
    assert code == 0 and "500 event(s)" in out and "120 event(s) still pending (the next pass takes them)" in out
    code, out, _ = run("--config", str(config), "tick")
    assert code == 0 and "120 event(s)" in out and "still pending" not in out


def json_commands() -> list[list[str]]:
    """Every command that takes --json, with a value for each required argument."""
    found = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        if any("--json" in getattr(p, "opts", []) for p in command.params):
            found.append(path + ["1" for p in command.params if isinstance(p, click.Argument) and p.required])

    walk(cli.main, [])
    return found


@pytest.mark.parametrize("args", json_commands(), ids=" ".join)
def test_json_commands_print_their_error_as_json(tmp_path: Path, args: list[str]):
    """`--json` prints one JSON document on failure too (a bad configuration here), with the exit code."""
    config = write_config(tmp_path, extra="poll:\n  every: never\n")
    code, out, err = run("--config", str(config), *args, "--json")
    assert code == 2 and "poll.every" in err
    document = json.loads(out)
    assert document["exit_code"] == 2 and "poll.every" in document["error"]
    assert document.get("valid", False) is False  # check says the configuration is not valid


def test_check_online_json_when_whmcs_is_down(tmp_path: Path):
    with socket.socket() as closed:  # nothing listens there: every call is refused
        closed.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    config = write_config(tmp_path, unreachable)
    code, out, err = run("--config", str(config), "check", "--online", "--json")
    assert code == 5 and "did not answer" in err
    document = json.loads(out)
    assert document["exit_code"] == 5 and "did not answer" in document["error"] and document["valid"] is True


@pytest.mark.parametrize(
    ("args", "family"),
    [
        (["escalations", "show", "1"], "escalation"),
        (["delegations", "show", "g1"], "delegation"),
        (["ownership", "show", "o1"], "ownership"),
    ],
)
def test_show_of_a_disabled_family_says_so(tmp_path: Path, args: list[str], family: str):
    config = write_config(tmp_path)
    Database(tmp_path / "state.db").close()
    _, _, err = run("--config", str(config), *args)
    assert f"{family} is not enabled ({family}.enabled in {config})" in err
