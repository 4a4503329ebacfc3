"""The WHMCS client over real HTTP against the sandbox: errors, retries and their schedule, pagination, secrets."""

from __future__ import annotations

import logging
import math
import socket
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import responses

from tests.conftest import IDENTIFIER, SECRET, Sandbox, make_client
from whmcs_bridge.errors import WhmcsApiError, WhmcsAuthError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import Backoff, encode_params


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_call_and_error_envelope(sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    client = make_client(sandbox.api_url)
    answer = client.call("GetClientsDetails", {"clientid": 1})
    assert answer["client"]["companyname"] == "SnelHost V.O.F."
    with pytest.raises(WhmcsApiError) as caught:
        client.call("GetClientsDetails", {"clientid": 999})
    assert caught.value.action == "GetClientsDetails"
    assert str(caught.value) == "WHMCS refused GetClientsDetails: Client Not Found"


def test_unknown_action_and_status_envelope(sandbox: Sandbox):
    client = make_client(sandbox.api_url)
    with pytest.raises(WhmcsApiError, match="Command Not Found"):
        client.call("GetToDoList")
    with pytest.raises(WhmcsApiError, match="Client ID Not Found"):
        client.call("GetEmails", {"clientid": 5})  # answers `status: error`, not `result`


def test_bad_credentials_are_403_and_not_retried(sandbox: Sandbox):
    sleeps = Sleeps()
    client = make_client(sandbox.api_url, sleep=sleeps)
    client._auth["secret"] = "wrong"
    before = len(sandbox.calls())
    with pytest.raises(WhmcsAuthError, match=r"WHMCS denied GetClients \(HTTP 403\): Authentication Failed"):
        client.call("GetClients")
    assert len(sandbox.calls()) == before + 1
    assert sleeps == []


def test_action_not_allowed_by_role(sandbox: Sandbox):
    sandbox.control("role", {"allowed": ["GetClients"]})
    client = make_client(sandbox.api_url)
    client.call("GetClients")
    with pytest.raises(WhmcsAuthError, match='Invalid Permissions: API action "getinvoices" is not allowed'):
        client.call("GetInvoices")


def test_retry_schedule_for_5xx_on_reads(sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    sandbox.control("faults", {"status": 500, "count": 3})
    sleeps = Sleeps()
    client = make_client(
        sandbox.api_url, sleep=sleeps, jitter=lambda: 0.5, backoff=Backoff(initial_s=1, cap_s=30, jitter_s=1)
    )
    answer = client.call("GetClients")
    assert answer["totalresults"] == 6
    assert sleeps == [1.5, 2.5, 4.5]  # 1, 2, 4 seconds plus half of the 1 s jitter


def test_retries_exhausted_fail_clearly(sandbox: Sandbox):
    sandbox.control("faults", {"status": 503, "count": 10})
    sleeps = Sleeps()
    client = make_client(
        sandbox.api_url,
        sleep=sleeps,
        jitter=lambda: 0.0,
        max_attempts=5,
        backoff=Backoff(initial_s=2, cap_s=10, jitter_s=1),
    )
    with pytest.raises(WhmcsUnavailableError) as caught:
        client.call("GetInvoices")
    assert sleeps == [2, 4, 8, 10]  # capped at 10
    assert caught.value.attempts == 5
    assert str(caught.value) == "WHMCS did not answer GetInvoices after 5 attempt(s): HTTP 503 from WHMCS: Injected fault"


def test_writes_are_not_repeated_after_a_5xx(sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    sandbox.control("faults", {"status": 500, "count": 1, "body": "html"})  # PHP failed, maybe half way
    sleeps = Sleeps()
    client = make_client(sandbox.api_url, sleep=sleeps)
    before = len(sandbox.calls())
    with pytest.raises(WhmcsUnavailableError) as caught:
        client.call("ModuleSuspend", {"serviceid": 101})
    assert caught.value.attempts == 1 and sleeps == []
    assert len(sandbox.calls()) == before + 1


def test_read_timeout_is_retried(sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    sandbox.control("faults", {"delay_s": 1.0, "count": 1, "actions": ["GetClients"]})
    sleeps = Sleeps()
    client = make_client(sandbox.api_url, sleep=sleeps, timeout_s=0.3, jitter=lambda: 0.0)
    assert client.call("GetClients")["totalresults"] == 6
    assert sleeps == [1.0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_even_for_writes_then_fails():
    sleeps = Sleeps()
    client = make_client(
        f"http://127.0.0.1:{free_port()}/includes/api.php", sleep=sleeps, max_attempts=3, jitter=lambda: 0.0
    )
    with pytest.raises(WhmcsUnavailableError, match="after 3 attempt"):
        client.call("ModuleSuspend", {"serviceid": 1})
    assert sleeps == [1.0, 2.0]


@responses.activate
def test_429_honours_retry_after_for_writes():
    url = "https://billing.example.com/includes/api.php"
    responses.post(url, status=429, headers={"Retry-After": "7"}, json={"result": "error", "message": "slow down"})
    responses.post(url, status=200, json={"result": "success"})
    sleeps = Sleeps()
    client = make_client(url, sleep=sleeps, jitter=lambda: 0.0)
    assert client.call("SendEmail", {"id": 1}) == {"result": "success"}
    assert sleeps == [7.0]


@responses.activate
@pytest.mark.parametrize("body", ["<html>Down for maintenance</html>", "", "[]"])
def test_an_answer_that_is_not_json_is_transient(body: str):
    """A maintenance page (or an empty answer) is WHMCS being unavailable, not a wrong request: it is
    retried, and an action waits rather than being parked."""
    url = "https://billing.example.com/includes/api.php"
    responses.post(url, status=200, body=body)
    with pytest.raises(WhmcsUnavailableError, match="not a WHMCS API answer"):
        make_client(url).call("GetClients")


@responses.activate
def test_a_json_answer_without_a_result_is_a_protocol_error():
    url = "https://billing.example.com/includes/api.php"
    responses.post(url, status=200, body='{"no": "result"}')
    with pytest.raises(WhmcsProtocolError, match="GetClients"):
        make_client(url).call("GetClients")


@responses.activate
def test_http_404_is_transient_and_names_the_url():
    url = "https://billing.example.com/includes/api.php"
    responses.post(url, status=404, body="Not here")
    with pytest.raises(WhmcsUnavailableError, match="check that whmcs.url is the WHMCS root"):
        make_client(url, max_attempts=3).call("SendEmail", {"id": 1})
    assert len(responses.calls) == 3  # a 404 never reached the API: even a write is retried


@responses.activate
def test_php_notices_before_the_answer_do_not_hide_it():
    """A live WHMCS with display_errors on prints warnings before the JSON: the answer is still read (it
    was a maintenance page for the client, and a write that ran looked as if it had not)."""
    url = "https://billing.example.com/includes/api.php"
    noise = "<br />\n<b>Warning</b>: Undefined array key \"x\" in /var/www/whmcs/modules/addon.php on line 7<br />\n"
    responses.post(url, status=200, body=noise + '{"result": "success", "noteid": 42}')
    assert make_client(url).call("AddClientNote", {"userid": 1, "notes": "x"}) == {"result": "success", "noteid": 42}


@responses.activate
@pytest.mark.parametrize(
    "status, body, ran",
    [
        (502, "<html><h1>502 Bad Gateway</h1></html>", False),  # the proxy could not reach PHP
        (503, "<html>Down for maintenance</html>", False),
        (404, "Not here", False),
        (200, "<html>Down for maintenance { body: 0 }</html>", False),
        (500, "<html>Internal Server Error</html>", None),  # a PHP fatal error, maybe half way
        (504, "<html>Gateway Time-out</html>", None),  # PHP may still be running
        (503, '{"result": "error", "message": "busy"}', False),  # WHMCS's own answer: it refused
        (500, '{"result": "success"}', None),
    ],
)
def test_a_page_instead_of_the_api_answer_says_whether_the_api_ran(status: int, body: str, ran: bool | None):
    """A write is repeated at once only when the answer shows the API did not run (a proxy's or web
    server's page); when it may have run, the outcome is unknown (reconciled later, never repeated here)."""
    url = "https://billing.example.com/includes/api.php"
    responses.post(url, status=status, body=body)
    with pytest.raises(WhmcsUnavailableError) as failed:
        make_client(url, max_attempts=3, sleep=Sleeps(), jitter=lambda: 0.0).call("AddClientNote", {"userid": 1})
    assert failed.value.sent is (ran is None)
    assert len(responses.calls) == (3 if ran is False else 1)


def test_requests_are_form_encoded_with_json_responsetype(sandbox: Sandbox):
    with responses.RequestsMock() as mock:
        mock.post("https://x.example/includes/api.php", json={"result": "success"})
        make_client("https://x.example/includes/api.php").call(
            "UpdateClient", {"clientid": 3, "email_preferences": {"general": True, "domain": False}}
        )
        sent = mock.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert isinstance(sent.body, str)
    fields = dict(parse_qsl(sent.body))
    assert fields["action"] == "UpdateClient" and fields["responsetype"] == "json"
    assert fields["email_preferences[general]"] == "1" and fields["email_preferences[domain]"] == "0"
    assert fields["identifier"] == IDENTIFIER


def test_encode_params_php_brackets():
    assert encode_params({"a": [1, 2], "b": {"c": None, "d": Decimal("1.50")}, "e": None}) == [
        ("a[0]", "1"),
        ("a[1]", "2"),
        ("b[d]", "1.50"),
    ]


def test_pagination_walks_every_page_lazily(sandbox: Sandbox):
    summary = sandbox.load("reseller-overdue")
    assert summary["reseller_client_id"] == 1
    client = make_client(sandbox.api_url, page_size=4)
    before = len(sandbox.calls())
    pages = client.pages("GetInvoices", "invoices", "invoice")
    first = next(pages)
    assert len(sandbox.calls()) == before + 1  # nothing fetched ahead
    rest = list(pages)
    invoices = first.items + [i for p in rest for i in p.items]
    assert len(invoices) == first.total == len({i["id"] for i in invoices})
    assert 1 + len(rest) == math.ceil(first.total / 4)


def test_activity_log_pagination_without_numreturned(sandbox: Sandbox):
    client = make_client(sandbox.api_url, page_size=2)
    for i in range(5):
        client.call("LogActivity", {"description": f"line {i}"})
    entries = list(WhmcsApi(client).activity())
    assert len(entries) == 5 and len({e.id for e in entries}) == 5


def test_secrets_never_in_logs_or_errors(sandbox: Sandbox, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    sandbox.control("faults", {"status": 500, "count": 2})
    client = make_client(sandbox.api_url, max_attempts=2)
    for attempt in (
        lambda: client.call("GetClients"),
        lambda: make_client(f"http://127.0.0.1:{free_port()}/includes/api.php", max_attempts=2).call("GetClients"),
        lambda: client.call("GetClientsDetails", {"clientid": 77}),
    ):
        with pytest.raises(Exception) as caught:
            attempt()
        errors.append(str(caught.value))
    bad = make_client(sandbox.api_url)
    bad._auth["identifier"] = IDENTIFIER + "x"
    with pytest.raises(WhmcsAuthError) as caught:
        bad.call("GetClients")
    errors.append(str(caught.value))
    text = caplog.text + "\n".join(errors)
    assert "retrying" in caplog.text  # the retries were logged
    assert SECRET not in text and IDENTIFIER not in text


def test_a_write_no_longer_wanted_is_not_sent_again(sandbox: Sandbox):
    """WHMCS answers 503 (the write was not taken) and, during the wait before the next attempt, the action
    stops being wanted (the issue-16 break test: a delegate's grant revoked while the copy of a welcome email
    was retrying): no further attempt is sent; the call fails as unavailable, for the executor to decide."""
    sandbox.load("reseller-overdue")
    sandbox.control("faults", {"status": 503, "count": 4, "body": "html", "actions": ["SendEmail"]})
    revoked: list[bool] = []
    client = make_client(sandbox.api_url, sleep=lambda _: revoked.append(True), jitter=lambda: 0.0)
    client.resend_check = lambda: "the grant was revoked" if revoked else None
    before = len(sandbox.calls())
    with pytest.raises(WhmcsUnavailableError) as caught:
        client.call("SendEmail", {"id": 101, "messagename": "Hosting Account Welcome Email"})
    assert "no longer wanted: not sent again" in str(caught.value)
    assert [c["action"] for c in sandbox.calls(before)] == ["SendEmail"]
    client.resend_check = None  # wanted again: the next attempts are sent
    sandbox.control("faults", {"status": 503, "count": 1, "body": "html", "actions": ["SendEmail"]})
    client.call("SendEmail", {"id": 101, "messagename": "Hosting Account Welcome Email"})
    assert [c["action"] for c in sandbox.calls(before)] == ["SendEmail"] * 3
