"""The real daemon against an unreliable WHMCS: outages of every kind for 15 s, and kill -9 with an
immediate restart while every WHMCS call takes 3 s. Counted in the sandbox: each action's effect
exactly once, nothing parked, and a suspension that landed after the kill counted as done (not
cancelled by its own guard), so the payment that follows lifts it."""

from __future__ import annotations

import contextlib
import random
import selectors
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_daemon import Running, configure, free_port, plan_actions, wait_until
from whmcs_bridge.model import Action, action_key, marker
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database

OUTAGE_S = 15.0  # as the issue measured it


class Proxy:
    """A TCP relay in front of the sandbox that can stop accepting connections (WHMCS's host refusing),
    and take them again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self.accept()

    def accept(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):  # close() alone would not wake the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def close(self) -> None:
        self._stop.set()
        self.refuse()

    def _serve(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: refusing
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            client.close()
            return
        pair = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector, client, upstream:
            for side in pair:
                selector.register(side, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    pair[key.fileobj].sendall(data)  # type: ignore[index]


def daemon_config(tmp: Path, whmcs_url: str, port: int) -> Path:
    """Calls time out after 2 s (an in-flight call is looked at again 4 s after it started); an action WHMCS
    could not take waits 1 s, doubling up to 4 s; a failed poll waits 2 s, doubling up to 4 s."""
    return configure(
        tmp,
        whmcs_url,
        port,
        extra="poll:\n  every: 2s\n  max_backoff: 4s\n",
        whmcs_extra="  retry_first: 1s\n  retry_max: 4s\n",
    )


def actions(tag: str) -> list[Action]:
    """One of each kind whose effect can be counted: emails, activity lines, client notes, a suspension."""

    def one(kind: str, purpose: str, params: dict[str, Any], **extra: Any) -> Action:
        return Action(
            key=action_key("test", "client:1", tag, purpose),
            family="test",
            kind=kind,
            params=params,
            client_id=1,
            subject="client:1",
            **extra,
        )

    return [
        *(
            one("email", f"mail{n}", {"related_id": 1, "type": "general", "subject": f"Notice {n}", "html": "<p>x</p>"})
            for n in range(2)
        ),
        *(one("activity", f"line{n}", {"text": f"line {tag} {n}"}) for n in range(2)),
        one("client_note", "note", {"text": f"note {tag}"}),
        one("suspend", "suspend", {"service_id": 101, "reason": "Overdue on Payment"}, guard={"invoices_open": [1]}),
    ]


def effects(world: Sandbox, action: Action) -> int:
    """How many times the action's effect exists in WHMCS (the sandbox's records, found by its marker;
    a suspension by the successful ModuleSuspend calls for its service)."""
    mark = marker(action.key)
    if action.kind == "email":
        return sum(mark in e["message"] for e in world.rows("emails", client_id=1))
    if action.kind == "activity":
        return sum(mark in a["description"] for a in world.rows("activity"))
    if action.kind == "client_note":
        return sum(mark in n["note"] for n in world.rows("client_notes", client_id=1))
    return sum(
        1
        for c in world.calls()
        if c["action"] == "ModuleSuspend" and c.get("outcome") == "success" and c["params"].get("serviceid") == "101"
    )


def statuses(db_path: Path) -> dict[str, str]:
    with Database(db_path, migrate=False) as db:
        return {entry.key: entry.status for entry in outbox.entries(db)}


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.load("reseller-overdue")
    yield sandbox
    sandbox.control("faults", {"count": 0})


OUTAGES: dict[str, dict[str, Any] | None] = {
    "502 page": {"status": 502, "body": "html"},
    "404 page": {"status": 404, "body": "html"},
    "maintenance page (200)": {"status": 200, "body": "html"},
    "WHMCS error answer with a 500": {"status": 500},  # JSON: WHMCS refused, nothing ran
    "timeout": {"delay_s": 2.5},
    "refused": None,  # the proxy stops accepting connections
}


@pytest.mark.parametrize("outage", OUTAGES)
def test_an_outage_delays_everything_and_loses_or_repeats_nothing(world: Sandbox, tmp_path: Path, outage: str):
    """WHMCS unavailable for 15 s in each way it fails: the daemon keeps going, nothing is parked
    (reconciliation reads that fail decide nothing), and afterwards each action's effect exists once."""
    proxy = Proxy(("127.0.0.1", int(world.url.split(":")[2].split("/")[0])))
    port = free_port()
    config = daemon_config(tmp_path, proxy.url, port)
    planned = actions(outage.split()[0])
    plan_actions(tmp_path / "state.db", planned)
    fault = OUTAGES[outage]
    if fault is None:
        proxy.refuse()
    else:
        world.control("faults", {**fault, "count": 100_000})
    daemon = Running(config, port)
    try:
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            assert "parked" not in statuses(tmp_path / "state.db").values(), "an outage parked work"
            time.sleep(0.5)
        if fault is None:
            proxy.accept()
        else:
            world.control("faults", {"count": 0})
        wait_until(lambda: set(statuses(tmp_path / "state.db").values()) == {"done"}, seconds=90)
    finally:
        code, err = daemon.stop()
        proxy.close()
    assert code == 0, err
    assert {a.key: effects(world, a) for a in planned} == {a.key: 1 for a in planned}
    assert world.rows("services", id=101)[0]["status"] == "Suspended"


def test_kill_9_and_an_immediate_restart_while_whmcs_is_slow_repeat_nothing(world: Sandbox, tmp_path: Path):
    """Every WHMCS write takes 3 s (PHP finishes it after the client is gone); the daemon is killed at a
    random moment and restarted at once, 10 times. Each action's effect exists once; the suspension,
    whose call may land after a kill, is done (its own effect is not a reason to cancel it), so the
    payment's unsuspension has a step to undo."""
    port = free_port()
    config = daemon_config(tmp_path, world.url, port)
    planned = actions("kill")
    plan_actions(tmp_path / "state.db", planned)
    slow = ["SendEmail", "LogActivity", "AddClientNote", "ModuleSuspend"]
    world.control("faults", {"delay_s": 3.0, "count": 100_000, "actions": slow})
    pick = random.Random(12)
    for _ in range(10):
        daemon = Running(config, port)
        time.sleep(pick.uniform(0.2, 3.5))
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
    daemon = Running(config, port)
    try:
        wait_until(lambda: set(statuses(tmp_path / "state.db").values()) == {"done"}, seconds=180)
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    assert {a.key: effects(world, a) for a in planned} == {a.key: 1 for a in planned}
    assert world.rows("services", id=101)[0]["status"] == "Suspended"
