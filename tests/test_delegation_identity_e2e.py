"""Contact delegation by WHMCS's own identities (issue 16, part A): what a grant covers is a service or a
domain by its id, never a name found in a text; grants are checked against WHMCS before anything is sent;
a revoked grant's queued work is cancelled. The agency scenario, hook events delivered to the real
receiver as the PHP hook sends them, the CLI as staff run it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, sql
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store.db import Database

COPY_ALL = """  roles:
    technical:
      copy_emails: [product, domain, invoice, support, general]
      support_authority: true
"""


@pytest.fixture
def worlds(sandbox: Sandbox, tmp_path: Path) -> Iterator[list[BridgeWorld]]:
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()


def world_with(sandbox: Sandbox, tmp: Path, worlds: list[BridgeWorld], extra: str = "") -> BridgeWorld:
    sandbox.load("agency")
    world = BridgeWorld(sandbox, tmp, "delegation:\n  enabled: true\n" + extra)
    worlds.append(world)
    world.run("tick")
    return world


def grant(world: BridgeWorld, *covers: str, owner: int = 11, delegate: int = 10) -> Any:
    args = ["--owner", str(owner), "--delegate", str(delegate), *covers, "--by", "alice", "--basis", "email"]
    return world.run("delegations", "grant", *args)


def owner_grants(world: BridgeWorld, decision: str, *covers: str) -> str:
    """The agency asks; the owner answers on its one-time consent page with `decision`."""
    asked = world.run(
        "delegations",
        "grant",
        "--request",
        "--owner",
        "11",
        "--delegate",
        "10",
        *covers,
        "--by",
        "lena",
        "--basis",
        "we build their site",
    ).output
    world.settle()
    mail = next(e for e in world.emails(11) if e["subject"].startswith("Your consent is needed"))
    found = re.search(r'href="([^"]+)"', mail["message"])
    assert found
    assert requests.post(found.group(1), data={"decision": decision}, timeout=5).status_code == 200
    world.settle()
    return str(asked.split()[0])


def notes_on(sandbox: Sandbox, ticket: int) -> list[str]:
    return [n["message"] for n in sandbox.rows("ticket_notes", ticket_id=ticket)]


def test_a_grant_on_the_hosting_does_not_verify_the_domain_of_the_same_name(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    grant(world, "--service", "110")
    world.settle()
    opened = sandbox.post(
        "OpenTicket",
        deptid=1,
        clientid=10,
        subject="Transfer code for boulangerie-dupont.fr",
        message="Please send us the EPP code of boulangerie-dupont.fr.",
    ).json()
    world.settle(4)
    notes = notes_on(sandbox, int(opened["id"]))
    verified = [n for n in notes if "VERIFIED" in n]
    warned = [n for n in notes if "WARNING" in n and "VERIFIED" not in n]
    assert len(verified) == 1 and "Business (boulangerie-dupont.fr)" in verified[0]
    assert "domain" not in verified[0].split("VERIFIED")[0]
    # A transfer code is the owner's to give, whatever the grant (nineteenth round M1).
    assert "WARNING: this message asks for access, credentials or a transfer" in verified[0]
    assert len(warned) == 1 and "has NO grant" in warned[0] and "boulangerie-dupont.fr" in warned[0]


def test_a_grant_on_dupont_fr_gets_no_copy_about_boulangerie_dupont_fr(sandbox: Sandbox, tmp_path: Path, worlds):
    """The owner also has dupont.fr; the agency is contact for that one only. An email WHMCS sends about
    the owner's ticket on boulangerie-dupont.fr names it in its text: not the agency's business."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL)
    [owner_user] = [u["id"] for u in sandbox.post("GetUsers", search="marie@boulangerie-dupont.fr").json()["users"]]
    sandbox.control("checkout", {"client_id": 11, "user_id": owner_user, "domain": "dupont.fr"})
    world.settle()
    [service] = [
        s["id"]
        for s in sandbox.post("GetClientsProducts", clientid=11, domain="dupont.fr").json()["products"]["product"]
    ]
    assert grant(world, "--service", str(service)).exit_code == 0
    world.settle()
    ticket = sandbox.post(
        "OpenTicket", deptid=1, clientid=11, subject="boulangerie-dupont.fr is slow", message="Since this morning."
    ).json()
    world.settle()
    sandbox.control("act", {"action": "SendEmail", "id": int(ticket["id"]), "messagename": "Support Ticket Opened"})
    world.settle()
    assert any("boulangerie-dupont.fr is slow" in e["message"] for e in world.emails(11))
    assert [e["subject"] for e in world.emails(10) if e["subject"].startswith("[Copy]")] == []
    # The same agency does get what WHMCS sends about dupont.fr itself.
    sandbox.control("act", {"action": "SendEmail", "id": service, "messagename": "Service Suspension Notification"})
    world.settle()
    assert [e["subject"] for e in world.emails(10) if e["subject"].startswith("[Copy]")] == [
        "[Copy] Service Suspension Notification"
    ]


