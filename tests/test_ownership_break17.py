"""Sixteenth break round, issue 17, the LOW findings left for the next session: the dossier's page keeping
terminal escapes a party wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, thread_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.families.ownership.incoming import names_party
from whmcs_bridge.whmcs import whois


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_the_dossier_page_drops_the_terminal_escapes_a_party_wrote(world: World):
    """Sixteenth round LOW (summary_escapes.py): `show` dropped the escape sequences in a holder's reason, but the
    dossier's summary.html kept them, so `cat summary.html` cleared a staff member's screen. Seen while writing this
test: the escapes after "object" made it look like a generated code, and the objection read "We [hidden]"."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    reason = "We object\x1b[2J\x1b[31m, red now\u202e reversed"
    assert requests.post(link, data={"reason": reason, "decision": "decline"}, timeout=10).status_code == 200
    world.settle()
    world.run("ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    summary = (world.tmp / "dossier" / "summary.html").read_text()
    # The reason as it reads; "object" followed by escapes is not taken for a generated code and hidden.
    assert "We object, red now reversed" in summary
    assert "\x1b" not in summary and "\u202e" not in summary


def test_the_new_registrant_keeps_nothing_that_reaches_or_names_the_previous_holder():
    """Seventeenth round H2: an Enom/OpenSRS-style block kept the vendor's Fax, Mobile, Phone Ext and Company
    Number, and "State/Province" kept Jawa Barat for a holder in DKI Jakarta (the slash hid the field)."""
    block = {
        "First Name": "Budi", "Last Name": "Santoso", "Organisation Name": "Kreatif Studio",
        "Address 1": "Jl. Braga 10", "City": "Bandung", "State/Province": "Jawa Barat", "Postcode": "40111",
        "Country": "ID", "Phone": "+62.224201234", "Phone Ext": "12", "Fax": "+62.224209999",
        "Mobile": "+62.8121234567", "Company Number": "AHU-0012345", "Email": "budi@kreatifstudio.id",
        "Language": "id",
    }  # fmt: skip
    holder = whois.holder_details(
        {"name": "Siti Rahmawati", "company": "PT Maju Makmur", "email": "siti@majumakmur.co.id",
         "address1": "Jl. Sudirman 1", "city": "Jakarta", "state": "DKI Jakarta", "postcode": "10210",
         "country": "ID", "phone": "+62.215550199"}
    )  # fmt: skip
    new = whois.with_holder(block, holder)
    assert new["State/Province"] == "DKI Jakarta"
    assert new["Fax"] == new["Mobile"] == new["Phone Ext"] == new["Company Number"] == "", new
    assert new["Language"] == "id"  # not about the holder: kept as the registrar had it
    assert "Budi" not in str(new) and "Kreatif" not in str(new) and "Bandung" not in str(new), new


@pytest.mark.parametrize("said", ["kreatifstudio menolak pemindahan", "PT MajuMakmur", "BudiSantoso", "CV Kreatif-Studio"])
def test_a_guest_naming_a_party_with_the_words_joined_is_brought_to_the_case(said: str):
    """Seventeenth round M2: "kreatifstudio menolak" (a brand, a domain label) was not brought to the open case,
    while "PT. Kreatif-Studio" was."""
    case = {
        "holder": {"company": "Kreatif Studio", "name": "Budi Santoso"},
        "requester": {"company": "PT Maju Makmur", "name": "Siti Rahmawati"},
    }
    assert names_party(case, said)
    assert not names_party(case, "Kami ingin memindahkan domain lain")


def test_a_form_with_two_answers_records_neither(world: World):
    """Seventeenth round LOW: a hand-made POST carrying both `decision=consent` and `decision=decline` was recorded
    as the last one. It answers nothing, and the link still takes the holder's real answer."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    both = requests.post(link, data=[("decision", "consent"), ("decision", "decline")], timeout=10)
    assert both.status_code == 400, both.text
    world.settle()
    assert not [h for h in world.case(case_id)["history"] if "holder" in h["what"] and "object" in h["what"]]
    assert requests.post(link, data={"decision": "decline", "reason": "no"}, timeout=10).status_code == 200


def test_a_cancelled_case_asks_no_one_to_classify_its_replies(world: World):
    """Seventeenth round LOW: `show` of a cancelled case still said "NOT CLASSIFIED YET (ownership record-answer
    ...)", a command that only logs, for a case nothing waits on."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message="Kami setuju.")
    world.settle(4)
    assert "NOT CLASSIFIED YET" in world.run("ownership", "show", case_id).output
    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "the parties agreed between themselves")
    world.settle()
    shown = world.run("ownership", "show", case_id).output
    assert "NOT CLASSIFIED YET" not in shown and "not classified (the case is cancelled)" in shown, shown
