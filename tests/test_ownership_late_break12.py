"""Issue 17, twelfth break round (H3, M3, M1): an answer that comes at the wrong moment still reaches staff. The link
of a case that is over no longer asks; an answer that reaches a closed case anyway, a reply after completion and a
reply while the case collects its documents each raise a staff ticket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, staff_tickets, thread_of
from tests.test_ownership_e2e import PDF, PNG, World, open_and_document, vendor_world
from whmcs_bridge.store import consent
from whmcs_bridge.store.db import Database
from whmcs_bridge.web.consent import ConsentPages


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def holder_link(world: World, case_id: str) -> str:
    return world.link(20, f"Ownership request {case_id} about")


def cancel(world: World, case_id: str, note: str) -> None:
    world.run("ownership", "cancel", case_id, "--by", "bob", "--note", note)
    world.settle()


def test_the_link_of_a_cancelled_case_no_longer_asks_and_points_to_the_newer_request(world: World):
    """H3: case A cancelled and reopened as B on the same domain; the holder used A's link: the page asked, "Your
    answer (I object) has been recorded", A took it as a late answer changing nothing, no staff ticket, and B ended
    "no answer from the holder"."""
    case_a = open_and_document(world, "domain:20")
    link_a = holder_link(world, case_a)
    cancel(world, case_a, "wrong letter attached, reopening")
    case_b = open_and_document(world, "domain:20")
    assert case_b != case_a

    shown = requests.get(link_a, timeout=5)
    assert shown.status_code == 410, shown.text
    assert "This request is closed" in shown.text and "newer request" in shown.text
    assert "I object" not in shown.text and "<form" not in shown.text
    posted = requests.post(link_a, data={"decision": "decline", "reason": "KAMI KEBERATAN"}, timeout=5)
    assert posted.status_code == 410 and "has been recorded" not in posted.text
    assert "This request is closed" in posted.text
    world.settle()
    case = world.case(case_a)
    assert not [a for a in case["answers"] if a["party"] == "holder"]
    assert not [h for h in case["history"] if h["what"] == "late answer"]
    # Nothing was used up: link B still asks, and B's window is untouched.
    assert world.case(case_b)["status"] == "notified"
    assert "<form" in requests.get(holder_link(world, case_b), timeout=5).text


def test_the_link_of_a_rejected_case_with_no_newer_case_says_it_is_closed(world: World):
    case_id = open_and_document(world, "domain:20")
    link = holder_link(world, case_id)
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
              "--by", "alice", "--note", "called")  # fmt: skip
    world.run("ownership", "reject", case_id, "--by", "bob", "--note", "extract unreadable")
    world.settle()
    for answer in (requests.get(link, timeout=5), requests.post(link, data={"decision": "accept"}, timeout=5)):
        assert answer.status_code == 410 and "This request is closed" in answer.text, answer.text
        assert "newer request" not in answer.text and "write to" in answer.text
    assert world.case(case_id)["status"] == "rejected"
    assert not [a for a in world.case(case_id)["answers"] if a["party"] == "holder"]


def test_an_answer_that_reaches_a_closed_case_through_its_link_is_raised_to_staff(world: World):
    """The race the page cannot close: the answer was taken just before the case was cancelled, and reaches it
    after. Kept, changes nothing, and staff get a ticket as for a late answer they record."""
    case_id = open_and_document(world, "domain:20")
    token = holder_link(world, case_id).rsplit("/", 1)[1]
    cancel(world, case_id, "duplicate request")
    with Database(world.tmp / "state.db") as db:
        link = consent.by_token_hash(db, hashlib.sha256(token.encode()).hexdigest())
        assert link is not None
        answer = {"decision": "decline", "ip": "127.0.0.1", "user_agent": "race", "reason": "KAMI KEBERATAN"}
        assert ConsentPages(lambda: db).record(link, answer, datetime.now(UTC))
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "cancelled"
    assert [h for h in case["history"] if h["what"] == "late answer"]
    late = [t for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"Ownership case {case_id}: a late")]
    assert len(late) == 1, staff_tickets(world, case_id)
    body = world.sandbox.rows("ticket_replies", ticket_id=late[0]["id"])
    text = late[0].get("message", "") + " ".join(r.get("message", "") for r in body)
    assert "one-time link" in text and "objects" in text and "KAMI KEBERATAN" in text and "cancelled" in text


def ticket_text(world: World, subject: str) -> list[str]:
    """The opening message of each staff ticket with this subject."""
    found = [t for t in world.sandbox.rows("tickets") if t["subject"] == subject]
    return [world.sandbox.rows("ticket_replies", ticket_id=t["id"])[0]["message"] for t in found]


def completed_case(world: World) -> str:
    case_id = open_and_document(world, "domain:20")
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    assert world.case(case_id)["status"] == "completed"
    return case_id


def test_the_holders_objection_after_completion_is_raised_to_staff_once_per_reply(world: World):
    """M3: after completion, during the lock, the holder wrote in its thread "KAMI KEBERATAN, kembalikan domain
    kami": a timeline line "to classify", no staff ticket. The lock is when a wrong move can still be put back."""
    case_id = completed_case(world)
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message="Kami tidak pernah setuju! KAMI KEBERATAN, kembalikan domain kami.")
    world.settle(4)
    subject = f"Ownership case {case_id}: a reply after the case ended"
    [text] = ticket_text(world, subject)
    assert "completed" in text and "locked until" in text and f"ticket #{thread['id']}" in text
    assert "record-answer" in text
    case = world.case(case_id)
    assert case["status"] == "completed" and [r["classified"] for r in case["replies"]] == [None]
    world.later(hours=3)
    assert len(ticket_text(world, subject)) == 1  # once per reply
    reply_as(world, thread["id"], clientid=20, message="Tolong jawab kami.")
    world.settle(4)
    assert len(ticket_text(world, subject)) == 2


