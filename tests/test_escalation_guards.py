"""Issue 15, guards and approvals: seed 001 day by day against the sandbox with the WHMCS clock moving, staff
acting by hand through the sandbox's control API and deciding approvals through the CLI. Each test is one
finding of the issue (its number in the name). Times are UTC; the configuration's timezone is Europe/Paris
(UTC+1 in winter), whose working hours 09:00-17:00 are 08:00-16:00 UTC."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_escalation_e2e import Bridge, configure, summary
from whmcs_bridge.store import audit, inbox, states
from whmcs_bridge.store.db import Database

LADDER_START = "      ladder:\n"
LADDER_END = "\nstaff:"  # the shared staff list after the escalation section stays


def with_ladder(config: Path, ladder: str, **replace: str) -> None:
    """Replace the example's ladder (and any other text) in the test's configuration."""
    text = config.read_text()
    start, end = text.index(LADDER_START), text.index(LADDER_END)
    text = text[:start] + LADDER_START + ladder + "\n" + text[end:]
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)


class Story(Bridge):
    def act(self, action: str, **params: Any) -> Any:
        return self.sandbox.control("act", {"action": action, **params})

    def waiting(self) -> list[dict[str, Any]]:
        return [
            r for r in json.loads(self.run("approvals", "list", "--json").output) if r["status"] == "awaiting_approval"
        ]

    def days(
        self, first: str, last: str, *, approve: bool = True, hours: tuple[str, ...] = ("10",)
    ) -> dict[str, list[Any]]:
        """Every day from first to last at each of `hours` UTC (weekends included), approving what waits
        after each pass and running once more half an hour later; the WHMCS writes of each day."""
        out: dict[str, list[Any]] = {}
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            for hour in hours:
                calls = self.day(f"{day}T{hour}:00:00Z")
                if approve and self.approve_all():
                    calls += self.day(f"{day}T{hour}:30:00Z", passes=1)
                out[day.isoformat() if len(hours) == 1 else f"{day}T{hour}"] = calls
            day += timedelta(days=1)
        return out

    def first(self, writes: dict[str, list[Any]], action: str, detail: str = "") -> str | None:
        return next(
            (d for d, calls in writes.items() for c in summary(calls) if c[0] == action and detail in c[1]), None
        )


@pytest.fixture
def story(sandbox: Sandbox, tmp_path: Path) -> Story:
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    return Story(configure(tmp_path, sandbox), sandbox)


def service(sandbox: Sandbox, service_id: int) -> dict[str, Any]:
    return sandbox.rows("services", id=service_id)[0]


def test_finding_01_payment_leaves_staff_abuse_suspensions_alone(story: Story):
    """Staff re-suspended one service for abuse and changed the other's reason: paying lifts neither; staff
    read a note saying why each was left suspended; what the bridge alone did is undone."""
    story.days("2026-11-23", "2026-12-23")
    assert [service(story.sandbox, s)["status"] for s in (101, 102)] == ["Suspended", "Suspended"], story.run(
        "escalations", "show", "1"
    ).output
    story.act("ModuleUnsuspend", serviceid=101)
    story.act("ModuleSuspend", serviceid=101, suspendreason="Abuse: phishing kit")
    story.act("UpdateClientProduct", serviceid=102, suspendreason="Abuse: spam run")
    for invoice in range(1, 12):
        story.act("AddInvoicePayment", invoiceid=invoice, transid=f"BANK-{invoice}", gateway="banktransfer")
    undo = story.days("2026-12-24", "2026-12-28", approve=False)
    writes = [c for calls in undo.values() for c in calls]
    assert not [c for c in writes if c["action"] == "ModuleUnsuspend"]
    assert [
        (service(story.sandbox, s)["status"], service(story.sandbox, s)["suspensionreason"]) for s in (101, 102)
    ] == [
        ("Suspended", "Abuse: phishing kit"),
        ("Suspended", "Abuse: spam run"),
    ]
    notes = [c["params"]["notes"] for c in writes if c["action"] == "AddClientNote"]
    left = [n for n in notes if "left suspended" in n]
    assert len(left) == 2, notes
    assert any("Abuse: phishing kit" in n for n in left) and any("Abuse: spam run" in n for n in left)
    # The panel locks were the bridge's, but both services are staff's now: nothing is undone on them (mail
    # back on for a spam run), and staff read which of the bridge's steps they may undo by hand.
    assert not [w for w in summary(writes) if w[0] == "ModuleCustom"], summary(writes)
    assert any("unlock_reseller_panel" in n and "Abuse: phishing kit" in n for n in notes), notes
    assert not [e for e in story.sandbox.rows("emails", client_id=1) if "volledig hersteld" in e["subject"]]


def test_finding_04_approval_keeps_the_working_hours_and_the_override_date(story: Story):
    """An approval given late at night runs in the next working hours; a service whose "do not suspend until"
    date staff set after the first read (finding 8) is left alone until the day after it."""
    story.days("2026-11-23", "2026-12-15")
    story.act("UpdateClientProduct", serviceid=102, overidesuspenduntil="2027-01-08")
    day = date(2026, 12, 16)
    while not story.waiting():
        story.day(f"{day}T10:00:00Z")
        day += timedelta(days=1)
    day -= timedelta(days=1)
    story.approve_all()
    night = story.day(f"{day}T22:30:00Z", passes=1)  # 23:30 in Paris
    assert not [c for c in night if c["action"].startswith("Module")], summary(night)
    morning = story.day(f"{day + timedelta(days=1)}T08:30:00Z", passes=1)  # 09:30 in Paris
    assert ("ModuleCustom", "101:lock_reseller_panel") in summary(morning)
    assert ("ModuleCustom", "102:lock_reseller_panel") not in summary(morning)
    later = story.days((day + timedelta(days=2)).isoformat(), "2027-01-11")
    lock_102 = story.first(later, "ModuleCustom", "102:lock_reseller_panel")
    suspend_102 = story.first(later, "ModuleSuspend", "102:")
    assert lock_102 == "2027-01-11" and (suspend_102 is None or suspend_102 >= "2027-01-11"), (lock_102, suspend_102)


def test_finding_04_destructive_stages_stay_spaced_and_off_holidays(story: Story):
    """Lock, sites off and mail off configured back to back, approved at once: still a day apart at least
    (min_days_between_destructive), and never on a listed holiday (2026-12-25 and 26) or a weekend."""
    with_ladder(
        story.config,
        """        - name: lock
          after_days: 30
          counted_from: due
          approval: impact
          actions:
            - module_command: {function: lock_reseller_panel, inverse: unlock_reseller_panel}
        - name: sites-off
          after_days: 0
          approval: impact
          actions:
            - suspend: {reason: Administrative reasons}
        - name: mail-off
          after_days: 0
          approval: impact
          actions:
            - module_command: {function: disable_mail, inverse: enable_mail}""",
    )
    story.sandbox.travel("2026-12-24T10:00:00")
    writes = story.days("2026-12-24", "2027-01-04", hours=("02", "10"))
    lock = story.first(writes, "ModuleCustom", "lock_reseller_panel")
    sites = story.first(writes, "ModuleSuspend")
    mail = story.first(writes, "ModuleCustom", "disable_mail")
    assert lock and sites and mail, writes
    for moment in (lock, sites, mail):
        # Only the 10:00 UTC passes (11:00 in Paris) may act: the 02:00 ones are outside the hours.
        assert moment.endswith("T10"), (lock, sites, mail)
        assert date.fromisoformat(moment[:10]).weekday() < 5 and moment[:10] not in ("2026-12-25", "2026-12-26")
    assert lock < sites < mail


def test_finding_05_breaker_counts_clients_and_reset_releases(sandbox: Sandbox, tmp_path: Path):
    """A bad rule suspends every client at once: the breaker trips on clients, `breaker reset` lets the held
    steps run and says who released them; a second reset with nothing held says so."""
    sandbox.load("scale", clients=300, at="2026-11-23T10:00:00")
    config = configure(tmp_path, sandbox)
    with_ladder(
        config,
        """        - name: sites-off
          after_days: 0
          counted_from: due
          actions:
            - suspend: {reason: Administrative reasons}""",
        **{"        product_ids: [1, 2]\n": "        product_ids: [1, 2, 3]\n"},
        **{"  max_destructive_per_hour: 10": "  max_destructive_per_hour: 5"},
    )
    bridge = Story(config, sandbox)
    bridge.day("2026-11-23T10:00:00Z", passes=3)
    assert not [c for c in sandbox.calls() if c["action"] == "ModuleSuspend"]
    assert "TRIPPED" in bridge.run("breaker", "status").output
    out = bridge.run("breaker", "reset", "--by", "alice").output
    assert "released" in out and "alice" in out, out
    bridge.day("2026-11-23T10:30:00Z", passes=1)
    suspended = [c for c in sandbox.calls() if c["action"] == "ModuleSuspend" and c.get("outcome") == "success"]
    assert suspended, "the reset let the held suspensions run"
    assert "TRIPPED" not in bridge.run("breaker", "status").output
    again = bridge.run("breaker", "reset", "--by", "alice").output
    assert "nothing" in again and "held" in again, again
    with Database(tmp_path / "state.db") as db:
        resets = list(audit.entries(db, action="executor.breaker_reset"))
    assert len(resets) == 1 and resets[0].actor == "staff:alice" and resets[0].detail["released"] > 0, resets


@pytest.mark.parametrize("limit", [10, 50])
def test_finding_05_and_10_collections_is_one_client_and_waits_for_working_hours(story: Story, limit: int):
    """Eleven invoices to Collections are one client for the breaker (limit 10), and the step waits for a
    working day and hour like any destructive step (finding 10): not on Saturday, not at night."""
    with_ladder(
        story.config,
        """        - name: collections
          after_days: 0
          counted_from: due
          actions:
            - invoice_status: Collections""",
        **{"  max_destructive_per_hour: 10": f"  max_destructive_per_hour: {limit}"},
    )
    story.sandbox.travel("2026-11-28T10:00:00")
    saturday = story.day("2026-11-28T10:00:00Z")
    assert not [c for c in saturday if c["action"] == "UpdateInvoice"], summary(saturday)
    night = story.day("2026-11-30T05:00:00Z")
    assert not [c for c in night if c["action"] == "UpdateInvoice"], summary(night)
    monday = story.day("2026-11-30T08:30:00Z")
    assert len([c for c in monday if c["action"] == "UpdateInvoice"]) == 11, summary(monday)
    assert "TRIPPED" not in story.run("breaker", "status").output


def test_finding_07_unknown_impact_needs_approval(story: Story):
    """A policy whose impact fields the services do not have: the impact is unknown, not 0, and a stage with
    `approval: impact` waits for staff; the approval says "unknown"."""
    config = story.config
    config.write_text(
        config.read_text().replace(
            "custom_fields: [Hosted domains, Hosted users, Sub-resellers]", "custom_fields: [Downstream sites]"
        )
    )
    writes = story.days("2026-11-23", "2026-12-18", approve=False)
    assert not [c for calls in writes.values() for c in calls if c["action"].startswith("Module")]
    assert story.waiting()
    listing = story.run("approvals", "list").output
    assert "impact unknown" in listing, listing


def test_finding_08_service_edit_rereads_the_client(story: Story, tmp_path: Path):
    """WHMCS's ServiceEdit hook (DD:hooks-reference/service.md) makes the bridge read the client again."""
    story.day("2026-11-23T10:00:00Z")
    before = len([c for c in story.sandbox.calls() if c["action"] == "GetClientsProducts"])
    story.act("UpdateClientProduct", serviceid=102, overidesuspenduntil="2027-01-08")
    with Database(tmp_path / "state.db") as db, db.atomic():
        inbox.add(
            db,
            event_id="hook:service-edit-1",
            type="ServiceEdit",
            source="webhook",
            body={
                "type": "ServiceEdit",
                "occurred_at": "2026-11-24T10:00:00Z",
                "data": {"userid": 1, "serviceid": 102},
            },
            occurred_at="2026-11-24T10:00:00Z",
            received_at=datetime.fromisoformat("2026-11-24T10:00:00+00:00"),
        )
    story.day("2026-11-24T10:00:00Z")
    reads = [c for c in story.sandbox.calls() if c["action"] == "GetClientsProducts"]
    assert len(reads) > before
    with Database(tmp_path / "state.db") as db:
        case = states.get(db, "escalation", "1") or {}
    assert [s["override_until"] for s in case["context"]["services"]] == [None, "2027-01-08"]


