"""Issue 16 against the sandbox through the real receiver, break round 20 and the nineteenth round's LOWs.

L2: an email WHMCS sends an owner without a template (a custom message) is never copied, and was not counted
either: staff could not see that a delegate missed it. It is counted in `delegations templates` when the owner
has an active grant, apart from the templates to classify (it has none)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_identity_e2e import grant, world_with


@pytest.fixture
def worlds(sandbox: Sandbox, tmp_path: Path) -> Iterator[list[BridgeWorld]]:
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()


def custom_email(sandbox: Sandbox, client: int, words: str) -> None:
    sandbox.control(
        "act",
        {"action": "SendEmail", "id": client, "customtype": "general", "customsubject": words,
         "custommessage": f"<p>{words}</p>"},
    )  # fmt: skip


def test_a_custom_email_to_an_owner_with_a_delegate_is_counted_not_copied(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    custom_email(sandbox, 12, "Maintenance tonight")  # an owner without a grant: nobody missed anything
    world.settle()
    assert json.loads(world.run("delegations", "templates", "--json").output) == []
    grant(world, "--service", "110")
    world.settle()
    custom_email(sandbox, 11, "Your migration is planned")
    custom_email(sandbox, 11, "Your migration is done")
    world.settle()
    assert not [e for e in world.emails(10) if "migration" in e["subject"]]  # never copied
    shown = world.run("delegations", "templates").output
    assert "custom emails (no template): 2 email(s)" in shown, shown
    assert "delegation.email_templates" not in shown.split("custom emails")[1].split("\n")[0], shown
    listed = json.loads(world.run("delegations", "templates", "--json").output)
    assert [(t["template"], t["count"], t["custom"]) for t in listed] == [("(custom message)", 2, True)]
    assert "migration" not in json.dumps(listed)  # counted, never its words
