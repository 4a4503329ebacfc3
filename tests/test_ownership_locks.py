"""Issue 17, finding 3 against the sandbox: the lock and the freeze cover what they contain. A claim on a
whole account is checked against every service and domain it holds; a move made in WHMCS's admin area
while a case is disputed (or locked) is found and raised to staff; a backup-only outcome locks nothing
that stayed with its holder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import completed_case


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_tickets(world: World, case_id: str, part: str) -> list[str]:
    found = [t for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"Ownership case {case_id}: {part}")]
    return [world.sandbox.rows("ticket_replies", ticket_id=t["id"])[0]["message"] for t in found]


def test_a_whole_account_claim_is_refused_while_a_domain_it_holds_is_locked(world: World):
    case_id = completed_case(world)  # domain 20 moved to the company, locked
    # The company now holds the domain, locked: the vendor's claim on the company's whole account is refused.
    refused = world.fail(
        "ownership",
        "open",
        "--subject",
        "client:21",
        "--requester",
        "client:20",
        "--grounds",
        "vendor",
        "--by",
        "carol",
    )
    assert f"ownership case {case_id} completed" in refused and "locked until" in refused
    # From the second issue-17 break test: a court can order the domain back within the lock; a case on a
    # court order is opened (the lock is for claims, not for a judge).
    ordered = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:20", "--grounds", "court-order",
        "--by", "carol",
    ).output  # fmt: skip
    assert world.case(ordered.split()[0])["grounds"] == "court-order"


def test_a_move_in_whmcs_during_a_dispute_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "domain:20", "service:201")
    link = world.link(20, "Ownership request")
    requests.post(link, data={"decision": "decline", "reason": "not paid"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    world.later(hours=2)
    assert not staff_tickets(world, case_id, "moved in WHMCS")  # nothing moved yet
    world.sandbox.control("move", {"service": 201, "client": 21})  # someone in the admin area
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "moved in WHMCS while disputed")
    assert "service #201" in text or "majumakmur.co.id" in text
    assert "PT Maju Makmur (#21)" in text
    case = world.case(case_id)
    assert case["status"] == "disputed"
    assert [h["what"] for h in case["history"]][-1] == "moved in WHMCS while disputed"
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "moved in WHMCS while disputed")) == 1  # raised once


def test_a_backup_only_completion_locks_nothing_of_the_vendors(world: World):
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    assert world.case(case_id)["subjects"][0]["hand_over"] == "backup-only"
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    out = world.run("ownership", "complete", case_id, "--by", "alice", "--note", "backup sent").output
    assert world.case(case_id)["status"] == "completed"
    # From the issue-17 break test: "Locked until" was shown for an outcome that locks nothing.
    assert "locked until" not in out, out
    shown = world.run("ownership", "show", case_id).output
    assert "Locked until:" not in shown and "nothing changed hands" in shown, shown
    # The vendor's own service stayed its own: its delegations are its own business.
    out = world.run(
        "delegations",
        "grant",
        "--owner",
        "20",
        "--delegate",
        "21",
        "--service",
        "201",
        "--by",
        "alice",
        "--basis",
        "the vendor asks for it",
    ).output
    assert "locked" not in out
    assert "201" in world.run("delegations", "list", "--owner", "20").output
