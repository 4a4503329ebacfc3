"""The escalation ladder's pure decide(), stage by stage through seed 001, with payments, promises and holds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.test_config import ENV
from tests.test_delegation_rules import Names
from whmcs_bridge.config.load import load_config
from whmcs_bridge.families.escalation import approval, calendar
from whmcs_bridge.families.escalation.config import EscalationSection
from whmcs_bridge.families.escalation.rules import decide
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Reader
from whmcs_bridge.model import Action, Event

ROOT = Path(__file__).resolve().parents[1]
RULES: EscalationSection = dataclasses.replace(
    load_config(ROOT / "config.example.yaml", environ=ENV).escalation, enabled=True
)
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, inside the destructive window
SERVICES = [
    {
        "id": 101,
        "pid": 1,
        "group": "Reseller Hosting",
        "name": "Reseller Pro",
        "domain": "snelhost.nl",
        "status": "Active",
        "suspension_reason": "",
        "override_until": None,
        "customfields": {"Hosted domains": "64", "Hosted users": "52", "Sub-resellers": "4"},
    },
    {
        "id": 102,
        "pid": 2,
        "group": "Dedicated Servers",
        "name": "Dedicated",
        "domain": "srv1.snelhost.nl",
        "status": "Active",
        "suspension_reason": "",
        "override_until": None,
        "customfields": {"Hosted domains": "40", "Hosted users": "36", "Sub-resellers": "0"},
    },
]
CONTEXT = {
    "userid": 1,
    "name": "Hans Mulder",
    "company": "SnelHost V.O.F.",
    "email": "hans@snelhost.nl",
    "groupid": 2,
    "customfields": {},
    "services": SERVICES,
}


class Story:
    """Feeds events through decide() like the engine does, keeping state and every planned action. It holds
    the client's account as WHMCS would (open invoices and balances): an invoice event changes the account
    first, and a read the rules ask for (refresh_client) is answered at once, as the executor would."""

    def __init__(self, rules: EscalationSection = RULES, staff_email: str | None = "robot@example.com") -> None:
        self.rules = rules
        self.staff_email = staff_email
        self.state: dict[str, Any] = {}
        self.actions: list[Action] = []
        self.due_at: datetime | None = None
        self.account: dict[int, dict[str, Any]] = {}  # open invoices: id -> due, total, balance, status
        self.closed: dict[int, str] = {}  # invoices no longer open: id -> status
        self.services = SERVICES
        self.extra: dict[str, Any] = {}  # more of the client's context (its domains...)

    def feed(self, kind: str, data: dict[str, Any], now: datetime, *, run: bool = True) -> list[Action]:
        """Decide on one event (done first to the account, as WHMCS did it); a read the case asks for is
        answered at once from the account; with `run`, every step the case waits on (approval, destructive)
        is then told done at the same instant, as if staff approved it and the executor ran it at once."""
        self.whmcs(kind, data)
        decision = decide(
            self.state,
            Event(id=f"e{len(self.actions)}", type=kind, data=data),
            now,
            self.rules,
            staff_email=self.staff_email,
        )
        self.state = decision.state or {}
        self.due_at = decision.due_at
        self.actions.extend(decision.actions)
        out = list(decision.actions)
        for action in decision.actions:
            if action.kind == "refresh_client":
                out += self.feed("ClientContext", self.read(action.params.get("known_invoices") or []), now, run=run)
        for action in decision.actions if run else []:
            if action.params.get("outcome_to"):
                self.done(action, now)
        return out

    def done(self, action: Action, now: datetime, status: str = "done") -> list[Action]:
        """The executor's report that a waiting step ended (store/outbox.py report_outcome)."""
        data = {"client_id": action.client_id, "action_key": action.key, "status": status}
        return self.feed(str(action.params["outcome_to"]), data, now, run=False)

    def whmcs(self, kind: str, data: dict[str, Any]) -> None:
        """What the event says happened in WHMCS, done to the account."""
        invoice = int(data.get("invoiceid") or 0)
        if kind in ("InvoicePaid", "InvoiceCancelled", "InvoiceRefunded") and invoice in self.account:
            del self.account[invoice]
            self.closed[invoice] = kind.removeprefix("Invoice")
        elif kind == "AddInvoicePayment" and invoice in self.account:
            balance = Decimal(self.account[invoice]["balance"]) - Decimal(str(data.get("amount", "0")))
            self.account[invoice]["balance"] = f"{balance:.2f}"

    def read(self, known: list[int]) -> dict[str, Any]:
        invoices = [{"id": i, **v} for i, v in sorted(self.account.items())]
        left = {str(i): self.closed.get(i, "Deleted") for i in known if i not in self.account}
        return {**CONTEXT, "services": self.services, **self.extra, "invoices": invoices, "left": left}

    def tick(self, now: datetime) -> list[Action]:
        return self.feed("Tick", {}, now)

    def overdue(self, invoice: int, due: date, now: datetime, total: str = "49.95") -> list[Action]:
        self.account[invoice] = {"due": due.isoformat(), "total": total, "balance": total, "status": "Unpaid"}
        return self.feed("InvoiceOverdue", {"invoiceid": invoice, "userid": 1, "duedate": due.isoformat()}, now)

    def context(self, now: datetime, services: list[dict[str, Any]] = SERVICES) -> list[Action]:
        self.services = services
        return self.feed("ClientContext", self.read([]), now)

    def stages(self) -> list[str]:
        return [s["name"] for s in self.state.get("stages", [])]


