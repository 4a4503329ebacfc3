"""Seventeenth break round, issue 16: what the outside tester found in contact delegation (agency scenario, hook
events through the real receiver, the CLI as staff run it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from tests.test_delegation_identity_e2e import COPY_ALL, owner_grants, stored_text, world_with
from whmcs_bridge.store.db import Database


@pytest.fixture
def worlds(sandbox: Sandbox) -> Iterator[list[BridgeWorld]]:
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()


def test_a_copy_staff_reject_keeps_no_password_at_rest(sandbox: Sandbox, tmp_path: Path, worlds: list[BridgeWorld]):
    """H1: the owner chose full copies; WHMCS refused the copy's SendEmail ("Email Sending Failed"), so it was
    parked; staff rejected it. The welcome email's password stayed in the outbox (and every backup) for good."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL + "      welcome_email: copy\n")
    owner_grants(world, "accept-copies", "--whole-client")
    # The owner's own welcome email goes out; the copy's SendEmail after it is refused.
    sandbox.control("faults", {"status": 200, "count": 5, "skip": 1, "actions": ["SendEmail"], "message": "Email Sending Failed"})
    sandbox.post("SendEmail", id=110, messagename="Hosting Account Welcome Email")
    world.settle()
    sandbox.control("faults", {"status": 0, "count": 0})
    service_password = sandbox.rows("services", id=110)[0]["password"]
    with Database(tmp_path / "state.db") as db:
        [parked] = sql(db, "SELECT id FROM outbox WHERE status = 'parked'")
    world.run("approvals", "reject", str(parked["id"]), "--by", "bob", "--reason", "not now")
    assert service_password.encode() not in stored_text(tmp_path / "state.db")
    assert not [e for e in world.emails(10) if e["subject"] == "[Copy] New Account Information"]
