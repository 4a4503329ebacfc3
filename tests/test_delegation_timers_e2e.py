"""Contact delegation's timers end to end (issue 16, finding 4 and 5): a grant's expiry and a pending
request's lapse fire when `tick --at` crosses them, whatever else touched the grant meanwhile; reminders
come before the end; a pending request can be withdrawn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from babel.dates import format_date
from click.testing import CliRunner

from tests.conftest import BridgeWorld, Sandbox
from whmcs_bridge.cli import app as cli


class World(BridgeWorld):
    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        super().__init__(sandbox, tmp, "delegation:\n  enabled: true\n")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


def grant(world: World, *extra: str) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email", *extra,
    ).output  # fmt: skip
    return out.split()[0]


def test_a_grant_expires_when_tick_crosses_its_date_even_after_other_events(world: World):
    """Finding 4: the expiry timer was lost once anything else touched the grant (a copy, the owner's names)."""
    sandbox = world.sandbox
    end = (datetime.now(UTC) + timedelta(days=10)).date()
    grant_id = grant(world, "--expires", end.isoformat())
    world.settle()
    # Something else touches the grant: WHMCS emails the owner about the service (a copy is made).
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Unsuspension Notification"})
    world.settle()
    assert any(e["subject"].startswith("[Copy]") for e in world.emails(10))
    # Seven days before the end, both sides are reminded once.
    world.run("tick", "--at", at(4))
    world.run("tick", "--at", at(4.5))
    reminders = [e for e in world.emails(10) if "ends on" in e["subject"]]
    assert len(reminders) == 1 and format_date(end, format="long", locale="en") in reminders[0]["subject"]
    assert len([e for e in world.emails(11) if "ends on" in e["subject"]]) == 1
    assert f"{grant_id} active" in world.run("delegations", "list", "--owner", "11").output
    # Five days past the end: expired, both told; no more copies.
    world.run("tick", "--at", at(15))
    world.run("tick", "--at", at(15))
    assert f"{grant_id} expired" in world.run("delegations", "list", "--owner", "11").output
    assert any("has ended" in e["subject"] for e in world.emails(10))
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    assert [e for e in world.emails(10) if "Suspension Notification" in e["subject"]] == []


def test_a_pending_request_lapses_with_its_link_and_the_requester_is_told(world: World):
    grant_id = grant(world, "--request")
    world.settle()
    assert any(e["subject"].startswith("Your consent is needed") for e in world.emails(11))
    world.run("tick", "--at", at(8))  # the consent link lives 7 days (delegation.consent_link_ttl)
    world.run("tick", "--at", at(8))
    assert f"{grant_id} lapsed" in world.run("delegations", "list", "--owner", "11").output
    told = [e for e in world.emails(10) if "got no answer" in e["subject"]]
    assert len(told) == 1


def test_a_pending_request_can_be_withdrawn_and_only_a_pending_one(world: World):
    grant_id = grant(world, "--request")
    world.settle()
    mail = next(e for e in world.emails(11) if e["subject"].startswith("Your consent is needed"))
    link = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
    assert link
    out = world.run("delegations", "withdraw", grant_id, "--by", "lena", "--reason", "client changed its mind")
    assert f"{grant_id} withdrawn" in out.output
    world.settle()
    assert f"{grant_id} withdrawn" in world.run("delegations", "list", "--owner", "11").output
    assert any("withdrawn" in n["note"] for n in world.sandbox.rows("client_notes", client_id=11))
    assert any("was withdrawn" in e["subject"] for e in world.emails(11))
    # The owner's consent link does nothing any more, and says why (nineteenth round L1: not "not valid").
    late = requests.post(link.group(1), data={"decision": "accept"}, timeout=5)
    assert late.status_code == 410 and "This request is closed" in late.text and "It was withdrawn" in late.text
    # Nothing to withdraw any more (nor on an active grant): one sentence, refused (exit 1).
    again = CliRunner().invoke(
        cli.main, ["--config", str(world.config), "delegations", "withdraw", grant_id, "--by", "lena", "--reason", "x"]
    )
    assert again.exit_code == 1 and "is withdrawn: only a pending request can be withdrawn" in again.output
    assert "Traceback" not in again.output
