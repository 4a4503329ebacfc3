"""Issue 16, fifteenth round: a ticket's [renew] never invoices anything by itself. Deciding from words whether a
[renew] asks for a renewal failed both ways (break rounds 13 and 14): refusals invoiced the agency, urgent requests
were dropped in silence. Whatever the words around it, a verified delegate with the right to renew who writes
[renew] is emailed its one-time renewal page link; the renewal happens only when it clicks renew there. The agency
scenario, the sandbox's hooks delivered to the real receiver, the link followed over HTTP."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_break14_e2e import APPLE_NL, STAFF_SAID
from tests.test_delegation_tickets_break12 import notes
from tests.test_delegation_tickets_break12 import open_ticket as ticket_with
from tests.test_delegation_tickets_e2e import (
    agency_granted,
    agency_renewals,
    click_renew,
    link_emails,
    open_ticket,
    renew_link,
    reply,
)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    yield from agency_granted(sandbox, tmp_path)


def renew_noted(world: BridgeWorld, ticket: int) -> str:
    said = [n for n in notes(world, ticket) if "[renew] in this message" in n]
    assert said, notes(world, ticket)
    return said[-1]


REFUSALS = [
    "[renew] : non merci, le client résilie",
    "Please disregard my [renew], the client is leaving.",
    "[renew]? nee",
    "[renew]? nope",
    "Please do NOT [renew] it, the client is leaving us.",
    "How much would a [renew] cost us?",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_a_renew_with_a_refusal_around_it_invoices_nothing_and_sends_the_page_link(world: BridgeWorld, text: str):
    """Break rounds 13 and 14: each of these (or one like it) invoiced the agency, a card on file may be charged.
    Nothing is invoiced from a ticket; the agency gets its page link and decides there."""
    ticket = open_ticket(world)
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    assert renew_link(world, ticket)
    said = renew_noted(world, ticket)
    assert "was sent its renewal page link" in said and "nothing is invoiced until it asks there" in said, said


URGENT = [
    "Please [renew] boulangerie-dupont.fr now, we can't let the shop go offline",
    "Please don't forget to [renew] boulangerie-dupont.fr!",
    "Jangan lupa [renew] boulangerie-dupont.fr",
]


@pytest.mark.parametrize("text", URGENT)
def test_an_urgent_renew_is_never_dropped_and_the_click_invoices_once(world: BridgeWorld, text: str):
    """Break round 14: these were read as refusals and dropped: no renewal, no word in the note, nothing to the
    agency. The link is sent and the note says so; the renewal is invoiced when the agency clicks, exactly once."""
    ticket = open_ticket(world)
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    link = renew_link(world, ticket)
    assert "was sent its renewal page link" in renew_noted(world, ticket)
    said = link_emails(world, ticket)[0]["message"]
    assert "Nothing is invoiced from a ticket" in said and "boulangerie-dupont.fr" in said, said
    done = click_renew(world, link, service="110")
    assert done.status_code == 200 and "Renewal requested" in done.text
    [invoice] = agency_renewals(world)
    assert invoice["total"] == "14.95"
    assert requests.post(link, data={"do": "renew", "service": "110"}, timeout=10).status_code == 410
    world.settle(2)
    assert len(agency_renewals(world)) == 1


QUOTED = [
    # Apple Mail in Dutch and Outlook in Polish: quote headers no list of patterns knew (break round 14).
    APPLE_NL,
    "Nie, dziękuję.\n\nOd: Support <support@billing.example.com>\nWysłano: piątek, 27 listopada 2026 10:00\n"
    f"Do: Lena\nTemat: boulangerie-dupont.fr\n\n{STAFF_SAID}",
]


@pytest.mark.parametrize("text", QUOTED)
def test_staffs_renew_quoted_under_an_unknown_header_invoices_nothing(world: BridgeWorld, text: str):
    ticket = open_ticket(world)
    reply(world, ticket, STAFF_SAID, adminusername="Support")
    reply(world, ticket, text, clientid=10)
    assert agency_renewals(world) == []
    assert renew_link(world, ticket)  # the page decides: a click there, or nothing


def test_a_reply_quoting_the_renew_again_sends_no_second_link(world: BridgeWorld):
    """One link per ticket while it is valid: a reply that quotes the first [renew] (or writes it again) sends
    nothing new; the note says the link was sent already."""
    ticket = open_ticket(world)
    reply(world, ticket, "Please [renew] it for our client.", clientid=10)
    reply(world, ticket, "Thanks!\n\n> Please [renew] it for our client.", clientid=10)
    reply(world, ticket, "[renew] again, please", clientid=10)
    assert len(link_emails(world, ticket)) == 1
    assert "already sent" in renew_noted(world, ticket)
    assert agency_renewals(world) == []


def test_the_link_email_speaks_the_delegates_language_and_names_the_item(world: BridgeWorld):
    world.sandbox.post("UpdateClient", clientid=10, language="french")
    ticket = open_ticket(world)
    reply(world, ticket, "[renew service 110] merci", clientid=10)
    [email] = link_emails(world, ticket)
    said = email["message"]
    assert "facturé depuis un ticket" in said and "boulangerie-dupont.fr" in said and "Nothing" not in said, said
    assert agency_renewals(world) == []


def test_a_writer_without_the_right_to_renew_gets_no_link(world: BridgeWorld):
    """A contact whose role may not renew (administrative, by default) is told nothing; the note says it may not."""
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", "10", "--service", "120", "--role", "administrative",
        "--by", "alice", "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    ticket = ticket_with(world, clientid=10, serviceid=120, subject="cabinet-martin.fr", message="Please [renew] it.")
    assert link_emails(world, ticket) == []
    assert agency_renewals(world) == []


def concurrent_renew_clicks(world: BridgeWorld, links: list[str]) -> list[requests.Response]:
    """Each link's page read, then every link's renew click posted at the same moment (one thread each)."""
    forms = []
    for link in links:
        page = requests.get(link, timeout=10).text
        grant = re.search(r'name=grant value="([^"]+)"><input type=hidden name=service value="110"', page)
        assert grant, page
        forms.append((link, {"do": "renew", "grant": grant.group(1), "service": "110"}))
    start = threading.Barrier(len(forms))

    def click(link: str, form: dict[str, str]) -> requests.Response:
        start.wait()
        return requests.post(link, data=form, timeout=30)

    with ThreadPoolExecutor(len(forms)) as pool:
        done = list(pool.map(lambda f: click(*f), forms))
    world.settle(4)
    return done


def test_two_tabs_clicking_renew_at_once_record_one_renewal(world: BridgeWorld):
    """Outside tester, M3: two tabs on the same page link, renew clicked in both at the same moment: exactly one
    click records the renewal, the other is told the link was used; WHMCS ends with one renewal invoice."""
    ticket = open_ticket(world)
    reply(world, ticket, "[renew]", clientid=10)
    link = renew_link(world, ticket)
    done = concurrent_renew_clicks(world, [link, link])
    assert sorted(r.status_code for r in done) == [200, 410], [r.text for r in done]
    assert sum("Renewal requested" in r.text for r in done) == 1
    assert len(agency_renewals(world)) == 1


def test_two_page_links_clicking_renew_at_once_record_one_renewal(world: BridgeWorld):
    """Outside tester, M3: the delegate's two page links (two tickets' [renew]) open in two tabs, renew clicked in
    both at the same moment for the same hosting: one records the renewal, the other is told it is already asked
    for; WHMCS ends with one renewal invoice."""
    first, second = open_ticket(world), open_ticket(world)
    reply(world, first, "[renew]", clientid=10)
    reply(world, second, "[renew]", clientid=10)
    done = concurrent_renew_clicks(world, [renew_link(world, first), renew_link(world, second)])
    assert sum("Renewal requested" in r.text for r in done) == 1, [r.text for r in done]
    assert sorted(r.status_code for r in done) == [200, 400], [r.text for r in done]
    assert len(agency_renewals(world)) == 1


def test_the_renewal_link_reaches_the_delegate_alone_not_its_contacts_who_get_general_emails(world: BridgeWorld):
    """Outside tester, M2: the link email went by SendEmail as a general email, which WHMCS also sends to the
    client's contacts who receive general emails (addcontact.md `email_preferences[general]`): a one-time link for
    one delegate reached its accountant. With such a contact, the link goes as a ticket for no client in the
    agency's own name and address, which WHMCS mails to that address alone; the link works from there."""
    world.sandbox.post(
        "AddContact", clientid=10, firstname="Kim", lastname="Compta", email="compta@pixelwerk.example",
        **{"email_preferences[general]": 1},
    )  # fmt: skip
    ticket = open_ticket(world)
    reply(world, ticket, "[renew]", clientid=10)
    assert link_emails(world, ticket) == []  # not by SendEmail: its CC would name the contact
    [agency] = world.sandbox.rows("clients", id=10)
    [mask] = [t["tid"] for t in world.sandbox.rows("tickets", id=ticket)]  # as the client area numbers it
    [alone] = [t for t in world.sandbox.rows("tickets") if f"#{mask}" in t["subject"] and t["client_id"] == 0]
    assert alone["email"] == agency["email"], alone
    [opening] = world.sandbox.rows("ticket_replies", ticket_id=alone["id"])[:1]
    found = re.findall(r"(http://\S+/consent/[\w-]+)", opening["message"])
    assert found, opening["message"]
    assert "Nothing is invoiced from a ticket" in opening["message"], opening["message"]
    done = click_renew(world, found[0], service="110")
    assert done.status_code == 200 and "Renewal requested" in done.text
    assert len(agency_renewals(world)) == 1


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [("service", "999", "&#34;999&#34;"), ("service", "11x", "&#34;11x&#34;"), ("grant", "gbogus", "&#34;gbogus&#34;")],
)
def test_a_tampered_renewal_form_is_refused_naming_the_field_and_leaves_the_link_usable(
    world: BridgeWorld, field: str, value: str, said: str
):
    """Outside tester, L1: a renew form whose item id (or grant) was changed in the POST was refused as "this page
    offers no such action" and used the link up. It is refused naming the field the page never offered, and the
    link still renews."""
    ticket = open_ticket(world)
    reply(world, ticket, "[renew]", clientid=10)
    link = renew_link(world, ticket)
    page = requests.get(link, timeout=10).text
    grant = re.search(r'name=grant value="([^"]+)"><input type=hidden name=service value="110"', page)
    assert grant, page
    form = {"do": "renew", "grant": grant.group(1), "service": "110", field: value}
    refused = requests.post(link, data=form, timeout=10)
    assert refused.status_code == 400 and said in refused.text and field in refused.text, refused.text
    assert requests.get(link, timeout=10).status_code == 200
    done = click_renew(world, link, service="110")
    assert done.status_code == 200 and "Renewal requested" in done.text
    assert len(agency_renewals(world)) == 1


