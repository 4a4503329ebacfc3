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
