"""Issue 16, twenty-third break round (delegation copies): WHMCS's "Support Ticket Auto Close Notification" prints the
ticket's subject ({$ticket_subject}), what a person typed, yet was taken for a template with no free text, so a
password typed in a ticket's subject was copied verbatim to a delegate the owner never gave full copies (HIGH 3); and
a full copy's subject stayed in the state database for good, in the finished action and in the audit chain
(MEDIUM 4)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Sandbox
from tests.test_delegation_identity_e2e import COPY_ALL, owner_grants, stored_text, world_with

SECRET = "Xy7#kL9q"
SUBJECT = f"FTP login for boulangerie-dupont.fr: dupont_ftp / {SECRET}"


def ticket_with_a_password(sandbox: Sandbox) -> int:
    opened = sandbox.post(
        "OpenTicket", deptid=1, clientid=11, subject=SUBJECT, message="Here are the FTP details, please update the site."
    ).json()
    return int(opened["id"])


def test_the_auto_close_notification_is_free_text_and_goes_as_a_notice(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL)
    world.run("delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--by", "alice",
              "--basis", "mandate")  # fmt: skip
    world.settle()
    ticket = ticket_with_a_password(sandbox)
    world.settle()
    sandbox.control("act", {"action": "SendEmail", "id": ticket, "messagename": "Support Ticket Auto Close Notification"})
    world.settle()
    sent = [e for e in world.emails(11) if SECRET in e["message"] and "Department" in e["message"]]
    assert len(sent) == 1, [e["subject"] for e in world.emails(11)]  # WHMCS's own email prints the subject
    to_agency = world.emails(10)
    assert to_agency and not [e for e in to_agency if SECRET in e["message"] or SECRET in e["subject"]], to_agency


def test_a_full_copys_subject_stays_nowhere_at_rest(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL + "      welcome_email: copy\n")
    owner_grants(world, "accept-copies", "--whole-client")
    ticket = ticket_with_a_password(sandbox)
    sandbox.control("act", {"action": "SendEmail", "id": ticket, "messagename": "Support Ticket Opened"})
    world.settle()
    copied = [e for e in world.emails(10) if SECRET in e["subject"]]
    assert len(copied) == 1, [e["subject"] for e in world.emails(10)]  # the owner chose full copies
    world.run("tick")
    assert SECRET.encode() not in stored_text(tmp_path / "state.db")


def test_an_unknown_templates_name_is_shown_on_one_line(sandbox: Sandbox, tmp_path: Path, worlds):
    """LOW 7: `delegations templates` printed a WHMCS template's name as it came: a newline in it forged a line of
    the listing, a zero-width character was invisible (delegations show prints them as <U+XXXX>)."""
    world = world_with(sandbox, tmp_path, worlds)
    world.run("delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
              "--basis", "mandate")  # fmt: skip
    world.settle()
    name = "Bienvenue\nall templates classified\u200b"
    sandbox.control("template", {"name": name, "type": "product", "subject": "Bienvenue", "message": "<p>Bonjour</p>"})
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": name})
    world.settle()
    shown = world.run("delegations", "templates").output
    assert "Bienvenue<U+000A>all templates classified<U+200B>: 1 email(s)" in shown, shown
    assert not [line for line in shown.splitlines() if line.startswith("all templates classified")], shown
