"""The executor: outbox actions -> the WHMCS API, exactly once.

For each due action: the circuit breaker is consulted (destructive actions only), the action is
marked in flight and committed, its guard re-reads the facts it depends on (an invoice paid
meanwhile cancels a suspension), then WHMCS is called and the result recorded. An action found in
flight (after a crash, or after a call whose outcome is unknown) is first reconciled by reading
WHMCS for its effect (service status, the key written into an email, ticket, note, invoice or
transaction); only when the effect is absent is it run again. Actions whose effect cannot be read
are repeated only when repeating is harmless, else parked for staff.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from whmcs_bridge.actions import marker
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.metrics import Registry
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.executor")

# Kinds whose effect cannot be read back but which may safely run twice.
REPEAT_SAFE = {"client_note", "module_command", "refresh_client", "resolve_ticket", "find_open_invoice"}
OPEN_INVOICE = ("Unpaid", "Collections")
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass
class ExecutorReport:
    done: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # by the circuit breaker
    reconciled: list[str] = field(default_factory=list)
    would_run: list[dict[str, Any]] = field(default_factory=list)


Row = sqlite3.Row
Params = dict[str, Any]


# --- guards: a reason to cancel, or None --------------------------------------------------------


def _guard_invoices_open(api: WhmcsApi, ids: list[int]) -> str | None:
    for invoice_id in ids:
        status = api.invoice(int(invoice_id)).status
        if status not in OPEN_INVOICE:
            return f"invoice {invoice_id} is now {status}"
    return None


def _guard_service_status(api: WhmcsApi, spec: dict[str, Any]) -> str | None:
    service = api.service(int(spec["id"]))
    if service is None:
        return f"service {spec['id']} no longer exists"
    if service.status not in spec["in"]:
        return f"service {service.id} is {service.status}, not {' or '.join(spec['in'])}"
    return None


def _guard_ticket_exists(api: WhmcsApi, ticket_id: int) -> str | None:
    try:
        api.ticket(int(ticket_id))
    except WhmcsApiError:
        return f"ticket {ticket_id} no longer exists"
    return None


GUARDS: dict[str, Callable[[WhmcsApi, Any], str | None]] = {
    "invoices_open": _guard_invoices_open,
    "service_status": _guard_service_status,
    "ticket_exists": _guard_ticket_exists,
}
# Guards answered from the bridge's own store rather than WHMCS.
STORE_GUARDS = {"action_done"}


# --- how each kind runs, and how its effect is recognised --------------------------------------


def _with_marker(text: str, key: str, html: bool = False) -> str:
    return f"{text}\n<!-- {marker(key)} -->" if html else f"{text}\n\n{marker(key)}"


def client_context(api: WhmcsApi, client_id: int) -> dict[str, Any]:
    """What the rules need to know of a client: who it is, its group and custom fields, its services."""
    details = api.client_details(client_id)
    services = [
        {
            "id": s.id,
            "pid": s.pid,
            "group": s.groupname,
            "name": s.name,
            "domain": s.domain,
            "status": s.status,
            "suspension_reason": s.suspension_reason,
            "override_until": s.override_suspend_until.isoformat() if s.override_suspend_until else None,
            "customfields": s.customfields,
        }
        for s in api.services(client_id=client_id)
    ]
    return {
        "userid": details.id,
        "name": f"{details.firstname} {details.lastname}".strip(),
        "company": details.companyname,
        "email": details.email,
        "groupid": details.groupid,
        "customfields": {str(k): v for k, v in details.customfields.items()},
        "services": services,
        "domains": [{"id": d.id, "name": d.domainname} for d in api.domains(client_id=client_id)],
        "users": [{"id": u.id, "is_owner": u.is_owner} for u in details.users],
    }


def _report(params: Params, result: dict[str, Any], key: str) -> tuple[str, dict[str, Any]] | None:
    """An action that asks for it (`report_as`) has its result fed back to the rules as an event."""
    if not params.get("report_as"):
        return None
    return str(params["report_as"]), {**(params.get("report") or {}), **result, "action_key": key}


def find_open_invoice(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The client's unpaid invoice that bills a service (its renewal), newest first; none is an answer too."""
    for summary in _recent(api.invoices(client_id=int(p["client_id"]), status="Unpaid", newest_first=True), 50):
        invoice = api.invoice(summary.id)
        if any(
            item.relid == int(p["service_id"]) and item.type in ("Hosting", "Addon", "Domain", "DomainRenew")
            for item in invoice.items
        ):
            amount = invoice.balance if invoice.balance is not None else invoice.total
            return {
                **(p.get("report") or {}),
                "invoice_id": invoice.id,
                "amount": str(amount),
                "duedate": invoice.duedate.isoformat() if invoice.duedate else None,
            }
    return {**(p.get("report") or {}), "invoice_id": None}


