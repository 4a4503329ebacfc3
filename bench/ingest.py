"""bench/ingest: how many signed webhook events the real daemon takes in, against a no-op server.

Two servers are measured in one run, each in its own process, on the same server stack (waitress with
the receiver's settings, `whmcs_bridge.intake.receiver.serve`):

- the no-op baseline: a WSGI app that reads the body and answers 202 JSON, nothing else
  (`bench/ingest.py --serve-noop PORT`);
- the real daemon: `whmcs-bridge --config CFG run` with a config in a temporary folder (no poller; the
  WHMCS URL points at a closed port, which does not matter: events are only received and recorded).
  A 2xx from it means the event was verified and committed to its SQLite inbox; its engine works
  through those events meanwhile, as it would in production (log lines go to a file).

The load never comes from the measured process. For each server, two modes:

- saturation: `wrk` (default 2 threads, 16 connections, 10 s) with a Lua script cycling through
  requests signed just before the run (Standard Webhooks, each with its own webhook-id, timestamp and
  an InvoicePaid body with its own invoice id); wrk's latency percentiles and counts;
- paced: 200 events/s for 10 s from separate sender processes (default 4, each with one keep-alive
  connection and its share of the schedule), also pre-signed; latency is counted from each request's
  scheduled time, so a sender held up by a slow answer counts the wait too.

Prints, per server and mode, events/s, latency p50/p99 and errors; then daemon/no-op throughput at
saturation with both p99s, both p99s at the paced rate, and the number of events in the daemon's
inbox after its run next to the number of 2xx answers it gave (a loss would show as a difference).
Every load is bounded in time and count; subprocesses are stopped on any exit.

    .venv/bin/python bench/ingest.py [--threads 2] [--connections 16] [--duration 10]
                                     [--rate 200] [--paced-seconds 10] [--senders 4]

Needs `wrk` on PATH (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import http.client
import json
import logging
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whmcs_bridge.intake import signing  # noqa: E402
from whmcs_bridge.intake.receiver import HOOK_PATH, serve  # noqa: E402
from whmcs_bridge.store import inbox  # noqa: E402
from whmcs_bridge.store.db import Database  # noqa: E402

HOST = "127.0.0.1"
NOOP_POOL = 20_000  # requests cycled through against the no-op server (it does not look at them)

# wrk's Lua: each thread loads its own file of pre-signed requests (webhook-id, timestamp, signature,
# body; tab-separated) and cycles through it; done() prints the figures as one JSON line.
LUA = r"""
local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   wraps = 0
   handed = 0
   requests_ = {}
   local n = 0
   for line in io.lines(args[1] .. id .. ".tsv") do
      local mid, stamp, sig, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
      n = n + 1
      requests_[n] = wrk.format("POST", args[2], {
         ["webhook-id"] = mid,
         ["webhook-timestamp"] = stamp,
         ["webhook-signature"] = sig,
         ["Content-Type"] = "application/json",
      }, body)
   end
   count_ = n
   next_ = 0
end

function request()
   handed = handed + 1
   next_ = next_ + 1
   if next_ > count_ then
      next_ = 1
      wraps = wraps + 1
   end
   return requests_[next_]
end

