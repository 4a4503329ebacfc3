"""bench/poll: poll cycles against the sandbox's `scale` scenario (about ten invoices per client).

Part `scale`: for each size (default 10,000 and 100,000 clients) the sandbox runs in its own process;
the poller runs in a fresh child process so its peak memory is its own. Prints, per size: the first
cycle's API calls against the minimum needed, wall time and peak memory; then a steady-state cycle
after a few payments and new invoices, as a fraction of the first. Finally the memory ratio between
sizes (flat memory means close to 1).

Part `order`: tickets (19 in 20 closed), orders and one client's emails (default 2,000 / 1,000 / 600), listed in each
order the sandbox draws for lists WHMCS states no order for (one seed per order). After a first cycle,
new tickets (one opened by staff), a staff reply on the oldest ticket, a client reply on one in the
middle, new orders and new emails; then a quiet cycle. Prints, per order, the calls per cycle of
the poller's census, of the former newest-first walk (replayed in the same run, with what it found
or missed) and of a naive walk of every page. Stops by itself.

    .venv/bin/python bench/poll.py [--part scale|order|all] [--sizes 10000,100000] [--changes 5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import requests

from whmcs_bridge.intake.poller import Poller
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IDENTIFIER, SECRET = "bench-id", "bench-secret"
PAGE = 250


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(clients: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "WHMCS_API_IDENTIFIER": IDENTIFIER, "WHMCS_API_SECRET": SECRET}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "whmcs_bridge",
            "sandbox",
            "--port",
            str(port),
            "--scenario",
            "scale",
            "--clients",
            str(clients),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            requests.get(url + "_sandbox/clock", timeout=2)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def api_call(url: str, action: str, **params: object) -> dict:
    data = {"action": action, "identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json", **params}
    return requests.post(url + "includes/api.php", data=data, timeout=60).json()


def child(url: str, db_path: str, today: str) -> None:
    """One poll cycle in this process; prints its figures as JSON."""
    client = WhmcsClient(url + "includes/api.php", IDENTIFIER, SECRET, page_size=PAGE)
    with Database(db_path) as db:
        poller = Poller(db, WhmcsApi(client))
        tracemalloc.start()
        started = time.perf_counter()
        report = poller.run_once(datetime.now(UTC), date.fromisoformat(today))
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    print(
        json.dumps(
            {
                "calls": report.calls,
                "events": report.events,
                "wall_s": wall,
                "peak_traced_mb": peak / 2**20,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "swept": report.swept,
            }
        )
    )


def cycle(url: str, db_path: str, today: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, db_path, today], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(clients: int, changes: int) -> dict:
    proc, url = start_sandbox(clients)
    try:
        today = requests.get(url + "_sandbox/clock", timeout=5).json()["now"][:10]
        unpaid = int(api_call(url, "GetInvoices", status="Unpaid", limitnum=1)["totalresults"])
        collections = int(api_call(url, "GetInvoices", status="Collections", limitnum=1)["totalresults"])
        with tempfile.TemporaryDirectory() as tmp:
            db_path = str(Path(tmp) / "state.db")
            first = cycle(url, db_path, today)
            # minimum: one page of each newest-first list, and every page of the open invoices
            first["minimum"] = 4 + max(1, math.ceil(unpaid / PAGE)) + max(1, math.ceil(collections / PAGE))
            open_ids = [
                i["id"] for i in api_call(url, "GetInvoices", status="Unpaid", limitnum=changes)["invoices"]["invoice"]
            ]
            for invoice_id in open_ids:
                requests.post(
                    url + "_sandbox/act",
                    json={
                        "action": "AddInvoicePayment",
                        "invoiceid": invoice_id,
                        "transid": f"B{invoice_id}",
                        "gateway": "banktransfer",
                    },
                    timeout=30,
                )
            for n in range(changes):
                api_call(url, "CreateInvoice", userid=1 + n, itemdescription1="bench", itemamount1="1.00")
            second = cycle(url, db_path, today)
            second["minimum"] = 4 + len(open_ids)  # the four lists, and one read per paid invoice
        return {"clients": clients, "unpaid": unpaid, "first": first, "second": second}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("scale", "order", "all"), default="all", help="which measurements")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated client counts")
    parser.add_argument("--changes", type=int, default=5, help="payments and new invoices between the cycles")
    parser.add_argument("--lists", default="2000,1000,600", help="tickets, orders, emails of client 1 (part order)")
    args = parser.parse_args()
    if args.part in ("order", "all"):
        from bench.poll_order import report

        report(*(int(x) for x in args.lists.split(",")))
    if args.part in ("scale", "all"):
        scale_part(args)


def scale_part(args: argparse.Namespace) -> None:
    results = [measure(int(size), args.changes) for size in args.sizes.split(",")]
    for r in results:
        f, s = r["first"], r["second"]
        print(f"{r['clients']:>7} clients ({r['unpaid']} unpaid invoices)")
        print(
            f"   first cycle:  {f['calls']:>4} API calls (minimum {f['minimum']}, ratio {f['calls'] / f['minimum']:.2f}), {f['events']} events, {f['wall_s']:.2f} s, peak traced {f['peak_traced_mb']:.1f} MB, max RSS {f['maxrss_mb']:.0f} MB"
        )
        print(
            f"   second cycle: {s['calls']:>4} API calls (minimum {s['minimum']}, ratio {s['calls'] / s['minimum']:.2f}), {s['events']} events, {s['wall_s']:.2f} s: {s['calls'] / f['calls']:.1%} of the first cycle's calls, {s['wall_s'] / f['wall_s']:.1%} of its time"
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"memory, {large['clients']} vs {small['clients']} clients: peak traced x{large['first']['peak_traced_mb'] / small['first']['peak_traced_mb']:.2f}, max RSS x{large['first']['maxrss_mb'] / small['first']['maxrss_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
