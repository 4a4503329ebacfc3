"""Twenty-fourth break round (ownership flow): a whole account made one of its holder's own users', what the account
gained after the approval, a holder's consent the requester could give, approvals over withdrawn evidence, cases that
could be neither cancelled nor completed, a guest's draft, and requester-contact's characters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, vendor_world
from tests.test_ownership_round23 import executing_whole_account, owner_of


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_tickets(world: World, case_id: str) -> list[str]:
    return [t["subject"] for t in world.sandbox.rows("tickets") if case_id in t["subject"]]


def test_a_whole_account_made_a_user_it_had_at_opening_is_raised_not_completed(world: World):
    """HIGH 1: a user of the holder's account when the case opened, also invited on the requester's account, was
    taken for the new holder after staff's "Make Owner": the case completed and locked the account in the holder's
    own hands."""
    login = owner_of(world, 22)
    world.sandbox.control("access", {"user": login, "client": 20})
    world.sandbox.control("access", {"user": login, "client": 21})
    case_id = executing_whole_account(world)
    before = staff_tickets(world, case_id)
    world.sandbox.control("access", {"user": login, "client": 20, "owner": True})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "executing", case["status"]
    raised = [t for t in staff_tickets(world, case_id) if t not in before]
    assert raised, staff_tickets(world, case_id)
    assert any("user of the holder's account" in h["why"] for h in case["history"]), case["history"][-3:]


def test_what_a_whole_account_gained_after_the_approval_holds_its_completion(world: World):
    """HIGH 2: a hosting and a domain ordered on the account after the approval went to the requester with "Make
    Owner", unsaid. Completion reads what the account holds, as the approval did: anything more is raised to staff."""
    case_id = executing_whole_account(world)
    world.sandbox.control("checkout", {"client_id": 20, "user_id": 1, "pid": 1, "domain": "tokobaru.id"})
    world.settle()
    before = staff_tickets(world, case_id)
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20, "owner": True})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "executing", case["status"]
    raised = [t for t in world.sandbox.rows("tickets") if case_id in t["subject"] and t["subject"] not in before]
    assert raised, staff_tickets(world, case_id)
    body = world.sandbox.rows("ticket_replies", ticket_id=raised[-1]["id"])[0]["message"]
    assert "tokobaru.id" in body and "after the approval" in body, body
    # Staff move what was added out of the account: the account is as it was approved, the case completes.
    for s in world.sandbox.rows("services", client_id=20):
        if s["id"] != 201:
            world.sandbox.control("move", {"service": s["id"], "client": 22})
    added = next(d["id"] for d in world.sandbox.rows("domains", client_id=20) if d["domainname"] == "tokobaru.id")
    world.sandbox.control("move", {"domain": added, "client": 22})
    world.later(hours=4)
    assert world.case(case_id)["status"] == "completed", world.case(case_id)["history"][-3:]
