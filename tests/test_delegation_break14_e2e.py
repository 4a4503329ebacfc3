"""Issue 16, fourteenth break round, against the sandbox and the CLI.

G7: the owner ends one access of an agency that keeps another on the same hosting, with full copies of access
details chosen by the owner. Offering to change the password "now that they no longer act for you" would send the
new password to that very agency (WHMCS's welcome email, copied to it): the owner is told the agency stays and still
receives the access details, and is offered no change until that access ends too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_email_e2e import COPYING_ROLE, world_with
from tests.test_delegation_identity_e2e import owner_grants


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    administrative = "    administrative:\n      copy_emails: []\n      welcome_email: none\n      order_for_owner: true\n"
    w = world_with(sandbox, tmp_path, COPYING_ROLE + administrative)
    yield w
    w.close()


def ended_email(world: BridgeWorld) -> str:
    [ended] = [e for e in world.emails(11) if "is no longer your" in e["subject"]]
    return str(ended["message"])


def test_no_password_change_is_offered_while_the_same_agency_still_gets_the_access_details(world: BridgeWorld):
    owner_grants(world, "accept-copies", "--service", "110")
    admin = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--role", "administrative",
        "--by", "alice", "--basis", "owner's letter",
    ).output.split()[0]  # fmt: skip
    world.settle()
    world.run("delegations", "revoke", admin, "--by", "owner", "--reason", "agency no longer manages billing")
    world.settle()
    said = ended_email(world)
    assert "/consent/" not in said and "recommend changing it" not in said, said
    assert "remains your technical contact for Business (boulangerie-dupont.fr)" in said, said
    assert "receives copies of the access details" in said, said


def test_the_change_is_offered_when_no_other_access_gets_the_access_details(world: BridgeWorld):
    """The same ending with the agency's other access on notices only (the owner did not choose copies): the
    change is offered, as before."""
    owner_grants(world, "accept", "--service", "110")
    admin = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--role", "administrative",
        "--by", "alice", "--basis", "owner's letter",
    ).output.split()[0]  # fmt: skip
    world.settle()
    world.run("delegations", "revoke", admin, "--by", "owner", "--reason", "agency no longer manages billing")
    world.settle()
    said = ended_email(world)
    assert "/consent/" in said and "recommend changing it" in said, said
    assert "receives copies of the access details" not in said, said
