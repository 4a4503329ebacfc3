"""The receiver first during a burst (issue 12): the engine shares the daemon's process with the receiver, so while
webhooks keep arriving it steps back after each batch of decisions, and never stops deciding."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import Sandbox
from tests.test_daemon import Running, configure, free_port, wait_until, world  # noqa: F401  (the fixture)
from tests.test_engine import Reminders, add_event
from whmcs_bridge.daemon import YIELD_MAX_S, YIELD_SHARE, yield_for
from whmcs_bridge.engine import BATCH, Engine
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.writer import BURST, InboxWriter

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_the_engine_is_handed_back_after_each_full_batch_but_the_last(db: Database):
    for n in range(2 * BATCH + 7):
        add_event(db, f"e{n}", "InvoiceCreated", {"invoiceid": n})
    spent: list[float] = []
    report = Engine(db, [Reminders()]).run_once(NOW, between=spent.append)
    assert report.events == 2 * BATCH + 7  # stepping back decides nothing less
    assert len(spent) == 2 and all(s >= 0 for s in spent)
    assert inbox.pending_count(db) == 0


def test_the_engine_steps_back_only_while_webhooks_arrive():
    assert yield_for(False, 0.2) == 0.0
    assert yield_for(True, 0.01) == 0.01 * YIELD_SHARE
    assert yield_for(True, 60.0) == YIELD_MAX_S  # a long pass is not answered with a long stop
    assert yield_for(True, -1.0) == 0.0  # a clock step back is no reason to wait


def test_the_writer_says_when_events_arrive_as_a_burst(tmp_path: Path):
    """One event now and then is acted on at once (the engine does not step back for it); BURST of them within the
    window are a burst."""
    Database(tmp_path / "state.db").close()
    writer = InboxWriter(tmp_path / "state.db")
    try:
        assert not writer.arriving(3600)
        for n in range(BURST):
            assert not writer.arriving(3600)
            assert writer.add(
                event_id=f"w{n}", type="InvoicePaid", source="webhook", body="{}", received_at=NOW, fact=f"paid:{n}"
            )
        assert writer.arriving(3600)
        assert not writer.arriving(0.0)  # the same events, older than the window
    finally:
        writer.close()


def test_a_steady_stream_of_webhooks_never_starves_the_engine(world: Sandbox, tmp_path: Path):  # noqa: F811
    """Webhooks sent back to back for the whole test: the engine decides events while they still arrive (it only
    steps back), and every acknowledged event is decided in the end."""
    port = free_port()
    daemon = Running(configure(tmp_path, world, port), port)
    sent: list[str] = []
    decided_while_sending = threading.Event()
    try:

        def decided() -> int:
            with Database(tmp_path / "state.db") as db:
                return sum(1 for e in sent[:] if (x := inbox.by_event_id(db, e)) and x.status == "done")

        stop = threading.Event()

        def send() -> None:
            n = 0
            while not stop.is_set():
                event_id = f"stream_{n}"
                assert daemon.send(event_id, "InvoiceCreated", {"invoiceid": 900_000 + n}) == 202
                sent.append(event_id)
                n += 1

        sender = threading.Thread(target=send)
        sender.start()
        try:
            wait_until(lambda: len(sent) > 50 and decided() > 0, seconds=60)
            decided_while_sending.set()
        finally:
            stop.set()
            sender.join(timeout=30)
        wait_until(lambda: decided() == len(sent), seconds=120)
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    assert decided_while_sending.is_set()
