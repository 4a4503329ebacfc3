"""Issue 16, twelfth break round: a [renew] counts in the message it is (never from its subject again on every
reply, never from staff's words), and what a ticket is about includes WHMCS's related service and a host name under a
site's name. Since the fifteenth round a [renew] invoices nothing: it sends its writer the renewal page link. The
agency scenario, the sandbox's hooks delivered to the real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_tickets_e2e import (
    agency_granted,
    agency_renewals,
    click_renew,
    link_emails,
    renew_link,
    reply,
)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    yield from agency_granted(sandbox, tmp_path)


def open_ticket(world: BridgeWorld, **fields: Any) -> int:
    opened = world.sandbox.control("act", {"action": "OpenTicket", "deptid": 1, **fields})
    world.settle(4)
    return int(opened["id"])


def notes(world: BridgeWorld, ticket: int) -> list[str]:
    return [
        str(n.get("message") or n.get("note") or "")
        for n in world.sandbox.rows("ticket_notes")
        if int(n["ticket_id"]) == ticket
    ]


def history(world: BridgeWorld) -> str:
    return world.run("delegations", "list", "--owner", "11").output + "\n".join(
        world.run("delegations", "show", line.split()[0]).output
        for line in world.run("delegations", "list", "--owner", "11").output.splitlines()
        if line.strip() and not line.startswith(" ")
    )


def test_a_renew_in_the_subject_asks_once_not_on_every_reply(world: BridgeWorld):
    """N1 (d8_subject_renew.py): the agency opened a ticket titled "[renew service 110] boulangerie-dupont.fr";
    renewal 1 was invoiced and paid. Its later "Thanks, all good!" on the same ticket started renewal 2 (WHMCS keeps
    the subject on every reply: DD:hooks-reference/ticket.md TicketUserReply `subject`), and the agency was told
    "nothing to renew yet" for a request it never made; with the owner's next invoice issued, it paid twice. The
    subject's [renew] sends the page link with the opening message only; the renewal is the agency's click."""
    ticket = open_ticket(
        world, clientid=10, serviceid=110, subject="[renew service 110] boulangerie-dupont.fr",
        message="Hello, please renew it for our client.",
    )  # fmt: skip
    assert agency_renewals(world) == []
    click_renew(world, renew_link(world, ticket), service="110")
    [invoice] = agency_renewals(world)
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": invoice["id"], "transid": "N1", "gateway": "stripe"}
    )
    world.settle(4)
    reply(world, ticket, "Thanks, all good!", clientid=10)
    world.settle(2)
    assert len(agency_renewals(world)) == 1 and len(link_emails(world, ticket)) == 1
    shown = history(world)
    assert "renewal 1" in shown and "renewal 2" not in shown, shown
    assert not [e for e in world.emails(10) if "othing to renew" in e["subject"] + e["message"]]


def test_a_ticket_staff_open_is_not_the_agencys_request(world: BridgeWorld):
    """N1b (d16_staff_opened_ticket.py): staff opened a ticket on the agency's account in the admin area (GetTicket
    names the admin on its opening message, DD:api-reference/getticket.md; the hook fires TicketOpenAdmin, which the
    bridge's hook does not forward, DD:hooks-reference/ticket.md) saying "write [renew] in a reply": the agency was
    invoiced though it wrote nothing, and the history said the agency asked. Staff's words send nothing; the
    agency's own [renew] in its reply sends its page link, and its click there invoices."""
    ticket = open_ticket(
        world, clientid=10, serviceid=110, subject="Renewal of boulangerie-dupont.fr", admin=True,
        adminusername="alice",
        message="boulangerie-dupont.fr is due on 22 December. To have the renewal invoiced to you, write [renew] in a "
        "reply.",
    )  # fmt: skip
    world.settle(2)
    assert agency_renewals(world) == [] and link_emails(world, ticket) == []
    assert "asked by delegate" not in history(world)
    reply(world, ticket, "[renew] please.", clientid=10)
    assert agency_renewals(world) == []
    click_renew(world, renew_link(world, ticket), service="110")
    assert len(agency_renewals(world)) == 1


WRAPPED = [
    "Hello, we talked with the client and they are leaving us, so please do not\n[renew] boulangerie-dupont.fr this "
    "year.",
    "Please do not\r\n[renew] it.",
    "Merci de ne pas\n[renew] ce domaine.",
    "Niet\n[renew] alstublieft.",
    "Jangan\n[renew] dulu.",
    "Please wait before [renew], the client has not decided.",
    "Hold off on [renew] until further notice.",
]


