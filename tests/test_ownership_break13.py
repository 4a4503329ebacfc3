"""Thirteenth break round, issue 17 (H2, H3, H6, H8, H9): a party's written words in any ticket reach the case, and
staff are told truthfully who wrote them. A party's person writing from another client account it is a user of, staff
writing the holder's phoned answer in the case thread, a guest writing from the holder's address, a party's name
wrapped over two lines: each stops the case until staff classify it; an answer by ticket never classifies a reply
someone else wrote unless staff name it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, thread_of
from tests.test_ownership_detect_break12 import never_silence, open_ticket
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.engine import Engine
from whmcs_bridge.families.ownership.incoming import names_case, names_party
from whmcs_bridge.model import Action, Event, action_key
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_text(world: World, case_id: str, subject_part: str) -> list[str]:
    """The opening message of each staff ticket of the case whose subject has these words."""
    found = [
        t
        for t in world.sandbox.rows("tickets")
        if t["subject"].startswith(f"Ownership case {case_id}:") and subject_part in t["subject"]
    ]
    return [" ".join(world.sandbox.rows("ticket_replies", ticket_id=t["id"])[0]["message"].split()) for t in found]


def waiting(world: World, case_id: str) -> list[dict[str, Any]]:
    return [r for r in world.case(case_id).get("replies", []) if not r.get("classified")]


def test_the_holders_owner_objecting_from_another_account_he_is_a_user_of_reaches_the_case(world: World):
    """H2 (owner_in_other_account.py): Budi, owner of the holder's account #20, is also a user of a customer's
    account #22 and, with it selected, objects naming only the parties: WHMCS files it under #22, requestor user #1.
    It was ignored, "without objection", the domain moved."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("access", {"user": 1, "client": 22})
    ticket = open_ticket(
        world, 22, "Permintaan PT Maju Makmur",
        "KAMI KEBERATAN atas permintaan PT Maju Makmur. Domain itu milik Kreatif Studio, jangan dipindahkan. -- Budi",
        userid=1,
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "the owner of the account of the holder Kreatif Studio (#20)" in text, text
    assert "from the account of client #22" in text and f"--reply {ticket}:0" in text, text
    never_silence(world, case_id)


def test_the_requesters_owner_withdrawing_from_another_account_stops_the_case(world: World):
    """H2, the requester's side (requester_in_other_account.py): Siti, owner of the requester's account #21, withdraws
    the request from #22's account; the holder had consented by phone. It was ignored and the domain moved."""
    case_id = open_and_document(world, "domain:20")
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
              "--by", "alice", "--note", "called Budi")  # fmt: skip
    world.settle()
    requester_user = 2  # Siti, the owner of the requester's account #21 (sandbox scenario vendor-dispute)
    world.sandbox.control("access", {"user": requester_user, "client": 22})
    ticket = open_ticket(
        world, 22, "Pembatalan permintaan",
        "Kami membatalkan permintaan pemindahan domain dari vendor kami. Mohon hentikan prosesnya. -- Siti",
        userid=requester_user,
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert reply["ticket"] == ticket, reply
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "the owner of the account of the requester" in text and "client #22" in text, text
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"ticket #{ticket}" in refused, refused
    # Staff record what it says as the requester's answer, naming it: the case is cancelled.
    world.run("ownership", "record-answer", case_id, "--party", "requester", "--answer", "object", "--via", "ticket",
              "--reply", f"{ticket}:0", "--by", "alice", "--note", "Siti withdrew")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "cancelled"


def test_staffs_reply_in_the_case_thread_reporting_a_phoned_objection_stops_the_case(world: World):
    """H3 (staff_writes_phone_objection.py): bob wrote in the holder's thread "as discussed on the phone: you OBJECT",
    without record-answer. It was dropped (an admin reply had no party), "without an objection", the domain moved."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    world.sandbox.control("act", {
        "action": "AddTicketReply", "ticketid": thread["id"], "adminusername": "bob",
        "message": "Dear Budi, as discussed on the phone just now: you OBJECT to the transfer of majumakmur.co.id.",
    })  # fmt: skip
    world.settle(4)
    [reply] = waiting(world, case_id)
    assert reply["ticket"] == thread["id"] and reply.get("staff") and "bob" in reply["writer"], reply
    assert world.case(case_id)["status"] == "review"
    [text] = staff_text(world, case_id, "staff wrote in the case thread")
    assert "record-answer" in text and f"--reply {thread['id']}:{reply['reply']}" in text and "unrelated" in text
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"ticket #{thread['id']}" in refused, refused
    never_silence(world, case_id)
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
              "--reply", f"{thread['id']}:{reply['reply']}", "--by", "bob", "--note", "Budi phoned: objects")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "disputed"


def test_the_bridges_own_replies_as_staff_in_the_thread_never_count(world: World):
    """H3's other side: with `whmcs.reply_admin` set, the bridge's own reply in a case's thread is a staff reply in
    WHMCS too (the poll reports it as TicketAdminReply): it is the bridge's own write, never a reply to classify."""
    text = world.config.read_text()
    world.config.write_text(text.replace("  max_attempts: 2\n", "  max_attempts: 2\n  reply_admin: robot\n", 1))
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply = Action(
        key=action_key("ownership", f"case:{case_id}", "holder-test-reply"),
        family="ownership",
        kind="ticket_reply",
        params={"ticket_id": thread["id"], "message": "A reminder: the window of the request ends soon."},
        client_id=20,
        subject=f"ownership:{case_id}",
    )
    with Database(world.tmp / "state.db") as db:
        Engine(db, []).enqueue([reply], Event(id="test", type="Test", data={}), datetime.now(UTC))
    world.settle(4)
    admin = [r for r in world.sandbox.rows("ticket_replies", ticket_id=thread["id"]) if r.get("admin") == "robot"]
    assert len(admin) == 1 and "window of the request" in admin[0]["message"], admin
    assert not world.case(case_id).get("replies"), world.case(case_id).get("replies")
    assert not staff_text(world, case_id, "staff wrote")
    # A member of staff writing the same words without the bridge's key is staff's, and counts.
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": thread["id"], "adminusername": "robot",
                                  "message": "A reminder: the window of the request ends soon."})  # fmt: skip
    world.settle(4)
    [counted] = waiting(world, case_id)
    assert counted.get("staff") and counted["ticket"] == thread["id"], counted


