"""Issue 16, thirteenth break round: a ticket's [renew] invoiced the agency for refusals in their usual spellings (a
typographic apostrophe, a negation after the keyword, "aucun", colloquial Indonesian) and for questions about
[renew]. Since the fifteenth round no words around a [renew] are read and none invoices: its verified writer gets its
renewal page link, and renews with one click there, for the one item it picks (a hosting and a domain of one name are
two buttons). A registrant change, an admin role or a 2FA reset asked by another user of a company's account is
warned about."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_break14_e2e import STAFF_SAID
from tests.test_delegation_rules import NOW, RULES, body, decide_all, event, granted, state_of
from tests.test_delegation_tickets_break12 import notes, open_ticket
from tests.test_delegation_tickets_e2e import agency_renewals, click_renew, link_emails, renew_link, reply
from whmcs_bridge.families.delegation.config import DelegationSection

NOT_ASKED = [
    "Please don\u2019t [renew] boulangerie-dupont.fr, the client is leaving us.",
    "[renew] is not needed for boulangerie-dupont.fr, the client is leaving us.",
    "We won\u2019t need the [renew] this year.",
    "[renew]: no thanks, forget it.",
    "Aucun [renew] cette année, le client part.",
    "Merci de n\u2019effectuer aucun [renew].",
    "Ga usah [renew] ya",
    "Gak usah [renew] dulu",
    "Tak perlu [renew].",
    "Please skip the [renew] this year.",
    "We decided against [renew].",
    "What happens if I write [renew]?",
    "How much would a [renew] cost us?",
    "Quel est le prix d'un [renew] ?",
    "Wat kost een [renew]?",
    "Berapa biaya [renew]?",
]

ASKED = [
    "Please [renew] it.",
    "[renew] please. No rush.",
    "Could you please [renew] boulangerie-dupont.fr?",
    "Can you [renew] it for our client?",
    "Pouvez-vous faire le [renew] du domaine ?",
    "Kunt u de [renew] doen?",
    "Bisa tolong [renew]?",
    "Hello,\n\n[renew] please.",
]

QUOTED_ELSEWHERE = [
    "Nein danke, der Kunde kündigt.\n\nLena\n\n-----Ursprüngliche Nachricht-----\nVon: Hosting Support "
    "<support@billing.example.com>\nGesendet: Freitag, 27. November 2026 07:00\nAn: Lena\nBetreff: renewal?\n\n"
    + STAFF_SAID,
    "Nein danke.\n\nAm Fr., 27. Nov. 2026 um 07:00 Uhr schrieb Hosting Support <support@billing.example.com>:\n\n"
    + STAFF_SAID,
    "No, gracias.\n\nEl vie, 27 nov 2026 a las 07:00, Hosting Support (<support@billing.example.com>) escribió:\n"
    + STAFF_SAID,
    "No, grazie.\n\nIl giorno ven 27 nov 2026 alle ore 07:00 Hosting Support <support@billing.example.com> ha "
    "scritto:\n" + STAFF_SAID,
    "Não, obrigado.\n\nEm sex., 27 de nov. de 2026 às 07:00, Hosting Support <support@billing.example.com> "
    "escreveu:\n" + STAFF_SAID,
    "No, gracias.\n\n-----Mensaje original-----\nDe: Hosting Support\nEnviado: viernes\n\n" + STAFF_SAID,
    "No, grazie.\n\nDa: Hosting Support\nInviato: venerdì 27 novembre 2026 07:00\nA: Lena\n\n" + STAFF_SAID,
]


@pytest.mark.parametrize("text", NOT_ASKED + ASKED + QUOTED_ELSEWHERE)
def test_any_renew_sends_the_page_link_and_invoices_nothing(text: str):
    """F3 (e2_renew_words.py), F3b (e12_german_quote.py): refusals, questions and staff's words quoted by a German,
    Spanish, Italian or Portuguese mail program invoiced the agency; polite requests had to be told from them. No
    word is read now: whatever the text, a verified delegate's [renew] gets the renewal page link (in an email the
    executor mints it into) and no renewal starts; the staff note says so."""
    opened = decide_all({}, event("TicketUserReply", ticketid=7, replyid=3, userid=10, message=text), NOW, RULES)
    [resolve] = opened["ticket:7:3"].actions
    assert resolve.params["renew"] == {"named": []}
    data = {
        "ticketid": 7,
        "writer": 10,
        "items": [{"kind": "service", "id": 110, "name": "boulangerie-dupont.fr", "owner": 11}],
        "state_key": "ticket:7:3",
        "requested_by": "delegation",
        "renew": resolve.params["renew"],
    }
    decisions = decide_all({"grant:g1": granted()}, event("TicketResolved", **data), NOW, RULES)
    [note, email] = decisions["ticket:7:3"].actions
    assert email.kind == "email" and email.client_id == 10 and email.params["consent"]["subject"] == "10"
    said = body(email)
    assert "ticket #7" in said and "Nothing is invoiced from a ticket" in said and "until Nov 30, 2026" in said, said
    assert "was sent its renewal page link" in body(note) and "nothing is invoiced until it asks there" in body(note)
    assert decisions["grant:g1"].actions == [] and not state_of(decisions["grant:g1"]).get("renewals")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def grant(world: BridgeWorld, *covers: str) -> None:
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", *covers, "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()


@pytest.mark.parametrize(
    "text",
    [
        "Please don\u2019t [renew] boulangerie-dupont.fr, the client is leaving us.",
        "[renew] is not needed for boulangerie-dupont.fr, the client is leaving us.",
        "How much would a [renew] cost us?",
    ],
)
def test_a_refusal_or_question_in_a_ticket_invoices_nothing(world: BridgeWorld, text: str):
    """F3 (e3_refusal_e2e.py curly/after): through the receiver, the agency was invoiced 14.95."""
    grant(world, "--service", "110")
    ticket = open_ticket(world, clientid=10, serviceid=110, subject="boulangerie-dupont.fr", message="Hello")
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    assert renew_link(world, ticket)


def test_a_plain_renew_of_the_hosting_does_not_renew_the_domain_of_the_same_name(world: BridgeWorld):
    """F4 (e6_plain_renew_hosting_words.py): the agency holds a grant on domain 11 only and asks, with a plain
    [renew], for the hosting of the same name: it was invoiced a year of the domain. Nothing is invoiced from the
    ticket now: the link's email names the domain (what the agency may renew), and its page offers the domain only."""
    grant(world, "--domain", "11")
    ticket = open_ticket(
        world, clientid=10, subject="boulangerie-dupont.fr",
        message="The hosting of boulangerie-dupont.fr expires soon, please [renew] the hosting for our client.",
    )  # fmt: skip
    world.settle(2)
    assert agency_renewals(world) == []
    link = renew_link(world, ticket)
    page = requests.get(link, timeout=10).text
    assert 'name=domain value="11"' in page and "name=service" not in page, page
    assert click_renew(world, link, domain="11").status_code == 200
    [invoice] = agency_renewals(world)
    assert "boulangerie-dupont.fr" in world.sandbox.rows("invoice_items", invoice_id=invoice["id"])[0]["description"]


