"""Issue 17, thirteenth break round (H1, H7): a holder's written withdrawal is never overtaken by the hand-over. An
approval reads WHMCS's tickets and waits for a message the bridge has not read (a hook lost, the poll failing), and
refuses while WHMCS cannot be read; a reply read after the approval holds the writes not sent yet until staff
classify it, and an objection stops them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_answers import reply_as, staff_tickets, thread_of
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli

WITHDRAWAL = "Saya TARIK persetujuan saya. KAMI KEBERATAN. Jangan pindahkan domain kami. -- Budi"
WRITES = ("DomainUpdateWhoisInfo", "DomainUpdateLockingStatus")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def consented(world: World) -> str:
    """A case under review on the holder's consent recorded by phone (its link left unused)."""
    case_id = open_and_document(world, "domain:20")
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
              "--by", "alice", "--note", "Budi called: he agrees")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "review"
    return case_id


def unhooked(world: World) -> None:
    """WHMCS's hooks stop reaching the bridge (lost, or never set up): only a read of WHMCS sees a message."""
    world.sandbox.control("hooks", {"url": None, "secret": None})


def approve(world: World, case_id: str, by: str) -> Any:
    """`ownership approve`, whatever its exit code."""
    args = ("ownership", "approve", case_id, "--by", by)
    return CliRunner().invoke(cli.main, ["--config", str(world.config), *args], catch_exceptions=False,
                              env=staff_login(args))  # fmt: skip


def writes(world: World) -> list[str]:
    return [c["action"] for c in world.sandbox.calls() if c["action"] in WRITES]


def test_an_approval_waits_for_a_reply_in_the_thread_the_bridge_has_not_read(world: World):
    """H1: the holder withdrew in its thread; no hook told the bridge, no pass had read it yet: approve said
    "executing" and the registrant was changed before the withdrawal was read."""
    case_id = consented(world)
    unhooked(world)
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message=WITHDRAWAL)

    refused = approve(world, case_id, "carol")
    assert refused.exit_code == 1, refused.output
    assert f"ticket #{thread['id']} has a message the bridge has not read yet" in refused.output
    assert "approve once it is read" in refused.output and "Traceback" not in refused.output
    case = world.case(case_id)
    assert case["status"] == "review" and case["approvals"] == []

    world.settle(4)  # the poll reads it: now it waits to be classified
    case = world.case(case_id)
    assert [(r["party"], r["ticket"], r["classified"]) for r in case["replies"]] == [("holder", thread["id"], None)]
    assert "record what it answered first" in approve(world, case_id, "carol").output
    assert writes(world) == []


def test_an_approval_waits_for_a_new_ticket_of_the_holder_the_bridge_has_not_read(world: World):
    case_id = consented(world)
    unhooked(world)
    world.sandbox.control(
        "act",
        {"action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": "Tolong", "message": WITHDRAWAL},
    )
    opened = max(t["id"] for t in world.sandbox.rows("tickets", client_id=20))
    refused = approve(world, case_id, "carol")
    assert refused.exit_code == 1, refused.output
    assert f"ticket #{opened} has a message the bridge has not read yet (its opening message" in refused.output
    assert world.case(case_id)["status"] == "review"


def test_an_approval_is_refused_while_whmcs_cannot_be_read(world: World):
    """H1 as found: GetTicket failing (HTTP 500, every other call answering), the poll failed each pass, and the
    approval went through and the domain's registrant was changed over the holder's unread withdrawal."""
    case_id = consented(world)
    unhooked(world)
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message=WITHDRAWAL)
    world.sandbox.control("faults", {"status": 500, "count": 1000, "actions": ["GetTicket"]})
    refused = approve(world, case_id, "carol")
    world.sandbox.control("faults", {"status": 0, "count": 0})
    assert refused.exit_code == 1, refused.output
    assert "WHMCS could not be read: approve once it can" in refused.output
    assert world.case(case_id)["approvals"] == []

    # WHMCS answers again, before any pass read the reply: still not approved.
    assert "has a message the bridge has not read yet" in approve(world, case_id, "carol").output
    world.settle(4)
    assert [r["classified"] for r in world.case(case_id)["replies"]] == [None]
    assert writes(world) == []