def test_a_guest_writing_from_the_holders_address_is_not_presented_as_the_holders_account(world: World):
    """H6 (forged_guest_consent.py): a guest ticket (no login) from "Budi Santoso <budi@kreatifstudio.id>" saying
    "Kami SETUJU": staff were told "Kreatif Studio (#20) opened ticket", and recorded it as the holder's consent."""
    case_id = open_and_document(world, "domain:20")
    ticket = open_ticket(
        world, 0, "Persetujuan", f"Kami SETUJU, silakan pindahkan majumakmur.co.id (case {case_id})",
        name="Budi Santoso", email="budi@kreatifstudio.id",
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    assert not staff_text(world, case_id, "the holder wrote in a new ticket")
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "as a guest" in text and "does not verify" in text and "(#20) opened" not in text, text
    assert world.case(case_id)["status"] == "review"
    refused = world.fail("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent",
                         "--via", "ticket", "--by", "alice")  # fmt: skip
    assert f"--reply {ticket}:0" in refused, refused
    assert not world.case(case_id).get("holder_consent")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Saya pemilik Kreatif\r\nStudio. Jangan pindahkan.", True),
        ("KAMI KEBERATAN atas permintaan PT Maju\r\nMakmur.", True),
        ("Permintaan dari PT Maju  Makmur", True),
        ("kreatif\tstudio", True),
        ("Kreatif Studios", True),
        ("Studio Kreatif", False),
    ],
)
def test_a_partys_name_is_found_across_wrapped_lines_and_spacing(text: str, found: bool):
    """H8 (guest_wrapped_name.py): a mail client wrapped "Kreatif\\r\\nStudio": not found, the objection ignored."""
    case = {
        "id": "oc-1",
        "subjects": [{"kind": "domain", "name": "majumakmur.co.id"}],
        "holder": {"company": "Kreatif  Studio", "name": "Budi Santoso"},
        "requester": {"company": "PT Maju Makmur", "name": "Siti"},
    }
    assert names_party(case, text) is found
    assert names_case(case, "pindahkan majumakmur.co.id") and names_case(case, "case\nOC-1")


def test_a_guest_objection_with_wrapped_names_reaches_the_case(world: World):
    case_id = open_and_document(world, "domain:20")
    ticket = open_ticket(
        world, 0, "Permintaan dari PT Maju  Makmur",
        "Saya pemilik Kreatif\r\nStudio. KAMI KEBERATAN atas permintaan PT Maju\r\nMakmur. Jangan pindahkan.\r\n-- Budi",
        name="Budi S.", email="budi.pribadi@gmail.com",
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    never_silence(world, case_id)


def test_an_answer_by_ticket_never_classifies_a_lawyers_reply_unless_staff_name_it(world: World):
    """H9 (consent_swallows_lawyer.py, VIA=ticket): a lawyer's guest reply objecting in the thread; staff recorded
    the holder's consent "by ticket" without --reply: the lawyer's objection was classified as the holder's
    consent, and the domain moved."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], name="Rudi Hartono SH", email="rudi@hartono-law.co.id",
             message="On behalf of our client Kreatif Studio we formally OBJECT to this transfer.")  # fmt: skip
    world.settle(4)
    [lawyer] = waiting(world, case_id)
    assert lawyer["party"] == "other", lawyer
    refused = world.fail("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent",
                         "--via", "ticket", "--by", "alice", "--note", "Budi said it is fine")  # fmt: skip
    assert f"--reply {thread['id']}:{lawyer['reply']}" in " ".join(refused.split()), refused
    assert "Rudi Hartono SH" in refused, refused
    [still] = waiting(world, case_id)
    assert still["reply"] == lawyer["reply"] and not world.case(case_id).get("holder_consent")
    # Named, it is classified, and the output says whose words they were.
    out = world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via",
                    "ticket", "--reply", f"{thread['id']}:{lawyer['reply']}", "--by", "alice",
                    "--note", "the lawyer objects for the holder")  # fmt: skip
    assert "Rudi Hartono SH" in out.output and "not the holder" in out.output, out.output
