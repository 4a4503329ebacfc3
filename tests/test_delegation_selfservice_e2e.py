"""The delegation self-service pages over plain HTTP, against the sandbox and the real receiver (issue 16, the
break test's leftovers): a used link says what it was used for and when (410), a refused click uses the link
too and the page says so, the delegate's next due date is WHMCS's now, and a ticket's [renew] is answered with the
page link, whose click renews (or is refused, with why, while a renewal is open)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_tickets_e2e import click_renew, link_emails, renew_link
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

World = SelfServiceWorld


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def granted(world: World) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    world.settle()
    return str(out.split()[0])


def page_link(world: World, client: int, subject: str) -> str:
    email = [e for e in world.emails(client) if subject in e["subject"]][-1]
    found = re.findall(r'href="([^"]+/consent/[^"]+)"', email["message"])
    assert found, "the email carries its self-service link"
    return str(found[-1])


def last_link(world: World, client: int) -> str:
    """The self-service link of the newest email to the client that carries one."""
    found = [re.findall(r'href="([^"]+/consent/[^"]+)"', e["message"]) for e in world.emails(client)]
    return str([f for f in found if f][-1][-1])


def text(response: requests.Response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))


def test_a_used_renew_link_says_it_was_used_for_the_renewal_and_when(world: World):
    grant_id = granted(world)
    link = page_link(world, 10, "You are now the technical contact")
    done = requests.post(link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert done.status_code == 200 and "Renewal requested" in done.text
    again = requests.get(link, timeout=10)
    assert again.status_code == 410
    said = text(again)
    assert "already been used" in said and "Decline" not in said
    assert "to ask for the renewal" in said and grant_id in said
    assert re.search(r"used on \w+ \d{1,2}, \d{4}", said), said  # when it was used
    assert requests.post(link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10).status_code == 410


def test_a_refused_click_uses_the_link_and_the_page_says_why(world: World, tmp_path: Path):
    grant_id = granted(world)
    link = page_link(world, 10, "You are now the technical contact")
    refused = requests.post(link, data={"do": "revoke", "grant": grant_id}, timeout=10)
    assert refused.status_code == 400 and "Only the owner can end this access here." in refused.text
    again = requests.get(link, timeout=10)
    assert again.status_code == 410
    said = text(again)
    assert "already been used" in said and "refused" in said and "Only the owner can end this access here." in said
    assert "Decline" not in said
    # Nothing was done, and the refusal is in the audit chain with who tried.
    assert f"{grant_id} active" in world.run("delegations", "list").output
    with Database(tmp_path / "state.db") as db:
        [entry] = audit.entries(db, action="selfservice.refused")
    assert entry.detail["refused"] == "Only the owner can end this access here." and entry.detail["ip"] == "127.0.0.1"


def test_the_delegates_page_shows_the_next_due_date_whmcs_has_now(world: World):
    granted(world)
    link = page_link(world, 10, "You are now the technical contact")
    before = date.fromisoformat(world.sandbox.rows("services", id=110)[0]["nextduedate"]).strftime("%B %-d, %Y")
    assert f"Next due date: {before}" in text(requests.get(link, timeout=10))
    # Staff move the date in WHMCS; no pass of the bridge runs: the page still shows WHMCS's date.
    world.sandbox.post("UpdateClientProduct", serviceid=110, nextduedate="2031-03-14", status="Suspended")
    said = text(requests.get(link, timeout=10))
    assert "Next due date: March 14, 2031" in said and before not in said
    assert "Status: Suspended" in said


def test_a_ticket_renew_while_one_is_open_sends_the_link_and_the_page_refuses_a_second(world: World):
    sandbox = world.sandbox
    grant_id = granted(world)
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    [invoice] = [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    ticket = sandbox.post(
        "OpenTicket", deptid=2, clientid=10, subject="[renew] boulangerie-dupont.fr", message="Renew it again please."
    ).json()
    world.settle(5)
    note = sandbox.rows("ticket_notes", ticket_id=int(ticket["id"]))[0]["message"]
    assert "VERIFIED technical contact" in note and "was sent its renewal page link" in note, note
    link = renew_link(world, int(ticket["id"]))
    assert 'name=service value="110"' not in requests.get(link, timeout=10).text  # no button while one is open
    refused = requests.post(link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert refused.status_code == 400 and f"invoice #{invoice['id']}" in text(refused), text(refused)
    world.settle(4)
    assert len([i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]) == 1


def test_the_delegate_asks_for_a_granted_domains_renewal_on_its_page(world: World):
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    grant_id = world.run("delegations", "list").output.split()[0]
    link = page_link(world, 10, "You are now the technical contact")
    due = date.fromisoformat(sandbox.rows("domains", id=11)[0]["nextduedate"]).strftime("%B %-d, %Y")
    said = text(requests.get(link, timeout=10))
    assert "boulangerie-dupont.fr" in said and f"Next due date: {due}" in said
    done = requests.post(link, data={"do": "renew", "grant": grant_id, "domain": "11"}, timeout=10)
    assert done.status_code == 200 and "Renewal requested" in done.text
    world.settle(4)
    [invoice] = [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    [line] = sandbox.rows("invoice_items", invoice_id=invoice["id"])
    assert "boulangerie-dupont.fr" in line["description"]
    assert "renewal 1: domain #11, invoiced" in world.run("delegations", "show", grant_id).output


def test_a_tickets_renew_about_a_granted_domain_links_to_the_domains_renewal(world: World):
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    grant_id = world.run("delegations", "list").output.split()[0]
    ticket = sandbox.post(
        "OpenTicket", deptid=2, clientid=10, subject="[renew] boulangerie-dupont.fr", message="Renew the domain."
    ).json()
    world.settle(5)
    note = sandbox.rows("ticket_notes", ticket_id=int(ticket["id"]))[0]["message"]
    assert "VERIFIED technical contact" in note and "nothing is invoiced until it asks there" in note, note
    assert "renewal 1" not in world.run("delegations", "show", grant_id).output
    click_renew(world, renew_link(world, int(ticket["id"])), domain="11")
    assert "renewal 1: domain #11, invoiced" in world.run("delegations", "show", grant_id).output


def test_the_owner_ending_one_of_two_grants_on_its_page_hears_what_stays(world: World):
    """As when staff revoke one of a contact's grants: the owner's email names what the contact still covers."""
    hosting = granted(world)
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    link = page_link(world, 11, "is now")
    assert requests.post(link, data={"do": "revoke", "grant": hosting}, timeout=10).status_code == 200
    world.settle()
    [ended] = [e for e in world.emails(11) if "is no longer your" in e["subject"]]
    stays = ended["message"].split("remains your technical contact for")
    assert len(stays) == 2 and "boulangerie-dupont.fr" in stays[1] and "Business" not in stays[1], ended["message"]


def test_a_whole_account_contact_sees_and_renews_the_owners_services_on_its_page(world: World):
    """Issue-16 break test M4: a grant on the owner's whole account listed nothing to renew on the delegate's page.
    The page lists the owner's services and domains as WHMCS has them now, each with its renew button; a click
    renews the one named, invoiced to the delegate."""
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    grant_id = world.run("delegations", "list").output.split()[0]
    link = page_link(world, 10, "You are now the technical contact")
    page = requests.get(link, timeout=10).text
    assert 'name=service value="110"' in page and 'name=domain value="11"' in page, page
    assert 'value="120"' not in page  # another client's service is not offered
    done = requests.post(link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert done.status_code == 200 and "Renewal requested" in done.text
    world.settle(4)
    [invoice] = [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    assert invoice["total"] == "14.95"
    assert "renewal 1: service #110, invoiced" in world.run("delegations", "show", grant_id).output


def test_a_hosting_and_a_domain_of_one_name_are_told_apart_on_the_page_and_in_a_tickets_renew(world: World):
    """Hostile round of issue 16 (finding 3): the owner's hosting #110 and domain #11 are both
    boulangerie-dupont.fr. On the whole-account contact's page each is named by its kind and id; a ticket's
    plain [renew] naming that name renews nothing: its link's email names both; [renew domain 11]'s names the domain
    only, and the click on the page renews exactly that domain, by its WHMCS id and type."""
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    grant_id = world.run("delegations", "list").output.split()[0]
    page = requests.get(page_link(world, 10, "You are now the technical contact"), timeout=10).text
    headings = [re.sub(r"<[^>]+>|\s+", " ", h).strip() for h in re.findall(r"<h2>(.*?)</h2>", page)]
    buttons = [re.sub(r"\s+", " ", b).strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", page)]
    assert len(set(headings)) == len(headings) and len(set(buttons)) == len(buttons), (headings, buttons)
    assert any("boulangerie-dupont.fr" in h and "110" in h for h in headings), headings
    assert any("boulangerie-dupont.fr" in h and "#11" in h and "Domain" in h for h in headings), headings
    plain = sandbox.post(
        "OpenTicket", deptid=2, clientid=10, subject="[renew] boulangerie-dupont.fr", message="Renew it please."
    ).json()
    world.settle(5)
    [email] = link_emails(world, int(plain["id"]))
    assert "Business (boulangerie-dupont.fr)" in email["message"] and "and boulangerie-dupont.fr" in email["message"]
    assert [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]] == []
    named = sandbox.post(
        "OpenTicket", deptid=2, clientid=10, subject="[renew domain 11] boulangerie-dupont.fr", message="The domain."
    ).json()
    world.settle(5)
    [email] = link_emails(world, int(named["id"]))
    assert "Business" not in email["message"], email["message"]  # the one it names: the domain
    click_renew(world, renew_link(world, int(named["id"])), domain="11")
    assert "renewal 1: domain #11, invoiced" in world.run("delegations", "show", grant_id).output


def test_the_link_in_a_copy_of_one_owners_email_shows_only_that_owners_grants(world: World):
    """Tenth break round H4: the agency forwards the [Copy] of Boulangerie Dupont's email to Marie; the link in it
    showed the agency's grants on every client. A link in a copy shows (and renews) only what concerns that owner's
    grants with the agency, whatever is posted to it; the link in the agency's own notice still shows all."""
    for owner, service in ((11, 110), (12, 120), (13, 130)):
        world.run(
            "delegations", "grant", "--owner", str(owner), "--delegate", "10", "--service", str(service),
            "--by", "alice", "--basis", "owner's email",
        )  # fmt: skip
    world.settle()
    other = next(g.split()[0] for g in world.run("delegations", "list").output.splitlines() if "Cabinet" in g)
    world.sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    copy = page_link(world, 10, "[Copy] Service Suspension Notification")
    said = text(requests.get(copy, timeout=10))
    assert "boulangerie-dupont.fr" in said, said
    assert "cabinet-martin" not in said and "garage-leroy" not in said and "Cabinet Martin" not in said, said
    own = text(requests.get(page_link(world, 10, "You are now the technical contact"), timeout=10))
    assert "cabinet-martin" in own and "garage-leroy" in own and "boulangerie-dupont.fr" in own, own
    # Another owner's grant posted to the copy's link is not this page's to renew: refused, nothing invoiced.
    refused = requests.post(copy, data={"do": "renew", "grant": other, "service": "120"}, timeout=10)
    assert refused.status_code == 400, refused.text
    world.settle(4)
    assert [i for i in world.sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]] == []


