"""Issue 16's acceptance: the o2switch help page (seed 002), played against the sandbox, the real receiver and
the CLI, case by case as the page writes them. Technical contact: sees the service, renews it, gets copies of
the emails about it (the welcome email with the access codes, the expiry alerts), speaks for it in support.
Administrative contact: orders in the owner's name and becomes technical contact of what it ordered. Billing:
"the invoice is always issued in the name of whoever pays", cases 1 to 4, and the order paid by the agency.

The details of each mechanism have their own tests (test_delegation_*); this file is the page's story."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge.store.db import Database

OWNER, AGENCY, SERVICE, DOMAIN = 11, 10, 110, 11
# The page: the technical contact receives "une copie du mail Bienvenue chez O2switch qui contient les codes
# d'accès": a role that allows copies of the welcome email; the owner chooses them on its consent page.
ROLE = """  roles:
    technical:
      copy_emails: [product, domain]
      welcome_email: copy
      support_authority: true
      renew: true
    administrative:
      copy_emails: []
      welcome_email: none
      support_authority: false
      renew: false
      order_for_owner: true
  order_invoice_to: payer
"""


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n" + ROLE)
    w.run("tick")
    yield w
    w.close()


def technical_contact(world: BridgeWorld) -> str:
    """The agency (client 10) asks to be technical contact of the owner's (client 11) hosting and domain; the
    owner accepts on its one-time consent page, with full copies (access details included)."""
    out = world.run(
        "delegations", "grant", "--request", "--owner", str(OWNER), "--delegate", str(AGENCY),
        "--service", str(SERVICE), "--domain", str(DOMAIN), "--by", "lena", "--basis", "we build their site",
    ).output  # fmt: skip
    world.settle()
    mail = next(e for e in world.emails(OWNER) if e["subject"].startswith("Your consent is needed"))
    link = re.search(r'href="([^"]+)"', mail["message"])
    assert link
    assert requests.post(link.group(1), data={"decision": "accept-copies"}, timeout=5).status_code == 200
    world.settle()
    return str(out.split()[0])


def owner_invoice(world: BridgeWorld) -> dict[str, Any]:
    return next(
        i for i in world.sandbox.rows("invoices", client_id=OWNER) if i["status"] == "Unpaid" and i["total"] == "14.95"
    )


def agency_renewals(world: BridgeWorld) -> list[dict[str, Any]]:
    return [i for i in world.sandbox.rows("invoices", client_id=AGENCY) if "Delegated renewal" in i["notes"]]


def pay(world: BridgeWorld, invoice_id: int, transid: str) -> None:
    world.sandbox.control(
        "act", {"action": "AddInvoicePayment", "invoiceid": invoice_id, "transid": transid, "gateway": "stripe"}
    )
    world.settle(4)


def due(world: BridgeWorld) -> str:
    return str(world.sandbox.rows("services", id=SERVICE)[0]["nextduedate"])


def copies(world: BridgeWorld, subject: str) -> list[dict[str, Any]]:
    return [e for e in world.emails(AGENCY) if e["subject"] == f"[Copy] {subject}"]


def test_the_technical_contact_sees_gets_copies_and_speaks_for_the_service(world: BridgeWorld):
    sandbox = world.sandbox
    grant_id = technical_contact(world)
    # "une visibilité sur la prestation concernée": the agency's list names the owner's hosting and domain.
    listed = world.run("delegations", "list", "--delegate", str(AGENCY)).output
    assert f"{grant_id} active" in listed and "boulangerie-dupont.fr (service #110" in listed
    # "une copie du mail Bienvenue ... qui contient les codes d'accès".
    sandbox.control("act", {"action": "SendEmail", "id": SERVICE, "messagename": "Hosting Account Welcome Email"})
    world.settle()
    password = sandbox.rows("services", id=SERVICE)[0]["password"]
    [welcome] = [e for e in world.emails(AGENCY) if e["subject"].startswith("[Copy]") and password in e["message"]]
    # "ou encore une copie des emails des alertes d'expirations": the domain's renewal notice.
    sandbox.control("act", {"action": "SendEmail", "id": DOMAIN, "messagename": "Upcoming Domain Renewal Notice"})
    world.settle()
    assert copies(world, "Upcoming Domain Renewal Notice")
    # ... but never a copy about another client's site, nor the owner's invoices (a grant on two items).
    assert all("garage-leroy" not in e["message"] for e in world.emails(AGENCY))
    # "il est autorisé à contacter le support ... comme s'il s'agissait du propriétaire".
    ticket = sandbox.post(
        "OpenTicket", deptid=1, clientid=AGENCY, subject="Changer les codes cPanel de boulangerie-dupont.fr",
        message="Bonjour, merci de changer le mot de passe cPanel de boulangerie-dupont.fr. Lena",
    ).json()  # fmt: skip
    world.settle(4)
    [note] = [n["message"] for n in sandbox.rows("ticket_notes", ticket_id=int(ticket["id"]))]
    assert "VERIFIED technical contact" in note and grant_id in note


def test_case_1_the_webmaster_renews_from_its_own_area_and_is_invoiced(world: BridgeWorld):
    """Cas n°1: the webmaster renews the service it is technical contact for: the invoice is in its name."""
    sandbox = world.sandbox
    grant_id = technical_contact(world)
    owners = owner_invoice(world)
    before = due(world)
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    [invoice] = agency_renewals(world)
    assert invoice["total"] == "14.95"
    pay(world, invoice["id"], "CARD-AGENCY")
    after = due(world)
    assert after > before  # renewed once, by the agency's payment
    # The owner's invoice no longer asks for it (it had this one item: cancelled), nothing paid in its name.
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Cancelled"
    assert sandbox.rows("transactions", invoice_id=owners["id"]) == []


@pytest.mark.parametrize("who", ["owner", "webmaster logged in as the owner"])
def test_cases_2_and_3_a_payment_from_the_owners_account_is_the_owners(world: BridgeWorld, who: str):
    """Cas n°2 (the owner renews) and n°3 (the webmaster uses the owner's login): WHMCS records one payment
    on the owner's invoice either way. The bridge issues nothing to the agency; an agency renewal asked
    meanwhile is cancelled, and the agency is told."""
    sandbox = world.sandbox
    grant_id = technical_contact(world)
    owners = owner_invoice(world)
    if who != "owner":  # the webmaster had also asked for the renewal from its own area
        world.run("delegations", "renew", grant_id, "--by", "lena")
        world.settle(4)
        assert len(agency_renewals(world)) == 1
    before = due(world)
    pay(world, owners["id"], "CARD-OWNER")
    assert sandbox.rows("invoices", id=owners["id"])[0]["status"] == "Paid"
    assert due(world) > before  # WHMCS renewed it on the owner's payment
    assert all(i["status"] == "Cancelled" for i in agency_renewals(world))
    assert not copies(world, "Invoice Payment Confirmation")  # the owner's invoices stay the owner's
    if who != "owner":
        assert any("cancel" in e["message"].lower() for e in world.emails(AGENCY) if "renew" in e["subject"].lower())


def test_case_4_quick_renew_links_never_reach_the_technical_contact(world: BridgeWorld):
    """Cas n°4: "nous n'envoyons pas de lien de renouvellement rapide aux contacts techniques": the owner's
    expiry alert carries its one-click renewal link; the agency's copy has the words, not the link."""
    sandbox = world.sandbox
    sandbox.control(
        "template",
        {
            "name": "Upcoming Domain Renewal Notice",
            "type": "domain",
            "subject": "{$domain_name} expire bientôt",
            "message": '<p>Renouveler : <a href="https://billing.example.com/cart.php?a=renew&id={$domain_id}'
            '&key=Q7kd02Lx">Renouveler en un clic</a></p>',
        },
    )
    technical_contact(world)
    sandbox.control("act", {"action": "SendEmail", "id": DOMAIN, "messagename": "Upcoming Domain Renewal Notice"})
    world.settle()
    [sent] = [e for e in world.emails(OWNER) if e["subject"] == "boulangerie-dupont.fr expire bientôt"]
    assert "Q7kd02Lx" in sent["message"]
    [copy] = copies(world, "boulangerie-dupont.fr expire bientôt")
    assert "Q7kd02Lx" not in copy["message"] and "Renouveler en un clic" in copy["message"]


def test_the_administrative_contact_orders_in_the_owners_name_and_pays(world: BridgeWorld, tmp_path: Path):
    """ "Commander au nom d'une autre personne": the agency's user ordered hosting and a domain for client 12
    (order 1 of the scenario). The agency becomes technical contact of both; the invoice is issued to the
    agency, which pays it (the summary page's "la facture est émise au nom de la personne qui est à l'origine
    du paiement"), and the owner's order is accepted once."""
    sandbox = world.sandbox
    world.run(
        "delegations", "grant", "--owner", "12", "--delegate", str(AGENCY), "--whole-client", "--role",
        "administrative", "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()
    with Database(tmp_path / "state.db") as db:  # the order predates the bridge; present it as news
        sql(db, "DELETE FROM poll_seen WHERE list = 'orders'")
    world.settle(6)
    listed = world.run("delegations", "list", "--delegate", str(AGENCY)).output
    assert re.search(r"is technical contact of Cabinet Martin Avocats \(client #12\) for martin-notaires\.fr", listed)
    [invoice] = [i for i in sandbox.rows("invoices", client_id=AGENCY) if "Order #1" in i["notes"]]
    assert invoice["total"] == "21.90"
    pay(world, invoice["id"], "CARD-ORDER")
    assert sandbox.rows("orders", id=1)[0]["status"] == "Active"
    owners = [i for i in sandbox.rows("invoices", client_id=12) if i["total"] in ("21.90", "0.00")]
    assert all(i["status"] != "Paid" or not sandbox.rows("transactions", invoice_id=i["id"]) for i in owners)
