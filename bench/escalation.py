"""bench/escalation: `plan` and polling cost over the sandbox's `scale` scenario, about 5% of clients overdue.

Setup (not timed): the sandbox runs in its own process; the bridge polls it, reads every overdue
client's services and builds the cases, as the daemon would. Then:

- `plan`: `plan` projecting the ladder 120 days ahead for every case (engine, store, rolled back) and, as
  the baseline in the same run, the same projection made by calling the pure decide() in memory. Prints
  clients evaluated per second for both, their ratio, and peak memory.
- `polling` (issue 15, finding 13): a day of 5-minute passes with nothing happening in WHMCS, by the whole
  bridge (poll, engine, executor), against the minimum: the same passes of a poller that watches no client
  (no service and no email log read), on a copy of the same state. Prints the API calls of a quiet pass,
  of a pass with the 6-hourly sweep, and of the whole day, for both, and their ratio.

Stops by itself.

    .venv/bin/python bench/escalation.py [--clients 100000] [--part plan|polling|all]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.poll import IDENTIFIER, SECRET, start_sandbox  # noqa: E402
from whmcs_bridge.config.load import load_config  # noqa: E402
from whmcs_bridge.daemon import Bridge  # noqa: E402
from whmcs_bridge.families.escalation.rules import decide  # noqa: E402
from whmcs_bridge.intake.poller import Poller  # noqa: E402
from whmcs_bridge.model import Event  # noqa: E402
from whmcs_bridge.store import states  # noqa: E402
from whmcs_bridge.store.db import Database  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def config_for(url: str, folder: Path) -> Path:
    text = (ROOT / "config.example.yaml").read_text()
    text = text.replace("url: https://billing.example.com/", f"url: {url}").replace(
        "path: /var/lib/whmcs-bridge/state.db", "path: state.db"
    )
    text = text.replace("  enabled: false\n  # Not business days", "  enabled: true\n  # Not business days")
    # the scale scenario's clients mostly have product 3 (shared hosting): put them in scope
    text = text.replace("        product_ids: [1, 2]\n", "        product_ids: [1, 2, 3]\n")
    text = text.replace("  max_destructive_per_hour: 10", "  max_destructive_per_hour: 1000000")
    (folder / "bridge.yaml").write_text(text)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    (folder / ".env").write_text(
        f"WHMCS_API_IDENTIFIER={IDENTIFIER}\nWHMCS_API_SECRET={SECRET}\nWHMCS_BRIDGE_WEBHOOK_SECRET={secret}\n"
    )
    (folder / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    return folder / "bridge.yaml"


def build_cases(bridge: Bridge) -> int:
    """Poll, read every overdue client, decide: until nothing is left to do."""
    bridge.run_once(NOW, poll=True)
    for _ in range(200):
        report = bridge.run_once(NOW, poll=False)
        if not (report.engine.events or report.executor.done):
            break
    return sum(1 for _, state in states.items(bridge.db, "escalation") if str(state.get("policy", "")).startswith("resellers"))


def pure_projection(bridge: Bridge, until: datetime) -> int:
    """The baseline: the same decisions with no engine, no store, no outbox."""
    rules = bridge.config.escalation
    decisions = 0
    deadlines = states.deadlines(bridge.db, "escalation")
    for key, state in states.items(bridge.db, "escalation"):
        deadline = deadlines[key]
        due = deadline.isoformat() if deadline else None
        while due and datetime.fromisoformat(due) <= until:
            moment = max(NOW, datetime.fromisoformat(due))
            result = decide(state, Event(id="tick", type="Tick", data={}, source="timer"), moment, rules)
            decisions += 1
            state = result.state or {}
            next_due = result.due_at.isoformat() if result.due_at else None
            if next_due == due:
                break
            due = next_due
    return decisions


def polling(bridge: Bridge, folder: Path, passes: int) -> dict[str, list[int]]:
    """API calls per pass over `passes` passes 5 minutes apart after NOW: the bridge's, and the minimum's
    (a poller watching no client's services or emails, on a copy of the state made before the first)."""
    copy = folder / "minimum.db"
    bridge.db.backup_to(copy)
    counts: dict[str, list[int]] = {"bridge": [], "minimum": [], "swept": []}
    with Database(copy) as db:
        minimum = Poller(db, bridge.api, sweep_every=bridge.config.poll.sweep_every)
        for n in range(1, passes + 1):
            moment = NOW + timedelta(minutes=5 * n)
            before = bridge.api.client.calls
            report = bridge.run_once(moment, poll=True)
            counts["bridge"].append(bridge.api.client.calls - before)
            counts["swept"].append(int(bool(report.poll and report.poll.swept)))
            before = bridge.api.client.calls
            minimum.run_once(moment)
            counts["minimum"].append(bridge.api.client.calls - before)
    return counts


def print_polling(clients: int, tracked: int, ever: int, counts: dict[str, list[int]]) -> None:
    rows = list(zip(counts["bridge"], counts["minimum"], counts["swept"], strict=True))
    first, later = rows[0], rows[1:]
    quiet = sorted((b, m) for b, m, s in later if not s)
    swept = [(b, m) for b, m, s in later if s]
    day_b, day_m = sum(counts["bridge"]), sum(counts["minimum"])
    steady_b, steady_m = sum(b for b, _, _ in later), sum(m for _, m, _ in later)
    print(f"polling at {clients} clients: {tracked} watched (open cases in a policy's scope; {ever} clients have a case)")
    print(
        f"  first pass after the cases opened: {first[0]} API calls, minimum {first[1]}"
    )
    if quiet:
        b, m = quiet[len(quiet) // 2]
        print(f"  quiet pass (median): {b} API calls, minimum {m}: ratio {b / m:.2f}x; the most: {max(quiet)[0]}")
    if swept:
        b, m = max(swept)
        print(f"  pass with the 6-hourly sweep: {b} API calls, minimum {m}: ratio {b / m:.2f}x")
    print(f"  the {len(later)} passes after the first: {steady_b} API calls, minimum {steady_m}: ratio {steady_b / steady_m:.2f}x")
    print(f"  all {len(rows)} passes (a day of 5-minute passes): {day_b} API calls, minimum {day_m}: ratio {day_b / day_m:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120, help="how far plan projects")
    parser.add_argument("--part", choices=["plan", "polling", "all"], default="all")
    parser.add_argument("--passes", type=int, default=288, help="polling: 5-minute passes measured (288: a day)")
    args = parser.parse_args()
    if args.part in ("polling", "all"):
        run_polling(args.clients, args.passes)
    if args.part in ("plan", "all"):
        run_plan(args)


def run_polling(clients: int, passes: int) -> None:
    proc, url = start_sandbox(clients)
    try:
        requests.post(url + "_sandbox/clock", json={"set": NOW.isoformat().replace("+00:00", "")}, timeout=10)
        requests.post(url + "_sandbox/scenario", json={"name": "scale", "clients": clients}, timeout=600)
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(config_for(url, Path(tmp)))
            bridge = Bridge(dataclasses.replace(config, poll=dataclasses.replace(config.poll, enabled=True)))
            build_cases(bridge)
            tracked, ever = len(bridge.tracked_clients()), len(states.items(bridge.db, "escalation"))
            counts = polling(bridge, Path(tmp), passes)
            bridge.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print_polling(clients, tracked, ever, counts)


def run_plan(args: argparse.Namespace) -> None:
    proc, url = start_sandbox(args.clients)
    try:
        requests.post(url + "_sandbox/clock", json={"set": NOW.isoformat().replace("+00:00", "")}, timeout=10)
        requests.post(url + "_sandbox/scenario", json={"name": "scale", "clients": args.clients}, timeout=600)
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(config_for(url, Path(tmp)))
            bridge = Bridge(dataclasses.replace(config, poll=dataclasses.replace(config.poll, enabled=True)))
            started = time.perf_counter()
            cases = build_cases(bridge)
            setup_s = time.perf_counter() - started
            until = NOW + timedelta(days=args.days)

            # Time without tracemalloc (it slows Python severalfold); memory in a second, traced run.
            started = time.perf_counter()
            report = bridge.engine.plan(NOW, until=until)
            plan_s = time.perf_counter() - started
            started = time.perf_counter()
            decisions = pure_projection(bridge, until)
            pure_s = time.perf_counter() - started
            tracemalloc.start()
            bridge.engine.plan(NOW, until=until)
            _, plan_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            pure_projection(bridge, until)
            _, pure_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            bridge.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(
        f"{args.clients} clients, {cases} on the ladder (setup: poll, {cases} client reads and decisions in {setup_s:.1f} s)"
    )
    print(
        f"plan, {args.days} days ahead: {len(report.planned)} actions over {report.events} decisions in {plan_s:.2f} s: {cases / plan_s:,.0f} clients/s, peak traced {plan_peak / 2**20:.1f} MB"
    )
    print(
        f"baseline, pure decide() in memory: {decisions} decisions in {pure_s:.2f} s: {cases / pure_s:,.0f} clients/s, peak traced {pure_peak / 2**20:.1f} MB"
    )
    print(f"ratio plan / pure decide throughput: {(cases / plan_s) / (cases / pure_s):.2f}")


if __name__ == "__main__":
    main()
