"""Property tests of the escalation ladder: for random ladders, invoice histories and payment times,
(a) nothing destructive is planned for a client with no overdue invoice, (b) after full payment every
reversible step taken is undone exactly once, (c) stages never run out of order or twice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.test_escalation_rules import CONTEXT, RULES
from whmcs_bridge.families.escalation.config import (
    EscalationSection,
    ModuleCommandSpec,
    Policy,
    Selector,
    Stage,
    StageAction,
    SuspendSpec,
)
from whmcs_bridge.families.escalation.rules import decide
from whmcs_bridge.model import Action, Event

START = datetime(2026, 11, 2, 10, tzinfo=UTC)
CLOSED_WITH_STAGES: list[int] = []  # how many generated stories exercised the reversal check

action_specs = st.sampled_from(
    [
        StageAction(note="escalation.reminder_note"),
        StageAction(suspend=SuspendSpec()),
        StageAction(module_command=ModuleCommandSpec(function="lock", inverse="unlock")),
        StageAction(module_command=ModuleCommandSpec(function="mail_off", inverse="mail_on")),
        StageAction(invoice_status="Collections"),
    ]
)


@st.composite
def ladders(draw: Any) -> EscalationSection:
    size = draw(st.integers(1, 6))
    stages = [
        Stage(
            name=f"s{i}",
            after_days=draw(st.integers(0, 10)),
            counted_from="due" if i == 0 else "previous",
            business_days=draw(st.booleans()),
            approval="never",
            actions=draw(st.lists(action_specs, min_size=1, max_size=3)),
        )
        for i in range(size)
    ]
    policy = Policy(name="p", match=Selector(product_ids=[1, 2]), ladder=stages)
    return dataclasses.replace(RULES, policies=[policy])


@st.composite
def histories(draw: Any) -> list[tuple[int, str, dict[str, Any]]]:
    """(day offset, event type, data) in time order: invoices falling overdue, ticks, payments."""
    invoices = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))
    events: list[tuple[int, str, dict[str, Any]]] = [(0, "ClientContext", CONTEXT)]
    for n, due_offset in enumerate(invoices):
        events.append(
            (
                due_offset + 1,
                "InvoiceOverdue",
                {
                    "invoiceid": 100 + n,
                    "userid": 1,
                    "duedate": (START.date() + timedelta(days=due_offset)).isoformat(),
                    "total": "10.00",
                },
            )
        )
    for day in draw(st.lists(st.integers(0, 120), max_size=30)):
        events.append((day, "Tick", {}))
    for n in range(len(invoices)):
        if draw(st.booleans()):
            events.append((draw(st.integers(0, 120)), "InvoicePaid", {"invoiceid": 100 + n}))
    events.sort(key=lambda e: (e[0], e[1] != "ClientContext"))
    return events


def play(
    rules: EscalationSection, history: list[tuple[int, str, dict[str, Any]]]
) -> list[tuple[datetime, dict[str, Any], list[Action], dict[str, Any]]]:
    state: dict[str, Any] = {}
    steps = []
    for day, kind, data in history:
        now = START + timedelta(days=day)
        before = state
        decision = decide(state, Event(id=f"{day}-{kind}", type=kind, data=data), now, rules)
        state = decision.state or {}
        steps.append((now, before, decision.actions, state))
    return steps


@settings(max_examples=200, deadline=None)
@given(rules=ladders(), history=histories())
def test_ladder_properties(rules: EscalationSection, history: list[tuple[int, str, dict[str, Any]]]):
    steps = play(rules, history)
    planned: dict[str, Action] = {}
    names = [s.name for s in rules.policies[0].ladder]
    for _now, _before, actions, after in steps:
        for action in actions:
            assert action.key not in planned, "an action is planned once"  # (c) and (b): no repeats
            planned[action.key] = action
        # (a) destructive steps only while the client had an overdue invoice
        destructive = [a for a in actions if a.is_destructive]
        if destructive:
            assert after.get("invoices"), f"destructive step for a client with nothing overdue: {destructive}"
            assert all(
                set(a.guard.get("invoices_open", [])) <= set(int(i) for i in after["invoices"]) for a in destructive
            )
        # (c) stages in ladder order, each once per cycle
        reached = [s["name"] for s in after.get("stages", [])]
        assert reached == names[: len(reached)]
    # (b) a payment that closed a case undoes each reversible step of that cycle exactly once, in reverse order
    for _now, before, actions, after in steps:
        if before.get("stages") and after.get("cycle", 1) > before.get("cycle", 1):
            taken = [planned[k] for s in before["stages"] for k in s["actions"]]
            suspends = [a.params["service_id"] for a in taken if a.kind == "suspend"]
            unsuspends = [a.params["service_id"] for a in actions if a.kind == "unsuspend"]
            assert sorted(unsuspends) == sorted(suspends)
            commands = [a.params["function"] for a in taken if a.kind == "module_command"]
            inverses = [a.params["function"] for a in actions if a.kind == "module_command"]
            assert sorted(inverses) == sorted({"lock": "unlock", "mail_off": "mail_on"}[c] for c in commands)
            CLOSED_WITH_STAGES.append(1)


def test_the_reversal_property_was_exercised():
    """Guard against a generator that never closes a case with steps taken (then (b) would check nothing)."""
    CLOSED_WITH_STAGES.clear()
    seed(20261125)(test_ladder_properties)()  # a fixed seed: how many examples close a case is not left to luck
    assert len(CLOSED_WITH_STAGES) >= 10
