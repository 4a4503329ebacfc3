"""bench/ingest: signed webhook events over loopback from several concurrent senders.

Measures the durable receiver (verify + SQLite inbox commit before the 2xx) and, in the same run,
the same waitress server with a no-op WSGI handler, and prints events/s, ack latency p50/p99 and
their ratio. Stops by itself after --events per server.

    .venv/bin/python bench/ingest.py [--events 3000] [--senders 8] [--threads 8]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whmcs_bridge.intake import signing  # noqa: E402
from whmcs_bridge.intake.receiver import Receiver, serve  # noqa: E402
from whmcs_bridge.store import inbox  # noqa: E402

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def noop_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ.get("wsgi.input")
    if stream is not None:
        stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    body = b'{"status":"stored"}'
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def run(app: Any, events: int, senders: int, threads: int, label: str) -> dict[str, float]:
    server = serve(app, "127.0.0.1", 0, threads=threads)
    url = f"http://127.0.0.1:{server.effective_port}/hooks/whmcs"
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    latencies: list[float] = []
    lock = threading.Lock()
    errors = [0]
    per_sender = events // senders

    def sender(index: int) -> None:
        session = requests.Session()
        mine: list[float] = []
        for n in range(per_sender):
            body = json.dumps(
                {
                    "type": "InvoicePaid",
                    "occurred_at": "2026-11-22T10:15:00Z",
                    "source": {"whmcs_url": "https://billing.example.com/", "hook_version": 1},
                    "data": {"invoiceid": index * 1_000_000 + n},
                }
            ).encode()
            headers = signing.headers(SECRET, f"msg_{label}_{index}_{n}", int(time.time()), body)
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - started)
            if response.status_code not in (200, 202):
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    server.close()
    latencies.sort()
    return {
        "events": float(len(latencies)),
        "errors": float(errors[0]),
        "per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events per server")
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)  # queue-depth warnings are expected under load
    with tempfile.TemporaryDirectory() as tmp:
        durable = Receiver(Path(tmp) / "state.db", [SECRET])
        run(noop_app, args.senders * 50, args.senders, args.threads, "warmup")
        baseline = run(noop_app, args.events, args.senders, args.threads, "noop")
        measured = run(durable, args.events, args.senders, args.threads, "durable")
        stored = sum(inbox.counts(durable.db).values())
    print(f"senders={args.senders} events/server={args.events} waitress threads={args.threads}")
    for label, figures in (("no-op handler", baseline), ("durable receiver", measured)):
        print(
            f"{label:>17}: {figures['per_s']:8.0f} events/s  p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  errors {figures['errors']:.0f}"
        )
    print(
        f"ratio durable/no-op throughput: {measured['per_s'] / baseline['per_s']:.2f}  (events in the inbox: {stored})"
    )


if __name__ == "__main__":
    main()
