"""Start-up failures as an operator meets them: one sentence each, naming the path and the user, and an
exit code of their own (the README's "Exit codes" table, kept in step with errors.py here)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import sql
from tests.test_cli import write_config
from whmcs_bridge import errors
from whmcs_bridge.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
AS_ROOT = os.geteuid() == 0
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _nobody_reaches_the_checkout() -> bool:
    if not AS_ROOT:
        return True
    probe = subprocess.run([*NOBODY, sys.executable, "-c", "import whmcs_bridge"], capture_output=True, timeout=60)
    return probe.returncode == 0


# As root, these tests run commands as `nobody`; it must reach this checkout and its venv (.ci/run opens
# its temporary folder for it). Under WHMCS_BRIDGE_REQUIRE_TOOLS=1 they never skip.
as_service_user = pytest.mark.skipif(
    os.environ.get("WHMCS_BRIDGE_REQUIRE_TOOLS") != "1" and not _nobody_reaches_the_checkout(),
    reason="user nobody cannot reach this checkout (a private parent folder): the permission tests run as it",
)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder another user can reach (pytest's own tmp folders are private to their owner)."""
    path = Path(tempfile.mkdtemp(prefix="whmcs-bridge-startup-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bridge(config: Path, *args: str, service_user: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own; as an unprivileged user (nobody) when asked and when we are root."""
    prefix = NOBODY if service_user and AS_ROOT else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "whmcs_bridge", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def give_to_service_user(*paths: Path) -> str:
    """Hand paths to the user the commands run as; return that user's name."""
    if not AS_ROOT:
        return os.environ.get("USER") or str(os.geteuid())
    for path in paths:
        os.chown(path, 65534, 65534)
    return "nobody"


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_port_in_use_is_one_sentence_and_exit_3(folder: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(folder, extra="")
        config.write_text(config.read_text().replace("receiver:\n", f"receiver:\n  listen: 127.0.0.1:{port}\n"))
        result = bridge(config, "run")
    assert result.returncode == errors.EXIT_ENVIRONMENT == 3
    line = one_sentence(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "already in use" in line and str(config) in line


@as_service_user
def test_unreadable_config_is_a_permission_problem_naming_path_and_user(folder: Path):
    config = write_config(folder)
    config.chmod(0o600)  # root's file, as `cp` under sudo leaves it
    if not AS_ROOT:
        config.chmod(0o000)
    result = bridge(config, "check", service_user=True)
    assert result.returncode == errors.EXIT_ENVIRONMENT
    line = one_sentence(result)
    user = "nobody" if AS_ROOT else ""
    assert re.search(rf"permission denied: user {user}\S* cannot read {re.escape(str(config))}", line), line
    assert "mode 0" in line


@as_service_user
def test_unwritable_state_folder_is_a_permission_problem(folder: Path):
    config = write_config(folder)
    state = folder / "state"
    state.mkdir(mode=0o755)  # `install -d` as root: root's folder
    config.write_text(config.read_text().replace("path: state.db", f"path: {state / 'state.db'}"))
    user = give_to_service_user(config, folder / ".env")
    if not AS_ROOT:
        state.chmod(0o555)
    result = bridge(config, "tick", service_user=True)
    assert result.returncode == errors.EXIT_ENVIRONMENT
    line = one_sentence(result)
    assert f"permission denied: user {user} cannot write in {state}" in line and "sudo -u whmcs-bridge" in line


@as_service_user
def test_database_created_by_another_user_is_a_permission_problem_not_corruption(folder: Path):
    config = write_config(folder)
    Database(folder / "state.db").close()  # `whmcs-bridge tick` once as root, before the service ran
    user = give_to_service_user(config, folder / ".env", folder)
    if not AS_ROOT:
        (folder / "state.db").chmod(0o444)
    result = bridge(config, "tick", service_user=True)
    assert result.returncode == errors.EXIT_ENVIRONMENT
    line = one_sentence(result)
    assert f"permission denied: user {user} cannot write {folder / 'state.db'}" in line
    assert "not a usable" not in line


def test_a_file_that_is_not_a_database_exits_4(folder: Path):
    config = write_config(folder)
    (folder / "state.db").write_bytes(b"this is not SQLite\n" * 300)
    result = bridge(config, "tick")
    assert result.returncode == errors.EXIT_DATABASE == 4
    assert "is not a usable whmcs-bridge state database" in one_sentence(result)


def test_a_damaged_database_is_found_by_quick_check_at_start(folder: Path):
    config = write_config(folder)
    with Database(folder / "state.db") as db:
        sql(
            db,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
            " INSERT INTO poll_cursor (name, value, updated_at) SELECT 'cursor-' || i, hex(randomblob(100)), '' FROM n",
        )
    page_size = 4096  # SQLite's default
    data = bytearray((folder / "state.db").read_bytes())
    middle = (len(data) // page_size // 2) * page_size
    data[middle + 8 : middle + page_size] = b"\xa5" * (page_size - 8)  # one page's cells overwritten
    (folder / "state.db").write_bytes(bytes(data))
    result = bridge(config, "run")
    assert result.returncode == errors.EXIT_DATABASE
    line = one_sentence(result)
    assert "is damaged (quick_check" in line and "restore it from a backup" in line


def test_a_world_readable_env_file_is_refused(folder: Path):
    config = write_config(folder)
    (folder / ".env").chmod(0o644)
    result = bridge(config, "check")
    assert result.returncode == errors.EXIT_ENVIRONMENT
    line = one_sentence(result)
    assert f"{folder / '.env'} can be read by every user" in line and f"chmod 600 {folder / '.env'}" in line


def test_the_readme_documents_every_exit_code():
    table = (ROOT / "README.md").read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert len(set(codes.values())) == len(codes)
    for value in codes.values():
        assert re.search(rf"^\| {value} \|", table, re.M), f"exit code {value} is not in the README's table"


@as_service_user
def test_backup_into_a_folder_the_user_cannot_write_is_a_permission_problem(folder: Path):
    config = write_config(folder)
    Database(folder / "state.db").close()
    user = give_to_service_user(config, folder / ".env", folder / "state.db")
    shut = folder / "backups"
    shut.mkdir(mode=0o755)  # root's
    if not AS_ROOT:
        shut.chmod(0o555)
    result = bridge(config, "backup", str(shut / "copy.db"), service_user=True)
    assert result.returncode == errors.EXIT_ENVIRONMENT
    assert f"permission denied: user {user} cannot write in {shut}" in one_sentence(result)
