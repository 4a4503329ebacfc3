"""Findings of the seventeenth outside break test of contact delegation, each reproduced before its fix: an
email's subject kept at rest, and a malformed email event kept whole; staff's renew refused for good after a
renewal paid twice; an email sent before a grant started copied to its delegate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import WEBHOOK_SECRET, BridgeWorld, Sandbox, sql
from tests.test_delegation_identity_e2e import COPY_ALL, grant, owner_grants, stored_text, world_with, worlds
from tests.test_delegation_renewal_e2e import World, asked, due, next_month, owner_invoice, pay, pay_part, world
from whmcs_bridge.intake import signing
from whmcs_bridge.store.db import Database

__all__ = ["world", "worlds"]  # the fixtures, used by name


def deliver(world: BridgeWorld, webhook_id: str, data: dict[str, Any], occurred_at: str | None = None) -> Any:
    """The PHP hook's EmailPreLog event for `data`, signed, sent to the bridge's receiver: its answer. Stamped now
    unless `occurred_at` says when (an empty one: not stamped at all)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) if occurred_at is None else occurred_at
    event = {
        "type": "EmailPreLog",
        **({"occurred_at": stamp} if stamp else {}),
        "source": {"whmcs_url": world.sandbox.url, "hook_version": 2},
        "data": data,
    }
    body = json.dumps(event).encode()
    return requests.post(
        world.public + "/hooks/whmcs",
        data=body,
        headers=signing.headers(WEBHOOK_SECRET, webhook_id, int(time.time()), body),
        timeout=10,
    )


# --- 1. an email's subject is scrubbed with its body; a message or subject that is no text is refused -------


def test_no_email_subject_stays_at_rest_templated_custom_or_unknown(sandbox: Sandbox, tmp_path: Path, worlds):
    """A ticket reply's subject carries what its writer typed ("my new password is ..."): once the rules
    decided, the inbox keeps a hash of it, as of the body; so for a custom email and an unknown template."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL)
    owner_grants(world, "accept", "--whole-client")
    sent = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600))  # after the grant started
    emails = {
        "Support Ticket Reply": ("SUBJSECRET9", "BODYSECRET9"),
        "": ("SUBJSECRET7", "BODYSECRET7"),  # a custom message
        "Our Own Unlisted Template": ("SUBJSECRET5", "BODYSECRET5"),
    }
    for n, (name, (subject, body)) in enumerate(emails.items()):
        data = {
            "userid": 11,
            "date": sent,
            "subject": f"[Ticket ID: 1] my new password is {subject}",  # as the template renders it
            "message": f"<p>{body}</p>",
            "relid": 1,
            **({"messagename": name} if name else {}),
        }
        assert deliver(world, f"msg_subject_{n}", data).status_code == 202
    world.settle()
    world.run("tick")
    kept = stored_text(tmp_path / "state.db")
    for subject, body in emails.values():
        assert subject.encode() not in kept and body.encode() not in kept, subject
    with Database(tmp_path / "state.db") as db:
        bodies = [json.loads(r["body"])["data"] for r in sql(db, "SELECT body FROM inbox WHERE type = 'EmailPreLog'")]
    mine = [b for b in bodies if b.get("date") == sent]
    assert len(mine) == 3 and all(b["subject"] == "" and len(b["subject_sha256"]) == 64 for b in mine)
    # The ticket reply was decided on before its words went: the agency is told of it, by its template.
    with Database(tmp_path / "state.db") as db:
        [state] = sql(db, "SELECT state FROM family_state WHERE key LIKE 'grant:%'")
    assert [a["email"] for a in json.loads(state["state"])["activity"]] == ["Support Ticket Reply"]


def test_an_email_event_whose_message_or_subject_is_no_text_is_refused(sandbox: Sandbox, tmp_path: Path, worlds):
    """WHMCS renders an email's subject and message as text, and the PHP hook sends them so: anything else in a
    signed event is a sender's fault, refused with a 400 naming the field (the hook logs it, never resends it),
    and nothing of it is kept."""
    world = world_with(sandbox, tmp_path, worlds)
    base = {"userid": 11, "date": "2026-11-27 10:00:00", "messagename": "Support Ticket Reply", "relid": 1}
    for n, (field, value) in enumerate((("message", {"a": "SECRETP1"}), ("subject", ["SECRETP2"]))):
        other = {"subject": "Re: ticket", "message": "<p>hello</p>"}
        answer = deliver(world, f"msg_shape_{n}", {**base, **other, field: value})
        assert answer.status_code == 400, answer.text
        assert f"`{field}`" in answer.json()["message"], answer.text
    world.settle()
    kept = stored_text(tmp_path / "state.db")
    assert b"SECRETP1" not in kept and b"SECRETP2" not in kept


# --- 2. staff's renew checks another grant's renewal as the rules do ----------------------------------------


def test_staff_renew_after_another_grants_renewal_was_paid_twice(world: World):
    """Renewal 1 of service 130 ended "paid twice" (the agency's invoice paid, the owner paid too, WHMCS renewed the
    service once): its paid invoice is for a period WHMCS shows renewed, so another grant's renewal may be asked.
    Staff's `renew` read the invoice's status but not the service's due date, and refused it for good."""
    invoice = owner_invoice(world, 13)
    before = due(world, 130)
    first, invoices = asked(world, owner=13, service=130)
    pay(world, invoices[0]["id"], "CARD-17")
    pay(world, invoice["id"], "OWNER-17")
    world.settle(4)
    assert due(world, 130) == next_month(before)
    assert "renewal 1: service #130, paid twice" in world.run("delegations", "show", first).output
    other = world.run(
        "delegations", "grant", "--owner", "13", "--delegate", "12", "--whole-client",
        "--by", "alice", "--basis", "owner's email",
    ).output.split()[0]  # fmt: skip
    world.settle()
    again = world.run("delegations", "renew", other, "--service", "130", "--by", "claire")
    assert again.exit_code == 0 and "renewal 1 of grant" in again.output, again.output
    world.settle(4)
    shown = world.run("delegations", "show", other).output  # the rules, asking WHMCS again, agree
    assert "renewal 1: service #130" in shown and "refused" not in shown.split("renewal 1:")[-1], shown


