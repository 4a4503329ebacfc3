"""The sandbox's control API (/_sandbox/...): which method reaches which endpoint, and its answers.

Called through the WSGI application directly (no server), so every route and refusal is quick to pin.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from whmcs_bridge.sandbox.server import SandboxApp


@pytest.fixture()
def app() -> Iterator[SandboxApp]:
    application = SandboxApp("id", "secret")
    yield application
    application.hooks.close()


def call(app: SandboxApp, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
    name, _, query = path.partition("?")
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    environ = {
        "PATH_INFO": "/_sandbox/" + name,
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    seen: list[str] = []
    chunks = app(environ, lambda status, headers: seen.append(status))
    return int(seen[0].split()[0]), json.loads(b"".join(chunks))


@pytest.mark.parametrize(
    "method, name",
    [
        ("GET", "scenario"),
        ("GET", "role"),
        ("GET", "act"),
        ("GET", "checkout"),
        ("GET", "move"),
        ("GET", "access"),
        ("POST", "nothing"),
        ("GET", "nothing"),
    ],
)
def test_unknown_endpoint_or_method(app: SandboxApp, method: str, name: str):
    assert call(app, method, name) == (404, {"error": f"no control endpoint {method} /_sandbox/{name}"})


def test_a_post_body_must_be_json(app: SandboxApp):
    assert call(app, "POST", "clock", raw=b"not json") == (400, {"error": "body must be JSON"})
    assert call(app, "POST", "nothing", raw=b"{") == (400, {"error": "body must be JSON"})


def test_clock(app: SandboxApp):
    status, answer = call(app, "POST", "clock", {"set": "2026-11-22T10:00:00"})
    assert (status, answer) == (200, {"now": "2026-11-22T10:00:00"})
    assert call(app, "POST", "clock", {"advance": "1d"})[1]["now"].startswith("2026-11-23T10:00:00")
    assert call(app, "GET", "clock")[1]["now"].startswith("2026-11-23T10:00:00")
    assert call(app, "POST", "clock", {"reset": True})[1]["now"] != "2026-11-23T10:00:00"


def test_scenario_clears_the_calls(app: SandboxApp):
    assert call(app, "POST", "scenario", {"name": "empty"})[0] == 200
    app.calls.append({"seq": 1, "action": "GetClients"})
    app.calls.append({"seq": 2, "action": "GetInvoices"})
    assert call(app, "GET", "calls?since=1") == (200, {"calls": [{"seq": 2, "action": "GetInvoices"}]})
    assert call(app, "POST", "calls")[1]["calls"] == app.calls  # any method reads the calls
    assert call(app, "POST", "scenario", {"name": "empty"})[0] == 200
    assert call(app, "GET", "calls") == (200, {"calls": []})


def test_faults_and_role(app: SandboxApp):
    assert call(app, "POST", "faults", {"status": 503, "count": 2, "actions": ["GetClients"], "skip": 1}) == (
        200,
        {"ok": True},
    )
    assert (app.faults.status, app.faults.count, app.faults.actions, app.faults.skip) == (503, 2, {"GetClients"}, 1)
    assert call(app, "GET", "faults") == (200, {"count": 2})
    assert call(app, "POST", "faults", {}) == (200, {"ok": True})
    assert (app.faults.status, app.faults.delay_s, app.faults.count) == (0, 0.0, 1)
    assert call(app, "POST", "role", {"allowed": ["GetClients"]}) == (200, {"ok": True})
    assert app.allowed == {"GetClients"}
    assert call(app, "POST", "role", {"allowed": None}) == (200, {"ok": True})
    assert app.allowed is None


def test_a_call_held_back_across_a_scenario_load_changes_nothing_in_the_new_one(app: SandboxApp):
    """One test's slow call (a delay fault) must not land in the next test's WHMCS: the sandbox answers it 503."""
    call(app, "POST", "scenario", {"name": "agency"})
    client = call(app, "GET", "query?table=clients")[1]["rows"][0]
    call(app, "POST", "faults", {"delay_s": 0.5, "count": 1, "actions": ["AddClientNote"]})
    form = f"action=AddClientNote&identifier=id&secret=secret&responsetype=json&userid={client['id']}&notes=late"
    environ: dict[str, Any] = {"PATH_INFO": "/includes/api.php", "REQUEST_METHOD": "POST", "QUERY_STRING": ""}
    environ |= {"CONTENT_LENGTH": str(len(form)), "wsgi.input": io.BytesIO(form.encode())}
    seen: list[str] = []
    held = threading.Thread(target=lambda: b"".join(app(environ, lambda status, headers: seen.append(status))))
    held.start()
    while not app.faults.count == 0:  # the call took its fault and is being held back
        time.sleep(0.01)
    call(app, "POST", "scenario", {"name": "agency"})
    held.join()
    assert seen[0].startswith("503"), seen
    rows = call(app, "GET", f"query?table=client_notes&client_id={client['id']}")[1]["rows"]
    assert not [n for n in rows if n["note"] == "late"], rows


def test_hooks(app: SandboxApp):
    app.hooks.deliveries.append({"id": "msg_1"})
    assert call(app, "GET", "hooks") == (200, {"deliveries": [{"id": "msg_1"}]})
    assert call(app, "POST", "hooks", {"url": "http://127.0.0.1:9/x", "secret": "whsec_x"}) == (200, {"ok": True})
    assert (app.hooks.url, app.hooks.secret, app.hooks.deliveries) == ("http://127.0.0.1:9/x", "whsec_x", [])
    app.hooks.url = None  # nothing is delivered to the address above


def test_act_query_move_checkout(app: SandboxApp):
    call(app, "POST", "scenario", {"name": "agency"})
    assert call(app, "POST", "act", {"action": "NoSuchAction"}) == (400, {"error": "unknown action NoSuchAction"})
    client = call(app, "GET", "query?table=clients")[1]["rows"][0]
    status, answer = call(app, "POST", "act", {"action": "addclientnote", "userid": client["id"], "notes": "hello"})
    assert status == 200 and answer["result"] == "success"
    assert call(app, "GET", f"query?table=client_notes&client_id={client['id']}")[1]["rows"][-1]["note"] == "hello"
    assert not app.calls  # staff acting is not an API call
    status, answer = call(app, "GET", "query?table=nope")
    assert status == 400 and answer["error"].startswith("table must be one of ['activity'")
    service = call(app, "GET", "query?table=services")[1]["rows"][0]
    assert call(app, "GET", f"query?table=services&id={service['id']}&client_id={service['client_id']}") == (
        200,
        {"rows": [service]},
    )
    assert call(app, "POST", "move", {"service": 999, "client": 1}) == (404, {"error": "no service 999"})
    assert call(app, "POST", "move", {"domain": 999, "client": 1}) == (404, {"error": "no domain 999"})
    assert call(app, "POST", "move", {"service": service["id"], "client": 999}) == (404, {"error": "no client 999"})
    other = next(c["id"] for c in call(app, "GET", "query?table=clients")[1]["rows"] if c["id"] != service["client_id"])
    assert call(app, "POST", "move", {"service": service["id"], "client": other}) == (200, {"ok": True})
    assert call(app, "GET", f"query?table=services&id={service['id']}")[1]["rows"][0]["client_id"] == other
    status, answer = call(
        app, "POST", "checkout", {"client_id": client["id"], "user_id": client["owner_user_id"], "domain": "new.fr"}
    )
    assert status == 200 and answer["TotalDue"] == "21.90"
    assert call(app, "GET", f"query?table=orders&id={answer['OrderID']}")[1]["rows"][0]["client_id"] == client["id"]


def test_a_typed_line_staff_cannot_add_through_the_api(app: SandboxApp):
    """POST /_sandbox/line: a promotion's line as WHMCS's billing writes it (type, relid), the totals following."""
    call(app, "POST", "scenario", {"name": "agency"})
    invoice = call(app, "GET", "query?table=invoices&client_id=11")[1]["rows"][0]
    assert invoice["total"] == "14.95"
    assert call(app, "POST", "line", {"invoice": invoice["id"]}) == (
        400,
        {"error": "type, description, amount required"},
    )
    line = {"type": "PromoHosting", "relid": 110, "description": "Promotional Code: FIDELE", "amount": "-3.00"}
    assert call(app, "POST", "line", {"invoice": 999, **line}) == (404, {"error": "no invoice 999"})
    status, answer = call(app, "POST", "line", {"invoice": invoice["id"], **line})
    assert status == 200
    [row] = call(app, "GET", f"query?table=invoice_items&id={answer['id']}")[1]["rows"]
    assert (row["type"], row["relid"], row["amount"], row["taxed"]) == ("PromoHosting", 110, "-3.00", 0)
    [now] = call(app, "GET", f"query?table=invoices&id={invoice['id']}")[1]["rows"]
    assert (now["subtotal"], now["total"]) == ("11.95", "11.95")


def test_staff_give_a_user_access_to_an_account_and_remove_it(app: SandboxApp):
    """POST /_sandbox/access: the admin area's "Manage Users": an invited (non-owner) user added to an account or
    removed from it, as GetClientsDetails `users` and GetUsers `clients` then say; an owner is not removed."""
    call(app, "POST", "scenario", {"name": "agency"})

    def users_of(client: int) -> list[tuple[int, bool]]:
        details = app.run("GetClientsDetails", {"clientid": str(client)})[0]["client"]
        return [(int(u["id"]), bool(u["is_owner"])) for u in details["users"]["user"]]

    owner_10, owner_11 = users_of(10)[0][0], users_of(11)[0][0]
    assert call(app, "POST", "access", {"user": owner_11, "client": 10}) == (200, {"ok": True})
    assert users_of(10) == [(owner_10, True), (owner_11, False)]
    [marie] = [u for u in app.run("GetUsers", {})[0]["users"] if u["id"] == owner_11]
    assert {"id": 10, "isOwner": False} in marie["clients"] and {"id": 11, "isOwner": True} in marie["clients"]
    assert call(app, "POST", "access", {"user": owner_11, "client": 10, "remove": True}) == (200, {"ok": True})
    assert users_of(10) == [(owner_10, True)]
    assert call(app, "POST", "access", {"user": owner_10, "client": 10, "remove": True}) == (
        400,
        {"error": f"user {owner_10} is the owner of client 10"},
    )
    assert call(app, "POST", "access", {"user": 999, "client": 10}) == (404, {"error": "no user 999"})
    assert call(app, "POST", "access", {"user": owner_10, "client": 999}) == (404, {"error": "no client 999"})


def test_a_clients_currency_is_set_by_its_id(app: SandboxApp):
    """UpdateClient `currency` (DD:api-reference/updateclient.md): GetClientsDetails and GetInvoices follow it."""
    call(app, "POST", "scenario", {"name": "agency"})
    assert call(app, "POST", "act", {"action": "UpdateClient", "clientid": 10, "currency": 2})[1]["result"] == "success"
    client = app.run("GetClientsDetails", {"clientid": "10"})[0]["client"]
    assert (client["currency"], client["currency_code"]) == (2, "USD")
    invoices = app.run("GetInvoices", {"userid": "10"})[0]["invoices"]
    assert all(i["currencycode"] == "USD" for i in invoices["invoice"])
    refused = call(app, "POST", "act", {"action": "UpdateClient", "clientid": 10, "currency": 9})[1]
    assert refused == {"result": "error", "message": "Invalid Currency ID"}