def test_finding_09_and_14_a_late_approval_holds_the_ladder_and_grace_counts_from_done(story: Story):
    """The panel lock waits a week for approval: the sites do not go off meanwhile; they go off three working
    days after the lock was done. Staff get one ticket for the batch, and a reminder the next day."""
    story.days("2026-11-23", "2026-12-15")
    day = date(2026, 12, 16)
    while not story.waiting():
        story.day(f"{day}T10:00:00Z")
        day += timedelta(days=1)
    asked = day - timedelta(days=1)
    tickets = [t for t in story.sandbox.rows("tickets") if "approval" in t["subject"].lower()]
    assert len(tickets) == 1, [t["subject"] for t in story.sandbox.rows("tickets")]
    [opening] = story.sandbox.rows("ticket_replies", ticket_id=tickets[0]["id"])[:1]
    for fact in ("SnelHost V.O.F.", "panel-lock", "lock_reseller_panel", "11 invoices", "196"):
        assert fact in opening["message"], opening["message"]
    waiting = story.days(
        (asked + timedelta(days=1)).isoformat(), (asked + timedelta(days=9)).isoformat(), approve=False
    )
    assert not [c for calls in waiting.values() for c in calls if c["action"].startswith("Module")]
    assert len(story.waiting()) == 3, "the sites-off stage is not reached while the lock waits"
    reminders = [t for t in story.sandbox.rows("tickets") if "approval" in t["subject"].lower()]
    assert len(reminders) == 2, "one reminder after a day of waiting, not one a day"
    story.approve_all()
    approved_on = asked + timedelta(days=10)
    rest = story.days(approved_on.isoformat(), (approved_on + timedelta(days=10)).isoformat())
    lock = story.first(rest, "ModuleCustom", "lock_reseller_panel")
    sites = story.first(rest, "ModuleSuspend")
    assert lock and sites
    working = [lock]
    d = date.fromisoformat(lock)
    while len(working) < 4:
        d += timedelta(days=1)
        if d.weekday() < 5 and d.isoformat() not in ("2026-12-25", "2026-12-26", "2027-01-01"):
            working.append(d.isoformat())
    assert sites == working[3], (lock, sites)


