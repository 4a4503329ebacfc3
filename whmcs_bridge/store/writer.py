"""Group commit for webhooks: one thread writes every incoming event into the inbox, and what arrives
while a commit is under way joins the next one. A burst (WHMCS's billing-day cron fires InvoiceCreated
and EmailPreLog for every invoice, and the hook waits for each answer) then costs one fsync per batch
instead of one per event. Each caller still waits for its own commit: an acknowledged event is on disk
(synchronous=FULL), and at low load nothing waits for a batch to fill."""

from __future__ import annotations

import collections
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database

MAX_BATCH = 256
BURST = 8  # arrivals that make a burst when they all came within arriving()'s window


class _Pending:
    """One event waiting for its commit. `done` is a bare lock taken at birth and released by the writer once the
    commit is over: the caller's acquire() waits in C, with the GIL released, and costs a fraction of a
    threading.Event's wait and set (Python code, a Condition and a lock of its own for each)."""

    __slots__ = ("fields", "done", "stored", "error")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.done = threading.Lock()
        self.done.acquire()
        self.stored = False
        self.error: sqlite3.Error | None = None


class InboxWriter:
    def __init__(self, db_path: Path, *, durable: bool = True) -> None:
        self.db_path = db_path
        self.durable = durable
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self.commits = 0  # transactions committed (events / commits = the mean batch)
        # time.monotonic() of the last BURST events handed to the writer (arriving())
        self._recent: collections.deque[float] = collections.deque(maxlen=BURST)
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._thread.start()

    def add(self, **fields: Any) -> bool:
        """inbox.add() through the shared commit: True if stored, False if already there. Returns once the
        event is committed; raises the store's error if the commit failed."""
        item = _Pending(fields)
        self._recent.append(time.monotonic())
        self._queue.put(item)
        item.done.acquire()  # released by the writer once the commit is over
        if item.error is not None:
            raise item.error
        return item.stored

    def arriving(self, within_s: float) -> bool:
        """Whether webhooks are coming in as a burst: the last BURST events all arrived in the last `within_s`
        seconds. One event now and then is not (the engine then acts on it at once: bench/latency)."""
        recent = list(self._recent)
        return len(recent) == BURST and time.monotonic() - recent[0] < within_s

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def open(self) -> Database:
        """The writer thread's connection: synchronous=FULL, unless built with durable=False, which only
        bench/ingest_stages.py does, to measure what waiting for the disk costs."""
        db = Database(self.db_path, migrate=False)
        if not self.durable:
            db.conn.execute("PRAGMA synchronous=OFF")
        return db

    def _run(self) -> None:
        db = self.open()
        try:
            while True:
                batch, stop = self._gather()
                if batch:
                    self._commit(db, batch)
                if stop:
                    return
        finally:
            db.close()

    def _gather(self) -> tuple[list[_Pending], bool]:
        """The next event, and every one already waiting behind it (up to MAX_BATCH)."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, db: Database, batch: list[_Pending]) -> None:
        try:
            with db.atomic():
                stored = inbox.add_many(db, [item.fields for item in batch])
            for item, was_stored in zip(batch, stored, strict=True):
                item.stored = was_stored
            self.commits += 1
        except sqlite3.Error as exc:  # nothing of the batch is stored: every caller answers 503
            for item in batch:
                item.stored, item.error = False, exc
        for item in batch:
            item.done.release()
