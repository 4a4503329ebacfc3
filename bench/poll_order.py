"""bench/poll part `order`: the poller's census against the former newest-first walk and a naive walk of every
page, for tickets, orders and one client's emails, under each order the sandbox draws (run by bench/poll.py)."""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.sandbox.orders import CHOICES, Orders
from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

IDENTIFIER, SECRET = "bench-id", "bench-secret"
PAGE = 250
LISTS = {"GetTickets": ("tickets", "ticket"), "GetOrders": ("orders", "order"), "GetEmails": ("emails", "email")}
EMAIL_CLIENT = 1


def seeds_per_ticket_order() -> dict[str, int]:
    """One seed for each order the sandbox draws for GetTickets (the first seed that draws it)."""
    found: dict[str, int] = {}
    seed = 0
    while len(found) < len(CHOICES["GetTickets"]):
        found.setdefault(Orders.from_seed(seed).chosen["GetTickets"], seed)
        seed += 1
    return found


@dataclass
class World:
    url: str
    session: requests.Session = field(default_factory=requests.Session)

    def api(self, action: str, **params: Any) -> dict[str, Any]:
        data = {"action": action, "identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json", **params}
        answer: dict[str, Any] = self.session.post(self.url + "includes/api.php", data=data, timeout=60).json()
        return answer

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            return self.session.get(self.url + "_sandbox/" + name, timeout=60).json()
        return self.session.post(self.url + "_sandbox/" + name, json=body, timeout=60).json()

    def calls_by_action(self, since: int) -> Counter[str]:
        return Counter(c["action"] for c in self.control(f"calls?since={since}")["calls"])

    def last_seq(self) -> int:
        calls = self.control("calls")["calls"]
        return int(calls[-1]["seq"]) if calls else 0


def populate(world: World, tickets: int, orders: int, emails: int) -> None:
    """History; as on a real WHMCS, most tickets are closed (here all but one in twenty)."""
    for i in range(tickets):
        opened = world.api("OpenTicket", deptid=1, clientid=1 + i % 50, subject=f"Question {i}", message="Hello")
        if i % 20:
            close = {"ticketid": opened["id"], "message": "Solved", "adminusername": "alice", "status": "Closed"}
            world.control("act", {"action": "AddTicketReply", **close})
    for i in range(orders):
        world.control("checkout", {"client_id": 1 + i % 50, "user_id": 1 + i % 50, "pid": 3, "domain": f"o{i}.example"})
    for i in range(emails):
        world.api(
            "SendEmail", id=EMAIL_CLIENT, customtype="general", customsubject=f"News {i}", custommessage="<p>x</p>"
        )