def test_finding_12_no_lock_on_the_deadline_day(story: Story):
    """The final notice says "uiterlijk 16 december 2026": nothing is locked, nor asked to be, that day."""
    story.days("2026-11-23", "2026-12-15")
    [notice] = [e for e in story.sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert "uiterlijk 16 december 2026" in notice["message"]
    story.day("2026-12-16T10:00:00Z")
    assert story.waiting() == []
    story.day("2026-12-17T10:00:00Z")
    assert len(story.waiting()) == 3


def test_finding_14_approvals_can_be_decided_and_a_rejection_holds_the_ladder(story: Story):
    """`approvals list` says who, what, how much and how exposed; rejecting the lock holds the ladder until
    staff decide; `escalations skip-stage` lets the next stage come."""
    story.days("2026-11-23", "2026-12-15")
    story.days("2026-12-16", "2026-12-17", approve=False)
    listing = story.run("approvals", "list").output
    for part in ("SnelHost V.O.F.", "panel-lock", "11 invoices", "impact 196", "oldest due"):
        assert part in listing, listing
    assert "944.70" in listing or "944,70" in listing, listing
    for row in story.waiting():
        story.run("approvals", "reject", str(row["id"]), "--by", "bob", "--reason", "reseller is migrating")
    held = story.days("2026-12-18", "2027-01-08")
    assert not [c for calls in held.values() for c in calls if c["action"].startswith("Module")]
    shown = story.run("escalations", "list").output
    assert "rejected" in shown.lower(), shown
    story.run("escalations", "skip-stage", "1", "--by", "bob", "--reason", "no lock: go on")
    after = story.days("2027-01-11", "2027-01-20")
    assert story.first(after, "ModuleSuspend")
    assert not story.first(after, "ModuleCustom", "lock_reseller_panel")


def test_build_13_the_lock_waits_for_the_registered_letters_delivery_and_its_deadline(story: Story):
    """The final notice's stage waits for the registered letter's delivery: the lock comes no earlier than
    the day after the deadline counted from the delivery (5 working days), however late the post is."""
    config = story.config
    config.write_text(
        config.read_text().replace(
            "        - name: final-notice\n          after_days: 7\n",
            "        - name: final-notice\n          after_days: 7\n          wait_for_delivery: true\n",
        )
    )
    story.days("2026-11-23", "2026-12-09")
    story.run("escalations", "record-letter", "1", "--tracking", "RR123456789NL", "--by", "alice")
    posted = story.days("2026-12-10", "2026-12-20")
    assert not [c for calls in posted.values() for c in calls if c["action"].startswith("Module")]
    assert story.waiting() == []
    assert "registered letter's delivery" in story.run("escalations", "list").output
    story.run(
        "escalations", "record-letter", "1", "--tracking", "RR123456789NL", "--delivered", "2026-12-14", "--by", "alice"
    )
    story.days("2026-12-21", "2026-12-21", approve=False)
    assert story.waiting() == []  # 5 working days after Monday 14 December: the deadline is Monday 21
    story.days("2026-12-22", "2026-12-22", approve=False)
    assert len(story.waiting()) == 3


# --- from the issue-15 break test (a collections manager playing seed 001 from outside) ---------------


def test_break_payment_undoes_nothing_on_a_service_staff_suspended_and_claims_no_full_restore(story: Story):
    """Staff re-reasoned one of the bridge's suspensions ("Abuse: spam run"): when the client pays, mail is
    not switched back on and the panel not unlocked on that service (staff read why), the other service is
    restored in full, and the client is not told its services are fully restored while one stays suspended."""
    story.days("2026-11-23", "2026-12-28")
    assert [service(story.sandbox, s)["status"] for s in (101, 102)] == ["Suspended", "Suspended"]
    assert ("ModuleCustom", "102:disable_mail") in summary(story.sandbox.calls()), "the ladder reached mail-off"
    story.act("UpdateClientProduct", serviceid=102, suspendreason="Abuse: spam run")
    for invoice in range(1, 12):
        story.act("AddInvoicePayment", invoiceid=invoice, transid=f"BANK-{invoice}", gateway="banktransfer")
    undo = story.days("2026-12-29", "2026-12-31", approve=False)
    writes = summary([c for calls in undo.values() for c in calls])
    assert not [w for w in writes if w[1].startswith("102:") and w[0] in ("ModuleCustom", "ModuleUnsuspend")], writes
    assert ("ModuleCustom", "101:enable_mail") in writes and ("ModuleCustom", "101:unlock_reseller_panel") in writes
    assert service(story.sandbox, 101)["status"] == "Active"
    assert (service(story.sandbox, 102)["status"], service(story.sandbox, 102)["suspensionreason"]) == (
        "Suspended",
        "Abuse: spam run",
    )
    assert not [e for e in story.sandbox.rows("emails", client_id=1) if "volledig hersteld" in e["subject"]]
    notes = [c["params"]["notes"] for calls in undo.values() for c in calls if c["action"] == "AddClientNote"]
    assert any("enable_mail" in n and "Abuse: spam run" in n for n in notes), notes


def test_break_the_panel_locked_email_waits_for_the_locks_it_announces(story: Story):
    """Approved on a Saturday evening, with one service's "do not suspend until" date a week away: the email
    saying the panel is locked goes out once the locks have run, not when staff approved."""
    story.days("2026-11-23", "2026-12-16")
    story.act("UpdateClientProduct", serviceid=101, overidesuspenduntil="2026-12-22")
    story.days("2026-12-17", "2026-12-17", approve=False)
    assert len(story.waiting()) == 3
    story.approve_all()
    rest = story.days("2026-12-17", "2026-12-24", approve=False)
    lock_101 = story.first(rest, "ModuleCustom", "101:lock_reseller_panel")
    lock_102 = story.first(rest, "ModuleCustom", "102:lock_reseller_panel")
    told = next(
        (d for d, calls in rest.items() for c in calls if c["action"] == "SendEmail" and "controlepaneel" in str(c["params"])),
        None,
    )
    assert (lock_102, lock_101) == ("2026-12-17", "2026-12-23"), rest
    assert told == lock_101, (told, lock_101)


def test_break_a_hold_stops_an_approved_step_still_waiting_to_run(story: Story):
    """The lock of one service was approved but waits for its override date; staff hold the ladder: it does
    not run while held, and runs once staff resume (still in its window)."""
    story.days("2026-11-23", "2026-12-16")
    story.act("UpdateClientProduct", serviceid=101, overidesuspenduntil="2026-12-22")
    story.days("2026-12-17", "2026-12-17", approve=False)
    story.approve_all()
    story.days("2026-12-17", "2026-12-18", approve=False)
    story.run("escalations", "hold", "1", "--by", "bob", "--reason", "the reseller's lawyer called")
    held = story.days("2026-12-19", "2027-01-04", approve=False)
    assert not story.first(held, "ModuleCustom", "101:lock_reseller_panel"), held
    assert not [c for calls in held.values() for c in calls if c["action"].startswith("Module")]
    story.run("escalations", "resume", "1", "--by", "bob")
    after = story.days("2027-01-05", "2027-01-05", approve=False)
    assert story.first(after, "ModuleCustom", "101:lock_reseller_panel") == "2027-01-05"
