"""Reading a file staff give as evidence: a regular file of its own, never the bridge's own secrets.

A link (`call-notes.txt` -> signing-key.pem), a device (/dev/zero), a FIFO or a file of the bridge (its
configuration, .env, state database, signing key or evidence store) is refused with one sentence: what is
attached is copied into dossiers that leave the machine."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from whmcs_bridge.errors import BridgeError


def read(path: Path, *, limit: int, limit_name: str, private: Iterable[Path]) -> tuple[str, bytes]:
    """(file name, content) of the regular file at `path`, at most `limit` bytes; `private`: the bridge's own
    files and folders (a folder covers what is inside it)."""
    if path.is_symlink():
        raise BridgeError(f"{path} is a symbolic link: give the file itself")
    real = path.resolve()
    for own in private:
        own = own.resolve()
        if real == own or own in real.parents:
            raise BridgeError(f"{path} is the bridge's own file ({own}): it is never evidence")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BridgeError(f"{path} is not a regular file: give a document")
        if info.st_size > limit:
            raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while read
        raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
    return path.name, data
