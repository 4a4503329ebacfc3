"""An objection, a dispute or a cancel stops an approved case's WHMCS writes before the next one is sent; what
already ran is said truthfully (tenth break round, issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, make_client
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_locks import staff_tickets
from whmcs_bridge.executor.loop import Executor
from whmcs_bridge.store import audit, outbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.store.outbox import OutboxEntry
from whmcs_bridge.whmcs.api import WhmcsApi

WRITES = ("registrant_update", "domain_lock")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def consented(world: World, *subjects: str, by_phone: bool = False) -> str:
    """A documented case the holder consented to (through its link, or by phone: its link stays open), under
    review, nothing approved yet."""
    case_id = open_and_document(world, *subjects)
    if by_phone:
        world.run(
            "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
            "--by", "bob", "--note", "the holder called: it agrees",
        )  # fmt: skip
    else:
        requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "review"
    return case_id


def writes(world: World) -> list[OutboxEntry]:
    with Database(world.tmp / "state.db", migrate=False) as db:
        return [e for e in outbox.entries(db) if e.kind in WRITES]


def sent(world: World) -> list[str]:
    """The WHMCS writes of a move the sandbox received."""
    wanted = {"DomainUpdateWhoisInfo", "DomainUpdateLockingStatus"}
    return [c["action"] for c in world.sandbox.calls() if c["action"] in wanted]


def executor_only(world: World) -> None:
    """One executor pass with no engine before it: what the daemon's executor does while an answer waits."""
    with Database(world.tmp / "state.db", migrate=False) as db:
        Executor(db, WhmcsApi(make_client(world.sandbox.api_url))).run_once(datetime.now(UTC))


def test_an_objection_recorded_after_approval_stops_the_writes_not_sent_yet(world: World):
    """Tenth break round H1 (race_record_answer.py): staff recorded the holder's objection by phone while the
    daemon worked through the approval's writes; the writes went on being sent after it."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert [e.status for e in writes(world)] == ["planned", "planned"]
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--by", "bob", "--note", "the holder called: it objects",
    )  # fmt: skip
    world.settle()
    assert sent(world) == []
    stopped = writes(world)
    assert [e.status for e in stopped] == ["cancelled", "cancelled"], stopped
    assert all(f"case {case_id} is disputed" in (e.error or "") for e in stopped), stopped
    with Database(world.tmp / "state.db", migrate=False) as db:
        cancelled = [r.detail["key"] for r in audit.entries(db, action="executor.cancelled")]
    assert sorted(cancelled) == sorted(e.key for e in stopped), cancelled
    shown = world.run("ownership", "show", case_id).output
    assert "before any of its 2 steps in WHMCS ran" in shown, shown
    assert "registrant update of domain #20: cancelled" in shown, shown
    [ticket] = staff_tickets(world, case_id, "objection while executing")
    assert "already changed the registrant" not in ticket, ticket


def test_an_objection_through_the_link_waits_the_writes_until_the_rules_decided_it(world: World):
    """Tenth break round H1 (race_approve_link.py): the holder's link said "recorded" while the executor drained
    the approval's queue: the writes went on until the rules read the answer, after the queue was empty."""
    case_id = consented(world, "domain:20", "domain:21", by_phone=True)
    world.run("ownership", "approve", case_id, "--by", "alice")
    link = world.link(20, "Ownership request")
    answer = requests.post(link, data={"decision": "decline", "reason": "I OBJECT"}, timeout=5)
    assert answer.status_code == 200, answer.text
    executor_only(world)  # the answer is in the inbox, not decided yet: nothing is sent meanwhile
    assert sent(world) == []
    assert {e.status for e in writes(world)} == {"planned"}
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    assert sent(world) == []
    assert {e.status for e in writes(world)} == {"cancelled"}


def test_an_objection_after_some_writes_ran_says_which(world: World):
    """Tenth break round H1: the timeline said "before anything moved" above registrant updates that ran. A
    registrar refusing the registrant update leaves it parked and the lock done; the objection says the lock ran,
    and the parked update cannot be approved later."""
    case_id = consented(world, "domain:20")
    world.sandbox.control(
        "faults", {"status": 200, "count": 10, "actions": ["DomainUpdateWhoisInfo"], "message": "Registrar Error"}
    )
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    world.sandbox.control("faults", {"count": 0})
    assert {e.kind: e.status for e in writes(world)} == {"registrant_update": "parked", "domain_lock": "done"}
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--by", "bob", "--note", "the holder called: it objects",
    )  # fmt: skip
    world.settle()
    shown = world.run("ownership", "show", case_id).output
    assert "after 1 of its 2 steps in WHMCS ran (transfer lock of domain #20)" in shown, shown
    [update] = [e for e in writes(world) if e.kind == "registrant_update"]
    before = len(sent(world))
    # Approving it is refused at once (thirteenth round LOW 1: it was planned, then cancelled by its guard).
    refused = world.fail("approvals", "approve", str(update.id), "--by", "carol")
    assert f"ownership case {case_id} is disputed" in refused, refused
    world.settle()
    assert len(sent(world)) == before
    [update] = [e for e in writes(world) if e.kind == "registrant_update"]
    assert update.status == "parked", update
    [ticket] = staff_tickets(world, case_id, "objection while executing")
    assert "turned the transfer lock on" in ticket and "changed the registrant" not in ticket, ticket


def test_a_cancel_after_the_registrant_update_ran_says_what_staff_must_undo(world: World):
    """Tenth break round M4 (cancel_after_registrant.py): approved, the registrant update and the lock ran, the holder
    objected, staff cancelled: nothing said the domain now carries the requester as registrant and is locked."""
    case_id = consented(world, "domain:20")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    assert {e.status for e in writes(world)} == {"done"}
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "post",
        "--by", "alice", "--note", "registered letter: we never agreed",
    )  # fmt: skip
    world.settle()
    out = world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "parties settled").output
    left = out.partition("still in WHMCS for staff to undo: ")[2].partition("\n")[0]
    assert "registrant update of domain #20" in left and "transfer lock of domain #20" in left, out
    world.settle()
    shown = world.run("ownership", "show", case_id).output
    undo = shown.partition("Left in WHMCS for staff to undo")[2].partition("Timeline")[0]
    assert "registrant update of domain #20" in undo and "transfer lock of domain #20" in undo, shown
    [ticket] = staff_tickets(world, case_id, "closed with the bridge's changes still in WHMCS")
    assert "changed the registrant of majumakmur.co.id" in ticket and "transfer lock" in ticket, ticket


@pytest.mark.parametrize(("subject", "status"), [("domain:20", "Transferred Away"), ("domain:20", "Cancelled")])
def test_approve_refuses_a_subject_whmcs_no_longer_has_in_a_state_to_move(world: World, subject: str, status: str):
    """Tenth break round M5 (subject_gone.py): the domain was transferred away during review; `approve` went through
    and the registrant update and the lock were "done" on a domain WHMCS no longer manages."""
    case_id = consented(world, subject)
    world.sandbox.post("UpdateClientDomain", domainid=20, status=status)
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"domain #20 majumakmur.co.id is {status} in WHMCS" in refused, refused
    assert world.case(case_id)["status"] == "review"
    assert writes(world) == []
