"""Staff commands on a case (EscalationCommand events from the CLI: promise, hold, resume, letter, skip a
stage, close). `escalations ...` checks a command before it reaches the case. One half of the escalation
case (rules.py Case)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from whmcs_bridge.families.escalation.calendar import add_days
from whmcs_bridge.families.escalation.config import EscalationSection, Policy
from whmcs_bridge.families.escalation.position import BRIDGE, AccountPosition
from whmcs_bridge.model import Event


class StaffCommands(AccountPosition):
    """What staff's commands do to the case's state."""

    today: date
    now: datetime
    rules: EscalationSection

    def close(self, *, paid: bool = True) -> None:
        raise NotImplementedError

    def withdraw_waiting(self, reason: str) -> None:
        raise NotImplementedError

    def current_policy(self) -> Policy | None:
        raise NotImplementedError

    def command(self, event: Event) -> None:
        """A staff command from the CLI; an unknown one changes nothing."""
        data = event.data
        handler = COMMANDS.get(str(data.get("command")))
        if handler is not None:
            handler(self, data, data.get("by") or "staff")

    def promise(self, data: dict[str, Any], by: str) -> None:
        """A promise to pay an amount by a date (checked by `escalations promise` before it gets here). It
        is kept when the balance went down by at least the amount by that date; without an amount (older
        rows), the whole balance."""
        owed = self.owed()
        amount = data.get("amount")
        replaced = self.s.get("promise")
        if replaced and not replaced.get("kept"):  # a promise replaced before its date was not kept
            self.s["broken_promises"] += 1
            self.log("promise replaced before its date: counted as broken", replaced)
        self.s["promise"] = {
            "until": data["until"],
            "amount": str(amount) if amount not in (None, "") else f"{owed:.2f}",
            "owed_when_made": f"{owed:.2f}",
            "note": data.get("note"),
            "by": by,
            "made": self.today.isoformat(),
        }
        self.log("promise to pay", self.s["promise"])

    def hold(self, data: dict[str, Any], by: str) -> None:
        reason = str(data.get("reason") or "").strip() or "no reason given"
        self.s["hold"] = {"by": by, "reason": reason, "at": self.now.isoformat()}
        self.log("ladder held", self.s["hold"])

    def resume(self, data: dict[str, Any], by: str) -> None:
        held = self.s.pop("hold", None)
        if held is None:
            return
        self.log("ladder resumed", {"by": by})
        if held.get("by") == BRIDGE and self.s.get("read_at") and self.current():
            # Staff decided: the cancelled invoices are not coming back. Nothing was paid: no "restored"
            # email says it was; what was done is undone.
            self.s.pop("replaced_due", None)
            self.s.pop("replaced_at", None)
            self.close(paid=False)

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
        self.withdraw_waiting(f"ladder closed by {by}")

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


# Staff commands (EscalationCommand): (case, data, by).
COMMANDS: dict[str, Callable[[StaffCommands, dict[str, Any], str], None]] = {
    "promise": StaffCommands.promise,
    "hold": StaffCommands.hold,
    "resume": StaffCommands.resume,
    "letter": StaffCommands.letter,
    "skip_stage": StaffCommands.skip_stage,
    "close": StaffCommands.close_case,
}
