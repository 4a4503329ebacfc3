"""The registry of rule families. Each family is one folder:

    config.py   its section of the YAML file (a frozen dataclass; `Config` has a field of the same name)
    rules.py    pure decisions (the `Family` protocol of model.py) and the helpers beside it, all pure
    staff.py    what staff read and the commands they submit (store and WHMCS reads)
    cli.py      its click group, named `group`
    demo.py     its story for `make demo`: `CONFIG` (YAML merged into the demo's config) and `play`

Everything but cli.py, demo.py, staff.py (and its staff_view.py, evidence_store.py), resync.py and dossier-like
exports named in SHELL is pure, and a test
checks it. Nothing in one family imports another family: the families talk through events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.families import delegation, escalation, ownership
from whmcs_bridge.families.spec import SHELL, FamilySpec
from whmcs_bridge.model import Family

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config

FAMILIES: tuple[FamilySpec, ...] = (escalation.FAMILY, delegation.FAMILY, ownership.FAMILY)


def enabled(config: Config) -> list[Family]:
    """The rules of every family the configuration enables, in registry order."""
    return [spec.build(config) for spec in FAMILIES if spec.enabled(config)]


__all__ = ["FAMILIES", "SHELL", "FamilySpec", "enabled"]