def test_one_link_per_delegate_and_ticket_even_with_a_second_grant_since(world: BridgeWorld):
    """Outside tester, L3: the README says one link per delegate and ticket while it is valid, the code kept it per
    grant: a second grant of the same agency (the domain of the same name), verified on the ticket later, sent a
    second link, though the first link's page shows every grant of the delegate. One link per delegate and ticket."""
    ticket = open_ticket(world)
    reply(world, ticket, "[renew]", clientid=10)
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    reply(world, ticket, "[renew] the domain boulangerie-dupont.fr too", clientid=10)
    assert len(link_emails(world, ticket)) == 1
    assert "already sent" in renew_noted(world, ticket)
    page = requests.get(renew_link(world, ticket), timeout=10).text
    assert 'name=domain value="11"' in page, page  # the first link's page renews what the new grant covers


def test_a_hosting_tickets_note_warns_of_the_domain_of_the_same_name_only_when_the_ticket_names_it(world: BridgeWorld):
    """Outside tester, L4: the agency's grant covers the hosting boulangerie-dupont.fr; a ticket naming that name
    got "NOT authorised ... WARNING" about domain #11 of the same name, as if a stranger asked. A ticket that does
    not name it says nothing of the domain; one that names it says plainly that the name is also a domain the grant
    does not cover (a domain and a hosting of one name are two things)."""
    said = notes(world, ticket_with(world, clientid=10, serviceid=110, subject="Question",
                                    message="When is our client's hosting due?"))  # fmt: skip
    assert not [n for n in said if "NO grant" in n], said
    assert [n for n in said if "VERIFIED" in n and "service #110" in n], said
    named = open_ticket(world)  # "When is boulangerie-dupont.fr due?"
    [plain] = [n for n in notes(world, named) if "NO grant" in n]
    # Not an alarm about a stranger: the name is the hosting's the agency looks after; the domain is another thing.
    assert "domain #11 boulangerie-dupont.fr" in plain and "service #110" in plain, plain
    assert "WARNING" not in plain and "NOT authorised" not in plain, plain
