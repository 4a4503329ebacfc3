"""The pure ownership rules against the MEDIUM findings of the third issue-17 break test: the freeze note
names exactly what is frozen, the checklist is true for an outside requester whose contact staff gave, a
backup hand-over is tracked in a mixed case, an objection withdrawn takes two staff, a party's new ticket
pauses the case like a reply, and an objection after part of the move says what moved and how to undo it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.test_messages import TableNames
from tests.test_ownership_e2e import PDF, PNG
from tests.test_ownership_rules import (
    DOMAIN,
    FAMILY,
    FULL,
    OUTSIDE,
    SERVICE,
    T0,
    VENDOR,
    answer,
    documented,
    holder_answers,
    opened,
    run,
    steps_done,
)
from whmcs_bridge.families.ownership import filetypes
from whmcs_bridge.families.ownership.staff import missing_evidence
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Reader
from whmcs_bridge.model import Action, Event

SHIPPED = load.shipped()


def text(action: Action, lang: str = "en") -> str:
    msg = action.params["msg"]
    rendered = SHIPPED.render(msg["id"], msg["data"], Reader(lang, "EUR", ZoneInfo("UTC")), TableNames())
    return f"{rendered.subject or ''}\n{rendered.body}"


def test_an_objection_withdrawn_takes_a_second_member_of_staff():
    """`resolve --outcome objection-withdrawn` was accepted from one person: the holder's objection turned into
    none on one word. It now counts like the consent recorded after an objection: two distinct listed staff."""
    disputed = holder_answers(documented(opened()), "decline").state or {}
    one = run(disputed, {"command": "resolve", "outcome": "objection-withdrawn", "os_user": "alice"}).state or {}
    assert one["status"] == "disputed" and len(one["consent_confirmations"]) == 1
    assert "1 of 2 staff" in one["history"][-1]["why"]
    with pytest.raises(ValueError, match="alice already recorded"):
        run(one, {"command": "resolve", "outcome": "objection-withdrawn", "by": "Alice", "os_user": "alice2"})
    with pytest.raises(ValueError, match="one person may not count as two"):
        run(one, {"command": "resolve", "outcome": "objection-withdrawn", "by": "bob", "os_user": "alice"})
    two = run(one, {"command": "resolve", "outcome": "objection-withdrawn", "by": "bob", "os_user": "bob"}).state or {}
    assert two["status"] == "review" and not two.get("consent_confirmations")
    # A member of staff who recorded the holder's consent by phone and another who resolves count as two.
    phoned = run(disputed, {"command": "answer", "party": "holder", "answer": "consent", "via": "phone", "os_user": "alice"})
    assert (phoned.state or {})["status"] == "disputed"
    both = run(phoned.state or {}, {"command": "resolve", "outcome": "objection-withdrawn", "by": "bob", "os_user": "bob"})
    assert (both.state or {})["status"] == "review"


@pytest.mark.parametrize("lang", ["en", "fr", "nl", "id"])
def test_the_checklist_for_an_outside_requester_says_what_the_bridge_wrote(lang: str):
    """The checklist told staff to enter the outside requester's address and phone, "the bridge kept the
    previous holder's": false since the contact given with requester-contact is written (and required)."""
    state = run(
        {},
        {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": OUTSIDE, "grounds": "vendor"},
    ).state
    review = holder_answers(documented(state or {}), "accept").state or {}
    full = run(review, {"command": "contact", **FULL}).state or {}
    executing = run(full, {"command": "approve"})
    [checklist] = [a for a in executing.actions if a.kind == "ticket" and "staff_checklist" in a.params["msg"]["id"]]
    written = text(checklist, lang)
    assert "ownership requester-contact" in written and "WHOIS" in written, written
    for stale in ("kept the previous holder", "conservé l'adresse", "vorige houder staan", "pemegang lama"):
        assert stale not in written, written


def mixed_review() -> dict[str, Any]:
    """The domain (notice) and the vendor's hosting (consent required): the window ends without an answer, so
    the domain moves and the hosting is a backup-only hand-over."""
    state = documented(opened(DOMAIN, SERVICE))
    review = FAMILY.decide_one(state, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=15), "case:o1")
    case = review.state or {}
    assert [s["hand_over"] for s in case["subjects"]] == ["move", "backup-only"]
    return case


