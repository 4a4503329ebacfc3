"""Fifteenth break round, issue 17: a staff note in a case's ticket thread is read like a reply staff classify
(HIGH 2), and the holder's window ends on a read of the case's own threads made after its deadline, whatever the
threads' status (MEDIUM 1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, staff_tickets, thread_of
from tests.test_ownership_break13 import staff_text, waiting
from tests.test_ownership_break13_writes import approve, consented, unhooked, writes
from tests.test_ownership_detect_break12 import never_silence
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.engine import Engine
from whmcs_bridge.model import Action, Event, action_key
from whmcs_bridge.store.db import Database

PHONED = "Budi (Kreatif Studio) phoned 10:40: he OBJECTS, the domain is theirs, do NOT move. -- bob"


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def add_note(world: World, ticket: int, message: str, admin: str = "bob") -> int:
    """A note staff add to the ticket in WHMCS's admin area (staff-only: the client never sees it); its id."""
    world.sandbox.control("act", {"action": "AddTicketNote", "ticketid": ticket, "adminusername": admin,
                                  "message": message})  # fmt: skip
    return max(int(n["id"]) for n in world.sandbox.rows("ticket_notes", ticket_id=ticket))


def test_staffs_note_in_the_case_thread_reporting_a_phoned_objection_holds_the_case(world: World):
    """HIGH 2 (g_staff_note_objection.py): bob wrote the holder's phoned objection as a ticket note in the case
    thread, no reply, no record-answer: the window ended "no answer from the holder", the review ticket said "ended
    without an objection", carol approved and the registrant update and the lock were sent."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    note = add_note(world, thread["id"], PHONED)
    world.settle(4)
    [found] = waiting(world, case_id)
    assert (found["ticket"], found["reply"]) == (thread["id"], f"n{note}"), found
    assert found.get("staff") and "bob" in found["writer"] and "OBJECTS" in found["message"], found
    assert world.case(case_id)["status"] == "review"
    [text] = staff_text(world, case_id, "a note in the case thread")
    assert f"note {note}" in text and f"--reply {thread['id']}:n{note}" in text and "unrelated" in text, text
    shown = world.run("ownership", "show", case_id).output
    assert f"ticket #{thread['id']} note {note}" in shown, shown
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"ticket #{thread['id']} note {note}" in refused and f"--reply {thread['id']}:n{note}" in refused, refused
    never_silence(world, case_id)
    assert writes(world) == []
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
              "--reply", f"{thread['id']}:n{note}", "--by", "bob", "--note", "Budi phoned: objects")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    assert writes(world) == []


def test_a_note_classified_unrelated_lets_the_window_go_on(world: World):
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    note = add_note(world, thread["id"], "Called Budi, no answer; will try again tomorrow. -- bob")
    world.settle(4)
    assert world.case(case_id)["status"] == "review"
    wrong = world.fail("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via",
                       "ticket", "--reply", f"{thread['id']}:n{note + 1}", "--by", "alice")  # fmt: skip
    assert f"ticket #{thread['id']} note {note}" in wrong, wrong
    done = world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via",
                     "ticket", "--reply", f"{thread['id']}:n{note}", "--by", "alice", "--note", "no answer yet")
    assert f"ticket #{thread['id']} note {note} by bob (staff)" in done.output, done.output
    assert "classified as unrelated" in done.output, done.output
    assert world.case(case_id)["status"] == "notified"


def test_the_bridges_own_notes_in_a_case_thread_never_count(world: World):
    """HIGH 2's other side: a note the bridge writes itself (a staff-only note, found by its key) is not staff's
    words to classify; the same words written by a member of staff are."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    own = Action(
        key=action_key("ownership", f"case:{case_id}", "test-note"),
        family="ownership",
        kind="ticket_note",
        params={"ticket_id": thread["id"], "message": "For staff: the holder was reminded."},
        client_id=20,
        subject=f"ownership:{case_id}",
    )
    with Database(world.tmp / "state.db") as db:
        Engine(db, []).enqueue([own], Event(id="test", type="Test", data={}), datetime.now(UTC))
    world.settle(4)
    notes = world.sandbox.rows("ticket_notes", ticket_id=thread["id"])
    assert len(notes) == 1 and "holder was reminded" in notes[0]["message"], notes
    assert not world.case(case_id).get("replies"), world.case(case_id).get("replies")
    assert world.case(case_id)["status"] == "notified"
    add_note(world, thread["id"], "For staff: the holder was reminded.")
    world.settle(4)
    [counted] = waiting(world, case_id)
    assert counted.get("staff") and counted["ticket"] == thread["id"], counted


