"""The engine: events in order through pure decide(), state and outbox in one transaction, timers, parking."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from whmcs_bridge.engine import Engine
from whmcs_bridge.model import Action, Decision, Event, State, action_key
from whmcs_bridge.store import audit, inbox, states
from whmcs_bridge.store import outbox as store_outbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Reminders:
    """A tiny family: an unpaid invoice gets a reminder email now and a second one after 3 days."""

    name = "reminders"
    tracks_client_services = False

    def route(self, event: Event) -> Sequence[str]:
        if event.type in ("InvoiceCreated", "InvoicePaid", "Boom"):
            return [str(event.data["invoiceid"])]
        return []

    def refs(self, event: Event) -> Sequence[str]:
        return []

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        return {key: self.decide_one(state, event, now) for key, state in states.items()}

    def decide_one(self, state: State, event: Event, now: datetime) -> Decision:
        if event.type == "Boom":
            raise RuntimeError("rule bug")
        invoice = state.get("invoice") or event.data.get("invoiceid")
        if event.type == "InvoicePaid":
            return Decision(state=None)
        sent = int(state.get("sent", 0))
        if sent >= 2:
            return Decision(state={**state, "sent": sent})
        action = Action(
            key=action_key(self.name, f"invoice:{invoice}", "reminder", str(sent + 1)),
            family=self.name,
            kind="email",
            params={"related_id": invoice, "subject": f"Reminder {sent + 1}"},
            client_id=1,
            subject=f"invoice:{invoice}",
        )
        return Decision(state={"invoice": invoice, "sent": sent + 1}, actions=[action], due_at=now + timedelta(days=3))


def add_event(db: Database, event_id: str, kind: str, data: dict[str, Any]) -> None:
    with db.atomic():
        inbox.add(
            db, event_id=event_id, type=kind, source="webhook", body={"type": kind, "data": data}, received_at=NOW
        )


def outbox(db: Database) -> list[OutboxEntry]:
    return store_outbox.entries(db)


def inbox_statuses(db: Database) -> dict[str, str]:
    return {e.event_id: e.status for e in inbox.entries(db)}


def test_event_plans_actions_and_state_in_one_go(db: Database):
    add_event(db, "msg_1", "InvoiceCreated", {"invoiceid": 7})
    report = Engine(db, [Reminders()]).run_once(NOW)
    assert report.events == 1 and len(report.planned) == 1
    rows = outbox(db)
    assert rows[0].kind == "email" and rows[0].status == "planned" and rows[0].event_id == "msg_1"
    assert states.items(db, "reminders") == [("7", {"invoice": 7, "sent": 1})]
    assert states.due(db, NOW + timedelta(days=3, seconds=-1)) == []
    [due] = states.due(db, NOW + timedelta(days=3))
    assert (due.key, due.due_at) == ("7", (NOW + timedelta(days=3)).isoformat(timespec="seconds"))
    assert inbox_statuses(db) == {"msg_1": "done"}
    assert [e.action for e in audit.entries(db)] == ["engine.action_planned"]


def test_timers_fire_once_per_deadline(db: Database):
    engine = Engine(db, [Reminders()])
    add_event(db, "msg_1", "InvoiceCreated", {"invoiceid": 7})
    engine.run_once(NOW)
    assert engine.run_once(NOW + timedelta(days=1)).planned == []  # not due yet
    later = NOW + timedelta(days=3, minutes=1)
    report = engine.run_once(later)
    assert report.timers == 1 and [a.params["subject"] for a in report.planned] == ["Reminder 2"]
    assert engine.run_once(later).timers == 0  # the same deadline is not queued again
    much_later = NOW + timedelta(days=10)
    assert engine.run_once(much_later).planned == []  # the family stops after two reminders
    assert len(outbox(db)) == 2


def test_the_same_decision_twice_plans_once(db: Database):
    add_event(db, "msg_1", "InvoiceCreated", {"invoiceid": 7})
    engine = Engine(db, [Reminders()])
    engine.run_once(NOW)
    states.save(db, "reminders", "7", Decision(state=None), NOW)  # state lost: the rule decides the same again
    add_event(db, "msg_2", "InvoiceCreated", {"invoiceid": 7})
    assert engine.run_once(NOW).planned == []
    assert len(outbox(db)) == 1


def test_a_failing_event_is_parked_and_the_others_go_on(db: Database):
    add_event(db, "msg_1", "Boom", {"invoiceid": 1})
    add_event(db, "msg_2", "InvoiceCreated", {"invoiceid": 2})
    report = Engine(db, [Reminders()]).run_once(NOW)
    assert report.parked == 1 and len(report.planned) == 1
    parked = inbox.by_event_id(db, "msg_1")
    assert parked is not None and parked.status == "parked" and "RuntimeError: rule bug" in (parked.error or "")
    assert inbox_statuses(db)["msg_2"] == "done"
    assert states.get(db, "reminders", "1") is None  # rolled back
    assert any(e.action == "engine.event_parked" for e in audit.entries(db))


def test_payment_deletes_the_state(db: Database):
    add_event(db, "msg_1", "InvoiceCreated", {"invoiceid": 7})
    add_event(db, "msg_2", "InvoicePaid", {"invoiceid": 7})
    Engine(db, [Reminders()]).run_once(NOW)
    assert states.items(db, "reminders") == []


def test_plan_changes_nothing(db: Database):
    add_event(db, "msg_1", "InvoiceCreated", {"invoiceid": 7})
    report = Engine(db, [Reminders()]).plan(NOW)
    assert len(report.planned) == 1
    assert outbox(db) == [] and inbox_statuses(db) == {"msg_1": "pending"}
    assert audit.verify(db) == 0


def test_events_without_a_family_are_consumed(db: Database):
    add_event(db, "msg_1", "TicketOpen", {"ticketid": 1})
    assert Engine(db, []).run_once(NOW).events == 1
    assert inbox_statuses(db) == {"msg_1": "done"}


def test_unknown_action_kind_is_a_rule_error():
    with pytest.raises(ValueError, match="unknown action kind"):
        Action(key="k", family="f", kind="explode", params={})


@pytest.mark.parametrize("body", ["\ufeff" + json.dumps({"type": "InvoiceCreated", "data": {}}), "not json", "[1, 2]", "{"])
def test_an_unreadable_event_is_parked_and_the_others_go_on(db: Database, body: str):
    """Poison is isolated: whatever an inbox row holds, turning it into an Event is inside the per-event
    error handling (an unreadable body once stopped every pass, for good)."""
    with db.atomic():
        inbox.add(db, event_id="bad", type="InvoiceCreated", source="webhook", body=body, received_at=NOW)
    add_event(db, "msg_2", "InvoiceCreated", {"invoiceid": 2})
    report = Engine(db, [Reminders()]).run_once(NOW)
    assert report.events == 2 and report.parked == 1
    assert inbox_statuses(db)["msg_2"] == "done" and len(report.planned) == 1


def test_an_event_another_process_decided_meanwhile_is_not_decided_again(tmp_path: Path):
    """Two processes on one state database (a staff command's engine pass beside the daemon's): the
    event is taken inside the deciding transaction, so only one of them decides it."""
    with Database(tmp_path / "state.db") as first, Database(tmp_path / "state.db") as second:
        add_event(first, "msg_1", "InvoiceCreated", {"invoiceid": 7})
        assert inbox.pending_ids(first, 10)  # the first process saw it pending...
        assert len(Engine(second, [Reminders()]).run_once(NOW).planned) == 1  # ...the second decided it
        assert Engine(first, [Reminders()]).run_once(NOW).events == 0
        assert states.items(first, "reminders") == [("7", {"invoice": 7, "sent": 1})]
        assert len(outbox(first)) == 1


class Refusing(Reminders):
    """Refuses a staff command the state no longer allows, as a rule does (a ValueError)."""

    def route(self, event: Event) -> Sequence[str]:
        return ["1"] if event.type == "RemindersCommand" else super().route(event)

    def decide_one(self, state: State, event: Event, now: datetime) -> Decision:
        if event.type == "RemindersCommand":
            raise ValueError("case 1 is cancelled: only a case under review can be approved")
        return super().decide_one(state, event, now)


def test_a_staff_command_the_rules_refuse_is_logged_as_refused_not_parked(
    db: Database, caplog: pytest.LogCaptureFixture
):
    """Issue 17, thirteenth round LOW 2 (race_cancel_approve.py): a refused approve logged "ERROR ... parked:
    ValueError" while `events parked` said none (the command turns it into a refusal: staff.refused)."""
    with db.atomic():
        inbox.add(
            db, event_id="cli:1", type="RemindersCommand", source="cli", body={"type": "RemindersCommand", "data": {}},
            received_at=NOW,
        )  # fmt: skip
    Engine(db, [Refusing()]).run_once(NOW)
    assert "refused: case 1 is cancelled" in caplog.text and "parked" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
