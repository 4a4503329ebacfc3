"""Issue 17, findings 1, 5 and 6 against the sandbox: an answer outside the link counts (the holder's reply in
its case thread, found by who wrote it; answers staff record by ticket, email, post or phone), decisions are
made by named staff (compared without case, the operating-system user beside them), and case ids are never
reused."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def thread_of(world: World, case_id: str, client: int) -> dict[str, Any]:
    return next(
        t
        for t in world.sandbox.rows("tickets", client_id=client)
        if t["subject"].startswith(f"Ownership case {case_id}")
    )


def reply_as(world: World, ticket: int, **who: Any) -> None:
    """A reply written in the ticket by a client (clientid) or a guest (name, email), as WHMCS files it."""
    world.sandbox.control("act", {"action": "AddTicketReply", "ticketid": ticket, **who})


def test_the_vendors_objection_in_its_ticket_thread_is_not_silence(world: World):
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message="Saya KEBERATAN / I OBJECT")
    world.settle(4)

    case = world.case(case_id)
    assert case["status"] == "review"
    assert [(r["party"], r["ticket"], r["classified"]) for r in case["replies"]] == [("holder", thread["id"], None)]
    assert "KEBERATAN" in case["replies"][0]["message"]
    flagged = [
        t for t in world.sandbox.rows("tickets") if t["subject"] == f"Ownership case {case_id}: the holder replied"
    ]
    assert len(flagged) == 1
    # One approval no longer executes the move: the reply must be classified first.
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"the holder replied in ticket #{thread['id']}" in refused and "record-answer" in refused
    # The window's end does not turn the reply into "no objection".
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review"
    assert not [h for h in case["history"] if "without objection" in h["why"]]

    out = world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "ticket",
        "--by",
        "Alice",
        "--note",
        "ticket reply: KEBERATAN",
    ).output
    assert f"{case_id} disputed" in out
    case = world.case(case_id)
    assert case["replies"][0]["classified"] == "object"
    recorded = case["recorded_answers"][0]
    assert (recorded["party"], recorded["answer"], recorded["via"], recorded["by"]) == (
        "holder",
        "object",
        "ticket",
        "alice",
    )
    assert recorded["os_user"].startswith(getpass.getuser())
    assert "only a case under review" in world.fail("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    assert any("holder objected" in e["subject"] for e in world.emails(21))
    # Shown to staff and in the dossier.
    show = world.run("ownership", "show", case_id).output
    assert "holder objected by ticket, recorded by alice" in show and "KEBERATAN" in show
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    summary = (out / "summary.html").read_text()
    assert "Answers recorded by staff" in summary and "KEBERATAN" in summary
    assert "verifies" in world.run("ownership", "verify-dossier", str(out), "--against-state").output


def test_a_reply_by_someone_else_in_the_thread_stops_the_window_until_staff_classify_it(world: World):
    """From the issue-17 break test: an objection written in the case's ticket as a guest from another address
    was dropped and the window ended "without objection". Any reply is attached and flagged; a staff reply too
    (thirteenth round H3: it may report a phoned answer), said to be staff's."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], adminusername="alice", message="We will look into it.")
    reply_as(world, thread["id"], name="Budi", email="budi@other.example", message="Saya KEBERATAN / I OBJECT")
    world.settle(4)
    case = world.case(case_id)
    assert case["status"] == "review", case["status"]
    [staff] = [r for r in case["replies"] if r.get("staff")]
    assert staff["writer"] == "alice (staff)", staff
    [reply] = [r for r in case["replies"] if not r.get("staff")]
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("other", thread["id"], None)
    assert reply["writer"] == "Budi <budi@other.example>" and reply["reply"] and reply["date"]
    flagged = [
        t for t in world.sandbox.rows("tickets") if t["subject"] == f"Ownership case {case_id}: a reply to classify"
    ]
    assert len(flagged) == 1
    assert "budi@other.example" in world.sandbox.rows("ticket_replies", ticket_id=flagged[0]["id"])[0]["message"]
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"ticket #{thread['id']}" in refused and "record-answer" in refused
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review"
    assert not [h for h in case["history"] if "without objection" in h["why"]]
    assert "Budi <budi@other.example>" in world.run("ownership", "show", case_id).output
    # Ninth break round H1: the requester's answer classified the third party's objection as consent, and the
    # case was approved. Only the holder's answer classifies what someone who is neither party wrote.
    world.run(
        "ownership", "record-answer", case_id, "--party", "requester", "--answer", "consent", "--via", "phone",
        "--by", "bob", "--note", "the company confirms its request",
    )  # fmt: skip
    assert not [r for r in world.case(case_id)["replies"] if r["classified"]]
    assert f"ticket #{thread['id']}" in world.fail("ownership", "approve", case_id, "--by", "alice")
    # Someone else's words are the holder's answer only when staff name them (thirteenth round H9).
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "ticket",
        "--reply", f"{thread['id']}:{reply['reply']}", "--by", "alice", "--note", "the holder's director, from his own address",
    )  # fmt: skip
    case = world.case(case_id)
    classified = {r["reply"]: r["classified"] for r in case["replies"]}
    assert case["status"] == "disputed" and classified == {reply["reply"]: "object", staff["reply"]: None}


