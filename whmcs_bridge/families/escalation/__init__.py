"""Overdue reseller escalation: a staged, documented, reversible ladder per client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.families.escalation.rules import Escalation
from whmcs_bridge.families.escalation.steps import FAMILY as NAME
from whmcs_bridge.families.spec import FamilySpec

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config


def build(config: Config) -> Escalation:
    return Escalation(config.escalation, staff_email=config.safety.staff_email, zone=config.zone)


FAMILY = FamilySpec(NAME, build, __name__, resync="open overdue invoice(s)")
