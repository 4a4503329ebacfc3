"""Issue 17, twenty-fifth round of ownership fixes (break round 24, tester A's remaining MEDIUM and LOW findings),
against the vendor-dispute sandbox, the real receiver and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_account_owner_round24 import make_owner, owner_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import completed_case, holder_link
from tests.test_ownership_locks import staff_tickets


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def executing_case(world: World) -> str:
    case_id = open_and_document(world, "domain:20")
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    assert world.case(case_id)["status"] == "executing"
    return case_id


def test_make_owner_on_the_holders_account_while_executing_is_raised_once(world: World):
    """repro_make_owner_during_execution: staff were to move domain #20 to the company; they made the company's
    person owner of the vendor's whole account #20 instead, handing over all it holds. Nothing was raised."""
    case_id = executing_case(world)
    company = owner_of(world, 21)
    make_owner(world, 20, company)
    world.later(hours=2)
    [text] = staff_tickets(world, case_id, "account owner changed")
    assert "Kreatif Studio (#20)" in text and f"user #{company}" in text, text
    assert "executed" in text, text
    assert world.case(case_id)["history"][-1]["what"] == "account owner changed in WHMCS while executing"
    world.later(hours=5)
    assert len(staff_tickets(world, case_id, "account owner changed")) == 1


def test_make_owner_on_the_new_holders_account_during_the_lock_is_raised_once(world: World):
    """repro_make_owner_during_lock: domain #20 moved to the company #21 and locked; the vendor's Budi was then made
    owner of #21: the locked domain is the vendor's again, through its account. Nothing was raised."""
    case_id = completed_case(world)
    vendor = owner_of(world, 20)
    make_owner(world, 21, vendor)
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "account owner changed")
    assert "PT Maju Makmur (#21)" in text and f"user #{vendor}" in text and "locked" in text, text
    assert world.case(case_id)["history"][-1]["what"] == "account owner changed in WHMCS while locked"
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "account owner changed")) == 1


def review_text(world: World, case_id: str) -> str:
    [ticket] = [t for t in world.sandbox.rows("tickets") if t["subject"] == f"Review ownership case {case_id}"]
    return str(world.sandbox.rows("ticket_replies", ticket_id=ticket["id"])[0]["message"])


def consented_case(world: World, holder_agent: str = "") -> str:
    """The company's case on domain #20, the holder's consent through its link (by default from the browser
    that confirmed the request)."""
    case_id = open_and_document(world, "domain:20")
    headers = {"User-Agent": holder_agent} if holder_agent else {}
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, headers=headers, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "review"
    return case_id


def test_the_holders_address_on_the_requesters_mail_domain_is_flagged_to_the_reviewers(world: World):
    """repro_holder_mail_at_requester_domain: the holder (an ex-employee) registered with his work address at the
    company that asks: the company reads that mailbox, the holder's link included. The review said only "The holder
    consented"."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "email": "budi@majumakmur.co.id"})
    case_id = consented_case(world)
    before = review_text(world, case_id).split("May move")[0]
    assert "budi@majumakmur.co.id" in before and "siti.rahmawati@majumakmur.co.id" in before, before
    assert "majumakmur.co.id, the mail domain" in before, before


def test_both_answers_from_one_address_and_browser_are_flagged_to_the_reviewers(world: World):
    case_id = consented_case(world)
    before = review_text(world, case_id).split("May move")[0]
    assert "mail domain" not in before, before  # kreatifstudio.id and majumakmur.co.id
    assert "from one IP address, 127.0.0.1, and one browser" in before, before
    agents = {a["party"]: a["user_agent"] for a in world.case(case_id)["answers"]}
    assert agents["holder"] in before, before


def test_answers_from_one_address_with_two_browsers_name_the_address_only(world: World):
    case_id = consented_case(world, holder_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    before = review_text(world, case_id).split("May move")[0]
    assert "from one IP address, 127.0.0.1." in before and "browser" not in before, before


def test_the_holders_login_invited_on_the_requesters_account_holds_the_holders_consent(world: World):
    """repro_holder_login_on_requester_account: the vendor's Budi (owner user of the holder #20) is also a user of
    the company's account #21. One person reads both parties' links: the holder's consent waits for staff, as when
    the requester's person is a user of the holder's account, and staff's ticket says which way it goes."""
    world.sandbox.control("access", {"user": 1, "client": 21})
    case_id = open_and_document(world, "service:201")
    budi = world.case(case_id)["holder"]["email"]
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, timeout=5)
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "notified" and case.get("holder_link_held"), case["history"][-1]
    [text] = staff_tickets(world, case_id, "the holder's consent needs your confirmation")
    assert f"{budi}, a user of both the holder's account Kreatif Studio (#20) and the requester's PT Maju Makmur (#21)" in text, text
    assert "the requester's, is a user of the holder's account" not in text, text
    assert "a user of both accounts" in case["history"][-1]["why"], case["history"][-1]


