"""Issue 16, twelfth break round: the self-service pages and a grant's end decide from what WHMCS holds now (an
item staff moved to another client, a client staff deleted), and the owner's email says what stays by role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_selfservice_e2e import last_link, text


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


# What the pages say of an item no longer in the owner's account, per language (the delegate's language and the
# owner's are set alike): the delegate's row and refusal, the owner's row.
MOVED = {
    "english": ("is no longer in the account of Boulangerie Dupont", "is no longer in your account", "Next due date"),
    "french": (
        "ne fait plus partie du compte de Boulangerie Dupont",
        "ne fait plus partie de votre compte",
        "échéance",
    ),
    "dutch": (
        "hoort niet meer bij het account van Boulangerie Dupont",
        "hoort niet meer bij uw account",
        "vervaldatum",
    ),
    "indonesian": ("tidak lagi berada di akun Boulangerie Dupont", "tidak lagi berada di akun Anda", "Jatuh tempo"),
}


@pytest.mark.parametrize(
    ("kind", "item", "lang"),
    [("service", 110, "english"), ("domain", 11, "english"), ("service", 110, "french"), ("domain", 11, "dutch"),
     ("service", 110, "indonesian")],
)  # fmt: skip
def test_an_item_staff_moved_to_another_client_is_shown_as_no_longer_the_owners(
    world: SelfServiceWorld, kind: str, item: int, lang: str
):
    """N5 (d1_moved_page.py): grant Boulangerie Dupont (11) -> Pixelwerk Agency (10) on hosting 110; staff moved
    110 to Cabinet Martin (12) in WHMCS. The agency's page showed client 12's status and next due date under
    "Owner: Boulangerie Dupont" with a renew button; its click answered "Renewal requested", then an email said it
    could not be; the owner's page still showed the access as covering it. The pages read who holds the item now
    (GetClientsProducts / GetClientsDomains give its client id: DD:api-reference/getclientsproducts.md,
    getclientsdomains.md) and say it is no longer in the owner's account, without status, due date or button; a
    click from a page opened before the move is refused at once with that sentence, nothing invoiced."""
    for client in (10, 11):
        world.sandbox.post("UpdateClient", clientid=client, language=lang)
    grant_id = grant(world, f"--{kind}", str(item))
    delegate_link, owner_link = last_link(world, 10), last_link(world, 11)
    before = requests.get(delegate_link, timeout=10).text
    assert f'name={kind} value="{item}"' in before, before  # the renew button, before the move
    world.sandbox.control("move", {kind: item, "client": 12})
    said, owner_said, due = MOVED[lang]
    page = requests.get(delegate_link, timeout=10)
    shown = text(page)
    assert said in shown and f"#{item}" in shown, shown
    assert due not in shown and "name=do value=renew" not in page.text, shown
    none = {"english": "no service", "french": "aucun service", "dutch": "geen dienst", "indonesian": "tidak ada layanan"}
    assert f"Pixelwerk Agency{' :' if lang == 'french' else ':'} {none[lang]}." in shown, shown  # the heading counts none
    calls = len(world.sandbox.calls())
    click = requests.post(delegate_link, data={"do": "renew", "grant": grant_id, kind: str(item)}, timeout=10)
    assert click.status_code == 400 and said in text(click), text(click)
    assert said in text(requests.get(delegate_link, timeout=10))  # the used link says why, in its language
    world.settle()
    assert [c for c in world.sandbox.calls(calls) if c["action"] in ("CreateInvoice", "SendEmail")] == []
    assert "renewal" not in world.run("delegations", "show", grant_id).output
    owner_page = text(requests.get(owner_link, timeout=10))
    assert owner_said in owner_page and f"#{item}" in owner_page, owner_page


def test_a_whole_account_contacts_page_lists_only_what_the_owner_holds_now(world: SelfServiceWorld):
    """The same move under a grant on the owner's whole account: the page lists the owner's services and domains
    as WHMCS has them now, so the moved hosting is simply not there; its click is refused with the sentence."""
    grant_id = grant(world, "--whole-client")
    link = last_link(world, 10)
    world.sandbox.control("move", {"service": 110, "client": 12})
    page = requests.get(link, timeout=10).text
    assert 'name=service value="110"' not in page and 'name=domain value="11"' in page, page
    click = requests.post(link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert click.status_code == 400 and "is no longer in the account of Boulangerie Dupont" in text(click), text(click)


# The owner's page after it ended the access, and its email's subject, per language: (alone, both, subject).
ENDED = {
    "english": (
        "you will receive a confirmation by email",
        "both of you",
        "Pixelwerk Agency is no longer your technical contact",
    ),
    "french": (
        "vous recevrez une confirmation par e-mail",
        "tous deux",
        "Pixelwerk Agency n'est plus votre contact technique",
    ),
}


@pytest.mark.parametrize("lang", sorted(ENDED))
def test_a_deleted_delegate_is_a_closed_side_the_grant_does_not_act_and_the_owner_ends_it(
    world: SelfServiceWorld, lang: str
):
    """N9 (d15_delegate_deleted.py): staff deleted the agency (client 10) in WHMCS (DeleteClient,
    DD:api-reference/deleteclient.md; GetClientsDetails then answers "Client Not Found"). The copy of the owner's
    product email parked for staff ("WHMCS refused GetClientsDetails: Client Not Found"); the owner's page promised
    both sides an email and the agency's parked ("WHMCS refused SendEmail"); the owner's email named "client #10".
    A deleted client is a Closed side: the copy is cancelled with the one staff note, the page promises the owner
    alone an email, the owner's email names the agency by the name the grant kept, nothing waits for staff."""
    world.sandbox.post("UpdateClient", clientid=11, language=lang)
    alone, both, subject = ENDED[lang]
    grant_id = grant(world, "--service", "110")
    owner_link = last_link(world, 11)
    world.sandbox.control("act", {"action": "DeleteClient", "clientid": 10})
    deleted = len(world.sandbox.calls())
    for _ in range(2):  # two product emails: one staff note, no copy
        world.sandbox.control(
            "act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"}
        )
        world.settle()
    notes = [n["note"] for n in world.sandbox.rows("client_notes", client_id=11) if grant_id in n["note"]]
    closed = [n for n in notes if "no longer exists in WHMCS" in n]
    assert len(closed) == 1, notes
    assert "nothing is waiting for a decision" in world.run("approvals", "list").output
    ended = requests.post(owner_link, data={"do": "revoke", "grant": grant_id}, timeout=10)
    assert ended.status_code == 200 and both not in text(ended) and alone in text(ended), text(ended)
    before = len(world.emails(11))
    world.settle()
    [told] = world.emails(11)[before:]
    assert told["subject"].startswith(subject), told["subject"]
    assert "client #10" not in told["message"], told["message"]
    assert "nothing is waiting for a decision" in world.run("approvals", "list").output
    assert "revoked" in world.run("delegations", "show", grant_id).output
    tried = [
        c for c in world.sandbox.calls(deleted) if c["params"].get("id") == "10" or c["params"].get("userid") == "10"
    ]
    assert tried == [], tried  # no copy, note or email to the deleted agency was even tried


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


