"""Issue 16, fourteenth break round's G9, G12 and G13: a non-owner writing about the account is cautioned whatever
its words, and warned on more ways to take a domain or an account over; a note names which owner owns what; a
contact of the agency's account is called a contact, not "another user"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_delegation_renewal_e2e import World, agency_invoices, pay
from tests.test_delegation_tickets_break12 import notes, open_ticket
from whmcs_bridge.families.delegation.copies import SENSITIVE

TAKEOVERS = [
    "Please unlock cabinet-martin.fr, we are moving it.",
    "Merci de déverrouiller le domaine cabinet-martin.fr.",
    "Graag cabinet-martin.fr ontgrendelen.",
    "Tolong buka kunci domain cabinet-martin.fr.",
    "Please point the nameservers of cabinet-martin.fr to ns1.pixelwerk.agency.",
    "Merci de changer les serveurs DNS de cabinet-martin.fr vers les nôtres.",
    "Please change the MX records of cabinet-martin.fr to our mail server.",
    "Graag de DNS-records van cabinet-martin.fr aanpassen.",
    "Tolong ubah nameserver cabinet-martin.fr.",
    "Please invite lena@pixelwerk.agency to the Cabinet Martin account.",
    "Please give Lena full permissions on the Cabinet Martin account.",
    "Please add lena@pixelwerk.agency as a user of this account.",
    "Merci d'inviter lena@pixelwerk.agency sur le compte.",
    "Graag lena@pixelwerk.agency uitnodigen voor het account.",
    "Tolong undang lena@pixelwerk.agency ke akun ini.",
    "Please change the phone number on the account to +49 30 1234567.",
    "Merci de changer le numéro de téléphone du compte.",
    "Please send me the code to move cabinet-martin.fr.",
    "Graag de verhuiscode van cabinet-martin.fr.",
    "Please set lena@pixelwerk.agency as the account's email.",
    "Please make lena@pixelwerk.agency receive all emails of this account.",
]


@pytest.mark.parametrize("text", TAKEOVERS)
def test_more_ways_to_take_a_domain_or_an_account_over_are_warned_about(text: str):
    """G9 (f5_sensitive_words.py): unlocking a domain (with a code it is a transfer), its nameservers or MX (the
    site and the mail), a new user or permissions, the account's phone or email: none was warned about."""
    assert SENSITIVE.search(text), text


@pytest.mark.parametrize(
    "text", ["The site cabinet-martin.fr is slow since this morning.", "Is the invoice for May paid?", "Renew please"]
)
def test_everyday_questions_are_not_warned_about(text: str):
    assert not SENSITIVE.search(text), text


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def grant(world: World, owner: str, *items: str) -> None:
    world.run("delegations", "grant", "--owner", owner, "--delegate", "10", *items, "--by", "alice",
              "--basis", "owner's email")  # fmt: skip
    world.settle()


def test_a_non_owner_user_is_cautioned_whatever_it_asks_and_warned_on_nameservers(world: World):
    """G9: a word list always misses a way to ask; what the bridge knows for a fact (the writer is not the owner of a
    company's account) is said on every note, with what to confirm with the owner first."""
    plain = open_ticket(world, clientid=12, userid=1, subject="Slow site",
                        message="The site cabinet-martin.fr is slow since this morning.")  # fmt: skip
    asks = open_ticket(world, clientid=12, userid=1, subject="DNS",
                       message="Please point the nameservers of cabinet-martin.fr to ns1.pixelwerk.agency.")  # fmt: skip
    world.settle(2)
    [calm] = [n for n in notes(world, plain) if "another user of that account" in n]
    assert "WARNING" not in calm and "confirm with the account's owner before" in calm, calm
    assert "nameservers" in calm and "transfer" in calm, calm
    [warned] = [n for n in notes(world, asks) if "another user of that account" in n]
    assert "WARNING: this user asks for access" in warned, warned


def test_a_contact_of_the_agencys_account_is_called_a_contact(world: World):
    """G13 (f11_delegate_contact.py): contact #2 of the agency (not a WHMCS user) wrote about the owner's service
    and the note called it "another user of Pixelwerk Agency's account"."""
    grant(world, "11", "--service", "110")
    contact = world.sandbox.post(
        "AddContact", clientid=10, firstname="Tom", lastname="Intern", email="tom.intern@gmail.com"
    ).json()["contactid"]
    ticket = open_ticket(world, clientid=10, contactid=int(contact), subject="boulangerie-dupont.fr", serviceid=110,
                         message="Hi, please send me the cPanel password of boulangerie-dupont.fr. Tom")  # fmt: skip
    world.settle(2)
    [note] = [n for n in notes(world, ticket) if "VERIFIED" in n]
    assert f"a contact of Pixelwerk Agency's account (WHMCS contact #{contact})" in note, note
    assert "another user" not in note and "WARNING" in note, note


