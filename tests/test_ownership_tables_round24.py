"""Issue 17, twenty-fourth break round, ownership evidence MEDIUM 7 (repro_action_table_edited): the dossier's
action table comes from the outbox, which is not keyed. After a completed case, the outbox row of the WHOIS
registrant update was deleted and the transfer lock's stored outcome rewritten to "refused by the registrar": the
export signed both. Each action the chain recorded done must show in the table, and what the table says of its
outcome (done, or refused by the registrar) must be what the chain's row recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox, sql
from tests.test_ownership_break19_integrity import failed
from tests.test_ownership_e2e import World, vendor_world
from tests.test_ownership_late_break12 import completed_case
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def export_refused(world: World, case_id: str, named: str) -> None:
    out = failed(world, "ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert "edited outside the bridge" in out and named in out, out
    assert not (world.tmp / "dossier").exists()


def test_an_action_the_chain_recorded_done_deleted_from_the_table_refuses_the_export(world: World):
    case_id = completed_case(world)
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, "SELECT id, action_key FROM outbox WHERE kind = 'registrant_update'")
        sql(db, "DELETE FROM outbox WHERE id = ?", row["id"])
    export_refused(world, case_id, row["action_key"])


@pytest.mark.parametrize("refused", [True, False])
def test_an_outcome_rewritten_in_the_table_refuses_the_export(world: World, refused: bool):
    case_id = completed_case(world)
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, "SELECT id, action_key, result FROM outbox WHERE kind = 'domain_lock'")
        result = json.loads(row["result"] or "{}")
        if refused:
            result["outcome"] = {"refused": "Registrar Error: Domain lock not supported"}
        else:
            assert not (result.get("outcome") or {}).get("refused")
            result.pop("outcome", None)
            result["feed"] = "edited"
        sql(db, "UPDATE outbox SET result = ? WHERE id = ?", json.dumps(result), row["id"])
    if refused:
        export_refused(world, case_id, row["action_key"])
    else:  # a change that does not change what the table shows is not an edit of the dossier's facts
        world.run("ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
