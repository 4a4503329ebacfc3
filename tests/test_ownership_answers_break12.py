"""Issue 17, twelfth break round: a classification names the written reply it is about; an answer by phone or post
classifies no written reply; a staff command the rules refuse exits non-zero and parks nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, thread_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_holder_tickets import holder_ticket
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def objection_and_billing_ticket(world: World, case_id: str) -> tuple[int, int]:
    """The holder objects in its case thread, then opens a billing ticket: two replies wait to be classified."""
    thread = thread_of(world, case_id, 20)["id"]
    reply_as(world, thread, clientid=20, message="KAMI KEBERATAN. Domain ini milik kami, jangan dipindahkan.")
    world.settle(4)
    billing = holder_ticket(world, "Invoice #1234 double charge", "We were charged twice for invoice #1234.")
    return thread, billing


def test_unrelated_classifies_only_the_reply_it_names(world: World):
    """H1 (unrelated_swallows_objection.py): staff classified the billing ticket `unrelated`; the command set aside
    every waiting reply, the objection in the case thread too, without saying so; the window ended "without
    objection" and one approval moved the domain. With two replies waiting, the command must name one."""
    case_id = open_and_document(world, "domain:20")
    thread, billing = objection_and_billing_ticket(world, case_id)
    args = [
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via", "ticket",
        "--by", "bob", "--note", "billing question",
    ]  # fmt: skip
    refused = world.fail(*args)
    assert "2 replies" in refused and f"ticket #{thread}" in refused and f"ticket #{billing}" in refused, refused
    assert "--reply" in refused
    out = world.run(*args, "--reply", f"{billing}:0").output
    assert f"ticket #{billing} reply 0" in out and "unrelated" in out, out
    replies = {r["ticket"]: r["classified"] for r in world.case(case_id)["replies"]}
    assert replies == {thread: None, billing: "unrelated"}, replies
    shown = world.run("ownership", "show", case_id).output
    assert "classified as unrelated" in shown and "NOT CLASSIFIED YET" in shown, shown
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"ticket #{thread}" in refused, refused
    world.later(days=15)
    assert not [h for h in world.case(case_id)["history"] if "without objection" in h["why"]]


@pytest.mark.parametrize("writer", [{"clientid": 20}, {"name": "Rudi Hartono SH", "email": "rudi@hartono-law.co.id"}])
def test_an_answer_by_phone_classifies_no_written_reply(world: World, writer: dict[str, object]):
    """H9 (consent_swallows_lawyer.py): a written objection waits (the holder's own, or its lawyer's as a guest);
    staff record a phone call "on Monday" as the holder's consent: the command classified the written objection as
    consent without a word, and the move ran. A phone or post answer is recorded; the written replies still wait."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)["id"]
    reply_as(world, thread, message="On behalf of Kreatif Studio we formally OBJECT to this transfer.", **writer)
    world.settle(4)
    out = world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "Budi said on the phone on Monday it is fine",
    ).output  # fmt: skip
    assert "still to classify" in out and f"ticket #{thread}" in out, out
    [reply] = world.case(case_id)["replies"]
    assert reply["classified"] is None
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"ticket #{thread}" in refused, refused


def test_a_written_answer_names_the_reply_when_several_wait(world: World):
    """The same rule for an answer received by ticket: with one reply waiting it is that one; with two, name it."""
    case_id = open_and_document(world, "domain:20")
    thread, billing = objection_and_billing_ticket(world, case_id)
    base = ["ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "ticket",
            "--by", "alice", "--note", "the thread reply"]  # fmt: skip
    assert "--reply" in world.fail(*base)
    world.run(*base, "--reply", f"{thread}:{world.case(case_id)['replies'][0]['reply']}")
    replies = {r["ticket"]: r["classified"] for r in world.case(case_id)["replies"]}
    assert replies == {thread: "object", billing: None}, replies


def test_an_approval_the_rules_refuse_after_the_check_exits_non_zero_and_parks_nothing(world: World, tmp_path: Path):
    """M2 (race_cancel_approve.py): carol approves while bob's cancel of the same case waits in the inbox (two shells
    at once): the approval's check ran on the case before the cancel, the rules took the cancel first and refused the
    approval: exit 0, a parked event. It exits 1 saying why; nothing is parked."""
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "Budi agreed",
    )  # fmt: skip
    now = datetime.now(UTC).isoformat(timespec="seconds")
    cancel = {"command": "cancel", "case": case_id, "by": "bob", "os_user": "bob", "note": "wrong letter"}
    with Database(tmp_path / "state.db") as db, db.atomic():  # bob's cancel, submitted a moment before
        inbox.add(
            db, event_id="cli:bob-cancel", type="OwnershipCommand", source="cli",
            body={"type": "OwnershipCommand", "occurred_at": now, "data": cancel}, received_at=now, occurred_at=now,
        )  # fmt: skip
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert "not done: `approve` was refused" in refused and "cancelled" in refused, refused
    assert world.run("events", "parked", "--json").output.strip() == "[]"
    assert world.case(case_id)["status"] == "cancelled"
