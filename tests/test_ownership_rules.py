"""The pure ownership rules: every transition and refusal, deadlines at the edge, disputes, locks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.test_config import ENV, ROOT
from whmcs_bridge.config.load import load_config
from whmcs_bridge.config.reader import Duration
from whmcs_bridge.families.ownership import policies
from whmcs_bridge.families.ownership.config import EvidenceRule, OwnershipPolicy, OwnershipSection
from whmcs_bridge.families.ownership.policies import match_policy
from whmcs_bridge.families.ownership.rules import Ownership
from whmcs_bridge.model import Decision, Event, action_key
from whmcs_bridge.whmcs import whois
from whmcs_bridge.whmcs.whois import contacts_xml

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RULES = OwnershipSection(
    enabled=True,
    policies={
        "brand-domain": OwnershipPolicy(
            subjects=["domain"],
            requester="company",
            evidence=[EvidenceRule(kind="letterhead-letter"), EvidenceRule(kind="registry-extract", max_age_days=90)],
            consent="notice",
            window=Duration(days=14),
            lock=Duration(days=60),
        ),
        "vendor-hosting": OwnershipPolicy(
            subjects=["service"],
            holder="company",
            evidence=[EvidenceRule(kind="vendor-contract")],
            consent="required",
            without_consent="backup-only",
            approvals=2,
        ),
        "strict": OwnershipPolicy(subjects=["domain", "service", "client"], consent="required"),
    },
    remind_before=Duration(days=3),
)
FAMILY = Ownership(RULES, department_id=1, staff_email="robot@example.com")
VENDOR = {"client": 20, "name": "Budi Santoso", "company": "Kreatif Studio", "email": "budi@kreatif.id"}
COMPANY = {"client": 21, "name": "Siti Rahmawati", "company": "PT Maju Makmur", "email": "siti@majumakmur.co.id"}
DOMAIN = {"kind": "domain", "id": 20, "name": "majumakmur.co.id", "holder_ref": 20}
SERVICE = {"kind": "service", "id": 201, "name": "majumakmur.co.id", "holder_ref": 20}


def run(state: dict[str, Any], data: dict[str, Any], now: datetime = T0, kind: str = "OwnershipCommand") -> Decision:
    return FAMILY.decide_one(
        state, Event(id="e", type=kind, data={"case": "o1", "by": "alice", **data}), now, "case:o1"
    )


def steps_done(state: dict[str, Any], now: datetime = T0) -> Decision:
    """The executor reports each execution step planned so far done (store/outbox.py report_outcome); the
    last one asks WHMCS again who owns the subjects."""
    d = Decision(state=state)
    for purpose, entry in list(state.get("steps", {}).items()):
        if entry["status"] == "planned":
            key = action_key("ownership", f"case:{state['id']}", purpose)
            data = {"action_key": key, "status": "done", "subject": f"ownership:{state['id']}"}
            d = run(d.state or {}, data, now, kind="OwnershipStepEnded")
    return d


def opened(*subjects: dict[str, Any]) -> dict[str, Any]:
    d = run(
        {},
        {
            "command": "open",
            "subjects": list(subjects or [DOMAIN]),
            "holder": VENDOR,
            "requester": COMPANY,
            "grounds": "vendor",
        },
    )
    assert d.state
    return d.state


def documented(state: dict[str, Any], now: datetime = T0, dated: str = "2026-11-01") -> dict[str, Any]:
    """The requester confirms and every required document is attached and checked."""
    state = (
        run(
            state,
            {
                "command": "consent",
                "purpose": "ownership-requester",
                "decision": "accept",
                "ip": "192.0.2.1",
                "at": now.isoformat(),
            },
            now,
        ).state
        or {}
    )
    kinds = sorted({e["kind"] for p in state["policies"].values() for e in p["evidence"]})
    for kind in kinds:
        state = (
            run(
                state,
                {
                    "command": "attach",
                    "sha256": kind[:4] * 16,
                    "kind": kind,
                    "from": "requester",
                    "via": "email",
                    "dated": dated,
                },
                now,
            ).state
            or {}
        )
        state = run(state, {"command": "check", "item": len(state["evidence"]), "ok": True}, now).state or {}
    return state


def holder_answers(state: dict[str, Any], decision: str, now: datetime = T0) -> Decision:
    return run(
        state,
        {
            "command": "consent",
            "purpose": "ownership-holder",
            "decision": decision,
            "reason": "r",
            "ip": "198.51.100.4",
            "at": now.isoformat(),
        },
        now,
    )


def test_policy_matching_by_subject_party_kind_and_grounds():
    assert match_policy(RULES, "domain", VENDOR, COMPANY, "vendor")[0] == "brand-domain"  # type: ignore[index]
    person = {**COMPANY, "company": ""}
    assert match_policy(RULES, "domain", VENDOR, person, "vendor")[0] == "strict"  # type: ignore[index]
    assert match_policy(RULES, "service", {**VENDOR, "company": ""}, COMPANY, "vendor")[0] == "strict"  # type: ignore[index]
    empty = OwnershipSection(
        enabled=True, policies={"only": OwnershipPolicy(subjects=["client"], grounds=["deceased"])}
    )
    assert match_policy(empty, "domain", VENDOR, COMPANY, "vendor") is None
    with pytest.raises(ValueError, match="no ownership policy covers a domain"):
        Ownership(empty).decide_one(
            {},
            Event(
                id="e",
                type="OwnershipCommand",
                data={
                    "command": "open",
                    "case": "o1",
                    "subjects": [DOMAIN],
                    "holder": VENDOR,
                    "requester": COMPANY,
                    "grounds": "vendor",
                },
            ),
            T0,
        )


def test_open_asks_the_requester_and_waits_for_every_document():
    d = run({}, {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": COMPANY, "grounds": "vendor"})
    assert d.state and d.state["status"] == "collecting" and d.state["policies"].keys() == {"brand-domain"}
    email = next(a for a in d.actions if a.kind == "email")
    assert email.client_id == 21 and email.params["consent"]["purpose"] == "ownership-requester"
    # The link by email, the case's thread, and a note on each party's account (finding 7 of issue 17).
    assert [a.kind for a in d.actions] == ["email", "ticket", "client_note", "client_note"]
    assert [(a.client_id, a.params["msg"]["data"]["status"], a.params["sticky"]) for a in d.actions[2:]] == [
        (VENDOR["client"], "opened", False),
        (21, "opened", False),
    ]
    state = (
        run(
            d.state,
            {
                "command": "consent",
                "purpose": "ownership-requester",
                "decision": "accept",
                "ip": "x",
                "at": T0.isoformat(),
            },
        ).state
        or {}
    )
    state = (
        run(
            state, {"command": "attach", "sha256": "a" * 64, "kind": "letterhead-letter", "from": "r", "via": "post"}
        ).state
        or {}
    )
    assert state["status"] == "collecting"  # attached, not yet checked
    state = run(state, {"command": "check", "item": 1, "ok": True}).state or {}
    assert state["status"] == "collecting"  # the registry extract is still missing


def test_a_registry_extract_older_than_allowed_does_not_count():
    state = documented(opened(), dated="2026-08-23")  # 91 days before T0: too old
    assert state["status"] == "collecting"
    state = documented(opened(), dated="2026-08-24")  # exactly 90 days: fresh enough
    assert state["status"] == "notified"


def test_notice_deadline_reminder_and_window_edge():
    state = documented(opened())
    # Told as a day, the deadline lasts to the end of it (in the configured zone, UTC here: break round 14 H6).
    deadline = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC)
    assert (T0 + timedelta(days=14)).date() == deadline.date()
    assert state["status"] == "notified" and state["deadline"] == deadline.isoformat()
    d = holder_answers(state, "accept", T0)  # what a consent does, for comparison below
    assert d.state and d.state["status"] == "review"
    tick = FAMILY.decide_one(
        state, Event(id="t", type="Tick", data={}, source="timer"), deadline - timedelta(days=3), "case:o1"
    )
    [reminder] = [a for a in tick.actions if a.kind == "email"]
    assert tick.state and tick.state["reminded"] and reminder.params["consent"]["ttl_s"] == 3 * 86400
    # The next tick: the next read of who owns the subjects (an open case is watched), well before the window ends.
    assert tick.due_at == deadline - timedelta(days=3, hours=-1)
    early = FAMILY.decide_one(
        tick.state, Event(id="t", type="Tick", data={}, source="timer"), deadline - timedelta(seconds=1), "case:o1"
    )
    assert early.state and early.state["status"] == "notified"
    assert [a.kind for a in early.actions] == ["read_owners"] and early.due_at == deadline
    edge = FAMILY.decide_one(
        tick.state, Event(id="t", type="Tick", data={}, source="timer"), deadline, "case:o1"
    )
    assert edge.state and edge.state["status"] == "review" and edge.state["subjects"][0]["hand_over"] == "move"


def test_objection_disputes_and_freezes_until_resolved():
    d = holder_answers(documented(opened()), "decline")
    state = d.state or {}
    assert state["status"] == "disputed" and {a.kind for a in d.actions} >= {"email", "ticket"}
    for command in ({"command": "approve"}, {"command": "complete"}):
        with pytest.raises(ValueError):
            run(state, command)
    late = holder_answers(state, "accept")  # a second link answer cannot undo the dispute
    assert late.state and late.state["status"] == "disputed"
    with pytest.raises(ValueError, match="attach the court order"):
        run(state, {"command": "resolve", "outcome": "court-order"})
    one = run(state, {"command": "resolve", "outcome": "objection-withdrawn"}).state or {}
    withdrawn = run(one, {"command": "resolve", "outcome": "objection-withdrawn", "by": "bob"})
    assert withdrawn.state and withdrawn.state["status"] == "review"
    cancelled = run(state, {"command": "resolve", "outcome": "request-withdrawn"})
    assert cancelled.state and cancelled.state["status"] == "cancelled"


def test_consent_required_without_answer_gives_only_a_backup_or_nothing():
    state = documented(opened(SERVICE))
    review = (
        FAMILY.decide_one(
            state, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=15), "case:o1"
        ).state
        or {}
    )
    assert review["subjects"][0]["hand_over"] == "backup-only"
    strict = OwnershipSection(enabled=True, policies={"p": OwnershipPolicy(subjects=["service"], consent="required")})
    family = Ownership(strict)
    s = (
        family.decide_one(
            {},
            Event(
                id="e",
                type="OwnershipCommand",
                data={
                    "command": "open",
                    "case": "o2",
                    "subjects": [SERVICE],
                    "holder": VENDOR,
                    "requester": COMPANY,
                    "grounds": "vendor",
                },
            ),
            T0,
        ).state
        or {}
    )
    s = (
        family.decide_one(
            s,
            Event(
                id="e",
                type="OwnershipCommand",
                data={"command": "consent", "purpose": "ownership-requester", "decision": "accept", "case": "o2"},
            ),
            T0,
        ).state
        or {}
    )
    assert s["status"] == "notified"  # no evidence required by this policy
    s = family.decide_one(s, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=15)).state or {}
    with pytest.raises(ValueError, match="allows no hand-over without it"):
        family.decide_one(
            s, Event(id="e", type="OwnershipCommand", data={"command": "approve", "case": "o2", "by": "a"}), T0
        )


def test_approvals_count_distinct_staff_then_execution_lists_and_acts():
    state = holder_answers(documented(opened(DOMAIN, SERVICE)), "accept").state or {}
    one = run(state, {"command": "approve"}).state or {}
    assert one["status"] == "review"  # the hosting policy needs two
    with pytest.raises(ValueError, match="another member of staff"):
        run(one, {"command": "approve"})
    d = run(one, {"command": "approve", "by": "bob"})
    case = d.state or {}
    assert case["status"] == "executing"
    kinds = [a.kind for a in d.actions]
    assert kinds.count("registrant_update") == 1 and kinds.count("domain_lock") == 1 and "announce" in kinds
    # The service's password changes once it is the requester's in WHMCS, not at approval (issue 17).
    assert "credential_change" not in kinds
    moved = run(case, {"owners": {"domain:20": 21, "service:201": 21}}, kind="OwnershipOwners")
    [password] = [a for a in moved.actions if a.kind == "credential_change"]
    assert password.params == {
        "service_id": 201, "notify_template": "Hosting Account Welcome Email", "outcome_to": "OwnershipStepEnded",
        "tell_parked": True,
        # Held should the new holder's profile email be the old holder's (round 26's HIGH 4).
        "holder_marks": {"addresses": ["budi@kreatif.id"], "domains": ["kreatif.id"]},
    }  # fmt: skip
    assert password.client_id == 21
    # Its guard re-reads the owner before it runs: the password goes to no other client.
    assert password.guard["owned_by"] == {"kind": "service", "id": 201, "client": 21}
    assert password.guard["state_in"]["in"] == ["executing"]  # tenth break round H1: stopped by a dispute
    # Seen moved, the case waits for every step (the password too) and a read of WHMCS after them.
    assert (moved.state or {})["status"] == "executing"
    last = steps_done(moved.state or {})
    assert [a.kind for a in last.actions] == ["read_owners"] and (last.state or {})["status"] == "executing"
    done = run(last.state or {}, {"owners": {"domain:20": 21, "service:201": 21}}, kind="OwnershipOwners")
    assert (done.state or {})["status"] == "completed"
    whois = next(a for a in d.actions if a.kind == "registrant_update")
    assert whois.params["holder"]["company"] == "PT Maju Makmur" and whois.is_destructive
    checklist = next(a for a in d.actions if a.params.get("msg", {}).get("id") == "ownership.staff_checklist")
    assert checklist.params["msg"]["data"]["commission"] == 0  # this policy pays none
    assert checklist.params["msg"]["data"]["move_services"] == ["service:201"]
    told = [a for a in d.actions if a.kind == "email"]
    assert [(a.client_id, a.params["msg"]["id"]) for a in told] == [
        (21, "ownership.approved"),
        (20, "ownership.approved"),
    ]
    assert d.due_at == T0 + RULES.check_every


def test_moves_are_detected_then_the_lock_runs_out():
    state = run(holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}).state or {}
    assert state["status"] == "executing"
    check = FAMILY.decide_one(
        state, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(hours=1), "case:o1"
    )
    assert [a.kind for a in check.actions] == ["read_owners"]
    same = run(check.state or {}, {"owners": {"domain:20": 20}}, T0 + timedelta(hours=1), kind="OwnershipOwners")
    assert same.state and same.state["status"] == "executing"
    reminder = FAMILY.decide_one(
        same.state, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=3), "case:o1"
    )
    assert [a.params["msg"]["id"] for a in reminder.actions if a.kind == "ticket"] == [
        "ownership.staff_checklist_reminder"
    ]
    moved_seen = run(
        reminder.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(days=3, hours=1), kind="OwnershipOwners"
    )
    assert (moved_seen.state or {})["status"] == "executing"  # the registrant update has not reported yet
    last = steps_done(moved_seen.state or {}, T0 + timedelta(days=3, hours=1))
    done = run(
        last.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(days=3, hours=1), kind="OwnershipOwners"
    )
    case = done.state or {}
    assert case["status"] == "completed" and case["lock_until"] == (T0 + timedelta(days=63, hours=1)).isoformat()
    assert done.due_at == T0 + timedelta(days=3, hours=2)  # while locked, WHMCS is read for a move
    with pytest.raises(ValueError, match="completed: nothing more can change"):
        run(case, {"command": "cancel"})
    watch = FAMILY.decide_one(
        case, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=3, hours=2), "case:o1"
    )
    assert [a.kind for a in watch.actions] == ["read_owners"]
    assert watch.actions[0].params["subjects"] == [{"kind": "domain", "id": 20, "name": DOMAIN.get("name")}]
    moved = run(watch.state or {}, {"owners": {"domain:20": 99}}, T0 + timedelta(days=4), kind="OwnershipOwners")
    [ticket] = moved.actions
    assert ticket.params["msg"]["id"] == "ownership.staff_moved_while_frozen"
    assert ticket.params["msg"]["data"]["moved_to"] == 99 and ticket.params["msg"]["data"]["frozen"] == "locked"
    again = run(moved.state or {}, {"owners": {"domain:20": 99}}, T0 + timedelta(days=5), kind="OwnershipOwners")
    assert again.actions == []  # raised once
    ended = FAMILY.decide_one(
        case, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(days=63, hours=1), "case:o1"
    )
    assert ended.state and ended.state["lock_ended"] and ended.due_at is None


def test_cancel_reject_and_refusals():
    state = opened()
    with pytest.raises(ValueError, match="only a case under review can be approved"):
        run(state, {"command": "approve"})
    with pytest.raises(ValueError, match="no evidence item 9"):
        run(state, {"command": "check", "item": 9, "ok": True})
    assert (run(state, {"command": "reject", "note": "no mandate"}).state or {})["status"] == "rejected"
    assert (run(state, {"command": "cancel", "note": "settled"}).state or {})["status"] == "cancelled"
    declined = run(state, {"command": "consent", "purpose": "ownership-requester", "decision": "decline", "ip": "x"})
    assert declined.state and declined.state["status"] == "cancelled"
    item = (
        run(state, {"command": "attach", "sha256": "b" * 64, "kind": "other", "from": "r", "via": "post"}).state or {}
    )
    withdrawn = run(item, {"command": "withdraw", "item": 1}).state or {}
    assert withdrawn["evidence"][0]["status"] == "withdrawn" and len(withdrawn["evidence"]) == 1  # marked, kept
    with pytest.raises(ValueError, match="was withdrawn"):
        run(withdrawn, {"command": "check", "item": 1, "ok": True})


def test_tickets_asking_for_ownership_route_to_a_draft_but_not_the_bridges_own():
    asks = Event(
        id="e",
        type="TicketOpen",
        data={"ticketid": 5, "userid": 21, "subject": "Full access please", "message": "to majumakmur.co.id"},
    )
    assert FAMILY.route(asks) == ["draft:ticket:5"]
    own = Event(
        id="e", type="TicketOpen", data={"ticketid": 6, "subject": "Ownership case o1", "message": "thread [wb-0123]"}
    )
    assert FAMILY.route(own) == []
    plain = Event(
        id="e", type="TicketOpen", data={"ticketid": 7, "subject": "DNS question", "message": "majumakmur.co.id"}
    )
    assert FAMILY.route(plain) == []
    resolved = FAMILY.decide_one(
        {},
        Event(
            id="r",
            type="TicketResolved",
            data={
                "ticketid": 5,
                "writer": 21,
                "state_key": "draft:ticket:5",
                "requested_by": "ownership",
                "items": [
                    {"kind": "domain", "id": 20, "name": "majumakmur.co.id", "owner": 20},
                    {"kind": "domain", "id": 30, "name": "own.co.id", "owner": 21},
                ],
            },
        ),
        T0,
        "draft:ticket:5",
    )
    announce = next(a for a in resolved.actions if a.kind == "announce")
    assert announce.params["data"]["subjects"] == [{"kind": "domain", "id": 20, "name": "majumakmur.co.id"}]


def test_whois_xml_escapes_values():
    assert (
        contacts_xml({"Registrant": {"Organisation_Name": "A & B <Ltd>"}})
        == "<contactdetails><Registrant><Organisation_Name>A &amp; B &lt;Ltd&gt;</Organisation_Name></Registrant></contactdetails>"
    )


@pytest.mark.parametrize(
    ("field_name", "shown", "expected", "same"),
    [
        ("Email", "Siti.Rahmawati@MajuMakmur.co.id", "siti.rahmawati@majumakmur.co.id", True),
        ("Phone", "+62 21 5550199", "+62.215550199", True),
        ("Telephone", "21-555-0199", "215550199", True),
        ("Phone", "+62.215550100", "+62.215550199", False),
        ("Organisation_Name", " pt  Maju Makmur", "PT Maju Makmur", True),
        ("First_Name", "Sita", "Siti", False),
        ("Email", "siti@example.com", "siti.rahmawati@majumakmur.co.id", False),
    ],
)
def test_a_registrant_field_is_compared_as_a_registrar_would(field_name: str, shown: str, expected: str, same: bool):
    assert whois.same(whois.detail_of(field_name), shown, expected) is same
    differs = whois.differences({field_name: shown}, {field_name: expected})
    assert differs == ([] if same else [(field_name, shown, expected)])


def test_a_rejected_document_is_explained_with_what_is_still_needed():
    state = run(
        opened(), {"command": "consent", "purpose": "ownership-requester", "decision": "accept", "ip": "x"}
    ).state
    sent = {"command": "attach", "sha256": "c" * 64, "kind": "letterhead-letter", "from": "r", "via": "post"}
    state = run(state or {}, sent).state or {}
    d = run(state, {"command": "check", "item": 1, "ok": False, "note": "not signed"})
    [email] = [a for a in d.actions if a.kind == "email"]
    assert email.client_id == 21 and email.params["msg"] == {
        "id": "ownership.evidence_rejected",
        "data": {
            "case": "o1",
            "subjects": ["domain:20"],
            "holder": 20,
            "requester": 21,
            "requester_name": "",
            "document": "letterhead-letter",
            "item": 1,
            "note": "not signed",
            "needed": "letterhead-letter registry-extract:90",
            "checking": "",
        },
    }


def test_an_outside_requester_is_named_as_given_and_told_in_its_ticket_thread():
    outside = {"client": None, "name": "", "company": "PT Maju Makmur", "email": "legal@majumakmur.co.id"}
    d = run({}, {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": outside, "grounds": "brand"})
    ticket, note = d.actions  # the thread to the outside requester; a note on the holder's account only
    assert note.kind == "client_note" and note.client_id == VENDOR["client"]
    assert ticket.kind == "ticket" and ticket.client_id is None and "client_id" not in ticket.params
    assert ticket.params["email"] == "legal@majumakmur.co.id"
    assert ticket.params["msg"]["id"] == "ownership.request_received_ticket"
    assert ticket.params["msg"]["data"]["requester"] is None
    assert ticket.params["msg"]["data"]["requester_name"] == "PT Maju Makmur"
    assert ticket.params["consent"]["summary"]["id"] == "ownership.confirm_question"


def answer(
    state: dict[str, Any], party: str, what: str, via: str = "post", evidence: int | None = None, **who: str
) -> Decision:
    data = {"command": "answer", "party": party, "answer": what, "via": via, "os_user": "root", **who}
    return run(state, {**data, "evidence": evidence} if evidence else data)


@pytest.mark.parametrize(
    ("status", "what", "after"),
    [
        ("notified", "object", "disputed"),
        ("notified", "consent", "review"),
        ("review", "object", "disputed"),
        ("disputed", "consent", "review"),
    ],
)
def test_a_recorded_holder_answer_moves_the_case_as_the_link_would(status: str, what: str, after: str):
    state = documented(opened())
    if status == "review":
        state = holder_answers(state, "accept").state or {}
    if status == "disputed":
        state = holder_answers(state, "decline").state or {}
    assert state["status"] == status
    if status == "disputed":  # the holder's letter is kept, but a second member of staff confirms (issue 17, H5)
        state = answer(state, "holder", what, evidence=1, by="alice", os_user="alice").state or {}
        assert state["status"] == "disputed" and state["consent_confirmations"][0]["evidence"] == 1
    d = answer(state, "holder", what, by="bob")
    assert d.state and d.state["status"] == after and d.state["recorded_answers"][-1]["os_user"] == "root"
    if after == "disputed":
        assert "ownership.staff_disputed" in [a.params.get("msg", {}).get("id") for a in d.actions]
        assert [a.params["sticky"] for a in d.actions if a.kind == "client_note"] == [True, True]


def test_an_objection_turned_into_consent_by_phone_needs_two_people():
    disputed = holder_answers(documented(opened()), "decline").state or {}
    one = answer(disputed, "holder", "consent", "phone", by="alice", os_user="alice").state or {}
    assert one["status"] == "disputed" and not one.get("recorded_answers")
    with pytest.raises(ValueError, match="alice already recorded"):
        answer(one, "holder", "consent", "phone", by="Alice", os_user="alice2")
    with pytest.raises(ValueError, match="one person may not count as two"):
        answer(one, "holder", "consent", "phone", by="bob", os_user="alice")
    two = answer(one, "holder", "consent", "phone", by="bob", os_user="bob").state or {}
    assert two["status"] == "review" and two["holder_consent"] and not two.get("consent_confirmations")


def test_a_holder_answer_before_it_was_asked_counts_once_the_documents_are_in():
    early = answer(opened(), "holder", "consent").state or {}
    assert early["status"] == "collecting" and early["holder_consent"]
    done = documented(early)
    assert done["status"] == "review" and done["subjects"][0]["hand_over"] == "move"
    objected = answer(opened(), "holder", "object").state or {}
    assert objected["status"] == "disputed"
    one = run(objected, {"command": "resolve", "outcome": "objection-withdrawn"}).state or {}
    withdrawn = run(one, {"command": "resolve", "outcome": "objection-withdrawn", "by": "bob"}).state or {}
    assert withdrawn["status"] == "collecting"  # the documents still come first


def test_a_thread_reply_is_read_then_flagged_unless_the_requester_wrote_it():
    state = documented(opened())
    state = run(state, {"party": "holder", "ticket_id": 77}, kind="OwnershipTicket").state or {}
    read = FAMILY.decide_one(
        state, Event(id="r", type="TicketUserReply", data={"ticketid": 77, "replyid": 5, "userid": 20}), T0, "case:o1"
    )
    [action] = read.actions
    assert action.kind == "read_reply" and action.params["ticket_id"] == 77 and action.params["reply_id"] == 5
    reply = {"ticket": 77, "reply": 5, "found": True, "message": "KEBERATAN"}
    # Staff's reply in the case's thread may report the holder's answer (a phone call): attached for staff to
    # classify, as someone's who is neither party (thirteenth round H3).
    staff = run(state, {**reply, "userid": 0, "admin": True, "admin_name": "bob"}, kind="OwnershipReply")
    assert staff.state and staff.state["status"] == "review"
    assert [(r["party"], r.get("staff"), r["writer"]) for r in staff.state["replies"]] == [("other", True, "bob (staff)")]
    assert "ownership.staff_reply_staff" in [a.params.get("msg", {}).get("id") for a in staff.actions]
    requester = run(state, {**reply, "userid": 21}, kind="OwnershipReply")
    assert requester.state and requester.state["status"] == "notified" and requester.state["replies"]
    stranger = run(state, {**reply, "userid": 99}, kind="OwnershipReply")  # issue-17 break test: not dropped
    assert stranger.state and stranger.state["status"] == "review"
    assert [r["party"] for r in stranger.state["replies"]] == ["other"]
    assert "ownership.staff_reply_other" in [a.params.get("msg", {}).get("id") for a in stranger.actions]
    holder = run(state, {**reply, "userid": 20}, kind="OwnershipReply")
    assert holder.state and holder.state["status"] == "review"
    assert "ownership.staff_reply" in [a.params.get("msg", {}).get("id") for a in holder.actions]
    with pytest.raises(ValueError, match="the holder replied in ticket #77"):
        run(holder.state, {"command": "approve"})
    again = run(holder.state, {**reply, "userid": 20}, kind="OwnershipReply")
    assert len((again.state or {})["replies"]) == 1  # the same reply once


OUTSIDE = {"client": None, "company": "PT Maju Makmur", "email": "legal@majumakmur.co.id"}
FULL = {
    "name": "Siti Rahmawati",  # the registrant's person (missing_contact: the company's name is no person's)
    "address1": "Jl. Sudirman 1",
    "city": "Jakarta",
    "postcode": "10220",
    "country": "ID",
    "phone": "+62.215550100",
}


def test_an_outside_requester_gets_the_domain_only_with_its_full_contact():
    """From the issue-17 break test: a requester outside WHMCS became the registrant with the old holder's
    address and phone (only its name and email were known). The case carries the new holder's full contact
    before it executes; approval says what is missing."""
    state = run(
        {},
        {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": OUTSIDE, "grounds": "vendor"},
    ).state
    assert state
    review = holder_answers(documented(state), "accept").state or {}
    assert review["status"] == "review"
    with pytest.raises(ValueError, match="address1, city, postcode, country and phone") as refused:
        run(review, {"command": "approve"})
    assert "ownership requester-contact o1" in str(refused.value)
    partial = run(review, {"command": "contact", "address1": "Jl. Sudirman 1", "city": "Jakarta"}).state or {}
    with pytest.raises(ValueError, match="postcode, country and phone"):
        run(partial, {"command": "approve"})
    with pytest.raises(ValueError, match="country"):
        run(partial, {"command": "contact", "country": "Indonesia"})  # a two-letter code
    full = run(partial, {"command": "contact", **FULL}).state or {}
    executing = run(full, {"command": "approve"})
    [update] = [a for a in executing.actions if a.kind == "registrant_update"]
    holder = update.params["holder"]
    assert (holder["address1"], holder["city"], holder["postcode"], holder["country"]) == (
        "Jl. Sudirman 1", "Jakarta", "10220", "ID"
    )
    assert holder["phone"] == "+62.215550100" and holder["phone_cc"] == "62"


def test_deceased_applies_to_a_person_not_a_company():
    with pytest.raises(ValueError, match="deceased applies to a person"):
        run({}, {"command": "open", "subjects": [DOMAIN], "holder": VENDOR, "requester": COMPANY, "grounds": "deceased"})


def test_the_example_configs_stricter_ex_employee_policy_wins():
    """From the issue-17 break test: company-brand-domain (1 approval) listed ex-employee among its grounds
    before the ex-employee policy (2 approvals), so the first match gave an ex-employee case 1 approval."""
    config = load_config(ROOT / "config.example.yaml", environ=ENV)
    person = {"client": 30, "name": "Rudi Hartono", "company": ""}
    name, policy = match_policy(config.ownership, "domain", person, COMPANY, "ex-employee") or ("", None)
    assert name == "ex-employee" and policy is not None and policy.approvals == 2
    assert (match_policy(config.ownership, "domain", VENDOR, COMPANY, "brand") or ("",))[0] == "company-brand-domain"


def test_an_outside_requesters_subjects_moved_to_another_client_send_nothing_and_do_not_complete():
    """From the issue-17 break test (H2): staff moved an outside requester's service and domain to an unrelated
    client; the bridge changed the password, WHMCS mailed that client the new login and the case completed.
    The client they moved to must be the requester (its WHMCS email, compared without case)."""
    state = run(
        {},
        {"command": "open", "subjects": [DOMAIN, SERVICE], "holder": VENDOR, "requester": OUTSIDE, "grounds": "vendor"},
    ).state
    review = holder_answers(documented(state or {}), "accept").state or {}
    full = run(review, {"command": "contact", **FULL}).state or {}
    one = run(full, {"command": "approve"}).state or {}
    executing = run(one, {"command": "approve", "by": "bob"}).state or {}
    assert executing["status"] == "executing"
    tick = FAMILY.decide_one(
        executing, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(hours=1), "case:o1"
    )
    [read] = tick.actions
    assert read.params["owner_emails"] is True  # the outside requester is recognised by its address
    wrong = {"owners": {"domain:20": 21, "service:201": 21}, "emails": {"21": "siti@majumakmur.co.id"}}
    moved = run(tick.state or {}, wrong, T0 + timedelta(hours=1), kind="OwnershipOwners")
    case = moved.state or {}
    assert case["status"] == "executing"
    assert not [a for a in moved.actions if a.kind == "credential_change"]
    [ticket] = [a for a in moved.actions if a.kind == "ticket"]
    assert ticket.params["msg"]["id"] == "ownership.staff_moved_not_to_requester"
    data = ticket.params["msg"]["data"]
    assert data["moving"] == ["domain:20", "service:201"] and data["moved_to"] == 21
    assert data["moved_to_email"] == "siti@majumakmur.co.id" and data["requester_email"] == OUTSIDE["email"]
    again = run(case, wrong, T0 + timedelta(hours=2), kind="OwnershipOwners")
    assert again.actions == [] and (again.state or {})["status"] == "executing"  # raised once
    with pytest.raises(ValueError, match="still belong"):
        run(case, {"command": "complete"})
    right = {"owners": {"domain:20": 22, "service:201": 22}, "emails": {"22": "LEGAL@MajuMakmur.co.id"}}
    done = run(case, right, T0 + timedelta(hours=3), kind="OwnershipOwners")
    [password] = [a for a in done.actions if a.kind == "credential_change"]
    assert password.client_id == 22
    assert (done.state or {})["status"] == "executing"  # until every step reported done
    last = steps_done(done.state or {}, T0 + timedelta(hours=3))
    final = run(last.state or {}, right, T0 + timedelta(hours=3), kind="OwnershipOwners")
    assert (final.state or {})["status"] == "completed"


def test_an_objection_recorded_while_executing_before_anything_moved_stops_the_execution():
    """From the issue-17 break test (H6): an objection after approval, before staff moved anything in WHMCS,
    changed nothing, and a holder's reply in its thread then reached no one."""
    state = run(holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}).state or {}
    assert state["status"] == "executing"
    objected = answer(state, "holder", "object", via="phone", note="my director never agreed")
    case = objected.state or {}
    assert case["status"] == "disputed" and case["approvals"] == []
    # Staff's ticket follows the read of WHMCS made just after the objection (what had moved by then: nothing).
    [read] = [a for a in objected.actions if a.kind == "read_owners"]
    after = run(case, {**read.params["report"], "owners": {"domain:20": 20}}, kind="OwnershipOwners")
    case = after.state or {}
    assert case["history"][-1]["why"] == "nothing had moved in WHMCS when the objection was recorded"
    [ticket] = [
        a for a in after.actions if a.kind == "ticket" and a.params["msg"]["id"].startswith("ownership.staff")
    ]
    assert ticket.params["msg"]["id"] == "ownership.staff_objection_executing"
    assert ticket.params["msg"]["data"]["reason"] == "my director never agreed"
    told = [(a.client_id, a.params["msg"]["id"]) for a in objected.actions if a.kind == "email"]
    assert told == [(21, "ownership.holder_objected"), (20, "ownership.objection_recorded")]
    watch = FAMILY.decide_one(
        case, Event(id="t", type="Tick", data={}, source="timer"), T0 + timedelta(hours=1), "case:o1"
    )
    assert [a.kind for a in watch.actions] == ["read_owners"]
    moved = run(watch.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=1), kind="OwnershipOwners")
    [raised] = moved.actions
    assert raised.params["msg"]["id"] == "ownership.staff_moved_while_frozen"
    assert raised.params["msg"]["data"]["frozen"] == "disputed"
    assert (moved.state or {})["status"] == "disputed"


