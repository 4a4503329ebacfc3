"""A case's state against the keyed audit chain before anything of it is executed: the state (family_state) is
not keyed and the chain is, so the case's decisive facts (each answer and objection, each approval with its
member of staff, each evidence check, each subject's hand-over) are compared with the chain's entries at
approval, before each execution step and by `audit verify`; an edited state refuses in one sentence, exit 3,
and nothing runs (issue 17, tenth round H2 and H3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_dossier_e2e import edit_case
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.executor.store_guards import StoreGuards
from whmcs_bridge.families.ownership import integrity
from whmcs_bridge.store import outbox, states
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def refused(world: World, *args: str) -> str:
    result = CliRunner().invoke(
        cli.main, ["--config", str(world.config), *args], catch_exceptions=False, env=staff_login(args)
    )
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    return result.output


def whmcs_writes(world: World) -> list[str]:
    return [c["action"] for c in world.sandbox.calls() if c["action"].startswith("DomainUpdate")]


def test_a_holder_objection_erased_from_the_state_refuses_the_approval(world: World):
    """From the tenth round (H2): the holder objected through its link; the case's JSON was edited (status
    review, the objection removed, the domain to move) and one approval ran the move while audit verify and
    export passed. The objection signed into the chain is missing from the state: approve refuses, names it,
    and audit verify names the case."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    answer = requests.post(link, data={"decision": "decline", "reason": "ours"}, timeout=5)
    assert answer.status_code == 200
    world.settle()
    assert world.case(case_id)["status"] == "disputed"

    def unobjected(case: dict[str, Any]) -> None:
        case["status"] = "review"
        case["answers"] = [a for a in case["answers"] if a["party"] != "holder"]
        for subject in case["subjects"]:
            subject["hand_over"] = "move"

    edit_case(world, case_id, unobjected)
    out = refused(world, "ownership", "approve", case_id, "--by", "carol")
    assert f"case {case_id}" in out and "the holder's answer of" in out and "(decline)" in out
    assert "is in the audit chain but not in the case's state" in out
    world.settle()
    assert whmcs_writes(world) == []
    out = refused(world, "audit", "verify")
    assert f"case {case_id}" in out and "the holder's answer of" in out


def test_a_hand_over_edited_in_the_state_refuses_the_approval(world: World):
    """The choice of what moves follows from the policy and the holder's answers: a backup-only subject edited
    to move is named."""
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    assert world.case(case_id)["subjects"][0]["hand_over"] == "backup-only"

    def moved(case: dict[str, Any]) -> None:
        case["subjects"][0]["hand_over"] = "move"

    edit_case(world, case_id, moved)
    out = refused(world, "ownership", "approve", case_id, "--by", "alice")
    assert "service #201" in out and "move" in out and "backup-only" in out


def test_a_forged_approval_in_the_state_refuses_the_approval(world: World):
    """From the tenth round (H3): two approvals needed, one forged into the state as bob's; alice's approval ran
    the move. Approve now checks the state's approvals against the chain first."""
    case_id = open_and_document(world, "service:201")
    world.later(days=15)

    def bob_approved(case: dict[str, Any]) -> None:
        case["approvals"].append({"at": case["history"][-1]["at"], "by": "bob", "note": "", "os_user": "nobody"})

    edit_case(world, case_id, bob_approved)
    out = refused(world, "ownership", "approve", case_id, "--by", "alice")
    assert "the approval by bob (nobody)" in out and "has no entry in the audit chain" in out
    world.settle()
    assert world.case(case_id)["status"] == "review"
    assert not [c for c in world.sandbox.calls() if c["action"] == "SendEmail" and "approved" in str(c)]