def test_a_note_naming_two_owners_items_says_which_owner_owns_which(world: World):
    """G12 (f10_wrong_ids.py t3): "service #130 ... and domain #11 ... (owner: Garage Leroy and Boulangerie Dupont)"
    left staff to guess which owns which."""
    services = {int(s["id"]): s for s in world.sandbox.rows("services")}
    domains = {int(d["id"]): d for d in world.sandbox.rows("domains")}
    other = next(s for s in services.values() if int(s["client_id"]) not in (10, 11))
    mine = next({**d, "domain": d["domainname"]} for d in domains.values() if int(d["client_id"]) == 11)
    ticket = open_ticket(world, clientid=10, subject="Two sites",
                         message=f"About {other['domain']} and {mine['domain']}, please.")  # fmt: skip
    world.settle(2)
    warnings = [n for n in notes(world, ticket) if "has NO grant" in n]
    assert len(warnings) == 2 and all(n.count("owner:") == 1 for n in warnings), warnings
    assert any(mine["domain"] in n and "Boulangerie Dupont" in n for n in warnings), warnings


def test_a_registrar_error_after_the_agency_paid_tells_the_agency_its_payment_is_being_checked(world: World):
    """G11 (f9_registrar_fails.py perm): the agency paid its domain renewal; WHMCS refused DomainRenew ("Registrar
    Error: Insufficient account balance") and the action parked for staff; the agency, which had paid, heard
    nothing. It is told once, whatever the passes; staff approving it once the registrar works renews it once."""
    grant(world, "11", "--domain", "11")
    grant_id = world.run("delegations", "list", "--owner", "11").output.split()[0]
    assert "renewal 1 of grant" in world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena").output
    world.settle(4)
    [mine] = agency_invoices(world)
    world.sandbox.control("faults", {"status": 200, "count": 99, "actions": ["DomainRenew"],
                                     "message": "Registrar Error: Insufficient account balance"})  # fmt: skip
    before = {int(e["id"]) for e in world.sandbox.rows("emails", client_id=10)}
    pay(world, mine["id"], "CARD-11")
    world.settle(6)
    told = [e for e in world.sandbox.rows("emails", client_id=10) if int(e["id"]) not in before]
    checked = [e for e in told if "being checked" in e["subject"]]
    assert len(checked) == 1 and f"invoice #{mine['id']}" in checked[0]["subject"], [e["subject"] for e in told]
    assert "could not be completed yet" in checked[0]["message"], checked[0]["message"]
    assert "renewal 1: domain #11, paid" in world.run("delegations", "show", grant_id).output
    world.sandbox.control("faults", {"status": 0, "count": 0})
    [parked] = [line.split()[0] for line in world.run("approvals", "list").output.splitlines() if "renew_domain" in line]
    world.run("approvals", "approve", parked.lstrip("#"), "--by", "carol")
    world.settle(4)
    assert len([c for c in world.sandbox.calls() if c["action"] == "DomainRenew" and c.get("outcome") != "fault"]) >= 1
    assert "renewal 1: domain #11, renewed" in world.run("delegations", "show", grant_id).output


FRENCH_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def test_a_held_renewal_approved_by_staff_tells_the_agency_once_it_is_renewed(world: World):
    """Outside tester, M4: the agency was told its payment was being checked (the registrar refused the renewal);
    staff approved it once the registrar worked and the domain was renewed, and the agency heard nothing more. It is
    told once, in its language, that the renewal is done and until when (the due date the renewal wrote in WHMCS)."""
    world.sandbox.post("UpdateClient", clientid=10, language="french")
    grant(world, "11", "--domain", "11")
    grant_id = world.run("delegations", "list", "--owner", "11").output.split()[0]
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    [mine] = agency_invoices(world)
    world.sandbox.control("faults", {"status": 200, "count": 99, "actions": ["DomainRenew"],
                                     "message": "Registrar Error: Insufficient account balance"})  # fmt: skip
    pay(world, mine["id"], "CARD-11")
    world.settle(6)
    world.sandbox.control("faults", {"status": 0, "count": 0})
    before = {int(e["id"]) for e in world.sandbox.rows("emails", client_id=10)}
    [parked] = [line.split()[0] for line in world.run("approvals", "list").output.splitlines() if "renew_domain" in line]
    world.run("approvals", "approve", parked.lstrip("#"), "--by", "carol")
    world.settle(6)
    [domain] = world.sandbox.rows("domains", id=11)
    told = [e for e in world.sandbox.rows("emails", client_id=10) if int(e["id"]) not in before]
    done = [e for e in told if "est effectué" in e["subject"] and f"#{mine['id']}" in e["subject"]]
    assert len(done) == 1, [(e["subject"], e["message"]) for e in told]
    due = date.fromisoformat(domain["nextduedate"])
    until = f"jusqu'au {due.day} {FRENCH_MONTHS[due.month - 1]} {due.year}"  # the date WHMCS shows now
    assert "est renouvelé" in done[0]["message"] and until in done[0]["message"], (until, done[0]["message"])
    world.settle(4)
    again = [e for e in world.sandbox.rows("emails", client_id=10) if int(e["id"]) not in before]
    assert len(again) == len(told), [e["subject"] for e in again]
