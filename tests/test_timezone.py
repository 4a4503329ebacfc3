"""`timezone:`: destructive hours, business days, deadlines and notice dates are the configured zone's;
instants stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_cli import ROOT, run, write_config
from whmcs_bridge.config.load import load_config
from whmcs_bridge.families.escalation.rules import Case


def example(tmp_path: Path, zone: str | None) -> Path:
    text = (ROOT / "config.example.yaml").read_text()
    text = text.replace("timezone: Europe/Paris", f"timezone: {zone}" if zone else "")
    path = write_config(tmp_path)  # for its .env
    path.write_text(text)
    return path


def case(tmp_path: Path, zone: str, now: datetime) -> Case:
    config = load_config(example(tmp_path, zone))
    assert config.escalation.guards.destructive_hours == "09:00-17:00"
    return Case({}, now, config.escalation, None, config.zone)


def test_destructive_hours_are_the_configured_zones(tmp_path: Path):
    monday_8am_new_york = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert case(tmp_path, "UTC", monday_8am_new_york).window(monday_8am_new_york) == monday_8am_new_york
    found = case(tmp_path, "America/New_York", monday_8am_new_york).window(monday_8am_new_york)
    assert found == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 in New York, kept in UTC
    assert found.tzinfo == UTC
    friday_5pm_paris = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # 17:30 in Paris: the window has closed
    assert case(tmp_path, "Europe/Paris", friday_5pm_paris).window(friday_5pm_paris) == datetime(
        2026, 11, 30, 8, 0, tzinfo=UTC
    )


def test_today_and_deadlines_are_the_configured_zones(tmp_path: Path):
    late_sunday_in_new_york = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert case(tmp_path, "America/New_York", late_sunday_in_new_york).today.isoformat() == "2026-11-22"
    assert case(tmp_path, "Asia/Tokyo", late_sunday_in_new_york).today.isoformat() == "2026-11-23"


def test_check_shows_the_zone_and_refuses_an_unknown_one(tmp_path: Path):
    code, out, _ = run("--config", str(example(tmp_path, "America/New_York")), "check")
    assert code == 0 and "timezone:   America/New_York" in out
    code, out, _ = run("--config", str(example(tmp_path, None)), "check")
    assert code == 0 and "(the machine's; set `timezone:` to choose)" in out
    config = example(tmp_path, "Mars/Olympus_Mons")
    line = 1 + config.read_text().splitlines().index("timezone: Mars/Olympus_Mons")
    code, _, err = run("--config", str(config), "check")
    assert code == 2
    assert f"bridge.yaml:{line}: timezone: expected an IANA time zone name" in err


@pytest.mark.parametrize(("written", "meant"), [("europe/paris", "Europe/Paris"), ("AMERICA/NEW_YORK", "America/New_York"), ("utc", "UTC")])
def test_a_wrongly_cased_zone_gets_a_did_you_mean(tmp_path: Path, written: str, meant: str):
    code, _, err = run("--config", str(example(tmp_path, written)), "check")
    assert code == 2 and f"(did you mean '{meant}'?), found '{written}'" in err
