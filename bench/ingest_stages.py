"""bench/ingest_stages.py: where a durable webhook's time goes, stage by stage, against the no-op server.

bench/ingest.py compares `whmcs-bridge run` with a no-op WSGI app on the same waitress stack. This script
puts the steps between the two in one run, each in its own server process, each saturated by the same
`wrk` load from outside the process (pre-signed requests, see bench/ingest.py):

1. no-op: reads the body, answers 202 (bench/ingest.py's baseline);
2. checks: the real receiver (`intake.receiver.Receiver`): size, signature, UTF-8 JSON, shape, hook type,
   consent-link redaction; its inbox writer answers at once and stores nothing;
3. stored: as 2, and the inbox writer commits each batch to SQLite, but with `synchronous=OFF` (an
   acknowledged event could be lost by a power cut);
4. durable: the receiver exactly as `run` serves it (`synchronous=FULL`: an acknowledged event is on disk);
5. run: `whmcs-bridge run` (4, and the engine deciding on the events in the same process).

Prints each stage's events/s, p50/p99 latency, its ratio to the no-op server, and the server time per
event each stage adds to the one before (1/rate - 1/rate_before, in microseconds). The machine is shared
with `wrk`, so the figures are for this machine; the ratios and the differences come from one run.

    .venv/bin/python bench/ingest_stages.py [--threads 2] [--connections 16] [--duration 10]

Needs `wrk` on PATH (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402
from whmcs_bridge.daemon import SWITCH_INTERVAL_S  # noqa: E402
from whmcs_bridge.intake.receiver import HOOK_PATH, Receiver, serve  # noqa: E402
from whmcs_bridge.store.writer import InboxWriter  # noqa: E402

STAGES = ("no-op", "checks", "stored", "durable", "run")
SERVED = ("checks", "stored", "durable")  # the receiver stages, served by this script


class _AnswersAtOnce(InboxWriter):
    """Stage 2's writer: every event is taken as new, nothing is written (its thread idles)."""

    def add(self, **fields: Any) -> bool:
        return True


def serve_stage(stage: str, port: int, secret: str, db_path: Path) -> None:
    logging.getLogger("waitress").setLevel(logging.ERROR)  # queue-depth warnings are expected under load
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as `run` serves (whmcs_bridge/daemon.py, Daemon._run)
    receiver = Receiver(db_path, [secret])
    if stage != "durable":
        receiver.writer.close()
        # stage 3: the same group commit, on a connection that never waits for the disk
        receiver.writer = _AnswersAtOnce(db_path) if stage == "checks" else InboxWriter(db_path, durable=False)
    serve(receiver, ingest.HOST, port).run()


def measure(
    stage: str, folder: Path, pool: ingest.Pool, args: argparse.Namespace, children: ingest.Children, count: int
) -> dict[str, float]:
    port = ingest.free_port()
    if stage == "run":
        closed = ingest.free_port()  # nothing listens there: the daemon never needs WHMCS to receive
        config = ingest.write_daemon_config(
            folder,
            port=port,
            secret=pool.secret,
            whmcs_url=f"http://{ingest.HOST}:{closed}/",
            extra="poll:\n  enabled: false\n",
        )
        proc = ingest.start_daemon(children, config, port, folder / "daemon.log")
    else:
        command = [sys.executable, str(ingest.ROOT / "bench" / "ingest.py"), "--serve-noop", str(port)]
        if stage in SERVED:
            command = [sys.executable, __file__, "--serve", stage, str(port), pool.secret, str(folder / f"{stage}.db")]
        proc = children.start(command, cwd=ROOT)
        ingest.wait_http(f"http://{ingest.HOST}:{port}/", proc, 60, f"the {stage} server")
    try:
        return ingest.saturate(
            f"http://{ingest.HOST}:{port}{HOOK_PATH}", pool, count, folder, args, children, stage.replace("-", "")
        )
    finally:
        children.stop(proc)


def report(args: argparse.Namespace, figures: dict[str, dict[str, float]]) -> None:
    print(f"load: wrk {args.threads} threads, {args.connections} connections, {args.duration} s per stage")
    print(f"{'stage':<10}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'/no-op':>8}{'adds us/event':>15}")
    base = figures["no-op"]["per_s"]
    before = None
    for stage in STAGES:
        f = figures[stage]
        adds = "" if before is None else f"{1e6 / f['per_s'] - 1e6 / before:.0f}"
        print(
            f"{stage:<10}{f['per_s']:>10.0f}{f['p50_ms']:>9.2f}{f['p99_ms']:>9.2f}{f['errors']:>8.0f}"
            f"{f['per_s'] / base:>8.2f}{adds:>15}"
        )
        before = f["per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per stage (default 10)")
    parser.add_argument("--serve", nargs=4, metavar=("STAGE", "PORT", "SECRET", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        stage, port, secret, db = args.serve
        serve_stage(stage, int(port), secret, Path(db))
        return
    if args.threads < 1 or args.connections < args.threads or args.duration < 1:
        parser.error("wrk needs at least one thread, one connection per thread and 1 s")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    ingest.exit_on_signals()
    pool = ingest.Pool(ingest.new_secret())
    figures: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp, ingest.Children() as children:
            folder = Path(tmp)
            count = ingest.NOOP_POOL
            for stage in STAGES:
                figures[stage] = measure(stage, folder, pool, args, children, count)
                # enough distinct requests that wrk never repeats one at the next (slower) stage
                count = max(5_000, math.ceil(figures[stage]["per_s"] * args.duration * 1.3))
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    report(args, figures)


if __name__ == "__main__":
    main()
