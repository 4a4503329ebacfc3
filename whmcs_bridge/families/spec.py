"""What the registry knows of a family: its name (also its `Config` field) and how to build its rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from whmcs_bridge.model import Family

if TYPE_CHECKING:  # the configuration imports each family's section: only the type is needed here
    from whmcs_bridge.config.load import Config

# The modules of a family folder that may do I/O; every other module of the folder is pure.
SHELL = frozenset({"cli", "demo", "staff", "dossier"})


@dataclass(frozen=True)
class FamilySpec:
    name: str
    build: Callable[[Config], Family]
    # The packages the shell finds by name: f"{package}.cli" (`group`) and f"{package}.demo".
    package: str

    def enabled(self, config: Config) -> bool:
        return bool(getattr(config, self.name).enabled)
