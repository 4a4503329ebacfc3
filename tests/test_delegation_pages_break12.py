"""Issue 16, twelfth break round: the self-service pages and a grant's end decide from what WHMCS holds now (an
item staff moved to another client, a client staff deleted), and the owner's email says what stays by role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_selfservice_e2e import last_link


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """As the daemon runs it: the pages read WHMCS."""
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def grant(world: SelfServiceWorld, *covers: str, role: str = "technical") -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", *covers, "--role", role, "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    world.settle()
    return str(out.split()[0])


@pytest.mark.parametrize(
    ("lang", "stays"),
    [
        ("english", "remains your administrative contact for every service and domain of your account"),
        ("french", "reste votre contact administratif pour tous les services et domaines de votre compte"),
        ("dutch", "blijft uw administratieve contactpersoon voor alle diensten en domeinen van uw account"),
        ("indonesian", "tetap menjadi kontak administratif Anda untuk semua layanan dan domain di akun Anda"),
    ],
)
def test_the_owner_ending_the_technical_grant_hears_the_administrative_one_stays_by_role(
    world: SelfServiceWorld, lang: str, stays: str
):
    """N6 (d6_two_roles.py): the agency is administrative contact of the whole account and technical contact of
    hosting 110; the owner ended the technical access on its page. Its email said "Pixelwerk Agency remains your
    contact for Boulangerie Dupont" (the owner's own name). It says the role that stays and what it covers."""
    world.sandbox.post("UpdateClient", clientid=11, language=lang)
    grant(world, "--whole-client", role="administrative")
    technical = grant(world, "--service", "110")
    link = last_link(world, 11)
    before = len(world.emails(11))
    assert requests.post(link, data={"do": "revoke", "grant": technical}, timeout=10).status_code == 200
    world.settle()
    [ended] = world.emails(11)[before:]
    body = re.sub(r"\s+", " ", ended["message"])
    assert stays in body, body
    assert "Boulangerie Dupont" not in body, body  # the owner is not told it stays its own contact