def test_a_reply_in_the_thread_while_executing_flags_staff():
    state = run(holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}).state or {}
    reply = {"ticket": 77, "reply": 5, "found": True, "message": "KEBERATAN"}
    for writer, userid in (("holder", 20), ("requester", 21), ("other", 99)):
        flagged = run(state, {**reply, "userid": userid}, kind="OwnershipReply")
        assert (flagged.state or {})["status"] == "executing"
        assert [r["party"] for r in (flagged.state or {})["replies"]] == [writer]
        [ticket] = flagged.actions
        assert ticket.params["msg"]["id"] == "ownership.staff_reply_executing"
        assert ticket.params["msg"]["data"]["ticket"] == 77 and ticket.params["msg"]["data"]["reply"] == 5


def test_a_new_ticket_by_the_holder_naming_the_case_is_an_answer_to_classify():
    """From the issue-17 break test (H5): the holder objected in a new ticket naming the case, not in the case's
    thread; the ticket was lost and the window ended as "no answer"."""
    state = run(documented(opened()), {"party": "holder", "ticket_id": 77}, kind="OwnershipTicket")
    assert state.refs and "party:20" in state.refs and "party:21" in state.refs
    opening = {"ticketid": 90, "userid": 20, "subject": "Saya KEBERATAN", "message": "kasus o1: saya keberatan"}
    event = Event(id="n", type="TicketOpen", data=opening)
    assert "party:20" in FAMILY.refs(event)
    read = FAMILY.decide_one(state.state or {}, event, T0, "case:o1")
    [action] = read.actions
    assert action.kind == "read_reply" and action.params["ticket_id"] == 90 and action.params["reply_id"] == 0
    told = {"userid": 20, "email": "", "name": "", "subject": "Saya KEBERATAN", "message": "kasus o1: saya keberatan"}
    report = {"case": "o1", "opened": True, "subject": "Saya KEBERATAN", "told": told, "parties": [20, 21]}
    assert action.params["report"] == report
    found = {"ticket": 90, "reply": 0, "found": True, "opened": True, "subject": "Saya KEBERATAN", "userid": 20}
    named = run(read.state or {}, {**found, "message": "Saya KEBERATAN (kasus o1)"}, kind="OwnershipReply")
    case = named.state or {}
    assert case["status"] == "review" and [r["party"] for r in case["replies"]] == ["holder"]
    [ticket] = [a for a in named.actions if a.params.get("msg", {}).get("id") == "ownership.staff_new_ticket"]
    assert ticket.params["msg"]["data"]["ticket"] == 90
    with pytest.raises(ValueError, match="replied in ticket #90"):
        run(case, {"command": "approve"})
    by_domain = run(read.state or {}, {**found, "message": "about majumakmur.co.id: no"}, kind="OwnershipReply")
    assert (by_domain.state or {})["status"] == "review"
    # A new ticket of the holder's account is an answer whatever it says (eleventh round H1), even ending with the
    # bridge's key (it quotes the bridge's message: twelfth round H2; the engine tells the bridge's own tickets
    # from its outbox, never from a key): staff classify it, `unrelated` when it is about something else.
    quoted = run(read.state or {}, {**found, "message": "TIDAK. > Ownership case o1 [wb-0123456789abcdef0123]"}, kind="OwnershipReply")
    assert (quoted.state or {})["status"] == "review" and [r["party"] for r in (quoted.state or {})["replies"]] == ["holder"]
    other = run(read.state or {}, {**found, "message": "a question about my invoice"}, kind="OwnershipReply")
    assert (other.state or {})["status"] == "review" and [r["party"] for r in (other.state or {})["replies"]] == ["holder"]
    back = run(
        other.state or {}, {"command": "answer", "party": "holder", "answer": "unrelated", "via": "ticket"}
    ).state or {}
    assert back["status"] == "notified" and back["replies"][0]["classified"] == "unrelated"
    thread = FAMILY.decide_one(case, Event(id="n", type="TicketOpen", data={**opening, "ticketid": 77}), T0, "case:o1")
    assert thread.actions == []  # the case's own thread