def test_an_execution_step_of_an_edited_case_does_not_run(world: World):
    """Approved for real, then the state edited before the executor's pass: each execution step checks the
    case against the chain first, and is parked with the sentence naming what differs."""
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "carol", "--note", "agreed on the phone",
    )  # fmt: skip
    world.run("ownership", "approve", case_id, "--by", "alice")

    def bob_checked(case: dict[str, Any]) -> None:
        case["evidence"][0]["checks"][0]["by"] = "bob"

    edit_case(world, case_id, bob_checked)
    world.settle()
    assert whmcs_writes(world) == []
    with Database(world.tmp / "state.db", signing=False) as db:
        parked = [e for e in outbox.entries(db, subject=f"ownership:{case_id}") if e.status == "parked"]
    assert parked and all("edited outside the bridge" in str(e.error) for e in parked)
    assert f"case {case_id}: its state" in str(parked[0].error) and "evidence item 1 by b" in str(parked[0].error)


def test_a_link_answer_given_during_the_executors_pass_is_not_an_edit(world: World, monkeypatch: pytest.MonkeyPatch):
    """From the eleventh round (M1): the requester answered its link while the daemon's executor sent the case's
    first messages; the answer's audit row and its event were committed, the rules had not decided it yet, and
    the next steps were parked as "state edited outside the bridge". The answer is played between two steps of
    one executor pass, as it came: nothing is parked, the rules record the answer on the next pass, and the
    chain and the state agree."""
    out = world.run(
        "ownership", "open", "--subject", "service:201", "--subject", "domain:20", "--requester", "client:21",
        "--grounds", "vendor", "--by", "alice",
    ).output  # fmt: skip
    case_id = out.split()[0]
    answered: list[int] = []
    check = StoreGuards.edited

    def answer_first(guards: StoreGuards, row: outbox.OutboxEntry) -> str | None:
        if not answered and [e for e in world.emails(21) if "Ownership request" in e["subject"]]:
            answer = requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5)
            answered.append(answer.status_code)
        return check(guards, row)

    monkeypatch.setattr(StoreGuards, "edited", answer_first)
    world.settle(passes=1)
    assert answered == [200]
    with Database(world.tmp / "state.db", signing=False) as db:
        parked = [e.error for e in outbox.entries(db, subject=f"ownership:{case_id}") if e.status == "parked"]
    assert parked == []
    monkeypatch.undo()
    world.settle()
    assert [a["decision"] for a in world.case(case_id)["answers"] if a["party"] == "requester"] == ["accept"]
    assert "intact" in world.run("audit", "verify").output


def test_the_check_reads_the_state_and_the_chain_at_one_instant(world: World, monkeypatch: pytest.MonkeyPatch):
    """`audit verify`, an approval or the executor beside a daemon whose rules decide the holder's link answer
    between the check's read of the case's state and its read of the chain: the state read before the answer
    was decided, the chain after, differed, and the case was called edited. The check reads both at one
    instant."""
    case_id = open_and_document(world, "domain:20")
    answer = requests.post(
        world.link(20, "Ownership request"), data={"decision": "decline", "reason": "ours"}, timeout=5
    )
    assert answer.status_code == 200
    read = states.get
    decided: list[str] = []

    def rules_decide_meanwhile(db: Database, family: str, key: str) -> dict[str, Any] | None:
        found = read(db, family, key)
        if key == f"case:{case_id}" and not decided:
            decided.append(key)
            world.run("tick")  # the daemon's pass, another connection: the answer decided and committed
        return found

    monkeypatch.setattr(states, "get", rules_decide_meanwhile)
    with Database(world.tmp / "state.db", signing=False) as db:
        assert integrity.live_problems(db, case_id) == []
    assert decided
    monkeypatch.undo()
    assert world.case(case_id)["status"] == "disputed"
    assert "intact" in world.run("audit", "verify").output


def test_an_export_while_an_answer_waits_for_the_rules_says_so(world: World, tmp_path: Path):
    """The same race at export: the holder's answer recorded through its link, not yet decided by the rules. The
    dossier would carry the answer's row without its fact; the export waits for the next pass and says so, not
    that the state was edited."""
    case_id = open_and_document(world, "domain:20")
    answer = requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200
    out = world.fail("ownership", "export", case_id, "--out", str(tmp_path / "early"))
    assert "the rules have not decided yet" in out and "edited" not in out, out
    world.settle()
    world.run("ownership", "export", case_id, "--out", str(tmp_path / "dossier"))
