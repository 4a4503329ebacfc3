"""How a reached stage of the ladder becomes actions: each kind of step (email, ticket, note, invoice
status, and the service steps: module command, suspend, terminate), their guards, keys and the earliest
moment a destructive step may run (pure). The case (rules.py) builds on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.escalation import approval as approval_facts
from whmcs_bridge.families.escalation.calendar import add_days, next_window
from whmcs_bridge.families.escalation.config import EscalationSection, Policy, Stage, StageAction
from whmcs_bridge.families.escalation.ladder import client_matches, email_params, no_record_note, service_matches
from whmcs_bridge.model import Action, action_key, message

FAMILY = "escalation"
OPEN_SERVICE = ("Active", "Suspended")


@dataclass(frozen=True)
class Step:
    """One action of a stage being planned: its spec, the key's purpose, its message's fields, approval, guard."""

    policy: Policy
    spec: StageAction
    purpose: str
    data: dict[str, Any]
    approval: bool
    guard: dict[str, Any]


class StagePlanner:
    """The planning half of a case: reads the case's state, writes the actions it plans."""

    s: dict[str, Any]
    now: datetime
    today: date
    zone: tzinfo
    rules: EscalationSection
    staff_email: str | None
    actions: list[Action]
    _stage_earliest: datetime | None

    def oldest_due(self) -> date:
        return min(date.fromisoformat(i["due"]) for i in self.s["invoices"].values() if i.get("due"))

    def ladder_guard(self) -> dict[str, Any]:
        """What every ladder step, notices included, re-checks before it runs (the case says: the client
        still owes something)."""
        return {"invoices_open": sorted(int(i) for i in self.s["invoices"])}

    def scoped_services(self, policy: Policy) -> list[dict[str, Any]]:
        services = (self.s.get("context") or {}).get("services") or []
        chosen = [s for s in services if service_matches(policy, s)]
        # A client matched by group or custom field: all its services are in scope.
        return chosen or ([s for s in services] if client_matches(policy, self.s.get("context") or {}) else [])

    def message_data(self, stage: Stage) -> dict[str, Any]:
        """The fields of the stage's messages (escalation/messages.py LADDER_FIELDS): ids, amounts and
        ISO dates, written in the reader's language and currency when the message is sent."""
        context = self.s.get("context") or {}
        total = sum((Decimal(i["total"]) for i in self.s["invoices"].values()), Decimal("0"))
        oldest = self.oldest_due()
        deadline = None
        if stage.deadline_days:
            deadline = add_days(
                self.today, stage.deadline_days, business=stage.business_days, holidays=self.rules.holidays
            ).isoformat()
        return {
            "client": self.s.get("client_id"),
            "amount_due": f"{total:.2f}",
            "invoice_count": len(self.s["invoices"]),
            "oldest_due": oldest.isoformat(),
            "days_overdue": (self.today - oldest).days,
            "deadline": deadline,
            "stage": stage.name,
            "services": [f"service:{s['id']}" for s in (context.get("services") or [])],
        }

    def stage_actions(
        self, policy: Policy, stage: Stage, n: int, spec: StageAction, data: dict[str, Any], approval: bool
    ) -> list[Action]:
        guard = self.ladder_guard()
        step = Step(policy, spec, f"{stage.name}:{n}", data, approval, guard)
        return STEPS.get(spec.kind, StagePlanner.service_steps)(self, step)

    def email_step(self, step: Step) -> list[Action]:
        spec = step.spec.email
        assert spec is not None
        related = {
            "invoice": [self.oldest_invoice()],
            "product": [int(s["id"]) for s in self.scoped_services(step.policy)],
            "domain": [int(d["id"]) for d in (self.s.get("context") or {}).get("domains") or []],
        }
        emails = email_params(spec, self.s["client_id"], step.data, related)
        if not emails:
            return [self.action("client_note", step.purpose, no_record_note(spec), step.approval, guard=step.guard)]
        # One email keeps the step's key; one per service or domain adds the record to it.
        return [
            self.action(
                "email",
                step.purpose if len(emails) == 1 else f"{step.purpose}:{p['related_id']}",
                p,
                step.approval,
                guard=step.guard,
            )
            for p in emails
        ]

    def oldest_invoice(self) -> int:
        """The case's unpaid invoice due first (by id among equals)."""
        return min((i.get("due") or "9999", int(k)) for k, i in self.s["invoices"].items())[1]

    def ticket_step(self, step: Step) -> list[Action]:
        """A ticket to the client, or a task for staff: a ticket from the bridge's staff address, or
        the client's admin notes when there is none."""
        kind = step.spec.kind
        ticket = step.spec.ticket if kind == "ticket" else step.spec.staff_task
        assert ticket is not None
        params: dict[str, Any] = {
            "deptid": ticket.department_id,
            "msg": message(ticket.message, **step.data),
            "priority": ticket.priority,
        }
        if kind == "ticket":
            params["client_id"] = self.s["client_id"]
        elif self.staff_email:
            params.update(client_id=None, name="whmcs-bridge", email=self.staff_email, notify=False)
        else:  # no staff address configured: the task (its subject, then its text) goes to the client's notes
            note = {"msg": params["msg"], "sticky": True}
            return [self.action("client_note", step.purpose, note, step.approval, guard=step.guard)]
        return [self.action("ticket", step.purpose, params, step.approval, guard=step.guard)]

    def staff_message(
        self, message_id: str, purpose: str, record: dict[str, Any], guard: dict[str, Any] | None = None
    ) -> list[Action]:
        """A ticket to staff about a stage waiting for them (from the bridge's staff address; the client's
        notes when there is none), with what they need to decide (escalation/approval.py)."""
        f = approval_facts.facts(self.s, record)
        msg = message(
            message_id,
            client=self.s["client_id"],
            stage=f["stage"],
            steps=str(record.get("steps") or ""),
            amount_due=f["amount_due"],
            invoice_count=f["invoice_count"],
            oldest_due=f["oldest_due"],
            impact="" if f["impact"] is None else str(f["impact"]),
            promise=f["promise"],
            hold=f["hold"],
        )
        if not self.staff_email:
            return [self.action("client_note", purpose, {"msg": msg, "sticky": True}, False, guard=guard)]
        params = {
            "deptid": self.rules.staff_department_id,
            "msg": msg,
            "priority": "High",
            "client_id": None,
            "name": "whmcs-bridge",
            "email": self.staff_email,
            "notify": False,
        }
        return [self.action("ticket", purpose, params, False, guard=guard)]

    def note_step(self, step: Step) -> list[Action]:
        params = {"msg": message(step.spec.note or "", **step.data)}
        return [self.action("client_note", step.purpose, params, step.approval, guard=step.guard)]

    def invoice_status_step(self, step: Step) -> list[Action]:
        """Invoice -> Collections is destructive: it waits for the same window as a suspension."""
        not_before = self.destructive_time({})
        return [
            self.action(
                "invoice_status",
                f"{step.purpose}:{invoice}",
                {"invoice_id": int(invoice), "status": step.spec.invoice_status},
                step.approval,
                guard={**step.guard, "invoices_open": [int(invoice)], "window": self.window_guard()},
                destructive=True,
                not_before=not_before,
            )
            for invoice in sorted(self.s["invoices"], key=int)
        ]

    def service_steps(self, step: Step) -> list[Action]:
        """A step on each open service in the policy's scope (suspend, terminate, a module command),
        not before the destructive-action window."""
        actions = []
        build = SERVICE_STEPS.get(step.spec.kind)
        for service in self.scoped_services(step.policy):
            if service.get("status") not in OPEN_SERVICE:
                continue
            not_before = self.destructive_time(service)  # also spaces the next destructive stage
            action = build(self, step, service["id"], not_before) if build else None
            if action is not None:
                actions.append(action)
        return actions

    def module_command_step(self, step: Step, service_id: int, not_before: datetime) -> Action | None:
        command = step.spec.module_command
        if not command:
            return None
        return self.action(
            "module_command",
            f"{step.purpose}:service:{service_id}",
            {"service_id": service_id, "function": command.function},
            step.approval,
            guard=self.destructive_guard(step, service_id, list(OPEN_SERVICE), command.destructive),
            destructive=command.destructive,
            not_before=not_before if command.destructive else None,
        )

    def suspend_step(self, step: Step, service_id: int, not_before: datetime) -> Action | None:
        if not step.spec.suspend:
            return None
        self.s.setdefault("expected_service_status", {})[str(service_id)] = "Suspended"
        return self.action(
            "suspend",
            f"{step.purpose}:service:{service_id}",
            {"service_id": service_id, "reason": step.spec.suspend.reason},
            step.approval,
            guard=self.destructive_guard(step, service_id, ["Active"]),
            not_before=not_before,
        )

    def terminate_step(self, step: Step, service_id: int, not_before: datetime) -> Action | None:
        self.s.setdefault("expected_service_status", {})[str(service_id)] = "Terminated"
        return self.action(
            "terminate",
            f"{step.purpose}:service:{service_id}",
            {"service_id": service_id},
            step.approval,
            guard=self.destructive_guard(step, service_id, list(OPEN_SERVICE)),
            not_before=not_before,
        )

    @staticmethod
    def service_guard(step: Step, service_id: int, statuses: list[str]) -> dict[str, Any]:
        return {**step.guard, "service_status": {"id": service_id, "in": statuses}}

    def destructive_guard(
        self, step: Step, service_id: int, statuses: list[str], destructive: bool = True
    ) -> dict[str, Any]:
        guard = self.service_guard(step, service_id, statuses)
        if destructive:
            guard["window"] = self.window_guard(service_id)
        return guard

    def window_guard(self, service_id: int | None = None) -> dict[str, Any]:
        """What the executor re-checks just before a destructive step, approved or not (executor/guards.py
        WAITS): the allowed days and hours in the configured zone, holidays, the spacing after the client's
        last destructive stage done and the day after a deadline announced to the client (`after`), and the
        service's "do not suspend until" date read from WHMCS then."""
        guards = self.rules.guards
        return {
            "days": list(guards.destructive_days),
            "hours": guards.destructive_hours,
            "holidays": [d.isoformat() for d in self.rules.holidays],
            "zone": str(getattr(self.zone, "key", None) or "UTC"),
            "after": max(filter(None, [self.s.get("deadline_passed"), self.s.get("destructive_done")]), default=None),
            "service_id": service_id,
        }

    def destructive_time(self, service: dict[str, Any]) -> datetime:
        """The earliest instant a destructive step may run: the allowed days and hours, at least
        `min_days_between_destructive` after the previous destructive stage, and after the
        service's own "do not suspend until" date (WHMCS's per-service override). The executor checks the
        same again just before the step (the window guard), approved or not."""
        guards = self.rules.guards
        if self._stage_earliest is None:
            earliest = self.now
            # The day after a deadline announced to the client; the spacing after the last destructive stage done.
            after = max(filter(None, [self.s.get("deadline_passed"), self.s.get("destructive_done")]), default=None)
            if after:
                earliest = max(earliest, datetime.combine(date.fromisoformat(after), time(0), self.zone))
            last = self.s.get("last_destructive")
            if last:
                earliest = max(
                    earliest, datetime.fromisoformat(last) + timedelta(days=guards.min_days_between_destructive)
                )
            self._stage_earliest = self.window(earliest)
        moment = self._stage_earliest
        override = service.get("override_until")
        if override and date.fromisoformat(override) >= self.today:
            after_override = datetime.combine(date.fromisoformat(override) + timedelta(days=1), time(0), self.zone)
            moment = self.window(max(moment, after_override))
        return moment

    def window(self, moment: datetime) -> datetime:
        """The destructive window's first instant at or after `moment`, reckoned in the configured time
        zone's days and hours, returned in UTC (what the store keeps)."""
        guards = self.rules.guards
        local = moment.astimezone(self.zone)
        found = next_window(local, guards.destructive_days, guards.destructive_hours, self.rules.holidays)
        return found.astimezone(UTC)

    def action(
        self,
        kind: str,
        purpose: str,
        params: dict[str, Any],
        approval: bool,
        *,
        guard: dict[str, Any] | None = None,
        destructive: bool | None = None,
        not_before: datetime | None = None,
    ) -> Action:
        client = self.s["client_id"]
        return Action(
            key=action_key(FAMILY, f"client:{client}", purpose, str(self.s["cycle"])),
            family=FAMILY,
            kind=kind,
            params=params,
            client_id=client,
            subject=f"client:{client}",
            guard=guard or {},
            needs_approval=approval,
            not_before=not_before,
            destructive=destructive,
        )


# How a stage's action spec becomes actions, by its kind; other kinds act on each open service.
STEPS: dict[str, Callable[[StagePlanner, Step], list[Action]]] = {
    "email": StagePlanner.email_step,
    "ticket": StagePlanner.ticket_step,
    "staff_task": StagePlanner.ticket_step,
    "note": StagePlanner.note_step,
    "invoice_status": StagePlanner.invoice_status_step,
}
SERVICE_STEPS: dict[str, Callable[[StagePlanner, Step, int, datetime], Action | None]] = {
    "module_command": StagePlanner.module_command_step,
    "suspend": StagePlanner.suspend_step,
    "terminate": StagePlanner.terminate_step,
}
