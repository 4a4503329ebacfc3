"""The pure ownership rules against two HIGH findings of the fourth issue-17 break test: one person counted
as two approvers through the service user (a second approval whose login the system could not tell, or the
same login behind two system users), and the holder's objection through its own link ignored once staff had
recorded a consent and the case was under review or executing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.test_ownership_rules import DOMAIN, SERVICE, T0, answer, documented, holder_answers, opened, run


def reviewed() -> dict:
    """The holder's thread reply taken by staff for consent: the case is under review, its link unused."""
    notified = documented(opened(DOMAIN, SERVICE))
    return answer(notified, "holder", "consent", via="ticket", note="read as consent").state or {}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("whmcs-bridge (login alice)", "whmcs-bridge"),  # sudo -u whmcs-bridge with SUDO_UID dropped
        ("whmcs-bridge", "whmcs-bridge (login alice)"),
        ("whmcs-bridge (login alice)", "root (login alice)"),  # alice through two sudo routes
    ],
)
def test_one_person_behind_the_service_user_is_not_two_approvers(first: str, second: str):
    review = reviewed()
    one = run(review, {"command": "approve", "by": "alice", "os_user": first}).state or {}
    with pytest.raises(ValueError, match="one person may not count as two"):
        run(one, {"command": "approve", "by": "bob", "os_user": second})


def test_two_logins_through_the_same_service_user_are_two_people():
    review = reviewed()
    one = run(review, {"command": "approve", "by": "alice", "os_user": "whmcs-bridge (login alice)"}).state or {}
    two = run(one, {"command": "approve", "by": "bob", "os_user": "whmcs-bridge (login bob)"}).state or {}
    assert two["status"] == "executing"


def test_the_holders_objection_through_its_link_under_review_disputes_the_case():
    review = reviewed()
    assert review["status"] == "review"
    objected = holder_answers(review, "decline")
    case = objected.state or {}
    assert case["status"] == "disputed" and case["approvals"] == []
    assert "changes nothing" not in case["history"][-1]["why"]
    assert any(a.params.get("msg", {}).get("id") == "ownership.staff_disputed" for a in objected.actions)


def test_the_holders_objection_through_its_link_while_executing_stops_what_is_left():
    review = reviewed()
    one = run(review, {"command": "approve", "by": "alice", "os_user": "alice"}).state or {}
    executing = run(one, {"command": "approve", "by": "bob", "os_user": "bob"}).state or {}
    assert executing["status"] == "executing"
    objected = holder_answers(executing, "decline")
    case = objected.state or {}
    assert case["status"] == "disputed" and case["approvals"] == []
    assert "changes nothing" not in case["history"][-1]["why"]
    # Staff's ticket follows the read of WHMCS just after the objection (what moved by then).
    [read] = [a for a in objected.actions if a.kind == "read_owners"]
    after = run(case, {**read.params["report"], "owners": {}}, kind="OwnershipOwners")
    ids = [a.params.get("msg", {}).get("id") for a in after.actions]
    assert "ownership.staff_objection_executing" in ids, ids


def test_the_requesters_denial_through_its_link_while_executing_holds_the_case():
    """Ninth break round (H3), the hand-over under way: the requester's own link denying the request holds the
    case for staff (no new access, no completion) with a staff ticket, as an objection staff record does."""
    review = reviewed()
    case = run(review, {"command": "approve", "by": "alice", "os_user": "alice"}).state or {}
    case = run(case, {"command": "approve", "by": "bob", "os_user": "bob"}).state or {}
    assert case["status"] == "executing"
    denied = run(
        case,
        {
            "command": "consent",
            "purpose": "ownership-requester",
            "decision": "decline",
            "reason": "not us",
            "ip": "192.0.2.9",
        },
    )
    held = denied.state or {}
    assert held["status"] == "executing" and held["requester_objection"]["via"] == "link"
    tickets = [a.params["msg"]["id"] for a in denied.actions if a.kind == "ticket"]
    assert tickets == ["ownership.staff_requester_objected_executing"], tickets


def test_a_document_dated_today_in_a_zone_ahead_of_utc_is_not_after_today():
    """Ninth break round (M5): at 00:35 in Paris (23:35 UTC), a registry extract dated that day was refused as
    dated after today, the check reading the UTC date. A date that is today somewhere on Earth is not in the
    future; one dated the day after that still is."""
    late = datetime(2026, 11, 26, 23, 35, tzinfo=UTC)
    case = documented(opened(DOMAIN), now=late, dated="2026-11-27")
    assert case["status"] == "notified", case["history"][-2:]
    case = documented(opened(DOMAIN), now=late, dated="2026-11-29")
    assert case["status"] == "collecting"


def test_the_same_file_attached_twice_is_refused_with_the_item_it_already_is():
    """Ninth break round (L2): the letterhead letter was accepted again as the signatory's ID (same SHA-256), and
    one ID file attached twice became two items, without a word. A file counts once: refused, naming the item."""
    case = documented(opened(DOMAIN))
    first = case["evidence"][0]
    again = {
        "command": "attach",
        "sha256": first["sha256"],
        "kind": "signatory-id",
        "from": "requester",
        "via": "email",
    }
    with pytest.raises(ValueError, match=f"this file is already item {first['item']} \\({first['kind']}, ok\\)"):
        run(case, again)


def test_a_move_in_whmcs_before_the_approval_is_raised_to_staff_when_it_is_seen():
    """Ninth break round (M2): staff moved the domain to the requester on day 1 of the holder's window; nothing
    was raised, and after the approval the timeline dated the move after it. An open case (collecting, notified,
    under review) watches its subjects like a disputed one: the move is recorded when first seen and raised to
    staff by ticket; the reminder still comes at its own time."""
    case = documented(opened(DOMAIN))
    assert case["status"] == "notified"
    first = run(case, {}, T0 + timedelta(hours=2), kind="Tick")
    reads = [a for a in first.actions if a.kind == "read_owners"]
    assert len(reads) == 1 and not [a for a in first.actions if a.kind == "email"], first.actions
    seen = run(
        first.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=2, minutes=1), kind="OwnershipOwners"
    )
    case = seen.state or {}
    assert case["status"] == "notified"
    assert [h["what"] for h in case["history"]][-1] == "moved in WHMCS while open", case["history"][-1]
    tickets = [a.params["msg"] for a in seen.actions if a.kind == "ticket"]
    assert [(t["id"], t["data"]["frozen"]) for t in tickets] == [("ownership.staff_moved_while_frozen", "open")]