def started(now: datetime = MONDAY, due_days_ago: int = 4) -> Story:
    story = Story()
    first = story.overdue(11, (now - timedelta(days=due_days_ago)).date(), now)
    # The rules ask for the client's services and account first, and decide on the answer.
    assert [a.kind for a in first] == ["refresh_client", "email"]
    return story


def test_reminder_once_the_client_is_known_and_in_scope():
    story = started()
    assert story.stages() == ["reminder"]
    email = story.actions[-1]
    assert email.kind == "email" and email.params["related_id"] == 1 and email.client_id == 1
    # The rule plans a message and its facts; the text is written in the client's language when it is sent.
    assert email.params["msg"]["id"] == "escalation.reminder"
    assert {k: email.params["msg"]["data"][k] for k in ("client", "amount_due", "invoice_count")} == {
        "client": 1,
        "amount_due": "49.95",
        "invoice_count": 1,
    }
    assert story.state["policy"] == "resellers-and-dedicated"
    assert story.due_at == datetime(2026, 11, 30, tzinfo=UTC)  # second reminder: 7 days later


def test_the_ladder_in_order_with_deadlines_approvals_and_windows():
    story = started()
    story.tick(datetime(2026, 11, 30, 10, tzinfo=UTC))
    assert story.stages() == ["reminder", "second-reminder"]
    assert [a.kind for a in story.actions[-2:]] == ["email", "client_note"]
    final = story.tick(datetime(2026, 12, 9, 10, tzinfo=UTC))  # 7 business days after Mon 30 Nov
    assert story.stages()[-1] == "final-notice"
    assert [a.kind for a in final] == ["email", "ticket", "ticket"]
    assert final[0].params["msg"]["data"]["deadline"] == "2026-12-16"  # 5 working days
    assert final[1].params["client_id"] == 1  # the client's ticket
    staff = final[2].params
    assert (
        staff["client_id"] is None
        and staff["email"] == "robot@example.com"
        and staff["msg"]["id"] == "escalation.registered_letter"
        and staff["msg"]["data"]["client"] == 1
    )
    # "Unless we receive payment by 16 December": nothing happens on the deadline day itself.
    assert story.tick(datetime(2026, 12, 16, 10, tzinfo=UTC)) == [] and story.stages()[-1] == "final-notice"
    lock = story.tick(datetime(2026, 12, 17, 10, tzinfo=UTC))
    assert story.stages()[-1] == "panel-lock"
    assert [(a.kind, a.params.get("service_id"), a.params.get("function")) for a in lock[:2]] == [
        ("module_command", 101, "lock_reseller_panel"),
        ("module_command", 102, "lock_reseller_panel"),
    ]
    assert [a.needs_approval for a in lock] == [True, True, True, False]  # impact 196 > 50
    request = lock[-1].params  # one ticket to staff for the batch, with what to decide on
    assert request["email"] == "robot@example.com" and request["msg"]["id"] == "escalation.approval_request"
    assert {k: request["msg"]["data"][k] for k in ("stage", "impact", "invoice_count")} == {
        "stage": "panel-lock",
        "impact": "196",
        "invoice_count": 1,
    }
    assert story.state["stages"][-1]["impact"] == 196
    # 3 business days after the lock was done (Thu 17 Dec), before opening hours
    sites = story.tick(datetime(2026, 12, 22, 8, tzinfo=UTC))
    assert [a.kind for a in sites] == ["suspend", "suspend", "ticket"]  # and the approval request
    sites = sites[:2]
    assert all(a.not_before == datetime(2026, 12, 22, 9, tzinfo=UTC) for a in sites)  # the window opens at 09:00
    assert all(a.guard["window"]["hours"] == "09:00-17:00" for a in sites)  # checked again when it runs
    # A step is cancelled when the client is current when it runs, not when one invoice of several is paid.
    assert all(a.guard["client_owes"] == {**sites[0].guard["client_owes"], "client_id": 1} for a in sites)
    assert "invoices_open" not in sites[0].guard
    assert sites[0].params["reason"] == "Administrative reasons"


