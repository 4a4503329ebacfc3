"""What a state database says of its signer, read for `check` and `audit key` to hold the key file against.
Apart from evidence/keys.py, which the store itself loads: this module reads the store."""

from __future__ import annotations

from pathlib import Path

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.keys import ChainSigner
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


def chain_signer(state_path: Path) -> ChainSigner | None:
    """What the state database at `state_path` says of its signer (None without a database this user may open)."""
    if not state_path.is_file():
        return None
    try:
        with Database(state_path, migrate=False, signing=False) as db:
            return ChainSigner(state_path, audit.signed_by(db), audit.was_signed(db))
    except BridgeError:  # a database this user may not open: nothing to hold the key against, as before
        return None