def test_two_renew_requests_in_one_message_send_one_link_naming_both(world: BridgeWorld):
    """F5 (e5_two_requests.py): "[renew service 110] and [renew domain 11]" invoiced the service only, and the note
    and the agency believed both were asked. Now one email names both and invoices neither; each is a click."""
    grant(world, "--service", "110", "--domain", "11")
    ticket = open_ticket(
        world, clientid=10, subject="boulangerie-dupont.fr",
        message="Please renew both for our client: [renew service 110] and [renew domain 11].",
    )  # fmt: skip
    world.settle(2)
    assert agency_renewals(world) == []
    [email] = link_emails(world, ticket)
    said = email["message"]
    assert said.count("boulangerie-dupont.fr") >= 2, said
    assert any("was sent its renewal page link" in n for n in notes(world, ticket)), notes(world, ticket)


@pytest.mark.parametrize(
    "text",
    [
        "Please change the registrant of cabinet-martin.fr to Pixelwerk Agency, we are taking over.",
        "Merci de faire le changement de titulaire de cabinet-martin.fr au nom de Pixelwerk Agency.",
        "Please add me as an administrator on the account of cabinet-martin.fr.",
        "Please disable two-factor authentication on the account of cabinet-martin.fr, I cannot get in.",
        "Please reset the 2FA of cabinet-martin.fr",
        "Please update the WHOIS holder of cabinet-martin.fr",
        "Kunt u de houder van cabinet-martin.fr wijzigen?",
        "Tolong ganti pemegang domain cabinet-martin.fr",
    ],
)
def test_a_registrant_change_an_admin_role_or_a_2fa_reset_is_warned_about(world: BridgeWorld, text: str):
    """F6 (e8_sensitive_e2e.py, e7_sensitive_more.py): Lena, an invited non-owner user of Cabinet Martin, asked for
    these and the note only said "another user of that account": a registrant change hands the domain over, an
    admin role and 2FA off hand the account over."""
    ticket = open_ticket(world, clientid=12, userid=1, subject="Question", message=text)
    world.settle(2)
    said = notes(world, ticket)
    assert any("WARNING: this user asks for access" in n for n in said), said


