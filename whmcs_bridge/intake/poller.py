"""The poller: what changed in WHMCS since the last cycle, as inbox events, without re-reading WHMCS.

Per cycle (steady state, a handful of API calls):
- new invoices, tickets and orders: walk the list newest first and stop at the last id seen;
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
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.intake.facts import fact_of
from whmcs_bridge.model import marker
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.records import Invoice

log = logging.getLogger("whmcs_bridge.poller")

Progress = Callable[[str, int], None]
BATCH = 250
OPEN_STATUSES = ("Unpaid", "Collections")
INVOICE_HINT = re.compile(r"Invoice ID:? ?#?(\d+)", re.IGNORECASE)
OWN_TRACE = marker("wb-")[:-1]  # "[wb-": the bridge's own activity lines are not news



@dataclass
class PollReport:
    events: int = 0
    calls: int = 0
    swept: bool = False
    by_type: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Found:
    type: str
    data: dict[str, Any]
    occurred_at: str | None = None


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoiceid": invoice.id,
        "userid": invoice.client_id,
        "status": invoice.status,
        "duedate": invoice.duedate.isoformat() if invoice.duedate else None,
        "total": str(invoice.total),
    }


class Poller:
    def __init__(
        self,
        db: Database,
        api: WhmcsApi,
        *,
        sweep_every: timedelta = timedelta(hours=6),
        progress: Progress | None = None,
        tracked_clients: Callable[[], Iterable[int]] = lambda: (),
    ) -> None:
        self.db = db
        self.api = api
        self.sweep_every = sweep_every
        self.progress = progress
        self.tracked_clients = tracked_clients

    # --- the cycle ----------------------------------------------------------------------------

    def run_once(self, now: datetime, today: date | None = None) -> PollReport:
        report = PollReport()
        calls_before = self.api.client.calls
        today = today or now.date()
        hinted: set[int] = set()
        self.newest_first(
            "invoices",
            self._new_invoices(),
            lambda i: i.id,
            lambda i: Found("InvoiceCreated", invoice_data(i)),
            now,
            report,
            on_item=self._remember_open,
        )
        self.newest_first(
            "activity", self.api.activity(), lambda e: e.id, lambda e: self._activity(e, hinted), now, report
        )
        self.newest_first("tickets", self.api.tickets(), lambda t: t.id, self._ticket, now, report)
        self.newest_first("orders", self.api.orders(), lambda o: o.id, self._order, now, report)
        self.check_invoices(sorted(hinted), now, report)
        self.services(now, report)
        if self.sweep_due(now):
            self.sweep(now, report)
        self.overdue(today, now, report)
        report.calls = self.api.client.calls - calls_before
        return report

    def cursor(self, name: str) -> str | None:
        row = self.db.conn.execute("SELECT value FROM poll_cursor WHERE name = ?", (name,)).fetchone()
        return row["value"] if row else None

    def _set_cursor(self, name: str, value: str, now: datetime) -> None:
        self.db.conn.execute(
            "INSERT INTO poll_cursor (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (name, value, iso(now)),
        )

    def store(self, found: Iterable[Found], now: datetime, report: PollReport) -> None:
        """Insert events (inside the caller's transaction); an id or fact already stored is skipped."""
        for item in found:
            fact = fact_of(item.type, item.data)
            event_id = (
                f"poll:{fact}" if fact else f"poll:{item.type}:{json.dumps(item.data, sort_keys=True, default=str)}"
            )
            body = json.dumps(
                {"type": item.type, "occurred_at": item.occurred_at, "source": {"poller": True}, "data": item.data},
                default=str,
            )
            cursor = self.db.conn.execute(
                "INSERT INTO inbox (event_id, fact, type, source, occurred_at, received_at, body) VALUES (?, ?, ?, 'poll', ?, ?, ?) ON CONFLICT DO NOTHING",
                (event_id[:500], fact, item.type, item.occurred_at, iso(now), body),
            )
            if cursor.rowcount:
                report.events += 1
                report.by_type[item.type] = report.by_type.get(item.type, 0) + 1

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
                self._set_cursor(key, str(newest), now)
            elif last is None:
                self._set_cursor(key, "0", now)  # an empty list: everything that comes later is news

    def _new_invoices(self) -> Iterator[Invoice]:
        return self.api.invoices(newest_first=True)

    def _remember_open(self, invoice: Invoice, now: datetime) -> None:
        if invoice.status in OPEN_STATUSES:
            self._snapshot(invoice, now)

    def _activity(self, entry: Any, hinted: set[int]) -> Found | None:
        if OWN_TRACE in entry.description:
            return None
        hinted.update(int(n) for n in INVOICE_HINT.findall(entry.description))
        data = {
            "id": entry.id,
            "clientid": entry.client_id,
            "description": entry.description,
            "username": entry.username,
        }
        return Found("ActivityLogged", data, entry.date.isoformat() if entry.date else None)

    @staticmethod
    def _ticket(ticket: Any) -> Found:
        data = {
            "ticketid": ticket.id,
            "ticketmask": ticket.tid,
            "userid": ticket.client_id,
            "deptid": ticket.deptid,
            "subject": ticket.subject,
            "requestor_name": ticket.requestor_name,
            "requestor_email": ticket.requestor_email,
            "requestor_type": ticket.requestor_type,
            "service": f"{ticket.service_ref[0]}:{ticket.service_ref[1]}" if ticket.service_ref else None,
        }
        return Found("TicketOpen", data, ticket.date.isoformat() if ticket.date else None)

    @staticmethod
    def _order(order: Any) -> Found:
        data = {
            "orderid": order.id,
            "userid": order.client_id,
            "requestor_id": order.requestor_id,
            "admin_requestor_id": order.admin_requestor_id,
            "invoiceid": order.invoice_id,
            "status": order.status,
            "lines": [{"type": line.type, "relid": line.relid, "domain": line.domain} for line in order.lines],
        }
        return Found("OrderPlaced", data, order.date.isoformat() if order.date else None)

    # --- invoice status ---------------------------------------------------------------------

    def check_invoices(self, ids: list[int], now: datetime, report: PollReport) -> None:
        """Read each invoice named by a hint (or gone from the open list) and report its new status."""
        for invoice_id in ids:
            try:
                invoice = self.api.invoice(invoice_id)
            except WhmcsApiError:  # deleted
                with self.db.atomic():
                    self.db.conn.execute("DELETE FROM poll_open_invoice WHERE id = ?", (invoice_id,))
                continue
            kind = {
                "Paid": "InvoicePaid",
                "Cancelled": "InvoiceCancelled",
                "Refunded": "InvoiceRefunded",
                "Unpaid": "InvoiceUnpaid",
            }.get(invoice.status)
            with self.db.atomic():
                if invoice.status in OPEN_STATUSES:
                    self._snapshot(invoice, now)
                else:
                    self.db.conn.execute("DELETE FROM poll_open_invoice WHERE id = ?", (invoice_id,))
                if kind and kind != "InvoiceUnpaid":
                    data = invoice_data(invoice)
                    data["datepaid"] = invoice.datepaid.isoformat() if invoice.datepaid else None
                    self.store([Found(kind, data)], now, report)

    def _snapshot(self, invoice: Invoice, now: datetime) -> None:
        self.db.conn.execute(
            "INSERT INTO poll_open_invoice (id, client_id, duedate, total, seen_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, duedate = excluded.duedate, total = excluded.total, seen_at = excluded.seen_at",
            (
                invoice.id,
                invoice.client_id,
                invoice.duedate.isoformat() if invoice.duedate else None,
                str(invoice.total),
                iso(now),
            ),
        )

    def services(self, now: datetime, report: PollReport) -> None:
        """The services of tracked clients: a status that changed since the last cycle is reported
        (e.g. staff suspended or unsuspended by hand). One GetClientsProducts call per tracked client."""
        for client_id in self.tracked_clients():
            found: list[Found] = []
            with self.db.atomic() as conn:
                known = {
                    r["id"]: r["status"]
                    for r in conn.execute("SELECT id, status FROM poll_service WHERE client_id = ?", (client_id,))
                }
            services = list(self.api.services(client_id=int(client_id)))
            with self.db.atomic() as conn:
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
                    conn.execute(
                        "INSERT INTO poll_service (id, client_id, status, seen_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, status = excluded.status, seen_at = excluded.seen_at",
                        (service.id, service.client_id, service.status, iso(now)),
                    )
                self.store(found, now, report)

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
        gone = [r["id"] for r in self.db.conn.execute("SELECT id FROM poll_open_invoice WHERE seen_at < ?", (stamp,))]
        self.check_invoices(gone, now, report)
        with self.db.atomic():
            self._set_cursor("invoices.sweep_at", stamp, now)
        report.swept = True

    def _snapshot_many(self, invoices: list[Invoice], now: datetime) -> None:
        with self.db.atomic():
            for invoice in invoices:
                self._snapshot(invoice, now)

    def overdue(self, today: date, now: datetime, report: PollReport) -> None:
        """Open invoices past their due date: one InvoiceOverdue per invoice and due date (no API call)."""
        while True:
            rows = self.db.conn.execute(
                "SELECT id, client_id, duedate, total FROM poll_open_invoice WHERE duedate < ?"
                " AND (overdue_reported IS NULL OR overdue_reported != duedate) ORDER BY id LIMIT ?",
                (today.isoformat(), BATCH),
            ).fetchall()
            if not rows:
                return
            with self.db.atomic() as conn:
                self.store(
                    (
                        Found(
                            "InvoiceOverdue",
                            {
                                "invoiceid": r["id"],
                                "userid": r["client_id"],
                                "duedate": r["duedate"],
                                "total": r["total"],
                            },
                        )
                        for r in rows
                    ),
                    now,
                    report,
                )
                conn.executemany(
                    "UPDATE poll_open_invoice SET overdue_reported = duedate WHERE id = ?", [(r["id"],) for r in rows]
                )
