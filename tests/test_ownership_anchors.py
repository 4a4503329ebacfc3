"""Issue 17, H4 (b): the rows of an ownership move's execution are anchored in WHMCS's activity log when
they happen (after the pass that changed the registrant and set the transfer lock, and at completion), not
only by the next daily anchor; so someone holding both the database and the signing key, who rewrites those
rows and re-signs the chain, passes `audit verify` but not `audit verify --against-whmcs`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Sandbox, sql
from tests.test_audit_tamper import forge, verify
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def row_of(db: Database, action: str, **detail: Any) -> int:
    found = [
        e.id
        for e in audit.entries(db, action=action)
        if e.action == action and all(e.detail.get(k) == v for k, v in detail.items())
    ]
    assert found, f"no {action} row with {detail}"
    return found[-1]


def resign(state: Path) -> None:
    """What the key's holder does after rewriting rows: sign the head and every kept checkpoint again."""
    with Database(state, migrate=False) as db:
        assert db.signer is not None
        for point in audit.checkpoints(db):
            digest = audit.hash_of(db, point.count)
            assert digest is not None
            signature = db.signer.sign(audit.statement(point.count, digest))
            sql(db, "UPDATE audit_checkpoint SET hash = ?, signature = ? WHERE count = ?", digest, signature, point.count)
        audit.sign_head(db)


def test_a_moves_rows_are_anchored_at_its_start_and_completion(world: World, tmp_path: Path):
    state = tmp_path / "state.db"
    case_id = open_and_document(world, "domain:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("ownership", "approve", case_id, "--by", "alice")  # anchored before the command returns
    world.settle()  # the bridge's passes change the registrant and set the transfer lock
    with Database(state) as db:
        update = row_of(db, "executor.done", kind="registrant_update")
        lock = row_of(db, "executor.done", kind="domain_lock")
        # The first anchor after the move's steps, by the pass that ran them: not left for the daily anchor.
        started = audit.anchored_from(db, max(update, lock))
        assert started is not None
        approved = max(p.count for p in audit.checkpoints(db, anchored=True) if p.count < update)

    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    assert world.case(case_id)["status"] == "completed"
    with Database(state) as db:
        completed = row_of(db, "ownership.execution_completed", case=case_id, by="bridge")
        done = audit.anchored_from(db, completed)
        assert done is not None and completed > started.count

    # Someone with the database and the key makes the registrant update say something else, and re-signs.
    def rewrite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            if row["id"] == update:
                row["detail"] = {**row["detail"], "params": {**row["detail"]["params"], "domain_id": 99}}
        return rows

    forge(world.config, rewrite=rewrite)
    resign(state)
    with Database(state, migrate=False) as db:
        assert '"domain_id":99' in sql(db, "SELECT detail FROM audit_log WHERE id = ?", update)[0]["detail"]
    code, out = verify(world.config)
    assert code == 0 and "audit chain intact" in out, out  # nothing local can tell
    code, out = verify(world.config, "--against-whmcs")
    assert code == 1 and "intact" not in out, out
    assert f"row {started.count} is not the row anchored on" in out, out
    # The rewritten row lies between the last anchor that still matches and this one: that range is named.
    assert f"the chain was rewritten in rows {approved + 1} to {started.count}" in out, out
    assert f"the anchor of row {approved} still matches" in out, out