def test_an_extract_that_grew_too_old_before_the_decision_blocks_the_approval():
    """From the second issue-17 break test: a registry extract fresh when checked (2026-09-01, 90 days at most)
    was 101 days old when staff approved, with no warning. The age is checked again at the decision."""
    state = holder_answers(documented(opened(DOMAIN), dated="2026-09-01"), "accept").state or {}
    assert state["status"] == "review"
    with pytest.raises(ValueError, match="registry-extract.*older than 90 days"):
        run(state, {"command": "approve"}, now=T0 + timedelta(days=30))


def test_an_extract_dated_in_the_future_is_not_fresh():
    """From the second issue-17 break test: `--dated 2027-06-01` satisfied the 90-day rule."""
    state = documented(opened(), dated=(T0 + timedelta(days=180)).date().isoformat())
    assert state["status"] == "collecting"


def test_the_requesters_objection_recorded_while_executing_is_raised_and_holds_the_completion():
    """From the issue-17 hostile test (H4, round h): `record-answer --party requester --answer object` while the
    case executed changed nothing visible (no late-answer line, no staff ticket); staff then made the move and the
    case completed and locked to the requester who had denied the request. The answer is kept and raised to staff,
    and the case does not complete until staff decide: the requester's consent recorded, or the case cancelled."""
    state = run(holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}).state or {}
    objected = answer(state, "requester", "object", via="post", note="letter: never asked for it")
    case = objected.state or {}
    assert case["status"] == "executing"
    assert [h["what"] for h in case["history"][-2:]] == ["requester objected (post)", "late answer"]
    [ticket] = [a for a in objected.actions if a.kind == "ticket"]
    assert ticket.params["msg"]["id"] == "ownership.staff_requester_objected_executing"
    assert ticket.params["msg"]["data"]["waiting"] == ["domain:20"]
    assert not [a for a in objected.actions if a.kind == "email"]
    moved = run(case, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=1), kind="OwnershipOwners")
    held = steps_done(moved.state or {}, T0 + timedelta(hours=1))
    read = run(held.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=1), kind="OwnershipOwners")
    assert (read.state or {})["status"] == "executing", [h["what"] for h in (read.state or {})["history"]]
    with pytest.raises(ValueError, match="the requester's objection"):
        run(read.state or {}, {"command": "complete"}, T0 + timedelta(hours=1))
    confirmed = answer(read.state or {}, "requester", "consent", via="phone", note="called: it does want it")
    assert [a.kind for a in confirmed.actions] == ["read_owners"]
    done = run(confirmed.state or {}, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=2), kind="OwnershipOwners")
    assert (done.state or {})["status"] == "completed"


