"""Twenty-sixth break round (ownership), HIGH 1: a whole account's holder invited another login of its own on the
account after the case opened; at the hand-over the bridge removed only the users the account had at the opening,
and the vendor's new login kept access to the company's account through the completion and the lock. Until WHMCS
shows the account with its new owner, only the holder could invite anyone on it (WHMCS lets an account's owner
manage its users: DD:api-reference/getclientsdetails.md lists them, the owner marked): every user the first read
after the hand-over finds there, but the new owner and the requester's own people, is the holder's and loses its
access (DeleteUserClient, DD:api-reference/deleteuserclient.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_account_users_round25 import users_of
from tests.test_ownership_e2e import World, vendor_world
from tests.test_ownership_round23 import executing_whole_account, owner_of


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_a_login_the_holder_invited_after_the_opening_loses_the_account_too(world: World):
    holder_login = owner_of(world, 20)
    case_id = executing_whole_account(world)
    invited_late = owner_of(world, 22)  # invited by the vendor on its account after the case opened
    world.sandbox.control("access", {"user": invited_late, "client": 20})
    new_owner = owner_of(world, 21)
    world.sandbox.control("access", {"user": new_owner, "client": 20, "owner": True})
    world.later(hours=2)
    world.later(hours=2)
    users = users_of(world, 20)
    assert holder_login not in users and invited_late not in users, users
    assert new_owner in users
    case = world.case(case_id)
    assert case["status"] == "completed", case["history"][-3:]
    done = sorted(h["what"] for h in case["history"] if "access to client #20" in h["what"])
    assert done == sorted(f"removal of user #{u}'s access to client #20 done" for u in (holder_login, invited_late))
