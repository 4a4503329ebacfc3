"""One process at a time runs actions on a state database: an OS lock on a file beside it.

`run` holds the lease for its whole life and `tick` for its pass. The kernel releases the lock when the
process ends, however it ends (kill -9 included), so a crashed daemon never blocks its successor. The
file also says who holds it, so that the refusal can name the other process."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from whmcs_bridge import permissions
from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import EnvironmentProblem, StoreError


def lock_path(db_path: Path) -> Path:
    """The lock file beside the database file itself: a symlink or another relative path to the same file
    names the same lock (a second daemon reached it by a symlink, and both ran actions)."""
    real = db_path.resolve()
    return real.with_name(real.name + ".lock")


class Lease:
    def __init__(self, db_path: Path, what: str) -> None:
        """Take the lease on `db_path` for `what` (e.g. "whmcs-bridge run"), or raise StoreError naming
        the process that holds it."""
        self.path = lock_path(db_path)
        self.db_path = db_path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # held for the lease's life; 0600 like the database, whoever creates it (a root `tick` made it 0644)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            self.file: IO[str] | None = os.fdopen(fd, "a+", encoding="utf-8")
        except PermissionError:
            permissions.check_writable_folder(self.path.parent)
            raise permissions.denied(self.path, "open") from None
        except OSError as exc:
            raise StoreError(f"cannot open {self.path} to lock the state database: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe(self.path)
            self.file.close()
            self.file = None
            raise EnvironmentProblem(
                f"{holder} already works on {db_path}: one process at a time runs actions on a state database "
                "(stop it first, or let it do the work)"
            ) from None
        self.tell(what)

    def tell(self, what: str) -> None:
        """Say who holds the lease (read by a process that is refused)."""
        if self.file is None:
            return
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps({"what": what, "pid": os.getpid(), "since": iso(utcnow())}) + "\n")
        self.file.flush()

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing the descriptor releases the lock
            self.file = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe(path: Path) -> str:
    """Who holds the lease, as its file says: "whmcs-bridge run (pid 1234, since ...)"."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another process"
    return f"{holder.get('what', 'another process')} (pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"
