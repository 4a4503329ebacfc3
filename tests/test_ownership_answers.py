"""Issue 17, findings 1, 5 and 6 against the sandbox: an answer outside the link counts (the holder's reply in
its case thread, found by who wrote it; answers staff record by ticket, email, post or phone), decisions are
made by named staff (compared without case, the operating-system user beside them), and case ids are never
reused."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, World, open_and_document


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("vendor-dispute")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def thread_of(world: World, case_id: str, client: int) -> dict[str, Any]:
    return next(
        t
        for t in world.sandbox.rows("tickets", client_id=client)
        if t["subject"].startswith(f"Ownership case {case_id}")
    )


def reply_as(world: World, ticket: int, **who: Any) -> None:
    """A reply written in the ticket by a client (clientid) or a guest (name, email), as WHMCS files it."""
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": ticket, **who})


def test_the_vendors_objection_in_its_ticket_thread_is_not_silence(world: World):
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message="Saya KEBERATAN / I OBJECT")
    world.settle(4)

    case = world.case(case_id)
    assert case["status"] == "review"
    assert [(r["party"], r["ticket"], r["classified"]) for r in case["replies"]] == [("holder", thread["id"], None)]
    assert "KEBERATAN" in case["replies"][0]["message"]
    flagged = [
        t for t in world.sandbox.rows("tickets") if t["subject"] == f"Ownership case {case_id}: the holder replied"
    ]
    assert len(flagged) == 1
    # One approval no longer executes the move: the reply must be classified first.
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"the holder replied in ticket #{thread['id']}" in refused and "record-answer" in refused
    # The window's end does not turn the reply into "no objection".
    world.later(days=14, seconds=5)
    case = world.case(case_id)
    assert case["status"] == "review"
    assert not [h for h in case["history"] if "without objection" in h["why"]]

    out = world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "ticket",
        "--by",
        "Alice",
        "--note",
        "ticket reply: KEBERATAN",
    ).output
    assert f"{case_id} disputed" in out
    case = world.case(case_id)
    assert case["replies"][0]["classified"] == "object"
    recorded = case["recorded_answers"][0]
    assert (recorded["party"], recorded["answer"], recorded["via"], recorded["by"]) == (
        "holder",
        "object",
        "ticket",
        "alice",
    )
    assert recorded["os_user"].startswith(getpass.getuser())
    assert "only a case under review" in world.fail("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    assert any("holder objected" in e["subject"] for e in world.emails(21))
    # Shown to staff and in the dossier.
    show = world.run("ownership", "show", case_id).output
    assert "holder objected by ticket, recorded by alice" in show and "KEBERATAN" in show
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    summary = (out / "summary.html").read_text()
    assert "Answers recorded by staff" in summary and "KEBERATAN" in summary
    assert "verifies" in world.run("ownership", "verify-dossier", str(out), "--against-state").output


def test_a_reply_by_someone_else_in_the_thread_is_not_the_holders_answer(world: World):
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], name="Someone", email="someone@example.net", message="I OBJECT")
    world.settle(4)
    case = world.case(case_id)
    assert case["status"] == "notified" and not case.get("replies")


def test_an_answer_by_post_with_its_letter_counts(world: World, tmp_path: Path):
    case_id = open_and_document(world, "domain:20")
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(PDF + b"I agree to the hand-over")
    out = world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "consent",
        "--via",
        "post",
        "--evidence",
        str(letter),
        "--by",
        "bob",
        "--note",
        "signed letter of 3 Nov",
    ).output
    assert f"{case_id} review" in out
    case = world.case(case_id)
    assert case["evidence"][-1]["kind"] == "holder-statement" and case["evidence"][-1]["via"] == "post"
    assert case["recorded_answers"][0]["evidence"] == case["evidence"][-1]["item"]
    assert case["subjects"][0]["hand_over"] == "move"
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert world.case(case_id)["status"] == "executing"


def test_two_person_approval_needs_two_listed_staff(world: World):
    case_id = open_and_document(world, "service:201")
    world.later(days=14, seconds=5)
    assert world.case(case_id)["status"] == "review"
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert "another member of staff" in world.fail("ownership", "approve", case_id, "--by", "Alice")
    assert "alice already approved" in world.fail("ownership", "approve", case_id, "--by", "ALICE")
    refused = world.fail("ownership", "approve", case_id, "--by", "mallory")
    assert "'mallory' is not one of the configured staff (alice, bob, carol" in refused
    assert world.case(case_id)["status"] == "review"
    world.run("ownership", "approve", case_id, "--by", "BOB")
    case = world.case(case_id)
    assert case["status"] == "executing"
    assert [a["by"] for a in case["approvals"]] == ["alice", "bob"]
    assert all(a["os_user"] for a in case["approvals"])


def test_a_case_reopened_the_same_day_is_a_new_case(world: World):
    args = ("--subject", "domain:20", "--requester", "client:21")
    first = world.run("ownership", "open", *args, "--grounds", "vendor", "--by", "alice").output.split()[0]
    world.run("ownership", "cancel", first, "--by", "alice", "--note", "wrong grounds")
    again = world.run("ownership", "open", *args, "--grounds", "brand", "--by", "alice").output
    second = again.split()[0]
    assert second != first and f"{second} collecting" in again
    cases = {c["id"]: c for c in json.loads(world.run("ownership", "list", "--json").output)}
    assert (cases[first]["status"], cases[second]["status"], cases[second]["grounds"]) == (
        "cancelled",
        "collecting",
        "brand",
    )


def notes(world: World, client: int) -> list[tuple[str, int]]:
    return [(n["note"], n["sticky"]) for n in world.sandbox.rows("client_notes", client_id=client)]


def test_both_accounts_show_the_case_in_whmcs_sticky_while_disputed(world: World):
    case_id = open_and_document(world, "domain:20")
    for client in (20, 21):
        assert [s for n, s in notes(world, client) if case_id in n and ": opened." in n] == [0]
    world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "phone",
        "--by",
        "carol",
        "--note",
        "called on 25 Nov",
    )
    world.settle()
    for client in (20, 21):
        disputed = [s for n, s in notes(world, client) if case_id in n and "DISPUTED" in n]
        assert disputed == [1], notes(world, client)
    assert any("This client is the holder" in n for n, _ in notes(world, 20))
    assert any("This client is the requester" in n for n, _ in notes(world, 21))
    world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "consent",
        "--via",
        "email",
        "--by",
        "carol",
        "--note",
        "withdrew the objection by email",
    )
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    assert any(case_id in n and "approved" in n for n, _ in notes(world, 20))
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    for client in (20, 21):
        assert any(case_id in n and "completed, locked until" in n for n, s in notes(world, client) if not s)
