"""Issue 15's leftovers: a closed case takes its steps still waiting for approval with it (cancelled, and
audited), and the reasons a ladder is held are shown as staff wrote them or in the staff's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_escalation_e2e import Bridge, configure
from tests.test_escalation_facts import RESELLER, SERVER, act, pay, to_final_notice
from whmcs_bridge.store import audit, outbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def story(sandbox: Sandbox, tmp_path: Path) -> Bridge:
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    return Bridge(configure(tmp_path, sandbox), sandbox)


def waiting(story: Bridge) -> list[dict]:
    return json.loads(story.run("approvals", "list", "--json").output)


def test_a_case_closed_by_payment_withdraws_its_waiting_approvals(story: Bridge):
    """The panel lock waits for approval; the client pays everything: the case closes, and the three steps
    leave `approvals list` (cancelled, with the reason, in the audit chain), instead of waiting forever."""
    sandbox = story.sandbox
    to_final_notice(story)
    story.day("2026-12-17T10:00:00Z")
    assert len(waiting(story)) == 3
    sandbox.travel("2026-12-17T10:10:00")
    for invoice in [*RESELLER, *SERVER]:
        pay(sandbox, invoice)
    story.day("2026-12-17T10:30:00Z", passes=3)
    assert waiting(story) == []
    with Database(story.config.parent / "state.db") as db:
        cancelled = outbox.entries(db, client_id=1, statuses=["cancelled"])
        assert len([e for e in cancelled if e.needs_approval]) == 3
        assert all("case closed" in (e.error or "") for e in cancelled if e.needs_approval)
        assert len(list(audit.entries(db, client_id=1, action="escalation.approval_withdrawn"))) == 3
    assert "nothing is waiting for a decision" in story.run("approvals", "list").output


def test_a_case_closed_by_staff_after_cancellations_withdraws_them_too(story: Bridge):
    sandbox = story.sandbox
    to_final_notice(story)
    story.day("2026-12-17T10:00:00Z")
    assert len(waiting(story)) == 3
    sandbox.travel("2026-12-17T10:10:00")
    for invoice in [*RESELLER, *SERVER]:
        act(sandbox, "UpdateInvoice", invoiceid=invoice, status="Cancelled")
    story.day("2026-12-17T16:30:00Z", passes=3)  # the poll's sweep of open invoices finds them cancelled
    assert "cancelled" in (json.loads(story.run("escalations", "list", "--json").output)[0]["hold"] or "")
    story.run("escalations", "resume", "1", "--by", "bob")  # staff: the cancelled invoices are not coming back
    assert waiting(story) == []


def test_staff_closing_the_ladder_withdraws_the_steps_waiting_for_approval(story: Bridge):
    to_final_notice(story)
    story.day("2026-12-17T10:00:00Z")
    assert len(waiting(story)) == 3
    story.run("escalations", "close", "1", "--reason", "handed to the lawyer", "--by", "bob")
    assert waiting(story) == []
    with Database(story.config.parent / "state.db") as db:
        withdrawn = list(audit.entries(db, client_id=1, action="escalation.approval_withdrawn"))
        assert [e.detail["reason"] for e in withdrawn] == ["ladder closed by bob"] * 3


def test_hold_reasons_are_in_the_staff_language_or_as_staff_wrote_them(story: Bridge):
    """A hold the bridge puts on the case (staff suspended a service by hand) reads in the staff's language
    from the catalogue; one staff put on reads as they wrote it."""
    story.config.write_text(story.config.read_text().replace("staff_language: english", "staff_language: french"))
    sandbox = story.sandbox
    story.day("2026-11-23T10:00:00Z")
    act(sandbox, "ModuleSuspend", serviceid=101, suspendreason="Abuse: phishing kit")
    story.day("2026-11-23T10:20:00Z", passes=2)
    [row] = json.loads(story.run("escalations", "list", "--json").output)
    assert row["hold"] == "le service 101 a été mis à l'état suspendu à la main dans WHMCS", row
    assert "HELD: le service 101" in story.run("escalations", "list").output
    story.run("escalations", "resume", "1", "--by", "bob")
    story.run("escalations", "hold", "1", "--reason", "client disputes invoice 3", "--by", "bob")
    [row] = json.loads(story.run("escalations", "list", "--json").output)
    assert row["hold"] == "client disputes invoice 3"
