"""Issue 17, twenty-third break round (ownership flow): the requester's name staff give with `requester-contact`
made the case look edited outside the bridge (the opening's recorded parties), so the holder's answer through its
link was parked and even `cancel` was refused (MEDIUM 6, a regression of the twenty-second round's H fix), and a whole account made a third client's user's completed (HIGH 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_dossier_e2e import edit_case
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def outside_case(world: World) -> str:
    return str(
        world.run(
            "ownership", "open", "--subject", "domain:20", "--requester", "PT Maju Makmur, legal@majumakmur.co.id",
            "--grounds", "brand", "--by", "alice",
        ).output.split()[0]
    )  # fmt: skip


def test_the_requesters_name_given_by_staff_is_the_cases_own_change(world: World):
    case_id = outside_case(world)
    world.settle()
    world.run("ownership", "requester-contact", case_id, "--name", "Andi Wijaya", "--city", "Jakarta", "--by", "bob")
    assert world.case(case_id)["requester"]["name"] == "Andi Wijaya"
    shown = world.run("ownership", "show", case_id).output
    assert "edited outside the bridge" not in shown, shown
    world.run("audit", "verify")
    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "settled between them")
    assert world.case(case_id)["status"] == "cancelled"


def test_a_requesters_name_edited_in_the_database_is_still_caught(world: World):
    case_id = outside_case(world)
    world.settle()
    world.run("ownership", "requester-contact", case_id, "--name", "Andi Wijaya", "--by", "bob")
    edit_case(world, case_id, lambda c: c["requester"].update(name="Mallory Forger"))
    refused = world.fail("ownership", "cancel", case_id, "--by", "alice")
    assert "requester name" in refused and "Mallory Forger" in refused, refused


def executing_whole_account(world: World, profile: str = "siti.rahmawati@majumakmur.co.id") -> str:
    """The company's claim on the vendor's whole account (client #20), the vendor consenting, approved; the account's
    profile email then the company's (`profile`; "" keeps the vendor's), as the checklist asks before the hosting's
    new password is sent (round 27)."""
    case_id = open_and_document(world, "client:20")
    assert requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    for who in ("alice", "bob"):
        if world.case(case_id)["status"] == "review":
            world.run("ownership", "approve", case_id, "--by", who)
    world.settle()
    assert world.case(case_id)["status"] == "executing", world.case(case_id)["status"]
    if profile:
        assert world.sandbox.post("UpdateClient", clientid=20, email=profile).json()["result"] == "success"
    return case_id


def owner_of(world: World, client: int) -> int:
    """The account's owner user, as GetClientsDetails lists its users (DD:api-reference/getclientsdetails.md)."""
    users = world.sandbox.post("GetClientsDetails", clientid=client).json()["client"]["users"]["user"]
    return int(next(u["id"] for u in users if u["is_owner"]))


def test_a_whole_account_made_a_third_clients_users_is_raised_not_completed(world: World):
    """Round 23 (ownership), HIGH 2: staff's "Make Owner" with the owner of a third client (#22): the case took any
    owner but the holder's for the hand-over done, completed and locked the account in a third party's hands."""
    case_id = executing_whole_account(world)
    world.sandbox.control("access", {"user": owner_of(world, 22), "client": 20, "owner": True})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "executing", case["status"]
    assert any(t["subject"].startswith(f"Ownership case {case_id}") or case_id in t["subject"]
               for t in world.sandbox.rows("tickets") if "another client" in t["subject"] or "moved" in t["subject"]), [
        t["subject"] for t in world.sandbox.rows("tickets")]  # fmt: skip
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20, "owner": True})
    world.later(hours=4)  # the hand-over seen: the ex-holder's logins are removed (round 25), then WHMCS read again
    world.later(hours=4)
    assert world.case(case_id)["status"] == "completed", json.dumps(world.case(case_id), indent=1)[-3000:]


def test_a_backup_only_hosting_moved_to_the_requester_does_not_complete_as_nothing_changed_hands(world: World):
    """Round 23 (ownership), HIGH 1: the vendor never consented, so only a backup of its hosting was to go; staff moved
    the service to the requester anyway, and `complete` closed the case, "nothing changed hands: nothing is locked".
    WHMCS is read first: what was to stay with its holder and is not refuses the completion, in one sentence."""
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    assert world.case(case_id)["subjects"][0]["hand_over"] == "backup-only"
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    world.sandbox.control("move", {"service": 201, "client": 21})
    refused = world.fail("ownership", "complete", case_id, "--by", "alice", "--note", "backup sent")
    assert "service #201" in refused and "client #21" in refused and "stay with its holder" in refused, refused
    assert world.case(case_id)["status"] == "executing"
    world.sandbox.control("move", {"service": 201, "client": 20})
    world.run("ownership", "complete", case_id, "--by", "alice", "--note", "backup sent")
    assert world.case(case_id)["status"] == "completed"


def test_evidence_holding_a_live_one_time_link_is_refused(world: World):
    """Round 23 (ownership evidence), HIGH 7: the holder forwarded the bridge's notice, its link in it, to say it
    objects; staff attached that email; the dossier carried the live link, and whoever read the dossier answered for
    the holder through it. A file holding a live link of the bridge is refused until the link is used or expired."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    forwarded = (
        "From: budi@kreatifstudio.id\r\nSubject: Fwd: Ownership request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nWe object, see below.\r\n\r\n> Answer here: {link}\r\n"
    ).encode()
    args = [case_id, world.file("forwarded.eml", forwarded), "--kind", "other", "--from", "holder", "--via", "email"]
    refused = world.fail("ownership", "attach", *args, "--by", "alice")
    assert "live one-time link" in refused and link not in refused, refused
    assert requests.post(link, data={"decision": "decline", "reason": "we object"}, timeout=5).status_code == 200
    world.settle()
    world.run("ownership", "attach", *args, "--by", "alice")  # used: it answers nothing any more