def test_an_answer_by_post_with_its_letter_counts(world: World, tmp_path: Path):
    case_id = open_and_document(world, "domain:20")
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(PDF + b"I agree to the hand-over")
    out = world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "consent",
        "--via",
        "post",
        "--evidence",
        str(letter),
        "--by",
        "bob",
        "--note",
        "signed letter of 3 Nov",
    ).output
    assert f"{case_id} review" in out
    case = world.case(case_id)
    assert case["evidence"][-1]["kind"] == "holder-statement" and case["evidence"][-1]["via"] == "post"
    assert case["recorded_answers"][0]["evidence"] == case["evidence"][-1]["item"]
    assert case["subjects"][0]["hand_over"] == "move"
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert world.case(case_id)["status"] == "executing"


def test_two_person_approval_needs_two_listed_staff(world: World):
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    assert world.case(case_id)["status"] == "review"
    world.run("ownership", "approve", case_id, "--by", "alice")
    assert "another member of staff" in world.fail("ownership", "approve", case_id, "--by", "Alice")
    assert "alice already approved" in world.fail("ownership", "approve", case_id, "--by", "ALICE")
    refused = world.fail("ownership", "approve", case_id, "--by", "mallory")
    assert "'mallory' is not one of the configured staff (alice, bob, carol" in refused
    assert world.case(case_id)["status"] == "review"
    # From the issue-17 break test: one login typing two names was only recorded; it is one person.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUDO_USER", "alice-login")
        refused = world.fail("ownership", "approve", case_id, "--by", "bob")
    assert "already approved case" in refused and "as alice: one person may not count as two" in refused, refused
    world.run("ownership", "approve", case_id, "--by", "BOB")
    case = world.case(case_id)
    assert case["status"] == "executing"
    assert [a["by"] for a in case["approvals"]] == ["alice", "bob"]
    assert all(a["os_user"] for a in case["approvals"])


def test_a_case_reopened_the_same_day_is_a_new_case(world: World):
    args = ("--subject", "domain:20", "--requester", "client:21")
    first = world.run("ownership", "open", *args, "--grounds", "vendor", "--by", "alice").output.split()[0]
    world.run("ownership", "cancel", first, "--by", "alice", "--note", "wrong grounds")
    again = world.run("ownership", "open", *args, "--grounds", "brand", "--by", "alice").output
    second = again.split()[0]
    assert second != first and f"{second} collecting" in again
    cases = {c["id"]: c for c in json.loads(world.run("ownership", "list", "--json").output)}
    assert (cases[first]["status"], cases[second]["status"], cases[second]["grounds"]) == (
        "cancelled",
        "collecting",
        "brand",
    )


def notes(world: World, client: int) -> list[tuple[str, int]]:
    return [(n["note"], n["sticky"]) for n in world.sandbox.rows("client_notes", client_id=client)]


def test_both_accounts_show_the_case_in_whmcs_sticky_while_disputed(world: World):
    case_id = open_and_document(world, "domain:20")
    for client in (20, 21):
        assert [s for n, s in notes(world, client) if case_id in n and ": opened." in n] == [0]
    world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "phone",
        "--by",
        "carol",
        "--note",
        "called on 25 Nov",
    )
    world.settle()
    for client in (20, 21):
        disputed = [s for n, s in notes(world, client) if case_id in n and "DISPUTED" in n]
        assert disputed == [1], notes(world, client)
    assert any("This client is the holder" in n for n, _ in notes(world, 20))
    assert any("This client is the requester" in n for n, _ in notes(world, 21))
    world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "consent",
        "--via",
        "email",
        "--by",
        "carol",
        "--evidence",
        world.file("withdrawal.pdf", PDF + b"I withdraw my objection"),
        "--note",
        "withdrew the objection by email",
    )
    world.run("ownership", "resolve", case_id, "--outcome", "objection-withdrawn", "--by", "bob")
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()
    assert any(case_id in n and "approved" in n for n, _ in notes(world, 20))
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    for client in (20, 21):
        assert any(case_id in n and "completed, locked until" in n for n, s in notes(world, client) if not s)