def changes(world: World) -> dict[str, set[Any]]:
    """What the second cycle must find: new tickets (one opened by staff), two replies, orders, emails."""
    world.control("clock", {"advance": "2m"})
    ids = sorted(int(t["id"]) for t in world.control("query?table=tickets")["rows"])
    oldest, middle = ids[0], ids[len(ids) // 2]
    world.control("act", {"action": "AddTicketReply", "ticketid": oldest, "message": "Staff", "adminusername": "alice"})
    world.api("AddTicketReply", ticketid=middle, clientid=1 + (middle - 1) % 50, message="Client follow-up")
    new_tickets = {
        int(world.api("OpenTicket", deptid=1, clientid=2, subject="New", message="Hi")["id"]) for _ in range(2)
    }
    staff = world.control(
        "act", {"action": "OpenTicket", "deptid": 1, "clientid": 3, "subject": "By staff", "message": "x"}
    )
    new_tickets.add(int(staff["id"]))
    new_orders = {
        int(world.control("checkout", {"client_id": 4, "user_id": 4, "pid": 3, "domain": f"n{i}.example"})["OrderID"])
        for i in range(3)
    }
    for i in range(3):
        world.api(
            "SendEmail", id=EMAIL_CLIENT, customtype="general", customsubject=f"Fresh {i}", custommessage="<p>y</p>"
        )
    return {"tickets": new_tickets, "replies": {oldest, middle}, "orders": new_orders}


def old_walk(world: World, action: str, params: dict[str, Any], cursor: int | None) -> tuple[int, set[int], int | None]:
    """The former poller's walk (newest first assumed, stop at the first id seen): calls, news, new cursor."""
    plural, singular = LISTS[action]
    calls, start, newest = 0, 0, None
    found: set[int] = set()
    while True:
        answer = world.api(action, limitstart=start, limitnum=PAGE, **params)
        calls += 1
        rows = answer.get(plural) or {}
        rows = rows.get(singular, []) if isinstance(rows, dict) else []
        for row in rows:
            row_id = int(row["id"])
            newest = row_id if newest is None else max(newest, row_id)
            if cursor is None or row_id <= cursor:
                return calls, found, newest if cursor is None or (newest or 0) > cursor else cursor
            found.add(row_id)
        start += len(rows)
        if not rows or start >= int(answer["totalresults"]):
            return calls, found, newest if newest is not None else cursor


def naive_calls(world: World) -> int:
    """A walk of every page of the three lists: ceil(total / page) calls each."""
    total = 0
    for action, params in (("GetTickets", {}), ("GetOrders", {}), ("GetEmails", {"clientid": EMAIL_CLIENT})):
        count = int(world.api(action, limitnum=1, **params)["totalresults"])
        total += max(1, math.ceil(count / PAGE))
    return total


def measure(url: str, seed: int, tickets: int, orders: int, emails: int) -> dict[str, Any]:
    world = World(url)
    world.control("scenario", {"name": "scale", "clients": 200, "seed": seed})
    populate(world, tickets, orders, emails)
    client = WhmcsClient(url + "includes/api.php", IDENTIFIER, SECRET, page_size=PAGE)
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    out: dict[str, Any] = {"orders": world.control("orders")["orders"]}
    with tempfile.TemporaryDirectory() as tmp, Database(Path(tmp) / "state.db") as db:
        poller = Poller(db, WhmcsApi(client), email_clients=lambda: [EMAIL_CLIENT])
        lists = {"GetTickets": {}, "GetOrders": {}, "GetEmails": {"clientid": EMAIL_CLIENT}}
        since = world.last_seq()
        poller.run_once(now)
        out["first"] = sum(world.calls_by_action(since)[a] for a in (*lists, "GetTicket"))
        cursors = {a: old_walk(world, a, p, None)[2] for a, p in lists.items() if a != "GetEmails"}
        expected = changes(world)
        since = world.last_seq()
        poller.run_once(now + timedelta(minutes=5))
        by_action = world.calls_by_action(since)
        out["second"] = {a: by_action[a] for a in (*lists, "GetTicket")}
        out["found"] = {
            "tickets": {int(e.event().data["ticketid"]) for e in inbox.entries(db, type="TicketOpen")},
            "replies": {
                int(e.event().data["ticketid"])
                for kind in ("TicketUserReply", "TicketAdminReply")
                for e in inbox.entries(db, type=kind)
            },
            "orders": {int(e.event().data["orderid"]) for e in inbox.entries(db, type="OrderPlaced")},
            "emails": len(inbox.entries(db, type="EmailLogged")),
        }
        out["expected"] = {**expected, "emails": 3}
        old = {a: old_walk(world, a, p, cursors[a]) for a, p in lists.items() if a != "GetEmails"}
        out["old"] = {a: (calls, found_ids) for a, (calls, found_ids, _) in old.items()}
        since = world.last_seq()
        poller.run_once(now + timedelta(minutes=10))
        quiet = world.calls_by_action(since)
        out["quiet"] = {a: quiet[a] for a in (*lists, "GetTicket")}
        out["naive"] = naive_calls(world)
    return out


def report(tickets: int, orders: int, emails: int) -> None:
    print(
        f"order independence: {tickets} tickets, {orders} orders, {emails} emails of client {EMAIL_CLIENT}, page {PAGE}"
    )
    with RunningSandbox(IDENTIFIER, SECRET) as sandbox:
        for seed in seeds_per_ticket_order().values():
            r = measure(sandbox.url, seed, tickets, orders, emails)
            f, x = r["found"], r["expected"]
            drawn = r["orders"]
            print(
                f"  seed {seed}: tickets {drawn['GetTickets']}, orders {drawn['GetOrders']}, emails {drawn['GetEmails']}"
            )
            second, quiet = r["second"], r["quiet"]
            print(
                f"    census    cycle with changes: {sum(second.values()):>3} calls ({dict(second)});"
                f" quiet cycle: {sum(quiet.values()):>3} calls ({dict(quiet)}); first cycle: {r['first']}"
            )
            print(
                f"              found tickets {len(f['tickets'] & x['tickets'])}/{len(x['tickets'])},"
                f" replies {len(f['replies'] & x['replies'])}/{len(x['replies'])},"
                f" orders {len(f['orders'] & x['orders'])}/{len(x['orders'])}, emails {f['emails']}/{x['emails']};"
                f" reported but not new: {len(f['tickets'] - x['tickets']) + len(f['orders'] - x['orders'])}"
            )
            (tc, tf), (oc, of) = r["old"]["GetTickets"], r["old"]["GetOrders"]
            print(
                f"    old walk  cycle with changes: {tc + oc:>3} calls (tickets {tc}, orders {oc}; emails never polled);"
                f" found tickets {len(tf & x['tickets'])}/{len(x['tickets'])}, replies 0/{len(x['replies'])},"
                f" orders {len(of & x['orders'])}/{len(x['orders'])}; reported but not new: "
                f"{len(tf - x['tickets']) + len(of - x['orders'])}"
            )
            print(
                f"    naive walk of every page: {r['naive']:>3} calls per cycle"
                f" (the census walks every page too, once per poll.sweep_every)"
            )
