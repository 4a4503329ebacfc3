"""`plan --preview` on a fresh install: the first emails each family would send, read from WHMCS, with
nothing sent, stored or moved."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import Sandbox
from tests.test_daemon import free_port, wait_until
from tests.test_escalation_e2e import WRITES, Bridge, configure

NOW = "2026-11-23T10:00:00"


def test_plan_preview_on_a_fresh_install_lists_the_first_emails(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW)
    bridge = Bridge(configure(tmp_path, sandbox), sandbox)
    before = len(sandbox.calls())
    shown = bridge.run("plan", "--preview").stdout
    assert "preview at" in shown
    # What would be sent, as the client would read it: the seed's reseller is Dutch.
    assert "email client:1 Herinnering: 11 openstaande facturen, €\xa0944,70 te betalen" in shown, shown
    lines = json.loads(bridge.run("plan", "--preview", "--json").stdout)
    emails = [line for line in lines if line.get("kind") == "email"]
    assert {line["client_id"] for line in emails} == {1}
    calls = sandbox.calls()[before:]
    assert calls and not [c for c in calls if c["action"] in WRITES]  # read only
    assert not (tmp_path / "state.db").exists()  # nothing stored: the copy was thrown away
    ticked = bridge.run("tick", "--at", NOW + "Z").stdout  # the real first pass still finds everything
    assert "poll:" in ticked


def test_tick_dry_run_reads_whmcs_too_and_moves_nothing(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW)
    bridge = Bridge(configure(tmp_path, sandbox), sandbox)
    bridge.run("tick", "--at", NOW + "Z")  # a first real pass: cursors exist
    with_state = (tmp_path / "state.db").stat().st_mtime_ns
    before = len(sandbox.calls())
    sandbox.control("act", {"action": "AddInvoicePayment", "invoiceid": 1, "amount": 1, "gateway": "banktransfer"})
    dry = bridge.run("tick", "--dry-run", "--at", NOW + "Z").stdout
    assert dry.startswith("poll:") and "dry run at" in dry
    assert not [c for c in sandbox.calls()[before:] if c["action"] in WRITES]
    assert (tmp_path / "state.db").stat().st_mtime_ns == with_state  # not even opened for writing


def test_run_dry_run_logs_what_it_would_send_and_sends_nothing(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("reseller-overdue", at=NOW)
    port = free_port()
    config = configure(tmp_path, sandbox, extra="")
    text = config.read_text().replace("listen: 127.0.0.1:8787", f"listen: 127.0.0.1:{port}")
    config.write_text(text.replace("  every: 5m\n", "  every: 1s\n", 1))
    before = len(sandbox.calls())
    proc = subprocess.Popen(
        [sys.executable, "-m", "whmcs_bridge", "--config", str(config), "-v", "run", "--dry-run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_until(lambda: any("dry run: would email client:1 Herinnering" in line for line in lines), seconds=60)
        first = activity_reads(sandbox, before)
        wait_until(lambda: activity_reads(sandbox, before) >= first + 2, seconds=60)  # two more polls
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not [c for c in sandbox.calls()[before:] if c["action"] in WRITES]
    # Said once, not at every poll; and the later polls read only what is new (one sweep of all open invoices;
    # the reads of one case's account, GetInvoices with a userid, are not sweeps).
    assert sum("dry run: would email client:1 Herinnering" in line for line in lines) == 1, "".join(lines)
    sweeps = [
        c
        for c in sandbox.calls()[before:]
        if c["action"] == "GetInvoices" and c["params"].get("status") == "Unpaid" and "userid" not in c["params"]
    ]
    assert sweeps, "the open invoices were never swept"
    assert len({c["params"].get("limitstart") for c in sweeps}) == len(sweeps), "the open invoices were swept again"


def activity_reads(sandbox: Sandbox, since: int) -> int:
    return sum(1 for c in sandbox.calls()[since:] if c["action"] == "GetActivityLog")