def test_the_freeze_note_names_exactly_what_is_frozen():
    """The note put on both accounts when a case freezes said "frozen" of the case's subjects only, not of
    the holder's account the dispute freezes as a whole; after a completion it said "locked" of every
    subject, a hosting that stayed with its holder (backup only) too. It names what the holds hold."""
    disputed = holder_answers(documented(opened(DOMAIN, SERVICE)), "decline")
    assert {h.subject for h in disputed.holds or []} == {"domain:20", "service:201", "client:20"}
    for action in (a for a in disputed.actions if a.kind == "client_note"):
        data = action.params["msg"]["data"]
        assert (data["held"], data["held_account"]) == (["domain:20", "service:201"], 20)
        assert (
            ": DISPUTED, frozen until it is resolved (no change of holder, no delegation): Boulangerie Dupont.fr "
            "and Boulangerie Dupont hosting, and the account of Boulangerie Dupont (#20) as a whole."
        ) in text(action)
    executing = run(run(mixed_review(), {"command": "approve"}).state or {}, {"command": "approve", "by": "bob"})
    ran = steps_done(executing.state or {})
    moved = run(ran.state or {}, {"owners": {"domain:20": 21, "service:201": 20}}, kind="OwnershipOwners")
    done = run(moved.state or {}, {"command": "complete", "note": "backup sent by WeTransfer"})
    assert {h.subject for h in done.holds or []} == {"domain:20"}
    [*written] = [a for a in done.actions if a.kind == "client_note"]
    assert len(written) == 2
    for action in written:
        assert (action.params["msg"]["data"]["held"], action.params["msg"]["data"]["held_account"]) == (["domain:20"], None)
        assert ": completed, locked until January 21, 2027: Boulangerie Dupont.fr. This client" in text(action)
        for lang in ("fr", "nl", "id"):
            assert "Boulangerie Dupont hosting" not in text(action, lang).split(": ", 1)[1], text(action, lang)


def test_a_mixed_cases_backup_hand_over_is_tracked_until_staff_record_it():
    """Domain moving, hosting backup-only: the case completed as soon as the domain moved, the backup owed
    to the requester never recorded. It now waits, executing, until staff record the backup as sent."""
    executing = run(run(mixed_review(), {"command": "approve"}).state or {}, {"command": "approve", "by": "bob"})
    ran = steps_done(executing.state or {})
    moved = run(ran.state or {}, {"owners": {"domain:20": 21, "service:201": 20}}, kind="OwnershipOwners")
    case = moved.state or {}
    assert case["status"] == "executing" and case["subjects"][0]["moved_to"] == 21
    assert case["history"][-1]["what"] == "moved; backup hand-over to record"
    assert "ownership complete o1" in case["history"][-1]["why"]
    again = run(case, {"owners": {"domain:20": 21, "service:201": 20}}, kind="OwnershipOwners")
    assert (again.state or {})["history"][-1] == case["history"][-1]  # said once
    done = run(case, {"command": "complete", "by": "carol", "note": "backup sent by WeTransfer"}).state or {}
    assert done["status"] == "completed"
    assert done["subjects"][1]["backup_sent"]["by"] == "carol"
    assert done["subjects"][1]["backup_sent"]["note"] == "backup sent by WeTransfer"
    assert [h["what"] for h in done["history"]][-2:] == ["backup sent", "completed"]


