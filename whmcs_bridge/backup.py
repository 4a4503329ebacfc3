"""`whmcs-bridge backup PATH`: a consistent online copy of the state database, verified before it is kept."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from whmcs_bridge import permissions
from whmcs_bridge.clock import iso, utcnow
from whmcs_bridge.errors import AuditChainError, BridgeError, StoreError
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.store import audit, poll
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.poll import RESTORED_CURSOR


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    audit_entries: int
    migrations: list[str]


def make_backup(state: Path, target: Path) -> BackupReport:
    """Copy `state` to `target` while the daemon runs, then check the copy (integrity, the whole audit
    chain) before it takes its name; a failed check leaves nothing at `target`."""
    if target.exists():
        raise BridgeError(f"{target} already exists: a backup is written to a new file")
    if not target.parent.is_dir():
        raise BridgeError(f"{target.parent} is not a folder")
    permissions.check_writable_folder(target.parent)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with Database(state, migrate=False) as live:
            live.backup_to(partial)
            key = live.signer.public if live.signer else None
        with Database(partial, migrate=False, signing=False) as copy:
            # Restored, the copy's planned actions may have run after it was made: look for them first.
            with copy.atomic():
                poll.set_cursor(copy, RESTORED_CURSOR, iso(utcnow()), utcnow())
        os.chmod(partial, 0o600)  # it holds what the state holds
        report = check_copy(partial, target, key)
        with open(partial, "rb") as done:
            os.fsync(done.fileno())
        os.replace(partial, target)
        return report
    finally:
        partial.unlink(missing_ok=True)


def check_copy(copy: Path, named: Path, key: PublicKey | None = None) -> BackupReport:
    """The copy's integrity and its audit chain, signatures checked with the live bridge's key."""
    with Database(copy, migrate=False, signing=False) as db:
        problems = db.integrity_check()
        if problems != ["ok"]:
            raise StoreError(f"the copy does not pass integrity_check ({problems[0]}); nothing was written to {named}")
        try:
            entries = audit.verify(db, key)
        except AuditChainError as exc:
            raise StoreError(f"the copy's audit chain does not verify ({exc}); nothing was written to {named}") from None
        migrations = db.applied_migrations()
    return BackupReport(named, copy.stat().st_size, entries, migrations)
