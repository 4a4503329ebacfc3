"""Overdue reseller escalation (SPEC §4.2): a staged, approval-gated, reversible ladder, as a pure decide().

State, per client (key = WHMCS client id): the client's account as WHMCS last gave it (its open invoices
and their balances), the context read from WHMCS (services, group, custom fields), the policy that
applies, the stages done, promises and holds, and a timeline. Events: invoice events (InvoiceOverdue,
InvoiceCreated, InvoicePaid, InvoiceCancelled, InvoiceRefunded, InvoiceUnpaid, AddInvoicePayment,
InvoiceStillOpen) only ask for a fresh read of the account; ClientContext is that read; ServiceStatusChanged
and AfterModule* (staff acting by hand), EscalationCommand (promise, hold, resume, letter, from the CLI),
and timer Ticks.

The position is derived from facts (issue 15): what is owed, since when and how many invoices come from
the last read of WHMCS's open invoices and their balances, never from the events seen; stages remember
what was done, for undoing and the dossier. A cancelled invoice is not a payment: an invoice that appears
after others were cancelled replaces them and counts from the oldest due date of what it replaced;
cancelled invoices with nothing replacing them hold the case for staff. Only a balance at most
`current_below` makes the client current.

Rules: one stage per decision at most; a stage is due a number of
(business) days after the oldest due date or after the previous stage; promises and holds pause the ladder;
a service's own "do not suspend until" date defers destructive steps; when the client is current again every
reversible step is undone in reverse order and the case closes (the "restored" email only when something
was restored). Only the client of record is ever contacted.

The case is one class in halves: position.py (what is owed), commands.py (staff's commands), steps.py (how a
stage becomes actions), restoration.py (what payment undoes); this module routes events and decides.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.escalation import approval as approval_facts
from whmcs_bridge.families.escalation.calendar import add_days
from whmcs_bridge.families.escalation.commands import StaffCommands
from whmcs_bridge.families.escalation.config import EscalationSection, Policy, Stage
from whmcs_bridge.families.escalation.ladder import matches
from whmcs_bridge.families.escalation.position import BRIDGE
from whmcs_bridge.families.escalation.restoration import Restoration
from whmcs_bridge.families.escalation.steps import FAMILY
from whmcs_bridge.model import Action, Decision, Event, State, as_int, message

# How the executor tells the case that one of its waiting steps ended (done, cancelled or rejected):
# the stage it belongs to is done when none is left (executor/loop.py, store/outbox.py report_outcome).
STEP_OUTCOME = "EscalationStep"
# Events about an invoice: the case re-reads the client's account (they never edit what is owed).
INVOICE_EVENTS = (
    "InvoiceCreated",
    "InvoicePaid",
    "InvoiceCancelled",
    "InvoiceRefunded",
    "InvoiceUnpaid",
    "AddInvoicePayment",
    "InvoiceStillOpen",
)
# The reference an open case in a policy's scope keeps to its client: the clients the poller watches.
WATCH = "watch:"
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
        if event.type in INVOICE_EVENTS:
            invoice = as_int(event.data.get("invoiceid"))
            client = as_int(event.data.get("userid"))
            # An open case refers to its open invoices, and to its client (WATCH) for invoices it does not
            # know yet (a new invoice replacing cancelled ones).
            return ([f"invoice:{invoice}"] if invoice else []) + ([f"{WATCH}{client}"] if client else [])
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


class Case(Restoration, StaffCommands):
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
        # Steps still waiting for staff that the case no longer wants (it closed): the engine cancels them.
        self.withdrawn: list[str] = []
        self.withdraw_reason = ""
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
        if event.type == STEP_OUTCOME:
            # A stage done is heard a pass after it ran, before that pass's poll: the next stage waits for
            # its timer, which comes after the poll's events, so payments made meanwhile are read first.
            return
        # Ticks need nothing here: the ladder below looks at the clock.
        self.advance()

    def invoice_overdue(self, event: Event) -> None:
        data = event.data
        self.s["client_id"] = self.s.get("client_id") or as_int(data.get("userid"))
        invoice = str(as_int(data.get("invoiceid")))
        if invoice not in self.s["invoices"]:
            self.log("invoice overdue", {"invoice": int(invoice), "due": data.get("duedate")})
        self.request_read()  # a read planned and not yet run covers it: the account lists every open invoice

    def invoice_event(self, event: Event) -> None:
        """Something happened to one of the client's invoices: what it means for the debt is read from
        WHMCS (the account), not taken from the event."""
        if not self.s.get("client_id") or (self.s.get("policy") is None and self.s.get("context")):
            return  # no client known, or out of scope: nothing to re-read for
        invoice = as_int(event.data.get("invoiceid"))
        if event.type in HINTS:  # paid, cancelled, refunded: the read says it, with what is left
            self.log(HINTS[event.type], {"invoice": invoice} if invoice else {})
        self.request_read()

    def context_read(self, event: Event) -> None:
        """The client's services, group and custom fields (which policy applies now) and, when the case
        asked for it, its account: the open invoices and their balances."""
        data = event.data
        self.s["client_id"] = as_int(data.get("userid"))
        self.s["context"] = {
            k: data.get(k)
            for k in ("name", "company", "email", "currency", "groupid", "customfields", "services", "domains")
        }
        self.s.pop("read_requested", None)
        self.s.pop("context_requested", None)
        policy = self.policy()
        if policy is None and self.s.get("policy"):
            self.log("no longer in scope of any policy", {})
        self.s["policy"] = policy.name if policy else None
        if "invoices" in data and (policy is not None or self.s["stages"]):
            self.account_read(data)
        elif policy is None and not self.s["stages"]:  # no policy covers it: nothing to follow or to list
            for key in ("account", "replaced_due", "replaced_at", "cancelled"):
                self.s.pop(key, None)
            self.s["invoices"] = {}

    def service_edited(self, event: Event) -> None:
        """Staff edited a service in WHMCS (DD:hooks-reference/service.md, ServiceEdit: after the changes):
        its override date, custom fields (the impact) or product may have changed: read the client again
        (no decision until it is read: facts_known)."""
        if not self.s.get("invoices") or not self.s.get("client_id"):
            return
        edited = as_int(event.data.get("serviceid"))
        self.log("service edited in WHMCS: client read again", {"service": edited})
        self.request_read()  # one read pending at a time: one planned and not run yet covers the edit

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
            # Why, as facts: staff screens say it in the staff's language (staff.hold_reason).
            self.s["hold"] = {
                "by": "staff (in WHMCS)",
                "why": message("escalation.held_service_changed", service=str(service), status=str(status)),
                "at": self.now.isoformat(),
            }
            self.log("ladder held: staff changed a service by hand", {"service": service, "status": status})

    # --- the ladder ---------------------------------------------------------------------------

    def policy(self) -> Policy | None:
        context = self.s.get("context") or {}
        for policy in self.rules.policies:
            if matches(policy, context):
                return policy
        return None

    def current_policy(self) -> Policy | None:
        return next((p for p in self.rules.policies if p.name == self.s.get("policy")), None)

    def facts_known(self) -> bool:
        """The case has read the account and no read it asked for is pending: it may decide."""
        if self.s.get("closed"):
            return False
        if self.s.get("account") is None:
            if self.s.get("invoices"):  # a case kept by an older version: read the account first
                self.request_read()
            return False  # nothing read yet: no decision without the facts
        if self.s.get("read_requested"):
            self.request_read()  # again if the one asked for is long overdue (it may have failed)
            return False  # something changed in WHMCS: the decision waits for the read that says what
        return True

    def settle(self) -> None:
        """The client owes nothing (overdue): close the case, or hold it for staff if it is only because
        invoices were cancelled."""
        if (self.s.get("hold") or {}).get("by") == BRIDGE:
            return  # held for cancellations: staff decide
        if self.s.get("replaced_due") and self.s["stages"]:
            self.hold_for_cancelled()
        else:
            self.close(paid=not self.s.get("replaced_due"))

    def advance(self) -> None:
        if not self.facts_known():
            return
        self.owe()
        if self.current():
            self.settle()
            return
        policy = self.current_policy()
        if policy is None or self.s.get("hold") or self.s.get("stopped"):
            return
        waiting = self.waiting_stage()
        if waiting is not None:
            self.remind(waiting)
            return
        if not self.promise_pauses():
            return
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

    def promise_pauses(self) -> bool:
        """False while a promise holds the ladder. A promise is kept once the balance went down by its
        amount; it is broken when its date passed without that."""
        promise = self.s.get("promise")
        if not promise:
            return True
        if not promise.get("kept") and self.owed() <= Decimal(promise["owed_when_made"]) - Decimal(promise["amount"]):
            promise["kept"] = self.today.isoformat()
            self.log("promise kept", promise)
        if self.today <= date.fromisoformat(promise["until"]):
            return False
        if not promise.get("kept"):
            self.s["broken_promises"] += 1
            self.log("promise broken", promise)
        self.s.pop("promise")
        self.s["resume_from"] = self.today.isoformat()
        return True

    def hold_for_cancelled(self) -> None:
        """Cancelled invoices and nothing owed: not a payment. Staff decide (a replacement invoice resumes
        the ladder where it was; `escalations resume` closes the case without a "payment received")."""
        if (self.s.get("hold") or {}).get("by") == BRIDGE:
            return
        cancelled = self.s.get("cancelled") or []
        self.s["hold"] = {
            "by": BRIDGE,
            "why": message("escalation.held_cancelled", invoices=", ".join(map(str, cancelled)) or "?"),
            "at": self.now.isoformat(),
        }
        self.log("ladder held: invoices cancelled, not paid", {"invoices": cancelled})
        self.plan(
            "client_note",
            f"cancelled-hold:{self.s.get('reads', 0)}",
            {"msg": message("escalation.cancelled_hold_note", invoices=", ".join(map(str, cancelled))), "sticky": True},
        )

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
        if not self.s.get("invoices"):
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
        planned, pending = self.plan_stage(policy, stage, data, approval)
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

    def plan_stage(
        self, policy: Policy, stage: Stage, data: dict[str, Any], approval: bool
    ) -> tuple[list[str], list[str]]:
        """Plan the stage's actions; the keys planned, and those the stage waits for (approval, destructive)."""
        planned: list[str] = []
        pending: list[str] = []
        destructive: list[str] = []
        for n, spec in enumerate(stage.actions):
            for action in self.stage_actions(policy, stage, n, spec, data, approval):
                if destructive and not action.is_destructive:
                    # What comes after the stage's destructive steps tells of them ("your panel is locked"):
                    # it waits until they ended, and goes if one of them ran.
                    action = dataclasses.replace(action, guard={**action.guard, "after_steps": list(destructive)})
                if action.is_destructive:
                    destructive.append(action.key)
                if action.needs_approval or action.is_destructive:  # may wait: the stage is done when it ends
                    action = dataclasses.replace(action, params={**action.params, "outcome_to": STEP_OUTCOME})
                    pending.append(action.key)
                self.live(action)
                self.actions.append(action)
                planned.append(action.key)
        return planned, pending

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

    def message_data(self, stage: Stage) -> dict[str, Any]:
        """The stage's message fields, the amount being the balances owed (never the invoices' totals)."""
        return {**super().message_data(stage), "amount_due": f"{self.owed():.2f}"}

    def account_spec(self) -> dict[str, Any]:
        """What the executor needs to read the debt again when a step runs: the client, the day the step
        was planned, the tolerance, and the due dates replacements count from."""
        counts_from = {k: v["due"] for k, v in self.s["invoices"].items() if v.get("due") != v.get("own_due")}
        return {
            "client_id": self.s["client_id"],
            "as_of": self.today.isoformat(),
            "tolerance": self.rules.current_below,
            "counts_from": counts_from,
        }

    def ladder_guard(self) -> dict[str, Any]:
        """A ladder step is cancelled when the client is current by then, not when one invoice was paid; it
        waits while staff hold the ladder (approved or not), and is cancelled if staff close it."""
        running = {"family": FAMILY, "key": str(self.s["client_id"]), "cycle": self.s["cycle"]}
        return {"client_owes": self.account_spec(), "ladder_running": running}

    def live(self, action: Action) -> None:
        """A notice says what is owed when it is sent (it may wait for approval while the client pays part):
        the executor reads the amount fields again just before rendering it (executor/texts.py)."""
        msg = action.params.get("msg")
        if isinstance(msg, dict) and "amount_due" in (msg.get("data") or {}):
            msg["live"] = self.account_spec()

    def plan(self, kind: str, purpose: str, params: dict[str, Any]) -> None:
        self.actions.append(self.action(kind, purpose, params, False))

    # --- the decision -------------------------------------------------------------------------

    def log(self, what: str, detail: dict[str, Any]) -> None:
        self.s["timeline"].append({"at": self.now.isoformat(), "what": what, **({"detail": detail} if detail else {})})

    def decision(self) -> Decision:
        if self.s.pop("closed", False):
            if not self.s["stages"]:  # nothing was done: no new cycle, just forget the invoices
                kept: dict[str, Any] = {k: self.s[k] for k in KEPT_UNTOUCHED if k in self.s}
                return Decision(state=kept, actions=self.actions, due_at=None, refs=[], **self.withdrawals())
            history = {
                "cycle": self.s["cycle"],
                "closed": self.today.isoformat(),
                "stages": self.s["stages"],
                "letters": self.s.get("letters", []),
                "broken_promises": self.s["broken_promises"],
                "invoices": self.s.get("owed_ever", {}),
            }
            # The case closes but its proof stays (for a dossier exported later); the context is
            # kept so a new episode starts from what is known.
            closed_state = {
                "cycle": self.s["cycle"] + 1,
                "client_id": self.s.get("client_id"),
                "context": self.s.get("context"),
                "policy": self.s.get("policy"),
                "reads": self.s.get("reads", 0),
                "history": self.s.get("history", []) + [history],
                "timeline": self.s["timeline"],
            }
            return Decision(state=closed_state, actions=self.actions, due_at=None, refs=[], **self.withdrawals())
        refs = [f"invoice:{i}" for i in sorted(self.s.get("account") or {}, key=int)]
        refs += [f"service:{s['id']}" for s in (self.s.get("context") or {}).get("services") or []]
        if self.s.get("policy") and self.s.get("account"):  # an open case in scope: the poller watches it
            refs.append(f"{WATCH}{self.s['client_id']}")
        return Decision(state=self.s, actions=self.actions, due_at=self.next_due_at(), refs=refs, **self.withdrawals())

    def withdrawals(self) -> dict[str, Any]:
        return {"withdraw": self.withdrawn, "withdraw_reason": self.withdraw_reason}


# What a case that closes with nothing done keeps (no new cycle: it just forgets the invoices).
KEPT_UNTOUCHED = ("cycle", "client_id", "history", "timeline", "broken_promises", "context", "policy", "reads")
# What each event does to the case before the ladder looks at the clock (others: nothing).
EVENTS: dict[str, Callable[[Case, Event], None]] = {
    **dict.fromkeys(INVOICE_EVENTS, Case.invoice_event),
    "InvoiceOverdue": Case.invoice_overdue,
    "ClientContext": Case.context_read,
    "ServiceStatusChanged": Case.service_changed,
    **dict.fromkeys(MODULE_EVENTS, Case.service_changed),
    "EscalationCommand": Case.command,
    STEP_OUTCOME: Case.step_outcome,
    "ServiceEdit": Case.service_edited,
}
# What the timeline says of an invoice event (what it means for the debt comes with the read it asks for).
HINTS = {
    "InvoiceCreated": "new invoice",
    "InvoiceUnpaid": "invoice marked unpaid",
    "AddInvoicePayment": "payment received",
}
