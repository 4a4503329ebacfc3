"""A case's policy against the keyed audit chain (nineteenth round H4): the policy a case applies (approvals
needed, whom it asks and how, the documents, the window and the lock) is snapshotted into the case's state, which
is not keyed; the opening records it in the chain, and the case's stored policy is compared with that record
before the rules decide anything of the case, before an approval and each execution step, at export and by
`audit verify`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_dossier_e2e import edit_case
from tests.test_ownership_e2e import World, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.families.ownership import integrity
from whmcs_bridge.store import audit, inbox, seals
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def failed(world: World, *args: str) -> str:
    result = CliRunner().invoke(
        cli.main, ["--config", str(world.config), *args], catch_exceptions=False, env=staff_login(args)
    )
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    return result.output


def lowered(case: dict[str, Any]) -> None:
    """What the break test wrote into the case's JSON: one approval, nobody asked, no document."""
    for policy in case["policies"].values():
        policy["approvals"] = 1
        policy["consent"] = "none"
        policy["evidence"] = []


def open_case(world: World) -> str:
    out = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "ex-employee",
        "--by", "alice", "--note", "t",
    ).output  # fmt: skip
    return out.split()[0]


def rows_of(world: World, case_id: str) -> list[dict[str, Any]]:
    with Database(world.tmp / "state.db", signing=False) as db:
        return audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}")


def test_the_opening_records_the_policy_applied_in_the_chain(world: World):
    case_id = open_case(world)
    case = world.case(case_id)
    [row] = [r for r in rows_of(world, case_id) if r["action"] == integrity.POLICY_APPLIED]
    assert row["detail"]["policies"] == case["policies"]
    assert row["detail"]["subjects"] == {"domain:20": case["subjects"][0]["policy"]}


def test_a_policy_lowered_in_the_state_stops_the_case(world: World):
    """The break test: the stored policy lowered to one approval, no consent, no documents. The next command
    is refused naming the case and the field, a pass of the bridge moves nothing, and approve, export and
    audit verify refuse likewise; WHMCS is never written."""
    case_id = open_case(world)
    world.settle()
    edit_case(world, case_id, lowered)
    out = failed(
        world, "ownership", "record-answer", case_id, "--party", "requester", "--answer", "consent", "--via",
        "phone", "--by", "alice", "--note", "ok",
    )  # fmt: skip
    assert f"case {case_id}" in out and "edited outside the bridge" in out and "policy" in out
    assert "'s approvals is 1" in out or "'s consent is" in out or "'s evidence is" in out
    world.settle()
    world.later(days=30)
    assert world.case(case_id)["status"] == "collecting"
    out = failed(world, "ownership", "approve", case_id, "--by", "alice", "--note", "ok")
    assert f"case {case_id}" in out and "policy" in out
    out = failed(world, "audit", "verify")
    assert f"case {case_id}" in out and "policy" in out and "audit chain recorded" in out
    out = failed(world, "ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert f"case {case_id}" in out and "policy" in out
    assert not [c for c in world.sandbox.calls() if c["action"].startswith("DomainUpdate")]


def test_an_answer_through_a_link_to_a_case_with_a_lowered_policy_is_parked(world: World):
    """No staff command involved: the requester confirms through its link after the edit. The engine checks the
    case's policy before the rules decide the answer: the event is parked with the sentence, the case stays."""
    case_id = open_case(world)
    world.settle()
    edit_case(world, case_id, lowered)
    answer = requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200
    world.settle()
    world.later(days=30)
    case = world.case(case_id)
    assert case["status"] == "collecting" and not case.get("requester_confirmed")
    with Database(world.tmp / "state.db", signing=False) as db:
        parked = [e.error or "" for e in inbox.entries(db, status="parked")]
    assert any(f"case {case_id}" in e and "policy" in e and "approvals is 1" in e for e in parked), parked


def test_a_subject_moved_to_another_policy_is_named(world: World):
    """Which policy a subject follows is part of what was applied: pointing it at another is named too."""
    case_id = open_case(world)
    rows = rows_of(world, case_id)
    case = world.case(case_id)
    case["subjects"][0]["policy"] = "something-milder"
    case["policies"]["something-milder"] = case["policies"].pop(next(iter(case["policies"])))
    problems = integrity.recorded_problems(case, rows)
    assert any("domain:20" in p and "something-milder" in p for p in problems), problems


def test_a_case_opened_before_the_policy_was_recorded_is_not_compared(world: World):
    """An older database: its cases' opening rows carry no policy. Their stored policy is taken as it stands
    (nothing to compare it with), and the rest of the case is still checked."""
    case_id = open_case(world)
    older = (integrity.POLICY_APPLIED, seals.SEALED)  # seals came later still: an older database has neither
    rows = [r for r in rows_of(world, case_id) if r["action"] not in older]
    case = world.case(case_id)
    lowered(case)
    assert integrity.policy_problems(case, rows) == []
    assert integrity.recorded_problems(case, rows) == []
