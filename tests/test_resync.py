"""Enabling a family later finds what already happened: the bridge records each family's configuration
fingerprint and, when it changes, re-reads from WHMCS the facts that family needs (escalation: the open
overdue invoices); `whmcs-bridge resync` does it on demand."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Sandbox
from tests.test_escalation_e2e import Bridge, configure
from whmcs_bridge.cli import app as cli

NOW = "2026-11-23T10:00:00Z"


def escalation_off(tmp_path: Path, sandbox: Sandbox) -> Path:
    config = configure(tmp_path, sandbox)
    text = config.read_text().replace("  enabled: true\n  # Not business days", "  enabled: false\n  # Not business days")
    config.write_text(text)
    return config


def ladder(bridge: Bridge) -> list[dict]:
    return json.loads(bridge.run("escalations", "list", "--json").stdout)


def test_enabling_escalation_after_a_first_run_finds_the_overdue_reseller(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW.replace("Z", ""))
    config = escalation_off(tmp_path, sandbox)
    bridge = Bridge(config, sandbox)
    bridge.run("tick", "--at", NOW)  # escalation off: the overdue facts are read and consumed
    bridge.run("tick", "--at", NOW)
    assert ladder(bridge) == []

    config.write_text(config.read_text().replace("  enabled: false\n  # Not business days", "  enabled: true\n  # Not business days"))
    ticked = bridge.run("tick", "--at", NOW).output
    assert "resync escalation: 11 open overdue invoice(s) re-read from WHMCS" in ticked
    bridge.run("tick", "--at", NOW)
    rows = ladder(bridge)
    assert [(r["client_id"], r["invoices"]) for r in rows] == [(1, 11)]
    assert rows[0]["days_overdue"] > 100

    again = bridge.run("tick", "--at", NOW).output  # the fingerprint is recorded: no second resync
    assert "resync" not in again


def test_resync_on_demand_and_for_a_disabled_family(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW.replace("Z", ""))
    bridge = Bridge(configure(tmp_path, sandbox), sandbox)
    bridge.run("tick", "--at", NOW)
    out = bridge.run("resync", "--family", "escalation").output
    assert "escalation: 11 open overdue invoice(s) re-read from WHMCS" in out
    refused = bridge.runner.invoke(cli.main, ["--config", str(bridge.config), "resync", "--family", "delegation"])
    assert refused.exit_code == 1 and "delegation has nothing to resync" in refused.stderr
    off = escalation_off(tmp_path, sandbox)
    refused = bridge.runner.invoke(cli.main, ["--config", str(off), "resync", "--family", "escalation"])
    assert refused.exit_code == 1 and "escalation is not enabled" in refused.stderr


def test_turned_off_and_on_again_with_the_same_rules_resyncs(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW.replace("Z", ""))
    config = configure(tmp_path, sandbox)
    on = config.read_text()
    bridge = Bridge(config, sandbox)
    bridge.run("tick", "--at", NOW)
    escalation_off(tmp_path, sandbox)
    assert "resync" not in bridge.run("tick", "--at", NOW).output
    config.write_text(on)
    assert "resync escalation: 11 open overdue invoice(s)" in bridge.run("tick", "--at", NOW).output
