"""Issue 16, fourteenth break round, against the sandbox and the CLI.

G7: the owner ends one access of an agency that keeps another on the same hosting, with full copies of access
details chosen by the owner. Offering to change the password "now that they no longer act for you" would send the
new password to that very agency (WHMCS's welcome email, copied to it): the owner is told the agency stays and still
receives the access details, and is offered no change until that access ends too.

G1/G2: a [renew] in lines that repeat an earlier message of the same ticket (staff's "write [renew]", or the agency's
own first request, quoted under a header the bridge does not know) invoiced the agency. Since the fifteenth round no
[renew] invoices: it sends the agency its renewal page link, once per ticket while that link is valid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_email_e2e import COPYING_ROLE, world_with
from tests.test_delegation_identity_e2e import owner_grants
from tests.test_delegation_tickets_break12 import notes
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


# --- G1, G2: a [renew] repeated from an earlier message of the same ticket -------------------------------------

# A Dutch Apple Mail header and a Polish Outlook one: quote headers no list of patterns knew. No pattern is needed:
# whatever the lines are, a [renew] in them invoices nothing.
STAFF_SAID = "It is due on 22 December. To have the renewal invoiced to you, write [renew] in a reply."
APPLE_NL = (
    "Nee, nog niet.\n\nOp 27 nov. 2026 om 10:00 heeft Support <support@billing.example.com> het volgende "
    f"geschreven:\n\n{STAFF_SAID}"
)
FIRST_ASK = "Please [renew] boulangerie-dupont.fr for our client."
OUTLOOK_PL = (
    "Thanks, all paid!\n\nLena\n\nOd: Lena Vogel <lena@pixelwerk.agency>\nWysłano: piątek, 27 listopada 2026 10:00\n"
    f"Do: Support\nTemat: boulangerie-dupont.fr\n\nHello,\n\n{FIRST_ASK}\n\nLena"
)


@pytest.fixture
def agency(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    yield from agency_granted(sandbox, tmp_path)


def test_staffs_words_quoted_under_an_unknown_header_invoice_nothing(agency: BridgeWorld):
    ticket = open_ticket(agency)
    reply(agency, ticket, STAFF_SAID, adminusername="Support")
    reply(agency, ticket, APPLE_NL, clientid=10)
    assert agency_renewals(agency) == []
    last = notes(agency, ticket)[-1]
    assert "was sent its renewal page link" in last and "nothing is invoiced until it asks there" in last, last


def test_the_agencys_own_first_request_quoted_back_sends_nothing_again(agency: BridgeWorld):
    opened = agency.sandbox.control(
        "act",
        {"action": "OpenTicket", "clientid": 10, "deptid": 1, "serviceid": 110, "subject": "boulangerie-dupont.fr",
         "message": f"Hello,\n\n{FIRST_ASK}\n\nLena"},
    )  # fmt: skip
    agency.settle(4)
    ticket = int(opened["id"])
    assert agency_renewals(agency) == []
    click_renew(agency, renew_link(agency, ticket), service="110")
    [first] = agency_renewals(agency)
    reply(agency, ticket, OUTLOOK_PL, clientid=10)
    assert [i["id"] for i in agency_renewals(agency)] == [first["id"]]
    assert len(link_emails(agency, ticket)) == 1  # the link sent for this ticket is still valid: nothing new
    last = notes(agency, ticket)[-1]
    assert "already sent its renewal page link for this ticket" in last, last


def test_a_new_request_in_the_writers_own_words_is_answered_with_the_link(agency: BridgeWorld):
    ticket = open_ticket(agency)
    reply(agency, ticket, STAFF_SAID, adminusername="Support")
    reply(agency, ticket, "Yes please, [renew] it for our client.", clientid=10)
    assert agency_renewals(agency) == []
    click_renew(agency, renew_link(agency, ticket), service="110")
    assert len(agency_renewals(agency)) == 1
