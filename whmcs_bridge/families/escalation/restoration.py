"""What payment undoes (SPEC §4.2): when the client is current again, every reversible step the ladder took
is undone in reverse order (a suspension only while it is still the bridge's, a module command by its
inverse), waiting steps are withdrawn and the client hears "restored" only when something destructive was
undone. One half of the escalation case (rules.py Case)."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.escalation.config import Policy, Stage
from whmcs_bridge.families.escalation.ladder import email_params, no_record_note
from whmcs_bridge.families.escalation.steps import FAMILY, StagePlanner
from whmcs_bridge.model import Action, action_key, message


class Restoration(StagePlanner):
    """Closing a case: the undoing steps, the withdrawn waits and the notices that say so."""

    withdrawn: list[str]
    withdraw_reason: str

    def current_policy(self) -> Policy | None:
        raise NotImplementedError

    def log(self, what: str, detail: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self, *, paid: bool = True) -> None:
        """The client is current: undo every reversible step in reverse order, close the case. The client
        hears "restored" only when it paid and something destructive is undone; staff always get a note."""
        self.keep_promise()
        self.withdraw_waiting(
            "case closed: the client is current" if paid else "case closed by staff after cancellations"
        )
        if self.s.get("stages"):
            undo = self.undo_steps()
            self.actions.extend(undo)
            self.actions.extend(self.restored_notice(undo, paid))
            what = "client current again: case closed" if paid else "case closed by staff after cancellations"
            self.log(what, {"undone": [a.kind for a in undo]})
        self.s["closed"] = True

    def withdraw_waiting(self, reason: str) -> None:
        """The steps of the stages reached that may still wait for a staff decision: no longer wanted."""
        self.withdrawn = [key for record in self.s["stages"] for key in record.get("pending", [])]
        self.withdraw_reason = reason

    def keep_promise(self) -> None:
        promise = self.s.get("promise")
        if promise and not promise.get("kept"):
            self.log("promise kept", promise)

    def undo_steps(self) -> list[Action]:
        """The reversible steps reached, last first: each stage's actions and services in reverse."""
        policy = self.current_policy()
        if policy is None:
            return []
        undo: list[Action] = []
        ours = sorted({a.suspend.reason for s in policy.ladder for a in s.actions if a.kind == "suspend" and a.suspend})
        for index in reversed(range(min(len(self.s["stages"]), len(policy.ladder)))):
            stage = policy.ladder[index]
            for n in reversed(range(len(stage.actions))):
                for service in reversed(self.scoped_services(policy)):
                    action = self.undo_step(stage, n, service["id"], ours)
                    if action is not None:
                        undo.append(action)
        return undo

    def undo_step(self, stage: Stage, n: int, service_id: int, ours: list[str]) -> Action | None:
        """What undoes a stage's n-th action on a service: unsuspend, or the module command's inverse. `ours`
        are the suspension reasons of the ladder: a service suspended for another reason is staff's."""
        spec = stage.actions[n]
        purpose = f"undo:{stage.name}:{n}:service:{service_id}"
        # An undo runs only if the step it undoes really ran (an outbox check).
        forward = action_key(
            FAMILY, f"client:{self.s['client_id']}", f"{stage.name}:{n}:service:{service_id}", str(self.s["cycle"])
        )
        if spec.kind == "suspend" and spec.suspend:
            self.s.setdefault("expected_service_status", {})[str(service_id)] = "Active"
            # Only a suspension still the bridge's: suspended, for the bridge's reason. Staff's own (an abuse
            # suspension, a reason changed by hand) is left alone, with a note saying so (executor/guards.py).
            guard = {
                "action_done": forward,
                "suspended_by_us": {"id": service_id, "reason": spec.suspend.reason},
            }
            return self.action("unsuspend", purpose, {"service_id": service_id}, False, guard=guard)
        if spec.kind == "module_command" and spec.module_command and spec.module_command.inverse:
            # Nothing is undone on a service staff suspended for their own reason (mail back on for a spam
            # run): it stays as it is until staff lift their suspension, with a note naming what is left.
            guard = {
                "action_done": forward,
                "not_staffs": {"id": service_id, "reasons": ours, "function": spec.module_command.inverse},
            }
            params = {"service_id": service_id, "function": spec.module_command.inverse}
            return self.action("module_command", purpose, params, False, guard=guard, destructive=False)
        return None

    def restored_notice(self, undo: list[Action], paid: bool) -> list[Action]:
        """The client hears that the account is restored when a destructive step of the bridge was undone:
        the email comes after the undoing steps and is cancelled if none of them ran (their forward step
        never ran, or a terminated service cannot be unsuspended); the client's notes say how the case closed."""
        client = self.s["client_id"]
        note = {"msg": message("escalation.closed_note", undone=len(undo))}
        closing = [self.action("client_note", "restored-note", note, False)]
        undoes = [a.key for a in undo]
        if not paid or not undoes:
            return closing
        context = self.s.get("context") or {}
        spec = self.rules.restored_email
        related = {  # the invoices are paid and gone from the case: an invoice template has none to be about
            "product": [int(s["id"]) for s in context.get("services") or []],
            "domain": [int(d["id"]) for d in context.get("domains") or []],
        }
        emails = email_params(spec, client, {"client": client}, related)
        # After the undoing steps ended (one of them ran), and only if every service they were about is
        # active again: "fully restored" is never said of a service staff keep suspended.
        touched = sorted({int(a.params["service_id"]) for a in undo if "service_id" in a.params})
        guard = {"after_steps": undoes, "services_active": touched}
        notices = [
            self.action(
                "email", "restored" if len(emails) == 1 else f"restored:{p['related_id']}", p, False, guard=guard
            )
            for p in emails
        ] or [self.action("client_note", "restored-template", no_record_note(spec), False)]
        return [*notices, *closing]
