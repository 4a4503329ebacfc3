"""What the parties of an ownership case read (seed 000, against the sandbox): every value escaped next to
the consent link, the holder's own language and dates, names where there were ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from babel.dates import format_date

from tests.conftest import Sandbox
from tests.test_messages import PARIS, SHIPPED, TableNames, samples
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.families.ownership.policies import classify_command
from whmcs_bridge.messages import catalogue as cat
from whmcs_bridge.messages.render import Reader

HOSTILE = 'ACME<a href="https://evil.example/phish">x</a><img src="https://evil.example/track.gif">'


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def open_case(world: World, *subjects: str, requester: str = "client:21") -> str:
    args = [a for s in subjects for a in ("--subject", s)]
    out = world.run("ownership", "open", *args, "--requester", requester, "--grounds", "vendor", "--by", "alice")
    world.settle()
    return str(out.output.split()[0])


def consent_link(body: str) -> str:
    found = re.search(r'href="([^"]+/consent/[^"]+)"', body)
    assert found, body
    return found[1]


def with_link(world: World, client: int) -> list[dict[str, str]]:
    return [e for e in world.emails(client) if "/consent/" in e["message"]]


def test_a_hostile_holder_name_reaches_the_requester_escaped_beside_the_consent_link(world: World):
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "companyname": HOSTILE})
    open_case(world, "domain:20")
    [mail] = with_link(world, 21)
    body = mail["message"]
    # The one link in the email is the bridge's consent link; the company name is text, not markup.
    assert re.findall(r"<a\s[^>]*href=\"([^\"]+)\"", body) == [consent_link(body)]
    assert "evil.example" in body  # the name is there...
    assert "<img" not in body and '<a href="https://evil' not in body  # ...but inert
    assert "ACME&lt;a href=&#34;https://evil.example/phish&#34;&gt;x&lt;/a&gt;&lt;img" in body


def test_an_indonesian_holder_is_asked_in_indonesian_with_an_indonesian_deadline(world: World):
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "language": "indonesian"})
    case_id = open_and_document(world, "domain:20")
    deadline = date.fromisoformat(world.case(case_id)["deadline"][:10])
    [asked] = with_link(world, 20)
    words = format_date(deadline, format="long", locale="id")  # e.g. "9 Desember 2026"
    assert words in asked["message"] and deadline.isoformat() not in asked["message"]
    assert asked["subject"].startswith("Permintaan perubahan pemegang")
    assert "Mohon" in asked["message"] and "Please" not in asked["message"]
    # Its consent page asks the same question in the same language.
    page = requests.get(consent_link(asked["message"]), timeout=5)
    assert "PT Maju Makmur meminta menjadi pemegang majumakmur.co.id" in page.text
    # The requester (no language in its profile) still reads the default language, English.
    requester = [e for e in world.emails(21) if e["subject"].startswith("Your documents are complete")]
    assert requester and words not in requester[-1]["message"]
    assert format_date(deadline, format="long", locale="en") in requester[-1]["message"]


def test_parties_read_names_not_ids_and_staff_read_both(world: World):
    case_id = open_and_document(world, "domain:20", "service:201")
    sandbox = world.sandbox
    for client in (20, 21):
        for mail in world.emails(client):
            assert "client #" not in mail["message"] and "#20" not in mail["message"], mail["message"]
            assert "service #" not in mail["message"] and "domain #" not in mail["message"], mail["message"]
    [asked] = with_link(world, 20)
    # The holder is told who asks and for what: the company by name, the hosting by product and domain.
    assert "PT Maju Makmur" in asked["message"] and "Business (majumakmur.co.id)" in asked["message"]
    assert "majumakmur.co.id and Business (majumakmur.co.id)" in asked["message"]
    requests.post(consent_link(asked["message"]), data={"decision": "accept"}, timeout=5)
    world.settle()
    review = next(t for t in sandbox.rows("tickets") if case_id in t["subject"] and "Review" in t["subject"])
    text = sandbox.rows("ticket_replies", ticket_id=review["id"])[0]["message"]
    # Staff read names, with the ids they need to find the records.
    assert "Kreatif Studio (#20)" in text and "PT Maju Makmur (#21)" in text
    assert "Business (majumakmur.co.id)" in text


def test_an_outside_requester_reads_its_ticket_in_the_default_language_with_names(world: World):
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "language": "indonesian"})
    open_case(world, "domain:20", requester="PT Maju Makmur, legal@majumakmur.co.id")
    thread = next(t for t in world.sandbox.rows("tickets") if t["email"] == "legal@majumakmur.co.id")
    text = world.sandbox.rows("ticket_replies", ticket_id=thread["id"])[0]["message"]
    # Not the holder's language: the requester is not a client, so WHMCS's default language (English).
    assert "/consent/" in text and "Kreatif Studio" in text and "client #" not in text
    assert "Please confirm" in text and "<p>" not in text
    assert "a letter on your company's letterhead" in text


@pytest.mark.parametrize("lang", cat.SHIPPED)
@pytest.mark.parametrize("message_id", ["ownership.approved", "ownership.approved_ticket"])
def test_an_approval_that_moves_nothing_promises_no_lock(message_id, lang):
    """From the tenth issue-17 break round (L3): a backup-only approval told the vendor "no other change of holder
    for 60 days" though nothing moved and nothing was locked. The lock is said only when something moves."""
    fields = {**samples(message_id), "lock_days": 61}
    backup = {**fields, "moving": [], "services_moving": 0, "domains_moving": 0}
    text = SHIPPED.render(message_id, backup, Reader(lang, "EUR", PARIS), TableNames())
    assert "61" not in text.body
    moving = SHIPPED.render(message_id, fields, Reader(lang, "EUR", PARIS), TableNames())
    assert "61" in moving.body


@pytest.mark.parametrize("lang", cat.SHIPPED)
def test_the_requesters_person_in_the_holders_account_is_never_recorded_as_the_holder(lang):
    """From the tenth issue-17 break round (M1): the staff ticket names the writer as the requester's person and
    suggests recording the requester's answer only: the command `show` gives for it (policies.classify_command)."""
    reply = {"party": "other", "side": "requester", "ticket": 42, "reply": 0}
    command = classify_command("o3f9a2c1", reply)
    fields = {
        **samples("ownership.staff_reply_other"), "requester_person": 1, "writer": "Siti Rahmawati <s@x.id>", "command": command,
    }  # fmt: skip
    text = SHIPPED.render("ownership.staff_reply_other", fields, Reader(lang, "EUR", PARIS), TableNames())
    assert "Siti Rahmawati" in text.body and "--party holder" not in text.body and "--party requester" in text.body
