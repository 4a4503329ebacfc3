"""The webhook receiver over real HTTP: reference-library signatures accepted, every bad input a clean 4xx, events durable."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from tests.conftest import WEBHOOK_SECRET, sql
from whmcs_bridge.intake import signing
from whmcs_bridge.intake.facts import fact_of
from whmcs_bridge.intake.hook_types import HOOK_TYPES
from whmcs_bridge.intake.receiver import Receiver, Rejected, check_nesting, serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database

OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-secret-32-bytes-lon").decode()
EVENT = {
    "type": "InvoicePaid",
    "occurred_at": "2026-11-22T10:15:00Z",
    "source": {"whmcs_url": "https://billing.example.com/", "hook_version": 1},
    "data": {"invoiceid": 1234},
}


class Server:
    def __init__(self, tmp: Path, **kwargs: Any) -> None:
        self.db_path = tmp / "state.db"
        self.app = Receiver(self.db_path, [WEBHOOK_SECRET, OLD_SECRET], **kwargs)
        self.server = serve(
            self.app,
            "127.0.0.1",
            0,
            max_body_bytes=kwargs.get("max_body_bytes", 256 * 1024),
            on_rejected=self.app.rejected.inc,
        )
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = run_in_thread(self.server)

    def close(self) -> None:
        stop(self.server)
        self.app.close()

    def send(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.url + "/hooks/whmcs", data=body, headers=headers, timeout=10)

    def rows(self) -> list[inbox.InboxEntry]:
        with Database(self.db_path, migrate=False) as db:
            return inbox.entries(db)

    def fact_reported_by(self, fact: str) -> str | None:
        """The id of the event stored for this one-time fact."""
        with Database(self.db_path, migrate=False) as db:
            entry = inbox.by_fact(db, fact)
        return entry.event_id if entry else None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.close()


def reference_signed(
    body: bytes, msg_id: str = "msg_2a7Yd", secret: str = WEBHOOK_SECRET, at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def test_reference_library_signature_is_accepted_and_stored(server: Server):
    body = json.dumps(EVENT).encode()
    response = server.send(body, reference_signed(body))
    assert response.status_code == 202
    assert response.json() == {"status": "stored", "id": "msg_2a7Yd"}
    rows = server.rows()
    assert len(rows) == 1 and rows[0].type == "InvoicePaid" and rows[0].source == "webhook"
    assert json.loads(rows[0].body) == EVENT


def test_our_signer_matches_the_reference(server: Server):
    body = json.dumps(EVENT).encode()
    now = int(time.time())
    assert signing.sign(WEBHOOK_SECRET, "msg_x", now, body) == Webhook(WEBHOOK_SECRET).sign(
        "msg_x", datetime.fromtimestamp(now, UTC), body.decode()
    )


def test_duplicate_webhook_id_is_stored_once(server: Server):
    body = json.dumps(EVENT).encode()
    assert server.send(body, reference_signed(body)).status_code == 202
    again = server.send(body, reference_signed(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(server.rows()) == 1


def test_rotated_secret_and_several_signatures(server: Server):
    body = json.dumps(EVENT).encode()
    headers = reference_signed(body, "msg_rot", secret=OLD_SECRET)
    assert server.send(body, headers).status_code == 202
    other = json.dumps({**EVENT, "data": {"invoiceid": 4321}}).encode()
    headers = reference_signed(other, "msg_multi")
    headers["webhook-signature"] = "v1,AAAA v2,whatever " + headers["webhook-signature"]
    assert server.send(other, headers).status_code == 202


def test_the_same_fact_under_another_webhook_id_is_stored_once(server: Server):
    body = json.dumps(EVENT).encode()
    assert server.send(body, reference_signed(body, "msg_a")).status_code == 202
    again = server.send(body, reference_signed(body, "msg_b"))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [r.event_id for r in server.rows()] == ["msg_a"] and server.fact_reported_by("invoice:1234:paid") == "msg_a"


def tampered(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = {**headers}
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


BODY = json.dumps(EVENT).encode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (lambda: (BODY.replace(b"1234", b"9999"), reference_signed(BODY)), 401, "signature"),
        (lambda: (BODY, reference_signed(BODY, secret=OTHER_SECRET)), 401, "signature"),
        (lambda: (BODY, reference_signed(BODY, at=datetime.fromtimestamp(time.time() - 600, UTC))), 401, "signature"),
        (lambda: (BODY, reference_signed(BODY, at=datetime.fromtimestamp(time.time() + 600, UTC))), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_id=None)), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_timestamp=None)), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_signature=None)), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_signature="v1")), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_signature="garbage-without-comma")), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_signature="v1,!!!not base64!!!")), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), webhook_timestamp="yesterday")), 401, "signature"),
        (lambda: (BODY, tampered(reference_signed(BODY), content_type="text/plain")), 415, "content_type"),
        (lambda: (BODY, tampered(reference_signed(BODY), content_type=None)), 415, "content_type"),
        (lambda: (b"not json", reference_signed(b"not json")), 400, "json"),
        (lambda: (b"[1, 2]", reference_signed(b"[1, 2]")), 400, "shape"),
        (lambda: (b'{"type": "InvoicePaid"}', reference_signed(b'{"type": "InvoicePaid"}')), 400, "shape"),
        (lambda: (b'{"type": "x y", "data": {}}', reference_signed(b'{"type": "x y", "data": {}}')), 400, "shape"),
        (lambda: (b"\xff\xfe{}", reference_signed(b"{}")), 401, "signature"),
    ],
)
def test_bad_requests_get_the_right_4xx(server: Server, make: Any, status: int, reason: str):
    body, headers = make()
    response = server.send(body, headers)
    assert response.status_code == status, response.text
    assert response.json()["error"] == reason and response.json()["message"]
    assert server.rows() == []


def test_oversize_body_is_413(tmp_path: Path):
    running = Server(tmp_path, max_body_bytes=1024)
    try:
        event = {**EVENT, "data": {"message": "x" * 3000}}
        body = json.dumps(event).encode()
        response = running.send(body, reference_signed(body))
        assert response.status_code == 413 and response.json()["error"] == "too_large"
        chunked = requests.post(  # no Content-Length: waitress reads it, the app answers
            running.url + "/hooks/whmcs", data=iter([body[:2000], body[2000:]]), headers=reference_signed(body), timeout=10
        )
        assert chunked.status_code == 413 and chunked.json()["error"] == "too_large"
        assert running.rows() == []
    finally:
        running.close()


def test_healthz_and_metrics(server: Server):
    body = json.dumps(EVENT).encode()
    server.send(body, reference_signed(body))
    server.send(body, tampered(reference_signed(body), webhook_signature="v1,AAAA"))
    health = requests.get(server.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["inbox"]["pending"] == 1
    metrics = requests.get(server.url + "/metrics", timeout=5).text
    assert 'whmcs_bridge_events_received_total{type="InvoicePaid"} 1' in metrics
    assert 'whmcs_bridge_events_rejected_total{reason="signature"} 1' in metrics
    assert 'whmcs_bridge_inbox_events{status="pending"} 1' in metrics


def test_wrong_method_and_path(server: Server):
    assert requests.get(server.url + "/hooks/whmcs", timeout=5).status_code == 405
    assert requests.post(server.url + "/elsewhere", data=b"{}", timeout=5).status_code == 404


def test_store_failure_is_503_not_500(server: Server):
    with Database(server.db_path, migrate=False) as db:
        sql(db, "DROP TABLE inbox")
    body = json.dumps(EVENT).encode()
    response = server.send(body, reference_signed(body))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"


def raw_request(url: str, data: bytes) -> int:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = sock.recv(200)
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.") else 0


def raw_answer(url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the answer to bytes sent as they are (what requests would not send)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # the server closes on what it did not read
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize(
    "request_bytes, status, reason",
    [
        (b"POST /hooks/whmcs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, "transfer_encoding"),
        (b"POST /hooks/whmcs HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400, "http"),
        (b"POST /hooks/whmcs HTTP/1.1\r\nHost: x\r\nwebhook-id: " + b"a" * 100_000 + b"\r\n\r\n", 431, "headers"),
    ],
)
def test_what_the_server_refuses_before_the_app_gets_the_json_shape_and_is_counted(
    server: Server, request_bytes: bytes, status: int, reason: str
):
    """waitress answers some requests itself (an unsupported transfer coding was a plain-text 501): they
    get the receiver's JSON error shape, a 4xx, and the rejection counter."""
    code, body = raw_answer(server.url, request_bytes)
    assert (code, body["error"]) == (status, reason) and body["message"]
    metrics = requests.get(server.url + "/metrics", timeout=5).text
    assert f'whmcs_bridge_events_rejected_total{{reason="{reason}"}} 1' in metrics


