"""Twenty-fifth break round (ownership execution): the new password's welcome email copied by WHMCS to a contact of
the new holder, a holder's link answered by a requester's person invited on the holder's account after the opening,
a company requester whose WHMCS profile is no longer the company's when its domain's registrant is written, and an
approval given before a document was rejected as forged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import WEBHOOK_SECRET, Sandbox, make_client
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_round23 import owner_of
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.whmcs.api import WhmcsApi


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


@pytest.fixture
def reading(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """Seed 000's world with its receiver as the daemon builds it: the consent pages read WHMCS when answered."""
    sandbox.load("vendor-dispute")
    w = World(sandbox, tmp_path)
    old = w.public
    stop(w.server)
    w.receiver.close()
    w.receiver = Receiver(
        tmp_path / "state.db", [WEBHOOK_SECRET], whmcs_url=sandbox.url, whmcs=WhmcsApi(make_client(sandbox.api_url))
    )
    w.server = serve(w.receiver, "127.0.0.1", 0)
    w.public = f"http://127.0.0.1:{w.server.effective_port}"
    w.config.write_text(w.config.read_text().replace(old, w.public))
    run_in_thread(w.server)
    sandbox.control("hooks", {"url": f"{w.public}/hooks/whmcs", "secret": WEBHOOK_SECRET})
    w.run("tick")
    yield w
    w.close()


def staff_tickets(world: World, case_id: str) -> list[dict]:
    return [t for t in world.sandbox.rows("tickets") if case_id in t["subject"]]


def first_message(world: World, ticket: dict) -> str:
    return str(world.sandbox.rows("ticket_replies", ticket_id=ticket["id"])[0]["message"])


def approved(world: World, case_id: str) -> None:
    for who in ("alice", "bob"):
        if world.case(case_id)["status"] == "review":
            world.run("ownership", "approve", case_id, "--by", who)
    world.settle()
    assert world.case(case_id)["status"] == "executing", world.case(case_id)["status"]


def test_the_welcome_email_with_the_new_password_is_not_sent_while_a_contact_would_get_it(world: World):
    """HIGH 1: WHMCS copies a product email to each contact of the client with product emails ticked: the vendor, a
    contact on the company's account, received the password meant to shut it out. The step is held and staff are told
    which contact would get it (the seed-000 test sends it when no contact would)."""
    contact = world.sandbox.post(
        "AddContact", clientid=21, firstname="Budi", lastname="(Kreatif Studio)", email="budi.vendor@kreatifstudio.id",
        productemails=1,
    ).json()["contactid"]  # fmt: skip
    case_id = open_and_document(world, "service:201")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    approved(world, case_id)
    before = [t["id"] for t in staff_tickets(world, case_id)]
    world.sandbox.control("move", {"service": 201, "client": 21})
    world.later(hours=2)
    world.later(hours=4)
    sent = [
        c["action"] for c in world.sandbox.calls() if c["action"] == "ModuleChangePw" or c["params"].get("messagename")
    ]
    assert not sent, sent  # neither the new password nor WHMCS's welcome email
    assert not [e for e in world.emails(21) if e["subject"] == "New Account Information"]
    raised = [t for t in staff_tickets(world, case_id) if t["id"] not in before]
    assert any(f"contact #{contact}" in first_message(world, t) for t in raised), [t["subject"] for t in raised]
    assert world.case(case_id)["status"] == "executing"
    held = [line for line in world.run("approvals", "list").output.splitlines() if "credential_change" in line]
    assert held and f"contact #{contact}" in held[0], held


def test_a_company_requester_whose_profile_lost_the_company_is_not_made_the_registrant(world: World):
    """HIGH 3: the case opened for PT Maju Makmur; before execution the requester's WHMCS profile lost its company
    name and took a private address. The registrant update, which reads the profile then, made the person the
    registrant of the company's domain. It is held and staff are told what the profile says now."""
    case_id = open_and_document(world, "domain:20")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    assert world.case(case_id)["requester"]["company"] == "PT Maju Makmur"
    before = world.sandbox.post("DomainGetWhoisInfo", domainid=20).json()["Registrant"]
    changed = world.sandbox.post("UpdateClient", clientid=21, companyname="", email="siti.private@example.net")
    assert changed.json()["result"] == "success", changed.text
    tickets = [t["id"] for t in staff_tickets(world, case_id)]
    approved(world, case_id)
    world.settle()
    assert world.sandbox.post("DomainGetWhoisInfo", domainid=20).json()["Registrant"] == before
    raised = [t for t in staff_tickets(world, case_id) if t["id"] not in tickets]
    said = [first_message(world, t) for t in raised]
    assert any("PT Maju Makmur" in m and "no company" in m for m in said), said
    held = [line for line in world.run("approvals", "list").output.splitlines() if "registrant_update" in line]
    assert held and "PT Maju Makmur" in held[0], held


def test_a_requesters_person_invited_on_the_holders_account_after_the_opening_is_held(reading: World):
    """HIGH 2: the requester's owner user, invited on the holder's account after the case opened (the holder's link
    in the account's email history), consented through the holder's link: the users recorded at the opening did not
    show it, and the consent counted. The holder's account's users are read when the answer comes."""
    world = reading
    case_id = open_and_document(world, "service:201")
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20})
    before = [t["id"] for t in staff_tickets(world, case_id)]
    answer = requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200, answer.text
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "notified" and case.get("holder_link_held"), case["history"][-2:]
    raised = [t for t in staff_tickets(world, case_id) if t["id"] not in before]
    said = [first_message(world, t) for t in raised]
    assert any("siti.rahmawati@majumakmur.co.id" in m and "record-answer" in m for m in said), said


def test_a_holders_consent_counts_when_no_requesters_person_is_on_its_account(reading: World):
    world = reading
    case_id = open_and_document(world, "service:201")
    answer = requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200, answer.text
    world.settle()
    assert world.case(case_id)["status"] == "review"


def test_an_approval_given_before_a_document_was_rejected_no_longer_counts(world: World):
    """MEDIUM 4: the round-24 rule voided approvals given before a document was withdrawn, not before staff re-checked
    it and rejected it as forged: one rule now for both."""
    case_id = open_and_document(world, "service:201")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    assert world.case(case_id)["status"] == "review"
    world.run("ownership", "approve", case_id, "--by", "alice")
    letter = next(e["item"] for e in world.case(case_id)["evidence"] if e["kind"] == "registry-extract")
    world.run("ownership", "check-evidence", case_id, str(letter), "--reject", "--by", "bob", "--note", "forged")
    case = world.case(case_id)
    assert not case["approvals"], case["history"][-4:]
    assert any("rejected" in h["why"] and h["what"] == "approvals void" for h in case["history"]), case["history"][-3:]