def anchor_lines(world: World) -> list[str]:
    return [str(r["description"]) for r in world.sandbox.rows("activity") if "[wb-anchor]" in str(r["description"])]


def head_count(world: World) -> int:
    with Database(world.tmp / "state.db") as db:
        found = audit.head(db)
    assert found is not None
    return found[0]


def test_a_staff_decision_is_anchored_in_whmcs_before_the_command_returns(world: World):
    """From the issue-17 break test: record-answer, approve, cancel... were anchored only at the next pass.
    The chain's head is anchored before the command returns; WHMCS unreachable: said, the decision stands,
    and the next pass anchors it."""
    case_id = open_and_document(world, "domain:20")
    before = len(anchor_lines(world))
    world.sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["LogActivity", "GetActivityLog"]})
    out = world.run(
        "ownership",
        "record-answer",
        case_id,
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "phone",
        "--by",
        "alice",
        "--note",
        "called us",
    ).output
    world.sandbox.control("faults", {"status": 0, "count": 0})
    assert "not anchored in WHMCS" in out and "the decision stands" in out, out
    assert world.case(case_id)["status"] == "disputed"
    assert len(anchor_lines(world)) == before
    world.run("tick")
    assert f"{head_count(world)} rows" in anchor_lines(world)[-1]

    out = world.run("ownership", "cancel", case_id, "--by", "bob", "--note", "settled between them").output
    assert world.case(case_id)["status"] == "cancelled"
    assert "anchored in WHMCS's activity log" in out, out
    assert f"{head_count(world)} rows" in anchor_lines(world)[-1]


def record(world: World, case_id: str, answer: str, by: str, *extra: str) -> Any:
    args = ["ownership", "record-answer", case_id, "--party", "holder", "--answer", answer, "--via", "phone"]
    return [*args, "--by", by, *extra]