def test_staff_tasks_without_a_staff_address_become_sticky_admin_notes():
    story = Story(staff_email=None)
    story.overdue(11, date(2026, 11, 19), MONDAY)
    story.context(MONDAY)
    story.tick(datetime(2026, 11, 30, 10, tzinfo=UTC))
    final = story.tick(datetime(2026, 12, 9, 10, tzinfo=UTC))
    assert (
        final[2].kind == "client_note"
        and final[2].params["sticky"]
        and final[2].params["msg"]["id"] == "escalation.registered_letter"
    )


def test_one_stage_per_decision_even_when_long_overdue():
    story = started(due_days_ago=155)
    assert story.stages() == ["reminder"]
    assert story.due_at == datetime(2026, 11, 30, tzinfo=UTC)  # the next one counts from today's stage


def test_full_payment_undoes_everything_in_reverse_order_once():
    story = started()
    for when in (
        datetime(2026, 11, 30, 10, tzinfo=UTC),
        datetime(2026, 12, 9, 10, tzinfo=UTC),
        datetime(2026, 12, 17, 10, tzinfo=UTC),
        datetime(2026, 12, 22, 10, tzinfo=UTC),
        datetime(2026, 12, 23, 10, tzinfo=UTC),
    ):
        story.tick(when)
    assert story.stages()[-1] == "mail-off"
    undo = story.feed("InvoicePaid", {"invoiceid": 11}, datetime(2026, 12, 23, 10, tzinfo=UTC))
    kinds = [(a.kind, a.params.get("function"), a.params.get("service_id")) for a in undo if a.kind != "refresh_client"]
    assert kinds == [
        ("module_command", "enable_mail", 102),
        ("module_command", "enable_mail", 101),
        ("unsuspend", None, 102),
        ("unsuspend", None, 101),
        ("module_command", "unlock_reseller_panel", 102),
        ("module_command", "unlock_reseller_panel", 101),
        ("email", None, None),
        ("client_note", None, None),
    ]
    assert undo[-2].params["msg"] == {"id": "escalation.restored", "data": {"client": 1}}
    assert story.state["cycle"] == 2 and story.due_at is None
    assert story.tick(datetime(2027, 1, 10, tzinfo=UTC)) == []  # closed: nothing more