def test_huge_headers_and_slow_junk_are_refused_cleanly(server: Server):
    headers = b"POST /hooks/whmcs HTTP/1.1\r\nHost: x\r\nwebhook-id: " + b"a" * 100_000 + b"\r\n\r\n"
    assert 400 <= raw_request(server.url, headers) < 500
    garbage = b"POST /hooks/whmcs HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"
    assert 400 <= raw_request(server.url, garbage) < 500


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(
                st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=5
            ),
        ),
    ),
    webhook_id=st.one_of(st.none(), header_text),
    timestamp=st.one_of(st.none(), header_text, st.integers(-(10**12), 10**13).map(str)),
    signature=st.one_of(
        st.none(),
        header_text,
        st.lists(header_text, max_size=4).map(" ".join),
        st.binary(max_size=40).map(lambda b: "v1," + base64.b64encode(b).decode()),
    ),
    content_type=st.sampled_from(
        [None, "application/json", "application/json; charset=utf-8", "text/plain", "", "APPLICATION/JSON"]
    ),
)
def test_fuzz_never_5xx(
    fuzz_app: Receiver,
    body: bytes,
    webhook_id: str | None,
    timestamp: str | None,
    signature: str | None,
    content_type: str | None,
):
    app = fuzz_app
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks/whmcs",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": __import__("io").BytesIO(body),
    }
    for key, value in (
        ("HTTP_WEBHOOK_ID", webhook_id),
        ("HTTP_WEBHOOK_TIMESTAMP", timestamp),
        ("HTTP_WEBHOOK_SIGNATURE", signature),
        ("CONTENT_TYPE", content_type),
    ):
        if value is not None:
            environ[key] = value
    statuses: list[str] = []
    app(environ, lambda status, headers: statuses.append(status))
    assert statuses and 400 <= int(statuses[0].split()[0]) < 500