@pytest.mark.parametrize("status", ["Expired", "Grace", "Redemption"])
def test_an_expired_domain_has_no_renew_button_and_the_page_says_to_contact_support(world: World, status: str):
    """Tenth break round M1: an Expired (or Grace, Redemption) domain showed a renew button that was always refused,
    the agency then told the owner must order it again (re-ordering a name still registered fails). The page shows
    the domain with its status, no renew button, and says it has expired and to contact support quickly; a whole-
    account contact sees it too; a renewal asked anyway is refused with the same advice, never 'order it again'."""
    world.sandbox.post("UpdateClient", clientid=10, language="french")
    world.sandbox.post(
        "UpdateClientDomain", domainid=11, status=status, expirydate="2026-11-20", nextduedate="2026-11-20"
    )
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    listed = world.run("delegations", "list").output.splitlines()
    grant_id = next(g.split()[0] for g in listed if "domain #11" in g)
    page = requests.get(last_link(world, 10), timeout=10).text
    said = text(requests.get(last_link(world, 10), timeout=10))
    assert 'name=domain value="11"' not in page, page  # no button, on either grant
    # Covered by the named grant and the whole-account one, listed once (twenty-first round L3).
    assert said.count("boulangerie-dupont.fr (#11)") == 1, said
    assert "a expiré" in said and "support" in said and "commander" not in said, said
    world.run("delegations", "renew", grant_id, "--domain", "11", "--by", "lena")
    world.settle(4)
    told = [e for e in world.emails(10) if "ne peut pas être renouvelé" in e["subject"]]
    assert told and "a expiré" in told[-1]["message"] and "commander" not in told[-1]["message"], told


