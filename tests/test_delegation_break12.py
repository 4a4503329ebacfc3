"""Issue 16, twelfth break round (and the eleventh's leftovers): a delegation acts on what WHMCS holds when it acts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_e2e import grant_agency


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """As the daemon runs it: the consent pages read WHMCS."""
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


@pytest.mark.parametrize("closed", [10, 11])
def test_an_acceptance_after_the_delegate_or_owner_closed_in_whmcs_activates_nothing(
    world: SelfServiceWorld, closed: int
):
    """Eleventh round F5: the agency (client 10) asked to become the technical contact of Boulangerie Dupont's
    hosting; its WHMCS account was closed (UpdateClient status=Closed, DD:api-reference/updateclient.md) before the
    owner clicked "accept". The grant became active, and both sides were told it was. A grant is refused at creation
    when WHMCS shows either side Closed; the acceptance is read the same way when it comes: nothing is activated,
    the page says why, staff see it on the owner's account."""
    grant_id = grant_agency(world, "--request", by="lena", basis="we build their new site").output.split()[0]  # type: ignore[arg-type]
    world.settle()
    link = consent_link(world, 11)
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": closed, "status": "Closed"})
    before = len(world.sandbox.calls())
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    whose = "The account of the contact who asked" if closed == 10 else "Your account"
    assert f"{whose} (client #{closed}) is closed in our records, so nothing was activated" in answer.text, answer.text
    world.settle()
    shown = world.run("delegations", "show", grant_id).output
    assert "void" in shown and f"client #{closed} ({'the delegate' if closed == 10 else 'the owner'}) is Closed in WHMCS" in shown, shown
    sent = [c for c in world.sandbox.calls(before) if c["action"] == "SendEmail"]
    activated = [e for e in world.emails(10) + world.emails(11) if "is now" in e["subject"]]
    assert activated == [], (activated, sent)
    notes = [n["note"] for n in world.sandbox.rows("client_notes", client_id=11) if grant_id in n["note"]]
    assert any("Closed" in n for n in notes), notes