def test_partial_payment_keeps_the_ladder_going():
    story = started()
    story.overdue(12, date(2026, 11, 20), MONDAY)
    story.feed("InvoicePaid", {"invoiceid": 11}, MONDAY)
    assert story.state["invoices"].keys() == {"12"} and story.stages() == ["reminder"]
    story.feed("AddInvoicePayment", {"invoiceid": 12, "amount": "20.00"}, MONDAY)
    assert any(t["what"] == "payment received" for t in story.state["timeline"])
    assert story.state["invoices"]["12"]["balance"] == "29.95"  # the balance WHMCS gives, not the total
    second = story.tick(datetime(2026, 11, 30, 10, tzinfo=UTC))  # second reminder still comes
    assert second[0].params["msg"]["data"]["amount_due"] == "29.95"
    assert second[0].params["msg"]["live"]["client_id"] == 1  # and is read again when it is sent


def test_promise_kept_and_broken():
    story = started()
    story.feed(
        "EscalationCommand",
        {"client_id": 1, "command": "promise", "until": "2026-12-10", "amount": "49.95", "by": "alice"},
        MONDAY,
    )
    assert story.due_at == datetime(2026, 12, 11, tzinfo=UTC)
    assert story.tick(datetime(2026, 12, 5, 10, tzinfo=UTC)) == []  # paused
    resumed = story.tick(datetime(2026, 12, 11, 10, tzinfo=UTC))
    assert story.state["broken_promises"] == 1 and story.stages()[-1] == "second-reminder" and resumed
    kept = started()
    kept.feed("EscalationCommand", {"client_id": 1, "command": "promise", "until": "2026-12-10", "by": "alice"}, MONDAY)
    kept.feed("InvoicePaid", {"invoiceid": 11}, datetime(2026, 12, 8, tzinfo=UTC))
    assert any(e["what"] == "promise kept" for e in kept.state["timeline"])


def test_hold_and_resume():
    story = started()
    story.feed(
        "EscalationCommand",
        {"client_id": 1, "command": "hold", "reason": "dispute about invoice 11", "by": "bob"},
        MONDAY,
    )
    assert story.due_at is None and story.tick(datetime(2026, 12, 30, tzinfo=UTC)) == []
    story.feed(
        "EscalationCommand", {"client_id": 1, "command": "resume", "by": "bob"}, datetime(2026, 12, 30, 10, tzinfo=UTC)
    )
    assert story.stages()[-1] == "second-reminder"


