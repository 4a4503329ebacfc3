"""Issue 16, eleventh break round: what a delegation does is decided on what WHMCS holds when it is done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, SelfServiceWorld
from tests.test_delegation_e2e import World, grant_agency


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """As the daemon runs it: the consent pages read WHMCS."""
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def password_link(world: BridgeWorld, owner: int) -> str:
    told = next(e for e in world.emails(owner) if e["subject"].startswith("Pixelwerk Agency is no longer your"))
    found = re.search(r'href="([^"]+/consent/[^"]+)"', told["message"])
    assert found, told["message"]
    return found.group(1)


@pytest.mark.parametrize("moved_first", [False, True])
def test_the_former_owners_password_link_changes_nothing_on_a_service_moved_to_another_client(
    world: SelfServiceWorld, moved_first: bool
):
    """F1b (c18_password_link_late.py, c19_revoke_after_move.py): the site was sold, staff moved service 120 from
    Cabinet Martin (12) to Garage Leroy (13); Cabinet Martin's revocation email still offered "change the password
    now", and its click changed Garage Leroy's password (ModuleChangePw 120, the welcome email to client 13)."""
    grant_id = grant_agency(world, owner=12, service=120).output.split()[0]  # type: ignore[arg-type]
    world.settle()
    if moved_first:
        world.sandbox.control("move", {"service": 120, "client": 13})
    world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency")
    world.settle()
    link = password_link(world, 12)
    world.sandbox.control("move", {"service": 120, "client": 13})
    before = world.sandbox.rows("services", id=120)[0]["password"]
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    assert "no longer in your account" in answer.text and "password was not changed" in answer.text, answer.text
    world.settle()
    assert [c for c in world.sandbox.calls() if c["action"] == "ModuleChangePw"] == []
    assert world.sandbox.rows("services", id=120)[0]["password"] == before
    assert not [c for c in world.sandbox.calls() if c["action"] == "SendEmail" and c["params"].get("id") == "120"]
    shown = world.run("delegations", "show", grant_id).output
    assert "service #120 is no longer the owner's in WHMCS: its password was not changed" in shown, shown


def test_the_password_change_is_read_again_before_it_runs(sandbox: Sandbox, tmp_path: Path):
    """The same, the move made after the click (or a page that could not read WHMCS): the change itself reads who
    holds the service just before it runs."""
    sandbox.load("agency")
    world = World(sandbox, tmp_path)  # its consent page does not read WHMCS
    try:
        world.run("tick")
        grant_id = grant_agency(world, owner=12, service=120).output.split()[0]
        world.settle()
        world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency")
        world.settle()
        link = password_link(world, 12)
        assert requests.post(link, data={"decision": "accept"}, timeout=5).status_code == 200
        sandbox.control("move", {"service": 120, "client": 13})
        world.settle()
        assert [c for c in sandbox.calls() if c["action"] == "ModuleChangePw"] == []
        assert not [c for c in sandbox.calls() if c["action"] == "SendEmail" and c["params"].get("id") == "120"]
    finally:
        world.close()
