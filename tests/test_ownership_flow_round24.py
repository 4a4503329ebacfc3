"""Twenty-fourth break round (ownership flow): a whole account made one of its holder's own users', what the account
gained after the approval, a holder's consent the requester could give, approvals over withdrawn evidence, cases that
could be neither cancelled nor completed, a guest's draft, and requester-contact's characters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_round23 import executing_whole_account, owner_of


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_tickets(world: World, case_id: str) -> list[str]:
    return [t["subject"] for t in world.sandbox.rows("tickets") if case_id in t["subject"]]


def test_a_whole_account_made_a_user_it_had_at_opening_is_raised_not_completed(world: World):
    """HIGH 1: a user of the holder's account when the case opened, also invited on the requester's account, was
    taken for the new holder after staff's "Make Owner": the case completed and locked the account in the holder's
    own hands."""
    login = owner_of(world, 22)
    world.sandbox.control("access", {"user": login, "client": 20})
    case_id = executing_whole_account(world)
    # Invited on the requester's account once the case executes (before, the holder's link would be held: HIGH 3).
    world.sandbox.control("access", {"user": login, "client": 21})
    before = staff_tickets(world, case_id)
    world.sandbox.control("access", {"user": login, "client": 20, "owner": True})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "executing", case["status"]
    raised = [t for t in staff_tickets(world, case_id) if t not in before]
    assert raised, staff_tickets(world, case_id)
    assert any("user of the holder's account" in h["why"] for h in case["history"]), case["history"][-3:]


def test_what_a_whole_account_gained_after_the_approval_holds_its_completion(world: World):
    """HIGH 2: a hosting and a domain ordered on the account after the approval went to the requester with "Make
    Owner", unsaid. Completion reads what the account holds, as the approval did: anything more is raised to staff."""
    case_id = executing_whole_account(world)
    world.sandbox.control("checkout", {"client_id": 20, "user_id": 1, "pid": 1, "domain": "tokobaru.id"})
    world.settle()
    before = staff_tickets(world, case_id)
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20, "owner": True})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "executing", case["status"]
    raised = [t for t in world.sandbox.rows("tickets") if case_id in t["subject"] and t["subject"] not in before]
    assert raised, staff_tickets(world, case_id)
    body = world.sandbox.rows("ticket_replies", ticket_id=raised[-1]["id"])[0]["message"]
    assert "tokobaru.id" in body and "after the approval" in body, body
    # Staff move what was added out of the account: the account is as it was approved, the case completes.
    for s in world.sandbox.rows("services", client_id=20):
        if s["id"] != 201:
            world.sandbox.control("move", {"service": s["id"], "client": 22})
    added = next(d["id"] for d in world.sandbox.rows("domains", client_id=20) if d["domainname"] == "tokobaru.id")
    world.sandbox.control("move", {"domain": added, "client": 22})
    world.later(hours=4)
    assert world.case(case_id)["status"] == "completed", world.case(case_id)["history"][-3:]


def test_a_holders_link_answer_the_requesters_person_could_give_waits_for_staff(world: World):
    """HIGH 3: the requester's owner user is an invited user of the holder's account, whose email history holds the
    holder's link: its consent went to review as "The holder consented". It now waits for staff's record-answer."""
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20})
    case_id = open_and_document(world, "service:201")
    before = staff_tickets(world, case_id)
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "notified", case["status"]
    raised = [t for t in world.sandbox.rows("tickets") if case_id in t["subject"] and t["subject"] not in before]
    assert raised, staff_tickets(world, case_id)
    body = world.sandbox.rows("ticket_replies", ticket_id=raised[-1]["id"])[0]["message"]
    assert "siti.rahmawati@majumakmur.co.id" in body and "record-answer" in body, body
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "Budi confirmed on the phone",
    )  # fmt: skip
    assert world.case(case_id)["status"] == "review"


