"""Enabling a family later finds what already happened: the bridge records each family's configuration
fingerprint and, when it changes, re-reads from WHMCS the facts that family needs (escalation: the open
overdue invoices; delegation: what its grants track; ownership: open tickets asking for ownership);
`whmcs-bridge resync` does it on demand. Facts read again reach only the family they were read for."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.conftest import BridgeWorld, Sandbox
from tests.test_daemon import Running, free_port, wait_until
from tests.test_escalation_e2e import Bridge, configure
from tests.test_ownership_e2e import ownership_section
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
    assert refused.exit_code == 1 and "delegation is not enabled" in refused.stderr
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


def switch(world: BridgeWorld, family: str, on: bool) -> None:
    """Turn a family's section on or off in the world's configuration file."""
    text = world.config.read_text()
    head = text.index(f"\n{family}:\n")
    start = text.index("  enabled: ", head)
    end = text.index("\n", start)
    world.config.write_text(text[:start] + f"  enabled: {'true' if on else 'false'}" + text[end:])


def test_enabling_delegation_again_finds_the_order_its_administrative_contact_placed(sandbox: Sandbox, tmp_path: Path):
    """The agency is administrative contact of client 12; while delegation is off, the agency's user orders
    hosting in client 12's name. Enabled again, delegation finds the order and makes the agency technical
    contact of what it ordered, once; the order of the scenario, placed before the grant, gives nothing."""
    sandbox.load("agency")
    world = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    try:
        world.run("tick")
        world.run(
            "delegations", "grant", "--owner", "12", "--delegate", "10", "--whole-client", "--role", "administrative",
            "--by", "alice", "--basis", "signed mandate",
        )
        world.settle()
        switch(world, "delegation", False)
        world.settle()
        agency_user = next(u for u in sandbox.post("GetUsers").json()["users"] if u["email"] == "lena@pixelwerk.agency")
        made = sandbox.control("checkout", {"client_id": 12, "user_id": agency_user["id"], "pid": 3, "domain": "martin-avocats.fr"})
        order_id = max(o["id"] for o in sandbox.rows("orders", client_id=12))
        world.settle()  # the order is polled and consumed while delegation is off
        assert made is not None and f"o{order_id}-10" not in world.run("delegations", "list").output

        switch(world, "delegation", True)
        ticked = world.run("tick").output
        assert "resync delegation: " in ticked and "re-read from WHMCS" in ticked
        world.settle()
        listed = world.run("delegations", "list", "--delegate", "10").output
        assert (
            f"o{order_id}-10 active: Pixelwerk Agency (client #10) is technical contact of Cabinet Martin Avocats "
            "(client #12) for martin-avocats.fr"
        ) in listed
        assert "o1-10" not in listed  # the scenario's order predates the administrative grant

        assert "resync" not in world.run("tick").output  # the fingerprint is recorded
        world.run("resync", "--family", "delegation")
        world.settle()
        grants = json.loads(world.run("delegations", "list", "--json").stdout)
        assert sorted(g["id"] for g in grants if g["id"].startswith("o")) == [f"o{order_id}-10"]
        notes = [n for n in sandbox.rows("client_notes", client_id=12) if f"Delegation o{order_id}-10:" in n["note"]]
        assert len(notes) == 1
    finally:
        world.close()


def test_enabling_ownership_later_drafts_the_open_ticket_asking_for_ownership(sandbox: Sandbox, tmp_path: Path):
    """The vendor-dispute company's ticket asks for full control while ownership is off; enabled later,
    ownership drafts the case from it, once; delegation (on all along) does not see the ticket again."""
    sandbox.load("vendor-dispute")
    world = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n" + ownership_section())
    try:
        switch(world, "ownership", False)
        world.run("tick")
        sandbox.control(
            "act",
            {
                "action": "OpenTicket",
                "clientid": 21,
                "deptid": 1,
                "subject": "Hosting of majumakmur.co.id",
                "message": "We are the owner of majumakmur.co.id and want the hosting moved to our account.",
            },
        )
        world.settle()
        assert json.loads(world.run("ownership", "list", "--json").stdout) == []
        delegation_notes = len(sandbox.rows("ticket_notes"))

        switch(world, "ownership", True)
        ticked = world.run("tick").output
        assert "resync ownership: 2 open ticket(s) asking for ownership re-read from WHMCS" in ticked
        world.settle(4)
        drafts = json.loads(world.run("ownership", "list", "--json").stdout)
        assert sorted((d["status"], d["holder"]["client"], d["requester"]["client"]) for d in drafts) == [
            ("draft", 20, 21),
            ("draft", 20, 21),
        ]
        notes = [n for n in sandbox.rows("ticket_notes") if "Draft ownership case" in n["message"]]
        assert len(notes) == 2
        assert len(sandbox.rows("ticket_notes")) == delegation_notes + 2  # no second delegation note

        again = world.run("resync", "--family", "ownership").output  # what it drafted is not read again
        assert "ownership: 0 open ticket(s) asking for ownership re-read from WHMCS" in again
        world.settle(4)
        assert len(json.loads(world.run("ownership", "list", "--json").stdout)) == 2
    finally:
        world.close()


def test_the_daemon_enabled_with_escalation_later_finds_the_overdue_reseller(sandbox: Sandbox, tmp_path: Path):
    """The issue's story with the real daemon: `run` with escalation off consumes the overdue facts; run
    again with it on, it re-reads them at its first poll and puts the reseller on the ladder."""
    sandbox.load("reseller-overdue")
    config = escalation_off(tmp_path, sandbox)
    port = free_port()
    config.write_text(config.read_text().replace("listen: 127.0.0.1:8787", f"listen: 127.0.0.1:{port}"))
    bridge = Bridge(config, sandbox)
    daemon = Running(config, port)
    try:
        wait_until(lambda: requests.get(daemon.url + "/healthz", timeout=5).json()["poll"]["last_success"] is not None)
    finally:
        assert daemon.stop()[0] == 0
    assert ladder(bridge) == []

    config.write_text(config.read_text().replace("  enabled: false\n  # Not business days", "  enabled: true\n  # Not business days"))
    daemon = Running(config, port)
    try:
        wait_until(lambda: [r["client_id"] for r in ladder(bridge)] == [1], seconds=60)
    finally:
        code, err = daemon.stop()
    assert code == 0 and "resync escalation: 11 open overdue invoice(s) re-read from WHMCS" in err
