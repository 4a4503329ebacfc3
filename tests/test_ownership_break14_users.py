"""Issue 17, fourteenth break round, HIGH 3 against the sandbox: the holder's profile carries the company's general
address (info@) while its owner user logs in with his own (WHMCS 8 keeps a client's email and its users' emails
apart, DD:api-reference/getclientsdetails.md `users`). Writing from another account he is a user of, he was not
recognised as the holder's person (the case knew only the profile's address): his objection was ignored and the domain
moved. The case knows its parties' users as WHMCS lists them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_break13 import staff_text, waiting
from tests.test_ownership_detect_break12 import never_silence, open_ticket
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_the_holders_owner_with_his_own_login_address_objecting_from_another_account_reaches_the_case(world: World):
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "email": "info@kreatifstudio.id"})
    case_id = open_and_document(world, "domain:20")
    assert world.case(case_id)["holder"]["email"] == "info@kreatifstudio.id"
    world.sandbox.control("access", {"user": 1, "client": 22})
    ticket = open_ticket(
        world, 22, "Permintaan PT Maju Makmur",
        "KAMI KEBERATAN atas permintaan PT Maju Makmur. Jangan dipindahkan. -- Budi",
        userid=1,
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "the owner of the account of the holder Kreatif Studio (#20)" in text, text
    never_silence(world, case_id)


def test_the_owners_objection_from_another_account_reaches_the_case_when_only_the_poll_tells_of_it(world: World):
    """HIGH 3 as g12_owner_other_email.py ran it: no hook (the daemon's receiver was not told of the ticket), so
    the poll found it, and the poll's TicketOpen names the requestor's address (GetTicket). That address
    (budi@) is neither party's profile email (info@ on #20): the ticket reached no case ("no answer from the
    holder", the domain moved), while the hook's TicketOpen, naming no requestor, was read back and caught.
    Whether the writer is a user of a party's account is GetUsers' fact, read with the message on either path."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "email": "info@kreatifstudio.id"})
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("access", {"user": 1, "client": 22})
    world.sandbox.control("hooks", {"url": None, "secret": None})  # the poll alone tells of it
    ticket = open_ticket(
        world, 22, "Permintaan PT Maju Makmur",
        "KAMI KEBERATAN atas permintaan PT Maju Makmur. Domain itu milik Kreatif Studio, jangan dipindahkan. -- Budi Santoso",
        userid=1,
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "the owner of the account of the holder Kreatif Studio (#20)" in text, text
    assert "from the account of client #22" in text and f"--reply {ticket}:0" in text, text
    never_silence(world, case_id)


def test_another_clients_user_who_is_no_partys_is_read_and_left_out(world: World):
    """The other side of reading every other account's message: a user of #22 who is no party's person, writing
    about something else, is read (GetUsers says he is no user of #20 or #21) and not attached."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("hooks", {"url": None, "secret": None})
    open_ticket(world, 22, "Invoice question", "Could you resend invoice #12?")
    case = world.case(case_id)
    assert not case.get("replies") and not case.get("reading"), case
    assert case["status"] == "notified" and len(case.get("read") or []) == 1, case


def test_the_owner_mailing_in_as_a_guest_from_his_login_address_reaches_the_case_unverified(world: World):
    """The variant (g14_guest_owner_login_address.py): the owner mails in from budi@ (his login address, not the
    profile's info@) with no client account: a guest. It was ignored. It reaches the case to classify, said to be a
    guest whose address WHMCS does not verify, never the holder's account (nor its answer until staff name it)."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "email": "info@kreatifstudio.id"})
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("hooks", {"url": None, "secret": None})
    ticket = open_ticket(
        world, 0, "Keberatan", "KAMI KEBERATAN. Jangan pindahkan domain kami. -- Budi",
        name="Budi Santoso", email="budi@kreatifstudio.id",
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    [text] = staff_text(world, case_id, "a reply to classify")
    assert "as a guest" in text and "does not verify" in text, text
    assert "the owner of the account of the holder Kreatif Studio (#20)" in text, text
    assert "from the account of client" not in text, text
    never_silence(world, case_id)
