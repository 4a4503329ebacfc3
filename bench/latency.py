"""bench/latency: from a paid invoice's webhook to the ModuleUnsuspend call WHMCS receives, p50/p99.

What is measured, per case: the real daemon (`whmcs-bridge --config CFG run`, escalation enabled) has
suspended a client's service for an overdue invoice; the invoice is then paid in WHMCS and the
InvoicePaid webhook is sent, signed, to the daemon. The latency runs from the instant the webhook
request is sent to the instant the sandbox WHMCS receives the daemon's ModuleUnsuspend call for that
service (its call log's timestamp, taken when the request arrives). It covers the receiver, the
engine's decision (case closed, undo planned), the executor's guard read (GetClientsProducts: is the
service still suspended?) and the call itself. Also printed: the same measured from the webhook's
2xx, and the 2xx itself. Cases run one at a time on an idle daemon (each case waits until the previous
one's restore email and note are done), so this is latency without load, not under load.

Setup (not timed), all real: the sandbox runs in its own process (`whmcs-bridge sandbox --scenario
scale --clients N`, one client per case, each with one service, since one case needs its own
suspended service; the `reseller-overdue` scenario has a single reseller). Every unpaid invoice of
the scenario is paid, then one invoice due ten days ago is created per client. The daemon starts
with a one-stage ladder (suspend the client's services as soon as an invoice is overdue, any day and
hour, no approval, the breaker's limit out of the way), polls WHMCS once at start (`poll.every: 1h`:
no further poll during the run, so only the webhook can tell it about the payment), and suspends
every service itself. Then the cases: pay the invoice (the sandbox's staff action, which WHMCS logs
but does not report as an API call), send the InvoicePaid webhook, wait for the ModuleUnsuspend.

Bounded: --time-limit (default 600 s) for the whole run, 30 s per case; subprocesses are stopped on
any exit.

    .venv/bin/python bench/latency.py [--cases 100] [--time-limit 600]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    HOST,
    Children,
    daemon_command,
    event_body,
    exit_on_signals,
    free_port,
    new_secret,
    percentile,
    signed,
    start_daemon,
    wait_http,
    write_daemon_config,
)
from whmcs_bridge.intake.receiver import HOOK_PATH  # noqa: E402

IDENTIFIER, SECRET = "bench-id", "bench-secret"
CASE_TIMEOUT_S = 30.0
MAX_CASES = 1000  # the sandbox's query endpoint answers at most 1000 rows

# One stage: suspend as soon as an invoice is overdue, any day and hour, no approval. Paying makes the
# client current again, which undoes the suspension (ModuleUnsuspend), then a restored email and note.
LADDER = """\
poll:
  enabled: true
  every: 1h
safety:
  max_destructive_per_hour: 1000000
  staff_department_id: 2
  staff_email: billing-robot@example.com
escalation:
  enabled: true
  holidays: []
  guards:
    destructive_days: [mon, tue, wed, thu, fri, sat, sun]
    destructive_hours: "00:00-24:00"
    min_days_between_destructive: 0
  staff_department_id: 2
  policies:
    - name: bench
      match: {product_ids: [1, 2, 3]}
      ladder:
        - name: sites-off
          after_days: 0
          counted_from: due
          actions:
            - suspend: {reason: Administrative reasons}
"""


class TimeUp(Exception):
    pass


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, doing: str) -> None:
        if self.left() <= 0:
            raise TimeUp(f"the time limit of {self.seconds:.0f} s was reached while {doing}")


class Http:
    """A keep-alive JSON client for one local server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                return response.status, json.loads(data) if data else None
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else None
        status, answer = self.call(method, path, body, {"Content-Type": "application/json"} if body else None)
        if status != 200:
            raise SystemExit(f"{method} {path}: HTTP {status}: {answer}")
        return answer


