"""The poller against the sandbox: first cycle records where WHMCS stands, later cycles read only what changed,
payments and cancellations are reported, webhooks and polls dedupe, a crash mid-walk stores nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Sandbox, make_client
from whmcs_bridge.errors import WhmcsApiError, WhmcsUnavailableError
from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.store import inbox, poll
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import NEEDED_ACTIONS, WhmcsApi

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def events(db: Database, kind: str | None = None) -> list[dict[str, Any]]:
    return [{"event_id": e.event_id, "data": e.event().data} for e in inbox.entries(db, type=kind)]


def reported(db: Database, fact: str, event_id: str) -> bool:
    """The event that reported this one-time fact is `event_id`."""
    entry = inbox.by_fact(db, fact)
    return entry is not None and entry.event_id == event_id


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


@pytest.fixture
def poller(world: Sandbox, db: Database) -> Poller:
    return Poller(db, WhmcsApi(make_client(world.api_url)))


def today(world: Sandbox) -> date:
    return date.fromisoformat(world.control("clock")["now"][:10])


def test_first_cycle_records_where_whmcs_stands(world: Sandbox, db: Database, poller: Poller):
    report = poller.run_once(NOW, today(world))
    assert report.swept
    assert events(db, "InvoiceCreated") == [] and events(db, "ActivityLogged") == []  # history is not news
    overdue = events(db, "InvoiceOverdue")
    assert len(overdue) == 11 and {e["data"]["userid"] for e in overdue} == {1}
    assert all(
        reported(db, f"invoice:{e['data']['invoiceid']}:overdue:{e['data']['duedate']}", e["event_id"]) for e in overdue
    )
    assert len(poll.open_invoice_ids(db)) == 16  # 11 overdue + 5 not yet due


def test_a_quiet_cycle_costs_four_calls_and_finds_nothing(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    report = poller.run_once(NOW + timedelta(minutes=5), today(world))
    assert report.events == 0 and not report.swept
    assert report.calls == 4  # newest invoices, activity, tickets, orders: one page each


def test_payment_and_new_invoice_and_ticket_are_reported(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    world.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": 1, "transid": "BANK-1", "gateway": "banktransfer"}
    )
    world.post("CreateInvoice", userid=2, itemdescription1="Extra disk", itemamount1="5.00", duedate="2030-01-01")
    world.post("OpenTicket", deptid=1, clientid=2, subject="Question", message="Hello")
    report = poller.run_once(NOW + timedelta(minutes=5), today(world))
    paid = events(db, "InvoicePaid")
    assert [e["data"]["invoiceid"] for e in paid] == [1] and reported(db, "invoice:1:paid", paid[0]["event_id"])
    assert paid[0]["data"]["datepaid"]
    created = events(db, "InvoiceCreated")
    assert len(created) == 1 and created[0]["data"]["userid"] == 2
    # With its message, read with GetTicket (GetTickets has none): the rules route by it as by the hook's.
    assert [(e["data"]["subject"], e["data"]["message"]) for e in events(db, "TicketOpen")] == [("Question", "Hello")]
    assert any("Invoice ID: 1" in e["data"]["description"] for e in events(db, "ActivityLogged"))
    assert report.calls == 6  # the four lists, one GetInvoice for the hinted invoice, one GetTicket for the new ticket
    assert 1 not in poll.open_invoice_ids(db)


def test_webhook_and_poll_of_the_same_payment_dedupe(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    inbox.add(
        db,
        event_id="msg_hook",
        fact="invoice:2:paid",
        type="InvoicePaid",
        source="webhook",
        received_at="now",
        body='{"type":"InvoicePaid","data":{"invoiceid":2}}',
    )
    world.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": 2, "transid": "BANK-2", "gateway": "banktransfer"}
    )
    poller.run_once(NOW + timedelta(minutes=5), today(world))
    assert [e["event_id"] for e in events(db, "InvoicePaid")] == ["msg_hook"]


def test_the_sweep_catches_what_no_hint_reported(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    world.post("UpdateInvoice", invoiceid=3, status="Cancelled")  # leaves no activity line in the sandbox
    assert poller.run_once(NOW + timedelta(minutes=5), today(world)).events == 0
    report = poller.run_once(NOW + timedelta(hours=7), today(world))
    assert report.swept
    assert [e["data"]["invoiceid"] for e in events(db, "InvoiceCancelled")] == [3]


def test_due_dates_passing_need_no_api_call(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    later = today(world) + timedelta(days=20)
    report = poller.run_once(NOW + timedelta(minutes=5), later)
    assert report.calls == 4
    assert len(events(db, "InvoiceOverdue")) == 16


def test_a_crash_mid_walk_stores_nothing_twice(world: Sandbox, db: Database):
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=100, max_attempts=1)))
    poller.run_once(NOW, today(world))
    cursor_before = poller.cursor("invoices.max_id")
    for n in range(260):
        world.post(
            "CreateInvoice", userid=2 + n % 5, itemdescription1=f"item {n}", itemamount1="1.00", duedate="2030-01-01"
        )
    world.control("faults", {"status": 500, "count": 1, "skip": 1, "actions": ["GetInvoices"]})  # the 2nd page fails
    with pytest.raises(WhmcsUnavailableError):
        poller.run_once(NOW + timedelta(minutes=5), today(world))
    assert len(events(db, "InvoiceCreated")) <= 260
    assert poller.cursor("invoices.max_id") == cursor_before  # the walk did not reach it: it will be redone
    poller.run_once(NOW + timedelta(minutes=10), today(world))
    created = events(db, "InvoiceCreated")
    assert len(created) == 260 and len({e["data"]["invoiceid"] for e in created}) == 260


def test_first_ticket_after_an_empty_start_is_news(world: Sandbox, db: Database, poller: Poller):
    poller.run_once(NOW, today(world))
    assert poller.cursor("tickets.walked_at") is not None and poll.seen_count(db, "tickets") == 0
    world.post("OpenTicket", deptid=1, clientid=2, subject="First ever", message="Hello")
    poller.run_once(NOW + timedelta(minutes=5), today(world))
    assert [e["data"]["subject"] for e in events(db, "TicketOpen")] == ["First ever"]


def test_services_of_tracked_clients_changed_by_hand(world: Sandbox, db: Database):
    poller = Poller(db, WhmcsApi(make_client(world.api_url)), tracked_clients=lambda: [1])
    poller.run_once(NOW, today(world))
    assert events(db, "ServiceStatusChanged") == []
    world.control("act", {"action": "ModuleSuspend", "serviceid": 102, "suspendreason": "Abuse"})
    report = poller.run_once(NOW + timedelta(minutes=5), today(world))
    changed = events(db, "ServiceStatusChanged")
    assert [(e["data"]["serviceid"], e["data"]["previous"], e["data"]["status"]) for e in changed] == [
        (102, "Active", "Suspended")
    ]
    assert changed[0]["data"]["suspensionreason"] == "Abuse"
    assert report.calls == 5  # the four lists and one GetClientsProducts for the tracked client
    assert poller.run_once(NOW + timedelta(minutes=10), today(world)).events == 0


# --- order-independent polling: WHMCS states no order for GetTickets, GetOrders and GetEmails ---------------

SEEDS = range(6)  # between them, every order the sandbox draws from (checked below)
LATER = NOW + timedelta(minutes=5)


def orders_of(world: Sandbox, seed: int) -> dict[str, str]:
    chosen: dict[str, str] = world.control("orders", {"seed": seed})["orders"]
    return chosen


def test_the_seeds_cover_every_order_the_sandbox_draws(sandbox: Sandbox):
    from whmcs_bridge.sandbox.orders import CHOICES

    seen: dict[str, set[str]] = {where: set() for where in CHOICES}
    for seed in SEEDS:
        for where, choice in orders_of(sandbox, seed).items():
            seen[where].add(choice)
    assert seen == {where: set(options) for where, options in CHOICES.items()}


def history(world: Sandbox, n: int = 12) -> None:
    """More tickets, orders and emails than fit on one page of 5."""
    for i in range(n):
        world.post("OpenTicket", deptid=1, clientid=2 + i % 3, subject=f"Old question {i}", message="Hello")
        world.control("checkout", {"client_id": 2, "user_id": 2, "pid": 3, "domain": f"old{i}.example"})
        world.post(
            "SendEmail", id=2, customtype="general", customsubject=f"Old news {i}", custommessage="<p>news</p>"
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_every_new_ticket_order_and_email_is_found_whatever_the_order(world: Sandbox, db: Database, seed: int):
    world.load("reseller-overdue", seed=seed)
    history(world)
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5)), email_clients=lambda: [2])
    poller.run_once(NOW, today(world))
    assert events(db, "TicketOpen") == [] and events(db, "OrderPlaced") == [] and events(db, "EmailLogged") == []
    world.control("clock", {"advance": "2m"})  # later than every last reply seen so far
    oldest = min(t["id"] for t in world.rows("tickets"))
    middle = sorted(t["id"] for t in world.rows("tickets"))[6]
    world.control("act", {"action": "AddTicketReply", "ticketid": oldest, "message": "Staff answer", "adminusername": "alice"})
    world.post("AddTicketReply", ticketid=middle, clientid=3, message="Client follow-up")
    world.post("OpenTicket", deptid=1, clientid=3, subject="New question", message="Hi")
    world.control("act", {"action": "OpenTicket", "deptid": 2, "clientid": 4, "subject": "Opened by staff", "message": "We called you"})
    new_orders = [
        world.control("checkout", {"client_id": 2, "user_id": 2, "pid": 3, "domain": f"new{i}.example"})["OrderID"]
        for i in range(2)
    ]
    for subject in ("New notice", "Another notice"):
        world.post("SendEmail", id=2, customtype="general", customsubject=subject, custommessage="<p>x</p>")

    poller.run_once(LATER, today(world))

    chosen = orders_of(world, seed)
    assert sorted(e["data"]["subject"] for e in events(db, "TicketOpen")) == ["New question", "Opened by staff"], chosen
    assert [(e["data"]["ticketid"], e["data"]["message"]) for e in events(db, "TicketAdminReply")] == [
        (oldest, "Staff answer")
    ], chosen
    assert [(e["data"]["ticketid"], e["data"]["message"]) for e in events(db, "TicketUserReply")] == [
        (middle, "Client follow-up")
    ], chosen
    assert sorted(e["data"]["orderid"] for e in events(db, "OrderPlaced")) == sorted(new_orders), chosen
    assert sorted(e["data"]["subject"] for e in events(db, "EmailLogged")) == ["Another notice", "New notice"], chosen
    assert poller.run_once(LATER + timedelta(minutes=5), today(world)).events == 0  # nothing twice


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_a_poll_interrupted_mid_walk_repeats_and_loses_nothing(world: Sandbox, db: Database, seed: int):
    world.load("reseller-overdue", seed=seed)
    history(world)
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5, max_attempts=1)))
    poller.run_once(NOW, today(world))
    world.control("clock", {"advance": "2m"})
    oldest = min(t["id"] for t in world.rows("tickets"))
    world.control("act", {"action": "AddTicketReply", "ticketid": oldest, "message": "Staff", "adminusername": "bob"})
    for n in range(6):  # new tickets on more than one page
        world.post("OpenTicket", deptid=1, clientid=2, subject=f"New {n}", message="Hi")
    world.control("faults", {"status": 500, "count": 1, "skip": 1, "actions": ["GetTickets"]})  # the 2nd page fails
    with pytest.raises(WhmcsUnavailableError):
        poller.run_once(LATER, today(world))
    poller.run_once(LATER + timedelta(minutes=5), today(world))
    opened = sorted(e["data"]["subject"] for e in events(db, "TicketOpen"))
    assert opened == [f"New {n}" for n in range(6)], orders_of(world, seed)
    assert [e["data"]["ticketid"] for e in events(db, "TicketAdminReply")] == [oldest]


def test_a_ticket_gone_between_the_list_and_its_read_is_skipped(world: Sandbox, db: Database):
    history(world, 3)
    poller = Poller(db, WhmcsApi(make_client(world.api_url, max_attempts=1)))
    poller.run_once(NOW, today(world))
    world.control("clock", {"advance": "2m"})
    oldest = min(t["id"] for t in world.rows("tickets"))
    world.post("AddTicketReply", ticketid=oldest, clientid=2, message="Anyone?")
    world.post("OpenTicket", deptid=1, clientid=3, subject="Still news", message="Hi")
    # GetTicket answers as for a deleted ticket ("Ticket ID Not Found" is a WHMCS error answer)
    world.control("faults", {"status": 200, "count": 1, "actions": ["GetTicket"], "message": "Ticket ID Not Found"})
    poller.run_once(LATER, today(world))
    assert events(db, "TicketUserReply") == []
    assert [e["data"]["subject"] for e in events(db, "TicketOpen")] == ["Still news"]


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_deleted_rows_are_forgotten_and_new_ones_next_to_them_found(world: Sandbox, db: Database, seed: int):
    """Staff delete two known orders, a ticket and the newest email while new ones arrive: the lists are
    walked where WHMCS's count no longer matches what the census knows, the deleted ids forgotten, the
    new found, also the email that got the deleted one's id again (the sandbox's SQLite reuses the
    highest id, as MySQL before 8.0 could after a restart)."""
    world.load("reseller-overdue", seed=seed)
    history(world)
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5)), email_clients=lambda: [2])
    poller.run_once(NOW, today(world))
    world.control("clock", {"advance": "2m"})
    orders = sorted(o["id"] for o in world.rows("orders"))
    for order_id in orders[3:5]:
        world.control("delete", {"order": order_id})
    world.control("delete", {"ticket": min(t["id"] for t in world.rows("tickets"))})
    world.control("delete", {"email": max(e["id"] for e in world.rows("emails", client_id=2))})
    new_order = world.control("checkout", {"client_id": 2, "user_id": 2, "pid": 3, "domain": "fresh.example"})
    world.post("SendEmail", id=2, customtype="general", customsubject="Fresh", custommessage="<p>x</p>")
    poller.run_once(LATER, today(world))
    assert [e["data"]["orderid"] for e in events(db, "OrderPlaced")] == [new_order["OrderID"]]
    assert [e["data"]["subject"] for e in events(db, "EmailLogged")] == ["Fresh"]
    assert poll.seen_count(db, "orders") == len(world.rows("orders"))
    assert poll.seen_count(db, "tickets") == len(world.rows("tickets"))
    assert poll.seen_count(db, "emails:2") == len(world.rows("emails", client_id=2))
    quiet = poller.run_once(LATER + timedelta(minutes=5), today(world))
    assert quiet.events == 0


def close(world: Sandbox, ticket_id: int, message: str = "Solved") -> None:
    world.control(
        "act",
        {"action": "AddTicketReply", "ticketid": ticket_id, "message": message, "adminusername": "alice", "status": "Closed"},
    )


def test_a_quiet_cycle_reads_the_active_tickets_and_the_ends_of_each_list(world: Sandbox, db: Database):
    """The ends and WHMCS's count suffice when nothing changed: the first and last page of each list,
    and every page of the active tickets (a reply can move any of them)."""
    history(world)
    for ticket in world.rows("tickets")[:-3]:
        close(world, ticket["id"])
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5)), email_clients=lambda: [2])
    poller.run_once(NOW, today(world))
    since = world.calls()[-1]["seq"]
    assert poller.run_once(LATER, today(world)).events == 0
    read = [c["action"] for c in world.calls(since) if c["action"] in ("GetTickets", "GetOrders", "GetEmails")]
    assert read.count("GetOrders") == 2 and read.count("GetEmails") == 2
    assert read.count("GetTickets") == 1 + 2  # the 3 active tickets, then the ends of all of them


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_a_staff_reply_that_closes_a_ticket_is_found_by_the_next_recheck(world: Sandbox, db: Database, seed: int):
    """A reply that leaves its ticket inactive is outside the active tickets walked each cycle: unless the
    ticket is on a page the cycle reads anyway (the ends), the full walk at the next recheck
    (poll.sweep_every) finds it, once; a reply that reopens a ticket is found at once."""
    world.load("reseller-overdue", seed=seed)
    history(world)
    tickets = sorted(t["id"] for t in world.rows("tickets"))
    for ticket_id in tickets:
        close(world, ticket_id)
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5)))
    poller.run_once(NOW, today(world))
    world.control("clock", {"advance": "2m"})
    close(world, tickets[len(tickets) // 2], "Answered and closed")
    world.control("act", {"action": "AddTicketReply", "ticketid": tickets[1], "message": "Reopened", "adminusername": "bob"})
    poller.run_once(LATER, today(world))
    assert "Reopened" in [e["data"]["message"] for e in events(db, "TicketAdminReply")], orders_of(world, seed)
    poller.run_once(NOW + timedelta(hours=7), today(world))
    found = sorted(e["data"]["message"] for e in events(db, "TicketAdminReply"))
    assert found == ["Answered and closed", "Reopened"], orders_of(world, seed)


def test_an_upgrade_from_the_newest_first_cursors_loses_no_ticket_or_order(world: Sandbox, db: Database):
    """A state database written before the census has `tickets.max_id` and `orders.max_id`: the first
    walk records history, but what came after those cursors is still news."""
    history(world, 3)
    with db.atomic():
        poll.set_cursor(db, "tickets.max_id", str(max(t["id"] for t in world.rows("tickets"))), NOW)
        poll.set_cursor(db, "orders.max_id", str(max(o["id"] for o in world.rows("orders"))), NOW)
    world.post("OpenTicket", deptid=1, clientid=2, subject="While upgrading", message="Hi")
    order = world.control("checkout", {"client_id": 2, "user_id": 2, "pid": 3, "domain": "upgrade.example"})
    Poller(db, WhmcsApi(make_client(world.api_url, page_size=5))).run_once(NOW, today(world))
    assert [e["data"]["subject"] for e in events(db, "TicketOpen")] == ["While upgrading"]
    assert [e["data"]["orderid"] for e in events(db, "OrderPlaced")] == [order["OrderID"]]


@pytest.mark.parametrize("seed", SEEDS)
def test_every_new_activity_line_is_found_whatever_the_order(world: Sandbox, db: Database, seed: int):
    """GetActivityLog states no order either (its example lists newest first): a log listed oldest
    first, longer than a page, still has its new lines found, each once."""
    world.load("reseller-overdue", seed=seed)
    for i in range(13):
        world.post("LogActivity", clientid=2, description=f"Old line {i}")
    poller = Poller(db, WhmcsApi(make_client(world.api_url, page_size=5)))
    poller.run_once(NOW, today(world))
    assert events(db, "ActivityLogged") == []
    for i in range(7):
        world.post("LogActivity", clientid=2, description=f"New line {i}")
    poller.run_once(LATER, today(world))
    found = sorted(e["data"]["description"] for e in events(db, "ActivityLogged"))
    assert found == [f"New line {i}" for i in range(7)], orders_of(world, seed)
    assert poller.run_once(LATER + timedelta(minutes=5), today(world)).events == 0  # nothing twice


# --- replies known by id, reads that fail are not deletions (found by an independent break test) ----------


def test_replies_in_the_second_of_the_last_one_seen_are_found_by_id(world: Sandbox, db: Database):
    """WHMCS dates replies to the second, and the sandbox's clock stands still: a ticket opened and
    answered in one second, and replies in the very second of a reply already seen, are news all the
    same (replies are told apart by id, not by date)."""
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Same second", message="Hello").json()["id"]
    world.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": "Staff, same second", "adminusername": "alice"})
    poller.run_once(LATER, today(world))
    assert [e["data"]["message"] for e in events(db, "TicketAdminReply")] == ["Staff, same second"]
    world.post("AddTicketReply", ticketid=ticket, clientid=2, message="Client, same second")
    poller.run_once(LATER + timedelta(minutes=5), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketUserReply")] == ["Client, same second"]
    world.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": "Staff again", "adminusername": "alice"})
    poller.run_once(LATER + timedelta(minutes=10), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketAdminReply")] == ["Staff, same second", "Staff again"]


def test_a_reply_dated_in_the_past_is_found(world: Sandbox, db: Database):
    """AddTicketReply's `created` dates a reply in the past (an import, a clock change): it is news."""
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Backdated", message="Hello").json()["id"]
    world.control("clock", {"advance": "10m"})
    world.post("AddTicketReply", ticketid=ticket, clientid=2, message="Now")
    poller.run_once(LATER, today(world))
    world.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": "Earlier", "adminusername": "alice", "created": "2020-01-01 09:00:00"})
    poller.run_once(LATER + timedelta(minutes=5), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketUserReply")] == ["Now"]
    assert [e["data"]["message"] for e in events(db, "TicketAdminReply")] == ["Earlier"]


def test_a_read_refused_by_the_api_role_is_not_taken_for_a_deletion(world: Sandbox, db: Database):
    """GetTicket or GetInvoice refused for one cycle (a role edited in WHMCS): the poll fails and says
    so; once the role is fixed, the staff reply and the payment it had hinted at are reported."""
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Role", message="Hello").json()["id"]
    poller.run_once(NOW + timedelta(minutes=1), today(world))
    world.control("clock", {"advance": "2m"})
    world.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": "Answered", "adminusername": "alice"})
    world.control("act", {"action": "AddInvoicePayment", "invoiceid": 1, "transid": "BANK-9", "gateway": "banktransfer"})
    world.control("role", {"allowed": [a for a in NEEDED_ACTIONS if a not in ("GetTicket", "GetInvoice")]})
    with pytest.raises(WhmcsApiError):
        poller.run_once(LATER, today(world))
    world.control("role", {"allowed": None})
    poller.run_once(LATER + timedelta(minutes=5), today(world))
    assert [e["data"]["message"] for e in events(db, "TicketAdminReply")] == ["Answered"]
    assert [e["data"]["invoiceid"] for e in events(db, "InvoicePaid")] == [1]


def test_a_reply_by_a_guest_is_not_the_clients(world: Sandbox, db: Database):
    """A reply with neither a client nor an admin (someone writing in by email, or the bridge replying as
    the system) is reported with no client id: it is not the ticket owner speaking."""
    poller = Poller(db, WhmcsApi(make_client(world.api_url)))
    poller.run_once(NOW, today(world))
    ticket = world.post("OpenTicket", deptid=1, clientid=2, subject="Guest", message="Hello").json()["id"]
    poller.run_once(NOW + timedelta(minutes=1), today(world))
    world.control("clock", {"advance": "2m"})
    world.post("AddTicketReply", ticketid=ticket, name="Someone", email="someone@example.net", message="Me too")
    poller.run_once(LATER, today(world))
    [reply] = events(db, "TicketUserReply")
    assert reply["data"]["userid"] == 0 and reply["data"]["requestor_email"] == "someone@example.net"
