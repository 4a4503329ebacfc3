"""The pure ownership rules against the MEDIUM findings of the third issue-17 break test: the freeze note
names exactly what is frozen, the checklist is true for an outside requester whose contact staff gave, a
backup hand-over is tracked in a mixed case, an objection withdrawn takes two staff, a party's new ticket
pauses the case like a reply, and an objection after part of the move says what moved and how to undo it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tests.test_messages import TableNames
from tests.test_ownership_rules import DOMAIN, FULL, OUTSIDE, VENDOR, documented, holder_answers, opened, run
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Reader
from whmcs_bridge.model import Action

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