def test_an_objection_turned_into_consent_needs_a_second_staff_member(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """From the issue-17 break test: one member of staff turned a recorded objection into consent with
    `--answer consent --via phone` and nothing else. Now it takes a second listed member of staff (another
    person: not the same operating-system user under another name)."""
    case_id = open_and_document(world, "domain:20")
    world.run(*record(world, case_id, "object", "alice", "--note", "called: objects"))
    assert world.case(case_id)["status"] == "disputed"

    monkeypatch.setenv("SUDO_USER", "alice-login")
    out = world.run(*record(world, case_id, "consent", "alice", "--note", "called back: agrees")).output
    assert world.case(case_id)["status"] == "disputed", out
    assert "a second member of staff" in out, out
    refused = world.fail(*record(world, case_id, "consent", "Alice"))
    assert "alice already recorded" in refused, refused
    refused = world.fail(*record(world, case_id, "consent", "bob"))  # alice's login, typing bob
    assert "one person may not count as two" in refused, refused
    assert world.case(case_id)["status"] == "disputed"

    monkeypatch.setenv("SUDO_USER", "bob-login")
    world.run(*record(world, case_id, "consent", "bob", "--note", "I heard it too"))
    case = world.case(case_id)
    assert case["status"] == "review" and case.get("holder_consent")


def test_an_objection_is_never_overturned_by_one_member_of_staff_with_a_file_of_their_own(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """From the issue-17 hostile test (H5): one member of staff overturned the holder's objection alone with
    `--evidence FILE`, a file they wrote themselves. The file is attached and recorded with the answer, but a
    second listed member of staff (another login) must still confirm the consent."""
    case_id = open_and_document(world, "domain:20")
    world.run(*record(world, case_id, "object", "alice"))
    letter = tmp_path / "withdrawal.pdf"
    letter.write_bytes(PDF + b"I withdraw my objection")
    monkeypatch.setenv("SUDO_USER", "alice-login")
    out = world.run(*record(world, case_id, "consent", "alice", "--evidence", str(letter))).output
    case = world.case(case_id)
    assert case["status"] == "disputed", out
    assert "a second member of staff" in out and "--evidence" not in out, out
    [pending] = case["consent_confirmations"]
    assert pending["by"] == "alice" and pending["evidence"] == case["evidence"][-1]["item"]
    refused = world.fail(*record(world, case_id, "consent", "Alice", "--evidence", str(letter)))
    assert "alice already recorded" in refused and "--evidence" not in refused, refused
    assert "--evidence" not in world.run("ownership", "show", case_id).output

    monkeypatch.setenv("SUDO_USER", "bob-login")
    world.run(*record(world, case_id, "consent", "bob", "--note", "I read the letter and called back"))
    case = world.case(case_id)
    assert case["status"] == "review" and case.get("holder_consent")


def test_a_refused_answer_keeps_no_evidence(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """From the issue-17 hostile test (M3, round h): a `record-answer` refused (the second person's confirmation
    by the same person) still attached its --evidence file: the evidence grew and the timeline said "evidence
    received". A refused command changes nothing: the file is attached with the answer or not at all."""
    case_id = open_and_document(world, "domain:20")
    world.run(*record(world, case_id, "object", "alice"))
    monkeypatch.setenv("SUDO_USER", "alice-login")
    letter = tmp_path / "withdrawal.pdf"
    letter.write_bytes(PDF + b"I withdraw my objection")
    world.run(*record(world, case_id, "consent", "alice", "--evidence", str(letter)))
    before = world.case(case_id)
    with Database(world.tmp / "state.db") as db:
        rows = audit.head(db)
    for by, said in (("Alice", "alice already recorded"), ("bob", "one person may not count as two")):
        other = tmp_path / f"{by}.pdf"
        other.write_bytes(PDF + f"a letter brought by {by}".encode())
        refused = world.fail(*record(world, case_id, "consent", by, "--evidence", str(other)))
        assert said in refused, refused
    after = world.case(case_id)
    assert after["evidence"] == before["evidence"] and after["history"] == before["history"]
    with Database(world.tmp / "state.db") as db:
        assert audit.head(db) == rows
    refused = world.fail(
        "ownership",
        "record-answer",
        "nosuchcase",
        "--party",
        "holder",
        "--answer",
        "object",
        "--via",
        "post",
        "--evidence",
        str(letter),
        "--by",
        "alice",
    )
    with Database(world.tmp / "state.db") as db:
        assert audit.head(db) == rows, refused


def test_staff_give_an_outside_requesters_contact_on_the_command_line(world: World):
    case_id = world.run(
        "ownership",
        "open",
        "--subject",
        "domain:20",
        "--requester",
        "PT Maju Makmur, legal@majumakmur.co.id",
        "--grounds",
        "brand",
        "--by",
        "alice",
    ).output.split()[0]
    refused = world.fail("ownership", "requester-contact", case_id, "--country", "Indonesia", "--by", "alice")
    assert "expected the two-letter ISO code" in refused and "Traceback" not in refused
    world.run(
        "ownership",
        "requester-contact",
        case_id,
        "--address1",
        "Jl. Sudirman 1",
        "--city",
        "Jakarta",
        "--postcode",
        "10220",
        "--country",
        "id",
        "--phone",
        "+62.21 555-0100",
        "--by",
        "bob",
    )
    requester = world.case(case_id)["requester"]
    assert (requester["country"], requester["phone"], requester["city"]) == ("ID", "+62.215550100", "Jakarta")
    refused = world.fail("ownership", "requester-contact", case_id, "--by", "alice")
    assert "give at least one of --name" in refused


def test_the_vendors_objection_in_a_new_ticket_naming_the_case_is_not_silence(world: World):
    """Issue-17 break test H5: the holder objected in a ticket of its own, not in the case's thread."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "clientid": 20,
            "deptid": 1,
            "subject": f"Saya KEBERATAN (kasus {case_id})",
            "message": "Kami tidak setuju domain kami dipindahkan.",
        },
    )
    world.settle(4)
    case = world.case(case_id)
    assert case["status"] == "review"
    [reply] = case["replies"]
    assert (reply["party"], reply["reply"], reply["classified"]) == ("holder", 0, None)
    assert "tidak setuju" in reply["message"]
    flagged = [t for t in world.sandbox.rows("tickets") if t["subject"].endswith("the holder wrote in a new ticket")]
    assert len(flagged) == 1
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"replied in ticket #{reply['ticket']}" in refused
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and not [h for h in case["history"] if "without objection" in h["why"]]


def test_an_objection_in_a_new_guest_ticket_naming_the_case_is_not_silence(world: World):
    """Eighth break round H2: the holder objected in a new ticket from an address WHMCS does not know (a guest,
    client 0): it was dropped, the window ended "without objection" and the registrant was rewritten. A new
    ticket naming the case by someone who is neither party is attached and flagged, as such a reply is."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "deptid": 1,
            "name": "Budi Santoso",
            "email": "budi.santoso@mail.example",
            "subject": f"Re: Ownership request {case_id} about majumakmur.co.id",
            "message": f"This is Budi of Kreatif Studio from my own address: I OBJECT to {case_id}.",
        },
    )
    world.settle(4)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["reply"], reply["classified"]) == ("other", 0, None), reply
    assert case["status"] == "review"
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"ticket #{reply['ticket']}" in refused and "record-answer" in refused
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and not [h for h in case["history"] if "without objection" in h["why"]]


