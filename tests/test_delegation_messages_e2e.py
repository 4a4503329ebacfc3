"""Delegation's messages end to end (issue 14), against the sandbox's email log and notes: values from
WHMCS or a person reach the owner escaped, a French owner reads French (emails and the consent page),
and people are named by name, services by product and domain, not by ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox

HOSTILE_BASIS = "<img src=x onerror=alert(1)>"
HOSTILE_COMPANY = 'Pixelwerk <a href="https://evil.example/phish">click</a>'
SERVICE = "Business (boulangerie-dupont.fr)"  # service 110 as WHMCS names it: product (domain)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def ask(world: BridgeWorld, *, basis: str = "we build their new site", request: bool = True) -> str:
    """The agency (client 10) asks for, or staff grant it, the technical contact of client 11's service 110."""
    args = ["delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "lena"]
    out = world.run(*args, "--basis", basis, *(["--request"] if request else [])).output
    world.settle()
    return str(out.split()[0])


def consent_link(mail: dict[str, Any]) -> str:
    found = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
    assert found, "the email carries the consent link"
    return found.group(1)


def bridge_emails(world: BridgeWorld, client: int) -> list[dict[str, Any]]:
    """What the bridge sent the client (each carries its action key), not WHMCS's own emails."""
    return [e for e in world.emails(client) if "<!-- [wb-" in e["message"]]


def test_a_hostile_reason_and_company_name_reach_the_owner_escaped(world: BridgeWorld):
    world.sandbox.post("UpdateClient", clientid=10, companyname=HOSTILE_COMPANY)
    ask(world, basis=HOSTILE_BASIS)
    [asked] = bridge_emails(world, 11)
    for text in (asked["message"], requests.get(consent_link(asked), timeout=5).text):
        assert "<img" not in text and 'evil.example/phish"' not in text and '<a href="https://evil' not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
        assert "Pixelwerk &lt;a href=&#34;https://evil.example/phish&#34;&gt;click&lt;/a&gt;" in text
    assert requests.post(consent_link(asked), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    told = bridge_emails(world, 11)
    assert len(told) == 2  # the consent request, then the notice that the agency is now a contact
    for mail in told:
        assert "<img" not in mail["message"] and '<a href="https://evil' not in mail["message"]
    assert "Pixelwerk &lt;a href=&#34;https://evil.example/phish&#34;&gt;" in told[1]["message"]


def test_a_french_owner_reads_french(world: BridgeWorld):
    world.sandbox.post("UpdateClient", clientid=11, language="french")
    ask(world)
    [asked] = bridge_emails(world, 11)
    assert asked["subject"] == f"Votre accord est nécessaire : Pixelwerk Agency souhaite agir pour {SERVICE}"
    page = requests.get(consent_link(asked), timeout=5)
    assert page.headers["Content-Language"] == "fr" and "<title>Votre décision est requise</title>" in page.text
    assert f"Pixelwerk Agency demande à devenir le contact technique de {SERVICE}" in page.text
    assert ">Accepter</button>" in page.text and ">Refuser</button>" in page.text
    done = requests.post(consent_link(asked), data={"decision": "accept"}, timeout=5)
    assert "<title>Merci</title>" in done.text
    world.settle()
    told = bridge_emails(world, 11)[-1]
    assert told["subject"] == f"Pixelwerk Agency est désormais votre contact technique pour {SERVICE}"
    assert "Pixelwerk Agency peut désormais agir en votre nom" in told["message"]
    # The agency's profile names no language: English, WHMCS's default here.
    assert (
        bridge_emails(world, 10)[-1]["subject"]
        == f"You are now the technical contact of Boulangerie Dupont for {SERVICE}"
    )


def test_people_and_services_are_named_not_numbered(world: BridgeWorld):
    grant_id = ask(world)
    [asked] = bridge_emails(world, 11)
    assert asked["subject"] == f"Your consent is needed: Pixelwerk Agency asks to act for {SERVICE}"
    page = requests.get(consent_link(asked), timeout=5).text
    assert f"Pixelwerk Agency asks to become the technical contact for {SERVICE}" in page
    requests.post(consent_link(asked), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    world.settle()
    owner, agency = bridge_emails(world, 11), bridge_emails(world, 10)
    assert [e["subject"] for e in owner] == [
        f"Your consent is needed: Pixelwerk Agency asks to act for {SERVICE}",
        f"Pixelwerk Agency is now your technical contact for {SERVICE}",
        f"Pixelwerk Agency is no longer your technical contact for {SERVICE}",
    ]
    assert [e["subject"] for e in agency] == [
        f"Your request for {SERVICE} was sent to Boulangerie Dupont",
        f"You are now the technical contact of Boulangerie Dupont for {SERVICE}",
        f"Your access to {SERVICE} has ended",
    ]
    for mail in owner + agency:
        assert not re.search(r"(?i)client #\d|service #\d", mail["subject"] + mail["message"]), mail["subject"]
    # Staff notes name both sides, with the numbers staff look for.
    notes = [n["note"] for n in world.sandbox.rows("client_notes", client_id=11)]
    assert any(
        n.startswith(f"Delegation {grant_id}: Pixelwerk Agency (#10) is now the technical contact for {SERVICE}")
        for n in notes
    ), notes
