"""Seed 001 end to end: the sandbox's reseller-overdue WHMCS, the bridge's passes day by day (`tick --at`),
staff approvals from the CLI, a late payment and the full reversal; the sandbox's call log shows exactly
the expected WHMCS calls, in order, and nothing towards any other client."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import IDENTIFIER, SECRET, WEBHOOK_SECRET, Sandbox
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
WRITES = {
    "SendEmail",
    "AddClientNote",
    "OpenTicket",
    "ModuleCustom",
    "ModuleSuspend",
    "ModuleUnsuspend",
    "ModuleTerminate",
    "UpdateInvoice",
    "AddInvoicePayment",
    "CreateInvoice",
    "UpdateClient",
}


def configure(tmp: Path, sandbox: Sandbox, extra: str = "") -> Path:
    example = (ROOT / "config.example.yaml").read_text()
    example = example.replace("url: https://billing.example.com/", f"url: {sandbox.url}").replace(
        "path: /var/lib/whmcs-bridge/state.db", "path: state.db"
    )
    example = example.replace("escalation:\n  # The staged", "escalation:\n  # The staged").replace(
        "  enabled: false\n  # Not business days", "  enabled: true\n  # Not business days"
    )
    example = example.replace("  max_attempts: 5", "  max_attempts: 2") + extra
    (tmp / "bridge.yaml").write_text(example)
    (tmp / ".env").write_text(
        f"WHMCS_API_IDENTIFIER={IDENTIFIER}\nWHMCS_API_SECRET={SECRET}\nWHMCS_BRIDGE_WEBHOOK_SECRET={WEBHOOK_SECRET}\n"
    )
    (tmp / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    return tmp / "bridge.yaml"


class Bridge:
    def __init__(self, config: Path, sandbox: Sandbox) -> None:
        self.config = config
        self.sandbox = sandbox
        self.runner = CliRunner()
        self.seen = 0

    def run(self, *args: str) -> Any:
        result = self.runner.invoke(cli.main, ["--config", str(self.config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    def day(self, when: str, passes: int = 2) -> list[dict[str, Any]]:
        """The bridge's passes at that instant (the sandbox's clock set to it); the WHMCS writes they made."""
        self.sandbox.travel(when)
        for _ in range(passes):
            self.run("tick", "--at", when)
        calls = self.sandbox.calls()
        new = [c for c in calls[self.seen :] if c["action"] in WRITES and c.get("outcome") == "success"]
        self.seen = len(calls)
        return new

    def approve_all(self) -> int:
        listing = json.loads(self.run("approvals", "list", "--json").output)
        for row in listing:
            self.run(
                "approvals",
                "approve",
                str(row["id"]),
                "--by",
                "alice",
                "--reason",
                "impact checked with the reseller",
            )
        return len(listing)


def summary(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for call in calls:
        p = call["params"]
        target = (
            p.get("serviceid")
            or p.get("accountid")
            or p.get("id")
            or p.get("userid")
            or p.get("clientid")
            or p.get("invoiceid")
            or ""
        )
        out.append(
            (
                call["action"],
                f"{target}:{p.get('func_name') or p.get('suspendreason') or p.get('customsubject', '')[:24]}",
            )
        )
    return out


@pytest.fixture
def story(sandbox: Sandbox, tmp_path: Path) -> Bridge:
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    return Bridge(configure(tmp_path, sandbox), sandbox)


def test_seed_001_day_by_day(story: Bridge, tmp_path: Path):
    sandbox = story.sandbox
    # Day 0 (Monday): the first poll finds 11 overdue invoices; the bridge reads the client, then reminds.
    calls = story.day("2026-11-23T10:00:00Z")
    assert summary(calls) == [("SendEmail", "1:Herinnering: 11 openstaa")]
    listing = story.run("escalations", "list").output
    assert re.search(
        r"#1 SnelHost V\.O\.F\.: stage reminder, \d+ days overdue, €944\.70 due on 11 invoice\(s\), impact 196; next second-reminder on 2026-11-30",
        listing,
    ), listing

    second = story.day("2026-11-30T10:00:00Z")  # the second reminder is due this Monday
    assert summary(second) == [("SendEmail", "1:Tweede herinnering: €\xa094"), ("AddClientNote", "1:")]
    final = story.day("2026-12-09T10:00:00Z")
    assert [c["action"] for c in final] == ["SendEmail", "OpenTicket", "OpenTicket"]
    # The seed's reseller is Dutch (its WHMCS profile language): a formal notice in Dutch, the amount in
    # euros as a Dutch reader writes it, the deadline as a Dutch date.
    [final_notice] = [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert "€\xa0944,70" in final_notice["message"] and "uiterlijk 16 december 2026" in final_notice["message"]
    assert "Geachte heer/mevrouw" in final_notice["message"] and "SnelHost V.O.F." in final_notice["message"]
    assert (
        final[2]["params"]["email"] == "billing-robot@example.com"
        and "registered letter" in final[2]["params"]["subject"]
    )
    story.run("escalations", "record-letter", "1", "--tracking", "RR123456789NL", "--by", "alice")

    # Nothing on the deadline day itself ("uiterlijk 16 december"): the lock comes the day after.
    assert story.day("2026-12-16T10:00:00Z") == []
    # Panel lock: 196 downstream domains/users are above the threshold of 50 -> staff approval first,
    # asked in one ticket to staff.
    asked = story.day("2026-12-17T10:00:00Z")
    assert [(c["action"], c["params"]["email"]) for c in asked] == [("OpenTicket", "billing-robot@example.com")]
    assert story.approve_all() == 3  # the lock on both services and its email
    locked = story.day("2026-12-17T10:30:00Z", passes=1)
    assert summary(locked) == [
        ("ModuleCustom", "101:lock_reseller_panel"),
        ("ModuleCustom", "102:lock_reseller_panel"),
        ("SendEmail", "1:Toegang tot uw controlep"),
    ]

    # Sites to a neutral landing page three working days after the lock was done, again approved.
    assert story.day("2026-12-21T10:00:00Z") == []
    assert [c["action"] for c in story.day("2026-12-22T10:00:00Z")] == ["OpenTicket"]
    story.approve_all()
    sites = story.day("2026-12-22T10:30:00Z", passes=1)
    assert summary(sites) == [
        ("ModuleSuspend", "101:Administrative reasons"),
        ("ModuleSuspend", "102:Administrative reasons"),
    ]
    assert [s["status"] for s in (sandbox.rows("services", id=101) + sandbox.rows("services", id=102))] == [
        "Suspended",
        "Suspended",
    ]

    # The reseller pays everything (staff records the bank transfers in WHMCS).
    for invoice in range(1, 12):
        sandbox.control(
            "act",
            {
                "action": "AddInvoicePayment",
                "invoiceid": invoice,
                "transid": f"BANK-{invoice}",
                "gateway": "banktransfer",
            },
        )
    undo = story.day("2026-12-23T10:00:00Z", passes=3)
    assert summary(undo) == [
        ("ModuleUnsuspend", "102:"),
        ("ModuleUnsuspend", "101:"),
        ("ModuleCustom", "102:unlock_reseller_panel"),
        ("ModuleCustom", "101:unlock_reseller_panel"),
        ("SendEmail", "1:Uw diensten zijn volledi"),
        ("AddClientNote", "1:"),
    ], story.run("escalations", "show", "1").output
    # The mail-off stage came due that day (one day after the sites were done), but the payments came first:
    # the case decided on the read of the account they asked for (issue 15), found the client current and
    # closed: no mail-off stage reached, nothing for staff to approve.
    assert story.approve_all() == 0
    assert story.day("2026-12-23T11:00:00Z", passes=1) == []
    assert [s["status"] for s in (sandbox.rows("services", id=101) + sandbox.rows("services", id=102))] == [
        "Active",
        "Active",
    ]

    # Nothing ever went towards another client, and no write ran twice.
    writes = [
        c
        for c in sandbox.calls()
        if c["action"] in WRITES and c.get("outcome") == "success" and c["action"] != "AddInvoicePayment"
    ]
    targets = {
        c["params"].get("id") or c["params"].get("userid") or c["params"].get("clientid")
        for c in writes
        if c["action"] in ("SendEmail", "AddClientNote")
    }
    assert targets == {"1"}
    services = {
        c["params"].get("serviceid") or c["params"].get("accountid") for c in writes if c["action"].startswith("Module")
    }
    assert services == {"101", "102"}
    keys = [m for c in writes for m in re.findall(r"\[wb-[0-9a-f]+\]", json.dumps(c["params"]))]
    assert len(keys) == len(set(keys))

    # The dossier keeps every notice with its WHMCS id, the letter, the approvals (test_escalation_dossier.py
    # reads the rest of it).
    out = story.run("escalations", "export", "1", "--out", str(tmp_path / "dossier")).output
    assert "collections dossier of client #1 written" in out
    dossier = json.loads((tmp_path / "dossier" / "collections-dossier.json").read_text())
    # Readable for a collections agency and for staff: words and amounts with their currency, no JSON.
    page = (tmp_path / "dossier" / "collections-dossier.html").read_text()
    assert '{"' not in page and "&quot;" not in page and "€" in page
    shown = story.run("escalations", "show", "1").output
    assert "{" not in shown and "Herinnering: 11 openstaande facturen" in shown
    [letter] = [n for n in dossier["notices"] if n["channel"] == "registered letter"]
    assert letter["proof"]["tracking_number"] == "RR123456789NL"
    assert any(n["proof"].get("email_log_id") for n in dossier["notices"] if n["channel"] == "email")
    assert any(n["proof"].get("ticket_id") for n in dossier["notices"] if n["channel"] == "ticket")
    assert any(d["decision"] == "approved" and d["who"] == "alice" for d in dossier["staff_decisions"])
    assert story.run("audit", "verify").output.startswith("audit chain intact")


def test_breaker_trips_when_a_rule_would_suspend_many_clients(sandbox: Sandbox, tmp_path: Path):
    """A bad rule (every client in scope, sites off at once) must not take half the customers down."""
    sandbox.load("scale", clients=300, at="2026-11-23T10:00:00")
    bad = "\nsafety_override: true\n"  # placeholder key removed below
    config = configure(tmp_path, sandbox)
    text = config.read_text().replace(bad, "")
    text = text.replace("        product_ids: [1, 2]\n", "        product_ids: [1, 2, 3]\n")
    text = text.replace("  max_destructive_per_hour: 10", "  max_destructive_per_hour: 5")
    # one stage: suspend at once, no approval
    start = text.index("      ladder:\n")
    end = text.index("\nstaff:")  # the shared staff list and ownership stay
    text = (
        text[:start]
        + "      ladder:\n        - name: sites-off\n          after_days: 0\n          counted_from: due\n          actions:\n            - suspend: {reason: Administrative reasons}\n\n"
        + text[end:]
    )
    config.write_text(text)
    bridge = Bridge(config, sandbox)
    bridge.day("2026-11-23T10:00:00Z", passes=3)
    assert not [c for c in sandbox.calls() if c["action"] == "ModuleSuspend"]
    status = bridge.run("breaker", "status").output
    assert "TRIPPED" in status
    assert any("destructive actions on hold" in t["subject"] for t in sandbox.rows("tickets"))


def test_plan_shows_the_ladders_future_and_changes_nothing(story: Bridge, tmp_path: Path):
    story.day("2026-11-23T10:00:00Z")

    with Database(tmp_path / "state.db") as db:
        before = len(outbox.entries(db))
    lines = json.loads(story.run("plan", "--at", "2027-03-01T12:00:00Z", "--json").output)
    planned = [line for line in lines if line["what"] == "planned"]
    days = {line["when"][:10] for line in planned}
    # Each stage counted from the day the previous one was done (approved at once in a projection); the
    # lock the day after the final notice's deadline.
    assert {"2026-11-30", "2026-12-09", "2026-12-17", "2026-12-22", "2026-12-23", "2027-01-06"} <= days
    kinds = [line["kind"] for line in planned]
    assert kinds.count("suspend") == 2 and kinds.count("terminate") == 2 and kinds.count("invoice_status") == 11
    assert all(line["needs_approval"] for line in planned if line["kind"] == "terminate")
    assert {line["client_id"] for line in planned} == {1}
    with Database(tmp_path / "state.db") as db:
        assert len(outbox.entries(db)) == before
    readable = story.run("plan", "--at", "2027-03-01T12:00:00Z").output
    assert "2026-12-17 planned    module_command client:1 lock_reseller_panel (needs approval)" in readable


def test_promise_hold_resume_and_show_from_the_command_line(story: Bridge):
    story.day("2026-11-23T10:00:00Z")
    promised = story.run(
        "escalations",
        "promise",
        "1",
        "--until",
        "2026-12-20",
        "--amount",
        "944.70",
        "--note",
        "phoned Hans",
        "--by",
        "alice",
    ).output
    assert "client #1: promise recorded; next: second-reminder on 2026-12-21" in promised
    assert "promise until 2026-12-20" in story.run("escalations", "list").output
    assert story.day("2026-11-30T10:00:00Z") == []  # the promise holds the ladder
    story.run("escalations", "hold", "1", "--reason", "disputes invoice 7", "--by", "bob")
    assert "HELD: disputes invoice 7" in story.run("escalations", "list").output
    story.run("escalations", "resume", "1", "--by", "bob")
    shown = story.run("escalations", "show", "1").output
    assert "promise to pay" in shown and "ladder held" in shown and "ladder resumed" in shown
    assert re.search(r"#\d+ email", shown) and "email_id=" in shown
    missing = CliRunner().invoke(
        cli.main, ["--config", str(story.config), "escalations", "hold", "99", "--reason", "x", "--by", "bob"]
    )
    assert missing.exit_code == 2 and "client 99 has no escalation case" in missing.stderr
