"""Eleventh break round, issue 17 H1: a ticket the holder opens while a case against it is open is shown to staff
whatever its words; staff who find it is about something else say so, and the holder's window goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def holder_ticket(world: World, subject: str, message: str) -> int:
    opened = world.sandbox.control(
        "act", {"action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": subject, "message": message}
    )
    world.settle(4)
    return int(opened["id"])


def test_the_holders_objection_in_a_new_ticket_that_names_neither_the_case_nor_the_domain_is_not_silence(
    world: World,
):
    """new_ticket_unnamed_objection.py: "Kami KEBERATAN ... tidak boleh dipindahkan ke PT Maju Makmur" in a new
    ticket of the holder's own account: nothing in the case, "window ended without objection", one approval moved
    the domain."""
    case_id = open_and_document(world, "domain:20")
    ticket = holder_ticket(
        world,
        "Email Anda tentang PT Maju Makmur",
        "Kami KEBERATAN. Domain dan hosting kami tidak boleh dipindahkan ke PT Maju Makmur. -- Budi, Kreatif Studio",
    )
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("holder", ticket, None), reply
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"replied in ticket #{ticket}" in refused, refused
    world.later(days=15)
    case = world.case(case_id)
    assert not [h for h in case["history"] if "without objection" in h["why"]], case["history"]


def test_a_holders_ticket_about_something_else_is_classified_unrelated_and_the_window_goes_on(world: World):
    case_id = open_and_document(world, "domain:20")
    ticket = holder_ticket(world, "Invoice question", "Could you resend invoice #12?")
    assert world.case(case_id)["status"] == "review"
    out = world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via", "ticket",
        "--by", "alice", "--note", "an invoice question",
    ).output  # fmt: skip
    case = world.case(case_id)
    assert case["status"] == "notified", out
    assert [r["classified"] for r in case["replies"]] == ["unrelated"]
    assert not case.get("recorded_answers"), case.get("recorded_answers")
    assert any(f"ticket #{ticket}" in h["why"] and "not about the case" in h["why"] for h in case["history"])
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert "notified" in refused, refused
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and any("without" in h["why"] for h in case["history"]), case["history"]


def test_a_user_of_the_holders_account_who_is_not_its_owner_is_not_shown_as_the_holder(world: World):
    """Eleventh round M5 (requester_user_other_email.sh): the requester's client email is info@, its director's own
    WHMCS user (invited on the vendor's account long ago) writes "Kreatif Studio agrees" in the holder's account:
    recorded as "holder replied by holder"; staff recorded it as the holder's consent and the move ran."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 21, "email": "info@majumakmur.co.id"})
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("access", {"user": 2, "client": 20})
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket", "clientid": 20, "userid": 2, "deptid": 1, "subject": f"Case {case_id}: consent",
            "message": f"Kreatif Studio agrees: we consent to the transfer of majumakmur.co.id (case {case_id}).",
        },
    )  # fmt: skip
    world.settle(4)
    [reply] = world.case(case_id)["replies"]
    assert reply["party"] == "other", reply
    assert "Siti" in reply["writer"], reply
    shown = world.run("ownership", "show", case_id).output
    assert "holder replied by holder" not in shown, shown
    [ticket] = [t for t in world.sandbox.rows("tickets") if t["subject"] == f"Ownership case {case_id}: a reply to classify"]
    said = world.sandbox.rows("ticket_replies", ticket_id=ticket["id"])[0]["message"]
    assert "is a user invited on the account of the holder" in said, said


def test_listing_cases_in_a_status_no_case_can_have_is_a_usage_error(world: World):
    """Eleventh round L1: `ownership list --status bogus` printed "no ownership cases" with exit 0 while cases
    existed."""
    open_and_document(world, "domain:20")
    refused = world.fail("ownership", "list", "--status", "bogus")
    assert "Invalid value for '--status'" in refused and "'bogus' is not one of" in refused, refused
    assert "notified" in world.run("ownership", "list", "--status", "NOTIFIED").output