def test_a_case_held_by_the_requesters_objection_while_executing_may_be_cancelled_once_nothing_moved():
    state = run(holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}).state or {}
    with pytest.raises(ValueError, match="is executing"):
        run(state, {"command": "cancel"})
    held = answer(state, "requester", "object", via="post").state or {}
    moved = run(held, {"owners": {"domain:20": 21}}, T0 + timedelta(hours=1), kind="OwnershipOwners").state or {}
    with pytest.raises(ValueError, match="move it back to the holder"):
        run(moved, {"command": "cancel"})
    back = run(moved, {"owners": {"domain:20": 20}}, T0 + timedelta(hours=2), kind="OwnershipOwners").state or {}
    with pytest.raises(ValueError, match="has not run"):  # the bridge's registrant update would still run
        run(back, {"command": "cancel"})
    ran = steps_done(back, T0 + timedelta(hours=2)).state or {}
    cancelled = run(ran, {"command": "cancel", "note": "the requester withdrew"}, T0 + timedelta(hours=2))
    assert (cancelled.state or {})["status"] == "cancelled"


@pytest.mark.parametrize("status", ["collecting", "notified", "review", "executing"])
def test_staffs_note_on_a_recorded_objection_stays_internal(status: str):
    """From the issue-17 hostile test (M2, round h): the `--note` of `record-answer` (staff's internal note) was
    sent to both clients as the holder's own reason. It stays with staff (their ticket, the timeline); the
    parties' emails carry only a reason a party gave through its link."""
    state = {
        "collecting": lambda: opened(DOMAIN),
        "notified": lambda: documented(opened(DOMAIN)),
        "review": lambda: holder_answers(documented(opened(DOMAIN)), "accept").state or {},
        "executing": lambda: run(
            holder_answers(documented(opened(DOMAIN)), "accept").state or {}, {"command": "approve"}
        ).state
        or {},
    }[status]()
    assert state["status"] == status
    note = "Bob's note: the vendor sounded angry, check its invoices"
    objected = answer(state, "holder", "object", via="phone", note=note)
    emails = [a for a in objected.actions if a.kind == "email"]
    assert emails and all(not a.params["msg"]["data"].get("reason") for a in emails), emails
    assert note in (objected.state or {})["history"][-1]["why"]
    tickets = objected.actions
    if status == "executing":  # staff's ticket follows the read of WHMCS just after the objection
        [read] = [a for a in objected.actions if a.kind == "read_owners"]
        report = {**read.params["report"], "owners": {"domain:20": 20}}
        tickets = run(objected.state or {}, report, kind="OwnershipOwners").actions
    [ticket] = [a for a in tickets if a.kind == "ticket" and a.params["msg"]["id"].startswith("ownership.staff")]
    assert ticket.params["msg"]["data"]["reason"] == note


