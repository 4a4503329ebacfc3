"""Issue 17 against the sandbox: the twenty-first break round's findings on `attach --ticket`, staff's words recorded
as an answer, the commands show and the staff tickets suggest, and the projection's bound.

M1: `attach --ticket` recorded whatever --from and --via staff typed for a file WHMCS says someone else wrote, and
took a file from any ticket. M2: a staff note reporting a call was recorded as the holder's answer "by ticket". L5:
the staff ticket for a holder's reply suggested a command refused when several replies wait. L4: show never said a
reply carries attachments. M4: hourly owner reads filled `plan --at`'s bound."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_break20 import attachments
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_locks import staff_tickets
from whmcs_bridge.sandbox.documents import text_pdf


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


CONTRACT = text_pdf(["the vendor's contract: the domain stays with Kreatif Studio until paid"])
TAX = text_pdf(["Toko Sejahtera's tax statement, about no case"])
SCAN = text_pdf(["a registry extract the requester posted, scanned by staff"])


def holder_thread(world: World, case_id: str) -> int:
    return next(
        t["id"]
        for t in world.sandbox.rows("tickets", client_id=20)
        if t["subject"].startswith(f"Ownership case {case_id}")
    )


def holder_reply(world: World, ticket: int, message: str, *files: tuple[str, bytes]) -> int:
    extra = {"attachments": attachments(*files)} if files else {}
    world.sandbox.control(
        "act", {"action": "AddTicketReply", "ticketid": ticket, "clientid": 20, "message": message, **extra}
    )
    return int(world.sandbox.rows("ticket_replies", ticket_id=ticket)[-1]["id"])


def staff_note(world: World, ticket: int, message: str, *files: tuple[str, bytes]) -> int:
    extra = {"attachments": attachments(*files)} if files else {}
    world.sandbox.control("act", {"action": "AddTicketNote", "ticketid": ticket, "message": message, **extra})
    return int(world.sandbox.rows("ticket_notes", ticket_id=ticket)[-1]["id"])


def test_a_file_taken_from_a_ticket_is_recorded_as_from_its_writer(world: World):
    """Round 21 (ownership), MEDIUM 1: the holder's file attached to its own reply was recorded "from requester via
    email", and a third client's unrelated ticket attachment was taken as the case's evidence."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    reply = holder_reply(world, thread, "I object, contract attached.", ("kontrak.pdf", CONTRACT))
    world.settle(3)
    common = ["--kind", "vendor-contract", "--by", "alice"]
    refused = world.fail(
        "ownership",
        "attach",
        case_id,
        "--ticket",
        f"{thread}:{reply}",
        "--from",
        "requester",
        "--via",
        "ticket",
        *common,
    )
    assert f"ticket #{thread} reply {reply} was written by the holder" in refused, refused
    assert "--from holder" in refused, refused
    refused = world.fail(
        "ownership", "attach", case_id, "--ticket", f"{thread}:{reply}", "--from", "holder", "--via", "email", *common
    )
    assert "--via ticket" in refused, refused
    world.run("ownership", "attach", case_id, "--ticket", f"{thread}:{reply}", "--from", "holder", *common)
    item = world.case(case_id)["evidence"][-1]
    assert (item["from"], item["via"]) == ("holder", "ticket"), item
    assert f"ticket #{thread} reply {reply}" in item["source"] and "the holder" in item["source"], item
    # A third client's ticket, neither a thread of the case nor a ticket of a party's: refused.
    opened = world.sandbox.post(
        "OpenTicket", deptid=1, clientid=22, subject="Tax question", message="our statement",
        attachments=attachments(("pajak.pdf", TAX)),
    ).json()  # fmt: skip
    other = int(opened["id"])
    refused = world.fail(
        "ownership",
        "attach",
        case_id,
        "--ticket",
        str(other),
        "--from",
        "requester",
        "--kind",
        "other",
        "--by",
        "alice",
    )
    assert (
        f"ticket #{other} is neither a thread of case {case_id} nor a ticket of the holder's or the requester's"
        in refused
    ), refused
    assert len([e for e in world.case(case_id)["evidence"] if e["kind"] == "other"]) == 0
    # A note: staff forward what a party sent them; the typed --from stays, said forwarded by staff.
    note = staff_note(world, thread, "The requester posted this extract.", ("extract.pdf", SCAN))
    world.run(
        "ownership", "attach", case_id, "--ticket", f"{thread}:n{note}", "--kind", "registry-extract", "--from", "requester",
        "--by", "alice",
    )  # fmt: skip
    item = world.case(case_id)["evidence"][-1]
    assert item["from"] == "requester" and item["source"].startswith(
        f"forwarded by staff in ticket #{thread} note {note}"
    ), item
    shown = world.run("ownership", "show", case_id).output
    assert f"forwarded by staff in ticket #{thread} note {note}" in shown, shown
    assert f"ticket #{thread} reply {reply}" in shown, shown
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    summary = (out / "summary.html").read_text()
    assert f"forwarded by staff in ticket #{thread} note {note}" in summary, summary


