"""Issue 16, twenty-first round: what the twentieth round left open, each seen failing first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_e2e import grant_agency
from whmcs_bridge.model import Hold
from whmcs_bridge.store import holds
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def consent_link(world: SelfServiceWorld, client: int) -> str:
    mail = next(e for e in world.emails(client) if e["subject"].startswith("Your consent is needed"))
    found = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
    assert found, mail["message"]
    return found.group(1)


@pytest.mark.parametrize(
    ("subject", "whole"), [("service:110", False), ("client:11", True), ("service:110", True)]
)
def test_an_acceptance_while_an_ownership_case_holds_the_service_activates_nothing(
    world: SelfServiceWorld, subject: str, whole: bool
):
    """Twentieth round, left open: the agency asked to become the technical contact of service 110; before the
    owner clicked "accept", an ownership dispute froze the service (or the owner's whole account). Staff could not
    grant it now (`delegations grant` refuses a held subject), yet the owner's click activated the grant: the
    acceptance is checked against the holds when it comes, as staff's grant is when it is made (a whole-account
    grant against each service and domain WHMCS shows in the account)."""
    extra = ("--whole-client",) if whole else ()
    grant_id = grant_agency(
        world, "--request", *extra, service=None if whole else 110, by="lena", basis="we build their new site"  # type: ignore[arg-type]
    ).output.split()[0]
    world.settle()
    link = consent_link(world, 11)
    with Database(world.config.parent / "state.db") as db, db.atomic():  # as the ownership family writes it
        holds.replace(db, "ownership", "case:o1", [Hold(subject, "ownership case o1 is disputed")])
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    assert "An ownership procedure concerns" in answer.text and "nothing was activated" in answer.text, answer.text
    world.settle()
    shown = world.run("delegations", "show", grant_id).output
    assert "void" in shown and "ownership case o1 is disputed" in shown, shown
    activated = [e for e in world.emails(10) + world.emails(11) if "is now" in e["subject"]]
    assert activated == [], activated