def test_a_case_whose_required_document_was_rejected_under_review_is_not_approved(world: World):
    """From the issue-17 outside test (ninth round, H2, L1): under review, staff rejected the signatory's ID as
    forged and withdrew the letterhead letter; `approve` still executed the case (only a document too old was
    refused, and a rejected extract was called "older than 90 days"). Approval waits until every required
    kind has an accepted item, and says which have none."""
    case_id = open_and_document(world, "domain:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "review"
    items = {e["kind"]: e["item"] for e in world.case(case_id)["evidence"]}
    world.run(
        "ownership",
        "check-evidence",
        case_id,
        str(items["signatory-id"]),
        "--reject",
        "--by",
        "bob",
        "--note",
        "forged ID",
    )
    world.run(
        "ownership",
        "withdraw-evidence",
        case_id,
        str(items["letterhead-letter"]),
        "--by",
        "bob",
        "--note",
        "not signed",
    )
    world.run(
        "ownership",
        "check-evidence",
        case_id,
        str(items["registry-extract"]),
        "--reject",
        "--by",
        "bob",
        "--note",
        "another company",
    )
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert (
        f"case {case_id} cannot be approved: it has no accepted letterhead-letter, registry-extract and signatory-id "
        "(rejected or withdrawn)"
    ) in refused, refused
    assert "older than" not in refused, refused
    assert world.case(case_id)["status"] == "review" and not world.case(case_id).get("approvals")


def test_the_requesters_denial_through_its_link_outweighs_a_phone_confirmation(world: World):
    """From the issue-17 outside test (ninth round, H3): a caller claiming to be the company was recorded as the
    requester's consent by phone; the holder was notified; the real company then denied the request through its
    still valid link ("this was not me"). The page said "recorded" and nothing changed: the case went on to
    approval. The denial through the requester's own link ends the case, as it does before the documents."""
    case_id = open_and_document(world, "domain:20", confirmed_by_phone=True)
    assert world.case(case_id)["status"] == "notified"
    denied = requests.post(
        world.link(21, "Ownership request"),
        data={"decision": "decline", "reason": "This was not us: somebody is impersonating us."},
        timeout=5,
    )
    assert denied.status_code == 200
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "cancelled", case["history"][-3:]
    assert any("denied making the request" in h["why"] for h in case["history"]), case["history"][-3:]
    for client in (20, 21):  # the holder, who was asked, and the requester hear that it ended
        assert [e for e in world.emails(client) if e["subject"] == f"Ownership request {case_id} cancelled"], client


def staff_tickets(world: World, case_id: str) -> list[str]:
    return [
        t["subject"] for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"Ownership case {case_id}:")
    ]


