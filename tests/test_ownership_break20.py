"""Issue 17, nineteenth break round, MEDIUM 1, against the sandbox: a claim on a whole client account watches what
the account holds. A service or a domain moved out of the account in WHMCS's admin area while the case is open or
disputed leaves the claim without anyone noticing; it is found by the next check and raised to staff, as a move of a
claimed service or domain is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.families.ownership.watch import expected, watched


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_tickets(world: World, case_id: str, part: str) -> list[str]:
    found = [t for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"Ownership case {case_id}: {part}")]
    return [world.sandbox.rows("ticket_replies", ticket_id=t["id"])[0]["message"] for t in found]


def test_a_service_moved_out_of_a_disputed_account_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "client:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "decline", "reason": "mine"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    world.later(hours=2)
    assert not staff_tickets(world, case_id, "moved in WHMCS")  # nothing moved yet
    world.sandbox.control("move", {"service": 201, "client": 22})  # out of the claimed account
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "moved in WHMCS while disputed")
    assert "service #201" in text or "majumakmur.co.id" in text, text
    assert "(#22)" in text, text
    assert [h["what"] for h in world.case(case_id)["history"]][-1] == "moved in WHMCS while disputed"
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "moved in WHMCS while disputed")) == 1  # raised once


def test_a_domain_moved_out_of_an_account_not_approved_yet_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "client:20")
    world.settle()
    assert world.case(case_id)["status"] not in ("disputed", "completed")
    domain = next(d["id"] for d in world.sandbox.rows("domains", client_id=20))
    world.sandbox.control("move", {"domain": domain, "client": 22})
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "moved in WHMCS while not approved yet")
    assert f"domain #{domain}" in text or ".id" in text, text
    assert "(#22)" in text, text


def test_a_locked_account_watches_what_it_held_at_approval():
    """Locked after its completion, the account moved (its owner user changed) and what it held at the approval
    stays in it: a service moved out of it is a move while locked."""
    case = {
        "status": "completed",
        "subjects": [
            {"kind": "client", "id": 20, "holder_ref": 1, "moved_to": 7, "hand_over": "move",
             "contents": ["service:201"], "contents_approved": ["service:201", "domain:20"]},
        ],
    }  # fmt: skip
    items = {f"{s['kind']}:{s['id']}": expected(case, s) for s in watched(case)}
    assert items == {"client:20": (7,), "service:201": (20,), "domain:20": (20,)}
