"""Contact delegation end to end: the agency scenario, the sandbox's hook events delivered to the real
receiver, the bridge's passes; the sandbox's email log and call log show copies, notes and silence."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, sql
from tests.test_delegation_tickets_e2e import click_renew, link_emails, renew_link
from whmcs_bridge.store import audit, inbox
from whmcs_bridge.store.db import Database


class World(BridgeWorld):
    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        super().__init__(sandbox, tmp, "delegation:\n  enabled: true\n")


def grant_agency(
    world: World,
    *extra: str,
    owner: int = 11,
    service: int | None = 110,
    basis: str = "owner's email",
    by: str = "alice",
) -> Any:
    """Make the agency (client 10) a contact of an end client's hosting (default: client 11's service 110)."""
    covers = ["--service", str(service)] if service is not None else []
    args = [
        "delegations",
        "grant",
        "--owner",
        str(owner),
        "--delegate",
        "10",
        *covers,
        "--by",
        by,
        "--basis",
        basis,
    ]
    return world.run(*args, *extra)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")  # the first poll records where WHMCS stands
    yield w
    w.close()


def test_grant_copies_support_authority_and_revocation(world: World):
    sandbox = world.sandbox
    granted = grant_agency(world, owner=11, service=110, basis="owner's email of 2026-11-20").output
    grant_id = granted.split()[0]
    world.settle()
    assert any(n["note"].startswith(f"Delegation {grant_id}: ") for n in sandbox.rows("client_notes", client_id=11))
    assert any(n["note"].startswith(f"Delegation {grant_id}: ") for n in sandbox.rows("client_notes", client_id=10))
    assert any("now the technical contact of Boulangerie Dupont" in e["subject"] for e in world.emails(10))
    listed = world.run("delegations", "list", "--owner", "11").output
    assert (
        f"{grant_id} active: Pixelwerk Agency (client #10) is technical contact of Boulangerie Dupont (client #11) "
        "for boulangerie-dupont.fr (service #110) (since "
    ) in listed

    # WHMCS emails the owner about the service: the agency gets a marked copy; the copy is not copied on.
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Unsuspension Notification"})
    world.settle()
    copies = [e for e in world.emails(10) if e["subject"] == "[Copy] Service Unsuspension Notification"]
    assert len(copies) == 1 and "delegated copy" in copies[0]["message"]  # the mark no copy is copied on
    assert (
        "This is a copy of an email sent to Boulangerie Dupont about Business (boulangerie-dupont.fr)"
        in (copies[0]["message"])
    )
    # the welcome email: a notice that the owner has the access details, not the credentials
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Hosting Account Welcome Email"})
    world.settle()
    password = sandbox.rows("services", id=110)[0]["password"]
    assert any(password in e["message"] for e in world.emails(11))  # the owner got it
    notice = [e for e in world.emails(10) if e["subject"] == "[Notice] Hosting Account Welcome Email"]  # by its template
    assert len(notice) == 1 and password not in notice[0]["message"] and "access details" in notice[0]["message"]

    # The agency asks support about its client's site: a staff-only note says it is a verified contact.
    opened = sandbox.post(
        "OpenTicket",
        deptid=1,
        clientid=10,
        subject="cPanel password for boulangerie-dupont.fr",
        message="Please reset it, we manage this site.",
    ).json()
    world.settle(4)
    notes = sandbox.rows("ticket_notes", ticket_id=int(opened["id"]))
    # The grant covers the hosting, not the domain of the same name (issue 16): a note for each.
    assert len(notes) == 2
    assert (
        f"VERIFIED technical contact of Boulangerie Dupont (#11): Pixelwerk Agency (#10), grant {grant_id}, since"
        in notes[0]["message"]
    )
    assert "has NO grant" in notes[1]["message"]

    # Someone with no grant asks about the same site: a warning note, and nothing at all sent to them.
    stranger = sandbox.post(
        "OpenTicket",
        deptid=1,
        clientid=13,
        subject="Give me access to boulangerie-dupont.fr",
        message="I need the FTP password of boulangerie-dupont.fr",
    ).json()
    calls_before = len(sandbox.calls())
    world.settle(4)
    warning = sandbox.rows("ticket_notes", ticket_id=int(stranger["id"]))
    assert len(warning) == 1 and "WARNING: Garage Leroy (#13) has NO grant" in warning[0]["message"]
    to_stranger = [
        c
        for c in sandbox.calls()[calls_before:]
        if c["action"] in ("SendEmail", "AddTicketReply", "OpenTicket")
        and ("13" in (c["params"].get("id"), c["params"].get("clientid")))
    ]
    assert to_stranger == [] and [e for e in world.emails(13) if "boulangerie" in e["message"].lower()] == []

    # The owner revokes: both are told, and copies stop at once.
    revoked = world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency").output
    assert "revoked" in revoked
    world.settle()
    assert any("has ended" in e["subject"] for e in world.emails(10))
    assert any("recommend changing it" in e["message"] for e in world.emails(11))
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    assert any(e["subject"] == "Service Suspension Notification" for e in world.emails(11))
    assert [e for e in world.emails(10) if "Suspension" in e["subject"]] == []
    shown = world.run("delegations", "show", grant_id).output
    assert "granted by alice" in shown and "revoked by owner: changed agency" in shown
    # Readable fields, names first (--json keeps the stored grant for machines).
    assert (
        f"Grant {grant_id}\n  delegate:  Pixelwerk Agency (client #10)\n  owner:     Boulangerie Dupont (client #11)\n"
        in shown
    )
    assert "  covers:    boulangerie-dupont.fr (service #110)\n  status:    revoked\n" in shown
    assert json.loads(world.run("delegations", "show", grant_id, "--json").output)["delegate"] == 10
    assert world.run("audit", "verify").output.startswith("audit chain intact")


def test_an_order_by_the_administrative_contact_grants_technical_contact(world: World, tmp_path: Path):
    """Seed 002: the agency's user ordered hosting and a domain in client 12's name (order 1 of the
    scenario); with an administrative grant on client 12, the agency becomes technical contact of both."""
    sandbox = world.sandbox
    grant_agency(world, "--whole-client", "--role", "administrative", owner=12, service=None, basis="signed mandate")
    world.settle()
    with Database(tmp_path / "state.db") as db:  # the order predates the bridge; present it as news
        sql(db, "DELETE FROM poll_seen WHERE list = 'orders'")
    world.settle()
    listed = world.run("delegations", "list", "--delegate", "10").output
    assert (
        "o1-10 active: Pixelwerk Agency (client #10) is technical contact of Cabinet Martin Avocats (client #12) "
        "for martin-notaires.fr (service #121, domain #121) (since "
    ) in listed
    assert "automatically: order #1 placed by user" in listed
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=12)]
    assert any(n.startswith("Delegation o1-10: Pixelwerk Agency (#10) is now the technical contact") for n in notes)
    assert any("(automatic: order #1 placed by a user of Pixelwerk Agency" in n for n in notes)


def test_a_delegates_request_becomes_active_when_the_owner_accepts_through_the_link(world: World, tmp_path: Path):
    asked = grant_agency(world, "--request", by="lena", basis="we build their new site").output
    grant_id = asked.split()[0]
    assert "pending" in asked
    world.settle()
    mail = next(e for e in world.emails(11) if e["subject"].startswith("Your consent is needed"))
    found = re.search(r'href="([^"]+)"', mail["message"])
    assert found, "the email carries the link"
    link = found.group(1)
    assert link.startswith(world.public + "/consent/") and len(link.rsplit("/", 1)[1]) >= 40
    with Database(tmp_path / "state.db") as db:  # the raw token is nowhere in the bridge's store
        token = link.rsplit("/", 1)[1]
        assert token not in db.all_text()  # the hook's copy of the email in the inbox is redacted
    shown = requests.get(link, timeout=5)
    assert shown.status_code == 200
    assert "Pixelwerk Agency asks to become the technical contact for Business (boulangerie-dupont.fr)" in shown.text
    assert shown.headers["Referrer-Policy"] == "no-referrer" and shown.headers["Cache-Control"] == "no-store"
    done = requests.post(
        link,
        data={"decision": "accept", "reason": "yes, they are our agency"},
        headers={"User-Agent": "Firefox/140"},
        timeout=5,
    )
    assert (
        done.status_code == 200 and "<title>Thank you</title>" in done.text and "(<strong>Accept</strong>)" in done.text
    )
    again = requests.post(link, data={"decision": "decline"}, timeout=5)
    assert again.status_code == 410 and "This link has already been used" in again.text
    assert requests.get(world.public + "/consent/not-a-real-token-" + "x" * 30, timeout=5).status_code == 404
    world.settle()
    assert f"{grant_id} active" in world.run("delegations", "list", "--owner", "11").output
    with Database(tmp_path / "state.db") as db:
        decided = [e for e in audit.entries(db, action="consent.decided")]
        assert (
            decided[0].detail["ip"] == "127.0.0.1"
            and decided[0].detail["user_agent"] == "Firefox/140"
            and decided[0].detail["decision"] == "accept"
        )
        sql(db, "UPDATE consent_link SET used_at = NULL, expires_at = '2000-01-01T00:00:00+00:00'")
    expired = requests.get(link, timeout=5)
    assert expired.status_code == 410 and "expired" in expired.text


def test_the_weekly_digest_reaches_the_owner(world: World):
    sandbox = world.sandbox
    grant_agency(world)
    world.settle()
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Unsuspension Notification"})
    world.settle()
    world.run("tick", "--at", "2099-01-01T00:00:00Z")  # long past the digest's date
    world.run("tick", "--at", "2099-01-01T00:00:00Z")
    digests = [e for e in world.emails(11) if e["subject"] == "What Pixelwerk Agency did on your behalf"]
    assert len(digests) == 1 and "Service Unsuspension Notification" in digests[0]["message"]


def test_after_revocation_the_owner_can_have_the_password_changed_through_a_link(world: World, tmp_path: Path):
    sandbox = world.sandbox
    grant_id = grant_agency(world).output.split()[0]
    world.settle()
    old_password = sandbox.rows("services", id=110)[0]["password"]
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    world.settle()
    told = next(e for e in world.emails(11) if e["subject"].startswith("Pixelwerk Agency is no longer your"))
    found = re.search(r'href="([^"]+)"', told["message"])
    assert found, "the notice carries the link"
    link = found.group(1)
    page = requests.get(link, timeout=5)
    assert "Change the control-panel password of Business (boulangerie-dupont.fr)" in page.text
    assert "Change the password</button>" in page.text
    assert requests.post(link, data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    new_password = sandbox.rows("services", id=110)[0]["password"]
    assert new_password != old_password
    changes = [c for c in sandbox.calls() if c["action"] == "ModuleChangePw" and c.get("outcome") == "success"]
    assert len(changes) == 1
    assert any(
        e["subject"] == "New Account Information" for e in world.emails(11)
    )  # WHMCS's own email with the details
    with Database(tmp_path / "state.db") as db:  # the bridge keeps the new password nowhere of its own
        tables = [t[0] for t in sql(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'inbox'")]
        dump = "\n".join(str(tuple(r)) for t in tables for r in sql(db, f'SELECT * FROM "{t}"'))
        reported = [json.loads(e.body)["data"] for e in inbox.entries(db) if new_password in e.body]
    assert new_password not in dump
    # WHMCS's own welcome email prints it; the hook reports that email with its rendered message, which
    # the inbox keeps only until the rules decided on it (issue 16, "Nothing secret at rest").
    assert reported == []
    world.settle()
    assert len([c for c in sandbox.calls() if c["action"] == "ModuleChangePw"]) == 1  # never repeated


def test_an_agency_user_creating_an_end_clients_account_is_flagged_for_staff(world: World, tmp_path: Path):
    sandbox = world.sandbox
    grant_agency(world)
    world.settle()
    agency_user = next(u for u in sandbox.post("GetUsers").json()["users"] if u["email"] == "lena@pixelwerk.agency")[
        "id"
    ]
    sandbox.control("checkout", {"client_id": 13, "user_id": agency_user, "pid": 3, "domain": "garage-leroy-2.fr"})
    world.settle()
    flags = [n for n in sandbox.rows("client_notes", client_id=13) if n["note"].startswith("STAFF CHECK")]
    assert len(flags) == 1 and flags[0]["sticky"] == 1 and "Make Owner" in flags[0]["note"]


def test_a_verified_delegate_can_ask_for_the_renewal_in_a_ticket(world: World):
    """Its [renew] invoices nothing: it is emailed its renewal page link, and the click there invoices it; a writer
    with no grant gets nothing."""
    sandbox = world.sandbox
    grant_agency(world)
    world.settle()
    ticket = sandbox.post(
        "OpenTicket",
        deptid=2,
        clientid=10,
        subject="[renew] boulangerie-dupont.fr",
        message="Please renew boulangerie-dupont.fr for our client, invoice us.",
    ).json()
    world.settle(5)
    # Two notes: VERIFIED for the granted hosting, a warning for the domain of the same name, in either order (on a
    # loaded machine the warning was once written first).
    notes = [n["message"] for n in sandbox.rows("ticket_notes", ticket_id=int(ticket["id"]))]
    assert any("VERIFIED technical contact" in n and "was sent its renewal page link" in n for n in notes), notes
    assert [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]] == []
    click_renew(world, renew_link(world, int(ticket["id"])), service="110")
    invoices = [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    assert len(invoices) == 1
    stranger = sandbox.post(
        "OpenTicket", deptid=2, clientid=13, subject="[renew] boulangerie-dupont.fr", message="renew it"
    ).json()
    world.settle(5)
    assert "NO grant" in sandbox.rows("ticket_notes", ticket_id=int(stranger["id"]))[0]["message"]
    assert link_emails(world, int(stranger["id"]), client=13) == []
    assert [i for i in sandbox.rows("invoices", client_id=13) if "Delegated renewal" in i["notes"]] == []


def test_an_owners_email_no_hook_reported_is_found_by_the_poll(world: World, tmp_path: Path):
    """The poller watches the email log of the owners delegation copies for (issue 13): an email whose
    EmailPreLog never arrived is still found, as EmailLogged."""
    grant_agency(world)
    world.settle()
    world.sandbox.control("hooks", {"url": None, "secret": None})  # the hook is lost
    world.sandbox.post("SendEmail", id=11, customtype="general", customsubject="Lost hook", custommessage="<p>x</p>")
    world.settle()
    with Database(tmp_path / "state.db") as db:
        found = [e.event().data for e in inbox.entries(db, type="EmailLogged")]
    # Its subject is kept as a hash once decided on (eighteenth round: no words at rest).
    lost = hashlib.sha256(b"Lost hook").hexdigest()
    assert [d["userid"] for d in found if d.get("subject_sha256") == lost] == [11]