def refused(world: BridgeWorld, *args: str) -> Any:
    return world.runner.invoke(cli.main, ["--config", str(world.config), "delegations", "grant", *args])


@pytest.mark.parametrize(
    ("covers", "sentence"),
    [
        (["--owner", "11", "--delegate", "10", "--service", "999"], "WHMCS has no service #999"),
        (["--owner", "11", "--delegate", "10", "--service", "120"], "service #120 belongs to client #12, not to"),
        (["--owner", "11", "--delegate", "10", "--domain", "12"], "domain #12 belongs to client #12, not to"),
        (["--owner", "11", "--delegate", "9999", "--service", "110"], "WHMCS has no client #9999"),
        (["--owner", "9999", "--delegate", "10", "--whole-client"], "WHMCS has no client #9999"),
    ],
)
def test_a_grant_is_checked_in_whmcs_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path, worlds, covers: list[str], sentence: str
):
    world = world_with(sandbox, tmp_path, worlds)
    before = len(sandbox.calls())
    result = refused(world, *covers, "--by", "alice", "--basis", "email")
    assert result.exit_code == 2, result.output
    assert sentence in result.stderr and "Traceback" not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    world.settle()
    writes = [c["action"] for c in sandbox.calls(before) if not c["action"].startswith("Get")]
    assert writes == []
    assert "no grants" in world.run("delegations", "list").output


