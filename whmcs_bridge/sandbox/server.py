"""The sandbox's HTTP face: WHMCS's includes/api.php, a small control API under /_sandbox/, and a hook sender.

Control endpoints (JSON in, JSON out; for tests and the demo, not part of WHMCS; CONTROL maps each to its handler):
  POST /_sandbox/scenario  {"name": "reseller-overdue", "clients": 1000}   load a scenario ("seed": N also
                           redraws the list orders the docs leave unstated, see sandbox/orders.py)
  GET  /_sandbox/orders     POST /_sandbox/orders {"seed": 3}   the seed and the orders drawn from it
  GET  /_sandbox/clock      POST /_sandbox/clock {"advance": "3d"} | {"set": "2026-11-22T10:00:00"} | {"reset": true}
  GET  /_sandbox/calls?since=N                      API calls received (auth fields removed)
  POST /_sandbox/faults    {"status": 500, "count": 3} | {"delay_s": 5, "count": 1}   fail the next calls
                           (+ "actions": [...], "skip": N, "body": "html", "message": "Ticket ID Not Found")
  GET  /_sandbox/faults     {"count": N}: the faults left (0: the last was taken by a call that arrived)
                           (optional "actions": [...] to fail only those, "skip": N to let N through first,
                           "body": "html" to answer a web server's page instead of WHMCS's JSON error, as
                           a proxy's 502, a 404 or a maintenance page with status 200 would)
  POST /_sandbox/role      {"allowed": ["GetClients", ...]} | {"allowed": null}  the API role
  POST /_sandbox/hooks     {"url": "http://127.0.0.1:8787/hooks/whmcs", "secret": "whsec_..."}
  GET  /_sandbox/hooks                              hook deliveries and their outcome
  POST /_sandbox/act       {"action": "AddInvoicePayment", ...}   staff acting in WHMCS (not logged as an API call)
  POST /_sandbox/template  {"name": "Bienvenue", "type": "product", "subject": "...", "message": "..."}  an email
                           template staff made or renamed in the admin area (SendEmail's messagename finds it)
  GET  /_sandbox/query?table=services&id=3          read a row, for assertions
  POST /_sandbox/move      {"service": 3, "client": 12} | {"domain": 4, "client": 12}  staff's admin-area move
  POST /_sandbox/delete    {"ticket": 3} | {"order": 5} | {"email": 9}   staff delete a record in the admin area
  POST /_sandbox/checkout  {"client_id": 12, "user_id": 3, "pid": 3, "domain": "x.fr"}  a client-area order by that user
  POST /_sandbox/access    {"user": 2, "client": 10} | {"user": 1, "client": 10, "remove": true}  staff give a user access
                           to an account (an invited, non-owner user), or remove it, in the admin area (no API does this);
                           {"user": 2, "client": 10, "owner": true}: "Make Owner" (the owner until now stays invited)
  POST /_sandbox/line      {"invoice": 2, "type": "PromoHosting", "relid": 110, "description": "...", "amount": "-3.00",
                           "taxed": false}  a line WHMCS's billing writes (a promotion's), which no API adds
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import requests
from waitress.server import create_server

from whmcs_bridge.config.reader import Duration
from whmcs_bridge.intake import signing
from whmcs_bridge.intake.serving import stop
from whmcs_bridge.sandbox import checkout, scenarios
from whmcs_bridge.sandbox.actions import BY_LOWER, ApiFail, Hook, Params, billing
from whmcs_bridge.sandbox.orders import Orders
from whmcs_bridge.sandbox.state import SandboxState

log = logging.getLogger("whmcs_bridge.sandbox")

StartResponse = Callable[..., Any]
Reply = tuple[int, Any]  # a control endpoint's HTTP status and JSON answer
MAX_BODY = 8 * 1024 * 1024
READ_TABLES = {
    "clients",
    "services",
    "invoices",
    "invoice_items",
    "transactions",
    "emails",
    "tickets",
    "ticket_notes",
    "ticket_replies",
    "client_notes",
    "module_commands",
    "activity",
    "domains",
    "registrar_renewals",
    "contacts",
    "orders",
}


@dataclass
class Faults:
    status: int = 0
    delay_s: float = 0.0
    count: int = 0
    actions: set[str] = field(default_factory=set)
    skip: int = 0  # let this many matching calls through first
    body: str = "json"  # or "html": a web server's page, not a WHMCS answer
    message: str = "Injected fault"  # a JSON fault's message (e.g. "Ticket ID Not Found")

    def take(self, action: str) -> tuple[int, float] | None:
        if self.count <= 0 or (self.actions and action not in self.actions):
            return None
        if self.skip > 0:
            self.skip -= 1
            return None
        self.count -= 1
        return self.status, self.delay_s


class HookSender:
    """Delivers hook events in order from one thread, signed as hooks/whmcs_bridge.php signs them."""

    def __init__(self, whmcs_url: str) -> None:
        self.whmcs_url = whmcs_url
        self.url: str | None = None
        self.secret: str | None = None
        self.deliveries: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-hooks", daemon=True)
        self._thread.start()
        self._session = requests.Session()

    def emit(self, hook: Hook, occurred_at: datetime) -> None:
        if not self.url or not self.secret:
            return
        body = {
            "type": hook.type,
            "occurred_at": occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": {"whmcs_url": self.whmcs_url, "hook_version": 2},
            "data": hook.data,
        }
        msg_id = "msg_" + uuid.uuid4().hex
        self._queue.put((msg_id, json.dumps(body, separators=(",", ":")).encode()))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            msg_id, body = item
            outcome = "failed"
            for attempt in range(3):
                url, secret = self.url, self.secret
                if not url or not secret:
                    break
                try:
                    headers = signing.headers(secret, msg_id, int(time.time()), body)
                    response = self._session.post(url, data=body, headers=headers, timeout=2.0)
                    outcome = f"HTTP {response.status_code}"
                    if response.status_code < 500:
                        break
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                time.sleep(0.2 * (attempt + 1))
            self.deliveries.append({"id": msg_id, "type": json.loads(body)["type"], "outcome": outcome})
            self._queue.task_done()

    def drain(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._queue.put(None)


class SandboxApp:
    """The WSGI application. One lock serialises every API call, as one WHMCS database would."""

    def __init__(self, identifier: str, secret: str, *, whmcs_url: str = "http://127.0.0.1/") -> None:
        self.identifier = identifier
        self.secret = secret
        self.state = SandboxState()
        self.faults = Faults()
        self.allowed: set[str] | None = None
        self.calls: list[dict[str, Any]] = []
        self.epoch = 0
        """Counts scenario loads: a call a fault held back across a load answers 503 and changes nothing in the new
        scenario (one test's slow call must not land in the next test's WHMCS)."""
        self.hooks = HookSender(whmcs_url)

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path.rstrip("/").endswith("/includes/api.php"):
                if method != "POST":
                    return self._json(start_response, 405, {"result": "error", "message": "POST required"})
                return self._api(environ, start_response)
            if path.startswith("/_sandbox/"):
                return self._control(path[len("/_sandbox/") :], method, environ, start_response)
            return self._json(start_response, 404, {"result": "error", "message": "Not Found"})
        except Exception:  # the sandbox must never hang a test on an unexpected error
            log.exception("sandbox error on %s", path)
            return self._json(start_response, 500, {"result": "error", "message": "Internal sandbox error"})

    @staticmethod
    def _page(start_response: StartResponse, status: int) -> list[bytes]:
        """What a web server, a proxy or a maintenance mode answers in WHMCS's place."""
        data = f"<html><body><h1>{status}</h1><p>Down for maintenance</p></body></html>".encode()
        start_response(f"{status} Fault", [("Content-Type", "text/html"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
        data = json.dumps(body).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            403: "Forbidden",
            404: "Not Found",
            405: "Method Not Allowed",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return environ["wsgi.input"].read(min(length, MAX_BODY)) if length > 0 else b""

    def _api(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        form = dict(parse_qsl(self._body(environ).decode("utf-8", "replace"), keep_blank_values=True))
        ident = form.pop("identifier", None) or form.pop("username", None)
        secret = form.pop("secret", None) or form.pop("password", None)
        form.pop("accesskey", None)
        action_raw = form.pop("action", "")
        form.pop("responsetype", None)
        found = BY_LOWER.get(action_raw.lower())
        name = found[0] if found else action_raw
        record = {"seq": len(self.calls) + 1, "action": name, "params": form, "at": time.time()}
        if ident != self.identifier or secret != self.secret:
            record["outcome"] = "403"
            self.calls.append(record)
            return self._json(start_response, 403, {"result": "error", "message": "Authentication Failed"})
        if self.allowed is not None and name not in self.allowed:
            record["outcome"] = "403"
            self.calls.append(record)
            message = f'Invalid Permissions: API action "{action_raw.lower()}" is not allowed'
            return self._json(start_response, 403, {"result": "error", "message": message})
        with self.state.lock:
            fault = self.faults.take(name)
            epoch = self.epoch
        if fault:
            status, delay = fault
            record["fault"] = {"status": status, "delay_s": delay}
            if delay:
                time.sleep(delay)
                if self.epoch != epoch:
                    record["outcome"] = "dropped: a scenario was loaded meanwhile"
                    return self._json(start_response, 503, {"result": "error", "message": "Sandbox reloaded"})
            if status:
                record["outcome"] = f"fault {status}"
                self.calls.append(record)
                if self.faults.body == "html":
                    return self._page(start_response, status)
                return self._json(start_response, status, {"result": "error", "message": self.faults.message})
        if not found:
            record["outcome"] = "error"
            self.calls.append(record)
            return self._json(start_response, 200, {"result": "error", "message": "Command Not Found"})
        answer, hooks = self.run(name, form)
        record["outcome"] = answer.get("result", answer.get("status"))
        self.calls.append(record)
        self._emit(hooks)
        return self._json(start_response, 200, answer)

    def run(self, action: str, form: dict[str, str]) -> tuple[dict[str, Any], list[Hook]]:
        """Run one action against the state, atomically; return its answer and the hooks it fired."""
        name, handler = BY_LOWER[action.lower()]
        params = Params(form)
        with self.state.lock:
            self.state.db.execute("BEGIN")
            try:
                answer = {"result": "success", **handler(self.state, params)}
                self.state.db.execute("COMMIT")
            except ApiFail as fail:
                self.state.db.execute("ROLLBACK")
                return {fail.key: "error", "message": fail.message}, []
            except BaseException:
                self.state.db.execute("ROLLBACK")
                raise
        return answer, params.hooks

    def _emit(self, hooks: Iterable[Hook]) -> None:
        for hook in hooks:
            self.hooks.emit(hook, datetime.now(UTC))

    # --- control -----------------------------------------------------------------------------

    def _control(self, name: str, method: str, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        body: dict[str, Any] = {}
        if method == "POST":
            try:
                body = json.loads(self._body(environ) or b"{}")
            except ValueError:
                return self._json(start_response, 400, {"error": "body must be JSON"})
        handler = CONTROL.get((method, name)) or CONTROL.get(("*", name))
        if handler is None:
            return self._json(start_response, 404, {"error": f"no control endpoint {method} /_sandbox/{name}"})
        status, answer = handler(self, body, query)
        return self._json(start_response, status, answer)

    # One handler per control endpoint (see the module's docstring): (app, JSON body, query) -> (status, answer).

    def load_scenario(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        with self.state.lock:
            if body.get("seed") is not None:
                self.state.orders = Orders.from_seed(int(body["seed"]))
            summary = scenarios.load(self.state, str(body.get("name", "empty")), clients=body.get("clients"))
            self.epoch += 1
        self.calls.clear()
        return 200, summary

    def list_orders(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        with self.state.lock:
            if body.get("seed") is not None:
                self.state.orders = Orders.from_seed(int(body["seed"]))
            return 200, self.state.orders.describe()

    def set_clock(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        with self.state.lock:
            if body.get("reset"):
                self.state.frozen_at, self.state.clock_offset = None, timedelta(0)
            if "advance" in body:
                self.state.clock_offset += Duration.parse(str(body["advance"]))
            if "set" in body:
                target = datetime.fromisoformat(str(body["set"])).replace(tzinfo=None)
                self.state.frozen_at = target
                self.state.clock_offset = timedelta(0)
            return 200, {"now": self.state.now().isoformat()}

    def list_calls(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        since = int(query.get("since", "0") or 0)
        return 200, {"calls": [c for c in self.calls if c["seq"] > since]}

    def get_faults(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        """How many injected faults are left: 0 once the last one was taken by a call that arrived (a delayed
        call is then under way)."""
        with self.state.lock:
            return 200, {"count": self.faults.count}

    def set_faults(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        with self.state.lock:
            self.faults = Faults(
                status=int(body.get("status", 0)),
                delay_s=float(body.get("delay_s", 0)),
                count=int(body.get("count", 1)),
                actions=set(body.get("actions") or []),
                skip=int(body.get("skip", 0)),
                body=str(body.get("body", "json")),
                message=str(body.get("message", "Injected fault")),
            )
        return 200, {"ok": True}

    def set_role(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        allowed = body.get("allowed")
        self.allowed = None if allowed is None else set(allowed)
        return 200, {"ok": True}

    def set_hooks(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        self.hooks.drain()
        self.hooks.url = body.get("url")
        self.hooks.secret = body.get("secret")
        self.hooks.deliveries = []  # a new target starts a new delivery log
        return 200, {"ok": True}

    def list_hooks(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        self.hooks.drain()
        return 200, {"deliveries": self.hooks.deliveries}

    def add_template(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        fields = [str(body.get(k) or "") for k in ("name", "type", "subject", "message")]
        if not all(fields):
            return 400, {"error": "name, type, subject and message are required"}
        with self.state.lock:
            self.state.db.execute("INSERT OR REPLACE INTO email_templates VALUES (?, ?, ?, ?)", fields)
        return 200, {"name": fields[0]}

    def staff_act(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        action = str(body.pop("action", ""))
        if action.lower() not in BY_LOWER:
            return 400, {"error": f"unknown action {action}"}
        if action.lower() == "addinvoicepayment":
            body.setdefault("date", self.state.stamp())  # the admin area's payment form fills in today
        answer, hooks = self.run(action, {k: str(v) for k, v in body.items()})
        self._emit(hooks)
        return 200, answer

    def checkout(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        with self.state.lock:
            self.state.db.execute("BEGIN")
            try:
                if body.get("addon_for") and not body.get("domain"):  # an order of an addon only, for this service
                    hooks = checkout.addon_checkout(
                        self.state,
                        int(body["client_id"]),
                        int(body["user_id"]),
                        int(body["addon_for"]),
                        str(body.get("amount", "4.00")),
                    )
                else:
                    hooks = checkout.checkout(
                        self.state,
                        int(body["client_id"]),
                        int(body["user_id"]),
                        int(body.get("pid", 3)),
                        str(body["domain"]),
                        str(body["addon"]) if body.get("addon") else None,
                    )
                self.state.db.execute("COMMIT")
            except BaseException:
                self.state.db.execute("ROLLBACK")
                raise
        self._emit(hooks)
        return 200, hooks[0].data

    def move(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        """Staff's "Move Product/Service" (or a domain's move) in the admin area: no API does this."""
        table = "services" if "service" in body else "domains"
        item = int(body.get("service") or body.get("domain") or 0)
        with self.state.lock:
            if not self.state.one(f"SELECT id FROM {table} WHERE id = ?", [item]):
                return 404, {"error": f"no {table[:-1]} {item}"}
            if not self.state.one("SELECT id FROM clients WHERE id = ?", [int(body["client"])]):
                return 404, {"error": f"no client {body['client']}"}
            self.state.update(table, item, client_id=int(body["client"]))
            self.state.log(f"Moved {table[:-1]} ID: {item} to client ID: {body['client']}", int(body["client"]))
        return 200, {"ok": True}

    def access(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        """Staff's "Manage Users" in the admin area: a user given access to an account, as an invited user, or made
        its owner ("Make Owner"), or its access removed. An owner's access is not removed (WHMCS asks for a new owner first)."""
        user, client = int(body.get("user") or 0), int(body.get("client") or 0)
        with self.state.lock:
            if not self.state.one("SELECT id FROM users WHERE id = ?", [user]):
                return 404, {"error": f"no user {user}"}
            if not self.state.one("SELECT id FROM clients WHERE id = ?", [client]):
                return 404, {"error": f"no client {client}"}
            link = self.state.one(
                "SELECT is_owner FROM user_clients WHERE user_id = ? AND client_id = ?", [user, client]
            )
            if link and link["is_owner"]:
                return 400, {"error": f"user {user} is the owner of client {client}"}
            if body.get("owner"):  # "Make Owner": the owner until now stays on the account as an invited user
                self.state.db.execute("UPDATE user_clients SET is_owner = 0 WHERE client_id = ?", (client,))
                if link:
                    self.state.db.execute(
                        "UPDATE user_clients SET is_owner = 1 WHERE user_id = ? AND client_id = ?", (user, client)
                    )
                else:
                    self.state.insert("user_clients", user_id=user, client_id=client, is_owner=1)
                self.state.update("clients", client, owner_user_id=user)
            elif body.get("remove"):
                self.state.db.execute("DELETE FROM user_clients WHERE user_id = ? AND client_id = ?", (user, client))
            elif not link:
                self.state.insert("user_clients", user_id=user, client_id=client, is_owner=0)
        return 200, {"ok": True}

    def delete(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        """Staff delete a ticket (with its replies and notes), an order, a service (the product's page > Delete), an
        email-log entry, or an activity-log line (as System Cleanup's pruning of the activity log does)."""
        tables = {
            "service": ("services",),
            "ticket": ("tickets", "ticket_replies", "ticket_notes"),
            "order": ("orders",),
            "email": ("emails",),
            "activity": ("activity",),
        }
        kind = next((k for k in tables if k in body), None)
        if kind is None:
            return 400, {"error": f"name one of {sorted(tables)}"}
        item = int(body[kind])
        table, *children = tables[kind]
        with self.state.lock:
            if not self.state.one(f"SELECT id FROM {table} WHERE id = ?", [item]):
                return 404, {"error": f"no {kind} {item}"}
            self.state.db.execute(f"DELETE FROM {table} WHERE id = ?", (item,))
            for child in children:
                self.state.db.execute(f"DELETE FROM {child} WHERE ticket_id = ?", (item,))
        return 200, {"ok": True}

    def add_line(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        """A typed line on an invoice, as WHMCS's own billing writes it (billing.add_typed_line)."""
        missing = [k for k in ("invoice", "type", "description", "amount") if body.get(k) in (None, "")]
        if missing:
            return 400, {"error": f"{', '.join(missing)} required"}
        with self.state.lock:
            if not self.state.one("SELECT id FROM invoices WHERE id = ?", [int(body["invoice"])]):
                return 404, {"error": f"no invoice {body['invoice']}"}
            return 200, {"id": billing.add_typed_line(self.state, int(body["invoice"]), body)}

    def read_rows(self, body: dict[str, Any], query: dict[str, str]) -> Reply:
        table = query.get("table", "")
        if table not in READ_TABLES:
            return 400, {"error": f"table must be one of {sorted(READ_TABLES)}"}
        where, args = [], []
        for key in ("id", "client_id", "service_id", "ticket_id", "invoice_id"):
            if key in query:
                where.append(f"{key} = ?")
                args.append(int(query[key]))
        sql = f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id LIMIT 1000"
        with self.state.lock:
            rows = [dict(r) for r in self.state.all(sql, args)]
        return 200, {"rows": rows}


ControlHandler = Callable[[SandboxApp, dict[str, Any], dict[str, str]], Reply]

# (method, endpoint) -> handler; "*" answers any method the endpoint has no entry of its own for.
CONTROL: dict[tuple[str, str], ControlHandler] = {
    ("POST", "scenario"): SandboxApp.load_scenario,
    ("*", "clock"): SandboxApp.set_clock,
    ("*", "calls"): SandboxApp.list_calls,
    ("GET", "faults"): SandboxApp.get_faults,
    ("POST", "faults"): SandboxApp.set_faults,
    ("POST", "role"): SandboxApp.set_role,
    ("POST", "hooks"): SandboxApp.set_hooks,
    ("*", "hooks"): SandboxApp.list_hooks,
    ("POST", "act"): SandboxApp.staff_act,
    ("POST", "template"): SandboxApp.add_template,
    ("POST", "checkout"): SandboxApp.checkout,
    ("POST", "line"): SandboxApp.add_line,
    ("POST", "move"): SandboxApp.move,
    ("POST", "access"): SandboxApp.access,
    ("POST", "delete"): SandboxApp.delete,
    ("*", "query"): SandboxApp.read_rows,
    ("*", "orders"): SandboxApp.list_orders,
}


def serve(app: SandboxApp, host: str, port: int, *, ready: Callable[[int], None] | None = None) -> Any:
    """Create a waitress server for the app (port 0 picks a free port); `ready` gets the real port."""
    server = create_server(app, host=host, port=port, threads=8, ident="WHMCS", clear_untrusted_proxy_headers=True)
    real_port = server.effective_port
    if ready:
        ready(int(real_port))
    return server


class RunningSandbox:
    """A sandbox served from a background thread: for the demo and the tests."""

    def __init__(
        self,
        identifier: str,
        secret: str,
        *,
        scenario: str = "empty",
        clients: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = SandboxApp(identifier, secret)
        if scenario != "empty":
            scenarios.load(self.app.state, scenario, clients=clients)
        self.server = serve(self.app, host, port)
        self.port = int(self.server.effective_port)
        self.url = f"http://{host}:{self.port}/"
        self.app.hooks.whmcs_url = self.url
        self._thread = threading.Thread(target=self.server.run, name="sandbox", daemon=True)
        self._thread.start()

    def close(self) -> None:
        stop(self.server)
        self.app.hooks.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
