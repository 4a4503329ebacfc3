"""The guards and waits an action's row names that the bridge answers from its own store (no WHMCS read):
a step that undoes another only if that one ran, a step after others once they ended, a ladder still running,
an approval still awaited, a grant still active, a case still in the status its writes belong to, a delegate's
notice only once the full copy it stands in for ended unsent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.clock import utcnow
from whmcs_bridge.executor.guards import STORE_GUARDS
from whmcs_bridge.families.ownership import integrity
from whmcs_bridge.families.ownership.execution import writes_wait
from whmcs_bridge.store import inbox, outbox, poll, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry

FINISHED = ("done", "cancelled", "rejected")
# How soon a step waiting on the bridge's own store (a held ladder, steps it follows) looks again.
RECHECK = timedelta(minutes=15)
# How soon a write waiting for the rules to decide an answer to its case (in the inbox) looks again: the next pass.
ANSWER_RECHECK = timedelta(seconds=1)
# How soon a write waiting for staff to classify a party's message to its case looks again.
CLASSIFY_RECHECK = timedelta(minutes=1)


class StoreGuards:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock  # the instant of the pass: a state's `expires` is compared with it

    def first_cancel(self, row: OutboxEntry) -> str | None:
        """Why the action's guards answered from the bridge's own store cancel it now (no WHMCS read), or None."""
        for name, value in row.guard.items():
            reason = self.cancels(name, value) if name in STORE_GUARDS else None
            if reason:
                return f"guard {name}: {reason}"
        return None

    def edited(self, row: OutboxEntry) -> str | None:
        """Why an ownership case's step may not run: the case's state disagrees with the keyed audit chain
        (edited in the database outside the bridge), or None."""
        if not (row.subject or "").startswith(f"{integrity.FAMILY}:"):
            return None
        case_id = str(row.subject).split(":", 1)[1]
        return integrity.step_refusal(self.db, case_id, row.key)

    def waits(self, row: OutboxEntry, now: datetime) -> tuple[datetime | None, str]:
        """Until when the bridge's own store makes a step wait, and why; (None, "") when it does not."""
        running = row.guard.get("ladder_running")
        if running:
            case = states.get(self.db, str(running["family"]), str(running["key"])) or {}
            if case.get("hold") and not case.get("stopped") and case.get("cycle") == running.get("cycle"):
                return now + RECHECK, f"staff to resume the held ladder ({case['hold'].get('reason')})"
        held, why = self.quiet(row, now)
        if held is not None:
            return held, why
        case_open = row.guard.get("state_in")
        if case_open and case_open.get("pending"):
            pending = case_open["pending"]
            if inbox.pending_about(self.db, str(pending["type"]), str(pending["field"]), str(pending["value"])):
                # An answer given while the executor works (the holder's link) is decided before the next write.
                return now + ANSWER_RECHECK, f"the rules to decide an answer to {case_open['key'].replace(':', ' ', 1)}"
        # A notice waits for the full copy it stands in for to end (sent: no notice; cancelled: the notice may go).
        stead = row.guard.get("instead_of")
        follows = [*(row.guard.get("after_steps") or []), *([stead["action"]] if stead else [])]
        if follows:
            entries = [e for e in (outbox.by_key(self.db, str(k)) for k in follows) if e is not None]
            waiting = [e for e in entries if e.status not in FINISHED]
            if waiting:
                dates = [datetime.fromisoformat(e.not_before) for e in waiting if e.not_before]
                until = max(now + RECHECK, min(dates)) if dates else now + RECHECK
                return until, f"the steps it follows ({', '.join(e.key for e in waiting)}) to end"
        return None, ""

    def quiet(self, row: OutboxEntry, now: datetime) -> tuple[datetime | None, str]:
        """`quiet`: an ownership case's write waits while a party's message to the case is being read from WHMCS,
        or until a poll read WHMCS's tickets through after the approval (looked at again on the next pass), or waits
        for staff to classify a message (execution.writes_wait); asked before
        the claim and again once claimed, just before the call: the pass that plans the read never sends the write."""
        spec = row.guard.get("quiet")
        if not spec:
            return None, ""
        case = states.get(self.db, str(spec["family"]), str(spec["key"])) or {}
        if case.get("status") != "executing":  # disputed, cancelled...: `state_in` cancels it, nothing to wait for
            return None, ""
        why, reading = writes_wait(case, poll.cursor(self.db, poll.LAST_SUCCESS))
        if not why:
            return None, ""
        return now + (ANSWER_RECHECK if reading else CLASSIFY_RECHECK), why

    def cancels(self, name: str, value: Any) -> str | None:
        """Why a guard answered from the bridge's own store cancels the action now, or None."""
        check = {
            "action_done": self._undone_step_ran,
            "after_steps": self._followed_steps_ran,
            "ladder_running": self._ladder_running,
            "awaiting_approval": self._still_awaiting,
            "state_active": self._state_active,
            "state_in": self._state_in,
            "instead_of": self._instead_of,
        }.get(name)
        return check(value) if check else None

    def _undone_step_ran(self, value: Any) -> str | None:
        """An undo runs only if the step it undoes really ran (one of them, for a list)."""
        keys = [str(k) for k in value] if isinstance(value, list) else [str(value)]
        ran = [entry for entry in (outbox.by_key(self.db, k) for k in keys) if entry and entry.status == "done"]
        return None if ran else f"the step it would undo ({', '.join(keys)}) did not run"

    def _followed_steps_ran(self, value: Any) -> str | None:
        """Every step it follows ended (waits): it goes on if one of them ran."""
        done = [e for e in (outbox.by_key(self.db, str(k)) for k in value) if e and e.status == "done"]
        return None if done else "none of the steps it follows ran"

    def _ladder_running(self, value: Any) -> str | None:
        case = states.get(self.db, str(value["family"]), str(value["key"])) or {}
        if case.get("stopped"):
            return f"staff closed the ladder ({case['stopped'].get('reason')})"
        if case.get("cycle") != value.get("cycle"):
            return "the case it belongs to has closed"
        return None

    def _still_awaiting(self, value: Any) -> str | None:
        if not outbox.waiting_for_approval(self.db, list(value)):
            return "staff decided meanwhile: nothing waits for approval any more"
        return None

    def _state_active(self, value: Any) -> str | None:
        """[family, key, ...]: e.g. a delegate's copy goes out only while a grant that covers it is active (any of
        the keys: two grants of one delegate may cover one email)."""
        family, keys = str(value[0]), [str(k) for k in value[1:]]
        found = {key: self._status(states.get(self.db, family, key) or {}) for key in keys}
        if "active" in found.values():
            return None
        return ", ".join(f"{key.replace(':', ' ', 1)} is {status}" for key, status in found.items())

    def _status(self, state: dict[str, Any]) -> str:
        """A state's status now: an active one whose `expires` has passed (a grant's end, its timer not decided yet:
        it may wait behind a burst of events) is expired (twenty-third break round, delegation HIGH 1)."""
        status = str(state.get("status") or "gone")
        ends = state.get("expires")
        if status == "active" and ends and datetime.fromisoformat(str(ends)) <= self.clock():
            return f"expired (its end, {ends}, has passed)"
        return status

    def _instead_of(self, value: Any) -> str | None:
        """{family, action, grants}: a delegate's notice stands in for the full copy `action` (delegation/copies.py
        instead_of), and waits for it to end (`waits`): not sent once that copy was, nor while one of `grants` (those
        allowing the copy) is active (the copy was refused for what refuses the notice too)."""
        sent = outbox.by_key(self.db, str(value["action"]))
        if sent and sent.status == "done":
            return "the full copy it stands in for was sent"
        family = str(value["family"])
        active = [str(k) for k in value.get("grants") or [] if (states.get(self.db, family, str(k)) or {}).get("status") == "active"]
        return f"{active[0].replace(':', ' ', 1)} is active: the full copy goes under it" if active else None

    def _state_in(self, value: Any) -> str | None:
        """{family, key, in}: e.g. an ownership case's WHMCS writes run only while it executes (an objection,
        a dispute or a cancel recorded since stops the ones not sent yet)."""
        key = str(value["key"])
        status = (states.get(self.db, str(value["family"]), key) or {}).get("status") or "gone"
        return None if status in value["in"] else f"{key.replace(':', ' ', 1)} is {status}"