def test_a_long_letter_still_names_the_case_and_its_domain():
    """From the issue-17 outside test (ninth round, H5): a guest's objection letter listing 110 unpaid invoices
    (dates, numbers, amounts) before naming the domain and the case id was never routed to the case: the words
    were sorted and cut at 200, and every date and number sorts before a letter. Only what may name a case or a
    domain is kept, in the order written."""
    invoices = "\n".join(f"Invoice #{1000 + n} of 2026-{n % 12 + 1:02d}-15: IDR {n * 1000}.00 unpaid" for n in range(110))
    letter = f"Formal objection on behalf of Kreatif Studio.\n{invoices}\nWe object to moving MajuMakmur.co.id (case o1a2b3c4)."
    found = policies.mentions(letter)
    assert "mention:majumakmur.co.id" in found and "mention:o1a2b3c4" in found, found[:10]
    assert "mention:2026-01-15" not in found and "mention:1000" not in found, found[:10]


def test_a_ticket_older_than_the_case_is_not_news_on_a_resync():
    """From the tenth issue-17 break round (M3): a configuration change re-read the open request ticket #1
    (written before the case, its letter attached from it) as a new ticket: the case was paused until staff
    recorded whether the requester still wanted it. A ticket older than the case's own threads (WHMCS numbers
    tickets in order), or one the case's evidence came from, is not a new answer."""
    state = run(documented(opened()), {"party": "requester", "ticket_id": 77}, kind="OwnershipTicket").state or {}
    request = {"ticketid": 1, "userid": 21, "subject": "Full access please", "message": "kasus o1: majumakmur.co.id"}
    replayed = FAMILY.decide_one(state, Event(id="n", type="TicketOpen", data=request), T0, "case:o1")
    assert replayed.actions == [] and not (replayed.state or {}).get("replies")
    attached = json.loads(json.dumps(state))
    attached["tickets"] = {}
    attached["evidence"][0]["ticket"] = 1
    replayed = FAMILY.decide_one(attached, Event(id="n", type="TicketOpen", data=request), T0, "case:o1")
    assert replayed.actions == []
    newer = FAMILY.decide_one(state, Event(id="n", type="TicketOpen", data={**request, "ticketid": 90}), T0, "case:o1")
    assert [a.kind for a in newer.actions] == ["read_reply"]


