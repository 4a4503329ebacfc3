"""How staff read a case on their screens (show, the dossier): names as the case recorded them, instants and
dates in the staff language and the configured zone, their to-do list as their ticket words it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime

from whmcs_bridge.config.load import Config
from whmcs_bridge.families.ownership.policies import case_fields, checklist_fields
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Named, Reader


@dataclass(frozen=True)
class CaseNames:
    """Names as the case recorded them when it opened (a screen or a dossier calls no WHMCS)."""

    case: dict[str, Any]

    def client(self, client_id: int) -> Named:
        for party in (self.case["holder"], self.case["requester"]):
            if party.get("client") == client_id:
                return Named(party.get("company") or party.get("name") or f"client #{client_id}", client_id)
        return Named(f"client #{client_id}", client_id)

    def service(self, service_id: int) -> Named:
        return self._subject("service", service_id)

    def domain(self, domain_id: int) -> Named:
        return self._subject("domain", domain_id)

    def _subject(self, kind: str, record_id: int) -> Named:
        for s in self.case["subjects"]:
            if s["kind"] == kind and int(s["id"]) == record_id:
                return Named(s.get("name") or f"{kind} #{record_id}", record_id)
        return Named(f"{kind} #{record_id}", record_id)


@dataclass(frozen=True)
class StaffView:
    """The staff language, the configured zone and the configured catalogue, for one screen."""

    config: Config

    @property
    def reader(self) -> Reader:
        return Reader(load.for_config(self.config).staff_locale, None, self.config.zone)

    def when(self, instant: str | None) -> str:
        """An instant to the minute, in the configured zone ("25 Nov 2026, 22:45")."""
        if not instant:
            return "-"
        moment = datetime.fromisoformat(instant)
        return format_datetime(moment, "d MMM y, HH:mm", tzinfo=self.config.zone, locale=self.reader.locale)

    def why(self, entry: dict[str, Any]) -> str:
        """A timeline line's reason, with the instant it ends on (`until`) in the configured zone."""
        return f"{entry['why']} {self.when(entry['until'])}" if entry.get("until") else str(entry["why"])

    def day(self, instant: str | None) -> str:
        """A date in words ("9 December 2026")."""
        if not instant:
            return "-"
        return format_date(date.fromisoformat(instant[:10]), format="long", locale=self.reader.locale)

    def checklist(self, case: dict[str, Any], moved: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
        """The side effects and what staff have to do in WHMCS's admin area, as their ticket says them, less
        the moves of `moved` (refs WHMCS shows with the new holder)."""
        if not case.get("policies") or not any(s.get("hand_over") for s in case["subjects"]):
            return [], []
        catalogue = load.for_config(self.config)
        approved_by = ", ".join(a["by"] for a in case.get("approvals", []))
        fields = checklist_fields(case)
        for key in ("move_services", "move_domains", "move_clients"):
            fields[key] = [r for r in fields[key] if str(r) not in moved]
        data = {**case_fields(case), **fields, "approved_by": approved_by}
        text = catalogue.render("ownership.staff_checklist", data, self.reader, CaseNames(case)).body
        lines = [line.strip() for line in text.splitlines()]
        return [x[2:] for x in lines if x.startswith("- ")], [x for x in lines if x.startswith("[ ]")]