def resolve_ticket(api: WhmcsApi, p: Params) -> dict[str, Any]:
    """The owners of what a ticket names: its linked service or domain, and the domain names found in it."""
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()

    def add(kind: str, item_id: int, name: str, owner: int) -> None:
        if (kind, item_id) not in seen:
            seen.add((kind, item_id))
            items.append({"kind": kind, "id": item_id, "name": name.lower(), "owner": owner})

    link = p.get("link")  # "service:12" or "domain:3"
    if link:
        kind, _, raw = str(link).partition(":")
        if kind == "service" and (service := api.service(int(raw))):
            add("service", service.id, service.domain, service.client_id)
        elif kind == "domain":
            for domain in api.domains(domain_id=int(raw)):
                add("domain", domain.id, domain.domainname, domain.client_id)
    for name in p.get("names", []):
        for found_service in api.services(domain=name):
            add("service", found_service.id, name, found_service.client_id)
        for found_domain in api.domains(domain=name):
            add("domain", found_domain.id, name, found_domain.client_id)
    return {
        "ticketid": p["ticket_id"],
        "writer": p.get("writer"),
        "items": items,
        "state_key": p.get("state_key"),
        "renew": p.get("renew", False),
    }


def _client(p: Params, client_id: int | None) -> int:
    value = p.get("client_id", client_id)
    if value is None:
        raise ValueError("the action names no client")
    return int(value)