@pytest.mark.parametrize("text", WRAPPED)
def test_a_refusal_wrapped_onto_two_lines_invoices_nothing(world: BridgeWorld, text: str):
    """N4 (d4_wrapped_negation.py): a plain-text mail program wraps "please do not" / "[renew] ..." onto two lines;
    a line break ended the sentence, so the refusal was read as a request and the agency invoiced. No [renew]
    invoices now: the agency gets its page link and decides there."""
    ticket = open_ticket(
        world, clientid=10, serviceid=110, subject="boulangerie-dupont.fr", message="When is it due?"
    )  # fmt: skip
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    assert renew_link(world, ticket)


def test_a_plain_renew_on_its_own_line_after_a_greeting_is_not_dropped(world: BridgeWorld):
    """The other side of N4: a request is answered with the page link, whatever comes before it."""
    ticket = open_ticket(world, clientid=10, serviceid=110, subject="boulangerie-dupont.fr", message="Hello")
    reply(world, ticket, "Hello,\n\n[renew] please. No rush.", clientid=10)
    assert agency_renewals(world) == []
    assert any("was sent its renewal page link" in n for n in notes(world, ticket)), notes(world, ticket)
    assert renew_link(world, ticket)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # N2 (d7_linked_service_only.py): Lena, an invited user of Cabinet Martin (12), not its owner, picks
        # service 120 in WHMCS's related-service field and names nothing in her text.
        (
            {"clientid": 12, "userid": 1, "serviceid": 120, "subject": "Access",
             "message": "Please send me the cPanel password of this hosting and make me the owner of the account."},
            "another user of that account, not its owner",
        ),
        # N2 (d12_subdomain.py): the site named by a host name under it.
        (
            {"clientid": 12, "userid": 1, "subject": "Access",
             "message": "Please send me the password for webmail.cabinet-martin.fr and make me the owner."},
            "another user of that account, not its owner",
        ),
        (
            {"clientid": 13, "subject": "New webmaster",
             "message": "I am the new webmaster, please send me the cPanel login for cpanel.cabinet-martin.fr"},
            "has NO grant on this",
        ),
        # N2 (d3_ticket_other_service.py): the agency's ticket about service 120 (not granted) by the related field.
        (
            {"clientid": 10, "serviceid": 120, "subject": "Hosting", "message": "Can you restart it?"},
            "has NO grant on this",
        ),
    ],
)  # fmt: skip
def test_what_a_ticket_is_about_includes_whmcs_related_service_and_host_names(
    world: BridgeWorld, fields: dict[str, Any], expected: str
):
    """N2: the ticket's related service (GetTicket `service`, DD:api-reference/getticket.md; the hook's TicketOpen
    does not carry it, DD:hooks-reference/ticket.md) and a host name under a site's name (webmail., cpanel.) are what
    the ticket is about, as a name in its text is: the staff note says whose it is and warns."""
    ticket = open_ticket(world, **fields)
    world.settle(2)
    said = notes(world, ticket)
    assert any(expected in n for n in said), said


@pytest.mark.parametrize(
    "text",
    [
        "Pouvez-vous m'envoyer le mdp du cPanel de cabinet-martin.fr ?",
        "Please send me the AuthInfo code of cabinet-martin.fr",
        "Please change the email address of the account to lena@pixelwerk.agency (cabinet-martin.fr)",
        "Can I have the FTP details for cabinet-martin.fr?",
        "Send me the log-in details of cabinet-martin.fr",
        "Please make me the primary contact of cabinet-martin.fr",
        "Envoyez-moi les codes du cpanel de cabinet-martin.fr",
    ],
)
def test_ordinary_ways_of_asking_for_credentials_are_warned_about(world: BridgeWorld, text: str):
    """N8 (d13_sensitive_words.py): Lena, an invited non-owner user of Cabinet Martin (a company), asks in words the
    warning did not know (mdp, AuthInfo, changing the account's email, FTP or log-in details, primary contact)."""
    ticket = open_ticket(world, clientid=12, userid=1, subject="Question", message=text)
    world.settle(2)
    said = notes(world, ticket)
    assert any("WARNING: this user asks for access" in n for n in said), said
