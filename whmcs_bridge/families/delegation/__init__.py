"""Contact delegation: a webmaster or agency acts on services its end clients own, per service."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from whmcs_bridge.families.delegation.grants import FAMILY as NAME
from whmcs_bridge.families.delegation.rules import Delegation
from whmcs_bridge.families.spec import FamilySpec

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config


def build(config: Config) -> Delegation:
    return Delegation(dataclasses.replace(config.delegation, links=bool(config.receiver.public_url)))


FAMILY = FamilySpec(
    NAME, build, __name__, resync="fact(s) its grants track (clients' services and users, orders)"
)
