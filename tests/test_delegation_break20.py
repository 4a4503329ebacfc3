"""Issue 16 against the sandbox through the real receiver, break round 20 and the nineteenth round's LOWs.

L2: an email WHMCS sends an owner without a template (a custom message) is never copied, and was not counted
either: staff could not see that a delegate missed it. It is counted in `delegations templates` when the owner
has an active grant, apart from the templates to classify (it has none)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, SelfServiceWorld, staff_login
from tests.test_delegation_identity_e2e import grant, world_with
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database


def custom_email(sandbox: Sandbox, client: int, words: str) -> None:
    sandbox.control(
        "act",
        {"action": "SendEmail", "id": client, "customtype": "general", "customsubject": words,
         "custommessage": f"<p>{words}</p>"},
    )  # fmt: skip


def test_a_custom_email_to_an_owner_with_a_delegate_is_counted_not_copied(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    custom_email(sandbox, 12, "Maintenance tonight")  # an owner without a grant: nobody missed anything
    world.settle()
    assert json.loads(world.run("delegations", "templates", "--json").output) == []
    grant(world, "--service", "110")
    world.settle()
    custom_email(sandbox, 11, "Your migration is planned")
    custom_email(sandbox, 11, "Your migration is done")
    world.settle()
    assert not [e for e in world.emails(10) if "migration" in e["subject"]]  # never copied
    shown = world.run("delegations", "templates").output
    assert "custom emails (no template): 2 email(s)" in shown, shown
    assert "delegation.email_templates" not in shown.split("custom emails")[1].split("\n")[0], shown
    listed = json.loads(world.run("delegations", "templates", "--json").output)
    assert [(t["template"], t["count"], t["custom"]) for t in listed] == [("(custom message)", 2, True)]
    assert "migration" not in json.dumps(listed)  # counted, never its words


def links_cc(world: BridgeWorld, client: int) -> list[tuple[str, str]]:
    """(subject, cc) of each email logged for the client that carries a one-time page link."""
    return [(e["subject"], e["cc"]) for e in world.emails(client) if "/consent/" in e["message"] and e["cc"]]


def test_a_one_time_link_reaches_its_client_alone_never_its_contacts(sandbox: Sandbox, tmp_path: Path, worlds):
    """Round 20, HIGH 1: the owner's consent link (accept, or accept with full copies), a notice's self-service link
    and the delegate's own links went by SendEmail, which WHMCS also sends to each contact with general emails
    ticked (DD:api-reference/sendemail.md, addcontact.md): the owner's accountant could accept for the owner, with
    full copies of access details. Every email carrying a one-time link goes to its client's address alone."""
    world = world_with(sandbox, tmp_path, worlds)
    for client, email in ((10, "ex@other.example"), (11, "paul@boulangerie-dupont.fr")):
        sandbox.post("AddContact", clientid=client, firstname="A", lastname="Contact", email=email,
                     **{"email_preferences[general]": 1})  # fmt: skip
    world.run(
        "delegations", "grant", "--request", "--owner", "11", "--delegate", "10", "--service", "110",
        "--by", "lena", "--basis", "we build their site",
    )  # fmt: skip
    world.settle()
    assert links_cc(world, 11) == [] and links_cc(world, 10) == []
    owner = sandbox.rows("clients", id=11)[0]["email"]
    [asked] = [t for t in sandbox.rows("tickets") if t["subject"].startswith("Your consent is needed")]
    assert (asked["client_id"], asked["email"]) == (0, owner), asked
    text = sandbox.rows("ticket_replies", ticket_id=asked["id"])[0]["message"]
    link = re.search(r"(http\S+/consent/[\w-]+)", text)
    assert link, text
    assert requests.post(link.group(1), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    assert "active" in world.run("delegations", "list").output
    # The notices that followed are emails as before, to the contacts too, so without the self-service link at their
    # foot (the page is each side's alone): no notice became a ticket.
    assert links_cc(world, 11) == [] and links_cc(world, 10) == []
    told = [e for e in world.emails(11) if "now your technical contact" in e["subject"]]
    assert len(told) == 1 and "paul@boulangerie-dupont.fr" in told[0]["cc"] and "/consent/" not in told[0]["message"]
    assert [t["subject"] for t in sandbox.rows("tickets") if t["client_id"] == 0 and t["email"] == owner] == [
        asked["subject"]
    ]
    # The delegate's notice too: its contact ex@ gets it, so it comes without the link (a delegate without such a
    # contact finds its page link at the foot of every notice: tests/test_delegation_selfservice_e2e.py).
    [accepted] = [e for e in world.emails(10) if "You are now the technical contact" in e["subject"]]
    assert "ex@other.example" in accepted["cc"] and "/consent/" not in accepted["message"]


TWO_ROLES = """  roles:
    technical:
      copy_emails: [product, domain]
    administrative:
      copy_emails: [product]
      support_authority: false
"""


def test_a_copy_two_grants_cover_goes_while_either_is_active(sandbox: Sandbox, tmp_path: Path, worlds):
    """Round 20, HIGH 3: one copy per delegate whatever the number of its grants that cover the email (the key is
    the delegate's), but it was guarded by the first grant alone: that grant revoked while the copy waited for
    WHMCS (a SendEmail 503), the copy was cancelled though the other grant still covers the service."""
    world = world_with(sandbox, tmp_path, worlds, TWO_ROLES)
    technical = grant(world, "--service", "110").output.split()[0]
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "email",
    )  # fmt: skip
    world.settle()
    active = [line.split()[0] for line in world.run("delegations", "list").output.splitlines() if " active" in line]
    assert technical in active and len(active) == 2, active
    sandbox.post("SendEmail", id=110, messagename="Service Suspension Notification")
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["SendEmail"]})  # then WHMCS fails the copy
    world.settle()
    with Database(tmp_path / "state.db") as db:
        waiting = [e for e in outbox.entries(db) if "owned_by" in json.dumps(e.guard)]
        assert len(waiting) == 1, [(e.kind, e.subject, e.status, sorted(e.guard)) for e in outbox.entries(db)]
    [queued] = waiting
    tied = str(queued.subject).split(":")[1]
    world.run("delegations", "revoke", tied, "--by", "owner", "--reason", "changed agency")
    sandbox.control("faults", {"status": 503, "count": 0})
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    for _ in range(3):
        world.run("tick", "--at", later)
    copies = [e for e in world.emails(10) if "Suspen" in e["subject"] and e["subject"].startswith("[")]
    assert len(copies) == 1, [e["subject"] for e in world.emails(10)]