def test_a_new_ticket_by_the_requester_pauses_the_case_like_a_reply():
    """The requester opened a new ticket naming the case ("please hold: we are settling with the vendor"):
    it was attached and nothing else; the window ended and staff approved over it. What the requester writes
    (a reply or a new ticket) may withdraw or change the request: the case pauses until staff record whether
    the requester still wants it."""
    notified = run(documented(opened()), {"party": "holder", "ticket_id": 77}, kind="OwnershipTicket").state or {}
    assert notified["status"] == "notified"
    opening = {"ticketid": 90, "userid": 21, "subject": "Case o1", "message": "please hold case o1"}
    read = FAMILY.decide_one(notified, Event(id="n", type="TicketOpen", data=opening), T0, "case:o1")
    [action] = read.actions
    assert action.kind == "read_reply" and action.params["report"]["opened"] is True
    found = {"ticket": 90, "reply": 0, "found": True, "opened": True, "userid": 21, "message": "please hold case o1"}
    paused = run(read.state or {}, found, kind="OwnershipReply")
    [ticket] = paused.actions
    assert ticket.params["msg"]["id"] == "ownership.staff_requester_wrote"
    assert ticket.params["msg"]["data"]["opened"] == 1 and ticket.params["msg"]["data"]["ticket"] == 90
    assert "The case is paused" in text(ticket) and "--party requester" in text(ticket)
    review = FAMILY.decide_one(
        paused.state or {}, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=15), "case:o1"
    ).state or {}
    assert review["status"] == "review"
    with pytest.raises(ValueError, match="the requester wrote in ticket #90"):
        run(review, {"command": "approve"})
    kept = run(review, {"command": "answer", "party": "requester", "answer": "consent", "via": "ticket"}).state or {}
    assert run(kept, {"command": "approve"}).state["status"] == "executing"  # type: ignore[index]
    withdrawn = run(review, {"command": "answer", "party": "requester", "answer": "object", "via": "ticket"})
    assert (withdrawn.state or {})["status"] == "cancelled"


def test_a_requesters_reply_while_collecting_keeps_the_holder_unasked_until_classified():
    state = run(opened(), {"party": "requester", "ticket_id": 76}, kind="OwnershipTicket").state or {}
    reply = {"ticket": 76, "reply": 3, "found": True, "userid": 21, "message": "wait, our director must sign"}
    paused = run(state, reply, kind="OwnershipReply").state or {}
    done = documented(paused)  # confirmed and every document checked
    assert done["status"] == "collecting"  # the holder is not asked over what the requester wrote
    kept = run(done, {"command": "answer", "party": "requester", "answer": "consent", "via": "ticket"}).state or {}
    assert kept["status"] == "notified"


def test_an_objection_after_part_of_the_move_stops_the_rest_and_says_how_to_undo():
    """The holder objected once the hosting had moved but not the domain: the answer was recorded as
    "late, changes nothing", and the rest of the move went on. It now stops what is left (the case is
    disputed) and tells staff what already moved and how to undo it."""
    review = holder_answers(documented(opened(DOMAIN, SERVICE)), "accept").state or {}
    executing = run(run(review, {"command": "approve"}).state or {}, {"command": "approve", "by": "bob"}).state or {}
    part = run(executing, {"owners": {"domain:20": 20, "service:201": 21}}, kind="OwnershipOwners").state or {}
    assert part["status"] == "executing" and part["subjects"][1]["moved_to"] == 21
    objected = answer(part, "holder", "object", via="phone", note="never agreed")
    case = objected.state or {}
    assert case["status"] == "disputed" and case["approvals"] == []
    assert "changes nothing" not in case["history"][-1]["why"]
    # What moved is said once WHMCS is read just after the objection, not from the case's last read.
    [read] = [a for a in objected.actions if a.kind == "read_owners"]
    report = {**read.params["report"], "owners": {"domain:20": 20, "service:201": 21}}
    after = run(case, report, kind="OwnershipOwners")
    case = after.state or {}
    assert "service #201 majumakmur.co.id was with #21 when the objection was recorded" in (
        case["history"][-1]["why"]
    ), case["history"][-1]
    [ticket] = [a for a in after.actions if a.params.get("msg", {}).get("id") == "ownership.staff_objection_executing"]
    data = ticket.params["msg"]["data"]
    assert (data["moved"], data["waiting"], data["moved_services"]) == (["service:201"], ["domain:20"], 1)
    said = text(ticket)
    assert "after Boulangerie Dupont hosting moved in WHMCS, before Boulangerie Dupont.fr did" in said, said
    assert "move it back to Boulangerie Dupont (#20)" in said and "change the control-panel password" in said
    assert "Do not move the rest" in said
    # The rest stops: the domain moved now is a move during the dispute; the hosting where it went, or back
    # with its holder, is not.
    for owners in ({"domain:20": 20, "service:201": 21}, {"domain:20": 20, "service:201": 20}):
        quiet = run(case, {"owners": owners}, kind="OwnershipOwners")
        assert quiet.actions == [] and (quiet.state or {})["status"] == "disputed"
    raised = run(case, {"owners": {"domain:20": 21, "service:201": 21}}, kind="OwnershipOwners")
    [moved] = raised.actions
    assert moved.params["msg"]["id"] == "ownership.staff_moved_while_frozen"
    assert moved.params["msg"]["data"]["moving"] == ["domain:20"]
    assert not [a for a in raised.actions if a.kind == "credential_change"]


