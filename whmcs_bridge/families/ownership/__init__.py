"""Ownership-change documentation: a procedure and an evidence dossier when a company claims a subject."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.families.ownership.policies import FAMILY as NAME
from whmcs_bridge.families.ownership.rules import Ownership
from whmcs_bridge.families.spec import FamilySpec

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config


def build(config: Config) -> Ownership:
    return Ownership(
        config.ownership,
        department_id=config.safety.staff_department_id,
        staff_email=config.safety.staff_email,
        links=bool(config.receiver.public_url),
        zone=config.zone_name,
    )


FAMILY = FamilySpec(NAME, build, __name__, resync="open ticket(s) asking for ownership", sealed="case:")
