"""Twelfth break round, issue 17 (H4, H7, H2, H5, H8, H6): a party's written answer is never lost. While a case is
answerable, whatever WHMCS says a party's account wrote (a new ticket, a reply in any ticket) is attached to the case
to classify, whatever its words; who wrote it comes from WHMCS's facts, never from words or markers a party can paste."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def open_ticket(world: World, client: int, subject: str, message: str, **extra: Any) -> int:
    opened = world.sandbox.control(
        "act", {"action": "OpenTicket", "clientid": client, "deptid": 1, "subject": subject, "message": message, **extra}
    )
    world.settle(4)
    return int(opened["id"])


def later_polling_fails(world: World, **delta: float) -> None:
    """A pass of the bridge after now while WHMCS's GetTicket fails: `tick` exits 5 "poll failed", the rest runs."""
    moment = datetime.now(UTC) + timedelta(**delta)
    world.sandbox.control("hooks")
    for _ in range(3):
        failed = world.fail("tick", "--at", moment.isoformat(timespec="seconds"))
        assert "poll failed" in failed, failed


def holder_thread(world: World, case_id: str) -> dict[str, Any]:
    return next(t for t in world.sandbox.rows("tickets") if t["client_id"] == 20 and case_id in t["subject"])


def never_silence(world: World, case_id: str) -> None:
    """After the window, the case never says the holder did not answer, and one approval moves nothing."""
    world.later(days=15)
    case = world.case(case_id)
    assert not [h for h in case["history"] if "no answer from the holder" in h["why"]], case["history"]
    world.fail("ownership", "approve", case_id, "--by", "carol")
    calls = [c["action"] for c in world.sandbox.control("calls")["calls"]]
    assert not [c for c in calls if c.startswith("DomainUpdate")], calls


def test_the_holders_reply_in_its_own_older_ticket_naming_nothing_is_attached(world: World):
    """H4 (old_ticket_unnamed_reply.py): "Kami KEBERATAN atas permintaan pemindahan dari PT Maju Makmur" replied in
    the holder's "Invoice question" ticket, opened before the case: ignored, "no answer", approve moved the domain."""
    older = open_ticket(world, 20, "Invoice question", "Could you resend invoice #12?")
    case_id = open_and_document(world, "domain:20")
    assert not world.case(case_id).get("replies")
    world.sandbox.control(
        "act",
        {
            "action": "AddTicketReply", "ticketid": older, "clientid": 20,
            "message": "Kami KEBERATAN atas permintaan pemindahan dari PT Maju Makmur yang Anda kirim kemarin. Itu milik kami.",
        },
    )  # fmt: skip
    world.settle(4)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("holder", older, None), reply
    assert "KEBERATAN" in reply["message"]
    assert case["status"] == "review", case["status"]
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"replied in ticket #{older}" in refused, refused
    never_silence(world, case_id)


def test_the_requesters_new_ticket_naming_nothing_pauses_the_case(world: World):
    """H7 (requester_withdraws_new_ticket.py): the requester's "Kami membatalkan permintaan pemindahan domain" in a
    new ticket not naming the domain: ignored, approve wrote PT Maju Makmur as the registrant."""
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "Budi agreed on the phone",
    )  # fmt: skip
    assert world.case(case_id)["status"] == "review"
    ticket = open_ticket(
        world, 21, "Pembatalan permintaan",
        "Kami membatalkan permintaan pemindahan domain dari vendor kami. Mohon hentikan prosesnya.",
    )  # fmt: skip
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("requester", ticket, None), reply
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"the requester wrote in ticket #{ticket}" in refused, refused
    staff = [t for t in world.sandbox.rows("tickets") if t["subject"] == f"Ownership case {case_id}: the requester wrote"]
    assert staff, [t["subject"] for t in world.sandbox.rows("tickets")]


def test_the_holders_new_ticket_quoting_the_bridges_message_is_the_holders(world: World):
    """H2 (quoted_marker_objection.py): a new ticket "KAMI KEBERATAN ..." followed by the quoted thread message,
    which ends with the bridge's visible key, was taken for the bridge's own ticket and dropped."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    quoted = world.sandbox.rows("ticket_replies", ticket_id=thread["id"])
    text = quoted[0]["message"] if quoted else thread["message"]
    assert "[wb-" in text[-40:], text[-80:]
    message = "KAMI KEBERATAN. Kami tidak setuju. Domain ini milik kami. -- Budi\n\n> " + text.replace("\n", "\n> ")
    ticket = open_ticket(world, 20, "Re: Ownership case", message)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"]) == ("holder", ticket), reply
    never_silence(world, case_id)


def test_a_ticket_the_hook_told_of_and_staff_deleted_before_the_read_is_still_attached(world: World):
    """H5 (deleted_objection_ticket.py): the TicketOpen hook gave the holder's words; staff deleted the ticket before
    the bridge's read-back (GetTicket: not found): silently dropped, "no answer", the domain moved."""
    case_id = open_and_document(world, "domain:20")
    opened = world.sandbox.control(
        "act",
        {
            "action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": "Domain majumakmur.co.id",
            "message": "KAMI KEBERATAN. Domain majumakmur.co.id milik kami. Jangan dipindahkan. -- Budi",
        },
    )  # fmt: skip
    world.sandbox.control("hooks")  # the hook is in the bridge's inbox, not decided yet
    world.sandbox.control("delete", {"ticket": int(opened["id"])})
    world.settle(4)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["ticket"], reply["classified"]) == (int(opened["id"]), None), reply
    assert "KAMI KEBERATAN" in reply["message"] and reply.get("gone"), reply
    assert any("gone from WHMCS" in h["why"] for h in case["history"]), case["history"]
    shown = world.run("ownership", "show", case_id).output
    assert "KAMI KEBERATAN" in shown or f"ticket #{opened['id']}" in shown, shown
    never_silence(world, case_id)


