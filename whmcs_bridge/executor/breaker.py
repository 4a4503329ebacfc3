"""The circuit breaker: destructive actions wait for staff when a bad rule or bad data would hit more clients in an
hour than `safety.max_destructive_per_hour` allows; staff release them with `whmcs-bridge breaker reset`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.errors import WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.executor.texts import Texts
from whmcs_bridge.metrics import Registry
from whmcs_bridge.store import audit, outbox, switches
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry
from whmcs_bridge.whmcs.api import WhmcsApi

log = logging.getLogger("whmcs_bridge.executor.breaker")


class CircuitBreaker:
    def __init__(
        self,
        db: Database,
        api: WhmcsApi,
        texts: Texts,
        metrics: Registry,
        *,
        limit: int,
        staff_department_id: int | None,
        staff_email: str | None,
    ) -> None:
        self.db, self.api, self.texts, self.metrics = db, api, texts, metrics
        self.limit = limit  # clients an hour
        self.staff_department_id, self.staff_email = staff_department_id, staff_email

    def state(self) -> dict[str, Any] | None:
        return switches.get(self.db, switches.BREAKER)

    def holds(self, now: datetime, row: OutboxEntry | None = None) -> bool:
        """True when destructive actions must wait: tripped earlier, or the clients hit by destructive steps
        in the last hour plus the clients with one due now would pass the hourly limit (a bad rule must not
        suspend half the customers; one client's many steps are one client). Steps staff released with
        `breaker reset` run, and their clients no longer count against the limit."""
        if self.state():
            return True
        released = switches.get(self.db, switches.RELEASED) or {}
        if row is not None and row.id in set(released.get("ids") or []):
            return False
        ran, due = outbox.destructive_clients(self.db, now)
        freed = set(released.get("clients") or [])
        hit, coming = ran - freed, due - ran - freed
        if len(hit) + len(coming) <= self.limit:
            return False
        self.trip(now, len(hit), len(coming))
        return True

    def trip(self, now: datetime, ran: int, due: int) -> None:
        state = {
            "tripped_at": iso(now),
            "clients_hit_last_hour": ran,
            "clients_due": due,
            "limit": self.limit,
        }
        message = (
            f"whmcs-bridge circuit breaker tripped: destructive steps hit {ran} clients in the last hour and are due "
            f"for {due} more, above the limit of {self.limit} clients an hour; destructive "
            "actions wait for `whmcs-bridge breaker reset`."
        )
        with self.db.atomic():
            switches.turn_on(self.db, switches.BREAKER, state, now)
            audit.append(self.db, "executor.breaker_tripped", actor="executor", detail=state, at=iso(now))
        log.error(message)
        self.metrics.counter("whmcs_bridge_breaker_trips_total", "Times the circuit breaker tripped.").inc()
        if self.staff_department_id and self.staff_email:
            try:
                text = self.texts.for_staff(self.api, "core.breaker_tripped", ran=ran, due=due, limit=state["limit"])
                self.api.open_ticket(
                    deptid=self.staff_department_id,
                    subject=text.subject or "",
                    message=text.body,
                    priority="High",
                    notify=False,
                    name="whmcs-bridge",
                    email=self.staff_email,
                )
            except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError) as exc:
                log.error("could not open the staff ticket about the breaker: %s", exc)


def reset_breaker(db: Database, by: str, now: datetime) -> dict[str, Any]:
    """Staff let the destructive steps held now run (recorded with who released them); steps due later count
    against the limit again. What changed: whether it was tripped, and the steps and clients released."""
    with db.atomic():
        was_on = switches.turn_off(db, switches.BREAKER)
        held = outbox.held_destructive(db, now)
        clients = sorted({row.client_id for row in held if row.client_id is not None})
        released = {"ids": [row.id for row in held], "clients": clients, "by": by, "at": iso(now)}
        if held:
            switches.turn_on(db, switches.RELEASED, released, now)
        if was_on or held:
            detail = {"was_tripped": was_on, "released": len(held), "clients": clients}
            audit.append(db, "executor.breaker_reset", actor=f"staff:{by}", detail=detail, at=iso(now))
    return {"was_tripped": was_on, "released": len(held), "clients": len(clients)}