@pytest.mark.parametrize(
    ("data", "wrong"),
    [
        (b"abc", "the file is 3 bytes: too small to be a document (at least 64 bytes)"),
        (b"%PDF-", "the file is 5 bytes: too small"),
        (b"%PDF-1.4\n" + b"% padding\n" * 10, "starts as a PDF but has no %%EOF trailer"),
        (PNG[:40] + b"\x00" * 40, "starts as a PNG but lacks its IHDR header or IEND end chunk"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "lacks its IHDR header"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 80, "starts as a JPEG but has no end-of-image marker"),
        (b" " * 50 + b"ok ... !!" + b"\n" * 20, "text with fewer than 32 letters or digits"),
        (PNG, None),
        (PDF, None),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 80 + b"\xff\xd9", None),
        (b"Saya, Siti Rahmawati, direktur PT Maju Makmur, menyatakan bahwa ...", None),
    ],
)
def test_evidence_must_be_a_whole_document_of_a_known_type(data: bytes, wrong: str | None):
    """From the third issue-17 break test: a 3-byte file was accepted as sufficient evidence."""
    found = filetypes.problem(data, filetypes.sniff(data))
    assert (found is None) if wrong is None else (found is not None and wrong in found), found


@pytest.mark.parametrize("code", ["ZZ", "zz", "EU", "XX", "UK", "Indonesia"])
def test_a_requesters_country_must_be_an_iso_country(code: str):
    """LOW, from the third issue-17 break test: `requester-contact --country ZZ` was accepted into the WHOIS."""
    state = run(
        {},
        {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": OUTSIDE, "grounds": "vendor"},
    ).state or {}
    with pytest.raises(ValueError, match="the two-letter ISO code of a country"):
        run(state, {"command": "contact", "country": code})
    given = run(state, {"command": "contact", "country": "id"}).state or {}
    assert given["requester"]["country"] == "ID"


def test_an_undated_extract_is_said_to_be_undated_not_too_old():
    """LOW, from the third issue-17 break test: an extract attached without --dated was reported as "older
    than 90 days"; it has no date, so its age cannot be told."""
    case = opened()
    for dated, said in (
        (None, "registry-extract (the one accepted has no date: attach it again with --dated, at most 90 days old)"),
        ("2026-12-01", "registry-extract (the one accepted is dated 2026-12-01, after today"),
        ("2026-01-01", "registry-extract (the one accepted is older than 90 days)"),
    ):
        attached = run(case, {"command": "attach", "sha256": "ab" * 32, "kind": "registry-extract", "dated": dated})
        checked = run(attached.state or {}, {"command": "check", "item": 1, "ok": True}).state or {}
        assert any(line.startswith(said) for line in missing_evidence(checked, T0)), missing_evidence(checked, T0)
