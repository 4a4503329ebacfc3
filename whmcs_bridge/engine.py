"""The engine: inbox events (and timer ticks) in order -> each family's pure decide -> new state and
planned actions written in one transaction (the transactional outbox). A failing event is parked."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Action, Decision, Event, Family
from whmcs_bridge.store import audit, holds
from whmcs_bridge.store.db import Database

log = logging.getLogger("whmcs_bridge.engine")
TICK = "Tick"


@dataclass
class EngineReport:
    events: int = 0
    parked: int = 0
    timers: int = 0
    planned: list[Action] = field(default_factory=list)
    # When each planned action was decided (a projection by plan(until=...) spans several instants).
    when: list[datetime] = field(default_factory=list)


class _Rollback(Exception):
    pass



class Engine:
    def __init__(self, db: Database, families: Sequence[Family]) -> None:
        self.db = db
        self.families = {family.name: family for family in families}

    # --- timers -------------------------------------------------------------------------------

    def schedule_timers(self, now: datetime) -> int:
        """Put a Tick in the inbox for every state whose deadline has passed. Idempotent: the tick's
        id names the deadline, so a tick already queued (or parked) is not queued again."""
        count = 0
        with self.db.atomic() as conn:
            due = conn.execute(
                "SELECT family, key, due_at, version FROM family_state WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at",
                (iso(now),),
            ).fetchall()
            for row in due:
                event_id = f"tick:{row['family']}:{row['key']}:{row['due_at']}:v{row['version']}"
                body = json.dumps(
                    {"type": TICK, "data": {"family": row["family"], "key": row["key"], "due_at": row["due_at"]}}
                )
                cursor = conn.execute(
                    "INSERT INTO inbox (event_id, type, source, occurred_at, received_at, body) VALUES (?, ?, 'timer', ?, ?, ?)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (event_id, TICK, row["due_at"], iso(now), body),
                )
                count += cursor.rowcount
        return count

    # --- events -------------------------------------------------------------------------------

    def run_once(self, now: datetime, *, limit: int = 500) -> EngineReport:
        """Queue due timers, then decide on up to `limit` pending events, oldest first."""
        report = EngineReport(timers=self.schedule_timers(now))
        rows = self.db.conn.execute(
            "SELECT id FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        for row in rows:
            planned = self.process(row["id"], now)
            report.events += 1
            if planned is None:
                report.parked += 1
            else:
                report.planned.extend(planned)
                report.when.extend([now] * len(planned))
        return report

    def plan(self, now: datetime, *, until: datetime | None = None, limit: int = 500) -> EngineReport:
        """What the engine would decide at `now`, and then at every deadline up to `until` if nothing
        else happened (nobody pays, nobody intervenes). Changes nothing: everything is rolled back."""
        report = EngineReport()
        try:
            with self.db.atomic():
                report = self.run_once(now, limit=limit)
                moment = now
                for _ in range(1000):  # bounded: a projection ends even if a rule keeps rescheduling
                    if until is None:
                        break
                    row = self.db.conn.execute(
                        "SELECT MIN(due_at) FROM family_state WHERE due_at IS NOT NULL AND due_at <= ?", (iso(until),)
                    ).fetchone()
                    if row[0] is None:
                        break
                    moment = max(moment, datetime.fromisoformat(row[0]))
                    step = self.run_once(moment, limit=limit)
                    if not (step.events or step.planned):
                        break
                    report.events += step.events
                    report.timers += step.timers
                    report.parked += step.parked
                    report.planned.extend(step.planned)
                    report.when.extend(step.when)
                raise _Rollback
        except _Rollback:
            pass
        return report

    def process(self, inbox_id: int, now: datetime) -> list[Action] | None:
        """Decide on one event; return the actions newly planned, or None when the event was parked."""
        row = self.db.conn.execute("SELECT * FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        event = to_event(row)
        try:
            with self.db.atomic() as conn:
                planned: list[Action] = []
                for family, keys in self.grouped(self.route(event)):
                    for key, decision in self.decisions(family, keys, event, now):
                        self.save(family.name, key, decision, now)
                        planned.extend(self.enqueue(decision.actions, event, now))
                conn.execute(
                    "UPDATE inbox SET status = 'done', processed_at = ?, error = NULL WHERE id = ?",
                    (iso(now), inbox_id),
                )
            return planned
        except Exception as exc:  # a rule failed on this event: park it with its error, go on with the others
            reason = f"{type(exc).__name__}: {exc}"
            log.error("event %s (%s) parked: %s", event.id, event.type, reason)
            with self.db.atomic() as conn:
                conn.execute(
                    "UPDATE inbox SET status = 'parked', processed_at = ?, error = ? WHERE id = ?",
                    (iso(now), reason, inbox_id),
                )
                audit.append(
                    self.db,
                    "engine.event_parked",
                    subject=f"event:{event.id}",
                    detail={"type": event.type, "error": reason},
                    at=iso(now),
                )
            return None

    @staticmethod
    def grouped(routed: list[tuple[Family, str]]) -> list[tuple[Family, list[str]]]:
        out: dict[str, tuple[Family, list[str]]] = {}
        for family, key in routed:
            out.setdefault(family.name, (family, []))[1].append(key)
        return list(out.values())

    def decisions(self, family: Family, keys: list[str], event: Event, now: datetime) -> list[tuple[str, Decision]]:
        """One call with every routed state in view; the family may also create new keys."""
        states = {key: self.load(family.name, key) for key in keys}
        return list(family.decide(states, event, now).items())

    def route(self, event: Event) -> list[tuple[Family, str]]:
        if event.type == TICK and event.source == "timer":
            family = self.families.get(str(event.data.get("family")))
            if family is None:
                return []
            # A tick reaches its own key, and whatever that family says the tick refers to.
            return [(family, str(event.data["key"]))] + [
                (family, key) for key in self.keys_for_refs(family, event) if key != str(event.data["key"])
            ]
        routed: list[tuple[Family, str]] = []
        for family in self.families.values():
            keys = list(dict.fromkeys(family.route(event)))
            keys += [key for key in self.keys_for_refs(family, event) if key not in keys]
            routed.extend((family, key) for key in keys)
        return routed

    def keys_for_refs(self, family: Family, event: Event) -> list[str]:
        refs = list(family.refs(event))
        if not refs:
            return []
        marks = ",".join("?" * len(refs))
        rows = self.db.conn.execute(
            f"SELECT DISTINCT key FROM family_ref WHERE family = ? AND ref IN ({marks}) ORDER BY key",
            (family.name, *refs),
        )
        return [row["key"] for row in rows]

    def load(self, family: str, key: str) -> dict[str, Any]:
        row = self.db.conn.execute(
            "SELECT state FROM family_state WHERE family = ? AND key = ?", (family, key)
        ).fetchone()
        return json.loads(row["state"]) if row else {}

    def save(self, family: str, key: str, decision: Decision, now: datetime) -> None:
        if decision.refs is not None or decision.state is None:
            self.db.conn.execute("DELETE FROM family_ref WHERE family = ? AND key = ?", (family, key))
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO family_ref (family, ref, key) VALUES (?, ?, ?)",
                [(family, ref, key) for ref in (decision.refs or [])] if decision.state is not None else [],
            )
        if decision.holds is not None or decision.state is None:
            holds.replace(self.db, family, key, (decision.holds or []) if decision.state is not None else [])
        if decision.state is None:
            self.db.conn.execute("DELETE FROM family_state WHERE family = ? AND key = ?", (family, key))
            return
        self.db.conn.execute(
            "INSERT INTO family_state (family, key, state, due_at, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (family, key) DO UPDATE SET state = excluded.state, due_at = excluded.due_at,"
            " version = family_state.version + 1, updated_at = excluded.updated_at",
            (
                family,
                key,
                json.dumps(decision.state, sort_keys=True, default=str),
                iso(decision.due_at) if decision.due_at else None,
                iso(now),
            ),
        )

    def enqueue(self, actions: Sequence[Action], event: Event, now: datetime) -> list[Action]:
        """Insert actions into the outbox; an action key already there is not planned twice."""
        planned = []
        for action in actions:
            try:
                cursor = self.db.conn.execute(
                    "INSERT INTO outbox (action_key, family, kind, client_id, subject, params, destructive, guard,"
                    " needs_approval, status, not_before, event_id, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (action_key) DO NOTHING",
                    (
                        action.key,
                        action.family,
                        action.kind,
                        action.client_id,
                        action.subject,
                        json.dumps(action.params, sort_keys=True, default=str),
                        int(action.is_destructive),
                        json.dumps(action.guard, sort_keys=True, default=str),
                        int(action.needs_approval),
                        "awaiting_approval" if action.needs_approval else "planned",
                        iso(action.not_before) if action.not_before else None,
                        event.id,
                        iso(now),
                        iso(now),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"action {action.key} cannot be planned: {exc}") from None
            if cursor.rowcount:
                planned.append(action)
                audit.append(
                    self.db,
                    "engine.action_planned",
                    actor=f"rules:{action.family}",
                    client_id=action.client_id,
                    subject=action.subject,
                    detail={
                        "key": action.key,
                        "kind": action.kind,
                        "params": action.params,
                        "event": event.id,
                        "needs_approval": action.needs_approval,
                    },
                    at=iso(now),
                )
        return planned


def to_event(row: sqlite3.Row) -> Event:
    body = json.loads(row["body"])
    data = body.get("data") if isinstance(body, dict) else None
    return Event(
        id=row["event_id"],
        type=row["type"],
        data=data if isinstance(data, dict) else {},
        source=row["source"],
        occurred_at=row["occurred_at"],
    )