def test_a_reply_on_a_cancelled_case_with_no_newer_case_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    cancel(world, case_id, "the parties settled it")
    reply_as(world, thread["id"], clientid=20, message="Why was it cancelled? We object anyway.")
    world.settle(4)
    [text] = ticket_text(world, f"Ownership case {case_id}: a reply after the case ended")
    assert "cancelled" in text and "locked until" not in text


def test_the_holders_objection_while_collecting_is_raised_and_the_window_does_not_end_without_objection(
    world: World,
):
    """M1: the holder objected in a new ticket while the case collected its documents: recorded "to classify", no
    staff ticket; the window later ended "no answer from the holder" and the review said "without an objection"."""
    out = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "vendor", "--by", "alice"
    ).output
    case_id = out.split()[0]
    world.settle()
    requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": "Domain majumakmur.co.id",
            "message": "Kami dengar ada yang minta domain kami. KAMI KEBERATAN: domain itu milik kami.",
        },
    )  # fmt: skip
    world.settle(4)
    case = world.case(case_id)
    assert case["status"] == "collecting" and [r["party"] for r in case["replies"]] == ["holder"]
    assert f"Ownership case {case_id}: the holder wrote in a new ticket" in staff_tickets(world, case_id)

    today = datetime.now(UTC).date().isoformat()
    for kind, path, extra in (
        ("letterhead-letter", None, ["--ticket", "1"]),
        ("registry-extract", world.file("ahu.pdf", PDF + b"registry"), ["--dated", today]),
        ("signatory-id", world.file("ktp.png", PNG), []),
    ):
        where = [path] if path else []
        via = "email" if path else "ticket"  # a file taken from a ticket came by ticket (round 21 M1)
        world.run("ownership", "attach", case_id, *where, "--kind", kind, "--from", "requester", "--via", via,
                  "--by", "alice", *extra)  # fmt: skip
    for item in (1, 2, 3):
        world.run("ownership", "check-evidence", case_id, str(item), "--ok", "--by", "alice")
    world.settle()
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review"
    ended = [h for h in case["history"] if h["what"] == "window ended"]
    assert ended and "waits to be classified" in ended[-1]["why"] and "no answer" not in ended[-1]["why"]
    [review] = ticket_text(world, f"Review ownership case {case_id}")
    assert "without an objection" not in review and "waits to be classified" in review