def test_fuzz_signed_bodies_never_5xx(tmp_path: Path, receivers: Callable[[Path], Receiver]):
    """Correctly signed but arbitrary bodies: stored or refused with 400, never a 5xx."""
    app = receivers(tmp_path / "f.db")

    rng = random.Random(7)
    samples = [
        b"",
        b"{}",
        b"null",
        b'{"type": 1, "data": {}}',
        b'{"type": "A", "data": []}',
        b'{"type": "A", "data": {}, "occurred_at": 5}',
        b'{"type": "' + b"A" * 200 + b'", "data": {}}',
    ]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(60))) for _ in range(100)]
    for i, body in enumerate(samples):
        statuses: list[str] = []
        app(signed_environ(body, msg_id=f"msg_{i}"), lambda status, hdrs, seen=statuses: seen.append(status))
        assert int(statuses[0].split()[0]) in (202, 400), (body, statuses)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """One receiver for every example hypothesis draws (a function-scoped fixture would be shared anyway)."""
    app = Receiver(tmp_path_factory.mktemp("fuzz") / "state.db", [WEBHOOK_SECRET])
    yield app
    app.close()


@pytest.fixture
def receivers() -> Iterator[Callable[[Path], Receiver]]:
    """Receivers called as WSGI apps, without a server; closed (their inbox writer) after the test."""
    made: list[Receiver] = []

    def make(path: Path) -> Receiver:
        made.append(Receiver(path, [WEBHOOK_SECRET]))
        return made[-1]

    yield make
    for app in made:
        app.close()


