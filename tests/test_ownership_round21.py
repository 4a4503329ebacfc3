"""Issue 17, twenty-first round: what the twentieth round left open, each seen failing first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_dossier_e2e import edit_case, put_back
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import completed_case
from whmcs_bridge.families.ownership.freeze import frozen
from whmcs_bridge.model import Decision
from whmcs_bridge.store import states
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_a_lock_or_a_deadline_edited_in_the_database_is_caught(world: World, tmp_path: Path):
    """Twentieth round, left open: the lock after a completed change (`lock_until`) and the holder's deadline
    (`deadline`) lived in the case's JSON only, so an edit in the SQLite file shortened the lock (the vendor could
    claim the domain back at once) or the window (silence concluded early), and the dossier stated the edited dates.
    Both are recorded in the audit chain when set; the case's state is checked against it, as its other facts are."""
    notified = open_and_document(world, "service:201")
    assert world.case(notified)["status"] == "notified"

    def early(case: dict[str, Any]) -> None:
        case["deadline"] = "2026-01-01T00:00:00+00:00"

    state = edit_case(world, notified, early)
    refused = world.fail("ownership", "export", notified, "--out", str(tmp_path / "d1"))
    assert "edited outside the bridge (the holder's deadline" in refused, refused
    put_back(world, notified, state)

    completed = completed_case(world)

    def unlocked(case: dict[str, Any]) -> None:
        case["lock_until"] = "2026-01-01T00:00:00+00:00"

    edit_case(world, completed, unlocked)
    refused = world.fail("ownership", "export", completed, "--out", str(tmp_path / "d2"))
    assert "edited outside the bridge (the lock until" in refused, refused


def test_an_evidence_item_edited_in_the_database_is_caught(world: World, tmp_path: Path):
    """Twenty-first round H1: an evidence item's status edited in the SQLite file was caught, its other fields were
    not: an extract re-dated to today (the 90-day limit read from it), another stored file named as the signatory's
    ID, a document relabelled as the court order, its sender and channel changed. The dossier then held the wrong
    file as the ID, signed. Each field is checked against the attach command's audit row."""
    case_id = open_and_document(world, "domain:20")
    evidence = world.case(case_id)["evidence"]
    assert len(evidence) >= 2

    def redated(case: dict[str, Any]) -> None:
        case["evidence"][0]["dated"] = "2026-11-27"

    def swapped(case: dict[str, Any]) -> None:
        case["evidence"][1]["sha256"] = case["evidence"][0]["sha256"]

    def relabelled(case: dict[str, Any]) -> None:
        case["evidence"][0]["kind"] = "court-order"

    def sent_by(case: dict[str, Any]) -> None:
        case["evidence"][0].update({"from": "holder", "via": "post"})

    for change in (redated, swapped, relabelled, sent_by):
        state = edit_case(world, case_id, change)
        out = tmp_path / change.__name__
        refused = world.fail("ownership", "export", case_id, "--out", str(out))
        assert "edited outside the bridge (evidence item" in refused and not out.exists(), (change.__name__, refused)
        put_back(world, case_id, state)
    world.run("ownership", "export", case_id, "--out", str(tmp_path / "intact"))


def test_a_completed_whole_account_case_locks_what_the_account_holds(tmp_path: Path):
    """Twenty-first round H2: a case on client 20's whole account completed and locked it for 60 days; during the
    lock a new case on domain 21, which the account holds, opened (its old owner was asked again about what it had
    handed over). The lock on an account that changed hands covers what the account holds, as an open claim on it
    does (an `account` item names the account holding the subjects of a new case)."""
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    case = {
        "id": "o-whole",
        "status": "completed",
        "completed": "2026-11-20T10:00:00+00:00",
        "lock_until": "2027-01-19T10:00:00+00:00",
        "holder": {"client": 20},
        "subjects": [{"kind": "client", "id": 20, "moved_to": 7, "hand_over": "move"}],
    }
    with Database(tmp_path / "state.db", signing=False) as db, db.atomic():
        states.save(db, "ownership", "case:o-whole", Decision(state=case), now)
        refusal = frozen(db, [{"kind": "domain", "id": 21}, {"kind": "account", "id": 20}], now, open_cases=True)
        assert refusal is not None and "locked until 2027-01-19" in refusal, refusal
        court = frozen(db, [{"kind": "domain", "id": 21}, {"kind": "account", "id": 20}], now, court_order=True)
        assert court is None  # the lock holds claims back, not a court order


def test_a_grant_on_one_item_of_a_frozen_account_is_refused(world: World):
    """Twenty-first round H2 and M3: a dispute over client 20's whole account refused a whole-account grant on it,
    yet gave one on a domain the account holds; the lock after a whole account changed hands did the same. A hold on
    an account (README: a dispute freezes its subjects and the holder's account) covers a new grant on anything in it;
    revoking stays possible."""
    case_id = open_and_document(world, "client:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "decline", "reason": "mine"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    domain = next(d["id"] for d in world.sandbox.rows("domains", client_id=20))
    refused = world.fail(
        "delegations", "grant", "--owner", "20", "--delegate", "22", "--domain", str(domain), "--by", "alice",
        "--basis", "the vendor's new contact",
    )  # fmt: skip
    assert "no new grant" in refused and f"ownership case {case_id}" in refused and "disputed" in refused, refused