def _run(
    api: WhmcsApi,
    kind: str,
    p: Params,
    key: str,
    client_id: int | None,
    mint: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    if kind == "email":
        if p.get("consent"):
            if mint is None:
                raise ValueError("no consent link can be made here")
            p = {**p, "html": p["html"].replace("{consent_link}", mint(p["consent"]))}
        if p.get("template"):
            api.send_email(int(p["related_id"]), template=p["template"], merge=p.get("merge"))
            return {}
        html = _with_marker(p["html"], key, html=True)
        api.send_email(
            int(p["related_id"]),
            custom_type=p.get("type", "general"),
            subject=p["subject"],
            html=html,
            merge=p.get("merge"),
        )
        # Proof: the email-log id of what was sent, found by the key written into it.
        found = _email_with(api, client_id, marker(key)) if client_id else None
        return {"email_id": found} if found else {}
    if kind == "ticket":
        ticket_id, tid = api.open_ticket(
            deptid=int(p["deptid"]),
            subject=p["subject"],
            message=_with_marker(p["message"], key),
            client_id=p.get("client_id", client_id),
            service_id=p.get("service_id"),
            domain_id=p.get("domain_id"),
            priority=p.get("priority", "Medium"),
            notify=p.get("notify", True),
            name=p.get("name"),
            email=p.get("email"),
        )
        return {"ticket_id": ticket_id, "tid": tid}
    if kind == "ticket_note":
        api.add_ticket_note(int(p["ticket_id"]), _with_marker(p["message"], key))
        return {}
    if kind == "client_note":
        return {
            "note_id": api.add_client_note(
                _client(p, client_id), _with_marker(p["text"], key), sticky=p.get("sticky", False)
            )
        }
    if kind == "activity":
        api.log_activity(f"{p['text']} {marker(key)}", p.get("client_id", client_id))
        return {}
    if kind == "suspend":
        api.suspend(int(p["service_id"]), p.get("reason"))
        return {}
    if kind == "unsuspend":
        api.unsuspend(int(p["service_id"]))
        return {}
    if kind == "terminate":
        api.terminate(int(p["service_id"]))
        return {}
    if kind == "module_command":
        api.module_command(int(p["service_id"]), p["function"])
        return {}
    if kind == "invoice_status":
        api.update_invoice(int(p["invoice_id"]), status=p["status"])
        return {}
    if kind == "create_invoice":
        lines = [(str(d), Decimal(str(a))) for d, a in p["lines"]]
        invoice_id = api.create_invoice(
            _client(p, client_id),
            lines,
            notes=_with_marker(p.get("notes", ""), key),
            send=p.get("send", False),
        )
        return {"invoice_id": invoice_id}
    if kind == "settle_invoice":
        amount = Decimal(str(p["amount"])) if p.get("amount") is not None else None
        api.add_invoice_payment(
            int(p["invoice_id"]), transid=key, gateway=p.get("gateway", "banktransfer"), amount=amount
        )
        return {}
    if kind == "registrant_update":
        api.update_whois(int(p["domain_id"]), p["xml"])
        return {}
    if kind == "credential_change":
        import secrets

        # Made here, sent to WHMCS, never stored or logged: the owner gets it through WHMCS's own email.
        api.change_password(int(p["service_id"]), secrets.token_urlsafe(15))
        if p.get("notify_template"):
            api.send_email(int(p["service_id"]), template=p["notify_template"])
        return {}
    if kind == "refresh_client":
        return {"context": client_context(api, _client(p, client_id))}
    if kind == "resolve_ticket":
        return {"feed": ("TicketResolved", resolve_ticket(api, p))}
    if kind == "find_open_invoice":
        return {"feed": ("OpenInvoiceFound", find_open_invoice(api, p))}
    raise ValueError(f"no runner for action kind {kind}")  # the catalogue and this table disagree


def _observe(api: WhmcsApi, kind: str, p: Params, key: str, client_id: int | None) -> dict[str, Any] | None | bool:
    """After an interruption: the result if the effect is in WHMCS, False if absent, None if unknowable."""
    tag = marker(key)
    if kind == "email":
        if p.get("template") or client_id is None:
            return None
        found = _email_with(api, client_id, tag)
        return {"email_id": found} if found else False
    if kind == "ticket":
        for ticket in _recent(api.tickets(client_id=p.get("client_id", client_id), subject=p["subject"])):
            full = api.ticket(ticket.id)
            if full.replies and tag in full.replies[0].message:
                return {"ticket_id": full.id, "tid": full.tid}
        return False
    if kind == "ticket_note":
        return {} if any(tag in n.message for n in api.ticket(int(p["ticket_id"])).notes) else False
    if kind == "activity":
        return {} if next(api.activity(description=tag), None) else False
    if kind in ("suspend", "unsuspend", "terminate"):
        service = api.service(int(p["service_id"]))
        wanted = {"suspend": "Suspended", "unsuspend": "Active", "terminate": "Terminated"}[kind]
        return {} if service is not None and service.status == wanted else False
    if kind == "invoice_status":
        return {} if api.invoice(int(p["invoice_id"])).status == p["status"] else False
    if kind == "create_invoice":
        for invoice in _recent(api.invoices(client_id=_client(p, client_id), newest_first=True)):
            if tag in invoice.notes:
                return {"invoice_id": invoice.id}
        return False
    if kind == "settle_invoice":
        return {} if any(t.transid == key for t in api.invoice(int(p["invoice_id"])).transactions) else False
    if kind == "registrant_update":
        wanted_contact = {str(k): str(v) for k, v in p.get("expect", {}).items()}
        current = api.whois(int(p["domain_id"])).contacts.get(p.get("contact_type", "Registrant"), {})
        return {} if wanted_contact and all(current.get(k) == v for k, v in wanted_contact.items()) else False
    return None


def _email_with(api: WhmcsApi, client_id: int, tag: str) -> int | None:
    return next((e.id for e in _recent(api.emails(int(client_id))) if tag in e.message), None)


def _recent(items: Any, limit: int = 25) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= limit:
            break
    return out


class Executor:
    def __init__(
        self,
        db: Database,
        api: WhmcsApi,
        *,
        max_destructive_per_hour: int = 10,
        staff_department_id: int | None = None,
        staff_email: str | None = None,
        consent_base_url: str | None = None,
        metrics: Registry | None = None,
    ) -> None:
        self.db = db
        self.api = api
        self.max_destructive_per_hour = max_destructive_per_hour
        self.staff_department_id = staff_department_id
        self.staff_email = staff_email
        self.consent_base_url = consent_base_url
        self.metrics = metrics or Registry()
        self.outcomes = self.metrics.counter(
            "whmcs_bridge_actions_total", "Outbox actions finished, by outcome.", "status"
        )
        self.api_errors = self.metrics.counter(
            "whmcs_bridge_api_errors_total", "WHMCS API failures seen by the executor, by kind.", "kind"
        )

    # --- the loop -----------------------------------------------------------------------------

    def run_once(
        self, now: datetime, *, limit: int = 100, dry_run: bool = False, stop: Callable[[], bool] = lambda: False
    ) -> ExecutorReport:
        report = ExecutorReport()
        rows = self.db.conn.execute(
            "SELECT * FROM outbox WHERE status IN ('in_flight', 'planned') AND (not_before IS NULL OR not_before <= ?)"
            " ORDER BY CASE status WHEN 'in_flight' THEN 0 ELSE 1 END, id LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        for row in rows:
            if stop():
                break
            if dry_run:
                report.would_run.append(
                    {
                        "id": row["id"],
                        "key": row["action_key"],
                        "kind": row["kind"],
                        "subject": row["subject"],
                        "params": json.loads(row["params"]),
                    }
                )
                continue
            self.execute(row, now, report)
        return report

    def execute(self, row: Row, now: datetime, report: ExecutorReport) -> None:
        key, kind = row["action_key"], row["kind"]
        params: Params = json.loads(row["params"])
        try:
            if row["status"] == "in_flight":
                outcome = _observe(self.api, kind, params, key, row["client_id"])
                if isinstance(outcome, dict):
                    self.finish(
                        row,
                        "done",
                        now,
                        result=outcome,
                        note="reconciled: already done in WHMCS",
                        feed=_report(params, outcome, key),
                    )
                    report.reconciled.append(key)
                    return
                if outcome is None and kind not in REPEAT_SAFE:
                    self.finish(
                        row,
                        "parked",
                        now,
                        error="interrupted, and WHMCS cannot tell whether it ran: check WHMCS, then approve to run it again or reject",
                    )
                    report.parked.append(key)
                    return
            if row["destructive"] and self.breaker_holds(now):
                report.held.append(key)
                return
            self.mark_in_flight(row, now)
            guard = json.loads(row["guard"] or "{}")
            for name, value in guard.items():
                reason = self.store_guard(name, value) if name in STORE_GUARDS else GUARDS[name](self.api, value)
                if reason:
                    self.finish(row, "cancelled", now, error=f"guard {name}: {reason}")
                    report.cancelled.append(key)
                    return
            result = _run(
                self.api, kind, params, key, row["client_id"], mint=lambda spec: self.mint_consent_link(spec, now)
            )
        except WhmcsUnavailableError as exc:
            # Outcome unknown, or WHMCS down: stay in flight, reconcile on the next pass.
            self.api_errors.inc("unavailable")
            delay = min(RETRY_CAP, RETRY_BASE * 2 ** min(int(row["attempts"]), 10))
            self.db.conn.execute(
                "UPDATE outbox SET not_before = ?, error = ?, updated_at = ? WHERE id = ?",
                (iso(now + delay), str(exc), iso(now), row["id"]),
            )
            log.warning("action %s (%s) waits %s: %s", key, kind, delay, exc)
            report.retrying.append(key)
            return
        except (WhmcsApiError, WhmcsProtocolError, KeyError, ValueError, TypeError) as exc:
            self.api_errors.inc(type(exc).__name__)
            self.finish(row, "parked", now, error=str(exc))
            report.parked.append(key)
            return
        context = result.pop("context", None)
        feed = (
            result.pop("feed", None)
            or (("ClientContext", context) if context is not None else None)
            or _report(params, result, key)
        )
        self.finish(row, "done", now, result=result, feed=feed)
        report.done.append(key)
        if kind not in ("refresh_client", "resolve_ticket", "find_open_invoice"):
            self.summary_line(row, params)

    def mint_consent_link(self, spec: dict[str, Any], now: datetime) -> str:
        """A one-time, expiring, unguessable link; only its hash is stored (the raw token is in the email)."""
        import hashlib
        import secrets

        if not self.consent_base_url:
            raise ValueError("no consent link can be made: set receiver.public_url")
        token = secrets.token_urlsafe(32)
        with self.db.atomic() as conn:
            conn.execute(
                "INSERT INTO consent_link (token_hash, purpose, subject, summary, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    hashlib.sha256(token.encode()).hexdigest(),
                    spec["purpose"],
                    spec["subject"],
                    spec["summary"],
                    iso(now + timedelta(seconds=int(spec["ttl_s"]))),
                    iso(now),
                ),
            )
        return f"{self.consent_base_url.rstrip('/')}/consent/{token}"

    def store_guard(self, name: str, value: Any) -> str | None:
        if name == "action_done":  # an undo runs only if the step it undoes really ran
            row = self.db.conn.execute("SELECT status FROM outbox WHERE action_key = ?", (value,)).fetchone()
            if row is None or row["status"] != "done":
                return f"the step it would undo ({value}) did not run"
        return None

    # --- bookkeeping --------------------------------------------------------------------------

    def mark_in_flight(self, row: Row, now: datetime) -> None:
        with self.db.atomic() as conn:
            conn.execute(
                "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, started_at = ?, updated_at = ? WHERE id = ?",
                (iso(now), iso(now), row["id"]),
            )

    def finish(
        self,
        row: Row,
        status: str,
        now: datetime,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        feed: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Record the outcome; `feed` puts what a read action learnt into the inbox, in the same transaction."""
        with self.db.atomic() as conn:
            if feed is not None:
                body = json.dumps(
                    {
                        "type": feed[0],
                        "occurred_at": iso(now),
                        "source": {"executor": row["action_key"]},
                        "data": {**feed[1], "requested_by": row["family"]},  # only the family that asked reacts
                    },
                    default=str,
                )
                conn.execute(
                    "INSERT INTO inbox (event_id, type, source, occurred_at, received_at, body) VALUES (?, ?, 'poll', ?, ?, ?) ON CONFLICT DO NOTHING",
                    (f"read:{row['action_key']}", feed[0], iso(now), iso(now), body),
                )
            conn.execute(
                "UPDATE outbox SET status = ?, result = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                (status, json.dumps(result) if result is not None else None, error, iso(now), iso(now), row["id"]),
            )
            detail: dict[str, Any] = {
                "key": row["action_key"],
                "kind": row["kind"],
                "params": json.loads(row["params"]),
            }
            for name, value in (("result", result), ("error", error), ("note", note)):
                if value is not None:
                    detail[name] = value
            audit.append(
                self.db,
                f"executor.{status}",
                actor="executor",
                client_id=row["client_id"],
                subject=row["subject"],
                detail=detail,
                at=iso(now),
            )
        self.outcomes.inc(status)
        log.info("action %s %s %s%s", row["action_key"], row["kind"], status, f": {error}" if error else "")

    def summary_line(self, row: Row, params: Params) -> None:
        """A one-line trace in WHMCS's activity log; never allowed to fail the action it describes."""
        if row["kind"] == "activity":
            return
        try:
            what = row["subject"] or ", ".join(f"{k}={v}" for k, v in params.items() if k.endswith("_id"))
            self.api.log_activity(
                f"whmcs-bridge: {row['family']} {row['kind']} {what} done {marker(row['action_key'])}", row["client_id"]
            )
        except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError) as exc:
            log.warning("could not write the activity line for %s: %s", row["action_key"], exc)

    # --- the circuit breaker ------------------------------------------------------------------

    def breaker_state(self) -> dict[str, Any] | None:
        row = self.db.conn.execute("SELECT value FROM switches WHERE name = 'breaker'").fetchone()
        return json.loads(row["value"]) if row else None

    def breaker_holds(self, now: datetime) -> bool:
        """True when destructive actions must wait: tripped earlier, or what ran in the last hour plus
        what is due now would pass the hourly limit (a bad rule must not suspend half the customers)."""
        if self.breaker_state():
            return True
        ran = self.db.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE destructive = 1 AND status = 'done' AND finished_at > ?",
            (iso(now - timedelta(hours=1)),),
        ).fetchone()[0]
        due = self.db.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE destructive = 1 AND status IN ('planned', 'in_flight')"
            " AND (not_before IS NULL OR not_before <= ?)",
            (iso(now),),
        ).fetchone()[0]
        if ran + due <= self.max_destructive_per_hour:
            return False
        self.trip(now, ran, due)
        return True

    def trip(self, now: datetime, ran: int, due: int) -> None:
        state = {"tripped_at": iso(now), "done_last_hour": ran, "due": due, "limit": self.max_destructive_per_hour}
        message = (
            f"whmcs-bridge circuit breaker tripped: {ran} destructive actions ran in the last hour and {due} more "
            f"are due, above the limit of {self.max_destructive_per_hour} an hour. All destructive actions (suspend, "
            "terminate, collections...) are on hold until staff check the rules and the outbox, then run "
            "`whmcs-bridge breaker reset`."
        )
        with self.db.atomic() as conn:
            conn.execute(
                "INSERT INTO switches (name, value, updated_at) VALUES ('breaker', ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (json.dumps(state), iso(now)),
            )
            audit.append(self.db, "executor.breaker_tripped", actor="executor", detail=state, at=iso(now))
        log.error(message)
        self.metrics.counter("whmcs_bridge_breaker_trips_total", "Times the circuit breaker tripped.").inc()
        if self.staff_department_id and self.staff_email:
            try:
                self.api.open_ticket(
                    deptid=self.staff_department_id,
                    subject="whmcs-bridge: destructive actions on hold",
                    message=message,
                    priority="High",
                    notify=False,
                    name="whmcs-bridge",
                    email=self.staff_email,
                )
            except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError) as exc:
                log.error("could not open the staff ticket about the breaker: %s", exc)


def reset_breaker(db: Database, by: str, now: datetime) -> bool:
    with db.atomic() as conn:
        cursor = conn.execute("DELETE FROM switches WHERE name = 'breaker'")
        if cursor.rowcount:
            audit.append(db, "executor.breaker_reset", actor=by, at=iso(now))
    return bool(cursor.rowcount)