@pytest.mark.parametrize("party", ["holder", "requester"])
def test_an_answer_recorded_on_a_closed_case_changes_nothing_and_staff_get_one_note(party):
    """From the tenth issue-17 break round (L1): the holder's objection by post recorded on a completed case said
    nothing of what it did; the requester's left no trace in the timeline and staff no note. Each late answer is
    recorded, says in the timeline that it changes nothing, and gives staff one ticket note."""
    closed = run(documented(opened()), {"command": "reject", "note": "no mandate"}).state or {}
    answer = {"command": "answer", "party": party, "answer": "object", "via": "post", "note": "letter of 3 Dec"}
    late = run(closed, answer)
    case = late.state or {}
    assert case["status"] == "rejected" and case["recorded_answers"][-1]["answer"] == "object"
    assert [h["what"] for h in case["history"]][-1] == "late answer" and "changes nothing" in case["history"][-1]["why"]
    [note] = late.actions
    assert note.kind == "ticket" and note.params["msg"]["id"] == "ownership.staff_late_answer"
    assert note.params["msg"]["data"]["party"] == party and note.params["msg"]["data"]["status"] == "rejected"
    again = run(case, answer, T0 + timedelta(minutes=1))
    assert [a.key for a in again.actions] != [note.key]  # one note per late answer