def test_the_holders_objection_in_a_reply_to_an_older_ticket_naming_the_case_is_not_silence(world: World):
    """Ninth break round H4: the holder objected in a reply to one of its older tickets (about an invoice), not in
    the case's thread nor in a new ticket: hook and poll delivered it, nothing was recorded, the window ended
    "without objection". A reply in any ticket by the holder's account reaches the case like a new ticket, whatever
    it says (twelfth round H4: one naming neither the case nor a domain is attached too, for staff to classify)."""
    opened = world.sandbox.control(
        "act",
        {"action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": "Invoice question", "message": "Resend it?"},
    )
    world.settle()
    case_id = open_and_document(world, "domain:20")
    old = int(opened["id"])
    reply_as(world, old, clientid=20, message="Thanks, the invoice arrived.")
    reply_as(
        world,
        old,
        clientid=20,
        message=f"Also: I received your email about case {case_id}. I OBJECT to handing majumakmur.co.id over.",
    )
    world.settle(4)
    case = world.case(case_id)
    [thanks, reply] = case["replies"]
    assert (thanks["party"], thanks["ticket"], thanks["classified"]) == ("holder", old, None), thanks
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("holder", old, None), reply
    assert "I OBJECT" in reply["message"]
    assert case["status"] == "review"
    assert f"Ownership case {case_id}: the holder replied" in staff_tickets(world, case_id)
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"ticket #{old}" in refused and "record-answer" in refused
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and not [h for h in case["history"] if "without objection" in h["why"]]


def test_a_guest_objection_found_only_by_the_poll_is_read_with_its_message(world: World):
    """Ninth break round H6: with the hook's delivery lost, the poll found a guest ticket whose subject does not
    name the case ("Formal objection"), only its message does; GetTickets has no message, so it was dropped. The
    poll reads a new ticket's opening message (GetTicket) before it is routed, as the hook would have given it."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control("hooks", {"url": None, "secret": None})
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "deptid": 1,
            "name": "Budi Santoso",
            "email": "budi.santoso@mail.example",
            "subject": "Formal objection",
            "message": f"This is Budi of Kreatif Studio: I OBJECT to handing majumakmur.co.id over (case {case_id}).",
        },
    )
    world.settle(4)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["reply"], reply["classified"]) == ("other", 0, None), reply
    assert case["status"] == "review"
    assert f"Ownership case {case_id}: a reply to classify" in staff_tickets(world, case_id)
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and not [h for h in case["history"] if "without objection" in h["why"]]


def test_the_requesters_reply_in_its_request_ticket_pauses_the_case(world: World):
    """Ninth break round M4: the case came from the requester's own ticket (a draft staff confirmed); its reply
    in that ticket ("we withdraw our request") did nothing, and the holder was then asked. The request ticket is
    one of the case's threads: the reply pauses the case until staff record whether the requester still wants it."""
    opened = world.sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "clientid": 21,
            "deptid": 1,
            "subject": "Full access to majumakmur.co.id",
            "message": "Our former vendor registered majumakmur.co.id; please give us full control.",
        },
    )
    request = int(opened["id"])
    world.settle(4)
    [draft] = json.loads(world.run("ownership", "list", "--json").output)
    case_id = draft["id"]
    world.run("ownership", "confirm", case_id, "--grounds", "vendor", "--by", "alice")
    world.settle()
    answer = requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 200
    world.settle()
    reply_as(world, request, clientid=21, message="Please stop: we withdraw our request, wrong domain.")
    world.settle(4)
    case = world.case(case_id)
    [reply] = case["replies"]
    assert (reply["party"], reply["ticket"], reply["classified"]) == ("requester", request, None), reply
    assert f"Ownership case {case_id}: the requester wrote" in staff_tickets(world, case_id)
    assert case["status"] == "collecting" and not case.get("notified")


def test_the_holders_reply_while_disputed_is_raised_to_staff(world: World):
    """Ninth break round L3: the holder, disputed, wrote in its thread "we withdraw our objection, go ahead": only a
    timeline line, no staff ticket, and the holder believed it had withdrawn. Staff get the reply to classify."""
    case_id = open_and_document(world, "domain:20")
    world.run(*record(world, case_id, "object", "alice", "--note", "called: objects"))
    world.settle()
    thread = thread_of(world, case_id, 20)
    before = staff_tickets(world, case_id)
    reply_as(world, thread["id"], clientid=20, message="We withdraw our objection. Go ahead. Budi")
    world.settle(4)
    case = world.case(case_id)
    assert case["status"] == "disputed"
    assert [(r["party"], r["ticket"], r["classified"]) for r in case["replies"]] == [("holder", thread["id"], None)]
    new = [s for s in staff_tickets(world, case_id) if s not in before]
    assert new == [f"Ownership case {case_id}: the holder replied"], new
