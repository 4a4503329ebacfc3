"""The README's "Install beside WHMCS", run in a temporary root: the service user (simulated by `nobody`
when we are root, ourselves otherwise) can check the configuration and run the shipped unit's command
line; `systemd-analyze verify` accepts the unit."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import IDENTIFIER, SECRET, WEBHOOK_SECRET, Sandbox, needs
from tests.test_daemon import free_port, wait_until
from tests.test_startup import as_service_user as reachable_by_nobody
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "whmcs-bridge.service"
VENV_BIN = Path(sys.executable).parent
AS_ROOT = os.geteuid() == 0
USER, GROUP = ("nobody", "nogroup") if AS_ROOT else (None, None)


def readme_install() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- install:begin -->", 1)[1].split("<!-- install:end -->", 1)[0]
    return block.split("```sh\n", 1)[1].split("```", 1)[0]


def as_service_user() -> list[str]:
    return ["setpriv", f"--reuid={USER}", f"--regid={GROUP}", "--clear-groups"] if AS_ROOT else []


def unit_exec_start() -> list[str]:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    return shlex.split(unit["Service"]["ExecStart"])


@pytest.fixture
def fakeroot() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="whmcs-bridge-root-"))
    root.chmod(0o755)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "var" / "lib").mkdir(parents=True)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def into(root: Path, text: str) -> str:
    """The README's paths moved into the temporary root; this checkout's venv stands in for /opt's."""
    text = text.replace("/opt/whmcs-bridge/bin/", f"{VENV_BIN}/")
    text = text.replace("/opt/whmcs-bridge/share/whmcs-bridge/", f"{ROOT}/")
    return text.replace("/etc/", f"{root}/etc/").replace("/var/lib/", f"{root}/var/lib/")


def shell_lines(root: Path, block: str) -> str:
    """The block as a script for this machine: the user is simulated, the venv exists, systemd is not asked."""
    skipped = ("useradd ", "python3 -m venv ", f"{VENV_BIN}/pip ", "systemctl ", "curl ", "editor ")
    script = into(root, block)
    for name, value in (("WHMCS_API_IDENTIFIER", IDENTIFIER), ("WHMCS_API_SECRET", SECRET)):
        script = script.replace(f"{name}=...", f"{name}={value}")
    script = script.replace("WHMCS_BRIDGE_WEBHOOK_SECRET=whsec_...", f"WHMCS_BRIDGE_WEBHOOK_SECRET={WEBHOOK_SECRET}")
    if AS_ROOT:
        script = script.replace("-g whmcs-bridge", f"-g {GROUP}").replace("-o whmcs-bridge", f"-o {USER}")
        script = script.replace("sudo -u whmcs-bridge ", " ".join(as_service_user()) + " ")
    else:
        script = re.sub(r"-o \S+ -g \S+ ", "", script).replace("sudo -u whmcs-bridge ", "")
    return "\n".join(line for line in script.splitlines() if not line.startswith(skipped))


def configure(root: Path, whmcs_url: str, port: int) -> None:
    """What the operator's editor does: WHMCS's address, a free port; the paths are the README's."""
    path = root / "etc" / "whmcs-bridge" / "whmcs-bridge.yaml"
    text = path.read_text().replace("https://billing.example.com/\n", f"{whmcs_url}\n", 1)
    text = text.replace("listen: 127.0.0.1:8787", f"listen: 127.0.0.1:{port}")
    text = text.replace("  max_attempts: 5", "  max_attempts: 1")
    path.write_text(into(root, text))


