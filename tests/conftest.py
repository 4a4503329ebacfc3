"""Shared fixtures: a real sandbox over HTTP, a client pointed at it, a state database under tmp_path."""

from __future__ import annotations

import base64
import os
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from whmcs_bridge import clock
from whmcs_bridge import staff as shared_staff
from whmcs_bridge.cli import app as cli
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.sandbox.orders import SEED_ENV
from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

IDENTIFIER = "test-identifier-7f3a"
SECRET = "test-secret-b91c-never-logged"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "whmcs-examples"
"""WHMCS's documented example responses, one file per API action (see the README there)."""


def sql(db: Database, text: str, *args: Any) -> list[sqlite3.Row]:
    """The one way a test reaches under the store's functions: to tamper with rows (an expired link, an
    edited audit row) or to fake what a crash leaves behind. Everything else goes through whmcs_bridge.store."""
    with db.atomic() as conn:
        return conn.execute(text, args).fetchall()


def needs(*tools: str, install: str) -> pytest.MarkDecorator:
    """Skip, saying why, where a system tool is missing; under CI (WHMCS_BRIDGE_REQUIRE_TOOLS=1, set
    by .ci/run after installing them) never skip: a missing tool then fails the tests."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    strict = os.environ.get("WHMCS_BRIDGE_REQUIRE_TOOLS") == "1"
    return pytest.mark.skipif(
        bool(missing) and not strict, reason=f"{', '.join(missing)} not installed ({install}); CI installs it"
    )


REAL_WALL = clock.wall


class Sandbox:
    """A running sandbox plus helpers for its control API."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.url = running.url
        self.api_url = running.url + "includes/api.php"

    def load(self, name: str, *, at: str | None = None, **extra: Any) -> dict[str, Any]:
        requests.post(self.url + "_sandbox/clock", json={"reset": True}, timeout=5)
        if at:
            self.travel(at)
        else:
            clock.wall = REAL_WALL
        answer: dict[str, Any] = requests.post(
            self.url + "_sandbox/scenario", json={"name": name, **extra}, timeout=120
        ).json()
        requests.post(self.url + "_sandbox/role", json={"allowed": None}, timeout=5)
        requests.post(self.url + "_sandbox/faults", json={"count": 0}, timeout=5)
        return answer

    def travel(self, when: str) -> None:
        """WHMCS's clock (the sandbox's) and the bridge's in this process (clock.wall) both set to `when`
        (ISO-8601, UTC; a trailing Z allowed), as on one machine: a staff command typed between two passes
        at simulated days happens on the day played, whatever today's date. The bridge's clock goes on
        from there (code that waits for time to pass still sees it pass); the fixture puts it back."""
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        self.control("clock", {"set": moment.replace(tzinfo=None).isoformat()})
        started = time.monotonic()
        clock.wall = lambda: moment + timedelta(seconds=time.monotonic() - started)

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


# The sandbox draws the list orders WHMCS's docs leave unstated from this seed (sandbox/orders.py): one
# per test run, printed in the header; WHMCS_SANDBOX_SEED=<n> repeats a run's orders.
os.environ.setdefault(SEED_ENV, str(random.SystemRandom().randrange(1_000_000)))


def pytest_report_header() -> str:
    return f"sandbox list-order seed: {os.environ[SEED_ENV]} (repeat with {SEED_ENV}={os.environ[SEED_ENV]})"


SESSION_THREADS: set[threading.Thread] = set()
"""The session's sandbox serves every test: its threads are not a module's leftovers."""


@pytest.fixture(scope="session")
def running_sandbox() -> Iterator[RunningSandbox]:
    before = set(threading.enumerate())
    with RunningSandbox(IDENTIFIER, SECRET) as running:
        SESSION_THREADS.update(set(threading.enumerate()) - before)
        yield running


@pytest.fixture(autouse=True, scope="module")
def _no_thread_left() -> Iterator[None]:
    """A module's tests leave no thread running (a server not stopped, an inbox writer not closed): the
    full run starts hundreds of receivers, and leaked ones once exhausted the process's threads and files."""
    before = set(threading.enumerate())
    yield
    left = set(threading.enumerate()) - before - SESSION_THREADS
    for thread in left:
        thread.join(timeout=5)
    names = sorted(thread.name for thread in left if thread.is_alive())
    assert not names, f"threads left running by this module: {', '.join(names)}"


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> Iterator[Sandbox]:
    box = Sandbox(running_sandbox)
    box.load("empty")
    yield box
    clock.wall = REAL_WALL  # a test that travelled leaves the next one on the machine's clock


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


