"""The demo's seed 001 story: the real bridge (poll, rules, executor) against the sandbox, day by day,
with the sandbox's clock moving forward, narrated in plain language."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import requests

from whmcs_bridge import staff
from whmcs_bridge.config.load import Config
from whmcs_bridge.daemon import Bridge
from whmcs_bridge.store import audit, outbox, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry
from whmcs_bridge.whmcs.api import WhmcsApi

Echo = Callable[[str], None]
SEED = "Seed 001: a reseller who stopped paying"
SCENARIO = "reseller-overdue"
PLAYED = "Seed 001, played: the overdue ladder day by day, the WHMCS clock moving forward"

# The demo's ladder: the seed 001 ladder of config.example.yaml, shortened to what the story shows.
CONFIG = """\
safety:
  max_destructive_per_hour: 10
  staff_department_id: 2
  staff_email: billing-robot@example.com
escalation:
  enabled: true
  holidays: [2026-12-25, 2026-12-26, 2027-01-01]
  staff_department_id: 2
  policies:
    - name: resellers-and-dedicated
      match: {product_ids: [1, 2]}
      impact: {custom_fields: [Hosted domains, Hosted users, Sub-resellers]}
      approval_impact_threshold: 50
      ladder:
        - name: reminder
          after_days: 3
          counted_from: due
          actions:
            - email: {message: escalation.reminder}
        - name: final-notice
          after_days: 7
          deadline_days: 5
          business_days: true
          actions:
            - email: {message: escalation.final_notice}
            - staff_task: {department_id: 2, message: escalation.registered_letter}
        - name: panel-lock
          after_days: 5
          business_days: true
          approval: impact
          actions:
            - module_command: {function: lock_reseller_panel, inverse: unlock_reseller_panel}
        - name: sites-off
          after_days: 3
          business_days: true
          approval: impact
          actions:
            - suspend: {reason: Administrative reasons}
