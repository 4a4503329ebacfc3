"""Issue 15, the position derived from facts: seed 001 day by day against the sandbox with staff acting by
hand in WHMCS (the control API's `act`): invoices consolidated or cancelled, a partial payment, a single
payment while a step awaits approval, a case that only reminded, promises with an amount, and the polling
that re-reads only the clients whose open case may have changed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_escalation_e2e import Bridge, configure, summary
from whmcs_bridge import clock
from whmcs_bridge.cli import app as cli
from whmcs_bridge.config.load import load_config

# The seed's 11 unpaid invoices: 1-6 reseller (49.95 each), 7-11 dedicated server (129.00 each): 944.70.
RESELLER = range(1, 7)
AT = ("--at", "2026-11-23T10:05:00Z")  # staff record promises at the story's time
SERVER = range(7, 12)


@pytest.fixture
def story(sandbox: Sandbox, tmp_path: Path) -> Bridge:
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    return Bridge(configure(tmp_path, sandbox), sandbox)


def to_final_notice(story: Bridge) -> None:
    story.day("2026-11-23T10:00:00Z")
    story.day("2026-11-30T10:00:00Z")
    assert [c["action"] for c in story.day("2026-12-09T10:00:00Z")] == ["SendEmail", "OpenTicket", "OpenTicket"]


def act(sandbox: Sandbox, action: str, **params: Any) -> Any:
    return sandbox.control("act", {"action": action, **params})


def pay(sandbox: Sandbox, invoice: int, amount: str | None = None) -> None:
    extra = {"amount": amount} if amount is not None else {}
    act(
        sandbox,
        "AddInvoicePayment",
        invoiceid=invoice,
        transid=f"BANK-{invoice}-{amount}",
        gateway="banktransfer",
        **extra,
    )


def emails(sandbox: Sandbox, start: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith(start)]


def listed(story: Bridge) -> dict[str, Any]:
    [row] = json.loads(story.run("escalations", "list", "--json").output)
    return dict(row)


def test_consolidated_invoices_keep_the_ladder_where_it_was(story: Bridge):
    """Finding 2 and 11: staff replace the 11 invoices by one of their sum; no undo, no "payment received",
    no new first reminder; the panel lock comes on its day and names the consolidated debt."""
    sandbox = story.sandbox
    to_final_notice(story)
    oldest = date.fromisoformat(sandbox.rows("invoices", id=1)[0]["duedate"])
    sandbox.travel("2026-12-10T09:00:00")
    for invoice in [*RESELLER, *SERVER]:
        act(sandbox, "UpdateInvoice", invoiceid=invoice, status="Cancelled")
    act(
        sandbox,
        "CreateInvoice",
        userid=1,
        itemdescription1="Consolidated: invoices 1-11",
        itemamount1="944.70",
        duedate="2026-12-24",
    )
    assert story.day("2026-12-10T10:00:00Z", passes=3) == []  # nothing undone, no email, no reminder
    row = listed(story)
    # The replacement counts from the oldest due date of the invoices it replaced, not from its own.
    today = clock.utcnow().astimezone(load_config(story.config).zone).date()  # `escalations list` counts to today
    overdue = (today - oldest).days
    assert (row["stage"], row["invoices"], row["days_overdue"]) == ("final-notice", 1, overdue), row
    assert "944.70" in row["amount_due"], row
    assert story.day("2026-12-16T10:00:00Z") == []  # nothing on the deadline day: the lock comes the day after
    asked = story.day("2026-12-17T10:00:00Z")  # the panel lock, awaiting approval: one ticket to staff
    assert [c["action"] for c in asked] == ["OpenTicket"], summary(asked)
    assert story.approve_all() == 3
    locked = story.day("2026-12-17T10:30:00Z", passes=1)
    assert [c["action"] for c in locked] == ["ModuleCustom", "ModuleCustom", "SendEmail"]
    assert "€\xa0944,70" in emails(sandbox, "Toegang tot uw controlepaneel")[0]["message"]
    assert not emails(sandbox, "Uw diensten zijn volledig hersteld")


def test_invoices_cancelled_with_nothing_replacing_them_hold_the_case_for_staff(story: Bridge):
    """Finding 11: a cancellation is not a payment: no "we have received your payment"; staff decide."""
    sandbox = story.sandbox
    to_final_notice(story)
    sandbox.travel("2026-12-10T09:00:00")
    for invoice in [*RESELLER, *SERVER]:
        act(sandbox, "UpdateInvoice", invoiceid=invoice, status="Cancelled")
    writes = story.day("2026-12-10T10:00:00Z", passes=3)
    assert "SendEmail" not in [c["action"] for c in writes], summary(writes)
    assert not emails(sandbox, "Uw diensten zijn volledig hersteld")
    row = listed(story)
    assert row["hold"] and "cancelled" in row["hold"], row
    assert "HELD: " in story.run("escalations", "list").output


def test_partial_payment_lowers_the_amount_in_the_next_notice(story: Bridge):
    """Finding 6: after 100.00 paid on a 129.00 invoice, the panel-lock email demands the balance, 844.70."""
    sandbox = story.sandbox
    to_final_notice(story)
    sandbox.travel("2026-12-11T09:00:00")
    pay(sandbox, 7, "100.00")
    story.day("2026-12-11T10:00:00Z")
    assert "844.70" in listed(story)["amount_due"]
    assert story.day("2026-12-16T10:00:00Z") == []  # nothing on the deadline day: the lock comes the day after
    asked = story.day("2026-12-17T10:00:00Z")  # the panel lock, awaiting approval: one ticket to staff
    assert [c["action"] for c in asked] == ["OpenTicket"], summary(asked)
    story.approve_all()
    story.day("2026-12-17T10:30:00Z", passes=1)
    [locked] = emails(sandbox, "Toegang tot uw controlepaneel")
    assert "€\xa0844,70" in locked["message"] and "944,70" not in locked["message"]


def test_one_invoice_paid_while_the_lock_awaits_approval_does_not_cancel_it(story: Bridge):
    """Finding 3 and 6: 49.95 of 944.70 paid; the approved lock runs and its email says 894.75."""
    sandbox = story.sandbox
    to_final_notice(story)
    assert story.day("2026-12-16T10:00:00Z") == []  # nothing on the deadline day: the lock comes the day after
    asked = story.day("2026-12-17T10:00:00Z")  # the panel lock, awaiting approval: one ticket to staff
    assert [c["action"] for c in asked] == ["OpenTicket"], summary(asked)
    sandbox.travel("2026-12-17T10:10:00")
    pay(sandbox, 1)
    story.day("2026-12-17T10:15:00Z")
    assert story.approve_all() == 3
    locked = story.day("2026-12-17T10:30:00Z", passes=1)
    assert summary(locked) == [
        ("ModuleCustom", "101:lock_reseller_panel"),
        ("ModuleCustom", "102:lock_reseller_panel"),
        ("SendEmail", "1:Toegang tot uw controlep"),
    ]
    assert "€\xa0894,75" in emails(sandbox, "Toegang tot uw controlepaneel")[0]["message"]


def test_the_client_current_cancels_a_waiting_step(story: Bridge):
    """Finding 3, the other side: when the whole balance is paid, the waiting steps are cancelled."""
    sandbox = story.sandbox
    to_final_notice(story)
    assert story.day("2026-12-16T10:00:00Z") == []  # nothing on the deadline day: the lock comes the day after
    asked = story.day("2026-12-17T10:00:00Z")  # the panel lock, awaiting approval: one ticket to staff
    assert [c["action"] for c in asked] == ["OpenTicket"], summary(asked)
    sandbox.travel("2026-12-17T10:10:00")
    for invoice in [*RESELLER, *SERVER]:
        pay(sandbox, invoice)
    story.approve_all()
    writes = story.day("2026-12-17T10:30:00Z", passes=3)
    assert "ModuleCustom" not in [c["action"] for c in writes], summary(writes)


def test_a_case_that_only_reminded_closes_with_a_note_not_a_restored_email(story: Bridge):
    """Finding 11 (and Build 10): nothing was restored, so nothing says so."""
    sandbox = story.sandbox
    story.day("2026-11-23T10:00:00Z")
    story.day("2026-11-30T10:00:00Z")
    sandbox.travel("2026-12-01T09:00:00")
    for invoice in [*RESELLER, *SERVER]:
        pay(sandbox, invoice)
    closed = story.day("2026-12-01T10:00:00Z", passes=3)
    assert [c["action"] for c in closed] == ["AddClientNote"], summary(closed)
    assert not emails(sandbox, "Uw diensten zijn volledig hersteld")


def test_a_promise_names_an_amount_and_is_kept_by_paying_it(story: Bridge):
    """Finding 15: 536.85 paid on a 500.00 promise by its date keeps it (the rest is still owed)."""
    sandbox = story.sandbox
    story.day("2026-11-23T10:00:00Z")
    story.run("escalations", "promise", "1", "--until", "2026-12-04", "--amount", "500.00", "--by", "alice", *AT)
    sandbox.travel("2026-12-02T09:00:00")
    for invoice in (7, 8, 9, 1, 2, 3):
        pay(sandbox, invoice)
    story.day("2026-12-02T10:00:00Z")
    story.day("2026-12-05T10:00:00Z")
    shown = story.run("escalations", "show", "1").output
    assert "promise kept" in shown and "promise broken" not in shown, shown
    assert listed(story)["broken_promises"] == 0


def test_a_promise_paid_short_is_broken(story: Bridge):
    sandbox = story.sandbox
    story.day("2026-11-23T10:00:00Z")
    story.run("escalations", "promise", "1", "--until", "2026-12-04", "--amount", "500.00", "--by", "alice", *AT)
    sandbox.travel("2026-12-02T09:00:00")
    pay(sandbox, 7)
    story.day("2026-12-02T10:00:00Z")
    story.day("2026-12-05T10:00:00Z")
    assert "promise broken" in story.run("escalations", "show", "1").output
    assert listed(story)["broken_promises"] == 1


def test_credit_applied_lowers_what_is_owed_and_a_full_credit_closes_the_case(story: Bridge):
    """Build 1: balances net of credit applied (ApplyCredit). Staff add 300.00 of credit and apply it to
    invoice 7 (129.00, then paid) and 171.00 of it to invoice 8 (129.00: only 129.00 applies); then the rest
    of the debt as credit: the case closes with nothing destructive, as for a payment."""
    sandbox = story.sandbox
    to_final_notice(story)
    sandbox.travel("2026-12-11T09:00:00")
    act(sandbox, "AddCredit", clientid=1, description="Goodwill", amount="300.00")
    act(sandbox, "ApplyCredit", invoiceid=7)
    act(sandbox, "ApplyCredit", invoiceid=8, amount="100.00")
    story.day("2026-12-11T10:00:00Z")
    assert "715.70" in listed(story)["amount_due"], listed(story)  # 944.70 - 129.00 - 100.00
    act(sandbox, "AddCredit", clientid=1, description="Settlement", amount="715.70")
    for invoice in [*RESELLER, *SERVER]:
        if sandbox.rows("invoices", id=invoice)[0]["status"] == "Unpaid":
            act(sandbox, "ApplyCredit", invoiceid=invoice)
    writes = story.day("2026-12-12T10:00:00Z", passes=3)
    assert not [c for c in writes if c["action"].startswith("Module")], summary(writes)
    assert json.loads(story.run("escalations", "list", "--json").output) == []  # no open case
    assert "Overdue escalation closed: the client is current again" in story.run("escalations", "show", "1").output


def refused(story: Bridge, *args: str) -> str:
    result = CliRunner().invoke(cli.main, ["--config", str(story.config), "escalations", *args])
    assert result.exit_code == 1, result.output
    return result.stderr


def test_promises_and_holds_that_make_no_sense_are_refused(story: Bridge):
    """Finding 15: non-numeric amounts, past dates, dates beyond the horizon, an empty hold reason."""
    story.day("2026-11-23T10:00:00Z")
    base = ["promise", "1", "--by", "alice", *AT]
    assert "not an amount" in refused(story, *base, "--until", "2026-12-04", "--amount", "abc")
    assert "not an amount" in refused(story, *base, "--until", "2026-12-04", "--amount", "-5")
    assert "in the past" in refused(story, *base, "--until", "2026-11-01", "--amount", "10")
    assert "promise_horizon_days" in refused(story, *base, "--until", "2031-11-23", "--amount", "10")
    # From the issue-15 break test: exponents, fractions of a cent, more than is owed.
    assert "not an amount" in refused(story, *base, "--until", "2026-12-04", "--amount", "1e2")
    assert "not an amount" in refused(story, *base, "--until", "2026-12-04", "--amount", "0.001")
    assert "944.70" in refused(story, *base, "--until", "2026-12-04", "--amount", "99999999")
    assert "a reason" in refused(story, "hold", "1", "--reason", " ", "--by", "bob")
    assert "promise" not in story.run("escalations", "show", "1").output


def test_a_new_promise_does_not_silently_replace_an_open_one(story: Bridge):
    """From the issue-15 break test: re-promising before each date pushed the ladder back for ever and no
    promise was ever broken. An open promise is replaced only with --replace, and it then counts as broken."""
    story.day("2026-11-23T10:00:00Z")
    story.run("escalations", "promise", "1", "--until", "2026-11-27", "--amount", "100", "--by", "alice", *AT)
    again = ["promise", "1", "--until", "2026-12-10", "--amount", "100", "--by", "alice", *AT]
    assert "--replace" in refused(story, *again)
    assert listed(story)["broken_promises"] == 0
    story.run("escalations", *again, "--replace")
    assert listed(story)["broken_promises"] == 1
    shown = story.run("escalations", "show", "1").output
    assert "promise replaced" in shown, shown


def test_broken_promises_beyond_the_limit_are_refused(story: Bridge):
    """Finding 15: `max_broken_promises` (2 by default): a third promise after two broken is refused."""
    story.day("2026-11-23T10:00:00Z")
    for until, after in (("2026-11-25", "2026-11-26T10:00:00Z"), ("2026-11-27", "2026-11-28T10:00:00Z")):
        story.run("escalations", "promise", "1", "--until", until, "--amount", "100", "--by", "alice", *AT)
        story.day(after)
    assert listed(story)["broken_promises"] == 2
    assert "max_broken_promises" in refused(
        story,
        "promise",
        "1",
        "--until",
        "2026-12-20",
        "--amount",
        "100",
        "--by",
        "alice",
        "--at",
        "2026-11-28T10:05:00Z",
    )


def test_polling_reads_only_the_clients_whose_open_case_may_have_changed(sandbox: Sandbox, tmp_path: Path):
    """Finding 13: a pass with nothing new reads no client's services; a paid-up client leaves the set."""
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    config = configure(tmp_path, sandbox, "")
    story = Bridge(config, sandbox)
    story.day("2026-11-23T10:00:00Z", passes=3)  # the case opens; its read gives the services' statuses
    seen = len(sandbox.calls())
    story.day("2026-11-23T10:10:00Z", passes=2)  # nothing happened in WHMCS
    reads = [c["action"] for c in sandbox.calls()[seen:]]
    assert "GetClientsProducts" not in reads and "GetEmails" not in reads, reads
    # Staff suspend a service by hand: the activity log names the client, whose services are read.
    act(sandbox, "ModuleSuspend", serviceid=101, suspendreason="Abuse: phishing kit")
    seen = len(sandbox.calls())
    story.day("2026-11-23T10:20:00Z", passes=1)
    assert [c["action"] for c in sandbox.calls()[seen:]].count("GetClientsProducts") >= 1
    # The client pays everything: it leaves the tracked set.
    act(sandbox, "ModuleUnsuspend", serviceid=101)
    for invoice in [*RESELLER, *SERVER]:
        pay(sandbox, invoice)
    story.day("2026-11-23T10:30:00Z", passes=3)
    seen = len(sandbox.calls())
    story.day("2026-11-23T17:00:00Z", passes=1)  # a sweep is due (6 h): still no read of the client
    assert "GetClientsProducts" not in [c["action"] for c in sandbox.calls()[seen:]]
