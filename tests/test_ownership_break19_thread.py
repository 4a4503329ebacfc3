"""Nineteenth break round M2: the holder objected in its case ticket, staff deleted that ticket in WHMCS before the
bridge's poll read it (GetTicket: "Ticket ID Not Found"), and the window then ended "without objection". A watched
thread WHMCS no longer has is never taken as silence: the case records it once, staff are told, and it waits to be
classified like an unread reply until staff record what the party answered (the command `ownership show` names)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_answers import thread_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def objection_deleted_unread(world: World) -> tuple[str, int]:
    """A case waiting for the holder's answer; the holder objects in the case's ticket, no hook tells the bridge
    (WHMCS's hooks are not installed, or the call was lost), and staff delete the ticket before the next poll."""
    case_id = open_and_document(world, "domain:20")
    thread = int(thread_of(world, case_id, 20)["id"])
    world.sandbox.control("hooks", {"url": None, "secret": None})
    world.sandbox.control(
        "act",
        {"action": "AddTicketReply", "ticketid": thread, "clientid": 20,
         "message": "We object: do NOT transfer majumakmur.co.id."},
    )  # fmt: skip
    world.sandbox.control("delete", {"ticket": thread})
    world.settle(3)
    return case_id, thread


def named_command(world: World, case_id: str, thread: int) -> list[str]:
    """The command `ownership show` names to clear the gone thread, as staff would copy it."""
    shown = world.run("ownership", "show", case_id).output
    found = re.search(rf"(ownership record-answer {case_id} --party holder \S+ \S+ --via \S+ --reply {thread})\b", shown)
    assert found, shown
    return found.group(1).split()


def test_a_case_thread_deleted_before_the_poll_read_it_is_never_silence(world: World):
    case_id, thread = objection_deleted_unread(world)
    case = world.case(case_id)
    [gone] = case["replies"]
    assert (gone["party"], gone["ticket"], gone["classified"], gone.get("thread_gone")) == (
        "holder", thread, None, True
    ), gone  # fmt: skip
    assert case["status"] == "review", case["history"][-3:]
    flagged = [t for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"Ownership case {case_id}: ")]
    assert [t["subject"] for t in flagged if "gone from WHMCS" in t["subject"]] == [
        f"Ownership case {case_id}: ticket #{thread} is gone from WHMCS"
    ], [t["subject"] for t in flagged]
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"ticket #{thread}" in refused and "record-answer" in refused, refused

    world.later(days=15)
    world.later(days=16)
    case = world.case(case_id)
    assert case["status"] == "review", case["history"][-3:]
    said = [h["why"] for h in case["history"]]
    assert not [w for w in said if "no answer from the holder" in w or "without objection" in w], said
    with sqlite3.connect(f"file:{world.tmp / 'state.db'}?mode=ro", uri=True) as db:  # each poll read it: one event
        assert db.execute("SELECT fact FROM inbox WHERE type = 'TicketGone'").fetchall() == [(f"ticket:{thread}:gone",)]
    gone_lines = [h["why"] for h in case["history"] if h["what"] == "thread gone"]
    assert len(gone_lines) == 1 and f"ticket #{thread} (gone from WHMCS)" in gone_lines[0], said
    named_command(world, case_id, thread)


def test_staff_record_the_holders_objection_for_the_gone_thread_with_the_command_named(world: World):
    case_id, thread = objection_deleted_unread(world)
    command = named_command(world, case_id, thread)
    args = [*command, "--by", "alice", "--note", "the holder confirmed its objection by phone"]
    args[args.index("--answer") + 1] = "object"
    args[args.index("--via") + 1] = "phone"
    out = world.run(*args).output
    assert f"ticket #{thread}" in out and "classified as object" in out, out
    case = world.case(case_id)
    assert case["status"] == "disputed", case["history"][-3:]
    assert [r["classified"] for r in case["replies"]] == ["object"]
    assert "  to classify: " not in world.run("ownership", "show", case_id).output


def test_a_gone_thread_staff_find_unrelated_lets_the_window_run_to_its_end(world: World):
    case_id, thread = objection_deleted_unread(world)
    args = [*named_command(world, case_id, thread), "--by", "alice", "--note", "the holder says it wrote nothing"]
    args[args.index("--answer") + 1] = "unrelated"
    args[args.index("--via") + 1] = "phone"
    world.run(*args)
    assert world.case(case_id)["status"] == "notified"
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review"
    assert [h["why"] for h in case["history"] if h["why"] == "no answer from the holder"], case["history"][-3:]