def test_staff_acting_by_hand_holds_the_ladder():
    story = started()
    story.feed(
        "ServiceStatusChanged", {"serviceid": 102, "userid": 1, "status": "Suspended", "previous": "Active"}, MONDAY
    )
    # Why, as facts for the staff's language (escalations list renders the catalogue's message).
    assert story.state["hold"]["why"] == {
        "id": "escalation.held_service_changed",
        "data": {"service": "102", "status": "Suspended"},
    }
    assert story.tick(datetime(2026, 12, 30, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("lang", "said"), [("en", "Suspended"), ("fr", "suspendu"), ("nl", "opgeschort"), ("id", "ditangguhkan")]
)
def test_the_hold_reason_says_whmcss_status_in_the_readers_language(lang: str, said: str):
    """The French (Dutch, Indonesian) hold reason said WHMCS's own word ("mis à l'état Suspended")."""
    why = {"service": "102", "status": "Suspended"}
    text = load.shipped().render("escalation.held_service_changed", why, Reader(lang, "EUR", UTC), Names()).body
    assert said in text and (lang == "en" or "Suspended" not in text), text


def test_our_own_suspension_coming_back_is_not_staff():
    story = started()
    for when in (
        datetime(2026, 11, 30, 10, tzinfo=UTC),
        datetime(2026, 12, 9, 10, tzinfo=UTC),
        datetime(2026, 12, 17, 10, tzinfo=UTC),
        datetime(2026, 12, 22, 10, tzinfo=UTC),
    ):
        story.tick(when)
    story.feed(
        "AfterModuleSuspend", {"params": {"serviceid": 101, "userid": 1}}, datetime(2026, 12, 22, 11, tzinfo=UTC)
    )
    assert "hold" not in story.state


def test_service_override_date_defers_its_destructive_steps():
    services = [dict(SERVICES[0], override_until="2026-12-31"), SERVICES[1]]
    story = Story()
    story.overdue(11, date(2026, 11, 19), MONDAY)
    story.context(MONDAY, services)
    for when in (
        datetime(2026, 11, 30, 10, tzinfo=UTC),
        datetime(2026, 12, 9, 10, tzinfo=UTC),
        datetime(2026, 12, 17, 10, tzinfo=UTC),
    ):
        story.tick(when)
    sites = story.tick(datetime(2026, 12, 22, 10, tzinfo=UTC))
    by_service = {a.params["service_id"]: a.not_before for a in sites if a.kind == "suspend"}
    assert by_service[102] == datetime(2026, 12, 22, 10, tzinfo=UTC)
    assert by_service[101] == datetime(2027, 1, 4, 9, tzinfo=UTC)  # after the override, next business morning


def test_clients_out_of_scope_are_left_alone():
    story = Story()
    story.services = [dict(SERVICES[0], pid=3, group="Shared Hosting", id=500)]
    story.overdue(50, date(2026, 10, 1), MONDAY)
    assert story.state["policy"] is None
    assert [a.kind for a in story.actions] == ["refresh_client"]
    assert story.tick(datetime(2027, 6, 1, tzinfo=UTC)) == []


def test_decide_leaves_its_input_alone():
    story = started()
    before = __import__("copy").deepcopy(story.state)
    decide(story.state, Event(id="x", type="InvoicePaid", data={"invoiceid": 11}), MONDAY, RULES)
    assert story.state == before


def test_keys_are_stable_and_differ_between_cycles():
    first, second = started(), started()
    assert [a.key for a in first.actions] == [a.key for a in second.actions]
    first.feed("InvoicePaid", {"invoiceid": 11}, MONDAY)
    first.overdue(13, date(2026, 11, 19), MONDAY)
    first.context(MONDAY)
    assert first.actions[-1].key not in {a.key for a in second.actions}


@pytest.mark.parametrize(
    ("start", "days", "business", "expected"),
    [
        (date(2026, 11, 20), 1, True, date(2026, 11, 23)),  # Friday + 1 business day = Monday
        (date(2026, 11, 20), 5, True, date(2026, 11, 27)),
        (date(2026, 12, 23), 2, True, date(2026, 12, 28)),  # over Christmas (25th, 26th) and a weekend
        (date(2026, 12, 23), 2, False, date(2026, 12, 25)),
        (date(2026, 12, 31), 1, True, date(2027, 1, 4)),  # New Year's Day, then a weekend
    ],
)
def test_business_days(start: date, days: int, business: bool, expected: date):
    assert calendar.add_days(start, days, business=business, holidays=RULES.holidays) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 10, tzinfo=UTC), datetime(2026, 11, 23, 10, tzinfo=UTC)),
        (datetime(2026, 11, 23, 18, tzinfo=UTC), datetime(2026, 11, 24, 9, tzinfo=UTC)),
        (datetime(2026, 11, 28, 12, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=UTC)),  # Saturday
        (datetime(2026, 12, 24, 17, 30, tzinfo=UTC), datetime(2026, 12, 28, 9, tzinfo=UTC)),  # Christmas, weekend
    ],
)
def test_destructive_window(moment: datetime, expected: datetime):
    assert calendar.next_window(moment, ["mon", "tue", "wed", "thu", "fri"], "09:00-17:00", RULES.holidays) == expected


def cancelled_story() -> Story:
    """A client locked out (panel-lock done), then every invoice cancelled with nothing replacing it."""
    story = started()
    for when in ((11, 30), (12, 9), (12, 17)):  # the lock the day after the final notice's deadline
        story.tick(datetime(2026, when[0], when[1], 10, tzinfo=UTC))
    story.feed("InvoiceCancelled", {"invoiceid": 11}, datetime(2026, 12, 18, 10, tzinfo=UTC))
    return story


