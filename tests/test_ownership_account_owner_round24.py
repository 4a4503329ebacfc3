"""Issue 17, twenty-fourth break round, ownership HIGH 3 (repro_make_owner_during_dispute, ..._during_execution): a
domain of the holder's account is frozen by a dispute (or waits for its approval, or is being executed); staff use
WHMCS's "Make Owner" on the holder's whole account instead, handing the requester's person everything the account
holds. The domain's client id stays the holder's, so the watch saw nothing. Whoever owns the account controls what
it holds: the account's owner user (GetClientsDetails `owner_user_id`, DD:api-reference/getclientsdetails.md) is
recorded when the case opens and watched like its subjects; a change is recorded once and raised to staff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_break19_integrity import open_case
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_locks import staff_tickets


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def make_owner(world: World, client: int, user: int) -> None:
    assert world.sandbox.control("access", {"user": user, "client": client, "owner": True}) == {"ok": True}


def owner_of(world: World, client: int) -> int:
    return int(world.sandbox.rows("clients", id=client)[0]["owner_user_id"])


def test_make_owner_on_the_holders_account_during_a_dispute_is_raised_once(world: World):
    case_id = open_and_document(world, "domain:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "decline", "reason": "mine"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    world.later(hours=2)
    assert not staff_tickets(world, case_id, "account")
    make_owner(world, 20, owner_of(world, 21))
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "account")
    assert "client #20" in text or "Kreatif Studio" in text, text
    assert f"user #{owner_of(world, 21)}" in text, text
    assert [h["what"] for h in world.case(case_id)["history"]][-1] == "account owner changed in WHMCS while disputed"
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "account")) == 1  # raised once


def test_make_owner_on_the_holders_account_before_approval_is_raised(world: World):
    case_id = open_case(world)
    world.settle()
    make_owner(world, 20, owner_of(world, 21))
    world.later(hours=4)
    assert staff_tickets(world, case_id, "account"), world.case(case_id)["history"]
