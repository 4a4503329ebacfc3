"""Issue 16, twenty-first break round on contact delegation's copies, renew form and staff's free text: each finding
seen failing first."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_break20 import pages  # noqa: F401  (the fixture)
from tests.test_delegation_identity_e2e import owner_grants, world_with
from tests.test_delegation_rules import granted
from whmcs_bridge.cli import app as cli
from whmcs_bridge.families.delegation.staff import show

# The agency's technical role may get a welcome email's copy (access details), where the owner chose full copies; its
# administrative role (staff's whole-account grant) gets no copy of it (the notice only).
WELCOME_ROLES = """  roles:
    technical:
      copy_emails: [product, domain]
      welcome_email: copy
    administrative:
      copy_emails: []
      welcome_email: notice
      support_authority: false
"""


@pytest.mark.parametrize("ended", ["copies", "notices", None])
def test_a_welcome_email_two_grants_cover_goes_as_the_grants_active_when_it_is_sent_allow(
    sandbox: Sandbox, tmp_path: Path, worlds, ended: str | None
):
    """Twenty-first round, HIGH 1: grant A (the owner accepted full copies) and grant B (staff's whole account, notices
    only) of one delegate cover service 110. Its welcome email, sent while WHMCS failed the copy, gave one action
    whichever grant planned it first, with the other's guard: A revoked meanwhile, the delegate still got the
    password under B; B's notice kept, A's full copy was never sent. What goes is what the grants active when it is
    sent allow, and once: the full copy while A is, else B's notice."""
    world = world_with(sandbox, tmp_path, worlds, WELCOME_ROLES)
    copies = owner_grants(world, "accept-copies", "--service", "110")
    notices = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "email",
    ).output.split()[0]  # fmt: skip
    world.settle()
    before = len(world.emails(10))
    sandbox.post("SendEmail", id=110, messagename="Hosting Account Welcome Email")
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["SendEmail"]})  # WHMCS fails the copy
    world.settle()
    if ended:
        world.run("delegations", "revoke", {"copies": copies, "notices": notices}[ended], "--by", "owner", "--reason", "r")
    sandbox.control("faults", {"status": 503, "count": 0})
    for minutes in (30, 50, 70):  # a notice waits for the full copy it stands in for to end
        world.run("tick", "--at", (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds"))
    password = sandbox.rows("services", id=110)[0]["password"]
    got = [e for e in world.emails(10)[before:] if "Welcome" in e["subject"] or "Account Information" in e["subject"]]
    assert len(got) == 1, [e["subject"] for e in world.emails(10)[before:]]
    assert (password in got[0]["message"]) is (ended != "copies"), (ended, got[0]["subject"])


def delegate_link(world: SelfServiceWorld, *covers: str) -> tuple[str, str]:
    """Staff grant the agency (client 10) `covers` of client 11; its self-service link from the email saying so."""
    granted = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", *covers, "--by", "alice", "--basis", "owner's email"
    ).output.split()[0]
    world.settle()
    email = [e for e in world.emails(10) if "You are now the technical contact" in e["subject"]][-1]
    return granted, re.findall(r'href="([^"]+/consent/[^"]+)"', email["message"])[-1]


@pytest.mark.parametrize(
    ("covers", "form"),
    [
        (("--whole-client",), {"domain": "0"}),
        (("--whole-client",), {"domain": "00"}),
        (("--whole-client",), {"service": "0"}),
        (("--whole-client",), [("domain", "0"), ("service", "110")]),
        (("--service", "110", "--domain", "11"), {"domain": "0"}),
        (("--service", "110", "--domain", "11"), {"service": "0"}),
        (("--service", "110"), [("service", "110"), ("service", "111")]),
        (("--service", "110"), [("service", "110"), ("service", "110"), ("service", "")]),
        (("--service", "110", "--domain", "11"), [("service", "110"), ("domain", "11")]),
        (("--whole-client",), [("domain", "11"), ("service", "110")]),
    ],
)
def test_a_renew_form_naming_no_single_real_item_is_a_changed_form(
    pages: SelfServiceWorld,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    covers: tuple[str, ...],
    form: Any,
):
    """Twenty-first round, MEDIUM 1 and LOW 4: `domain=0` on a whole-account grant's renew form was a 500 whose
    traceback logged the link's token (`as_int(domain) or domains[0]` on no domain); on a grant naming a domain,
    `domain=0` was read as its first domain, and that renewal recorded and invoiced; `service=110&service=111` was
    taken too. 0 is no id and a field sent twice is no choice: a changed form (400), the link left usable. The page's
    form names one service or one domain: both at once is a changed form too (the domain was renewed, the service
    named with it ignored)."""
    granted, link = delegate_link(pages, *covers)
    fields = [("do", "renew"), ("grant", granted), *(form.items() if isinstance(form, dict) else form)]
    refused = requests.post(link, data=fields, timeout=10)
    assert refused.status_code == 400, (refused.status_code, refused.text[-300:])
    assert requests.get(link, timeout=10).status_code == 200  # a changed form does not use the link
    pages.settle()
    assert "renew" not in pages.run("delegations", "show", granted).output.split("history")[-1].lower()
    assert link.rsplit("/", 1)[-1] not in caplog.text


@pytest.mark.parametrize(
    ("option", "text", "code"),
    [
        ("--by", "alice\nbob", "U+000A"),
        ("--by", "al\u200bice", "U+200B"),
        ("--basis", "email\u009b2K", "U+009B"),
        ("--basis", "email\u2028  2026-11-28 10:00  revoked by owner", "U+2028"),
        ("--basis", "e\u2029mail", "U+2029"),
        ("--basis", "email\tand phone", "U+0009"),
        ("--basis", "e\ufeffmail", "U+FEFF"),
        ("--by", "alice\u00a0smith", "U+00A0"),  # twenty-second round LOW: reads "alice smith", another actor
        ("--by", "alice\u3000smith", "U+3000"),
        ("--basis", "owner's\u2007email", "U+2007"),
    ],
)
def test_free_text_with_an_invisible_or_layout_character_is_refused_naming_it(
    sandbox: Sandbox, tmp_path: Path, worlds, option: str, text: str, code: str
):
    """Twenty-first round, MEDIUM 3: `--by`, `--basis` and `--reason` still took a newline (a forged second history
    entry in `delegations show`), U+009B (a terminal's 8-bit CSI), a zero-width space ("al\u200bice" reads "alice"), a
    line or paragraph separator. Every control, format and separator character is refused, by its code point and
    the option's name."""
    world = world_with(sandbox, tmp_path, worlds)
    args = {"--by": "alice", "--basis": "email", option: text}
    result = world.runner.invoke(
        cli.main,
        ["--config", str(world.config), "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
         "--by", args["--by"], "--basis", args["--basis"]],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert option in result.output and code in result.output, result.output
    assert "active" not in world.run("delegations", "list").output


def test_a_history_stored_with_layout_characters_cannot_forge_a_line_in_show():
    """Twenty-first round, MEDIUM 3: rows stored before the refusal print through the same filter: no raw control,
    format or separator character reaches the terminal, and no stored text makes a line of its own."""
    grant = granted(by="al\u200bice\n    2026-11-28 10:00  revoked by owner", basis="email\u009b2K\u2028x")
    grant["history"].append({"at": "2026-11-28T10:00:00+00:00", "what": "revoked", "by": "bob\u202e", "reason": "a\rb"})
    lines = show(grant)
    text = "\n".join(lines)
    assert not [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")], repr(text)
    assert len(lines[lines.index("  history:") + 1 :]) == len(grant["history"]), lines
    assert "<U+200B>" in text and "<U+000A>" in text, text
