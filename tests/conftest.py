"""Shared fixtures: a real sandbox over HTTP, a client pointed at it, a state database under tmp_path."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

IDENTIFIER = "test-identifier-7f3a"
SECRET = "test-secret-b91c-never-logged"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class Sandbox:
    """A running sandbox plus helpers for its control API."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.url = running.url
        self.api_url = running.url + "includes/api.php"

    def load(self, name: str, *, at: str | None = None, **extra: Any) -> dict[str, Any]:
        requests.post(self.url + "_sandbox/clock", json={"reset": True, **({"set": at} if at else {})}, timeout=5)
        answer: dict[str, Any] = requests.post(
            self.url + "_sandbox/scenario", json={"name": name, **extra}, timeout=120
        ).json()
        requests.post(self.url + "_sandbox/role", json={"allowed": None}, timeout=5)
        requests.post(self.url + "_sandbox/faults", json={"count": 0}, timeout=5)
        return answer

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            return requests.get(self.url + "_sandbox/" + name, timeout=10).json()
        return requests.post(self.url + "_sandbox/" + name, json=body, timeout=10).json()

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control(f"calls?since={since}")["calls"]
        return result

    def rows(self, table: str, **where: int) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in where.items())
        result: list[dict[str, Any]] = self.control(f"query?table={table}&{query}")["rows"]
        return result

    def post(self, action: str, **params: Any) -> requests.Response:
        data = {"action": action, "identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json", **params}
        return requests.post(self.api_url, data=data, timeout=10)


@pytest.fixture(scope="session")
def running_sandbox() -> Iterator[RunningSandbox]:
    with RunningSandbox(IDENTIFIER, SECRET) as running:
        yield running


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> Sandbox:
    box = Sandbox(running_sandbox)
    box.load("empty")
    return box


def make_client(url: str, **kwargs: Any) -> WhmcsClient:
    kwargs.setdefault("sleep", lambda _: None)
    return WhmcsClient(url, IDENTIFIER, SECRET, **kwargs)


@pytest.fixture
def client(sandbox: Sandbox) -> WhmcsClient:
    return make_client(sandbox.api_url)


@pytest.fixture
def api(client: WhmcsClient) -> WhmcsApi:
    return WhmcsApi(client)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(tmp_path / "state.db") as database:
        yield database
