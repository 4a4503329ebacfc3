"""The poller: what changed in WHMCS since the last cycle, as inbox events, without re-reading WHMCS.

Per cycle (steady state, a handful of API calls):
- new invoices: walk the list newest first (GetInvoices sorts as asked) and stop at the last id seen;
- new tickets, orders and the emails of watched clients, in whatever order WHMCS lists them
  (intake/census.py): the ends of each list and WHMCS's count, a walk when they disagree; active
  tickets are walked each cycle, so a reply on any ticket (by its client, or by staff in the admin
  area) and a ticket staff opened are seen;
- the activity log since the last id seen: each entry is an event, and the invoice ids it names
  (payments, cancellations, refunds) are read once to report their new status;
- invoices in the open-invoice snapshot whose due date has passed: InvoiceOverdue, no API call.
Every `poll.sweep_every` (and on the first cycle) the open invoices are swept (GetInvoices
status=Unpaid/Collections, page by page) to refresh the snapshot and catch what no hint reported.

Events carry derived ids and facts (intake/facts.py), so a webhook and a poll of the same fact are
stored once. Cursors are saved in the same transaction as the events they produced; pages are
walked lazily, so memory stays flat however large WHMCS is.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.intake.census import Census, Listing
from whmcs_bridge.intake.facts import fact_of
from whmcs_bridge.intake.found import (
    NOTE_EVENT,
    Found,
    email_found,
    invoice_data,
    note_found,
    order_found,
    reply_found,
    ticket_found,
)
from whmcs_bridge.model import as_int, marker
from whmcs_bridge.store import inbox, poll
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi, not_found
from whmcs_bridge.whmcs.records import Invoice

log = logging.getLogger("whmcs_bridge.poller")

Progress = Callable[[str, int], None]
BATCH = 250
OPEN_STATUSES = ("Unpaid", "Collections")
INVOICE_HINT = re.compile(r"Invoice ID:? ?#?(\d+)", re.IGNORECASE)
SERVICE_HINT = re.compile(r"Service ID:? ?#?(\d+)", re.IGNORECASE)
REPLY_EVENTS = ("TicketUserReply", "TicketAdminReply")
GONE_EVENT = "TicketGone"  # a watched ticket GetTicket no longer finds (staff deleted it in the admin area)
HINTS = "invoices.hinted"  # invoices activity lines named, whose status is still to be read
TOUCHED = "clients.touched"  # clients activity lines named, whose services are still to be read


def reply_cursor(ticket_id: int) -> str:
    """The poll cursor holding the id of the last reply of this ticket reported."""
    return f"ticket.{ticket_id}.reply"


def note_cursor(ticket_id: int) -> str:
    """The poll cursor holding the id of the last note of this ticket reported."""
    return f"ticket.{ticket_id}.note"


OWN_TRACE = marker("wb-")[:-1]  # "[wb-": the bridge's own activity lines are not news


def _born(row: Any) -> str:
    """When a ticket, order or email was made: the same id with another date is another record."""
    return iso(row.date) if row.date else ""


@dataclass
class PollReport:
    events: int = 0
    calls: int = 0
    swept: bool = False
    by_type: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class Poller:
    def __init__(
        self,
        db: Database,
        api: WhmcsApi,
        *,
        sweep_every: timedelta = timedelta(hours=6),
        progress: Progress | None = None,
        tracked_clients: Callable[[], Iterable[int]] = lambda: (),
        email_clients: Callable[[], Iterable[int]] = lambda: (),
        watched_tickets: Callable[[], Iterable[int]] = lambda: (),
    ) -> None:
        self.db = db
        self.api = api
        self.sweep_every = sweep_every
        self.progress = progress
        self.tracked_clients = tracked_clients
        self.email_clients = email_clients
        self.watched_tickets = watched_tickets
        self.census = Census(db, api, recheck_every=sweep_every, page_size=api.client.page_size)

    # --- the cycle ----------------------------------------------------------------------------

    def run_once(self, now: datetime, today: date | None = None) -> PollReport:
        report = PollReport()
        calls_before = self.api.client.calls
        today = today or now.date()
        self.newest_first(
            "invoices",
            self._new_invoices(),
            lambda i: i.id,
            lambda i: Found("InvoiceCreated", invoice_data(i)),
            now,
            report,
            on_item=self._remember_open,
        )
        # GetActivityLog states no order either: WhmcsApi.activity_newest_first finds it out.
        self.newest_first(
            "activity",
            self.api.activity_newest_first(),
            lambda e: e.id,
            self._activity,
            now,
            report,
            on_item=self._keep_hints,
        )
        for listing in self.listings():
            self.census.read(listing, now, lambda found: self.store(found, now, report))
        self.watched(now, report)
        self.check_invoices(self._hints(), now, report)
        self.services(now, report)
        if self.sweep_due(now):
            self.sweep(now, report)
        self.overdue(today, now, report)
        report.calls = self.api.client.calls - calls_before
        return report

    def cursor(self, name: str) -> str | None:
        return poll.cursor(self.db, name)

    def store(self, found: Iterable[Found], now: datetime, report: PollReport) -> None:
        """Insert events (inside the caller's transaction); an id or fact already stored is skipped."""
        for item in found:
            fact = fact_of(item.type, item.data)
            event_id = (
                f"poll:{fact}" if fact else f"poll:{item.type}:{json.dumps(item.data, sort_keys=True, default=str)}"
            )
            body = {"type": item.type, "occurred_at": item.occurred_at, "source": {"poller": True}, "data": item.data}
            if inbox.add(
                self.db,
                event_id=event_id[:500],
                type=item.type,
                source="poll",
                body=body,
                received_at=now,
                occurred_at=item.occurred_at,
                fact=fact,
            ):
                report.events += 1
                report.by_type[item.type] = report.by_type.get(item.type, 0) + 1
            if item.type in REPLY_EVENTS:  # replies are known by id: the last one seen moves with its event
                name = reply_cursor(int(item.data["ticketid"]))
                if int(item.data["replyid"]) > int(self.cursor(name) or 0):
                    poll.set_cursor(self.db, name, str(item.data["replyid"]), now)
            elif item.type == NOTE_EVENT:
                name = note_cursor(int(item.data["ticketid"]))
                if int(item.data["noteid"]) > int(self.cursor(name) or 0):
                    poll.set_cursor(self.db, name, str(item.data["noteid"]), now)
            elif item.type in ("TicketOpen", "TicketOpenAdmin") and as_int(item.data.get("ticketid")):
                # A ticket seen new had its replies read with it (none, or their events follow): from now on
                # its replies are known by id, so one dated in the second of its opening (WHMCS dates to the
                # second) is not taken for one seen by the date of its last reply.
                name = reply_cursor(int(item.data["ticketid"]))
                if self.cursor(name) is None:
                    poll.set_cursor(self.db, name, "0", now)

    # --- newest-first lists -------------------------------------------------------------------

    def newest_first(
        self,
        name: str,
        items: Iterator[Any],
        id_of: Callable[[Any], int],
        to_event: Callable[[Any], Found | None],
        now: datetime,
        report: PollReport,
        on_item: Callable[[Any, datetime], None] | None = None,
    ) -> None:
        """Walk a newest-first list down to the last id seen. The first cycle only records where
        WHMCS stands (history is not news). Events are committed batch by batch; the cursor moves
        only when the walk reached it, so a crash mid-walk redoes the walk and stores nothing twice."""
        key = f"{name}.max_id"
        last = self.cursor(key)
        newest: int | None = None
        batch: list[Any] = []
        seen = 0

        def flush() -> None:
            with self.db.atomic():
                self.store((f for f in map(to_event, batch) if f), now, report)
                for item in batch if on_item else ():
                    on_item(item, now)  # type: ignore[misc]

        for item in items:
            item_id = id_of(item)
            newest = item_id if newest is None else max(newest, item_id)
            if last is None or item_id <= int(last):
                break
            batch.append(item)
            seen += 1
            if len(batch) >= BATCH:
                flush()
                batch = []
                if self.progress:
                    self.progress(name, seen)
        with self.db.atomic():
            flush()
            if newest is not None and (last is None or newest > int(last)):
                poll.set_cursor(self.db, key, str(newest), now)
            elif last is None:
                poll.set_cursor(self.db, key, "0", now)  # an empty list: everything that comes later is news

    # --- lists in no stated order ------------------------------------------------------------

    def listings(self) -> list[Listing]:
        """The lists the census reads each cycle: tickets, orders, and each watched client's emails."""
        out = [
            Listing(
                "tickets",
                "tickets",
                self._new_ticket,
                born=_born,
                # A reply moves the last reply or the status (a reply in the second of the last one seen
                # still changes the status: a staff reply answers, a client's awaits one).
                mark=lambda t: f"{iso(t.lastreply) if t.lastreply else ''} {t.status}",
                changed=self._replies,
                # A reply by the client, or by staff with the default status, makes a ticket active: the
                # active tickets are walked each cycle, the rest at each recheck (DD:api-reference/gettickets.md).
                changing={"status": "All Active Tickets"},
                news_above=self._former_cursor("tickets"),
            ),
            Listing("orders", "orders", lambda o: [order_found(o)], born=_born, news_above=self._former_cursor("orders")),
        ]
        for client_id in sorted({int(c) for c in self.email_clients()}):
            out.append(
                Listing(f"emails:{client_id}", "emails", lambda e: [email_found(e)], {"clientid": client_id}, born=_born)
            )
        return out

    def _former_cursor(self, name: str) -> int | None:
        """Where the newest-first walk of a list had got to (before the census): ids above it are news."""
        value = self.cursor(f"{name}.max_id")
        return int(value) if value is not None else None

    def _new_ticket(self, ticket: Any) -> list[Found]:
        """A ticket not seen before: its opening with its message, and the replies it already has (if any).
        It is read whole (GetTicket), so the rules see what the hook's TicketOpen would have given them: a
        ticket whose message alone names what it is about (a guest's "Formal objection") is routed by it."""
        full = self._read(ticket)
        if full is None:  # deleted since it was listed: its opening as listed
            return [ticket_found(ticket)]
        first = full.replies[0] if full.replies else None
        # A ticket staff opened in the admin area names its admin on its opening message (GetTicket `admin`,
        # DD:api-reference/getticket.md) and fires TicketOpenAdmin, not TicketOpen (DD:hooks-reference/ticket.md):
        # staff's words are not the client's request.
        kind = "TicketOpenAdmin" if first is not None and first.admin else "TicketOpen"
        return [ticket_found(ticket, first.message if first else None, kind), *self._replies_of(full, "")]

    def _read(self, ticket: Any) -> Any:
        """The ticket with its replies oldest first, the opening message first; None if deleted since it was
        listed (refused or failing: the poll fails, nothing is taken for gone)."""
        try:
            return self.api.ticket(ticket.id)
        except WhmcsApiError as exc:
            if not_found(exc):
                return None
            raise

    def watched(self, now: datetime, report: PollReport) -> None:
        """The tickets a family reads whole each cycle (an open ownership case's threads), whatever their status
        or place in the list: GetTickets lists a ticket staff answered and closed at once only in a full walk
        (DD:api-reference/gettickets.md), and a note moves nothing GetTickets shows that the docs name
        (DD:api-reference/getticket.md lists `notes` apart from `replies`). Their replies after the last one
        seen, and their notes after the last one seen (TicketAddNote, DD:hooks-reference/ticket.md): a note is
        staff's, and may report a party's answer by phone. A ticket read for the first time with no reply known
        by id has its replies taken as seen (they were written before the case watched it, and read then). A watched
        ticket WHMCS no longer has (GetTicket "Ticket ID Not Found", DD:api-reference/getticket.md; staff deleted it,
        with whatever was written there since the last read) is reported once (TicketGone): never taken as silence."""
        for ticket_id in sorted({int(t) for t in self.watched_tickets()}):
            full = self._read(SimpleNamespace(id=ticket_id))
            if full is None:
                with self.db.atomic():
                    self.store([self._gone(ticket_id, now)], now, report)
                continue
            with self.db.atomic():
                if self.cursor(reply_cursor(ticket_id)) is None:
                    newest = max((r.id for r in full.replies), default=0)
                    poll.set_cursor(self.db, reply_cursor(ticket_id), str(newest), now)
                last_note = int(self.cursor(note_cursor(ticket_id)) or 0)
                notes = [note_found(full, n) for n in full.notes if n.id > last_note]
                self.store([*self._replies_of(full, ""), *notes], now, report)

    def _gone(self, ticket_id: int, now: datetime) -> Found:
        """A watched ticket gone from WHMCS: its id, the last reply and note of it the bridge read, and when it found
        it gone (the deletion itself is dated nowhere the API shows)."""
        data = {
            "ticketid": ticket_id,
            "last_reply": as_int(self.cursor(reply_cursor(ticket_id))),
            "last_note": as_int(self.cursor(note_cursor(ticket_id))),
            "seen_at": iso(now),
        }
        return Found(GONE_EVENT, data, iso(now))

    def _replies(self, ticket: Any, since: str) -> list[Found]:
        """A ticket whose last reply or status moved: its replies after the last one seen."""
        full = self._read(ticket)
        return self._replies_of(full, since) if full is not None else []

    def _replies_of(self, full: Any, since: str) -> list[Found]:
        """The replies of a ticket read whole after the last one seen, by its client or a guest
        (TicketUserReply) or by staff (TicketAdminReply). Replies are told apart by id (WHMCS dates them to
        the second, and a reply can be dated in the past); a ticket seen before the bridge knew reply ids
        falls back to the date of its last reply seen."""
        last_id = self.cursor(reply_cursor(full.id))
        after = datetime.fromisoformat(since.split(" ", 1)[0]) if since.split(" ", 1)[0] else None
        found = []
        for reply in full.replies[1:]:
            if last_id is not None and reply.id <= int(last_id):
                continue
            if last_id is None and after is not None and reply.date is not None and reply.date <= after:
                continue
            found.append(reply_found(full, reply))
        return found

    def _new_invoices(self) -> Iterator[Invoice]:
        return self.api.invoices(newest_first=True)

    def _remember_open(self, invoice: Invoice, now: datetime) -> None:
        if invoice.status in OPEN_STATUSES:
            self._snapshot(invoice, now)

    def _activity(self, entry: Any) -> Found | None:
        if OWN_TRACE in entry.description:
            return None
        data = {
            "id": entry.id,
            "clientid": entry.client_id,
            "description": entry.description,
            "username": entry.username,
        }
        return Found("ActivityLogged", data, entry.date.isoformat() if entry.date else None)

    # --- invoice status ---------------------------------------------------------------------

    def check_invoices(self, ids: list[int], now: datetime, report: PollReport) -> None:
        """Read each invoice named by a hint (or gone from the open list) and report its new status."""
        hinted = set(self._hints())
        for invoice_id in ids:
            try:
                invoice = self.api.invoice(invoice_id)
            except WhmcsApiError as exc:
                if not not_found(exc):
                    raise  # refused or failing: the poll fails, the invoice stays in the snapshot
                with self.db.atomic():
                    poll.forget_open_invoice(self.db, invoice_id)
                    self._read_hint(invoice_id, now)
                continue
            kind = {
                "Paid": "InvoicePaid",
                "Cancelled": "InvoiceCancelled",
                "Refunded": "InvoiceRefunded",
                "Unpaid": "InvoiceUnpaid",
            }.get(invoice.status)
            with self.db.atomic():
                self._read_hint(invoice_id, now)
                if invoice.status in OPEN_STATUSES:
                    self._snapshot(invoice, now)
                else:
                    poll.forget_open_invoice(self.db, invoice_id)
                if kind and kind != "InvoiceUnpaid":
                    data = invoice_data(invoice)
                    data["datepaid"] = invoice.datepaid.isoformat() if invoice.datepaid else None
                    self.store([Found(kind, data)], now, report)
                elif invoice.status in OPEN_STATUSES and invoice_id in hinted:
                    # Still open, yet an activity line named it (a partial payment, credit applied, an edit):
                    # what is left to pay may have changed. Dated by the poll: each one is news.
                    data = {**invoice_data(invoice), "balance": str(invoice.balance), "seen_at": iso(now)}
                    self.store([Found("InvoiceStillOpen", data, iso(now))], now, report)

    def _keep_hints(self, entry: Any, now: datetime) -> None:
        """The invoices an activity line names, kept with the line's event until their status is read (a
        poll that fails before reading them reads them next time: the walk will not see the line again);
        and the client of a line naming a service, whose services may have changed (staff suspending by hand)."""
        if OWN_TRACE not in entry.description and entry.client_id and SERVICE_HINT.search(entry.description):
            touched = set(json.loads(self.cursor(TOUCHED) or "[]")) | {int(entry.client_id)}
            poll.set_cursor(self.db, TOUCHED, json.dumps(sorted(touched)), now)
        named = {int(n) for n in INVOICE_HINT.findall(entry.description)} if OWN_TRACE not in entry.description else set()
        if named:
            poll.set_cursor(self.db, HINTS, json.dumps(sorted(set(self._hints()) | named)), now)

    def _hints(self) -> list[int]:
        return [int(n) for n in json.loads(self.cursor(HINTS) or "[]")]

    def _read_hint(self, invoice_id: int, now: datetime) -> None:
        left = [n for n in self._hints() if n != invoice_id]
        if len(left) != len(self._hints()):
            poll.set_cursor(self.db, HINTS, json.dumps(left), now)

    def _snapshot(self, invoice: Invoice, now: datetime) -> None:
        poll.keep_open_invoice(
            self.db, invoice.id, client_id=invoice.client_id, duedate=invoice.duedate, total=str(invoice.total), now=now
        )

    def services(self, now: datetime, report: PollReport) -> None:
        """The services of tracked clients (open escalation cases in a policy's scope) that may have changed:
        those an activity line named with one of their services since the last cycle (WHMCS logs every module
        action and every service edit there, by staff or API); a status that changed is reported (e.g. staff
        suspended or unsuspended by hand). One GetClientsProducts call per client read; none for a client of
        whom nothing was logged (a client's own account read, and each step's guard, read its services anyway),
        except once when it starts being watched and no read of its account gave its services' statuses yet
        (the executor keeps those a read found: store/poll.py first_service_statuses)."""
        tracked = {int(c) for c in self.tracked_clients()}
        touched = {int(c) for c in json.loads(self.cursor(TOUCHED) or "[]")}
        with self.db.atomic():
            unseen = tracked - poll.clients_with_services_seen(self.db)  # newly watched: their statuses as of now
        for client_id in sorted(tracked & touched | unseen):
            found: list[Found] = []
            with self.db.atomic():
                known = poll.service_statuses(self.db, client_id)
            services = list(self.api.services(client_id=int(client_id)))
            with self.db.atomic():
                for service in services:
                    previous = known.get(service.id)
                    if previous is not None and previous != service.status:
                        data = {
                            "serviceid": service.id,
                            "userid": service.client_id,
                            "status": service.status,
                            "previous": previous,
                            "suspensionreason": service.suspension_reason,
                            "seen_at": iso(now),
                        }
                        found.append(Found("ServiceStatusChanged", data, iso(now)))
                    poll.keep_service_status(
                        self.db, service.id, client_id=service.client_id, status=service.status, now=now
                    )
                self.store(found, now, report)
        if touched:
            with self.db.atomic():
                poll.set_cursor(self.db, TOUCHED, "[]", now)

    def sweep_due(self, now: datetime) -> bool:
        last = self.cursor("invoices.sweep_at")
        return last is None or datetime.fromisoformat(last) + self.sweep_every <= now

    def sweep(self, now: datetime, report: PollReport) -> None:
        """Refresh the open-invoice snapshot from WHMCS; what left it is read once for its new status."""
        stamp = iso(now)
        seen = 0
        for status in OPEN_STATUSES:
            batch: list[Invoice] = []
            for invoice in self.api.invoices(status=status):
                batch.append(invoice)
                if len(batch) >= BATCH:
                    self._snapshot_many(batch, now)
                    seen += len(batch)
                    batch = []
                    if self.progress:
                        self.progress("open invoices", seen)
            self._snapshot_many(batch, now)
        self.check_invoices(poll.open_invoices_unseen_since(self.db, now), now, report)
        with self.db.atomic():
            poll.set_cursor(self.db, "invoices.sweep_at", stamp, now)
        report.swept = True

    def _snapshot_many(self, invoices: list[Invoice], now: datetime) -> None:
        with self.db.atomic():
            for invoice in invoices:
                self._snapshot(invoice, now)

    def overdue(self, today: date, now: datetime, report: PollReport) -> None:
        """Open invoices past their due date: one InvoiceOverdue per invoice and due date (no API call)."""
        while True:
            invoices = poll.overdue_unreported(self.db, today, BATCH)
            if not invoices:
                return
            with self.db.atomic():
                self.store(
                    (
                        Found(
                            "InvoiceOverdue",
                            {"invoiceid": i.id, "userid": i.client_id, "duedate": i.duedate, "total": i.total},
                        )
                        for i in invoices
                    ),
                    now,
                    report,
                )
                poll.mark_overdue_reported(self.db, [i.id for i in invoices])