def test_the_requesters_person_invited_on_the_holders_account_holds_the_holders_consent_the_same_way(world: World):
    world.sandbox.control("access", {"user": 2, "client": 20})  # Siti, owner user of the company #21
    case_id = open_and_document(world, "domain:20")
    siti = world.case(case_id)["requester"]["email"]
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "notified"
    [text] = staff_tickets(world, case_id, "the holder's consent needs your confirmation")
    assert f"{siti}, a user of both the holder's account Kreatif Studio (#20) and the requester's PT Maju Makmur (#21)" in text, text


def test_a_guests_draft_note_names_the_guest_and_the_requester_option(world: World):
    """repro_guest_draft_unconfirmable, its remainder: the note on a guest's ticket said only "confirm CASE --grounds
    ... --by NAME", which refuses a guest's draft; it named neither the guest nor --requester."""
    ticket = world.sandbox.post(
        "OpenTicket", deptid=1, name="Rina Hartono", email="rina@majumakmur.co.id", subject="Domain majumakmur.co.id",
        message="Kami PT Maju Makmur pemilik merek. Mohon full access dan kepemilikan domain majumakmur.co.id dan hosting.",
    ).json()  # fmt: skip
    world.settle()
    [note] = [n["message"] for n in world.sandbox.rows("ticket_notes", ticket_id=ticket["id"]) if "Draft" in n["message"]]
    assert "Rina Hartono" in note and "rina@majumakmur.co.id" in note, note
    assert "--requester" in note and "ownership confirm" in note, note
    case_id = note.split("Draft ownership case ")[1].split()[0]
    assert "Rina Hartono" in world.run("ownership", "list").output
    world.run(
        "ownership", "confirm", case_id, "--grounds", "brand", "--by", "alice",
        "--requester", "PT Maju Makmur, rina@majumakmur.co.id",
    )  # fmt: skip
    assert world.case(case_id)["status"] == "collecting"


@pytest.mark.parametrize("placeholder", ["-", ".", "n/a", "None", "—", " N/A "])
def test_a_placeholder_company_name_is_no_company(placeholder: str):
    from whmcs_bridge.families.ownership.policies import company_name, party_kind

    assert party_kind({"company": placeholder, "name": "Budi Santoso"}) == "person"
    assert party_kind({"company": "PT Maju Makmur"}) == "company"
    assert company_name(placeholder) == "" and company_name(" Kreatif Studio ") == "Kreatif Studio"


def test_a_deceased_holder_with_a_placeholder_company_name_is_a_person(world: World):
    """repro_deceased_placeholder_company: the dead client's optional Company Name held "-"; the bridge took him for
    a company and refused --grounds deceased, asking for a dissolution record instead."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "companyname": "-"})
    out = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "deceased",
        "--by", "alice",
    ).output  # fmt: skip
    case = world.case(out.split()[0])
    assert case["status"] == "collecting" and case["holder"]["company"] == "", case["holder"]
    assert "held by Budi Santoso (client #20)" in world.run("ownership", "list").output


def test_a_guests_name_is_listed_on_one_line():
    """The guest's name is what a stranger typed: `ownership list` shows it on one line, with no terminal escape."""
    from whmcs_bridge.families.ownership.staff import asked_by

    draft = {"status": "draft", "requester": {"client": 0}, "guest": {"name": "Rina\x1b[2J\nHartono", "email": "r@x.id"}}
    shown = asked_by(draft)
    assert shown == "the guest Rina<U+000A>Hartono (r@x.id), no WHMCS client", shown