@reachable_by_nobody
def test_the_readme_install_runs_and_the_unit_command_starts_as_the_service_user(
    fakeroot: Path, sandbox: Sandbox
):
    sandbox.load("empty")
    block = readme_install()
    before, after = block.split("editor ", 1)
    after = after.split("\n", 1)[1]
    port = free_port()
    subprocess.run(["bash", "-euo", "pipefail", "-c", shell_lines(fakeroot, before)], check=True, timeout=60)
    configure(fakeroot, sandbox.url, port)
    checked = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", shell_lines(fakeroot, after)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr
    assert "configuration is valid" in checked.stdout and "every action the bridge needs is allowed" in checked.stdout
    assert (fakeroot / "etc" / "systemd" / "system" / "whmcs-bridge.service").read_text() == UNIT.read_text()

    command = [into(fakeroot, part) for part in unit_exec_start()]
    daemon = subprocess.Popen(as_service_user() + command, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/healthz"

        def up() -> bool:
            assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
            try:
                return requests.get(url, timeout=2).status_code in (200, 503)
            except requests.ConnectionError:
                return False

        wait_until(up, seconds=60)
        assert requests.get(url, timeout=5).json()["status"] == "ok"
        state = fakeroot / "var" / "lib" / "whmcs-bridge" / "state.db"
        info = state.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600
        if AS_ROOT:
            assert info.st_uid == 65534  # the service user's, not root's
    finally:
        daemon.terminate()
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err


@needs("systemd-analyze", install="Debian's systemd")
def test_systemd_analyze_verifies_the_shipped_unit(tmp_path: Path):
    text = UNIT.read_text()
    assert "Wants=network-online.target" in text and "After=network-online.target" in text
    for hardening in ("NoNewPrivileges=true", "ProtectSystem=strict", "PrivateTmp=true", "StateDirectory=whmcs-bridge"):
        assert hardening in text
    # verify checks that ExecStart's program exists: point it at this checkout's install.
    unit = tmp_path / "whmcs-bridge.service"
    unit.write_text(text.replace("/opt/whmcs-bridge/bin/", f"{VENV_BIN}/"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "whmcs-bridge.service" not in result.stderr, result.stderr  # no warning about our unit


def readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split(f"<!-- {name}:begin -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return block.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", "")


def test_the_readme_install_previews_before_it_starts_the_service():
    """Found walking the README: its block started the daemon, and "Going live" (preview first) came after."""
    block = readme_install()
    assert block.index("plan --preview") < block.index("systemctl enable --now")


@reachable_by_nobody
def test_the_readme_uninstall_keeps_a_verified_last_backup_outside_what_it_removes(fakeroot: Path, sandbox: Sandbox):
    """Found walking the README: its uninstall removed the command before "a last backup", and the backup
    folder it suggests is the state folder it removes."""
    sandbox.load("empty")
    block = readme_install()
    before, _ = block.split("editor ", 1)
    subprocess.run(["bash", "-euo", "pipefail", "-c", shell_lines(fakeroot, before)], check=True, timeout=60)
    configure(fakeroot, sandbox.url, free_port())
    config = fakeroot / "etc" / "whmcs-bridge" / "whmcs-bridge.yaml"
    tick = [*as_service_user(), f"{VENV_BIN}/whmcs-bridge", "--config", str(config), "tick"]
    subprocess.run(tick, check=True, capture_output=True, timeout=60, cwd="/")
    hooks = fakeroot / "var" / "www" / "whmcs" / "includes" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "whmcs_bridge.php").write_text("<?php\n")
    script = readme_block("uninstall").replace("/root/", f"{fakeroot}/root/").replace("/var/www/", f"{fakeroot}/var/www/")
    lines = shell_lines(fakeroot, script).splitlines()
    # What cannot run here: the real /opt venv (this checkout's stands in), the example spool path, the user.
    kept = "\n".join(line for line in lines if not line.startswith(("rm -r /opt/", "rm -r /path/", "userdel ")))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", kept], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (fakeroot / "etc" / "whmcs-bridge").exists() and not (fakeroot / "var" / "lib" / "whmcs-bridge").exists()
    assert not (hooks / "whmcs_bridge.php").exists()
    saved = list((fakeroot / "root" / "whmcs-bridge-kept" / "state").glob("last-*.db"))
    assert len(saved) == 1 and (fakeroot / "root" / "whmcs-bridge-kept" / "config" / "whmcs-bridge.yaml").is_file()
    with Database(saved[0], migrate=False) as db:
        assert audit.verify(db) >= 0