def signed_environ(body: bytes, *, msg_id: str = "msg_hostile", timestamp: str | None = None) -> dict[str, Any]:
    headers = signing.headers(WEBHOOK_SECRET, msg_id, int(time.time()), body)
    if timestamp is not None:
        headers["webhook-timestamp"] = timestamp
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks/whmcs",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k.startswith("webhook")})
    return environ


def answer(app: Receiver, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return int(statuses[0].split()[0]), json.loads(body)


def event_bytes(kind: str = "InvoicePaid", data: Any = None) -> bytes:
    return json.dumps({"type": kind, "data": {"invoiceid": 7} if data is None else data}).encode()


HOSTILE = {
    "UTF-8 BOM": b"\xef\xbb\xbf" + event_bytes(),
    "UTF-16 without BOM": event_bytes().decode().encode("utf-16-le"),
    "UTF-16 with BOM": event_bytes().decode().encode("utf-16"),
    "UTF-32": event_bytes().decode().encode("utf-32"),
    "UTF-8-encoded surrogate": event_bytes().replace(b"7}", b'"\xed\xa0\x80"}'),
    "escaped lone surrogate": event_bytes(data={"message": "\ud800"}),
    "nesting 2,000 deep": b'{"type": "InvoicePaid", "data": {"x": ' + b"[" * 2000 + b"]" * 2000 + b"}}",
    "nesting 100 deep": b'{"type": "InvoicePaid", "data": {"x": ' + b"[" * 100 + b"]" * 100 + b"}}",
    "an id of 5,000 digits": b'{"type": "InvoicePaid", "data": {"invoiceid": ' + b"9" * 5000 + b"}}",
    "an id past 64 bits": b'{"type": "TicketOpen", "data": {"ticketid": ' + b"9" * 4000 + b"}}",
    "NaN": b'{"type": "InvoicePaid", "data": {"total": NaN}}',
    "-Infinity": b'{"type": "InvoicePaid", "data": {"total": -Infinity}}',
    "a float past a double": b'{"type": "InvoicePaid", "data": {"total": 1e999}}',
    "an id just past 64 bits": b'{"type": "InvoicePaid", "data": {"invoiceid": 9223372036854775808}}',
    "a staff command": event_bytes("DelegationCommand", {"command": "grant", "grant": "g1", "by": "alice"}),
    "an ownership command": event_bytes("OwnershipCommand", {"command": "approve", "case": "o1", "by": "x"}),
    "an escalation command": event_bytes("EscalationCommand", {"command": "hold", "client_id": 1}),
    "a type no hook sends": event_bytes("Tick", {"family": "escalation", "key": "1"}),
}


def test_the_walk_is_skipped_only_where_it_has_nothing_to_find():
    """parse() skips check_nesting for bodies with few brackets and no escape; at every depth around the
    limit, and with an escaped surrogate, its verdict is the full walk's."""
    for depth in range(25, 40):
        body = b'{"type": "InvoicePaid", "data": {"x": ' + b"[" * depth + b"1" + b"]" * depth + b"}}"
        try:
            check_nesting(json.loads(body))
            walked = True
        except Rejected:
            walked = False
        try:
            Receiver.parse(body)
            parsed = True
        except Rejected:
            parsed = False
        assert parsed == walked, depth
    with pytest.raises(Rejected):
        Receiver.parse(event_bytes(data={"message": "ok \ud800"}))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_signed_bodies_get_400_and_nothing_is_stored(
    tmp_path: Path, receivers: Callable[[Path], Receiver], name: str
):
    """Signed by the real secret, yet refused: only UTF-8 JSON, bounded, of a type the PHP hook sends."""
    app = receivers(tmp_path / "state.db")
    status, reply = answer(app, signed_environ(HOSTILE[name]))
    assert status == 400 and set(reply) == {"error", "message"}, (status, reply)
    with Database(tmp_path / "state.db") as db:
        assert inbox.entries(db) == []


def test_an_id_of_superscript_digits_is_no_fact(tmp_path: Path, receivers: Callable[[Path], Receiver]):
    """`"²³".isdigit()` is true but int() refuses it: such an id names no fact (it once made a 500)."""
    app = receivers(tmp_path / "state.db")
    status, _ = answer(app, signed_environ(event_bytes(data={"invoiceid": "\u00b2\u00b3"})))
    assert status == 202
    assert fact_of("InvoicePaid", {"invoiceid": "\u00b2\u00b3"}) is None
    assert fact_of("InvoicePaid", {"invoiceid": " 12 "}) == "invoice:12:paid"


@pytest.mark.parametrize("stamp", ["\u00b2", "\u0661\u0662", "１２３", "12 ", "-1", "1e9"])
def test_a_timestamp_that_is_not_ascii_digits_is_401_without_any_secret(
    tmp_path: Path, receivers: Callable[[Path], Receiver], stamp: str
):
    app = receivers(tmp_path / "state.db")
    status, reply = answer(app, signed_environ(event_bytes(), timestamp=stamp))
    assert status == 401 and reply["error"] == "signature"


def test_every_type_the_php_hook_sends_is_accepted(tmp_path: Path, receivers: Callable[[Path], Receiver]):
    """The receiver's allow-list is the PHP hook's: the two files agree."""
    php = (Path(__file__).resolve().parents[1] / "hooks" / "whmcs_bridge.php").read_text()
    allowed = php[php.index("function whmcs_bridge_allowed()") :]
    allowed = allowed[: allowed.index("\n    }\n")]  # functions sit inside `if (!function_exists(...))`
    sent = set(re.findall(r"^ {12}'(\w+)' =>", allowed, re.M))  # the array's own keys, not nested ones
    assert sent == set(HOOK_TYPES)
    app = receivers(tmp_path / "state.db")
    for n, kind in enumerate(sorted(sent)):
        status, _ = answer(app, signed_environ(event_bytes(kind, {}), msg_id=f"msg_{n}"))
        assert status == 202, kind


def test_concurrent_webhooks_share_commits_and_each_is_on_disk_when_acknowledged(server: Server):
    """Group commit: a burst from many senders is stored whole, each sender answered only once its own
    event is committed (another connection sees it the moment the 2xx arrives)."""
    seen_late: list[str] = []

    def sender(n: int) -> None:
        with requests.Session() as session, Database(server.db_path, migrate=False) as reader:
            for k in range(10):
                event_id = f"msg_burst_{n}_{k}"
                body = json.dumps({**EVENT, "data": {"invoiceid": n * 100 + k}}).encode()
                answer = session.post(
                    server.url + "/hooks/whmcs", data=body, headers=reference_signed(body, event_id), timeout=30
                )
                assert answer.status_code == 202
                if inbox.by_event_id(reader, event_id) is None:
                    seen_late.append(event_id)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert seen_late == []
    assert len(server.rows()) == 160


@pytest.mark.parametrize("occurred_at", ["yesterday", "2026-13-40T10:00:00Z", "", "1e9"])
def test_an_occurred_at_that_is_no_instant_is_a_400(tmp_path: Path, receivers: Callable[[Path], Receiver], occurred_at):
    """Eighteenth round LOW: `occurred_at: "yesterday"` was stored as given; the rules compare it with a grant's
    start (copies.sent_before) and the hook always stamps ISO-8601."""
    app = receivers(tmp_path / "o.db")
    body = json.dumps({"type": "InvoicePaid", "occurred_at": occurred_at, "data": {"invoiceid": 1}}).encode()
    statuses: list[str] = []
    answer = b"".join(app(signed_environ(body, msg_id="msg_occurred"), lambda status, hdrs: statuses.append(status)))
    assert statuses[0].startswith("400") and b"occurred_at" in answer, (statuses, answer)