# Tests play several people in one process: the login of the person at the keyboard comes from SUDO_USER
# here. The bridge itself never trusts that variable (staff.caller: the kernel's login uid, or a real sudo
# ancestor; tested in test_staff_login.py with REAL_CALLER).
REAL_CALLER = shared_staff.caller
shared_staff.caller = lambda: os.environ.get("SUDO_USER") or None


def staff_login(args: tuple[str, ...] | list[str]) -> dict[str, str | None] | None:
    """Each member of staff runs commands as their own login (SUDO_USER, which the bridge records beside the
    name), as two people would: `--by bob` runs as bob-login unless the test set SUDO_USER itself."""
    if "--by" not in args or "SUDO_USER" in os.environ:
        return None
    return {"SUDO_USER": f"{args[list(args).index('--by') + 1].casefold()}-login"}


OPEN_WORLDS: list[BridgeWorld] = []
"""Worlds made and not closed yet: the fixture below closes what a test left open."""


@pytest.fixture(autouse=True)
def _close_worlds() -> Iterator[None]:
    yield
    for world in list(OPEN_WORLDS):
        world.close()


class BridgeWorld:
    """A bridge configured against the sandbox, its receiver (webhooks and consent pages) running in
    a thread, the sandbox's hooks pointed at it, and the CLI to drive it."""

    def __init__(self, sandbox: Sandbox, tmp: Path, sections: str) -> None:
        self.sandbox = sandbox
        self.config = tmp / "bridge.yaml"
        self.config.write_text(
            f"whmcs:\n  url: {sandbox.url}\n  identifier: ${{WHMCS_API_IDENTIFIER}}\n  secret: ${{WHMCS_API_SECRET}}\n  max_attempts: 2\n"
            "receiver:\n  secret: ${WHMCS_BRIDGE_WEBHOOK_SECRET}\n  public_url: PUBLIC_URL\nstate:\n  path: state.db\n"
            "safety:\n  staff_department_id: 1\n  staff_email: robot@example.com\n" + sections
        )
        (tmp / ".env").write_text(
            f"WHMCS_API_IDENTIFIER={IDENTIFIER}\nWHMCS_API_SECRET={SECRET}\nWHMCS_BRIDGE_WEBHOOK_SECRET={WEBHOOK_SECRET}\n"
        )
        (tmp / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
        self.receiver = Receiver(tmp / "state.db", [WEBHOOK_SECRET])
        self.server = serve(self.receiver, "127.0.0.1", 0)
        OPEN_WORLDS.append(self)
        self.public = f"http://127.0.0.1:{self.server.effective_port}"
        self.config.write_text(self.config.read_text().replace("PUBLIC_URL", self.public))
        run_in_thread(self.server)
        sandbox.control(
            "hooks", {"url": f"http://127.0.0.1:{self.server.effective_port}/hooks/whmcs", "secret": WEBHOOK_SECRET}
        )
        self.runner = CliRunner()

    def run(self, *args: str) -> Any:
        result = self.runner.invoke(
            cli.main, ["--config", str(self.config), *args], catch_exceptions=False, env=staff_login(args)
        )
        assert result.exit_code == 0, result.output
        return result

    def settle(self, passes: int = 3) -> None:
        """Let hook deliveries land, then run the bridge's passes."""
        self.sandbox.control("hooks")  # waits for the sandbox's pending deliveries
        for _ in range(passes):
            self.run("tick")

    def emails(self, client: int) -> list[dict[str, Any]]:
        return self.sandbox.rows("emails", client_id=client)

    def close(self) -> None:
        if self in OPEN_WORLDS:
            OPEN_WORLDS.remove(self)
            self.sandbox.control("hooks", {"url": None, "secret": None})
            stop(self.server)
            self.receiver.close()


class SelfServiceWorld(BridgeWorld):
    """Delegation on, its receiver told where WHMCS is and how to read it (the self-service pages' pay link
    and live due dates), as the daemon tells it."""

    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        super().__init__(sandbox, tmp, "delegation:\n  enabled: true\n")
        old = self.public
        stop(self.server)
        self.receiver.close()
        self.receiver = Receiver(
            tmp / "state.db", [WEBHOOK_SECRET], whmcs_url=sandbox.url, whmcs=WhmcsApi(make_client(sandbox.api_url))
        )
        self.server = serve(self.receiver, "127.0.0.1", 0)
        self.public = f"http://127.0.0.1:{self.server.effective_port}"
        self.config.write_text(self.config.read_text().replace(old, self.public))
        run_in_thread(self.server)
        sandbox.control("hooks", {"url": f"{self.public}/hooks/whmcs", "secret": WEBHOOK_SECRET})


@pytest.fixture
def worlds() -> Iterator[list[BridgeWorld]]:
    """Bridges a test makes (tests/test_delegation_identity_e2e.py: world_with), each closed after it."""
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()