def small_pages(world: World) -> None:
    """WHMCS's lists read two rows a page (`whmcs.page_size: 2`), as the break harness did."""
    text = world.config.read_text()
    world.config.write_text(text.replace("  max_attempts: 2\n", "  max_attempts: 2\n  page_size: 2\n", 1))


def tick_at(world: World, moment: datetime, passes: int = 3) -> None:
    for _ in range(passes):
        world.run("tick", "--at", moment.isoformat(timespec="seconds"))


def test_the_holders_objection_in_a_thread_staff_closed_at_once_is_read_at_the_windows_end(world: World):
    """MEDIUM 1 (g_closed_thread_objection.py): the holder objected in its case thread an hour before the deadline;
    staff answered with status Closed at once. Between full walks (every 6 hours) the poll reads only the active
    tickets and the ends of the list: after the deadline the window ended "no answer from the holder", "without an
    objection", which the timeline and the dossier kept. Polls only, two tickets a page, more tickets than pages."""
    small_pages(world)
    unhooked(world)
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    for n in range(4):  # tickets after the thread: it is in neither end of the list
        world.sandbox.control("act", {"action": "OpenTicket", "clientid": 22, "deptid": 1,
                                      "subject": f"Question {n}", "message": "When is my invoice due?"})  # fmt: skip
    deadline = datetime.fromisoformat(world.case(case_id)["deadline"])
    tick_at(world, deadline - timedelta(hours=2))  # a full walk of the tickets two hours before the deadline
    reply_as(world, thread["id"], clientid=20, message="Saya KEBERATAN. Domain ini milik kami, jangan dipindahkan.")
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": thread["id"], "adminusername": "bob",
                                  "message": "Noted, thank you.", "status": "Closed"})  # fmt: skip
    assert world.sandbox.rows("tickets", id=thread["id"])[0]["status"] == "Closed"
    tick_at(world, deadline + timedelta(minutes=1), passes=4)
    case = world.case(case_id)
    assert not [h for h in case["history"] if "no answer from the holder" in h["why"]], case["history"]
    holder = [r for r in case.get("replies", []) if r["party"] == "holder"]
    assert [(r["ticket"], r["classified"]) for r in holder] == [(thread["id"], None)], case.get("replies")
    assert "KEBERATAN" in holder[0]["message"]
    assert case["status"] == "review", case["history"]
    assert not [s for s in staff_tickets(world, case_id) if "without" in s], staff_tickets(world, case_id)
    assert approve(world, case_id, "carol").exit_code != 0
    assert writes(world) == []


@pytest.mark.parametrize("how", ["note", "reply"])
def test_staffs_words_in_the_case_thread_after_the_approval_hold_the_writes_not_sent_yet(world: World, how: str):
    """Fifteenth break round HIGH 1 (n1_note_after_approve_secret.py, n1b_staff_reply_after_approve.py): carol
    approved; before the writes ran, bob wrote the holder's phoned objection in the case thread, as a note or as a
    reply; three passes later the registrant update and the lock were sent, the note never in the case."""
    case_id = consented(world)
    unhooked(world)
    assert approve(world, case_id, "carol").exit_code == 0
    thread = thread_of(world, case_id, 20)
    if how == "note":
        add_note(world, thread["id"], PHONED)
    else:
        world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": thread["id"], "adminusername": "bob",
                                      "message": PHONED})  # fmt: skip
    world.settle(4)
    assert writes(world) == []
    [found] = waiting(world, case_id)
    assert found.get("staff") and "OBJECTS" in found["message"], found
    assert world.case(case_id)["status"] == "executing"