def test_invoices_cancelled_with_nothing_replacing_them_hold_the_case_until_staff_decide():
    story = cancelled_story()
    assert story.state["hold"]["by"] == "whmcs-bridge"
    assert story.state["hold"]["why"]["id"] == "escalation.held_cancelled"
    assert story.actions[-1].params["msg"]["id"] == "escalation.cancelled_hold_note"
    assert not [a for a in story.actions if a.kind == "module_command" and "unlock" in a.params["function"]]
    closed = story.feed(
        "EscalationCommand", {"client_id": 1, "command": "resume", "by": "bob"}, datetime(2026, 12, 19, 10, tzinfo=UTC)
    )
    # Staff close it: what was done is undone, but nobody tells the client its payment was received.
    assert [a.kind for a in closed] == ["module_command", "module_command", "client_note"]
    assert story.state["cycle"] == 2


def test_a_new_invoice_days_after_the_cancellations_replaces_them_a_later_one_does_not():
    story = cancelled_story()
    story.account[20] = {"due": "2026-12-31", "total": "49.95", "balance": "49.95", "status": "Unpaid"}
    story.feed("InvoiceCreated", {"invoiceid": 20, "userid": 1}, datetime(2026, 12, 19, 10, tzinfo=UTC))
    assert story.state["account"]["20"]["due"] == "2026-11-19"  # counts from what it replaced
    assert "hold" not in story.state and story.stages()[-1] == "panel-lock"
    late = cancelled_story()
    late.account[21] = {"due": "2027-01-10", "total": "49.95", "balance": "49.95", "status": "Unpaid"}
    late.feed("InvoiceCreated", {"invoiceid": 21, "userid": 1}, datetime(2026, 12, 29, 10, tzinfo=UTC))
    assert late.state["account"]["21"]["due"] == "2027-01-10"  # new business, counted from its own due date
    assert late.state["hold"]["by"] == "whmcs-bridge"  # and the cancellations still wait for staff


def test_a_case_kept_by_an_older_version_reads_the_account_before_deciding():
    legacy = {
        "cycle": 1,
        "client_id": 1,
        "invoices": {"11": {"due": "2026-11-19", "total": "49.95"}},
        "stages": [{"name": "reminder", "at": "2026-11-23", "actions": [], "approval": False, "impact": 196}],
        "timeline": [],
        "broken_promises": 0,
        "context": CONTEXT,
        "policy": "resellers-and-dedicated",
    }
    decision = decide(legacy, Event(id="t", type="Tick", data={}), datetime(2026, 11, 30, 10, tzinfo=UTC), RULES)
    assert [a.kind for a in decision.actions] == ["refresh_client"]


def test_an_approval_names_the_balance_the_account_read_gave_after_a_partial_payment():
    """Both helpers of issue 15: staff decide on what is owed now (the balance after a partial payment, as
    the last account read gave it), in the ticket and in `approvals list` (escalation/approval.py)."""
    story = Story()
    story.account[12] = {"due": "2026-11-19", "total": "129.00", "balance": "129.00", "status": "Unpaid"}
    started_with = story.overdue(11, date(2026, 11, 19), MONDAY)
    assert "refresh_client" in [a.kind for a in started_with]
    for when in ((11, 30), (12, 9)):
        story.tick(datetime(2026, when[0], when[1], 10, tzinfo=UTC))
    story.feed("AddInvoicePayment", {"invoiceid": 12, "amount": "100.00"}, datetime(2026, 12, 10, 10, tzinfo=UTC))
    lock = story.tick(datetime(2026, 12, 17, 10, tzinfo=UTC))
    request = next(a for a in lock if a.params.get("msg", {}).get("id") == "escalation.approval_request")
    assert (request.params["msg"]["data"]["amount_due"], request.params["msg"]["data"]["invoice_count"]) == (
        "78.95",  # 49.95 + 29.00 left of 129.00
        2,
    )
    assert approval.facts(story.state)["amount_due"] == "78.95"
