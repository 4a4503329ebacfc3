"""Seventeenth break round, issue 16: what the outside tester found in contact delegation (agency scenario, hook
events through the real receiver, the CLI as staff run it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox, sql
from tests.test_delegation_email_e2e import report
from tests.test_delegation_identity_e2e import COPY_ALL, grant, owner_grants, stored_text, world_with
from tests.test_delegation_renewal_e2e import staff_tasks
from tests.test_delegation_renewal_interrupted_e2e import killed_while_renewing, registrar_calls, restarted
from tests.test_delegation_renewal_settle_e2e import action_status, agency_world, parked
from tests.test_delegation_tickets_e2e import agency_granted, open_ticket, reply
from whmcs_bridge.store.db import Database


@pytest.fixture
def worlds(sandbox: Sandbox) -> Iterator[list[BridgeWorld]]:
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()


def test_a_copy_staff_reject_keeps_no_password_at_rest(sandbox: Sandbox, tmp_path: Path, worlds: list[BridgeWorld]):
    """H1: the owner chose full copies; WHMCS refused the copy's SendEmail ("Email Sending Failed"), so it was
    parked; staff rejected it. The welcome email's password stayed in the outbox (and every backup) for good."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL + "      welcome_email: copy\n")
    owner_grants(world, "accept-copies", "--whole-client")
    # The owner's own welcome email goes out; the copy's SendEmail after it is refused.
    sandbox.control("faults", {"status": 200, "count": 5, "skip": 1, "actions": ["SendEmail"], "message": "Email Sending Failed"})
    sandbox.post("SendEmail", id=110, messagename="Hosting Account Welcome Email")
    world.settle()
    sandbox.control("faults", {"status": 0, "count": 0})
    service_password = sandbox.rows("services", id=110)[0]["password"]
    with Database(tmp_path / "state.db") as db:
        [parked] = sql(db, "SELECT id FROM outbox WHERE status = 'parked'")
    world.run("approvals", "reject", str(parked["id"]), "--by", "bob", "--reason", "not now")
    assert service_password.encode() not in stored_text(tmp_path / "state.db")
    assert not [e for e in world.emails(10) if e["subject"] == "[Copy] New Account Information"]


def test_a_renewal_killed_at_the_registrar_then_ended_by_revocation_still_warns_staff(
    sandbox: Sandbox, tmp_path: Path
):
    """H2: the daemon was killed while DomainRenew reached the registrar; the action parked ("may have reached the
    registrar"); the owner revoked the grant and staff approved the action, which the revocation cancelled. The
    staff task then said "grant ended before it was renewed" and "renew it by hand": a second renewal, or a refund
    of a renewal the registrar made. It keeps the warning."""
    worlds_made = agency_world(sandbox, tmp_path, "  timeout_s: 2\n  settle_after: 4s\n")
    world = next(worlds_made)
    try:
        key = killed_while_renewing(world, tmp_path)
        restarted(world, key)
        [action] = parked(world)
        grant_id = world.run("delegations", "list", "--owner", "11").output.split()[0]
        world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "we part ways")
        world.run("approvals", "approve", str(action["id"]), "--by", "bob")
        world.settle(4)
        assert action_status(world, key) == "cancelled"
        [task] = staff_tasks(world, 10)
        assert "DomainRenew" in task["note"] and "may have" in task["note"], task["note"]
        assert "ended (revoked or expired) before it was renewed" not in task["note"], task["note"]
        assert registrar_calls(world) == 1
    finally:
        next(worlds_made, None)


def test_a_full_copy_with_the_owners_password_reaches_the_delegate_alone_not_its_contacts(
    sandbox: Sandbox, tmp_path: Path, worlds: list[BridgeWorld]
):
    """H3: the owner chose full copies for its agency; the agency's accountant, a WHMCS contact receiving general
    emails, got the welcome email's password too (SendEmail copies a client's contacts: addcontact.md
    `email_preferences[general]`). The owner consented to the agency, not to its contacts: the copy goes as a
    ticket to the agency's own address alone, as a one-time link does."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL + "      welcome_email: copy\n")
    sandbox.post(
        "AddContact", clientid=10, firstname="Kim", lastname="Compta", email="compta@pixelwerk.example",
        **{"email_preferences[general]": 1},
    )  # fmt: skip
    owner_grants(world, "accept-copies", "--whole-client")
    sandbox.post("SendEmail", id=110, messagename="Hosting Account Welcome Email")
    world.settle()
    service_password = sandbox.rows("services", id=110)[0]["password"]
    leaked = [e for e in sandbox.rows("emails") if service_password in e["message"] and "compta@" in str(e)]
    assert leaked == []
    [agency] = sandbox.rows("clients", id=10)
    [alone] = [t for t in sandbox.rows("tickets") if "[Copy] New Account Information" in t["subject"]]
    assert alone["email"] == agency["email"] and alone["client_id"] == 0, alone
    [opening] = sandbox.rows("ticket_replies", ticket_id=alone["id"])[:1]
    assert service_password in opening["message"]  # the owner chose full copies: the agency has it


def test_an_email_naming_another_clients_service_is_not_copied_under_a_whole_account_grant(
    sandbox: Sandbox, tmp_path: Path, worlds: list[BridgeWorld]
):
    """M5: under a grant on owner 11's whole account, a signed EmailPreLog to client 11 whose related id is
    service 120 (client 12's) was copied to the agency "about" client 12's service. WHMCS is asked whose it is
    when the copy goes (the `owned_by` guard): nothing is sent. The owner's own service still is."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL)
    grant(world, "--whole-client")
    world.settle()
    assert sandbox.rows("services", id=120)[0]["client_id"] == 12
    for hook_id, relid, marker in (("msg_x12", 120, "XCLIENT-55"), ("msg_own", 110, "OWNCLIENT-56")):
        data = {
            "userid": 11, "date": "2026-11-25 10:00:00", "subject": "Service Suspension Notification",
            "message": f"<p>{marker}</p>", "messagename": "Service Suspension Notification", "relid": relid,
        }  # fmt: skip
        report(world, hook_id, data)
    world.settle()
    copied = " ".join(e["message"] for e in world.emails(10))
    assert "XCLIENT-55" not in copied
    assert "OWNCLIENT-56" in copied


def test_the_renew_link_email_names_the_ticket_as_the_client_area_numbers_it(sandbox: Sandbox, tmp_path: Path):
    """L3: "You wrote [renew] in ticket #12" named WHMCS's database id; the delegate's client area shows the ticket
    by its mask (#100080 in the tester's WHMCS). The email names the mask GetTicket gives (`tid`)."""
    made = agency_granted(sandbox, tmp_path)
    world = next(made)
    try:
        ticket = open_ticket(world)
        reply(world, ticket, "[renew] please", clientid=10)
        [row] = sandbox.rows("tickets", id=ticket)
        assert row["tid"] != str(ticket)
        [email] = [e for e in world.emails(10) if "/consent/" in e["message"] and "[renew]" in e["subject"]]
        assert f"ticket #{row['tid']}" in email["subject"] and f"ticket #{ticket}:" not in email["subject"], email
    finally:
        next(made, None)