def test_a_grant_again_after_revocation_is_a_new_grant_and_copies_follow(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    first = grant(world, "--service", "110").output.split()[0]
    world.settle()
    world.run("delegations", "revoke", first, "--by", "owner", "--reason", "changed agency")
    world.settle()
    again = grant(world, "--service", "110").output
    second = again.split()[0]
    assert second != first and again.startswith(f"{second} active:")
    world.settle()
    listed = world.run("delegations", "list").output
    assert f"{first} revoked" in listed and f"{second} active" in listed
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    assert [e["subject"] for e in world.emails(10) if e["subject"].startswith("[Copy]")] == [
        "[Copy] Service Suspension Notification"
    ]


def test_the_same_grant_asked_twice_is_one_grant(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    first = grant(world, "--service", "110").output.split()[0]
    again = grant(world, "--service", "110").output.split()[0]
    assert again == first
    world.settle()
    told = [e for e in world.emails(10) if "now the technical contact" in e["subject"]]
    assert len(told) == 1


def test_a_copy_queued_during_an_outage_is_not_sent_once_the_grant_is_revoked(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    grant_id = grant(world, "--service", "110").output.split()[0]
    world.settle()
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["SendEmail"]})
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    with Database(tmp_path / "state.db") as db:
        [queued] = sql(db, "SELECT action_key, status FROM outbox WHERE kind = 'email' AND status != 'done'")
    assert queued["status"] != "done"
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "changed agency")
    sandbox.control("faults", {"count": 0})
    later = datetime.now(UTC) + timedelta(hours=2)
    for hours in (0, 1, 2):
        world.run("tick", "--at", (later + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"))
    to_agency = [e["subject"] for e in world.emails(10)]
    assert "[Copy] Service Suspension Notification" not in to_agency
    assert any("no longer" in s or "ended" in s for s in to_agency)  # the revocation itself was told
    with Database(tmp_path / "state.db") as db:
        [row] = sql(db, "SELECT status, error FROM outbox WHERE action_key = ?", queued["action_key"])
        audited = sql(db, "SELECT detail FROM audit_log WHERE action = 'executor.cancelled'")
    assert row["status"] == "cancelled" and f"grant {grant_id} is revoked" in row["error"]
    assert any(queued["action_key"] in a["detail"] for a in audited)


def stored_text(state: Path) -> bytes:
    """Every byte the bridge keeps at rest: the database, its write-ahead log, and free pages included."""
    return b"".join(p.read_bytes() for p in state.parent.glob(state.name + "*"))


def test_no_email_body_with_a_secret_stays_at_rest(sandbox: Sandbox, tmp_path: Path, worlds):
    """The welcome email is copied (the role says so) and sent; the owner's password reset is never
    copied; a custom message has no template. None of their secrets stays in the state files: the inbox,
    the outbox and the audit chain keep a hash of each body."""
    copying = COPY_ALL + "      welcome_email: copy\n"
    world = world_with(sandbox, tmp_path, worlds, copying)
    owner_grants(world, "accept-copies", "--whole-client")
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Hosting Account Welcome Email"})
    sandbox.control("act", {"action": "SendEmail", "id": 11, "messagename": "Automated Password Reset"})
    sandbox.control(
        "act",
        {
            "action": "SendEmail",
            "id": 11,
            "customtype": "general",
            "customsubject": "Your code",
            "custommessage": "<p>Your one-time code is QX-SECRET-4471</p>",
        },
    )
    world.settle()
    service_password = sandbox.rows("services", id=110)[0]["password"]
    [reset] = [e for e in world.emails(11) if e["subject"] == "Your new password"]
    client_password = reset["message"].split("password is: ")[1].split("<")[0]
    copies = [e for e in world.emails(10) if e["subject"] == "[Copy] New Account Information"]
    assert len(copies) == 1 and service_password in copies[0]["message"]  # sent, as the role says
    world.run("tick")
    kept = stored_text(tmp_path / "state.db")
    for secret in (service_password, client_password, "QX-SECRET-4471"):
        assert secret.encode() not in kept, secret
    with Database(tmp_path / "state.db") as db:
        bodies = [json.loads(r["body"])["data"] for r in sql(db, "SELECT body FROM inbox WHERE type = 'EmailPreLog'")]
    assert bodies and all(b.get("message") == "" and len(b["message_sha256"]) == 64 for b in bodies)


def test_a_second_user_asking_for_credentials_on_a_companys_account_is_not_its_owner(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    """Seed 000: on a company's account, a ticket from another user than the account's owner, asking for
    access, is suspicious until the owner confirms. Lena (the agency's user) is an invited user of Cabinet
    Martin Avocats' account; WHMCS's GetTicket names her as the ticket's requestor."""
    world = world_with(sandbox, tmp_path, worlds)
    [lena] = [u["id"] for u in sandbox.post("GetUsers", search="lena@pixelwerk.agency").json()["users"]]
    opened = sandbox.post(
        "OpenTicket",
        deptid=1,
        clientid=12,
        userid=lena,
        subject="cPanel password for cabinet-martin.fr",
        message="Please send me the cPanel password of cabinet-martin.fr, I manage the site now.",
    ).json()
    asked_owner = sandbox.post(
        "OpenTicket", deptid=1, clientid=12, subject="cabinet-martin.fr", message="Please send me the password."
    ).json()
    world.settle(4)
    [note] = notes_on(sandbox, int(opened["id"]))
    assert "written by the owner" not in note
    assert "Lena Vogel (lena@pixelwerk.agency)" in note and "not its owner" in note
    assert "WARNING" in note and "confirm with the account's owner" in note
    [owners_note] = notes_on(sandbox, int(asked_owner["id"]))
    assert "written by the owner" in owners_note and "WARNING" not in owners_note


def test_a_delegates_ticket_written_by_another_user_of_its_account_names_that_user(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    """From the issue-16 outside test (ninth round, M5): a user invited to the delegate's account (not its owner)
    asked for the end client's cPanel password and a transfer; the note was a bare "VERIFIED technical contact",
    as for the account's owner. It names the user and warns; one WHMCS does not link to the account is said so.
    Here Cabinet Martin Avocats (#12) is the delegate, and Lena, an invited user of its account, writes."""
    world = world_with(sandbox, tmp_path, worlds)
    grant(world, "--service", "110", delegate=12)
    world.settle()
    [lena] = [u["id"] for u in sandbox.post("GetUsers", search="lena@pixelwerk.agency").json()["users"]]
    users = sandbox.post("GetUsers").json()["users"]
    stranger = next(u for u in users if not any(int(c["id"]) == 12 for c in u.get("clients") or []))
    asked = "Please send me the cPanel password of boulangerie-dupont.fr and transfer the hosting to my account."
    by_user, by_stranger = (
        sandbox.post(
            "OpenTicket", deptid=1, clientid=12, userid=user, serviceid=110, subject="Password", message=asked
        ).json()
        for user in (lena, stranger["id"])
    )
    world.settle(4)
    [note] = [n for n in notes_on(sandbox, int(by_user["id"])) if "VERIFIED" in n]
    assert "VERIFIED technical contact" in note and "Written by Lena Vogel (lena@pixelwerk.agency)" in note, note
    assert "another user of Cabinet Martin Avocats's account, not its owner" in note, note
    assert "WARNING: this writer asks for access, credentials or a transfer" in note, note
    [note] = [n for n in notes_on(sandbox, int(by_stranger["id"])) if "VERIFIED" in n]
    assert "whom WHMCS does not list as a user of Cabinet Martin Avocats's account" in note and "WARNING" in note, note


def test_a_writer_whmcs_does_not_link_to_the_account_is_never_taken_for_its_owner(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    """From the issue-16 break test: a ticket on Cabinet Martin Avocats' account written by a WHMCS user who is
    not a user of that account was noted "written by the owner" (an unknown owner counted as the owner)."""
    world = world_with(sandbox, tmp_path, worlds)
    users = sandbox.post("GetUsers").json()["users"]
    stranger = next(u for u in users if not any(int(c["id"]) == 12 for c in u.get("clients") or []))
    opened = sandbox.post(
        "OpenTicket",
        deptid=1,
        clientid=12,
        userid=stranger["id"],
        subject="cPanel password for cabinet-martin.fr",
        message="Please send me the cPanel password of cabinet-martin.fr and transfer the domain to me.",
    ).json()
    world.settle(4)
    [note] = notes_on(sandbox, int(opened["id"]))
    assert "written by the owner" not in note, note
    assert "does not list as a user of that account" in note and "WARNING" in note, note


def test_quick_renew_and_password_reset_links_are_removed_from_every_copy(sandbox: Sandbox, tmp_path: Path, worlds):
    """o2switch never sends its quick-renew links to technical contacts: a link that pays, renews or logs
    in without the owner's password is taken out of the copy (its words stay)."""
    listed = '  email_templates:\n    "Renouvellement rapide":\n      type: product\n      secret: none\n'
    world = world_with(sandbox, tmp_path, worlds, listed)
    sandbox.control(
        "template",
        {
            "name": "Renouvellement rapide",
            "type": "product",
            "subject": "{$service_domain} expire bientôt",
            "message": '<p>Renouveler : <a href="https://billing.example.com/cart.php?a=renew&id={$service_id}'
            '&key=q8Zr41Kd">Renouveler en un clic</a></p><p>Mot de passe oublié ? '
            "https://billing.example.com/pwreset.php?key=Zx81QQa9</p><p>Espace client : "
            '<a href="https://billing.example.com/clientarea.php">clientarea.php</a></p>',
        },
    )
    grant(world, "--service", "110")
    world.settle()
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Renouvellement rapide"})
    world.settle()
    [sent] = [e for e in world.emails(11) if e["subject"] == "boulangerie-dupont.fr expire bientôt"]
    assert "q8Zr41Kd" in sent["message"] and "Zx81QQa9" in sent["message"]
    [copy] = [e for e in world.emails(10) if e["subject"] == "[Copy] boulangerie-dupont.fr expire bientôt"]
    assert "q8Zr41Kd" not in copy["message"] and "Zx81QQa9" not in copy["message"]
    assert "Renouveler en un clic" in copy["message"] and "clientarea.php" in copy["message"]


@pytest.mark.parametrize(
    ("how", "copied"), [("staff", False), ("accept", False), ("accept-copies", True), ("role-notice", False)]
)
def test_access_details_reach_the_delegate_only_if_the_owner_chose_full_copies(
    sandbox: Sandbox, tmp_path: Path, worlds, how: str, copied: bool
):
    """The role allows copies of welcome emails (`welcome_email: copy`); the owner's consent page offers
    notices only or full copies. Granted by staff, or accepted with notices, the agency gets a notice."""
    role = COPY_ALL + ("      welcome_email: copy\n" if how != "role-notice" else "")
    world = world_with(sandbox, tmp_path, worlds, role)
    if how == "staff":
        grant(world, "--service", "110")
        world.settle()
    else:
        mail_link = None
        if how == "role-notice":  # the role does not allow copies: the page offers no such answer
            world.run(
                "delegations",
                "grant",
                "--request",
                "--owner",
                "11",
                "--delegate",
                "10",
                "--service",
                "110",
                "--by",
                "lena",
                "--basis",
                "site",
            )
            world.settle()
            mail = next(e for e in world.emails(11) if e["subject"].startswith("Your consent is needed"))
            mail_link = re.search(r'href="([^"]+)"', mail["message"])
            assert mail_link
            page = requests.get(mail_link.group(1), timeout=5).text
            assert "accept-copies" not in page
            refused = requests.post(mail_link.group(1), data={"decision": "accept-copies"}, timeout=5)
            assert refused.status_code == 400
            assert requests.post(mail_link.group(1), data={"decision": "accept"}, timeout=5).status_code == 200
            world.settle()
        else:
            owner_grants(world, how, "--service", "110")
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Dedicated/VPS Server Welcome Email"})
    world.settle()
    password = sandbox.rows("services", id=110)[0]["password"]
    # A copy the owner chose carries WHMCS's subject; a notice names the template (eighteenth round HIGH 2).
    subject = "New Dedicated Server Information" if copied else "Dedicated/VPS Server Welcome Email"
    [to_agency] = [e for e in world.emails(10) if e["subject"] == f"{'[Copy]' if copied else '[Notice]'} {subject}"]
    assert (password in to_agency["message"]) is copied
    if not copied:
        assert "has received the access details" in to_agency["message"]


def test_the_consent_page_offers_full_copies_when_the_role_allows_them(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL + "      welcome_email: copy\n")
    world.run(
        "delegations",
        "grant",
        "--request",
        "--owner",
        "11",
        "--delegate",
        "10",
        "--service",
        "110",
        "--by",
        "lena",
        "--basis",
        "site",
    )
    world.settle()
    mail = next(
        e
        for e in world.emails(11)
        if e["subject"].startswith("Votre accord est nécessaire") or e["subject"].startswith("Your consent is needed")
    )
    link = re.search(r'href="([^"]+)"', mail["message"])
    assert link
    page = requests.get(link.group(1), timeout=5).text
    assert "value=accept-copies" in page and "full copies (access details included)" in page.replace("&#39;", "'")
    assert "Accept, notices only" in page


@pytest.mark.parametrize("listed", [False, True])
def test_a_template_the_bridge_does_not_know_is_counted_for_staff_and_copied_once_listed(
    sandbox: Sandbox, tmp_path: Path, worlds, listed: bool
):
    """Finding 9: staff's own "Disk space warning" for the granted site. Unknown, it is not copied (it could
    print anything) but staff see it counted and how to classify it; listed as a product template, the
    agency gets its copy."""
    extra = '  email_templates:\n    "Disk space warning":\n      type: product\n      secret: none\n' if listed else ""
    world = world_with(sandbox, tmp_path, worlds, extra)
    sandbox.control(
        "template",
        {
            "name": "Disk space warning",
            "type": "product",
            "subject": "{$service_domain}: disk almost full",
            "message": "<p>{$service_domain} uses 95% of its disk space.</p>",
        },
    )
    grant(world, "--service", "110")
    world.settle()
    for _ in range(2):
        sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Disk space warning"})
    world.settle()
    copies = [e for e in world.emails(10) if e["subject"] == "[Copy] boulangerie-dupont.fr: disk almost full"]
    shown = world.run("delegations", "templates").output
    if listed:
        # Two sends of one email in one second are one email to the bridge (copies.email_fingerprint).
        assert copies and "no email template" in shown
    else:
        assert copies == []
        assert "Disk space warning: 2 email(s)" in shown and "delegation.email_templates" in shown
    # The same list for a script (seventeenth round LOW 6): one object per template, [] when none is left.
    listed_json = json.loads(world.run("delegations", "templates", "--json").output)
    if listed:
        assert listed_json == []
    else:
        assert [(t["template"], t["count"]) for t in listed_json] == [("Disk space warning", 2)]
        assert listed_json[0]["first"] <= listed_json[0]["last"]


def test_a_ticket_deleted_before_it_is_read_parks_nothing(sandbox: Sandbox, tmp_path: Path, worlds):
    """Who wrote it is read from the ticket: a ticket staff deleted meanwhile is no writer, no note, and
    not a failed action for staff either."""
    world = world_with(sandbox, tmp_path, worlds)
    opened = sandbox.post(
        "OpenTicket", deptid=1, clientid=12, subject="cabinet-martin.fr", message="Please send me the password."
    ).json()
    sandbox.control("hooks")
    sandbox.control("delete", {"ticket": int(opened["id"])})
    world.settle(4)
    with Database(tmp_path / "state.db") as db:
        stuck = sql(db, "SELECT kind, status, error FROM outbox WHERE status IN ('parked', 'planned', 'in_flight')")
    assert [tuple(r) for r in stuck] == []
