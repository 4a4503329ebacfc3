"""The webhook receiver (WSGI): verify, store in the inbox durably, and only then answer 2xx.

POST /hooks/whmcs   202 stored | 200 duplicate | 400 bad body (not UTF-8 JSON, too deep, or a type the PHP
                    hook does not send; or a malformed request or unsupported transfer coding, which the
                    server refuses before the app) | 401 signature, timestamp or headers | 405
                    | 413 too large | 415 not JSON | 431 headers too large | 503 the store is unavailable
GET  /healthz       200 "ok" or 503 "degraded" with the reasons (health.py), and backlog figures
GET  /metrics       Prometheus text

Nothing a client sends can produce a 500: every verification failure is a SignatureError (401) and
every body problem is answered before the store is touched.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from whmcs_bridge.errors import SignatureError
from whmcs_bridge.intake import signing
from whmcs_bridge.intake.facts import fact_of
from whmcs_bridge.intake.hook_types import HOOK_TYPES
from whmcs_bridge.messages.catalogue import Catalogue
from whmcs_bridge.metrics import Registry
from whmcs_bridge.model import key_in_email
from whmcs_bridge.pasted import masked
from whmcs_bridge.store import inbox, outbox, switches
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.writer import InboxWriter
from whmcs_bridge.web.consent import ConsentPages
from whmcs_bridge.web.selfservice import owned
from whmcs_bridge.whmcs.api import account_items, account_user_emails, client_exists, client_status

if TYPE_CHECKING:
    from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.receiver")

StartResponse = Callable[..., Any]
HOOK_PATH = "/hooks/whmcs"
CONSENT_TOKEN = re.compile(r"/consent/[A-Za-z0-9_-]{16,}")
MAX_TYPE_LENGTH = 100
REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    415: "Unsupported Media Type",
    503: "Service Unavailable",
}


NUMBER = "the body has a number no WHMCS id or amount can be"
MAX_DEPTH = 32  # WHMCS hook variables nest a few levels (custom fields, olddata); nothing needs more


def check_nesting(value: Any) -> None:
    """Refuse bodies nested deeper than MAX_DEPTH, numbers past 64 bits (or NaN, Infinity), and strings that are not text (an escaped lone
    surrogate such as \\ud800 parses, but cannot be stored or re-encoded)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Rejected(400, "json", f"the body is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            stack.extend((part, depth + 1) for part in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise Rejected(400, "json", "the body has a string that is not text (a lone surrogate)") from None
        elif isinstance(item, int) and not -(2**63) <= item < 2**63 or isinstance(item, float) and not isfinite(item):
            raise Rejected(400, "json", NUMBER)


def _checked_int(text: str) -> int:
    """json's parse_int: past 64 bits is no id or amount (refused before int() reads 5,000 digits)."""
    value = int(text) if len(text) <= 20 else 2**63
    if not -(2**63) <= value < 2**63:
        raise Rejected(400, "json", NUMBER)
    return value


def _checked_float(text: str) -> float:
    value = float(text)
    if not isfinite(value):  # 1e999
        raise Rejected(400, "json", NUMBER)
    return value


def _no_constant(name: str) -> Any:
    raise Rejected(400, "json", NUMBER)  # NaN, Infinity, -Infinity


# Built once: json.loads with hooks would build a decoder per request.
DECODER = json.JSONDecoder(parse_int=_checked_int, parse_float=_checked_float, parse_constant=_no_constant)


def may_nest_or_escape(body: bytes) -> bool:
    """Whether check_nesting has anything to find once the numbers were checked while parsing: fewer
    brackets than MAX_DEPTH cannot nest too deep, and a lone surrogate can only come from an escape (the
    strict UTF-8 decoding refuses an encoded one). A typical hook body has three brackets and no escape,
    and skips the walk."""
    return body.count(b"{") + body.count(b"[") >= MAX_DEPTH or b"\\u" in body


class Rejected(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def is_instant(value: Any) -> bool:
    """An ISO-8601 date and time, as the PHP hook stamps `occurred_at` (`2026-11-22T10:15:00Z`)."""
    if not isinstance(value, str) or not value.isascii() or "T" not in value.upper():
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def words_are_text(data: dict[str, Any]) -> None:
    """WHMCS renders an email's or a ticket's subject and message as text, and the PHP hook sends them so: any other
    shape is the sender's fault. Refused (a 400: the hook logs it and never resends it) rather than stored, since
    neither the scrubbing of secrets (store/inbox.py, pasted.py) nor the rules read words out of a list or an object:
    kept whole, whatever it carried would stay at rest."""
    for key in inbox.EMAIL_WORDS:
        said = data.get(key)
        if said is not None and not isinstance(said, str):
            raise Rejected(400, "shape", f"`{key}` in `data` must be a string, as WHMCS renders it")


def backlog(db: Database) -> dict[str, Any]:
    events = inbox.counts(db)
    return {
        "inbox": {status: events.get(status, 0) for status in ("pending", "parked", "done")},
        "outbox": outbox.counts(db),
        "oldest_pending_event": inbox.oldest_pending_received_at(db),
        "breaker": switches.get(db, switches.BREAKER),
    }


class Receiver:
    def __init__(
        self,
        db_path: str | Path,
        secrets: Sequence[str],
        *,
        max_body_bytes: int = 256 * 1024,
        tolerance_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        metrics: Registry | None = None,
        on_stored: Callable[[], None] | None = None,
        health: Callable[[Database], dict[str, Any]] | None = None,
        catalogue: Catalogue | None = None,
        zone: tzinfo = UTC,
        may_renew: Callable[[str], bool] | None = None,
        whmcs_url: str | None = None,
        whmcs: WhmcsApi | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("the receiver needs at least one webhook secret")
        for secret in secrets:
            signing.secret_key(secret)  # fail at start, not on the first request
        self.db_path = Path(db_path)
        Database(self.db_path).close()  # create and migrate once, before serving
        self.writer = InboxWriter(self.db_path)
        self._local = threading.local()
        self.secrets = list(secrets)
        self.max_body_bytes = max_body_bytes
        self.tolerance_s = tolerance_s
        self.clock = clock
        self.metrics = metrics or Registry()
        self.on_stored = on_stored
        self.health = health  # the daemon's view (health.assess): "ok", or "degraded" with reasons
        self.received = self.metrics.counter(
            "whmcs_bridge_events_received_total", "Webhook events stored, by hook type.", "type"
        )
        self.duplicates = self.metrics.counter(
            "whmcs_bridge_events_duplicate_total", "Webhook events already stored (same webhook-id)."
        )
        self.rejected = self.metrics.counter(
            "whmcs_bridge_events_rejected_total", "Webhook requests refused, by reason.", "reason"
        )
        self.metrics.gauge_sources.append(self._gauges)

        self._read_lock = threading.Lock()
        # The consent pages speak the configuration's catalogue (its own templates too), times in its zone.
        self.consent = ConsentPages(
            lambda: self.db,
            clock=lambda: datetime.fromtimestamp(self.clock(), UTC),
            on_decision=on_stored,
            catalogue=catalogue,
            zone=zone,
            may_renew=may_renew,
            whmcs_url=whmcs_url,
            # The self-service pages read WHMCS when shown, one read at a time (pages are served from threads).
            read_service=self._one_at_a_time(whmcs.service) if whmcs is not None else None,
            read_domain=self._one_at_a_time(lambda i: next(whmcs.domains(domain_id=i), None)) if whmcs else None,
            read_owned=self._one_at_a_time(lambda c: owned(whmcs, c)) if whmcs is not None else None,
            read_client_status=self._one_at_a_time(lambda c: client_status(whmcs, c)) if whmcs else None,
            read_client_exists=self._one_at_a_time(lambda c: client_exists(whmcs, c)) if whmcs else None,
            read_account=self._one_at_a_time(lambda c: account_items(whmcs, c)) if whmcs else None,
            read_users=self._one_at_a_time(lambda c: account_user_emails(whmcs, c)) if whmcs else None,
            read_owner=self._one_at_a_time(lambda c: whmcs.client_details(c).owner_user_id) if whmcs else None,
        )

    def _one_at_a_time(self, read: Callable[[int], Any]) -> Callable[[int], Any]:
        def locked(item_id: int) -> Any:
            with self._read_lock:  # one WHMCS client, shared by every page's reads
                return read(item_id)

        return locked

    def close(self) -> None:
        """Stop the inbox writer (after the server stopped taking requests)."""
        self.writer.close()

    @property
    def db(self) -> Database:
        """One connection per server thread: SQLite connections are not shared across threads here."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = Database(self.db_path, migrate=False)
        return db

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path.startswith("/consent/"):
            return self.page(environ, start_response)
        try:
            if path == HOOK_PATH:
                if method != "POST":
                    raise Rejected(405, "method", "use POST")
                status, body = self.accept(environ)
                return self._reply(start_response, status, body)
            if path == "/healthz" and method in ("GET", "HEAD"):
                report = self.health(self.db) if self.health else {"status": "ok", **backlog(self.db)}
                return self._reply(start_response, 200 if report["status"] == "ok" else 503, report)
            if path == "/metrics" and method in ("GET", "HEAD"):
                text = self.metrics.render().encode()
                start_response(
                    "200 OK", [("Content-Type", "text/plain; version=0.0.4"), ("Content-Length", str(len(text)))]
                )
                return [text]
            raise Rejected(404, "path", f"nothing at {path[:80]}")
        except Rejected as rejected:
            self.rejected.inc(rejected.reason)
            log.info("webhook rejected (%s): %s", rejected.reason, rejected.message)
            return self._reply(start_response, rejected.status, {"error": rejected.reason, "message": rejected.message})
        except sqlite3.Error as exc:
            # Our storage failed, not the client: 503 tells the PHP hook to spool and resend later.
            self.rejected.inc("store")
            log.error("cannot store webhook event: %s", exc)
            return self._reply(
                start_response,
                503,
                {"error": "store", "message": "the event could not be stored; retry later"},
                retry_after=5,
            )

    def page(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """A consent or self-service page. Whatever fails in it is logged here with the link's token masked (waitress
        would log the traceback under the request's path, token and all: twenty-first break round M1), and answered
        500 in the JSON error shape, the token named nowhere."""
        try:
            return self.consent(environ, start_response)
        except Exception:  # noqa: BLE001  (a bug in a page: logged, never with its token)
            token = environ.get("PATH_INFO", "")[len("/consent/") :]
            text = CONSENT_TOKEN.sub("/consent/[redacted]", traceback.format_exc())
            log.error("a consent page failed:\n%s", text.replace(token, "[redacted]") if token else text)
            return self._reply(start_response, 500, {"error": "page", "message": "the page failed; try again later"})

    @staticmethod
    def _reply(
        start_response: StartResponse, status: int, body: dict[str, Any], retry_after: int | None = None
    ) -> list[bytes]:
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        if retry_after:
            headers.append(("Retry-After", str(retry_after)))
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [data]

    # --- one webhook ---------------------------------------------------------------------------

    def read_body(self, environ: dict[str, Any]) -> bytes:
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared:
            if not declared.isdigit():
                raise Rejected(400, "length", "Content-Length is not a number")
            if int(declared) > self.max_body_bytes:
                raise Rejected(413, "too_large", f"the body is larger than {self.max_body_bytes} bytes")
        stream = environ.get("wsgi.input")
        body = stream.read(self.max_body_bytes + 1) if stream is not None else b""
        if len(body) > self.max_body_bytes:
            raise Rejected(413, "too_large", f"the body is larger than {self.max_body_bytes} bytes")
        return body

    def accept(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        body = self.read_body(environ)
        if content_type != "application/json":
            raise Rejected(415, "content_type", "Content-Type must be application/json")
        headers = {
            "webhook-id": environ.get("HTTP_WEBHOOK_ID", ""),
            "webhook-timestamp": environ.get("HTTP_WEBHOOK_TIMESTAMP", ""),
            "webhook-signature": environ.get("HTTP_WEBHOOK_SIGNATURE", ""),
        }
        try:
            event_id = signing.verify(self.secrets, headers, body, now=self.clock(), tolerance_s=self.tolerance_s)
        except SignatureError as exc:
            raise Rejected(401, "signature", str(exc)) from None
        event = self.parse(body)
        return self.store(event_id, event, body)

    @staticmethod
    def parse(body: bytes) -> dict[str, Any]:
        try:
            text = body.decode("utf-8")  # strict: no other encoding, no lone surrogate
        except UnicodeDecodeError:
            raise Rejected(400, "encoding", "the body is not UTF-8") from None
        if text.startswith("\ufeff"):
            raise Rejected(400, "encoding", "the body starts with a byte order mark: send plain UTF-8 JSON")
        try:
            event = DECODER.decode(text)
        except (ValueError, RecursionError):
            raise Rejected(400, "json", "the body is not valid JSON") from None
        if may_nest_or_escape(body):
            check_nesting(event)
        if not isinstance(event, dict):
            raise Rejected(400, "shape", "the body must be a JSON object")
        kind = event.get("type")
        if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_LENGTH or not kind.isidentifier():
            raise Rejected(400, "shape", "the body needs a `type`: the WHMCS hook point name")
        if kind not in HOOK_TYPES:
            raise Rejected(400, "type", f"{kind[:40]} is not a WHMCS hook point the bridge's PHP hook sends")
        if not isinstance(event.get("data"), dict):
            raise Rejected(400, "shape", "the body needs a `data` object")
        words_are_text(event["data"])
        occurred = event.get("occurred_at")
        if occurred is not None and not is_instant(occurred):
            raise Rejected(400, "shape", "`occurred_at` must be an ISO-8601 date and time (the hook stamps it so)")
        return event

    @staticmethod
    def redact(event: dict[str, Any], body: bytes) -> bytes:
        """Consent links are for their recipient only: never keep one found in a forwarded email or a
        ticket message (an outside requester's link travels in its ticket thread); nor a code or password pasted
        into a ticket. An email without a
        template name (a custom message) is never copied, so its body is never stored: only its hash."""
        if event["type"] in inbox.EMAIL_BODIES and not event["data"].get("messagename"):
            key = key_in_email(str(event["data"].get("message") or ""))
            scrubbed = inbox.without_message(event["data"])
            if scrubbed is not event["data"]:
                # Which of the bridge's actions sent it, if one did: a custom email that is not the bridge's own is
                # counted for staff where an owner's delegate missed it (delegation rules: custom_email).
                event["data"] = {**scrubbed, **({"message_key": key} if key else {})}
                body = json.dumps(event).encode()
        for key in ("message", "subject") if event["type"].startswith("Ticket") else ():
            # A code or password someone pasted into a ticket, its subject too, is never kept (pasted.py).
            said = event["data"].get(key)
            if isinstance(said, str) and masked(said) != said:
                event["data"][key] = masked(said)
                body = json.dumps(event).encode()
        if b"/consent/" not in body:
            return body
        for key in ("message", "subject"):
            if isinstance(event["data"].get(key), str):
                event["data"][key] = CONSENT_TOKEN.sub("/consent/[redacted]", event["data"][key])
        return json.dumps(event).encode()

    def store(self, event_id: str, event: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        body = self.redact(event, body)
        received_at = datetime.fromtimestamp(self.clock(), UTC)
        # A repeated webhook-id, or a fact the poller already reported, is stored once; concurrent
        # webhooks share one commit, and this answers only once this one is committed.
        stored = self.writer.add(
            event_id=event_id,
            type=event["type"],
            source="webhook",
            body=body.decode("utf-8"),  # the text as received (a consent link in it redacted)
            received_at=received_at,
            occurred_at=event.get("occurred_at"),
            fact=fact_of(event["type"], event["data"]),
        )
        if stored:
            self.received.inc(event["type"])
            if self.on_stored:
                self.on_stored()
            log.debug("event %s %s stored", event_id, event["type"])
            return 202, {"status": "stored", "id": event_id}
        self.duplicates.inc()
        return 200, {"status": "duplicate", "id": event_id}

    def _gauges(self) -> Iterable[tuple[str, str, dict[str, str], float]]:
        figures = backlog(self.db)
        for status, count in figures["inbox"].items():
            yield "whmcs_bridge_inbox_events", "Inbox events by status.", {"status": status}, float(count)
        for status, count in figures["outbox"].items():
            yield "whmcs_bridge_outbox_actions", "Outbox actions by status.", {"status": status}, float(count)
        yield (
            "whmcs_bridge_breaker_tripped",
            "1 while the circuit breaker holds destructive actions.",
            {},
            float(figures["breaker"] is not None),
        )


# What waitress answers itself, before the app sees a request, in the receiver's terms: an unsupported
# transfer coding (waitress's 501) is the client's mistake here, a 400 like any other bad request.
SERVER_REJECTIONS: dict[int, tuple[int, str]] = {
    400: (400, "http"),
    413: (413, "too_large"),
    431: (431, "headers"),
    501: (400, "transfer_encoding"),
}


def _error_channel(on_rejected: Callable[[str], None] | None) -> type[HTTPChannel]:
    """waitress's channel, with its own error answers in the JSON error shape, counted like the app's."""

    class JsonErrorTask(ErrorTask):
        def execute(self) -> None:
            error = self.request.error
            status, reason = SERVER_REJECTIONS.get(error.code, (error.code, "http"))
            if on_rejected is not None:
                on_rejected(reason)
            log.info("request refused by the server (%s): %s", reason, error.body)
            body = json.dumps({"error": reason, "message": f"{error.reason}: {error.body}"}).encode()
            self.status = f"{status} {REASONS.get(status, error.reason)}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JsonErrorChannel(HTTPChannel):
        error_task_class = JsonErrorTask

    return JsonErrorChannel


def serve(
    app: Callable[..., Iterable[bytes]],
    host: str,
    port: int,
    *,
    threads: int = 16,
    max_body_bytes: int = 256 * 1024,
    on_rejected: Callable[[str], None] | None = None,
    trust_forwarded: bool = False,
) -> Any:
    """A waitress server for the receiver; slow or oversize clients are cut off by waitress itself, in the
    receiver's JSON error shape (`on_rejected` counts them by reason)."""
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        # Bodies past our limit are answered by the app, in the JSON error shape and counted; waitress's
        # own 413 only stops what is far larger.
        max_request_body_size=4 * max_body_bytes + 1024,
        max_request_header_size=64 * 1024,
        channel_timeout=30,
        ident="whmcs-bridge",
        # With receiver.trusted_proxies, X-Forwarded-For reaches intake/proxies.py, which believes it only
        # from those addresses; otherwise waitress drops it.
        clear_untrusted_proxy_headers=not trust_forwarded,
    )
    server.channel_class = _error_channel(on_rejected)
    return server
