"""The rule families: pure `decide(state, event, now, rules)` functions and their routing.

A family names the state keys an event concerns (`route`), and for each key returns a Decision: the
new state, the actions to plan, and its next deadline (a timer). No I/O, no clock: `now` is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from whmcs_bridge.actions import Decision, Event
from whmcs_bridge.config import Config


class Family(Protocol):
    name: str
    # True when this family's state keys are WHMCS client ids whose services the poller must watch
    # (a staff suspension or termination by hand is then reported as ServiceStatusChanged).
    tracks_client_services: bool

    def route(self, event: Event) -> Sequence[str]:
        """The state keys this event concerns (e.g. the client id), or none."""
        ...

    def refs(self, event: Event) -> Sequence[str]:
        """References the event names (e.g. "invoice:12"); the engine adds the keys whose
        decisions listed them (Decision.refs)."""
        ...

    def decide(self, state: dict[str, Any], event: Event, now: datetime) -> Decision:
        """Pure: the new state and the actions for one key."""
        ...


def families_for(config: Config) -> list[Family]:
    """The enabled families."""
    from whmcs_bridge.rules.delegation import Delegation
    from whmcs_bridge.rules.escalation import Escalation
    from whmcs_bridge.rules.ownership import Ownership

    families: list[Family] = []
    if config.escalation.enabled:
        families.append(Escalation(config.escalation, staff_email=config.safety.staff_email))
    if config.delegation.enabled:
        families.append(Delegation(dataclasses.replace(config.delegation, links=bool(config.receiver.public_url))))
    if config.ownership.enabled:
        families.append(
            Ownership(
                config.ownership,
                department_id=config.safety.staff_department_id,
                staff_email=config.safety.staff_email,
                links=bool(config.receiver.public_url),
            )
        )
    return families