# The delegate's row in each language: WHMCS's status, the renewal under way with its amount in the delegate's
# currency (the sandbox's clients are in EUR; the page's no-break spaces read as spaces), then the last renewal's outcome; none of them in English.
PAGE_WORDS = {
    "french": ("actif", "14,95 €", "renouvelé"),
    "dutch": ("actief", "€ 14,95", "verlengd"),
    "indonesian": ("aktif", "€14,95", "diperpanjang"),
    "english": ("Active", "€14.95", "renewed"),
}


@pytest.mark.parametrize("lang", sorted(PAGE_WORDS))
def test_the_delegates_page_says_status_amount_and_renewal_in_its_language(world: SelfServiceWorld, lang: str):
    """Twelfth-round leftover: a French agency's page read "État : Active", "la facture #8 (14.95)" and, once paid,
    "Dernier renouvellement : renewed": WHMCS's status word, an amount without its currency and the bridge's own
    record word. The page says WHMCS's status in the reader's language (messages/statuses.py), the amount with the
    currency of the delegate's invoice (GetClientsDetails `currency_code`, DD:api-reference/getclientsdetails.md), and
    the renewal's outcome in words."""
    for client in (10, 11):
        world.sandbox.post("UpdateClient", clientid=client, language=lang)
    grant_id = grant(world, "--service", "110")
    status, amount, renewed = PAGE_WORDS[lang]
    link = last_link(world, 10)
    said = text(requests.get(link, timeout=10))
    assert f" {status} . " in said, said
    world.run("delegations", "renew", grant_id, "--by", "lena")  # the link stays unused: the same page, later
    world.settle(4)
    [invoice] = [i for i in world.sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    under_way = text(requests.get(link, timeout=10))
    assert f"#{invoice['id']} ({amount})" in under_way, under_way
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": invoice["id"], "transid": "t-page", "gateway": "stripe"}
    )
    world.settle(4)
    assert "renewed" in world.run("delegations", "show", grant_id).output
    after = text(requests.get(link, timeout=10))
    assert f": {renewed} (" in after, after
    if lang != "english":
        assert not re.search(r"\b(Active|renewed|invoiced)\b", after), after


def test_a_renew_form_posted_to_the_owners_page_leaves_its_link_usable(world: SelfServiceWorld):
    """Seventeenth break round L2: the owner's page has no renew button; a POST of do=renew to it used the link up with "This contact may
    not renew this service". A form the page did not offer is refused naming it, and the link still works."""
    grant_id = grant(world, "--service", "110")
    owner_link = last_link(world, 11)
    click = requests.post(owner_link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert click.status_code == 400 and "did not offer" in text(click), text(click)
    page = requests.get(owner_link, timeout=10)
    assert page.status_code == 200 and "name=do value=revoke" in page.text, text(page)
