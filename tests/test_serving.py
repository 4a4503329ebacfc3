"""Stopping a server frees everything it held: a daemon restarted in-process, the demo, and a test run that
starts hundreds of receivers must not pile up worker threads and sockets until the process runs out."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from whmcs_bridge.intake.receiver import serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.sandbox.server import RunningSandbox


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_a_stopped_server_leaves_no_thread_and_no_connection_behind():
    before = set(threading.enumerate())
    server = serve(hello, "127.0.0.1", 0, threads=4)
    url = f"http://127.0.0.1:{server.effective_port}/"
    loop = run_in_thread(server, name="serving-test")
    with requests.Session() as kept_alive:  # a connection still open when the server stops
        assert kept_alive.get(url, timeout=5).text == "ok"
        stop(server)
        loop.join(timeout=10)
        assert not loop.is_alive()
        left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
        assert left == []
        with pytest.raises(requests.ConnectionError):
            kept_alive.get(url, timeout=5)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(server.effective_port))) != 0


def test_a_closed_sandbox_leaves_no_thread_behind():
    before = set(threading.enumerate())
    with RunningSandbox("id", "secret") as running:
        assert requests.get(running.url + "_sandbox/clock", timeout=5).ok
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=10)
        assert not thread.is_alive(), thread.name
