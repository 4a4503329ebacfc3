"""bench/audit: what keying the audit chain costs. N rows are appended to a real state database twice in
one run, each in its own temporary folder, on the same machine:

- unkeyed: the database opened without its signing key (`Database(..., signing=False)`): each append
  hashes its row and moves the head, as before the chain was keyed;
- keyed: the database with its Ed25519 key beside it (made on first use): each append also signs the
  head, and every 64th row keeps a signed checkpoint.

Each append is its own transaction (as the bridge's are: one per decision), in a mode given by --batch
(rows per transaction, default 1). The order alternates over --rounds (default 3) so that neither mode
always runs on a warmer disk cache; the best round of each is kept. Prints rows/s for both, the ratio,
the signing cost per row in microseconds, and `audit verify` time over the keyed chain.

    .venv/bin/python bench/audit.py [--rows 5000] [--rounds 3] [--batch 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


def append_rows(folder: Path, rows: int, batch: int, *, keyed: bool) -> float:
    """Seconds to append `rows` rows to a new database in `folder`."""
    with Database(folder / "state.db", signing=keyed) as db:
        assert (db.signer is not None) == keyed
        detail = {"amount": "49.95", "invoice": 0, "text": "reminder sent"}
        start = time.perf_counter()
        done = 0
        while done < rows:
            with db.atomic():
                for _ in range(min(batch, rows - done)):
                    detail["invoice"] = done
                    audit.append(db, "escalation.notice_sent", client_id=done % 97, detail=detail)
                    done += 1
        return time.perf_counter() - start


def verify_seconds(folder: Path) -> tuple[int, float]:
    with Database(folder / "state.db", migrate=False) as db:
        start = time.perf_counter()
        count = audit.verify(db)
        return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="rows per transaction")
    args = parser.parse_args()
    best = {False: float("inf"), True: float("inf")}
    verified: tuple[int, float] = (0, 0.0)
    for round_no in range(args.rounds):
        for keyed in (round_no % 2 == 0, round_no % 2 == 1):
            with tempfile.TemporaryDirectory(prefix="whmcs-bridge-bench-audit-") as tmp:
                seconds = append_rows(Path(tmp), args.rows, args.batch, keyed=keyed)
                best[keyed] = min(best[keyed], seconds)
                if keyed:
                    verified = verify_seconds(Path(tmp))
    plain, signed = args.rows / best[False], args.rows / best[True]
    print(f"rows appended per run: {args.rows}, {args.batch} per transaction, best of {args.rounds} rounds")
    print(f"unkeyed: {plain:10.0f} rows/s")
    print(f"keyed:   {signed:10.0f} rows/s  (head signed at every append, a checkpoint every 64 rows)")
    print(f"keyed/unkeyed throughput: {signed / plain:.3f}")
    print(f"signing cost per row: {(best[True] - best[False]) / args.rows * 1e6:.1f} us")
    count, seconds = verified
    print(f"audit verify of the keyed chain: {count} rows in {seconds * 1000:.0f} ms ({count / seconds:.0f} rows/s)")


if __name__ == "__main__":
    main()