class Sandbox(Http):
    def api(self, action: str, **params: Any) -> Any:
        form = {"action": action, "identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json", **params}
        body = urlencode(form).encode()
        _, answer = self.call("POST", "/includes/api.php", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if not isinstance(answer, dict) or answer.get("result") != "success":
            raise SystemExit(f"sandbox {action}: {answer}")
        return answer

    def act(self, action: str, **params: Any) -> Any:
        return self.json("POST", "/_sandbox/act", {"action": action, **params})

    def services(self) -> list[dict[str, Any]]:
        return list(self.json("GET", "/_sandbox/query?table=services")["rows"])

    def calls_since(self, seq: int) -> list[dict[str, Any]]:
        return list(self.json("GET", f"/_sandbox/calls?since={seq}")["calls"])


def prepare_world(sandbox: Sandbox, cases: int) -> dict[int, tuple[int, int]]:
    """Pay every unpaid invoice of the scenario, then one invoice due ten days ago per client:
    {client id: (its service id, the new invoice id)}."""
    unpaid = sandbox.api("GetInvoices", status="Unpaid", limitnum=10000)
    for invoice in (unpaid.get("invoices") or {}).get("invoice") or []:
        sandbox.act(
            "AddInvoicePayment", invoiceid=invoice["id"], transid=f"SETUP-{invoice['id']}", gateway="banktransfer"
        )
    today = date.fromisoformat(sandbox.json("GET", "/_sandbox/clock")["now"][:10])
    due = (today - timedelta(days=10)).isoformat()
    services = {int(s["client_id"]): int(s["id"]) for s in sandbox.services()}
    world = {}
    for client in range(1, cases + 1):
        created = sandbox.act(
            "CreateInvoice",
            userid=client,
            date=due,
            duedate=due,
            itemdescription1="Hosting (bench)",
            itemamount1="9.95",
        )
        world[client] = (services[client], int(created["invoiceid"]))
    return world


def wait_for(condition: Any, deadline: Deadline, doing: str, pause_s: float = 0.2) -> None:
    while not condition():
        deadline.check(doing)
        time.sleep(pause_s)


def idle(daemon: Http) -> bool:
    health = daemon.json("GET", "/healthz")
    outbox = health.get("outbox") or {}
    return not health["inbox"]["pending"] and not outbox.get("planned") and not outbox.get("in_flight")


def suspended_count(sandbox: Sandbox, world: dict[int, tuple[int, int]]) -> int:
    ours = {service for service, _ in world.values()}
    return sum(1 for s in sandbox.services() if int(s["id"]) in ours and s["status"] == "Suspended")


def unsuspend_of(call: dict[str, Any], service: int) -> bool:
    params = call.get("params") or {}
    target = params.get("serviceid") or params.get("accountid")
    return call["action"] == "ModuleUnsuspend" and str(target) == str(service) and call.get("outcome") == "success"


def run_case(
    sandbox: Sandbox, daemon: Http, secret: str, client: int, service: int, invoice: int, seq: int, deadline: Deadline
) -> tuple[dict[str, float], int]:
    """One payment: its figures (seconds) and the sandbox's last call number."""
    sandbox.act("AddInvoicePayment", invoiceid=invoice, transid=f"BENCH-{invoice}", gateway="banktransfer")
    body = event_body(invoice)
    headers = signed(secret, f"msg_latency_{invoice}", body)
    sent = time.time()
    status, answer = daemon.call("POST", HOOK_PATH, body, headers)
    acked = time.time()
    if status != 202:
        raise SystemExit(f"the daemon answered {status} to the InvoicePaid webhook of invoice {invoice}: {answer}")
    limit = time.monotonic() + CASE_TIMEOUT_S
    while True:
        calls = sandbox.calls_since(seq)
        seq = max([seq, *(int(c["seq"]) for c in calls)])
        found = next((c for c in calls if unsuspend_of(c, service)), None)
        if found is not None:
            break
        deadline.check(f"waiting for the unsuspension of client {client}")
        if time.monotonic() > limit:
            raise SystemExit(f"no ModuleUnsuspend of service {service} {CASE_TIMEOUT_S:.0f} s after the payment")
        time.sleep(0.02)
    # the next case starts on an idle daemon: the restore email and note of this one are done
    wait_for(lambda: idle(daemon), deadline, "waiting for the daemon to finish a case", pause_s=0.01)
    at = float(found["at"])
    return {"from_send": at - sent, "from_ack": at - acked, "ack": acked - sent}, seq


def report(figures: list[dict[str, float]], cases: int, setup_s: float, note: str = "") -> None:
    if not figures:
        print(f"no case measured{': ' + note if note else ''}")
        return
    print(f"{len(figures)} of {cases} cases measured (setup {setup_s:.1f} s){'; ' + note if note else ''}")
    rows = (
        ("webhook sent -> ModuleUnsuspend received", "from_send"),
        ("webhook 2xx  -> ModuleUnsuspend received", "from_ack"),
        ("webhook sent -> webhook 2xx", "ack"),
    )
    for label, key in rows:
        values = sorted(f[key] * 1000 for f in figures)
        print(
            f"{label:<44} p50 {statistics.median(values):8.1f} ms   p99 {percentile(values, 99):8.1f} ms"
            f"   max {values[-1]:8.1f} ms"
        )


def measure(args: argparse.Namespace, children: Children, folder: Path, deadline: Deadline) -> None:
    started = time.monotonic()
    sandbox_port, daemon_port = free_port(), free_port()
    sandbox_log = folder / "sandbox.log"
    with sandbox_log.open("ab") as out:
        sandbox_proc = children.start(
            [
                *daemon_command(),
                "sandbox",
                "--port",
                str(sandbox_port),
                "--scenario",
                "scale",
                "--clients",
                str(args.cases),
                "--identifier",
                IDENTIFIER,
                "--secret",
                SECRET,
            ],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            cwd=folder,
        )
    wait_http(f"http://{HOST}:{sandbox_port}/_sandbox/clock", sandbox_proc, 60, "the sandbox", sandbox_log)
    sandbox = Sandbox(sandbox_port)
    world = prepare_world(sandbox, args.cases)
    secret = new_secret()
    config = write_daemon_config(
        folder,
        port=daemon_port,
        secret=secret,
        whmcs_url=f"http://{HOST}:{sandbox_port}/",
        extra=LADDER,
        api=(IDENTIFIER, SECRET),
    )
    start_daemon(children, config, daemon_port, folder / "daemon.log")
    daemon = Http(daemon_port)
    wait_for(
        lambda: suspended_count(sandbox, world) == len(world),
        deadline,
        "waiting for the daemon to suspend the services",
    )
    wait_for(lambda: idle(daemon), deadline, "waiting for the daemon to be idle")
    setup_s = time.monotonic() - started
    seq = max([0, *(int(c["seq"]) for c in sandbox.calls_since(0))])
    figures: list[dict[str, float]] = []
    try:
        for client, (service, invoice) in sorted(world.items()):
            result, seq = run_case(sandbox, daemon, secret, client, service, invoice, seq, deadline)
            figures.append(result)
    except TimeUp as stop:
        report(figures, args.cases, setup_s, str(stop))
        return
    report(figures, args.cases, setup_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100, help=f"payments measured, 1 to {MAX_CASES} (default 100)")
    parser.add_argument("--time-limit", type=float, default=600, help="seconds for the whole run (default 600)")
    args = parser.parse_args()
    if not 1 <= args.cases <= MAX_CASES:
        parser.error(f"--cases must be between 1 and {MAX_CASES}")
    exit_on_signals()
    deadline = Deadline(args.time_limit)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp, Children() as children:
            measure(args, children, Path(tmp), deadline)
    except TimeUp as stop:
        raise SystemExit(f"{stop} (before any case was measured)") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
