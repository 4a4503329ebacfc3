"""`whmcs-bridge backup PATH` against a running daemon under load: the copy restores to a database whose
audit chain verifies with every entry, including what was still in the WAL."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_daemon import Running, configure, free_port, note, plan_actions, wait_until
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


def audit_count(path: Path) -> int:
    with Database(path, migrate=False) as db:
        return audit.verify(db)


def test_backup_of_a_running_daemon_under_load_restores_with_every_audit_entry(world: Sandbox, tmp_path: Path):
    port = free_port()
    config = configure(tmp_path, world, port)
    plan_actions(tmp_path / "state.db", [note(n) for n in range(400)])
    daemon = Running(config, port)
    stop = threading.Event()

    def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                daemon.send(f"msg_backup_{n}", "InvoicePaid", {"invoiceid": 10_000 + n})
            except requests.RequestException:
                return

    sender = threading.Thread(target=load)
    sender.start()
    try:
        wait_until(lambda: audit_count(tmp_path / "state.db") >= 50, seconds=120)
        before = audit_count(tmp_path / "state.db")
        target = tmp_path / "backups" / "state-copy.db"
        target.parent.mkdir()
        made = subprocess.run(
            [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "backup", str(target)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        entries = int(re.search(r"audit chain intact with (\d+) entr", made.stdout).group(1))  # type: ignore[union-attr]
        assert entries >= before
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        again = CliRunner().invoke(cli.main, ["--config", str(config), "backup", str(target)])
        assert again.exit_code == 1 and "already exists" in again.stderr
    finally:
        stop.set()
        sender.join(timeout=30)
        code, err = daemon.stop()
    assert code == 0, err

    # Restore, as the README says: the daemon stopped, the copy put in the state's place.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(config.parent / ".env", restored / ".env")
    (restored / ".env").chmod(0o600)
    restored_config = restored / "bridge.yaml"
    restored_config.write_text(config.read_text())
    shutil.copy(target, restored / "state.db")
    shutil.copy(config.parent / "signing-key.pem", restored / "signing-key.pem")  # the key is not in the backup
    (restored / "signing-key.pem").chmod(0o600)
    verified = CliRunner().invoke(cli.main, ["--config", str(restored_config), "audit", "verify"])
    assert verified.exit_code == 0, verified.stderr
    fingerprint = verified.stdout.strip().rpartition(" ")[2]
    assert verified.stdout.strip() == f"audit chain intact: {entries} entries, signed with {fingerprint}"
    assert fingerprint.startswith("SHA256:")
