"""Overdue reseller escalation (SPEC §4.2): a staged, approval-gated, reversible ladder, as a pure decide().

State, per client (key = WHMCS client id): its open overdue invoices, the context read from WHMCS
(services, group, custom fields), the policy that applies, the stages reached, promises and holds,
and a timeline. Events: InvoiceOverdue / InvoicePaid / InvoiceCancelled / InvoiceRefunded,
ClientContext, ServiceStatusChanged and AfterModule* (staff acting by hand), EscalationCommand
(promise, hold, resume, letter, from the CLI), and timer Ticks.

Rules: one stage per decision at most; a stage is due a number of (business) days after the oldest
due date or after the previous stage; promises and holds pause the ladder; a service's own "do not
suspend until" date defers destructive steps; when the client is current again every reversible
step is undone in reverse order and the case closes. Only the client of record is ever contacted.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from whmcs_bridge.families.escalation import approval as approval_facts
from whmcs_bridge.families.escalation.calendar import add_days
from whmcs_bridge.families.escalation.config import EscalationSection, Policy, Stage
from whmcs_bridge.families.escalation.ladder import email_params, matches, no_record_note
from whmcs_bridge.families.escalation.steps import FAMILY, OPEN_SERVICE, StagePlanner
from whmcs_bridge.model import Action, Decision, Event, State, action_key, as_int, message

# How the executor tells the case that one of its waiting steps ended (done, cancelled or rejected):
# the stage it belongs to is done when none is left (executor/loop.py, store/outbox.py report_outcome).
STEP_OUTCOME = "EscalationStep"
MODULE_EVENTS = {
    "AfterModuleSuspend": "Suspended",
    "AfterModuleUnsuspend": "Active",
    "AfterModuleTerminate": "Terminated",
}


class Escalation:
    name = FAMILY
    tracks_client_services = True

    def __init__(self, rules: EscalationSection, *, staff_email: str | None = None, zone: tzinfo = UTC) -> None:
        self.rules = rules
        self.staff_email = staff_email
        self.zone = zone

    # --- routing ------------------------------------------------------------------------------

    def route(self, event: Event) -> Sequence[str]:
        data = event.data
        if event.type == "ClientContext" and data.get("requested_by") not in (None, FAMILY):
            client = None  # another family's read
        elif event.type in ("InvoiceOverdue", "ClientContext", "ServiceStatusChanged"):
            client = as_int(data.get("userid"))
        elif event.type in ("EscalationCommand", STEP_OUTCOME, "ServiceEdit"):
            client = as_int(data.get("client_id") or data.get("userid"))
        elif event.type in MODULE_EVENTS:
            client = as_int((data.get("params") or {}).get("userid"))
        else:
            client = None
        return [str(client)] if client else []

    def refs(self, event: Event) -> Sequence[str]:
        if event.type in ("InvoicePaid", "InvoiceCancelled", "InvoiceRefunded", "AddInvoicePayment", "InvoiceUnpaid"):
            invoice = as_int(event.data.get("invoiceid"))
            return [f"invoice:{invoice}"] if invoice else []
        if event.type in MODULE_EVENTS:
            service = as_int((event.data.get("params") or {}).get("serviceid"))
            return [f"service:{service}"] if service else []
        return []

    # --- decide -------------------------------------------------------------------------------

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        return {
            key: decide(state, event, now, self.rules, staff_email=self.staff_email, zone=self.zone)
            for key, state in states.items()
        }


def decide(
    state: dict[str, Any],
    event: Event,
    now: datetime,
    rules: EscalationSection,
    *,
    staff_email: str | None = None,
    zone: tzinfo = UTC,
) -> Decision:
    """Pure: the new state of one client's case and the actions to plan. `now` is an instant (UTC); days,
    hours, deadlines and the dates in notices are those of `zone` (the configuration's `timezone`)."""
    # Never change the caller's state. It is plain JSON data: a JSON round-trip copies it ~5x faster than deepcopy.
    case = Case(json.loads(json.dumps(state)), now, rules, staff_email, zone)
    case.apply(event)
    return case.decision()


class Case(StagePlanner):
    def __init__(
        self,
        state: dict[str, Any],
        now: datetime,
        rules: EscalationSection,
        staff_email: str | None,
        zone: tzinfo = UTC,
    ) -> None:
        self.s = state
        self.now = now
        self.zone = zone
        self.today = now.astimezone(zone).date()
        self.rules = rules
        self.staff_email = staff_email
        self.actions: list[Action] = []
        self._stage_earliest: datetime | None = None
        self.s.setdefault("cycle", 1)
        self.s.setdefault("invoices", {})
        self.s.setdefault("stages", [])
        self.s.setdefault("timeline", [])
        self.s.setdefault("broken_promises", 0)

    # --- events -------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        handler = EVENTS.get(event.type)
        if handler is not None:
            handler(self, event)
        # InvoiceCreated and Ticks need nothing here: the ladder below looks at the clock.
        self.advance()

    def invoice_overdue(self, event: Event) -> None:
        data = event.data
        invoice = str(as_int(data.get("invoiceid")))
        self.s["client_id"] = as_int(data.get("userid"))
        if invoice not in self.s["invoices"]:
            self.log(
                "invoice overdue", {"invoice": int(invoice), "due": data.get("duedate"), "total": data.get("total")}
            )
        self.s["invoices"][invoice] = {"due": data.get("duedate"), "total": str(data.get("total") or "0")}
        self.request_context()

    def invoice_settled(self, event: Event) -> None:
        """Paid, cancelled by a credit note or refunded: the invoice no longer counts."""
        invoice = str(as_int(event.data.get("invoiceid")))
        if self.s["invoices"].pop(invoice, None) is not None:
            self.log(SETTLED[event.type], {"invoice": int(invoice)})

    def partial_payment(self, event: Event) -> None:
        self.log("partial payment received", {"invoice": as_int(event.data.get("invoiceid"))})

    def context_read(self, event: Event) -> None:
        """The client's services, group and custom fields: which policy applies now."""
        data = event.data
        self.s["client_id"] = as_int(data.get("userid"))
        self.s["context"] = {
            k: data.get(k) for k in ("name", "company", "email", "groupid", "customfields", "services", "domains")
        }
        self.s.pop("context_requested", None)
        policy = self.policy()
        if policy is None and self.s.get("policy"):
            self.log("no longer in scope of any policy", {})
        self.s["policy"] = policy.name if policy else None

    def service_edited(self, event: Event) -> None:
        """Staff edited a service in WHMCS (DD:hooks-reference/service.md, ServiceEdit: after the changes):
        its override date, custom fields (the impact) or product may have changed: read the client again."""
        if not self.s.get("invoices") or not self.s.get("client_id"):
            return
        edited = as_int(event.data.get("serviceid"))
        self.log("service edited in WHMCS: client read again", {"service": edited})
        self.s["context_reads"] = int(self.s.get("context_reads") or 0) + 1
        self.plan(
            "refresh_client",
            f"context:{self.s['cycle']}:edit:{self.s['context_reads']}",
            {"client_id": self.s["client_id"]},
        )

    def step_outcome(self, event: Event) -> None:
        """A waiting step of a stage ended: done or cancelled, it leaves the stage's pending steps; rejected
        by staff, the stage is rejected and holds the ladder until staff skip it, hold or close the case."""
        data = event.data
        key, status = str(data.get("action_key")), str(data.get("status"))
        for record in self.s["stages"]:
            if key not in record.get("pending", []):
                continue
            record["pending"].remove(key)
            if status == "rejected":
                record["rejected"] = {"by": data.get("by"), "reason": data.get("reason"), "at": self.now.isoformat()}
                self.log(f"stage {record['name']} rejected: the ladder waits for staff", record["rejected"])
            if not record["pending"] and not record.get("rejected"):
                # When the executor's pass ran it (the rules may hear of it a pass later).
                at = datetime.fromisoformat(str(data.get("at") or self.now.isoformat()))
                record["done_at"] = min(at, self.now).astimezone(self.zone).date().isoformat()
                if record.get("destructive"):  # the next destructive stage keeps its distance from this one
                    spaced = date.fromisoformat(record["done_at"]) + timedelta(
                        days=self.rules.guards.min_days_between_destructive
                    )
                    self.s["destructive_done"] = spaced.isoformat()
                self.log(f"stage {record['name']} done", {"on": record["done_at"]})

    def request_context(self) -> None:
        """Ask for the client's services once per cycle (a read the executor turns into ClientContext)."""
        if self.s.get("context") or self.s.get("context_requested"):
            return
        client = self.s.get("client_id")
        if not client:
            return
        self.s["context_requested"] = self.today.isoformat()
        # Keyed by the invoice that started this episode: a later episode asks again (a new key).
        first = min(int(i) for i in self.s["invoices"])
        self.plan("refresh_client", f"context:{self.s['cycle']}:{first}", {"client_id": client})

    def service_changed(self, event: Event) -> None:
        data = event.data.get("params") if event.type in MODULE_EVENTS else event.data
        service = as_int((data or {}).get("serviceid"))
        status = MODULE_EVENTS.get(event.type) or (data or {}).get("status")
        ours = self.s.get("expected_service_status", {}).get(str(service))
        for item in (self.s.get("context") or {}).get("services") or []:
            if item["id"] == service:
                item["status"] = status
        if ours == status:
            return  # our own action coming back
        if self.s.get("stages") and not self.s.get("hold"):
            self.s["hold"] = {
                "by": "staff (in WHMCS)",
                "reason": f"service {service} was set to {status} by hand",
                "at": self.now.isoformat(),
            }
            self.log("ladder held: staff changed a service by hand", {"service": service, "status": status})

    def command(self, event: Event) -> None:
        """A staff command from the CLI; an unknown one changes nothing."""
        data = event.data
        handler = COMMANDS.get(str(data.get("command")))
        if handler is not None:
            handler(self, data, data.get("by") or "staff")

    def promise(self, data: dict[str, Any], by: str) -> None:
        self.s["promise"] = {
            "until": data["until"],
            "amount": data.get("amount"),
            "note": data.get("note"),
            "by": by,
            "made": self.today.isoformat(),
        }
        self.log("promise to pay", self.s["promise"])

    def hold(self, data: dict[str, Any], by: str) -> None:
        self.s["hold"] = {"by": by, "reason": data.get("reason") or "", "at": self.now.isoformat()}
        self.log("ladder held", self.s["hold"])

    def resume(self, data: dict[str, Any], by: str) -> None:
        if self.s.pop("hold", None) is not None:
            self.log("ladder resumed", {"by": by})

    def skip_stage(self, data: dict[str, Any], by: str) -> None:
        """Staff's answer to a rejected (or stuck) stage: count it as done today; the next stage follows."""
        stages = self.s["stages"]
        if not stages or stages[-1].get("done_at"):
            return
        record = stages[-1]
        record["skipped"] = {"by": by, "reason": data.get("reason") or "", "at": self.now.isoformat()}
        record["done_at"] = self.today.isoformat()
        self.log(f"stage {record['name']} skipped by staff", record["skipped"])

    def close_case(self, data: dict[str, Any], by: str) -> None:
        """Staff end the ladder for this episode: nothing more is done or undone by the bridge."""
        self.s["stopped"] = {"by": by, "reason": data.get("reason") or "", "at": self.now.isoformat()}
        self.log("ladder closed by staff", self.s["stopped"])

    def letter(self, data: dict[str, Any], by: str) -> None:
        letters = self.s.setdefault("letters", [])
        known = next((x for x in letters if x.get("tracking") == data.get("tracking")), None)
        if known is None:
            self.log("registered letter sent", {"tracking": data.get("tracking"), "by": by, "note": data.get("note")})
            known = {"tracking": data.get("tracking"), "at": self.today.isoformat(), "by": by}
            letters.append(known)
        if data.get("delivered"):
            known["delivered"] = data["delivered"]
            self.log("registered letter delivered", {"tracking": data.get("tracking"), "on": data["delivered"]})
            self.letter_delivered(date.fromisoformat(str(data["delivered"])))

    def letter_delivered(self, delivered: date) -> None:
        """A stage waiting for its letter's delivery goes on; its deadline counts from the delivery."""
        stages = self.s["stages"]
        if not stages or not stages[-1].get("awaits_delivery") or stages[-1].get("delivered"):
            return
        record = stages[-1]
        record["delivered"] = delivered.isoformat()
        policy = self.current_policy()
        stage = next((x for x in policy.ladder if x.name == record["name"]), None) if policy else None
        if stage is not None and stage.deadline_days:
            deadline = add_days(
                delivered, stage.deadline_days, business=stage.business_days, holidays=self.rules.holidays
            )
            passed = (deadline + timedelta(days=1)).isoformat()
            self.s["deadline_passed"] = max(passed, self.s.get("deadline_passed") or passed)

    # --- the ladder ---------------------------------------------------------------------------

    def policy(self) -> Policy | None:
        context = self.s.get("context") or {}
        for policy in self.rules.policies:
            if matches(policy, context):
                return policy
        return None

    def current_policy(self) -> Policy | None:
        return next((p for p in self.rules.policies if p.name == self.s.get("policy")), None)

    def advance(self) -> None:
        if not self.s["invoices"]:
            self.close()
            return
        policy = self.current_policy()
        if policy is None or self.s.get("hold") or self.s.get("stopped"):
            return
        waiting = self.waiting_stage()
        if waiting is not None:
            self.remind(waiting)
            return
        promise = self.s.get("promise")
        if promise:
            if self.today <= date.fromisoformat(promise["until"]):
                return
            self.s["broken_promises"] += 1
            self.log("promise broken", promise)
            self.s.pop("promise")
            self.s["resume_from"] = self.today.isoformat()
        index = len(self.s["stages"])
        if index >= len(policy.ladder):
            return
        stage = policy.ladder[index]
        due = self.stage_date(policy, index)
        if due is None or self.today < due:
            return
        self.run_stage(policy, index, stage)

    def waiting_stage(self) -> dict[str, Any] | None:
        """The last stage reached while it is not done: steps waiting for approval, the destructive window
        or WHMCS, or rejected by staff. It holds the ladder behind it."""
        stages = self.s["stages"]
        last = stages[-1] if stages else None
        if last is not None and last.get("awaits_delivery") and not last.get("delivered"):
            return last  # the formal notice must be delivered first
        if last is None or last.get("done_at") or "pending" not in last:  # older records: done when reached
            return None
        return last if (last["pending"] or last.get("rejected")) else None

    def stage_date(self, policy: Policy, index: int) -> date | None:
        stage = policy.ladder[index]
        holidays = self.rules.holidays
        if stage.counted_from == "due" or index == 0:
            start = self.oldest_due()
        else:  # from when the previous stage was done, so a grace period is always its configured length
            previous = self.s["stages"][-1]
            if self.waiting_stage() is not None:
                return None
            start = date.fromisoformat(previous.get("done_at") or previous["at"])
        due = add_days(start, stage.after_days, business=stage.business_days, holidays=holidays)
        resume = self.s.get("resume_from")
        if resume and index > 0:
            due = max(due, date.fromisoformat(resume))
        passed = self.s.get("deadline_passed")  # "unless we receive payment by D": not before the day after D
        if passed and index > 0:
            due = max(due, date.fromisoformat(passed))
        return due

    def next_due_at(self) -> datetime | None:
        """When this case next needs a look: the next stage's date, or the day after a promise."""
        if not self.s["invoices"]:
            return None
        if self.s.get("promise"):
            return datetime.combine(
                date.fromisoformat(self.s["promise"]["until"]) + timedelta(days=1), time(0), self.now.tzinfo
            )
        policy = self.current_policy()
        if policy is None or self.s.get("hold") or self.s.get("stopped"):
            return None
        waiting = self.waiting_stage()
        if waiting is not None:
            return self.reminder_at(waiting)
        if len(self.s["stages"]) >= len(policy.ladder):
            return None
        due = self.stage_date(policy, len(self.s["stages"]))
        return datetime.combine(due, time(0), self.now.tzinfo) if due else None

    def impact(self, policy: Policy) -> int | None:
        """How many downstream customers a cut hits; None (unknown) when nothing is configured, or when a
        service in scope has none of the configured custom fields filled in (a server nobody described)."""
        if policy.impact.constant is not None:
            return policy.impact.constant
        if not policy.impact.custom_fields:
            return None
        total = 0
        for service in self.scoped_services(policy):
            values = [(service.get("customfields") or {}).get(name) for name in policy.impact.custom_fields]
            numbers = [as_int(v) for v in values if str(v or "").strip() != ""]
            if not any(n is not None for n in numbers):
                return None
            total += sum(n or 0 for n in numbers)
        return total

    def run_stage(self, policy: Policy, index: int, stage: Stage) -> None:
        self._stage_earliest = None
        impact = self.impact(policy)
        approval = stage.approval == "always" or (
            stage.approval == "impact" and (impact is None or impact > policy.approval_impact_threshold)
        )
        data = self.message_data(stage)
        planned: list[str] = []
        pending: list[str] = []
        for n, spec in enumerate(stage.actions):
            for action in self.stage_actions(policy, stage, n, spec, data, approval):
                if action.needs_approval or action.is_destructive:  # may wait: the stage is done when it ends
                    action = dataclasses.replace(action, params={**action.params, "outcome_to": STEP_OUTCOME})
                    pending.append(action.key)
                self.actions.append(action)
                planned.append(action.key)
        if self._stage_earliest is not None:  # the stage had destructive steps: space the next one from it
            self.s["last_destructive"] = self._stage_earliest.isoformat()
        record: dict[str, Any] = {
            "name": stage.name,
            "at": self.today.isoformat(),
            "actions": planned,
            "approval": approval,
            "impact": impact,
            "pending": pending,
        }
        if self._stage_earliest is not None:
            record["destructive"] = True
        if stage.wait_for_delivery:
            record["awaits_delivery"] = True
        if not pending:
            record["done_at"] = self.today.isoformat()
        if data.get("deadline"):
            self.s["deadline_passed"] = (date.fromisoformat(data["deadline"]) + timedelta(days=1)).isoformat()
        self.s["stages"].append(record)
        if approval and pending:
            record["asked_at"] = self.now.isoformat()
            record["steps"] = "; ".join(
                approval_facts.describe_step(a.kind, a.params) for a in self.actions if a.key in pending
            )
            guard = {"invoices_open": sorted(int(i) for i in self.s["invoices"])}  # moot once they are settled
            self.actions.extend(
                self.staff_message("escalation.approval_request", f"approval:{stage.name}", record, guard)
            )
        self.log(
            f"stage {stage.name} reached", {"impact": impact, "approval_required": approval, "actions": len(planned)}
        )

    def reminder_at(self, waiting: dict[str, Any]) -> datetime | None:
        """When staff are reminded of a stage still waiting for approval (once), or None."""
        if not waiting.get("asked_at") or waiting.get("reminded") or not waiting.get("pending"):
            return None
        return datetime.fromisoformat(waiting["asked_at"]) + timedelta(hours=self.rules.approval_reminder_hours)

    def remind(self, waiting: dict[str, Any]) -> None:
        due = self.reminder_at(waiting)
        if due is None or self.now < due:
            return
        waiting["reminded"] = self.now.isoformat()
        # Cancelled if staff decided meanwhile (no step of the stage waits for approval any more).
        guard = {"awaiting_approval": list(waiting["pending"])}
        self.actions.extend(
            self.staff_message("escalation.approval_reminder", f"approval-reminder:{waiting['name']}", waiting, guard)
        )
        self.log("staff reminded of a waiting approval", {"stage": waiting["name"]})

    def plan(self, kind: str, purpose: str, params: dict[str, Any]) -> None:
        self.actions.append(self.action(kind, purpose, params, False))

    # --- payment undoes it ----------------------------------------------------------------------

    def close(self) -> None:
        """The client is current: undo every reversible step in reverse order, say so, close the case."""
        if self.s.get("stages"):
            undo = self.undo_steps()
            self.actions.extend(undo)
            self.keep_promise()
            self.actions.extend(self.restored_notice(len(undo)))
            self.log("client current again: case closed", {"undone": [a.kind for a in undo]})
        else:
            self.keep_promise()
        self.s["closed"] = True

    def keep_promise(self) -> None:
        if self.s.get("promise"):
            self.log("promise kept", self.s["promise"])

    def undo_steps(self) -> list[Action]:
        """The reversible steps reached, last first: each stage's actions and services in reverse."""
        policy = self.current_policy()
        if policy is None:
            return []
        undo: list[Action] = []
        for index in reversed(range(min(len(self.s["stages"]), len(policy.ladder)))):
            stage = policy.ladder[index]
            for n in reversed(range(len(stage.actions))):
                for service in reversed(self.scoped_services(policy)):
                    action = self.undo_step(stage, n, service["id"])
                    if action is not None:
                        undo.append(action)
        return undo

    def undo_step(self, stage: Stage, n: int, service_id: int) -> Action | None:
        """What undoes a stage's n-th action on a service: unsuspend, or the module command's inverse."""
        spec = stage.actions[n]
        purpose = f"undo:{stage.name}:{n}:service:{service_id}"
        # An undo runs only if the step it undoes really ran (an outbox check).
        forward = action_key(
            FAMILY, f"client:{self.s['client_id']}", f"{stage.name}:{n}:service:{service_id}", str(self.s["cycle"])
        )
        if spec.kind == "suspend" and spec.suspend:
            self.s.setdefault("expected_service_status", {})[str(service_id)] = "Active"
            # Only a suspension still the bridge's: suspended, for the bridge's reason. Staff's own (an abuse
            # suspension, a reason changed by hand) is left alone, with a note saying so (executor/kinds.py).
            guard = {
                "action_done": forward,
                "suspended_by_us": {"id": service_id, "reason": spec.suspend.reason},
            }
            return self.action("unsuspend", purpose, {"service_id": service_id}, False, guard=guard)
        if spec.kind == "module_command" and spec.module_command and spec.module_command.inverse:
            guard = {"action_done": forward, "service_status": {"id": service_id, "in": list(OPEN_SERVICE)}}
            params = {"service_id": service_id, "function": spec.module_command.inverse}
            return self.action("module_command", purpose, params, False, guard=guard, destructive=False)
        return None

    def restored_notice(self, undone: int) -> list[Action]:
        """The client hears that the account is restored; the client's notes say what was undone."""
        client = self.s["client_id"]
        context = self.s.get("context") or {}
        spec = self.rules.restored_email
        related = {  # the invoices are paid and gone from the case: an invoice template has none to be about
            "product": [int(s["id"]) for s in context.get("services") or []],
            "domain": [int(d["id"]) for d in context.get("domains") or []],
        }
        emails = email_params(spec, client, {"client": client}, related)
        notices = [
            self.action("email", "restored" if len(emails) == 1 else f"restored:{p['related_id']}", p, False)
            for p in emails
        ] or [self.action("client_note", "restored-template", no_record_note(spec), False)]
        note = {"msg": message("escalation.closed_note", undone=undone)}
        return [*notices, self.action("client_note", "restored-note", note, False)]

    # --- the decision -------------------------------------------------------------------------

    def log(self, what: str, detail: dict[str, Any]) -> None:
        self.s["timeline"].append({"at": self.now.isoformat(), "what": what, **({"detail": detail} if detail else {})})

    def decision(self) -> Decision:
        if self.s.pop("closed", False):
            if not self.s["stages"]:  # nothing was done: no new cycle, just forget the invoices
                kept: dict[str, Any] = {
                    k: self.s[k]
                    for k in ("cycle", "client_id", "history", "timeline", "broken_promises", "context", "policy")
                    if k in self.s
                }
                return Decision(state=kept, actions=self.actions, due_at=None, refs=[])
            history = {
                "cycle": self.s["cycle"],
                "closed": self.today.isoformat(),
                "stages": self.s["stages"],
                "letters": self.s.get("letters", []),
                "broken_promises": self.s["broken_promises"],
            }
            # The case closes but its proof stays (for a dossier exported later); the context is
            # kept so a new episode starts from what is known.
            closed_state = {
                "cycle": self.s["cycle"] + 1,
                "client_id": self.s.get("client_id"),
                "context": self.s.get("context"),
                "policy": self.s.get("policy"),
                "history": self.s.get("history", []) + [history],
                "timeline": self.s["timeline"],
            }
            return Decision(state=closed_state, actions=self.actions, due_at=None, refs=[])
        refs = [f"invoice:{i}" for i in sorted(self.s["invoices"], key=int)]
        refs += [f"service:{s['id']}" for s in (self.s.get("context") or {}).get("services") or []]
        return Decision(state=self.s, actions=self.actions, due_at=self.next_due_at(), refs=refs)


# What each event does to the case before the ladder looks at the clock (others: nothing).
EVENTS: dict[str, Callable[[Case, Event], None]] = {
    "InvoiceOverdue": Case.invoice_overdue,
    "InvoicePaid": Case.invoice_settled,
    "InvoiceCancelled": Case.invoice_settled,
    "InvoiceRefunded": Case.invoice_settled,
    "AddInvoicePayment": Case.partial_payment,
    "ClientContext": Case.context_read,
    "ServiceStatusChanged": Case.service_changed,
    **dict.fromkeys(MODULE_EVENTS, Case.service_changed),
    "EscalationCommand": Case.command,
    STEP_OUTCOME: Case.step_outcome,
    "ServiceEdit": Case.service_edited,
}
SETTLED = {
    "InvoicePaid": "invoice paid",
    "InvoiceCancelled": "invoice cancelled (credit note)",
    "InvoiceRefunded": "invoice refunded",
}
# Staff commands (EscalationCommand): (case, data, by).
COMMANDS: dict[str, Callable[[Case, dict[str, Any], str], None]] = {
    "promise": Case.promise,
    "hold": Case.hold,
    "resume": Case.resume,
    "letter": Case.letter,
    "skip_stage": Case.skip_stage,
    "close": Case.close_case,
}