def test_an_approval_with_every_message_read_goes_ahead(world: World):
    """The bridge's own messages in the threads, staff's replies and a reply already classified hold nothing."""
    case_id = consented(world)
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], adminusername="alice", message="Terima kasih, kami proses.")
    reply_as(world, thread["id"], clientid=20, message="Baik, terima kasih.")
    world.settle(4)
    # Staff's reply in the thread is attached to classify too (H3: it may report the holder's answer).
    waiting = {r["party"]: r for r in world.case(case_id)["replies"] if not r.get("classified")}
    staff_reply, holders = waiting["other"], waiting["holder"]
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via", "ticket",
              "--by", "alice", "--reply", f"{thread['id']}:{staff_reply['reply']}", "--note", "our thanks")  # fmt: skip
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "ticket",
              "--by", "alice", "--reply", f"{thread['id']}:{holders['reply']}", "--note", "thanks us")  # fmt: skip
    world.settle()
    done = approve(world, case_id, "carol")
    assert done.exit_code == 0, done.output
    assert world.case(case_id)["status"] == "executing"


def executing_with_a_reply(world: World) -> tuple[str, dict[str, Any]]:
    """H7's setting: carol approved (the writes planned, not sent yet); the holder then withdraws in its thread."""
    case_id = consented(world)
    before = len(world.sandbox.calls())
    world.run("ownership", "approve", case_id, "--by", "carol")
    assert [c for c in world.sandbox.calls()[before:] if c["action"] in WRITES] == []
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message=WITHDRAWAL)
    world.settle(4)
    return case_id, thread


def test_a_reply_read_after_the_approval_holds_the_writes_until_staff_classify_it(world: World):
    """H7: the next pass read the reply and, in the same pass, sent the registrant update and the lock."""
    case_id, thread = executing_with_a_reply(world)
    assert writes(world) == []
    case = world.case(case_id)
    assert case["status"] == "executing"
    assert [(r["party"], r["classified"]) for r in case["replies"]] == [("holder", None)]
    assert [s["status"] for s in case["steps"].values()] == ["planned", "planned"]
    held = [h for h in case["history"] if h["what"] == "steps held"]
    assert len(held) == 1 and f"ticket #{thread['id']} reply" in held[0]["why"], case["history"]
    subject = f"Ownership case {case_id}: a reply while executing"
    assert subject in staff_tickets(world, case_id)
    [ticket] = [t for t in world.sandbox.rows("tickets") if t["subject"] == subject]
    text = world.sandbox.rows("ticket_replies", ticket_id=ticket["id"])[0]["message"]
    assert "not made yet (2: the registrant update, the transfer lock) wait" in text
    world.later(minutes=30)
    assert writes(world) == []

    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "ticket",
              "--by", "alice", "--note", "he withdrew in writing")  # fmt: skip
    world.later(minutes=31)
    case = world.case(case_id)
    assert case["status"] == "disputed"
    assert writes(world) == []
    assert {s["status"] for s in case["steps"].values()} == {"cancelled"}


def test_the_held_writes_go_on_once_staff_say_the_reply_is_not_an_objection(world: World):
    case_id, thread = executing_with_a_reply(world)
    assert writes(world) == []
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via", "ticket",
              "--by", "alice", "--reply", f"{thread['id']}", "--note", "asks about his invoice")  # fmt: skip
    world.later(minutes=2)
    assert sorted(writes(world)) == sorted(WRITES)
    assert world.case(case_id)["status"] == "executing"


def test_the_pass_that_plans_the_read_does_not_send_the_writes(world: World):
    """Without hooks the poll finds the reply: the same pass plans its read and runs the outbox, where the writes
    planned at approval come first. They wait for the read, then for staff."""
    case_id = consented(world)
    unhooked(world)
    world.run("ownership", "approve", case_id, "--by", "carol")
    reply_as(world, thread_of(world, case_id, 20)["id"], clientid=20, message=WITHDRAWAL)
    world.run("tick")
    assert writes(world) == []
    world.settle(3)
    case = world.case(case_id)
    assert writes(world) == [] and [r["classified"] for r in case["replies"]] == [None]
