"""Issue 17, twenty-third break round, HIGH (repro_dossier_state_forgery, repro_reply_forgery,
repro_dispute_erased): parts of a case the keyed chain did not cover (its status, when it opened, its note, the
lines of its timeline, a party's reply in its ticket thread) were edited in the state database, without the key,
and went into a signed dossier that verified; a disputed case set to "cancelled", its holds deleted, let a new
case open on the subjects it froze. Each decision of the rules now seals the whole case in the chain (a SHA-256
of its state, and of what it holds and refers to): the state that differs from its last seal is refused
everywhere it is acted on or exported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox, sql
from tests.test_ownership_break19_integrity import failed, open_case
from tests.test_ownership_dossier_e2e import edit_case
from tests.test_ownership_dossier_verify import resign
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.evidence import keys
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def rejected(case: dict[str, Any]) -> None:
    case["status"] = "rejected"


def opened_earlier(case: dict[str, Any]) -> None:
    case["opened"] = "2026-01-05T09:00:00+00:00"


def timeline_line_rewritten(case: dict[str, Any]) -> None:
    case["history"][0]["why"] = "the holder asked for it by phone"


def timeline_line_added(case: dict[str, Any]) -> None:
    case["history"].append({**case["history"][-1], "by": "holder", "what": "holder consented", "why": "phoned"})


def reply_made_up(case: dict[str, Any]) -> None:
    case.setdefault("replies", []).append(
        {"party": "holder", "ticket": 1, "reply": 7, "message": "Fine by us, go ahead.", "classified": "consent"}
    )


EDITS = [rejected, opened_earlier, timeline_line_rewritten, timeline_line_added, reply_made_up]


@pytest.mark.parametrize("edit", EDITS)
def test_any_edit_of_a_cases_state_refuses_the_export_and_is_named_by_audit_verify(world: World, edit: Any):
    case_id = open_case(world)
    world.settle()
    before = world.case(case_id)
    edit_case(world, case_id, edit)
    assert world.case(case_id) != before
    out = failed(world, "ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert f"case {case_id}" in out and "edited outside the bridge" in out, out
    assert not (world.tmp / "dossier").exists()
    out = failed(world, "audit", "verify")
    assert f"case {case_id}" in out and "sealed" in out, out


def test_each_decision_seals_the_case_once_and_an_unedited_case_exports_and_verifies(world: World):
    case_id = open_case(world)
    world.settle()
    with Database(world.tmp / "state.db", signing=False) as db:
        seals = [r for r in audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}") if r["action"] == "state.sealed"]
    assert seals and all(r["detail"]["key"] == f"case:{case_id}" for r in seals)
    assert len({r["detail"]["state"] for r in seals}) == len(seals)  # a decision that changes nothing seals nothing
    world.run("tick")
    with Database(world.tmp / "state.db", signing=False) as db:
        again = [r for r in audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}") if r["action"] == "state.sealed"]
    assert again == seals
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    assert "verifies" in world.run("ownership", "verify-dossier", str(out), "--against-state").output
    assert "intact" in world.run("audit", "verify").output


def disputed(world: World) -> str:
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--by", "alice", "--note", "the vendor says the site is theirs",
    )  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    return case_id


def test_a_disputed_case_set_to_cancelled_with_its_holds_deleted_still_freezes_its_subjects(world: World):
    case_id = disputed(world)
    edit_case(world, case_id, rejected)
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(db, "DELETE FROM subject_hold")
    out = failed(
        world, "ownership", "open", "--subject", "domain:20", "--requester", "client:22", "--grounds", "vendor",
        "--by", "alice",
    )  # fmt: skip
    assert f"case {case_id}" in out and "edited outside the bridge" in out, out


def test_holds_deleted_alone_are_named_by_audit_verify(world: World):
    case_id = disputed(world)
    with Database(world.tmp / "state.db", signing=False) as db:
        assert sql(db, "SELECT count(*) AS n FROM subject_hold")[0]["n"] > 0
        sql(db, "DELETE FROM subject_hold")
    out = failed(world, "audit", "verify")
    assert f"case {case_id}" in out and "holds" in out, out


def test_a_dossier_whose_case_differs_from_its_last_seal_does_not_verify(world: World, tmp_path: Path):
    """Offline: the case section of a manifest is checked against the last seal among the dossier's own rows
    (re-signed here with the bridge's own key, as only a bug could: the check does not rest on the signature)."""
    case_id = open_case(world)
    world.settle()
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["case"]["status"] = "completed"
    with Database(world.tmp / "state.db") as db:
        assert db.signer is not None
        resign(out, manifest, db.signer)
        key: keys.PublicKey = db.signer.public
    found = "\n".join(_problems(out, key))
    assert "sealed" in found, found


def _problems(out: Path, key: keys.PublicKey) -> list[str]:
    try:
        dossier.verify(out, key)
    except Exception as exc:  # noqa: BLE001  (the verifier's one error, whatever it names)
        return str(exc).split("\n")
    return []
