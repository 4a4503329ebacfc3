"""Issue 17, twenty-seventh round of ownership fixes: how an ownership case sees moves in WHMCS (break round 26's
MEDIUM 9, 10 and 11), against the vendor-dispute sandbox and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_account_owner_round24 import make_owner, owner_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import completed_case
from tests.test_ownership_locks import staff_tickets


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


# --- MEDIUM 10 (repro_second_move_during_lock_silent, t_lock_flipflop): a second move is raised again ------------


def test_a_second_move_to_the_same_client_during_the_lock_is_raised_again(world: World):
    """The locked domain goes back to the vendor (raised), staff put it back with the company, and later it goes to
    the vendor again: that is a new move WHMCS shows, raised again (not taken for the first one)."""
    case_id = completed_case(world)  # domain 20 with the company (#21), locked
    world.sandbox.control("move", {"domain": 20, "client": 20})
    world.later(hours=4)
    assert len(staff_tickets(world, case_id, "moved in WHMCS while locked")) == 1
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "moved in WHMCS while locked")) == 1  # the same move read twice
    world.sandbox.control("move", {"domain": 20, "client": 21})  # staff put it back
    world.later(hours=8)
    assert world.case(case_id)["history"][-1]["what"] == "back in WHMCS where expected while locked"
    assert len(staff_tickets(world, case_id, "moved in WHMCS while locked")) == 1
    world.sandbox.control("move", {"domain": 20, "client": 20})  # and again, weeks later
    world.later(hours=10)
    texts = staff_tickets(world, case_id, "moved in WHMCS while locked")
    assert len(texts) == 2, world.case(case_id)["history"][-3:]
    assert "Kreatif Studio (#20)" in texts[-1], texts[-1]
    assert [h["what"] for h in world.case(case_id)["history"]].count("moved in WHMCS while locked") == 2


def test_a_second_make_owner_to_the_same_user_during_a_dispute_is_raised_again(world: World):
    case_id = open_and_document(world, "domain:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "decline", "reason": "mine"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    vendor, siti = owner_of(world, 20), owner_of(world, 21)
    make_owner(world, 20, siti)
    world.later(hours=2)
    assert len(staff_tickets(world, case_id, "account")) == 1
    make_owner(world, 20, vendor)  # the owner the case recorded, again
    world.later(hours=4)
    assert len(staff_tickets(world, case_id, "account")) == 1
    make_owner(world, 20, siti)
    world.later(hours=6)
    texts = staff_tickets(world, case_id, "account")
    assert len(texts) == 2, world.case(case_id)["history"][-3:]
    assert f"user #{siti}" in texts[-1], texts[-1]
    world.later(hours=8)
    assert len(staff_tickets(world, case_id, "account")) == 2  # the same change read twice
