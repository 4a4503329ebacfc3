"""Property tests of the escalation ladder: for random ladders and random WHMCS histories (invoices falling
overdue, payments in full or in part, cancellations, consolidations), (a) nothing destructive is planned
while the client owes nothing, (b) after full payment every reversible step taken is undone exactly once
and "restored" is said only when something was, (c) stages never run out of order or twice, (d) the amount
in every notice is what the client owes at that moment."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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


Step = tuple[int, str, Any]  # (day offset, what happens in WHMCS, its detail)


@st.composite
def histories(draw: Any) -> list[Step]:
    """What happens in WHMCS, by day: invoices falling overdue, ticks, payments in full or in part,
    cancellations, and consolidations (invoices cancelled and one new invoice of their balances)."""
    invoices = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))
    events: list[Step] = [(due_offset + 1, "overdue", 100 + n) for n, due_offset in enumerate(invoices)]
    ids = st.integers(100, 99 + len(invoices))
    for day in draw(st.lists(st.integers(0, 120), max_size=30)):
        events.append((day, "tick", None))
    for _ in range(draw(st.integers(0, 6))):
        day = draw(st.integers(0, 120))
        what = draw(st.sampled_from(["pay", "partial", "cancel", "consolidate"]))
        if what in ("pay", "cancel"):
            events.append((day, what, draw(ids)))
        elif what == "partial":
            events.append((day, what, (draw(ids), draw(st.sampled_from(["0.01", "3.00", "9.99"])))))
        else:
            events.append((day, what, sorted(set(draw(st.lists(ids, min_size=1, max_size=4))))))
    if draw(st.booleans()):  # often the client pays everything in the end (the reversal is checked then)
        events.append((draw(st.integers(0, 120)), "pay_all", None))
    events.sort(key=lambda e: e[0])
    return [(0, "context", None), *[(max(1, d), w, x) for d, w, x in events]]


@dataclasses.dataclass
class Whmcs:
    """The client's account as WHMCS keeps it: invoices with a due date, a status and what was paid."""

    invoices: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    next_id: int = 500

    def open(self) -> dict[int, dict[str, Any]]:
        return {i: v for i, v in self.invoices.items() if v["status"] == "Unpaid"}

    def read(self, known: list[int]) -> dict[str, Any]:
        invoices = [
            {
                "id": i,
                "due": v["due"],
                "total": f"{v['total']:.2f}",
                "balance": f"{v['total'] - v['paid']:.2f}",
                "status": "Unpaid",
            }
            for i, v in sorted(self.open().items())
        ]
        left = {str(i): self.invoices[i]["status"] for i in known if i not in self.open()}
        return {**CONTEXT, "invoices": invoices, "left": left}

    def owed(self, today: date) -> Decimal:
        """What the client owes on invoices overdue today; a consolidation counts from what it replaced."""
        return sum(
            (v["total"] - v["paid"] for v in self.open().values() if date.fromisoformat(v["counts_from"]) < today),
            Decimal("0"),
        )

    def happen(self, what: str, detail: Any, today: date) -> list[tuple[str, dict[str, Any]]]:
        """Do it in WHMCS; the events WHMCS (hooks, the poller) reports for it."""
        if what == "overdue":
            due = (START.date() + timedelta(days=detail - 100)).isoformat()
            self.invoices.setdefault(
                detail,
                {"due": due, "counts_from": due, "total": Decimal("10.00"), "paid": Decimal("0"), "status": "Unpaid"},
            )
            return [("InvoiceOverdue", {"invoiceid": detail, "userid": 1, "duedate": due})]
        if what == "pay" and detail in self.open():
            self.invoices[detail].update(paid=self.invoices[detail]["total"], status="Paid")
            return [("InvoicePaid", {"invoiceid": detail})]
        if what == "partial" and detail[0] in self.open():
            invoice = self.invoices[detail[0]]
            invoice["paid"] = min(invoice["total"], invoice["paid"] + Decimal(detail[1]))
            if invoice["paid"] == invoice["total"]:
                invoice["status"] = "Paid"
            return [("AddInvoicePayment", {"invoiceid": detail[0]})]
        if what == "cancel" and detail in self.open():
            self.invoices[detail]["status"] = "Cancelled"
            return [("InvoiceCancelled", {"invoiceid": detail})]
        if what == "consolidate":
            return self.consolidate(detail, today)
        if what == "pay_all":
            return [event for i in sorted(self.open()) for event in self.happen("pay", i, today)]
        if what == "context":
            return [("ClientContext", self.read([]))]
        return [("Tick", {})] if what == "tick" else []

    def consolidate(self, ids: list[int], today: date) -> list[tuple[str, dict[str, Any]]]:
        """Staff cancel these invoices and create one of what is left to pay on them."""
        replaced = [i for i in ids if i in self.open()]
        if not replaced:
            return []
        debt = sum((self.invoices[i]["total"] - self.invoices[i]["paid"] for i in replaced), Decimal("0"))
        for i in replaced:
            self.invoices[i]["status"] = "Cancelled"
        self.next_id += 1
        oldest = min(self.invoices[i]["counts_from"] for i in replaced)
        own = (today + timedelta(days=14)).isoformat()
        self.invoices[self.next_id] = {
            "due": own,
            "counts_from": min(oldest, own),
            "total": debt,
            "paid": Decimal("0"),
            "status": "Unpaid",
        }
        return [("InvoiceCancelled", {"invoiceid": i}) for i in replaced] + [
            ("InvoiceCreated", {"invoiceid": self.next_id, "userid": 1})
        ]


