"""Twenty-fifth break round, HIGH (repro_outbox_params_edited): someone with write access to the state database but
not the signing key edited an approved registrant update's parameters in the outbox (domain #20 -> #21): the other
domain's registrant was rewritten, the case said domain #20 was done and `audit verify` said intact. Each action
planned now carries, in its `engine.action_planned` row, the SHA-256 of its kind, parameters, client and guard (and
each text the executor keeps in it before the call, its own row): an action whose row no longer matches is parked
before it runs, and `audit verify` names it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Sandbox, sql
from tests.test_ownership_break19_integrity import failed
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def approved(world: World) -> str:
    """A case on domain #20, the holder consenting, approved by as many staff as its policy asks."""
    case_id = open_and_document(world, "domain:20")
    answer = requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200
    world.settle()
    assert world.case(case_id)["status"] == "review"
    for by in ("alice", "bob"):
        if world.case(case_id)["status"] == "review":
            world.run("ownership", "approve", case_id, "--by", by, "--note", "documents in order")
    return case_id


def registrant_row(world: World, case_id: str) -> dict[str, object]:
    with Database(world.tmp / "state.db", signing=False) as db:
        rows = sql(db, "SELECT * FROM outbox WHERE kind = 'registrant_update' AND subject = ?", f"ownership:{case_id}")
    assert len(rows) == 1, rows
    return dict(rows[0])


def whois(world: World, domain: int) -> dict[str, str]:
    found: dict[str, str] = json.loads(world.sandbox.rows("domains", id=domain)[0]["whois"])["Registrant"]
    return found


def test_an_actions_parameters_edited_in_the_outbox_park_it_and_audit_verify_names_it(world: World):
    case_id = approved(world)
    row = registrant_row(world, case_id)
    assert row["status"] in ("planned", "awaiting_approval"), row
    params = json.loads(str(row["params"]))
    assert params["domain_id"] == 20
    other = whois(world, 21)
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(db, "UPDATE outbox SET params = ? WHERE id = ?", json.dumps({**params, "domain_id": 21}), row["id"])
    world.settle()
    assert whois(world, 21) == other  # the domain no case is about keeps its registrant
    row = registrant_row(world, case_id)
    assert row["status"] == "parked", row
    assert "audit chain" in str(row["error"]) and "edited outside the bridge" in str(row["error"]), row["error"]
    out = failed(world, "audit", "verify")
    assert str(row["action_key"]) in out and "registrant_update" in out, out


def test_unedited_actions_run_and_verify(world: World):
    case_id = approved(world)
    world.settle()
    assert registrant_row(world, case_id)["status"] == "done"
    assert whois(world, 20)["Organisation_Name"] == "PT Maju Makmur"
    assert "intact" in world.run("audit", "verify").output


# --- HIGH (repro_forged_case_inserted): a case the bridge never opened, inserted in family_state ---------------


def inserted_copy(world: World, case_id: str, forged: str = "of0e9d21") -> str:
    """A real case's state copied under a new id, its policy lowered (nobody asked, no document, one approval),
    in review: nothing in the chain names it."""
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, "SELECT * FROM family_state WHERE family = 'ownership' AND key = ?", f"case:{case_id}")
        case = json.loads(row["state"])
        case.update(
            id=forged, evidence=[], answers=[], holder_consent=None, tickets={}, status="review", note="court decision"
        )
        case["history"] = [
            {"at": case["opened"], "by": "bridge", "status": "review", "what": "staff review", "why": "documents checked"}
        ]
        for policy in case["policies"].values():
            policy.update(consent="none", evidence=[], approvals=1)
        for subject in case["subjects"]:
            subject["hand_over"] = "move"
        sql(
            db,
            "INSERT INTO family_state (family, key, state, due_at, version, updated_at) VALUES (?, ?, ?, NULL, 1, ?)",
            "ownership", f"case:{forged}", json.dumps(case), row["updated_at"],
        )  # fmt: skip
    return forged


def test_a_case_inserted_in_the_database_is_refused_everywhere(world: World):
    real = open_and_document(world, "domain:20")
    forged = inserted_copy(world, real)
    before = whois(world, 20)
    out = failed(world, "audit", "verify")
    assert f"case {forged}" in out and "no opening" in out, out
    out = failed(world, "ownership", "approve", forged, "--by", "bob", "--note", "ok")
    assert f"case {forged}" in out and "edited outside the bridge" in out, out
    world.settle()
    assert whois(world, 20) == before
    out = failed(world, "ownership", "export", forged, "--out", str(world.tmp / "dossier"))
    assert f"case {forged}" in out, out
    assert not (world.tmp / "dossier").exists()
    # The real case is untouched by its forged copy.
    assert world.case(real)["status"] == "notified"


# --- HIGH (repro_forged_holder_link): a consent link the bridge never minted, or one re-keyed -----------------

TOKEN = "forgedtoken" + "A" * 30


def holder_link_row(world: World, case_id: str) -> dict[str, object]:
    with Database(world.tmp / "state.db", signing=False) as db:
        rows = sql(db, "SELECT * FROM consent_link WHERE purpose = 'ownership-holder' AND subject = ?", case_id)
    assert rows
    return dict(rows[-1])


def inserted_link(world: World, case_id: str) -> None:
    real = holder_link_row(world, case_id)
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(
            db,
            "INSERT INTO consent_link (token_hash, purpose, subject, summary, expires_at, created_at, lang, scope)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            hashlib.sha256(TOKEN.encode()).hexdigest(), "ownership-holder", case_id, real["summary"],
            real["expires_at"], real["created_at"], real["lang"], real["scope"],
        )  # fmt: skip


def inserted_link_below_the_first(world: World, case_id: str) -> None:
    """Twenty-sixth break round, ownership HIGH 6: a row whose id is below the first link the chain recorded read as
    a link minted before the chain recorded them; id 0 is below every link an install ever minted."""
    real = holder_link_row(world, case_id)
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(
            db,
            "INSERT INTO consent_link (id, token_hash, purpose, subject, summary, expires_at, created_at, lang, scope)"
            " VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?)",
            hashlib.sha256(TOKEN.encode()).hexdigest(), "ownership-holder", case_id, real["summary"],
            real["expires_at"], real["created_at"], real["lang"], real["scope"],
        )  # fmt: skip


def rekeyed_link(world: World, case_id: str) -> None:
    real = holder_link_row(world, case_id)
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(db, "UPDATE consent_link SET token_hash = ? WHERE id = ?", hashlib.sha256(TOKEN.encode()).hexdigest(), real["id"])


@pytest.mark.parametrize("forge", [inserted_link, rekeyed_link, inserted_link_below_the_first])
def test_an_answer_through_a_link_the_bridge_did_not_mint_is_refused(world: World, forge: Any):
    case_id = open_and_document(world, "domain:20")
    assert world.case(case_id)["status"] == "notified"
    forge(world, case_id)
    url = world.link(20, "Ownership request").rsplit("/consent/", 1)[0] + f"/consent/{TOKEN}"
    assert requests.get(url, timeout=5).status_code == 404
    answer = requests.post(url, data={"decision": "accept", "reason": "setuju"}, timeout=5)
    assert answer.status_code == 404, answer.text
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "notified" and not case.get("holder_consent"), case