function done(summary, latency, requests)
   local wraps, handed = 0, 0
   for _, thread in ipairs(threads) do
      wraps = wraps + (thread:get("wraps") or 0)
      handed = handed + (thread:get("handed") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect_errors": %d, "read_errors": %d,'
      .. ' "write_errors": %d, "timeouts": %d, "p50_us": %.1f, "p99_us": %.1f, "max_us": %.1f, "wraps": %d,'
      .. ' "handed": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max, wraps, handed))
end
"""


# --- helpers shared with bench/latency.py ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _die_with_parent(parent: int) -> Callable[[], None]:
    """In the child before exec: receive SIGTERM when the bench process ends, even by SIGKILL (Linux)."""

    def arm() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the bench ended before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


class Children:
    """Every subprocess a run starts. stop_all() (also on leaving the `with` block, whatever the reason)
    sends SIGTERM, waits, then SIGKILLs what is left; a child also gets SIGTERM if the bench is killed."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []

    def start(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(list(args), preexec_fn=_die_with_parent(os.getpid()), **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any], grace_s: float = 30.0) -> int:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        return int(proc.returncode)

    def stop_all(self) -> None:
        running = [p for p in self.procs if p.poll() is None]
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + 10
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP end the run through SystemExit, so every `finally` stops the subprocesses."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)


def wait_http(url: str, proc: subprocess.Popen[Any], timeout_s: float, what: str, log: Path | None = None) -> None:
    """Until `url` answers (any HTTP status); fail if the process ends or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        host, _, rest = url.removeprefix("http://").partition("/")
        name, _, port = host.partition(":")
        conn = http.client.HTTPConnection(name, int(port), timeout=2)
        try:
            conn.request("GET", "/" + rest)
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise SystemExit(f"{what} did not start (exit {proc.poll()}){': ' + tail if tail else ''}")
        time.sleep(0.05)


def daemon_command() -> list[str]:
    """`whmcs-bridge` of this interpreter's environment (.venv/bin/whmcs-bridge when run from .venv)."""
    script = Path(sys.executable).parent / "whmcs-bridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "whmcs_bridge"]


def write_daemon_config(
    folder: Path,
    *,
    port: int,
    secret: str,
    whmcs_url: str,
    extra: str = "",
    api: tuple[str, str] = ("bench-id", "bench-secret"),
) -> Path:
    """A config in `folder` (state.db beside it, secrets in .env), as tests/test_cli.py's write_config;
    `extra` is appended YAML, `api` the WHMCS API identifier and secret."""
    (folder / ".env").write_text(
        f"WHMCS_API_IDENTIFIER={api[0]}\nWHMCS_API_SECRET={api[1]}\nWHMCS_BRIDGE_WEBHOOK_SECRET={secret}\n"
    )
    (folder / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    path = folder / "bridge.yaml"
    path.write_text(
        f"whmcs:\n  url: {whmcs_url}\n  identifier: ${{WHMCS_API_IDENTIFIER}}\n  secret: ${{WHMCS_API_SECRET}}\n"
        f"  max_attempts: 1\nreceiver:\n  listen: {HOST}:{port}\n  secret: ${{WHMCS_BRIDGE_WEBHOOK_SECRET}}\n"
        f"state:\n  path: state.db\n{extra}"
    )
    return path


def start_daemon(children: Children, config: Path, port: int, log: Path) -> subprocess.Popen[Any]:
    """`whmcs-bridge --config CONFIG run`, its log in `log`; returns once /healthz answers."""
    with log.open("ab") as out:
        proc = children.start(
            [*daemon_command(), "--config", str(config), "run"],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            cwd=config.parent,
        )
    wait_http(f"http://{HOST}:{port}/healthz", proc, 60, "the daemon", log)
    return proc


def event_body(invoice_id: int) -> bytes:
    event = {
        "type": "InvoicePaid",
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": {"whmcs_url": "https://billing.example.com/", "hook_version": 1},
        "data": {"invoiceid": invoice_id},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def signed(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    return signing.headers(secret, msg_id, int(time.time()), body)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# --- the no-op server and the paced sender (run as subprocesses of this script) -------------------


def noop_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ.get("wsgi.input")
    if stream is not None:
        stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    body = b'{"status":"stored"}'
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def serve_noop(port: int) -> None:
    """The baseline: the no-op app on the receiver's waitress settings, until SIGTERM."""
    logging.getLogger("waitress").setLevel(logging.ERROR)  # queue-depth warnings are expected under load
    serve(noop_app, HOST, port).run()


def send_paced(spec_path: str) -> None:
    """One sender process: loads its requests, says "ready", reads the shared start instant (wall clock)
    on stdin, then sends each request at its scheduled instant on one keep-alive connection. Prints each
    request's latency from its scheduled instant, the errors and when the last answer came, as JSON."""
    spec = json.loads(Path(spec_path).read_text())
    requests_ = [(item["body"].encode(), item["headers"]) for item in spec["requests"]]
    conn = http.client.HTTPConnection(HOST, spec["port"], timeout=30)
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    base = time.monotonic() + (start_at - time.time())  # the shared instant, on this process's monotonic clock
    latencies: list[float] = []
    errors = 0
    for n, (body, headers) in enumerate(requests_):
        due = base + spec["offset"] + n * spec["period"]
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            conn.request("POST", spec["path"], body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(HOST, spec["port"], timeout=30)
            ok = False
        latencies.append(time.monotonic() - due)
        errors += not ok
    finished_at = time.time()
    conn.close()
    print(json.dumps({"latencies": latencies, "errors": errors, "finished_at": finished_at}))


# --- the loads -------------------------------------------------------------------------------------


class Pool:
    """Distinct invoice ids and webhook ids across the whole run."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.next_id = 1

    def take(self, count: int, label: str) -> list[tuple[dict[str, str], bytes]]:
        out = []
        for _ in range(count):
            n = self.next_id
            self.next_id += 1
            body = event_body(n)
            out.append((signed(self.secret, f"msg_bench_{label}_{n}", body), body))
        return out


def saturate(
    url: str, pool: Pool, count: int, folder: Path, args: argparse.Namespace, children: Children, label: str
) -> dict[str, float]:
    """wrk against `url`, cycling through `count` requests signed now (split between its threads)."""
    requests_ = pool.take(count, label)
    prefix = folder / f"wrk-{label}-"
    for thread in range(args.threads):
        with open(f"{prefix}{thread}.tsv", "w") as out:
            for headers, body in requests_[thread :: args.threads]:
                text = body.decode()
                assert "\t" not in text and "\n" not in text
                out.write(
                    f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t{headers['webhook-signature']}\t{text}\n"
                )
    script = folder / "presigned.lua"
    script.write_text(LUA)
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        str(prefix),
        HOOK_PATH,
    ]
    wrk = children.start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    out, err = wrk.communicate(timeout=args.duration + 120)
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if wrk.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({wrk.returncode}): {err.strip() or out.strip()}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    return {
        "per_s": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["non_2xx"] + socket_errors,
        "acked": raw["requests"] - raw["non_2xx"],
        "handed": min(raw["handed"], count),  # distinct requests wrk took (some maybe unsent when it stopped)
        "wraps": raw["wraps"],
    }


def paced(
    port: int, pool: Pool, folder: Path, args: argparse.Namespace, children: Children, label: str
) -> dict[str, float]:
    """`args.rate` events/s for `args.paced_seconds` s from `args.senders` sender processes."""
    total = int(args.rate * args.paced_seconds)
    requests_ = pool.take(total, label)
    period = args.senders / args.rate  # each sender's spacing; sender k is offset by k/rate
    procs = []
    for k in range(args.senders):
        spec = folder / f"paced-{label}-{k}.json"
        spec.write_text(
            json.dumps(
                {
                    "port": port,
                    "path": HOOK_PATH,
                    "offset": k / args.rate,
                    "period": period,
                    "requests": [{"headers": h, "body": b.decode()} for h, b in requests_[k :: args.senders]],
                }
            )
        )
        procs.append(
            children.start(
                [sys.executable, __file__, "--send-paced", str(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
        )
    for proc in procs:  # every sender started and loaded before the clock starts
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"a paced sender did not start (exit {proc.wait(timeout=30)})")
    start_at = time.time() + 0.2
    latencies: list[float] = []
    errors = 0
    finished = start_at
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start_at!r}\n")
        proc.stdin.flush()
    for proc in procs:
        out, _ = proc.communicate(timeout=args.paced_seconds + 120)
        if proc.returncode != 0:
            raise SystemExit(f"a paced sender failed (exit {proc.returncode})")
        figures = json.loads(out.strip().splitlines()[-1])
        latencies += figures["latencies"]
        errors += figures["errors"]
        finished = max(finished, figures["finished_at"])
    latencies.sort()
    return {
        "per_s": (len(latencies) - errors) / (finished - start_at),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors,
        "acked": len(latencies) - errors,
        "handed": len(latencies),
        "wraps": 0,
    }


def measure_noop(folder: Path, pool: Pool, args: argparse.Namespace, children: Children) -> dict[str, dict]:
    port = free_port()
    proc = children.start([sys.executable, __file__, "--serve-noop", str(port)], cwd=ROOT)
    try:
        wait_http(f"http://{HOST}:{port}/", proc, 30, "the no-op server")
        return {
            "saturation": saturate(f"http://{HOST}:{port}{HOOK_PATH}", pool, NOOP_POOL, folder, args, children, "noop"),
            f"{args.rate:g}/s": paced(port, pool, folder, args, children, "noop-paced"),
        }
    finally:
        children.stop(proc)


def healthz(port: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


def drain(port: int, timeout_s: float) -> dict[str, float]:
    """Wait until the daemon has no pending event; the backlog found and how long it took."""
    started = time.monotonic()
    backlog = pending = int(healthz(port)["inbox"]["pending"])
    while pending and time.monotonic() - started < timeout_s:
        time.sleep(0.2)
        pending = int(healthz(port)["inbox"]["pending"])
    if pending:
        raise SystemExit(f"the daemon still had {pending} pending events after {timeout_s:.0f} s")
    return {"backlog": backlog, "drain_s": time.monotonic() - started}


def measure_daemon(
    folder: Path, pool: Pool, args: argparse.Namespace, children: Children, noop_per_s: float
) -> tuple[dict[str, dict], dict[str, int]]:
    port = free_port()
    closed = free_port()  # nothing listens there: the daemon never needs WHMCS to receive
    config = write_daemon_config(
        folder, port=port, secret=pool.secret, whmcs_url=f"http://{HOST}:{closed}/", extra="poll:\n  enabled: false\n"
    )
    proc = start_daemon(children, config, port, folder / "daemon.log")
    try:
        # enough distinct requests that wrk never repeats one: the daemon is not faster than the no-op server
        count = max(5_000, math.ceil(noop_per_s * args.duration * 1.3))
        results = {
            "saturation": saturate(f"http://{HOST}:{port}{HOOK_PATH}", pool, count, folder, args, children, "daemon")
        }
        # the paced run starts on an idle daemon: its engine first works through what saturation stored
        results["saturation"].update(drain(port, timeout_s=300))
        results[f"{args.rate:g}/s"] = paced(port, pool, folder, args, children, "daemon-paced")
    finally:
        code = children.stop(proc)
    if code != 0:
        raise SystemExit(f"the daemon exited {code}; see {folder / 'daemon.log'}")
    with Database(config.parent / "state.db", migrate=False) as db:
        stored = inbox.counts(db)
    return results, stored


def report(args: argparse.Namespace, noop: dict[str, dict], daemon: dict[str, dict], stored: dict[str, int]) -> None:
    paced_mode = f"{args.rate:g}/s"
    print(
        f"load: wrk {args.threads} threads, {args.connections} connections, {args.duration} s (saturation); "
        f"{args.senders} sender processes, {args.rate:g} events/s for {args.paced_seconds} s (paced)"
    )
    print(f"{'server':<24}{'mode':<12}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, runs in (("no-op waitress app", noop), ("whmcs-bridge run", daemon)):
        for mode, f in runs.items():
            print(f"{label:<24}{mode:<12}{f['per_s']:>10.0f}{f['p50_ms']:>9.2f}{f['p99_ms']:>9.2f}{f['errors']:>8.0f}")
    sat_n, sat_d = noop["saturation"], daemon["saturation"]
    print(
        f"saturation: daemon/no-op throughput {sat_d['per_s'] / sat_n['per_s']:.2f}; "
        f"p99 no-op {sat_n['p99_ms']:.2f} ms, daemon {sat_d['p99_ms']:.2f} ms"
    )
    print(
        f"daemon backlog when wrk stopped: {sat_d['backlog']:.0f} events pending for the engine, "
        f"worked through in {sat_d['drain_s']:.1f} s before the paced run"
    )
    print(f"{paced_mode}: p99 no-op {noop[paced_mode]['p99_ms']:.2f} ms, daemon {daemon[paced_mode]['p99_ms']:.2f} ms")
    acked = sum(f["acked"] for f in daemon.values())
    handed = sum(f["handed"] for f in daemon.values())
    total = sum(stored.values())
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(stored.items())) or "none"
    verdict = "none lost" if total >= acked else f"{acked - total:.0f} ACKNOWLEDGED EVENTS MISSING"
    print(
        f"daemon inbox after its run: {total} events ({by_status}); {acked:.0f} answered 2xx, "
        f"at most {handed:.0f} distinct sent (wrk stops with requests in flight): {verdict}"
    )
    if sat_d["wraps"]:
        print(f"note: wrk went through its {sat_d['handed']:.0f} daemon requests again (repeats answer 200 duplicate)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per server (default 10)")
    parser.add_argument("--rate", type=float, default=200, help="paced events per second (default 200)")
    parser.add_argument("--paced-seconds", type=int, default=10, help="seconds of paced load per server (default 10)")
    parser.add_argument("--senders", type=int, default=4, help="paced sender processes (default 4)")
    parser.add_argument("--serve-noop", type=int, metavar="PORT", help="only serve the no-op app on PORT")
    parser.add_argument("--send-paced", metavar="SPEC", help=argparse.SUPPRESS)  # one paced sender (internal)
    args = parser.parse_args()
    if args.serve_noop is not None:
        serve_noop(args.serve_noop)
        return
    if args.send_paced:
        send_paced(args.send_paced)
        return
    if args.threads < 1 or args.connections < args.threads or args.duration < 1:
        parser.error("wrk needs at least one thread, one connection per thread and 1 s")
    if args.rate <= 0 or args.paced_seconds < 1 or args.senders < 1:
        parser.error("the paced run needs a positive rate, 1 s and one sender")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    exit_on_signals()
    pool = Pool(new_secret())
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, Children() as children:
            folder = Path(tmp)
            noop = measure_noop(folder, pool, args, children)
            daemon, stored = measure_daemon(folder, pool, args, children, noop["saturation"]["per_s"])
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    report(args, noop, daemon, stored)


if __name__ == "__main__":
    main()
