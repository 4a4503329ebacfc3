"""Where the signing key lies (issue 17, H4): a key the database's editor may also rewrite, or one beside the
database with its owner, lets that user re-sign an edited chain. It is warned of at start, by `check` and by
`audit key`; the recommended layout (0440, another owner, the bridge's group, linked from beside the
database) loads and is not warned of."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_audit_tamper import pin, put_key, write_config
from tests.test_daemon import Running, configure, free_port
from whmcs_bridge.cli import app as cli
from whmcs_bridge.config.load import load_config
from whmcs_bridge.errors import EnvironmentProblem
from whmcs_bridge.evidence import keys
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

AS_ROOT = os.geteuid() == 0


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_key_made_beside_the_database_is_warned_of_by_check_and_audit_key(tmp_path: Path):
    config = write_config(tmp_path)
    Database(tmp_path / "state.db").close()
    key = tmp_path / keys.KEY_FILE
    warning = keys.exposure(key, tmp_path / "state.db")
    assert warning is not None
    assert f"the signing key {key} is within reach of whoever can edit the state database" in warning
    assert f"owned by the user the bridge runs as (uid {os.geteuid()})" in warning
    assert f"beside the state database {tmp_path / 'state.db'} with the same owner" in warning
    assert "install -o root -g whmcs-bridge -m 0440" in warning
    code, out, err = run(config, "audit", "key")
    assert code == 0 and "BEGIN PUBLIC KEY" in out and err == f"warning: {warning}\n"
    code, out, err = run(config, "check")
    assert code == 0 and "configuration is valid" in out and err.startswith(f"warning: {warning}\n")
    assert err.splitlines()[1:] == [f"warning: {keys.pin_report(key, None, config).warning}"]  # and it is not pinned


def test_the_daemon_warns_of_the_key_at_start(sandbox: Sandbox, tmp_path: Path):
    config = configure(tmp_path, sandbox, free_port())
    Database(config.parent / "state.db").close()
    warning = keys.exposure(config.parent / keys.KEY_FILE, config.parent / "state.db")
    daemon = Running(config, int(config.read_text().split("listen: 127.0.0.1:")[1].split()[0]))
    code, err = daemon.stop()
    assert code == 0 and warning is not None and f"WARNING whmcs_bridge.daemon: {warning}" in err, err


def assert_run_refuses(config: Path, said: str) -> None:
    """`run` exits 3 (the machine's problem) with `said` as its one-sentence error, before serving anything."""
    started = subprocess.run(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 3 and f"error: {said}\n" in started.stderr, started.stderr


def test_nothing_signs_with_a_key_that_is_not_the_pinned_one(sandbox: Sandbox, tmp_path: Path):
    """From the issue-17 outside test (H1): with the pin naming key A and the key file swapped for B, `run` only
    warned and went on signing with B, and `audit anchor` signed with it too. Nothing signs with B now: `run`
    and every command that appends to the chain refuse with one sentence (exit 3, the machine's problem);
    what only reads keeps working and says the problem."""
    config = configure(tmp_path, sandbox, free_port())
    with Database(config.parent / "state.db") as db:
        audit.append(db, "escalation.notice_sent", client_id=1)
    bridge = keys.load(config.parent / keys.KEY_FILE)
    assert bridge is not None
    pin(config, bridge.fingerprint)
    other = keys.SigningKey.generate()
    put_key(config, other)
    said = (
        f"the signing key {config.parent / keys.KEY_FILE} is {other.fingerprint}, not the key pinned in the "
        f"configuration ({bridge.fingerprint}, state.key_fingerprint in {config}): nothing is signed with it; put the "
        "pinned key back from your backup, or, if the key was replaced on purpose with `whmcs-bridge audit key --new`, "
        f"set state.key_fingerprint to {other.fingerprint}"
    )
    assert_run_refuses(config, said)
    code, out, err = run(config, "audit", "anchor")
    assert (code, out, err) == (3, "", f"error: {said}\n")
    code, out, err = run(config, "audit", "show")
    assert code == 0 and "escalation.notice_sent" in out and err == f"warning: {said}\n", err
    code, out, err = run(config, "check")
    assert code == 3 and f"error: {said}\n" in err, err
    with Database(config.parent / "state.db", pin=keys.pin_of(load_config(config))) as db:
        with pytest.raises(keys.KeyProblem, match="nothing is signed with it"):
            audit.append(db, "escalation.notice_sent", client_id=1)
        assert audit.head(db) == (1, audit.hash_of(db, 1)) and audit.head_fingerprint(db) == bridge.fingerprint
    put_key(config, bridge)
    code, out, err = run(config, "audit", "verify")
    assert code == 0 and "audit chain intact: 1 entry" in out, out + err


@pytest.mark.skipif(not AS_ROOT, reason="giving the key to another user needs root")
def test_the_recommended_layout_loads_and_is_not_warned_of(tmp_path: Path):
    config = write_config(tmp_path)
    with Database(tmp_path / "state.db") as db:
        assert db.signer is not None
        fingerprint = db.signer.fingerprint
    etc = tmp_path / "etc"
    etc.mkdir()
    kept = etc / keys.KEY_FILE
    (tmp_path / keys.KEY_FILE).rename(kept)
    os.chown(kept, 65534, os.getegid())  # root:whmcs-bridge in production; here nobody:<the bridge's group>
    kept.chmod(0o440)
    (tmp_path / keys.KEY_FILE).symlink_to(kept)
    assert keys.exposure(tmp_path / keys.KEY_FILE, tmp_path / "state.db") is None
    with Database(tmp_path / "state.db") as db:
        assert db.signer is not None and db.signer.fingerprint == fingerprint
    code, out, err = run(config, "audit", "key")
    assert code == 0 and fingerprint in out and err == ""


@pytest.mark.parametrize("mode", [0o460, 0o444, 0o640])
def test_a_key_others_may_write_or_read_is_refused(tmp_path: Path, mode: int):
    Database(tmp_path / "state.db").close()
    key = tmp_path / keys.KEY_FILE
    key.chmod(mode)  # 0640 on the bridge's own file: its group may read it, to no purpose
    with pytest.raises(EnvironmentProblem, match=rf"may be read by others \(mode {mode:04o}\)"):
        keys.load(key)


def test_audit_key_out_refuses_an_existing_file(tmp_path: Path):
    config = write_config(tmp_path)
    Database(tmp_path / "state.db").close()
    kept = tmp_path / "notes.txt"
    kept.write_text("someone's notes\n")
    code, out, err = run(config, "audit", "key", "--out", str(kept))
    assert code != 0 and f"{kept} exists" in out + err and kept.read_text() == "someone's notes\n"
    code, _, _ = run(config, "audit", "key", "--out", str(tmp_path / "bridge-key.pem"))
    assert code == 0 and b"PUBLIC KEY" in (tmp_path / "bridge-key.pem").read_bytes()
    assert stat.S_IMODE((tmp_path / "bridge-key.pem").stat().st_mode) & 0o077 in (0, 0o044, 0o004, 0o040)


def signed_chain(config: Path) -> str:
    """One row recorded by the bridge, which signs its head; the fingerprint of the key that did."""
    with Database(config.parent / "state.db") as db:
        audit.append(db, "escalation.notice_sent", client_id=1)
        assert db.signer is not None
        return db.signer.fingerprint


def test_check_and_audit_key_name_the_key_the_log_was_signed_with_not_a_swapped_one(tmp_path: Path):
    """From the issue-17 outside test (M1): unpinned, with the key file swapped for B under a log whose head names
    A, `check` exited 0 and told staff to pin B, and `audit key` said "pin it: ... B"."""
    config = write_config(tmp_path)
    bridge = signed_chain(config)
    other = keys.SigningKey.generate()
    put_key(config, other)
    said = (
        f"the signing key {tmp_path / keys.KEY_FILE} is {other.fingerprint}, not {bridge}, the key the audit log "
        "was signed with: nothing is signed with it; the key file was replaced: put the key the log was signed with "
        "back from your backup, "
        f"then pin that one: `key_fingerprint: {bridge}` under `state:` in {config}"
    )
    code, out, err = run(config, "check")
    assert code == 3 and f"error: {said}\n" in err, err
    assert f"key_fingerprint: {other.fingerprint}" not in out + err, err
    code, out, err = run(config, "audit", "key")
    assert code == 0 and f"fingerprint: {other.fingerprint}" in out and f"warning: {said}\n" in err, err
    assert f"key_fingerprint: {other.fingerprint}" not in out + err, out + err


def test_check_says_the_signing_key_is_missing_beside_a_signed_chain(tmp_path: Path):
    """From the issue-17 outside test (M2): `check` said nothing of a signing key missing beside a signed chain."""
    config = write_config(tmp_path)
    bridge = signed_chain(config)
    (tmp_path / keys.KEY_FILE).unlink()
    code, out, err = run(config, "check")
    assert code == 3 and "configuration is valid" in out, err
    assert f"error: the signing key {tmp_path / keys.KEY_FILE} is missing" in err, err
    assert f"was signed with {bridge}: restore signing-key.pem from your backup" in err, err


def test_nothing_signs_with_a_key_that_is_not_the_one_the_log_was_signed_with_pinned_or_not(
    sandbox: Sandbox, tmp_path: Path
):
    """From the issue-17 outside test (H1, round h): unpinned, with the key file swapped for B under a log whose
    head names A, `check` exited 3 but `ownership open`, `audit anchor`, `tick` and `run` went on signing with B;
    the head then named B, and `check` and `audit key` advised pinning B. Nothing signs with B now, pin or no pin:
    the same refusal as a pinned mismatch (exit 3, one sentence naming both keys), and the log keeps naming A."""
    config = configure(tmp_path, sandbox, free_port())
    bridge = signed_chain(config)
    kept = keys.load(config.parent / keys.KEY_FILE)
    assert kept is not None
    other = keys.SigningKey.generate()
    put_key(config, other)
    said = (
        f"the signing key {config.parent / keys.KEY_FILE} is {other.fingerprint}, not {bridge}, the key the audit "
        "log was signed with: nothing is signed with it; the key file was replaced: put the key the log was signed "
        f"with back from your backup, then pin that one: `key_fingerprint: {bridge}` under `state:` in {config}"
    )
    assert_run_refuses(config, said)
    for command in (["audit", "anchor"], ["tick"]):
        code, out, err = run(config, *command)
        assert (code, out, err) == (3, "", f"error: {said}\n"), (command, out, err)
    code, out, err = run(config, "audit", "show")
    assert code == 0 and "escalation.notice_sent" in out and err == f"warning: {said}\n", err
    with Database(config.parent / "state.db") as db:
        with pytest.raises(keys.KeyProblem, match="nothing is signed with it"):
            audit.append(db, "escalation.notice_sent", client_id=1)
        assert audit.head_fingerprint(db) == bridge and not audit.checkpoints(db)
        with pytest.raises(keys.KeyProblem, match="nothing is signed with it"):
            audit.checkpoint(db, "staff")
    code, out, err = run(config, "check")
    assert code == 3 and f"key_fingerprint: {other.fingerprint}" not in out + err, err
    code, out, err = run(config, "audit", "key")
    assert f"key_fingerprint: {other.fingerprint}" not in out + err, out + err
    code, out, err = run(config, "audit", "verify")
    assert code == 1 and f"not {bridge}, the key the audit log was signed with" in err, err
    put_key(config, kept)
    with Database(config.parent / "state.db") as db:
        audit.append(db, "escalation.notice_sent", client_id=1)
    code, out, err = run(config, "audit", "verify")
    assert code == 0 and "audit chain intact: 2 entries" in out, out + err


def test_verify_dossier_without_a_public_key_takes_only_the_pinned_key(sandbox: Sandbox, tmp_path: Path):
    """From the issue-17 outside test (eighth round, leftover): with the pin naming key A and the key file beside
    the state swapped for B, `verify-dossier` (ownership, escalations) without --public-key verified with B, so a dossier B
    signed "verified" on an install that pins A. It refuses (exit 3, one sentence naming both keys) before
    reading the dossier; given the key with --public-key it does as before."""
    config = configure(tmp_path, sandbox, free_port())
    Database(config.parent / "state.db").close()
    bridge = keys.load(config.parent / keys.KEY_FILE)
    assert bridge is not None
    pin(config, bridge.fingerprint)
    other = keys.SigningKey.generate()
    put_key(config, other)
    folder = tmp_path / "dossier"
    folder.mkdir()
    said = (
        f"error: the key beside the state database, {config.parent / keys.KEY_FILE}, is {other.fingerprint}, not the "
        f"key pinned in the configuration ({bridge.fingerprint}, state.key_fingerprint in {config}): a dossier is "
        "verified only with the pinned key; give its public key with --public-key FILE\n"
    )
    for family in ("ownership", "escalations"):  # the collections dossier's check takes the key the same way
        code, out, err = run(config, family, "verify-dossier", str(folder))
        assert (code, out, err) == (3, "", said), family