@pytest.fixture
def pages(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


@pytest.mark.parametrize("field", ["service", "domain"])
@pytest.mark.parametrize("value", ["\u00b2", "1" * 4400, "\u0661\u0661\u0660"])
def test_an_odd_number_in_the_renew_form_is_a_changed_form_not_a_500(pages: SelfServiceWorld, field: str, value: str):
    """Round 20, MEDIUM 1: `service=²` (a digit to str.isdigit, not to int) or a 4,400-digit number made the renew
    click a 500 with a traceback naming the link's token in the log."""
    granted = pages.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output.split()[0]  # fmt: skip
    pages.settle()
    email = [e for e in pages.emails(10) if "You are now the technical contact" in e["subject"]][-1]
    link = re.findall(r'href="([^"]+/consent/[^"]+)"', email["message"])[-1]
    refused = requests.post(link, data={"do": "renew", "grant": granted, field: value}, timeout=10)
    assert refused.status_code == 400, refused.status_code
    assert requests.get(link, timeout=10).status_code == 200  # a changed form does not use the link
    assert "renew" not in pages.run("delegations", "show", granted).output.split("history")[-1].lower()


@pytest.mark.parametrize("by", ["ecila\u202e", "al\x1b[2Kice", "bob\u2067"])
def test_a_name_with_a_direction_or_control_character_is_refused(sandbox: Sandbox, tmp_path: Path, worlds, by: str):
    """Round 20, LOW: `--by` took a right-to-left override, so the name in the history and the audit chain read as
    another ("alice"); a terminal escape rewrote the line it was printed on."""
    world = world_with(sandbox, tmp_path, worlds)
    result = world.runner.invoke(
        cli.main,
        ["--config", str(world.config), "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
         "--by", by, "--basis", "email"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--by" in result.output and "text-direction character" in result.output, result.output
    assert "active" not in world.run("delegations", "list").output


def test_the_same_grant_asked_again_with_another_end_is_refused_not_dropped(sandbox: Sandbox, tmp_path: Path, worlds):
    """Round 20, LOW: the same grant asked again with --expires returned the grant without an end, exit 0, as if
    the end had been set."""
    world = world_with(sandbox, tmp_path, worlds)
    first = grant(world, "--service", "110").output.split()[0]
    world.settle()
    end = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    again = world.runner.invoke(
        cli.main,
        ["--config", str(world.config), "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
         "--by", "alice", "--basis", "email", "--expires", end],
        env=staff_login(["--by", "alice"]),
    )  # fmt: skip
    assert again.exit_code != 0 and f"no new grant: {first}" in again.output and "has no end" in again.output, again.output
    assert grant(world, "--service", "110").output.split()[0] == first  # the same command again: the same grant