def test_a_support_email_is_a_notice_unless_the_owner_chose_full_copies():
    """F5 (e15_ticket_reply_copy.py): with `copy_emails: [product, domain, support]` on a whole-account grant, the
    agency got "[Copy] ..." of staff's ticket reply carrying the owner's new cPanel password, and of the owner's
    own ticket asking to remove the agency's access. A support email's text is written by a person (staff or the
    owner) and may carry anything: it is copied verbatim only when the owner chose full copies for the grant,
    else the delegate hears that the owner received it (its subject, not its text)."""
    rules = DelegationSection(enabled=True)
    technical = rules.roles["technical"].__class__(copy_emails=["product", "domain", "support"], support_authority=True)
    rules = DelegationSection(enabled=True, roles={**rules.roles, "technical": technical})
    grant = {**granted(items=[{"kind": "client", "id": 11}])}
    for template in ("Support Ticket Reply", "Support Ticket Opened", "Support Ticket Opened by Admin"):
        # Fourteenth round G3: the subject is written by a person too ("Remove the agency's access - my password
        # is now ..."): the notice names the email by its template, and the grant's history keeps no subject either.
        reply = event(
            "EmailPreLog", userid=11, date="2026-11-23 10:00:00",
            subject="[Ticket ID: 481516] Remove Pixelwerk Agency's access - my cPanel password is now Qx7!pLm2zR",
            message="<p>Your new cPanel password is Qx7!pLm2zR</p>", messagename=template, relid=3,
        )  # fmt: skip
        decision = decide_all({"grant:g1": grant}, reply, NOW, rules)["grant:g1"]
        [notice] = decision.actions
        assert "Qx7!pLm2zR" not in str(notice.params) and "Qx7!pLm2zR" not in body(notice), template
        assert "Remove Pixelwerk" not in str(notice.params) and "Remove Pixelwerk" not in body(notice), template
        assert f'"{template}"' in body(notice), body(notice)
        assert "Qx7!pLm2zR" not in json.dumps(decision.state), template
        copied = decide_all({"grant:g1": {**grant, "credentials": "copy"}}, reply, NOW, rules)["grant:g1"]
        [copy] = copied.actions
        assert "Qx7!pLm2zR" in body(copy) and "Qx7!pLm2zR" not in json.dumps(copied.state)


def test_a_ticket_opened_by_a_contact_of_the_account_is_not_the_owners(world: BridgeWorld):
    """F8 (e11_guest_and_contact.py case b): the billing contact of Cabinet Martin (a WHMCS contact, not a user)
    opened a ticket asking for the cPanel password; the note said "written by the owner, Cabinet Martin Avocats",
    no warning. GetTicket names the contact a message was opened by (`contactid`, DD:api-reference/getticket.md),
    and its submitter's name and email are the contact's."""
    contact = world.sandbox.post(
        "AddContact", clientid=12, firstname="Paul", lastname="Compta", email="compta@cabinet-martin.fr"
    ).json()["contactid"]
    ticket = open_ticket(
        world, clientid=12, contactid=int(contact), subject="cPanel",
        message="Please send me the cPanel password of cabinet-martin.fr",
    )  # fmt: skip
    world.settle(2)
    said = notes(world, ticket)
    assert not any("written by the owner" in n for n in said), said
    assert any(f"WHMCS contact #{contact}" in n and "compta@cabinet-martin.fr" in n for n in said), said
    assert any("WARNING" in n for n in said), said


def test_a_guest_tickets_warning_says_a_guest_wrote_it_not_client_0(world: BridgeWorld):
    """F11 (e11_guest_and_contact.py case a): a guest ticket (an email from an address WHMCS has no client for)
    naming the granted site got "WARNING: client #0 (#0) has NO grant on this"."""
    grant(world, "--service", "110")
    ticket = open_ticket(
        world, name="Lena Vogel", email="lena@pixelwerk.agency", subject="boulangerie-dupont.fr",
        message="[renew] boulangerie-dupont.fr please.",
    )  # fmt: skip
    world.settle(2)
    said = notes(world, ticket)
    assert any("a guest, without a client account" in n for n in said), said
    assert not any("client #0" in n for n in said), said
    assert agency_renewals(world) == []