def test_a_staff_note_is_not_recorded_as_an_answer_by_ticket(world: World):
    """Round 21 (ownership), MEDIUM 2: show suggested `--via ticket` for a note reporting a phone call, and the
    case then said the holder consented by ticket."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    note = staff_note(world, thread, "Called Budi (holder) by phone: he says he consents.")
    world.later(minutes=10)
    [line] = [x for x in world.run("ownership", "show", case_id).output.splitlines() if f"{thread}:n{note}" in x]
    assert "--via ticket" not in line and "--via phone|email|post" in line, line
    refused = world.fail(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "ticket",
        "--reply", f"{thread}:n{note}", "--by", "alice",
    )  # fmt: skip
    assert "staff's words" in refused and "--via phone|email|post" in refused, refused
    assert world.case(case_id)["replies"][-1]["classified"] is None


def test_the_staff_ticket_for_a_reply_gives_the_command_show_gives(world: World):
    """Round 21 (ownership), LOW 5: the staff ticket for a holder's reply suggested `record-answer ... --via ticket`
    without --reply, refused when several replies wait."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    first = holder_reply(world, thread, "Tunggu dulu.")
    world.settle(3)
    second = holder_reply(world, thread, "Saya keberatan.")
    world.settle(3)
    shown = world.run("ownership", "show", case_id).output
    texts = staff_tickets(world, case_id, "the holder replied")
    assert len(texts) == 2, texts
    for reply, text in zip((first, second), texts, strict=True):
        [command] = re.findall(rf"ownership record-answer {case_id} [^)\n]*--reply {thread}:{reply}\b", shown)
        assert command in text, (command, text)


def test_routine_owner_reads_neither_fill_nor_crowd_a_projection(world: World):
    """Round 21 (ownership), MEDIUM 4: with two open cases, `plan --at` three months out was filled by the hourly
    owner reads (996 lines, 4 real ones) and stopped after three weeks: the later deadlines were not shown."""
    for subject in ("domain:20", "service:201"):
        world.run(
            "ownership",
            "open",
            "--subject",
            subject,
            "--requester",
            "client:21",
            "--grounds",
            "vendor",
            "--by",
            "alice",
        )
    world.settle()
    far = (datetime.now(UTC) + timedelta(days=60)).isoformat(timespec="seconds")
    lines = json.loads(world.run("plan", "--at", far, "--json").output)
    assert not [line for line in lines if line["what"] == "cut"], lines[-1]
    routine = [line for line in lines if line["what"] == "routine"]
    assert len(routine) == 2 and all(r["kind"] == "read_owners" and r["every"] == "1:00:00" for r in routine), routine
    assert all(r["until"] > (datetime.now(UTC) + timedelta(days=59)).isoformat() for r in routine), routine
    assert not [line for line in lines if line["what"] == "planned" and line["kind"] == "read_owners"]
    shown = world.run("plan", "--at", far).output
    assert "reads who owns its subjects every 1:00:00 from " in shown, shown[-800:]


def test_show_names_the_files_a_reply_carries(world: World):
    """Round 21 (ownership), LOW 4: show never said a party's reply carried attachments, though README tells staff to
    take `--ticket T:R --index N` as show lists them."""
    case_id = open_and_document(world, "domain:20")
    thread = holder_thread(world, case_id)
    reply = holder_reply(world, thread, "Kontrak terlampir.", ("readme.txt", b"x" * 40), ("kontrak.pdf", CONTRACT))
    world.settle(3)
    shown = world.run("ownership", "show", case_id).output.splitlines()
    [line] = [x for x in shown if x.strip().startswith(f"holder in ticket #{thread} reply {reply} ")]
    assert "[2 attachments: 0: readme.txt, 1: kontrak.pdf;" in line, line
    assert f"ownership attach {case_id} --ticket {thread}:{reply} --index N" in line, line
    world.run("ownership", "attach", case_id, "--ticket", f"{thread}:{reply}", "--index", "1", "--kind", "vendor-contract",
              "--from", "holder", "--by", "alice")  # fmt: skip
    assert world.case(case_id)["evidence"][-1]["name"] == "kontrak.pdf"
