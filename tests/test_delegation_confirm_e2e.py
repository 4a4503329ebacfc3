"""Who confirms a new grant (issue 16, build item 9; OVHcloud's practice): with `delegation.confirm: both`
staff's grant waits for the owner's and the delegate's own one-time links; with `none` a delegate's request
is active at once. Against the sandbox, the real receiver and the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox


def world_with(sandbox: Sandbox, tmp: Path, confirm: str) -> BridgeWorld:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp, f"delegation:\n  enabled: true\n  confirm: {confirm}\n")
    w.run("tick")
    return w


@pytest.fixture
def both(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "both")
    yield w
    w.close()


@pytest.fixture
def none(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "none")
    yield w
    w.close()


def grant(world: BridgeWorld, *extra: str) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email", *extra,
    ).output  # fmt: skip
    return out.split()[0]


def consent_link(world: BridgeWorld, client: int, subject: str) -> str:
    mail = next(e for e in world.emails(client) if e["subject"].startswith(subject))
    found = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
    assert found
    return found.group(1)


def status(world: BridgeWorld, grant_id: str) -> str:
    return world.run("delegations", "list", "--owner", "11").output.split(f"{grant_id} ")[1].split(":")[0]


def test_with_both_a_grant_is_active_once_owner_and_delegate_accepted(both: BridgeWorld):
    grant_id = grant(both)
    both.settle()
    assert status(both, grant_id) == "pending"
    owner = consent_link(both, 11, "Your consent is needed")
    delegate = consent_link(both, 10, "Please confirm: you become the technical contact")
    assert requests.post(owner, data={"decision": "accept"}, timeout=5).status_code == 200
    both.settle()
    assert status(both, grant_id) == "pending"  # the delegate has not answered yet
    assert not any("now your technical contact" in e["subject"] for e in both.emails(11))
    assert requests.post(delegate, data={"decision": "accept"}, timeout=5).status_code == 200
    both.settle()
    assert status(both, grant_id) == "active"
    assert any("now your technical contact" in e["subject"] for e in both.emails(11))
    shown = both.run("delegations", "show", grant_id).output
    assert "owner accepted by owner (consent link)" in shown and "delegate accepted by delegate (consent link)" in shown


def test_with_both_the_delegate_declining_ends_it_and_the_owner_is_told(both: BridgeWorld):
    grant_id = grant(both)
    both.settle()
    delegate = consent_link(both, 10, "Please confirm: you become the technical contact")
    assert requests.post(delegate, data={"decision": "decline"}, timeout=5).status_code == 200
    both.settle()
    assert status(both, grant_id) == "withdrawn"
    # The delegate declined staff's grant: the owner is told so, not that a request was withdrawn (round 24, LOW 6).
    assert any("declined to become your technical contact" in e["subject"] for e in both.emails(11))


def test_with_none_a_request_is_active_at_once(none: BridgeWorld):
    grant_id = grant(none, "--request")
    none.settle()
    assert status(none, grant_id) == "active"
    assert not any(e["subject"].startswith("Your consent is needed") for e in none.emails(11))