def test_the_requesters_person_writing_inside_the_holders_account_is_not_the_holder():
    """From the tenth issue-17 break round (M1): the requester's own WHMCS user (its owner's address), invited to
    the holder's account, opened a ticket there saying "we consent"; staff were told the holder wrote and to record
    the holder's answer. The writer is named, said to be the requester's person, and is not taken for the holder."""
    state = run(documented(opened()), {"party": "holder", "ticket_id": 77}, kind="OwnershipTicket").state or {}
    found = {"ticket": 90, "reply": 0, "found": True, "opened": True, "subject": "Kasus o1", "userid": 20}
    siti = {**found, "email": "Siti@MajuMakmur.co.id", "name": "Siti Rahmawati", "message": "o1: we consent"}
    read = run(state, siti, kind="OwnershipReply")
    case = read.state or {}
    assert [r["party"] for r in case["replies"]] == ["other"]
    [flagged] = [a for a in read.actions if a.params.get("msg", {}).get("id", "").startswith("ownership.staff_reply")]
    assert flagged.params["msg"]["id"] == "ownership.staff_reply_other"
    assert flagged.params["msg"]["data"]["requester_person"] == 1
    assert "Siti Rahmawati" in flagged.params["msg"]["data"]["writer"]
    budi = run(state, {**found, "email": "budi@kreatif.id", "name": "Budi Santoso", "message": "o1: no"}, kind="OwnershipReply")
    assert [r["party"] for r in (budi.state or {})["replies"]] == ["holder"]
