"""Permission problems as permission problems: which user could not do what to which path, and why."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

from whmcs_bridge.errors import EnvironmentProblem


def user_name(uid: int | None = None) -> str:
    uid = os.geteuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def describe(path: Path) -> str:
    """`owner root:root, mode 0600` for the path, or for its nearest existing parent."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        info = probe.stat()
    except OSError:
        return "it cannot be inspected"
    owner = f"owner {user_name(info.st_uid)}:{group_name(info.st_gid)}, mode {stat.S_IMODE(info.st_mode):04o}"
    return owner if probe == path else f"it does not exist; {probe} has {owner}"


def denied(path: Path, doing: str) -> EnvironmentProblem:
    """The sentence for a refused `doing` ("read", "write in") on `path`, naming the user."""
    user = user_name()
    return EnvironmentProblem(
        f"permission denied: user {user} cannot {doing} {path} ({describe(path)}); "
        f"make {user} its owner (chown) or run the command as the user that owns it "
        "(sudo -u whmcs-bridge whmcs-bridge ...)"
    )


def check_readable(path: Path) -> None:
    if path.exists() and not os.access(path, os.R_OK):
        raise denied(path, "read")


def check_writable_folder(folder: Path) -> None:
    """The state folder: SQLite writes its -wal and -shm files beside the database."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise EnvironmentProblem(f"{probe} is not a folder: the state folder {folder} cannot be made there")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise denied(folder, "write in" if probe == folder else "create")


def check_writable_file(path: Path) -> None:
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise denied(path, "write")