"""

WHAT = {
    "email": "email",
    "ticket": "ticket",
    "client_note": "client note",
    "module_command": "module command",
    "suspend": "suspension",
    "unsuspend": "unsuspension",
    "refresh_client": "read of the client's services",
}


def describe(bridge: Bridge, keys: list[str]) -> list[str]:
    lines = []
    for key in keys:
        entry = outbox.by_key(bridge.db, key)
        if entry is None or entry.kind == "refresh_client":
            continue
        params, result = entry.params, entry.result or {}
        what = params.get("subject") or params.get("function") or params.get("reason") or params.get("text", "")[:60]
        target = f" on service {params['service_id']}" if "service_id" in params else ""
        proof = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.items())
        text = f"     {WHAT.get(entry.kind, entry.kind)}{target}" + (f": {what}" if what else "")
        lines.append(text + (f" ({proof})" if proof else ""))
    return lines


def play(config: Config, sandbox_url: str, echo: Echo) -> Path:
    """Play the story against the sandbox; return the state database it used."""
    # Its own state: the sandbox reloads a scenario and reuses WHMCS ids, which a real WHMCS never does.
    config = dataclasses.replace(
        config, state=dataclasses.replace(config.state, path=config.state.path.with_name("ladder-state.db"))
    )
    requests.post(f"{sandbox_url}_sandbox/clock", json={"reset": True, "set": "2026-11-23T10:00:00"}, timeout=10)
    requests.post(f"{sandbox_url}_sandbox/scenario", json={"name": "reseller-overdue"}, timeout=30)
    bridge = Bridge(config)
    calls_before = len(requests.get(f"{sandbox_url}_sandbox/calls", timeout=10).json()["calls"])

    def day(when: str, note: str = "", passes: int = 2) -> None:
        requests.post(f"{sandbox_url}_sandbox/clock", json={"set": when}, timeout=10)
        now = datetime.fromisoformat(when).replace(tzinfo=UTC)
        done: list[str] = []
        waiting: list[str] = []
        for _ in range(passes):
            report = bridge.run_once(now, poll=True)
            done += report.executor.done + report.executor.reconciled
            waiting += [a.key for a in report.engine.planned if a.needs_approval]
        echo(f"  {when[:10]}{': ' + note if note else ''}")
        for line in describe(bridge, done):
            echo(line)
        if waiting:
            echo(f"     {len(waiting)} step(s) wait for staff approval")

    def approve(rows: list[OutboxEntry], reason: str, when: datetime) -> None:
        for row in rows:
            staff.decide(bridge.db, row.id, approve=True, by="demo-staff", reason=reason, now=when)
        echo(f"     staff approved {len(rows)} step(s)")

    try:
        echo("The bridge polls WHMCS, finds SnelHost's 11 overdue invoices and reads its services:")
        day("2026-11-23T10:00:00", "Monday; the oldest invoice is five months overdue")
        day("2026-11-26T10:00:00", "nothing is due yet")
        day("2026-12-03T10:00:00", "the final notice, with a 5-working-day deadline")
        day("2026-12-10T10:00:00", "the deadline day itself: nothing happens before it has passed")
        day("2026-12-11T10:00:00", "the deadline has passed: lock the reseller panel, sites keep running")
        held = staff.awaiting(bridge.db)
        if held:
            last = states.load(bridge.db, "escalation", "1")["stages"][-1]
            echo(
                f"     the lock hits {last['impact']} downstream domains, users and sub-resellers (threshold 50): staff approval asked"
            )
            approve(held, "the reseller was called; no answer", datetime(2026, 12, 11, 11, tzinfo=UTC))
        day("2026-12-11T11:00:00", "after approval", passes=1)
        day("2026-12-16T10:00:00", "still unpaid three working days after the lock: websites to a neutral page")
        approve(staff.awaiting(bridge.db), "deadline long passed", datetime(2026, 12, 16, 11, tzinfo=UTC))
        day("2026-12-16T11:00:00", "after approval", passes=1)
        for invoice in range(1, 12):
            requests.post(
                f"{sandbox_url}_sandbox/act",
                json={
                    "action": "AddInvoicePayment",
                    "invoiceid": invoice,
                    "transid": f"BANK-{invoice}",
                    "gateway": "banktransfer",
                },
                timeout=10,
            )
        echo("  2026-12-17: the reseller pays all 11 invoices (staff record the bank transfers in WHMCS)")
        day("2026-12-17T10:00:00", "payment undoes everything, in reverse order", passes=3)
        calls = requests.get(f"{sandbox_url}_sandbox/calls", timeout=10).json()["calls"][calls_before:]
        changes = [
            c
            for c in calls
            if c.get("outcome") == "success"
            and c["action"]
            in ("SendEmail", "AddClientNote", "OpenTicket", "ModuleCustom", "ModuleSuspend", "ModuleUnsuspend")
        ]
        reads = [c for c in calls if c["action"].startswith("Get")]
        clients = sorted(
            {
                str(c["params"].get("id") or c["params"].get("userid"))
                for c in changes
                if c["action"] in ("SendEmail", "AddClientNote")
            }
        )
        services = sorted(
            {
                str(c["params"].get("serviceid") or c["params"].get("accountid"))
                for c in changes
                if c["action"].startswith("Module")
            }
        )
        echo(
            f"  In all: {len(changes)} changes in WHMCS and {len(reads)} reads; emails and notes only to client {', '.join(clients)},"
        )
        echo(
            f"  module calls only on its services {', '.join(services)}; none of the reseller's own customers was contacted."
        )
    finally:
        bridge.close()
    return config.state.path


DOWNSTREAM_FIELDS = {"Hosted domains": "domains", "Hosted users": "users", "Sub-resellers": "sub-resellers"}


def observe(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
    overdue: dict[int, list] = defaultdict(list)
    for invoice in api.invoices(status="Overdue"):
        overdue[invoice.client_id].append(invoice)
    grand_total = Decimal("0")
    clients = list(api.clients())
    echo(f"{len(clients)} clients in WHMCS")
    for summary in clients:
        invoices = overdue.get(summary.id, [])
        name = summary.companyname or f"{summary.firstname} {summary.lastname}"
        if not invoices:
            echo(f"  #{summary.id} {name}: nothing overdue")
            continue
        total = sum((i.total for i in invoices), Decimal("0"))
        grand_total += total
        oldest = min(i.duedate for i in invoices if i.duedate)
        echo(
            f"  #{summary.id} {name}: {len(invoices)} overdue invoices, EUR {total} overdue, oldest due {oldest} ({(today - oldest).days} days)"
        )
        impact: dict[str, int] = defaultdict(int)
        services = list(api.services(client_id=summary.id))
        for service in services:
            for field, label in DOWNSTREAM_FIELDS.items():
                impact[label] += int(service.customfields.get(field, "0") or 0)
        described = ", ".join(f"{impact[label]} {label}" for label in DOWNSTREAM_FIELDS.values())
        echo(f"     downstream on {len(services)} services: {described} (their customers are never contacted)")
        audit.append(
            db,
            "demo.observed_overdue",
            actor="demo",
            client_id=summary.id,
            detail={"invoices": len(invoices), "total": str(total), "oldest_due": oldest.isoformat()},
        )
    echo(f"Overdue across WHMCS: EUR {grand_total}")
