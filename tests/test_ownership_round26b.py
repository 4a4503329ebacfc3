"""Twenty-sixth break round, second fix session (ownership): the requester's profile email changed before the
hand-over to the holder's own address (or one on the holder's mail domain) is not written into the domain's WHOIS nor
sent the new hosting password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import test_ownership_locks as locks
from tests import test_ownership_round26 as round26
from tests.conftest import Sandbox, make_client, sql
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_execution_round25 import approved, first_message, staff_tickets
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def consented(world: World, *subjects: str) -> str:
    case_id = open_and_document(world, *subjects)
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    return case_id


@pytest.mark.parametrize("address", ["budi@kreatifstudio.id", "siti@KreatifStudio.id"])
def test_a_registrant_email_that_is_the_holders_is_not_written(world: World, address: str):
    """HIGH 3: before the approval the requester's profile email became the vendor's own address (or another on the
    vendor's mail domain); the registrant update, reading the profile then, wrote it as the new registrant's email:
    the vendor kept the domain's registrant mailbox. It is held and staff are told which address."""
    case_id = consented(world, "domain:20")
    before = world.sandbox.post("DomainGetWhoisInfo", domainid=20).json()["Registrant"]
    changed = world.sandbox.post("UpdateClient", clientid=21, email=address)
    assert changed.json()["result"] == "success", changed.text
    tickets = [t["id"] for t in staff_tickets(world, case_id)]
    approved(world, case_id)
    world.settle()
    assert world.sandbox.post("DomainGetWhoisInfo", domainid=20).json()["Registrant"] == before
    said = [first_message(world, t) for t in staff_tickets(world, case_id) if t["id"] not in tickets]
    assert any(address in m for m in said), said
    held = [line for line in world.run("approvals", "list").output.splitlines() if "registrant_update" in line]
    assert held and address in held[0], held


def test_the_welcome_email_with_the_new_password_does_not_go_to_the_holders_address(world: World):
    """HIGH 4: the requester's profile email became the vendor's before the move; the new password's welcome email
    went to it. The step is held (no password change, no email) and staff are told the address."""
    case_id = consented(world, "service:201")
    assert world.sandbox.post("UpdateClient", clientid=21, email="budi@kreatifstudio.id").json()["result"] == "success"
    approved(world, case_id)
    before = [t["id"] for t in staff_tickets(world, case_id)]
    world.sandbox.control("move", {"service": 201, "client": 21})
    world.later(hours=2)
    world.later(hours=4)
    sent = [
        c["action"] for c in world.sandbox.calls() if c["action"] == "ModuleChangePw" or c["params"].get("messagename")
    ]
    assert not sent, sent
    assert not [e for e in world.emails(21) if e["subject"] == "New Account Information"]
    raised = [first_message(world, t) for t in staff_tickets(world, case_id) if t["id"] not in before]
    assert any("budi@kreatifstudio.id" in m for m in raised), raised
    assert world.case(case_id)["status"] == "executing"
    held = [line for line in world.run("approvals", "list").output.splitlines() if "credential_change" in line]
    assert held and "budi@kreatifstudio.id" in held[0], held


def test_the_holders_marks_leave_out_free_mail_and_the_requesters_own_domains():
    """A mail domain many people share (free mail), the requester's own, or a domain the case hands over says nothing
    of who reads the address: only the holder's own addresses count there."""
    from whmcs_bridge.families.ownership.shared import holders_marks

    case = {
        "holder": {"email": "Andi@Gmail.com", "user_emails": ["budi@kreatifstudio.id", "andi@majumakmur.co.id"]},
        "requester": {"email": "siti@majumakmur.co.id", "user_emails": []},
        "subjects": [{"kind": "domain", "id": 20, "name": "majumakmur.co.id"}],
    }
    marks = holders_marks(case)
    assert marks["addresses"] == ["andi@gmail.com", "andi@majumakmur.co.id", "budi@kreatifstudio.id"]
    assert marks["domains"] == ["kreatifstudio.id"]


# --- HIGH 8: the holder's objection by a new ticket, or in another of its tickets, parked at the window's end -------


def parked_ticket(world: World, *, older: bool) -> tuple[str, int]:
    """A notified company-brand-domain case (notice: silence suffices) whose holder objects by a new ticket (or a
    reply in a ticket of its own opened before the case) while the case's state is edited in the database: the message
    is parked; the state is then put back as sealed."""
    old = world.sandbox.post("OpenTicket", clientid=20, deptid=1, subject="Invoice", message="A question.").json()
    case_id = open_and_document(world, "domain:20")
    assert world.case(case_id)["status"] == "notified"
    sealed = round26.state_row(world, case_id)
    round26.put_state(world, case_id, json.dumps({**json.loads(sealed), "note": "edited"}))
    objection = "Saya keberatan: domain itu milik klien saya."
    if older:
        sent = world.sandbox.post("AddTicketReply", ticketid=old["id"], clientid=20, message=objection)
        kind = "TicketUserReply"
    else:
        sent = world.sandbox.post("OpenTicket", clientid=20, deptid=1, subject="Keberatan", message=objection)
        kind = "TicketOpen"
    assert sent.json()["result"] == "success", sent.text
    world.settle()
    round26.put_state(world, case_id, sealed)
    with Database(world.tmp / "state.db", signing=False) as db:
        rows = sql(db, "SELECT id FROM inbox WHERE status = 'parked' AND type = ?", kind)
    assert rows, kind
    return case_id, int(rows[-1]["id"])


@pytest.mark.parametrize("older", [False, True])
def test_the_window_waits_on_the_holders_parked_ticket(world: World, older: bool):
    case_id, event = parked_ticket(world, older=older)
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "notified", case["history"][-2:]
    waits = [h for h in case["history"] if h["what"] == "window end waits"]
    assert waits and f"whmcs-bridge events retry {event}" in waits[-1]["why"], case["history"][-2:]
    [text] = locks.staff_tickets(world, case_id, "an answer for it is parked")
    assert f"whmcs-bridge events retry {event} --by NAME" in text, text
    assert "holder's account" in text, text


def test_a_parked_ticket_of_another_client_is_no_answer_of_the_holder():
    from whmcs_bridge.families.ownership.timers import parked_answers

    case = {"id": "o1", "holder": {"client": 20, "email": "budi@kreatifstudio.id"}, "tickets": {"holder": 7}}
    mine = {"id": 5, "type": "TicketOpen", "ticket": 9, "userid": 20}
    by_address = {
        "id": 6,
        "type": "TicketUserReply",
        "ticket": 3,
        "userid": 22,
        "requestor_email": "Budi@kreatifstudio.id",
    }
    other = {"id": 8, "type": "TicketOpen", "ticket": 11, "userid": 22}
    assert parked_answers(case, [mine, by_address, other]) == [mine, by_address]


# --- HIGH 5: an outside requester's "account" made and owned by the holder's own login --------------------------


def test_an_account_the_holders_login_controls_is_not_the_outside_requesters(sandbox: Sandbox):
    """A client account with the outside requester's address that the vendor's login (user #1, Budi) owns; staff move
    the hosting there. Read with its users, it is not taken for the requester's account (no new password, staff told
    which login); with the address and no login of the holder's it still is."""
    from whmcs_bridge.executor.call import Call
    from whmcs_bridge.executor.kinds import action_kind
    from whmcs_bridge.families.ownership.holder import holders_login, is_new_holder

    sandbox.load("vendor-dispute")
    api = WhmcsApi(make_client(sandbox.api_url))
    changed = sandbox.post("UpdateClient", clientid=22, companyname="PT Sinar Jaya", email="direktur@sinarjaya.co.id")
    assert changed.json()["result"] == "success", changed.text
    sandbox.control("move", {"service": 201, "client": 22})
    params = {"subjects": [{"kind": "service", "id": 201}], "report": {"case": "o1"}, "owner_emails": True}
    case: dict[str, Any] = {
        "id": "o1",
        "holder": {"client": 20, "email": "budi@kreatifstudio.id", "user_emails": ["budi@kreatifstudio.id"]},
        "requester": {"client": None, "name": "PT Sinar Jaya", "email": "direktur@sinarjaya.co.id"},
        "subjects": [{"kind": "service", "id": 201, "name": "majumakmur.co.id", "holder_ref": 20}],
    }
    subject = case["subjects"][0]
    _, data = action_kind("read_owners").run(Call(api, params, "k", 20))["feed"]
    assert data["owners"] == {"service:201": 22}
    assert is_new_holder(case, subject, 22, data["emails"])  # the address, and no login of the holder's
    sandbox.control("access", {"user": 1, "client": 22, "owner": True})  # the vendor's Budi made its owner
    _, data = action_kind("read_owners").run(Call(api, params, "k", 20))["feed"]
    assert not is_new_holder(case, subject, 22, data["emails"])
    assert holders_login(case, 22, data["emails"]) == "budi@kreatifstudio.id"  # named in staff's ticket