@pytest.mark.parametrize(
    ("lang", "refused", "english", "open"),
    [
        ("french", "Seul le titulaire", "Only the owner", "déjà en cours"),
        ("dutch", "Alleen de eigenaar", "Only the owner", "loopt al"),
        ("indonesian", "Hanya pemilik", "Only the owner", "sedang berjalan"),
    ],
)
def test_a_refusal_on_a_page_is_in_the_readers_language(world: World, lang: str, refused: str, english: str, open: str):
    """Tenth break round L1: refusals were the bridge's English sentences on French, Dutch, Indonesian pages."""
    world.sandbox.post("UpdateClient", clientid=10, language=lang)
    grant_id = granted(world)
    link = last_link(world, 10)
    done = requests.post(link, data={"do": "revoke", "grant": grant_id}, timeout=10)
    assert done.status_code == 400 and refused in text(done) and english not in text(done), text(done)
    again = text(requests.get(link, timeout=10))
    assert refused in again and english not in again, again
    # An open renewal refuses a second one from an older page: said in the reader's language too.
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--domain", "11", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle(4)
    fresh = last_link(world, 10)  # the new grant's email: a page opened before the renewal was asked
    second = text(requests.post(fresh, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10))
    assert open in second and "is open" not in second and "renewal 1" not in second, second
    assert open in text(requests.get(fresh, timeout=10))  # and when the used link is opened again