Played = tuple[datetime, dict[str, Any], list[Action], dict[str, Any], Decimal]


def play(rules: EscalationSection, history: list[Step]) -> list[Played]:
    """Each event through decide(), a read the rules ask for answered at once (as the executor would):
    (when, state before, actions, state after, what the client owed in WHMCS then)."""
    state: dict[str, Any] = {}
    whmcs = Whmcs()
    steps: list[Played] = []
    n = 0
    for day, what, detail in history:
        now = START + timedelta(days=day)
        queue = whmcs.happen(what, detail, now.date())
        while queue:
            kind, data = queue.pop(0)
            n += 1
            before = state
            decision = decide(state, Event(id=f"{n}-{kind}", type=kind, data=data), now, rules)
            state = decision.state or {}
            steps.append((now, before, decision.actions, state, whmcs.owed(now.date())))
            queue += [
                ("ClientContext", whmcs.read(a.params.get("known_invoices") or []))
                for a in decision.actions
                if a.kind == "refresh_client"
            ]
    return steps


@settings(max_examples=200, deadline=None)
@given(rules=ladders(), history=histories())
def test_ladder_properties(rules: EscalationSection, history: list[Step]):
    steps = play(rules, history)
    planned: dict[str, Action] = {}
    names = [s.name for s in rules.policies[0].ladder]
    for _now, _before, actions, after, owed in steps:
        for action in actions:
            assert action.key not in planned, "an action is planned once"  # (c) and (b): no repeats
            planned[action.key] = action
        # (a) never a destructive step planned while the client owes nothing
        destructive = [a for a in actions if a.is_destructive]
        if destructive:
            assert owed > 0, f"destructive step for a client who owes nothing: {destructive}"
            assert all("client_owes" in a.guard for a in destructive)
        # (d) the amount in every notice is what the client owes at that moment (and is read again when sent)
        for action in actions:
            msg = action.params.get("msg") or {}
            if "amount_due" in msg.get("data", {}):
                assert Decimal(msg["data"]["amount_due"]) == owed, (msg, owed)
                assert msg["live"]["client_id"] == 1
        # (c) stages in ladder order, each once per cycle
        reached = [s["name"] for s in after.get("stages", [])]
        assert reached == names[: len(reached)]
    # (b) a payment that closed a case undoes each reversible step of that cycle exactly once, in reverse order;
    # the client hears "restored" only if a destructive step is undone, and never after cancellations alone
    for _now, before, actions, after, _owed in steps:
        if before.get("stages") and after.get("cycle", 1) > before.get("cycle", 1):
            taken = [planned[k] for s in before["stages"] for k in s["actions"]]
            suspends = [a.params["service_id"] for a in taken if a.kind == "suspend"]
            unsuspends = [a.params["service_id"] for a in actions if a.kind == "unsuspend"]
            assert sorted(unsuspends) == sorted(suspends)
            commands = [a.params["function"] for a in taken if a.kind == "module_command"]
            inverses = [a.params["function"] for a in actions if a.kind == "module_command"]
            assert sorted(inverses) == sorted({"lock": "unlock", "mail_off": "mail_on"}[c] for c in commands)
            restored = [a for a in actions if a.kind == "email"]
            assert bool(restored) == bool(unsuspends or inverses)
            assert all(a.guard.get("after_steps") and "services_active" in a.guard for a in restored)
            CLOSED_WITH_STAGES.append(1)


def test_the_reversal_property_was_exercised():
    """Guard against a generator that never closes a case with steps taken (then (b) would check nothing)."""
    CLOSED_WITH_STAGES.clear()
    seed(20261125)(test_ladder_properties)()  # a fixed seed: how many examples close a case is not left to luck
    assert len(CLOSED_WITH_STAGES) >= 10
