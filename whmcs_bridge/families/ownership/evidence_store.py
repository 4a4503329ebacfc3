"""The evidence store: each file content-addressed by SHA-256, read-only, never overwritten, in a folder only
the bridge's user reads (ownership.evidence_dir, else `evidence` beside the state database)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.ownership import filetypes
from whmcs_bridge.families.ownership.filetypes import sniff


def evidence_dir(config: Config) -> Path:
    if config.ownership.evidence_dir:
        return Path(config.ownership.evidence_dir)
    return config.state.path.parent / "evidence"


def store_evidence(config: Config, data: bytes) -> tuple[str, str]:
    """Keep the file content-addressed by SHA-256, read-only, never overwritten; return (hash, type)."""
    limit = config.ownership.max_evidence_mb * 1024 * 1024
    if not data:
        raise BridgeError("the file is empty")
    if len(data) > limit:
        raise BridgeError(
            f"the file is {len(data) / 1048576:.1f} MB; the limit is {config.ownership.max_evidence_mb} MB (ownership.max_evidence_mb)"
        )
    kind = sniff(data)
    if kind is None or kind not in config.ownership.evidence_types:
        allowed = ", ".join(config.ownership.evidence_types)
        raise BridgeError(
            f"the file is {'of an unrecognised type' if kind is None else 'a ' + kind + ' file'}; accepted: {allowed} (ownership.evidence_types)"
        )
    wrong = filetypes.problem(data, kind)
    if wrong:
        raise BridgeError(f"{wrong}; attach the whole document")
    digest = hashlib.sha256(data).hexdigest()
    root = evidence_dir(config)
    folder = root / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    for path in (root, folder):
        os.chmod(path, 0o700)
    target = folder / digest
    if target.exists():
        if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            raise BridgeError(
                f"the stored evidence {target} no longer matches its hash: it was altered; investigate before adding more"
            )
        return digest, kind
    temp = folder / f".{digest}.{uuid.uuid4().hex}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp, 0o400)
    try:
        os.link(temp, target)  # fails if it appeared meanwhile: never replaced
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return digest, kind


def evidence_path(config: Config, digest: str) -> Path:
    return evidence_dir(config) / digest[:2] / digest
