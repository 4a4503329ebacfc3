"""What the registry knows of a family: its name (also its `Config` field) and how to build its rules."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whmcs_bridge.model import Family

if TYPE_CHECKING:  # the configuration imports each family's section: only the type is needed here
    from whmcs_bridge.config.load import Config

# The modules of a family folder that may do I/O or write pages (a dossier's page is an export's
# rendering, not a rule's text); every other module of the folder is pure and plans its text as messages.
SHELL = frozenset(
    {
        "cli",
        "cli_dossier",
        "cli_output",
        "demo",
        "staff",
        "staff_view",
        "evidence_store",
        "dossier",
        "dossier_page",
        "resync",
        "integrity",
        "tables_check",
        "freeze",
        "live_links",
        "whmcs_reads",
    }
)


@dataclass(frozen=True)
class FamilySpec:
    name: str
    build: Callable[[Config], Family]
    # The packages the shell finds by name: f"{package}.cli" (`group`) and f"{package}.demo".
    package: str
    # What the family's resync re-reads from WHMCS when it is enabled later or its rules change, as its
    # log line counts it ("open overdue invoice(s)"); None when it has nothing to re-read. The reader is
    # `read` in f"{package}.resync" (a shell module: it reads WHMCS and the store; see whmcs_bridge/resync.py).
    resync: str | None = None
    # The prefix of the keys whose state each decision seals in the audit chain (store/seals.py), the rest of
    # the key being the case id the seal rows carry (subject f"{name}:{id}"); None: the family seals nothing.
    sealed: str | None = None

    def seal_of(self, key: str) -> tuple[str, str] | None:
        """The case id and subject a state's seal rows carry, or None when the state is not sealed."""
        if self.sealed is None or not key.startswith(self.sealed):
            return None
        case_id = key.removeprefix(self.sealed)
        return case_id, f"{self.name}:{case_id}"

    def enabled(self, config: Config) -> bool:
        return bool(getattr(config, self.name).enabled)

    def approval_refusal(self, db: Any, entry: Any) -> str | None:
        """Why the family refuses staff's approval of one of its held or parked actions now (`approval_refused`
        in f"{package}.staff", a shell module, if it has one: an ownership step waits while a reply in its case
        is not classified), or None."""
        check = getattr(importlib.import_module(f"{self.package}.staff"), "approval_refused", None)
        return check(db, entry) if check else None

    def state_refusal(self, db: Any, key: str, state: Any) -> str | None:
        """Why the family's rules may not decide on one of its states now (`state_refused` in f"{package}.staff",
        if it has one: an ownership case whose policy is not the one the audit chain recorded), or None."""
        check = getattr(importlib.import_module(f"{self.package}.staff"), "state_refused", None)
        return check(db, key, state) if check else None

    def to_recheck(self, db: Any) -> list[str]:
        """What staff must re-check against WHMCS after a restore behind its anchors (`to_recheck_after_rollback`
        in f"{package}.staff", if it has one: the ownership cases still open), each as one phrase."""
        check = getattr(importlib.import_module(f"{self.package}.staff"), "to_recheck_after_rollback", None)
        return list(check(db)) if check else []

    def resync_reader(self) -> Callable[[Any], Any]:
        """The family's `read(source) -> facts` (intake/reread.py's Source and Facts)."""
        if self.resync is None:
            raise LookupError(f"{self.name} has nothing to resync")
        reader: Callable[[Any], Any] = importlib.import_module(f"{self.package}.resync").read
        return reader
