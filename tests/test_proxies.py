"""receiver.trusted_proxies: behind the documented reverse proxy, the client's address comes from
X-Forwarded-For, and only when a trusted proxy sent it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import requests

from tests.test_cli import run, write_config
from whmcs_bridge.intake.proxies import ForwardedFor, client_address, networks
from whmcs_bridge.intake.receiver import serve
from whmcs_bridge.intake.serving import run_in_thread, stop

TRUSTED = networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # two trusted hops
        ("127.0.0.1", "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # the left part may be forged
        ("192.0.2.50", "203.0.113.7", "192.0.2.50"),  # not a trusted proxy: its header is ignored
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("127.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1"),  # only proxies: the furthest one
        ("::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_address(peer: str, header: str, expected: str):
    assert client_address(peer, header, TRUSTED) == expected


def echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = f"{environ.get('REMOTE_ADDR')}|{environ.get('HTTP_X_FORWARDED_FOR', '')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [(["127.0.0.1"], "203.0.113.7|203.0.113.7"), (["192.0.2.1"], "127.0.0.1|")],
)
def test_over_http(trusted: list[str], expected: str):
    server = serve(ForwardedFor(echo, trusted), "127.0.0.1", 0, trust_forwarded=True)
    run_in_thread(server)
    try:
        answer = requests.get(
            f"http://127.0.0.1:{server.effective_port}/", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5
        )
        assert answer.text == expected
    finally:
        stop(server)


def test_without_trusted_proxies_the_header_never_reaches_the_app():
    server = serve(echo, "127.0.0.1", 0)
    run_in_thread(server)
    try:
        answer = requests.get(
            f"http://127.0.0.1:{server.effective_port}/", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5
        )
        assert answer.text == "127.0.0.1|"
    finally:
        stop(server)


def test_a_bad_entry_is_a_config_error(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("receiver:\n", "receiver:\n  trusted_proxies: [127.0.0.1, proxy]\n"))
    code, _, err = run("--config", str(config), "check")
    assert code == 2 and "receiver.trusted_proxies[1]: expected an IP address or network" in err


def test_every_bad_entry_is_reported(tmp_path):
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace("receiver:\n", "receiver:\n  trusted_proxies: [proxy, 127.0.0.1, 10.0.0.0/33, lb]\n")
    )
    code, _, err = run("--config", str(config), "check")
    assert code == 2 and "3 mistakes" in err
    for index, item in ((0, "'proxy'"), (2, "'10.0.0.0/33'"), (3, "'lb'")):
        assert f"receiver.trusted_proxies[{index}]: expected an IP address or network such as 127.0.0.1, ::1 or 10.0.0.0/8, found {item}" in err
