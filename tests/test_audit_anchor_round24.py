"""Issue 17, twenty-fourth break round, ownership evidence MEDIUM 6 (repro_tail_cut_head_replayed): an evidence
item attached and checked after the last anchor could be cut from the chain, with the signed head of the moment
before put back, and every check passed: attach and check were not decisions, so nothing anchored them until the
daily anchor. Every staff command on an ownership case now makes the chain due for an anchor at the next pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from whmcs_bridge.evidence import anchor
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("command", ["attach", "check", "withdraw", "contact", "step"])
def test_any_staff_command_on_a_case_makes_the_chain_due_for_an_anchor(tmp_path: Path, command: str):
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        audit.checkpoint(db, "decision")
        audit.record_anchor(db, 1, 7, T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) is None
        audit.append(db, f"staff.OwnershipCommand.{command}", case_id="o1", detail={"by": "alice"}, at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) == f"decision (staff.OwnershipCommand.{command})"


def test_a_rules_seal_alone_does_not_make_the_chain_due(tmp_path: Path):
    """A locked case seals its state at each of its hourly reads: not a decision."""
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        audit.checkpoint(db, "decision")
        audit.record_anchor(db, 1, 7, T0.isoformat())
        audit.append(db, "state.sealed", case_id="o1", detail={"key": "case:o1"}, at=T0.isoformat())
        assert anchor.due(db, T0 + timedelta(hours=1)) is None
