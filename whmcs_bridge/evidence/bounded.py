"""The verifier's bounded reading of a sealed folder's files: each opened inside the folder without following a
link or waiting on a FIFO, and read no further than the most any dossier holds, so a forger's folder is named,
never read through or read forever (evidence.folder checks a dossier with it)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from whmcs_bridge.errors import BridgeError

# What a dossier's own files may hold, read whole: far more than `export` writes (a case's manifest, one signature
# line, the audit rows of one case's segment), far less than /dev/zero or a sparse file a forger made (twenty-third
# round: audit.jsonl linked to /dev/zero was read until MemoryError).
LARGEST_MANIFEST = 64 * 1048576
LARGEST_SIGNATURE = 4096
LARGEST_AUDIT = 256 * 1048576
# A file the manifest lists (evidence, the summary), hashed: at most the largest evidence the bridge takes
# (families/ownership/config.py LARGEST_EVIDENCE_MB, the most ownership.max_evidence_mb may be); a larger one is
# named unread (twenty-fourth round: a 200 GB sparse file was hashed for minutes).
LARGEST_LISTED = 1024 * 1048576


class Refused(BridgeError):
    """A file of a dossier that is not read: a link, not a regular file, missing, or too large (the sentence)."""


def opened_inside(folder: Path, name: str) -> int:
    """A descriptor of the regular file `name` (a relative path, folder.unsafe_name has checked it) inside `folder`, every
    part opened without following a link (O_NOFOLLOW) and the file without waiting on a FIFO (O_NONBLOCK): what a
    forger put under a listed name is named, never opened through (twenty-third round: a FIFO hung the verifier, a
    link out of the folder was read although the verifier said it was not)."""
    parts = name.split("/")
    try:
        at = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise Refused(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=at)
            os.close(at)
            at = inner
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=at)
    except OSError as exc:
        raise Refused(_why_not_opened(name, exc)) from None
    finally:
        os.close(at)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO, a device under a listed file's name
        os.close(fd)
        raise Refused(f"{name}: not a regular file (replaced; not read)")
    return fd


def _why_not_opened(name: str, exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (FreeBSD says EMLINK)
        return f"{name}: a link, possibly out of the dossier's folder (refused, not read)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{name}: missing"
    return f"{name}: cannot be read ({exc.strerror or exc})"


def read_inside(folder: Path, name: str, limit: int) -> bytes:
    """The content of the regular file `name` inside `folder` (opened_inside), at most `limit` bytes."""
    with os.fdopen(opened_inside(folder, name), "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{name}: larger than {limit} bytes, more than any dossier holds (not read)")
    return data


def sha256_inside(folder: Path, name: str, limit: int = LARGEST_LISTED) -> str:
    """The SHA-256 of the regular file `name` inside `folder` (opened_inside), read in blocks; a file larger than
    `limit` is refused before it is read."""
    digest, size = hashlib.sha256(), 0
    too_large = Refused(f"{name}: larger than {limit // 1048576} MB, the largest evidence the bridge takes (not read)")
    with os.fdopen(opened_inside(folder, name), "rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            raise too_large
        for block in iter(lambda: handle.read(1 << 16), b""):
            size += len(block)
            if size > limit:  # it grew while read
                raise too_large
            digest.update(block)
    return digest.hexdigest()