def test_the_window_does_not_end_as_no_answer_while_the_tickets_cannot_be_read(world: World):
    """H8 (reply_unreadable_window_ends.py): GetTicket answers HTTP 500, `tick` exits 5 "poll failed", and in the
    same pass the holder's window ended "no answer from the holder" while its objection sat in WHMCS."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    world.sandbox.control("faults", {"status": 500, "count": 100000, "actions": ["GetTicket"]})
    try:
        world.sandbox.control(
            "act", {"action": "AddTicketReply", "ticketid": thread["id"], "clientid": 20, "message": "KAMI KEBERATAN"}
        )
        later_polling_fails(world, days=15)
        case = world.case(case_id)
        assert case["status"] == "notified", case["history"][-3:]
        assert not [h for h in case["history"] if "no answer from the holder" in h["why"]], case["history"]
        assert any("tickets" in h["why"] and "read" in h["why"] for h in case["history"]), case["history"][-3:]
        world.fail("ownership", "approve", case_id, "--by", "carol")
    finally:
        world.sandbox.control("faults", {"count": 0})
    world.later(days=15, hours=1)
    case = world.case(case_id)
    assert [(r["party"], r["ticket"]) for r in case["replies"]] == [("holder", thread["id"])], case.get("replies")
    assert not [h for h in case["history"] if "no answer from the holder" in h["why"]], case["history"]


def test_the_window_ends_as_no_answer_once_the_tickets_are_read_past_the_deadline(world: World):
    """H8's other side: once a poll of the tickets succeeded after the deadline, the window ends as before."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("faults", {"status": 500, "count": 100000, "actions": ["GetTicket"]})
    try:
        world.sandbox.control("act", {"action": "OpenTicket", "clientid": 22, "deptid": 1, "subject": "x", "message": "y"})
        later_polling_fails(world, days=15)
        assert world.case(case_id)["status"] == "notified"
    finally:
        world.sandbox.control("faults", {"count": 0})
    # The hook names client #22's ticket without its writer, who may be a party's person (thirteenth round H2): it
    # is read once GetTicket answers, and the window's end looks again a minute after it waited.
    world.later(days=15, hours=1)
    world.later(days=15, hours=1, minutes=2)
    case = world.case(case_id)
    assert case["status"] == "review" and any("no answer from the holder" in h["why"] for h in case["history"])


def test_a_guest_ticket_naming_the_holder_company_reaches_the_case(world: World):
    """H6 (guest_ticket_names_holder.py): a guest ticket from a personal address naming the holder's company and the
    requester, not the domain: ignored, "without objection", the domain moved."""
    case_id = open_and_document(world, "domain:20")
    ticket = open_ticket(
        world, 0, "Permintaan PT Maju Makmur / Kreatif Studio",
        "Saya Budi Santoso, pemilik Kreatif Studio. KAMI KEBERATAN atas permintaan PT Maju Makmur. Jangan pindahkan apa pun.",
        name="Budi Santoso", email="budi.pribadi@gmail.com",
    )  # fmt: skip
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    never_silence(world, case_id)


def test_staff_replies_are_not_a_partys_answer_and_a_second_user_of_the_account_is_shown(world: World):
    """Trying to break the fix: staff replying in the holder's older ticket is not a party's words; a second user
    of the holder's account (not its owner) opening a ticket naming nothing is attached, named, never the holder's
    answer by default."""
    older = open_ticket(world, 20, "Invoice question", "Could you resend invoice #12?")
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": older, "adminusername": "alice", "message": "Sent"})
    world.settle(4)
    assert not world.case(case_id).get("replies"), world.case(case_id).get("replies")
    world.sandbox.control("access", {"user": 2, "client": 20})
    ticket = open_ticket(world, 20, "Pertanyaan", "Tidak setuju", userid=2)
    [reply] = world.case(case_id)["replies"]
    assert (reply["ticket"], reply["party"]) == (ticket, "other") and "Siti" in reply["writer"], reply
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"replied in ticket #{ticket}" in refused, refused


def test_a_message_told_again_after_its_read_is_not_waited_for():
    """Trying to break H8's `reading`: a message read and found not to answer the case (another client's words
    naming it), told again (a resync, a hook after the poll), plans no second read and holds no window (the read's
    action key is the same: no second read would ever come)."""
    from tests.test_ownership_rules import FAMILY, T0, documented, opened, run
    from whmcs_bridge.model import Event

    case = run(documented(opened()), {"party": "holder", "ticket_id": 77}, kind="OwnershipTicket").state or {}
    other = {"ticketid": 90, "replyid": 3, "userid": 44, "subject": "About o1", "message": "case o1?"}
    first = FAMILY.decide_one(case, Event(id="a", type="TicketUserReply", data=other), T0, "case:o1")
    assert [a.kind for a in first.actions] == ["read_reply"] and (first.state or {})["reading"]
    found = {"ticket": 90, "reply": 3, "found": True, "named": True, "userid": 44, "message": "hello", "subject": "x"}
    read = run(first.state or {}, found, kind="OwnershipReply").state or {}
    assert not read.get("replies") and not read["reading"], read
    again = FAMILY.decide_one(read, Event(id="b", type="TicketUserReply", data=other), T0, "case:o1")
    assert again.actions == [] and not (again.state or {})["reading"]
