"""A delegate's tickets, the tenth break round's findings: [renew] in quoted text (a reply by email quoting staff)
invoices nothing (no [renew] does: its writer gets its renewal page link), and the notes staff read name each
item's kind and id, once per ticket while nothing changes. The agency scenario, the sandbox's hooks delivered to the
real receiver, the bridge's passes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox


def agency_granted(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    """The agency scenario with the agency (10) technical contact of Boulangerie Dupont's (11) hosting 110."""
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    w.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    w.settle()
    yield w
    w.close()


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    yield from agency_granted(sandbox, tmp_path)


def open_ticket(world: BridgeWorld) -> int:
    opened = world.sandbox.control(
        "act",
        {
            "action": "OpenTicket", "clientid": 10, "deptid": 1, "serviceid": 110,
            "subject": "boulangerie-dupont.fr renewal?", "message": "When is boulangerie-dupont.fr due?",
        },
    )  # fmt: skip
    world.settle(4)
    return int(opened["id"])


def reply(world: BridgeWorld, ticket: int, message: str, **who: Any) -> None:
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": ticket, "message": message, **who})
    world.settle(4)


def agency_renewals(world: BridgeWorld) -> list[dict[str, Any]]:
    return [i for i in world.sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]


# A ticket's [renew] invoices nothing: its writer gets its renewal page link, and renews with a click there.
def link_emails(world: BridgeWorld, ticket: int, client: int = 10) -> list[dict[str, Any]]:
    """The emails to the client answering a [renew] in the ticket: each names the ticket as the client area numbers it
    (its mask, GetTicket `tid`) and carries a page link."""
    [row] = world.sandbox.rows("tickets", id=ticket)
    return [e for e in world.emails(client) if f"#{row['tid']}" in e["subject"] and "/consent/" in e["message"]]


def renew_link(world: BridgeWorld, ticket: int, client: int = 10) -> str:
    """The renewal page link of the one email a [renew] in the ticket sent the client."""
    [email] = link_emails(world, ticket, client)
    found = re.findall(r'href="([^"]+/consent/[^"]+)"', email["message"])
    assert found, email["message"]
    return str(found[0])


def click_renew(world: BridgeWorld, link: str, **item: str) -> requests.Response:
    """The delegate clicks renew on its page for `item` (service="110" or domain="11"), then the bridge's passes."""
    [(kind, number)] = item.items()
    page = requests.get(link, timeout=10).text
    grant = re.search(rf'name=grant value="([^"]+)"><input type=hidden name={kind} value="{number}"', page)
    assert grant, f"the page offers to renew {kind} #{number}: {page}"
    done = requests.post(link, data={"do": "renew", "grant": grant.group(1), kind: number}, timeout=10)
    world.settle(4)
    return done


QUOTED = [
    "Not now, thanks.\n\nOn 27/11 Support wrote:\n> It is due on 22 December. To have the renewal invoiced to you, "
    "write [renew] in a reply.",
    "Pas maintenant, merci.\r\n\r\nLe 27/11/2026 à 10:00, Support a écrit :\r\nPour la facture, écrivez [renew].",
    "Nu niet, dank u.\n\nOp 27 nov. 2026 schreef Support:\nSchrijf [renew] in een antwoord.",
    "Tidak sekarang.\n\nPada 27 Nov 2026, Support menulis:\nTulis [renew] di balasan.",
    "Not now.\n> write [renew] in a reply",
    "Please do NOT [renew] it, the client is leaving us.",
    "Ne pas [renew], merci.",
    # Eleventh round F2 (c13_outlook_quote.py): Outlook quotes under a rule and a From:/Sent: block.
    "Not now, thanks.\n\n________________________________\nFrom: Support <support@example.com>\nSent: Friday, 27 "
    "November 2026 10:00\nTo: Lena\nSubject: Re: hosting\n\nTo have the renewal invoiced to you, write [renew].",
    "Pas maintenant.\r\n\r\nDe : Support <support@example.com>\r\nEnvoyé : vendredi 27 novembre 2026 10:00\r\n"
    "À : Lena\r\nObjet : hébergement\r\n\r\nÉcrivez [renew] en réponse.",
    "I do not want you to [renew] it.",
    "Nous ne voulons pas que vous fassiez [renew].",
    "Please cancel instead of [renew].",
    "Without [renew] please.",
]


@pytest.mark.parametrize("text", QUOTED)
def test_renew_in_quoted_or_negated_text_invoices_nothing_and_sends_the_page_link(world: BridgeWorld, text: str):
    """Tenth break round, M2: staff's "write [renew] in a reply", quoted below the agency's "Not now, thanks.",
    started a renewal. Fifteenth round: no words around a [renew] are read, and none invoices; the agency gets its
    renewal page link once for the ticket, and a click there invoices the renewal."""
    ticket = open_ticket(world)
    reply(world, ticket, "To have the renewal invoiced to you, write [renew] in a reply.", adminusername="alice")
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    assert "renewal 1" not in world.run("delegations", "list").output
    link = renew_link(world, ticket)
    reply(world, ticket, "Yes please: [renew]\n\nOn 27/11 Support wrote:\n> write [renew] in a reply.", clientid=10)
    assert agency_renewals(world) == [] and len(link_emails(world, ticket)) == 1  # the link sent still serves
    assert click_renew(world, link, service="110").status_code == 200
    assert len(agency_renewals(world)) == 1


def test_ticket_notes_name_each_items_kind_and_id_once_per_ticket(world: BridgeWorld):
    """Tenth break round, M3: "VERIFIED" for the hosting and "WARNING: NO grant" for "boulangerie-dupont.fr" (the
    domain #11 of the same name) read as a contradiction, and both came again on every reply. Each note names the
    kind and id; a reply that changes nothing adds no note."""
    ticket = open_ticket(world)
    notes = [n["message"] for n in world.sandbox.rows("ticket_notes", ticket_id=ticket)]
    assert len(notes) == 2, notes
    [warning] = [n for n in notes if "NO grant" in n]
    assert "domain #11 boulangerie-dupont.fr" in warning, warning
    [verified] = [n for n in notes if "VERIFIED" in n]
    assert "service #110" in verified, verified
    reply(world, ticket, "And the domain boulangerie-dupont.fr?", clientid=10)
    assert len(world.sandbox.rows("ticket_notes", ticket_id=ticket)) == 2
