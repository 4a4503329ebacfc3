"""Issue 17 break test (MEDIUM): a requester's reply dated in the very second of the last one seen (WHMCS dates
to the second; the sandbox's clock stands still) was missed: a ticket whose replies had never been seen by id
fell back to the date of its last reply seen, skipping a reply of that same second. Replies are told apart by
id; a reply of the second already seen is read again and stored once (its fact)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Sandbox, make_client
from tests.test_poller import NOW, events, today
from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


def test_a_clients_first_reply_in_the_second_of_its_ticket_is_found(world: Sandbox, db: Database):
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Same second", message="Hello").json()["id"]
    poller.run_once(NOW + timedelta(minutes=5), today(world))
    assert [int(e["data"]["ticketid"]) for e in events(db, "TicketOpen")] == [int(ticket)]
    world.post("AddTicketReply", ticketid=ticket, clientid=2, message="Saya KEBERATAN / I OBJECT")
    poller.run_once(NOW + timedelta(minutes=10), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketUserReply")] == ["Saya KEBERATAN / I OBJECT"]


def test_a_second_client_reply_in_the_second_of_one_seen_is_found_once(world: Sandbox, db: Database):
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Twice", message="Hello").json()["id"]
    world.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": "Answer", "adminusername": "alice"})
    poller.run_once(NOW + timedelta(minutes=5), today(world))
    world.post("AddTicketReply", ticketid=ticket, clientid=2, message="First")
    poller.run_once(NOW + timedelta(minutes=10), today(world))
    # The same second, the same status (Customer-Reply): GetTickets lists the ticket exactly as it did.
    world.post("AddTicketReply", ticketid=ticket, clientid=2, message="Second")
    for minutes in (15, 20, 25):
        poller.run_once(NOW + timedelta(minutes=minutes), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketUserReply")] == ["First", "Second"]