# --- 3. no copy of an email sent before the grant started -------------------------------------------------


def test_an_email_sent_before_the_grant_started_is_not_copied(sandbox: Sandbox, tmp_path: Path, worlds):
    """A grant made today; the hook's spool delivers late a suspension notice WHMCS sent the owner weeks before
    (stamped then, or with its WHMCS date only): the agency was no contact then, and gets no copy. The same email
    sent now is copied."""
    world = world_with(sandbox, tmp_path, worlds, COPY_ALL)
    assert grant(world, "--service", "110").exit_code == 0
    world.settle()
    suspension = {"userid": 11, "subject": "Service Suspension Notification", "messagename": "Service Suspension Notification", "relid": 110}
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    sent = {
        "old_stamped": ("2026-10-01 10:00:00", "2026-10-01T10:00:00Z"),
        "old_unstamped": ("2026-10-01 10:00:00", ""),
        "now": (now, None),
    }
    for n, (name, (date, stamp)) in enumerate(sent.items()):
        data = {**suspension, "date": date, "message": f"<p>suspended ({name})</p>"}
        assert deliver(world, f"msg_before_{n}", data, occurred_at=stamp).status_code == 202
    world.settle()
    copies = [e for e in world.emails(10) if e["subject"] == "[Copy] Service Suspension Notification"]
    assert [("(now)" in e["message"]) for e in copies] == [True], [e["message"][-200:] for e in copies]


# --- 4. the delegate is told what WHMCS shows when the owner paid part of its own invoice -------------------


def test_the_delegate_is_told_the_truth_when_the_owner_paid_part_of_its_invoice(world: World):
    """The owner's invoice bills an Extra line of 1.00 with the hosting's 14.95; the owner pays 1.00, then the
    agency pays its renewal invoice: nothing is renewed (staff settle both), and the agency is told so, with what
    WHMCS shows paid on the owner's invoice, not "it was not renewed twice"."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    sandbox.control(
        "act",
        {"action": "UpdateInvoice", "invoiceid": invoice["id"], "newitemdescription[0]": "Extra",
         "newitemamount[0]": "1.00", "newitemtaxed[0]": "0"},
    )  # fmt: skip
    before = due(world)
    _, invoices = asked(world)
    pay_part(world, invoice["id"], "OWNER-17", "1.00")
    pay(world, invoices[0]["id"], "CARD-17")
    world.settle(4)
    assert due(world) == before
    [told] = [e for e in world.emails(10) if "is being checked" in e["subject"] or "checked by" in e["subject"]]
    text = told["message"]
    assert "renewed twice" not in text and "has not been renewed yet" in text, text
    assert "1.00" in text and f"#{invoice['id']}" in text, text
