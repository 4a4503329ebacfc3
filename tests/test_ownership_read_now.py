"""What an ownership case says about its subjects is read from WHMCS when it says it, not remembered: at an approval
(a move staff made before it), at an objection while executing (a move staff made just before it), and before each
write of the execution (a subject that left WHMCS after the approval). The tenth break round's M2, M5 and M6."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, vendor_world
from tests.test_ownership_locks import staff_tickets
from tests.test_ownership_stops import consented, sent, writes


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def timeline(world: World, case_id: str) -> str:
    return world.run("ownership", "show", case_id).output.partition("Timeline")[2]


def object_by_phone(world: World, case_id: str) -> None:
    """Staff record the holder's objection, made by phone."""
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--by", "bob", "--note", "the holder called: it objects",
    )  # fmt: skip


def test_an_objection_just_after_staff_made_the_move_says_it_had_moved(world: World):
    """Tenth break round M2 (objection_after_unseen_move.py): approved, staff moved the domain as the checklist asks,
    the holder objected before the bridge's next read: "before anything moved", "do not move them", and a day later
    the approved move was raised as a move made during the dispute."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    world.sandbox.control("move", {"domain": 20, "client": 21})
    object_by_phone(world, case_id)
    world.settle()
    said = timeline(world, case_id)
    assert "before anything moved" not in said, said
    assert "domain #20 majumakmur.co.id was with #21 when the objection was recorded" in said, said
    [ticket] = staff_tickets(world, case_id, "objection while executing")
    assert "after majumakmur.co.id moved in WHMCS" in ticket and "Already moved" in ticket, ticket
    assert "Do not move" not in ticket and "The approvals are void" in ticket, ticket
    world.later(hours=25)
    said = timeline(world, case_id)
    assert "moved in WHMCS while disputed" not in said, said
    assert staff_tickets(world, case_id, "moved while") == []


def test_an_objection_before_the_move_still_says_nothing_had_moved_after_reading_whmcs(world: World):
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    object_by_phone(world, case_id)
    world.settle()
    said = timeline(world, case_id)
    assert "nothing had moved in WHMCS when the objection was recorded" in said, said
    [ticket] = staff_tickets(world, case_id, "objection while executing")
    assert "Do not move" in ticket, ticket
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    assert "moved in WHMCS while disputed" in timeline(world, case_id)


def test_approve_says_a_subject_staff_already_moved_to_the_requester(world: World):
    """Tenth break round M6 (move_before_approval.py): a move made in WHMCS before the approval went through
    `approve` without a word, and the record then said it was moved right after the approval."""
    case_id = consented(world, "domain:20")
    world.sandbox.control("move", {"domain": 20, "client": 21})
    out = world.run("ownership", "approve", case_id, "--by", "alice").output
    assert "domain #20 majumakmur.co.id already belongs to the requester (#21) in WHMCS" in out, out
    world.settle()
    world.later(hours=2)
    said = timeline(world, case_id)
    assert said.count("moved in WHMCS before the approval by staff") == 1, said
    assert said.count("moved in WHMCS") == 1, said  # not again after the approval, as if it followed it
    assert world.case(case_id)["status"] == "completed"


def test_approve_refuses_a_subject_staff_moved_to_a_third_client(world: World):
    case_id = consented(world, "domain:20")
    world.sandbox.control("move", {"domain": 20, "client": 22})
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert "domain #20 majumakmur.co.id belongs to client #22 in WHMCS now" in refused, refused
    assert world.case(case_id)["status"] == "review"
    assert writes(world) == []


@pytest.mark.parametrize("status", ["Transferred Away", "Cancelled"])
def test_a_subject_that_leaves_whmcs_after_the_approval_is_not_written(world: World, status: str):
    """Tenth break round M5, its rest: the approval read the domain in place; it was transferred away before the
    daemon sent the registrant update and the lock, which were sent anyway."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.sandbox.post("UpdateClientDomain", domainid=20, status=status)
    world.settle()
    assert sent(world) == []
    assert {e.status for e in writes(world)} == {"cancelled"}
    [ticket] = staff_tickets(world, case_id, "a subject left WHMCS")
    assert f"majumakmur.co.id is {status} in WHMCS" in ticket, ticket
    assert f"ownership cancel {case_id}" in ticket, ticket
    said = timeline(world, case_id)
    assert f"domain 20 is {status}" in said or f"domain #20 majumakmur.co.id is {status}" in said, said


def test_a_subject_staff_move_to_a_third_client_after_the_approval_is_not_written(world: World):
    """Eleventh break round H3 (moved_to_third_before_writes.py): approved, then staff moved the domain to client #22
    before the daemon sent the hand-over's writes: the registrant update and the lock rewrote #22's domain's WHOIS."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.sandbox.control("move", {"domain": 20, "client": 22})
    world.settle()
    assert sent(world) == []
    assert {e.status for e in writes(world)} == {"cancelled"}
    [ticket] = staff_tickets(world, case_id, "moved to another client")
    assert "not to the requester" in ticket, ticket
    assert "#22" in timeline(world, case_id)
    # Staff put it where it belongs: the writes the move stopped are made then, and the case completes.
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    assert sorted(sent(world)) == ["DomainUpdateLockingStatus", "DomainUpdateWhoisInfo"]
    world.later(hours=3)
    assert world.case(case_id)["status"] == "completed", world.run("ownership", "show", case_id).output


def test_the_registrant_is_not_written_to_a_requester_whose_account_closed_after_the_approval(world: World):
    """Eleventh round M4 (requester_closed_after_approval.py): the requester's WHMCS account was closed after the
    approval; the registrant update still wrote it as the domain's new holder, and staff were not told."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.sandbox.post("UpdateClient", clientid=21, status="Closed")
    world.settle()
    assert sent(world) == []
    assert {e.status for e in writes(world)} == {"cancelled"}
    [ticket] = staff_tickets(world, case_id, "the requester's account is closed")
    assert "PT Maju Makmur is Closed in WHMCS" in ticket, ticket
    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "the company closed its account")
    assert world.case(case_id)["status"] == "cancelled"