def test_an_approval_given_before_a_document_was_withdrawn_no_longer_counts(world: World):
    """MEDIUM 4: an approval given on a letter later withdrawn as forged still counted once a new letter was checked."""
    case_id = open_and_document(world, "service:201")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    assert world.case(case_id)["status"] == "review"
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert world.case(case_id)["status"] == "review"  # one of two
    letter = next(e["item"] for e in world.case(case_id)["evidence"] if e["kind"] == "registry-extract")
    world.run("ownership", "withdraw-evidence", case_id, str(letter), "--by", "bob", "--note", "forged")
    case = world.case(case_id)
    assert not case["approvals"], case["history"][-4:]
    assert any("withdrawn" in h["why"] and h["what"] == "approvals void" for h in case["history"]), case["history"][-3:]


def test_an_executing_case_in_which_nothing_moved_can_be_cancelled(world: World):
    """MEDIUM 5: approved, nothing moved in WHMCS (the domain is the holder's still): cancel was refused ("finish or
    undo the move") though there was none. WHMCS is read: nothing with the requester, the cancel goes through."""
    case_id = open_and_document(world, "domain:20")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    for who in ("alice", "bob"):
        if world.case(case_id)["status"] == "review":
            world.run("ownership", "approve", case_id, "--by", who)
    world.settle()
    assert world.case(case_id)["status"] == "executing"
    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "the letter was forged")
    assert world.case(case_id)["status"] == "cancelled"


def test_a_backup_only_subject_deleted_in_whmcs_does_not_block_completion(world: World):
    """MEDIUM 5: the backup-only hosting deleted in WHMCS made `complete` refuse for ever ("client #None")."""
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    assert world.case(case_id)["subjects"][0]["hand_over"] == "backup-only"
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    world.sandbox.control("delete", {"service": 201})
    world.run("ownership", "complete", case_id, "--by", "alice", "--note", "backup sent before it was deleted")
    case = world.case(case_id)
    assert case["status"] == "completed", case["status"]
    assert any(h["what"] == "no longer in WHMCS" for h in case["history"]), case["history"][-3:]


@pytest.mark.parametrize("city", ["Jakarta\nCountry: NL", "Jakarta\u202eatrakaJ", "Jakarta\x1b[2J"])
def test_requester_contact_refuses_control_and_direction_characters(world: World, city: str):
    """LOW 7: requester-contact took a newline, a right-to-left override or an escape into the registrant's fields."""
    from tests.test_ownership_round23 import outside_case

    case_id = outside_case(world)
    refused = world.fail("ownership", "requester-contact", case_id, "--city", city, "--by", "bob")
    assert "--city" in refused and "U+" in refused, refused
    assert world.case(case_id)["requester"].get("city") in (None, "")


def test_a_refused_evidence_file_says_the_answer_was_not_recorded(world: World):
    """LOW 7: record-answer with an unreadable scan spoke only of the file; the objection itself was not recorded."""
    case_id = open_and_document(world, "domain:20")
    scan = world.file("letter.pdf", b"%PDF-1.4\n% holder objection letter, scanned\n%%EOF\n")
    refused = world.fail(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "post",
        "--by", "bob", "--evidence", scan, "--note", "letter received",
    )  # fmt: skip
    assert "was not recorded" in refused, refused
    assert not world.case(case_id).get("recorded_answers")


def test_a_guests_draft_is_confirmed_with_the_requester_staff_name(world: World):
    """MEDIUM 6: a guest's request drafted a case with requester client #0 that `confirm` could never confirm."""
    import json

    world.sandbox.post(
        "OpenTicket", deptid=1, name="Rina Hartono", email="rina@majumakmur.co.id", subject="Domain majumakmur.co.id",
        message="Kami PT Maju Makmur pemilik merek. Mohon full access dan kepemilikan domain majumakmur.co.id dan hosting.",
    )  # fmt: skip
    world.settle()
    drafts = [c for c in json.loads(world.run("ownership", "list", "--json").output) if c["status"] == "draft"]
    assert drafts, world.run("ownership", "list").output
    case_id = drafts[0]["id"]
    refused = world.fail("ownership", "confirm", case_id, "--grounds", "brand", "--by", "alice")
    assert "--requester" in refused and "guest" in refused, refused
    world.run(
        "ownership", "confirm", case_id, "--grounds", "brand", "--by", "alice",
        "--requester", "PT Maju Makmur, rina@majumakmur.co.id",
    )  # fmt: skip
    assert world.case(case_id)["status"] == "collecting", world.case(case_id)["status"]
