"""Issue 17, fourteenth break round: a case's writes wait for WHMCS's tickets to be read after its approval, the
holder's deadline is the whole day it is told as, a code or password a party pastes anywhere is masked, a party's
name is found whatever its punctuation, and what staff and the holder are told names what really happens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_answers import reply_as, staff_tickets, thread_of
from tests.test_ownership_break13 import never_silence, open_ticket, waiting
from tests.test_ownership_break13_words import files_holding
from tests.test_ownership_break13_writes import WITHDRAWAL, approve, consented, unhooked, writes
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.families.ownership.execution import writes_wait
from whmcs_bridge.families.ownership.flow import day_end
from whmcs_bridge.families.ownership.incoming import names_party
from whmcs_bridge.pasted import masked


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def tick(world: World) -> int:
    """One pass of `tick`, whatever its exit code (5: the poll failed)."""
    result = CliRunner().invoke(cli.main, ["--config", str(world.config), "tick"], catch_exceptions=False,
                                env=staff_login(("tick",)))  # fmt: skip
    assert "Traceback" not in result.output
    return result.exit_code


def test_the_writes_wait_while_the_poll_cannot_read_the_tickets_after_the_approval(world: World):
    """HIGH 5 (g13_poll_fails_after_approve.py): approved while WHMCS read fine; GetTicket then failed and the
    holder's written withdrawal sat unread; the next pass failed its poll (exit 5) and still sent the registrant
    update and the lock. The writes wait for a poll that read the tickets after the approval."""
    case_id = consented(world)
    unhooked(world)
    assert approve(world, case_id, "carol").exit_code == 0
    world.sandbox.control("faults", {"status": 500, "count": 1000, "actions": ["GetTicket"]})
    reply_as(world, thread_of(world, case_id, 20)["id"], clientid=20, message=WITHDRAWAL)
    assert tick(world) == 5
    assert tick(world) == 5
    assert writes(world) == []
    case = world.case(case_id)
    assert case["status"] == "executing" and {s["status"] for s in case["steps"].values()} == {"planned"}

    world.sandbox.control("faults", {"status": 0, "count": 0})
    world.settle(4)  # the poll reads the withdrawal: the writes now wait for staff to classify it
    case = world.case(case_id)
    assert [(r["party"], r["classified"]) for r in case["replies"]] == [("holder", None)]
    assert writes(world) == []


@pytest.mark.parametrize(("polled_at", "waits"), [
    ("2026-11-27T10:00:05+00:00", True),  # the poll began in the approval's second: it may have read before it
    ("2026-11-27T10:00:04+00:00", True),
    ("2026-11-27T10:00:06+00:00", False),
])
def test_a_poll_stamped_in_the_approvals_second_does_not_count_as_read_after_it(polled_at: str, waits: bool):
    """CI run of stop 30: a poll stamped (to the second, at its start) in the same second as the approval let the
    writes go though GetTicket failed from then on: the holder's withdrawal sat unread."""
    case = {"id": "C1", "executing": "2026-11-27T10:00:05+00:00", "replies": []}
    why, reading = writes_wait(case, polled_at)
    assert (bool(why), reading) == (waits, waits)


def test_the_writes_go_once_the_tickets_are_read_again(world: World):
    case_id = consented(world)
    unhooked(world)
    assert approve(world, case_id, "carol").exit_code == 0
    world.sandbox.control("faults", {"status": 500, "count": 1000, "actions": ["GetTickets", "GetTicket"]})
    assert tick(world) == 5
    assert writes(world) == []
    world.sandbox.control("faults", {"status": 0, "count": 0})
    world.settle(3)
    assert sorted(writes(world)) == sorted(("DomainUpdateWhoisInfo", "DomainUpdateLockingStatus"))


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ('cPanel password: "Quoted-Pass-991". Thanks', 'cPanel password: "[hidden]". Thanks'),
        ("password: 'my secret pass' ok", "password: '[hidden]' ok"),
        ("Here is the EPP code Nocolon55aa and more", "Here is the EPP code [hidden] and more"),
        ("EPP code SubjEpp-7781zz - domain kami", "EPP code [hidden] - domain kami"),
        ("the auth code -> Arrow-Code-42 -- Budi", "the auth code -> [hidden] -- Budi"),
        ("kode EPP => Zz99xx88 ya", "kode EPP => [hidden] ya"),
        ("Bukti: kode EPP: LinkEpp-77xQ (cek sendiri).", "Bukti: kode EPP: [hidden] (cek sendiri)."),
        ("Please send me the password of cabinet-martin.fr", "Please send me the password of cabinet-martin.fr"),
        ("the token 2026 expired", "the token 2026 expired"),
        ("reset the password tomorrow", "reset the password tomorrow"),
    ],
)
def test_a_quoted_or_colon_less_secret_is_masked(said: str, kept: str):
    """HIGH 1 (g1_secret_variants.py): a value in quotes, after an arrow, or right after its label without a colon
    (one that looks like a code: letters and digits) was kept whole."""
    assert masked(said) == kept


def test_a_code_in_the_links_reason_or_a_ticket_subject_is_kept_nowhere_nor_told_to_the_claimant(world: World):
    """HIGH 1 (g1_secret_variants.py): the holder's reason on its link ("kode EPP: LinkEpp-77xQ") was kept in the
    state database, the audit chain and the dossier, and emailed to the requester (the claimant, who could then
    transfer the domain away); a code in a ticket's subject, quoted, or without a colon was kept too."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    reason = "Domain ini milik kami. Bukti: kode EPP: LinkEpp-77xQ (cek sendiri)."
    posted = requests.post(link, data={"reason": reason, "decision": "decline"}, timeout=10)
    assert posted.status_code == 200, posted.text
    world.sandbox.control("act", {
        "action": "OpenTicket", "clientid": 20, "deptid": 1, "subject": "EPP code SubjEpp-7781zz - domain kami",
        "message": 'KAMI KEBERATAN. cPanel password: "Quoted-Pass-991". Here is the EPP code Nocolon55aa and the '
                   "auth code -> Arrow-Code-42 -- Budi",
    })  # fmt: skip
    world.settle(4)
    assert world.case(case_id)["status"] == "disputed"
    world.run("ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    told = " ".join(e["message"] + e["subject"] for e in world.emails(21))
    assert "Domain ini milik kami" in told and "[hidden]" in told
    for secret in ("LinkEpp-77xQ", "SubjEpp-7781zz", "Quoted-Pass-991", "Nocolon55aa", "Arrow-Code-42"):
        assert files_holding(world.tmp, secret) == [], secret
        assert secret not in told


@pytest.mark.parametrize(
    ("moment", "zone", "last"),
    [
        ("2026-12-11T15:40:48+00:00", "Europe/Paris", "2026-12-11T22:59:59+00:00"),
        ("2026-12-11T23:30:00+00:00", "Europe/Paris", "2026-12-12T22:59:59+00:00"),
        ("2026-12-11T15:40:48+00:00", "Asia/Jakarta", "2026-12-11T16:59:59+00:00"),
        ("2026-12-11T15:40:48+00:00", "UTC", "2026-12-11T23:59:59+00:00"),
    ],
)
def test_a_deadline_ends_with_its_day_in_the_configured_zone(moment: str, zone: str, last: str):
    assert day_end(datetime.fromisoformat(moment), zone) == datetime.fromisoformat(last)


def post_at(world: World, moment: datetime, link: str, **form: str) -> requests.Response:
    """The link's page answered at `moment` (the receiver's clock), whatever the real time."""
    real = world.receiver.clock
    world.receiver.clock = moment.timestamp
    try:
        return requests.post(link, data=form, timeout=10) if form else requests.get(link, timeout=10)
    finally:
        world.receiver.clock = real


def test_the_deadline_told_as_a_day_lasts_to_the_end_of_that_day(world: World):
    """HIGH 6 (g5_deadline_day.py): the email said "Please tell us by December 11, 2026"; the window and the link
    ended at 16:40 that day (the notice's instant plus 14 days), and the holder's objection at 19:40 was refused as
    expired. They last until the end of that day in the configured zone."""
    case_id = open_and_document(world, "domain:20")  # the machine's zone, UTC here
    deadline = datetime.fromisoformat(world.case(case_id)["deadline"])
    assert (deadline.hour, deadline.minute, deadline.second) == (23, 59, 59)
    link = world.link(20, f"Ownership request {case_id} about")
    posted = post_at(world, deadline - timedelta(minutes=1), link, decision="decline", reason="milik kami")
    assert posted.status_code == 200 and "has been recorded" in posted.text, posted.text
    world.settle()
    assert world.case(case_id)["status"] == "disputed"


def test_an_objection_through_the_link_after_the_deadline_is_recorded_not_dropped(world: World):
    """HIGH 6: an answer through the link once its deadline passed got 410 "expired", nothing recorded, and the case
    went on "without objection". While the case is open it is taken as a late answer: an objection counts."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    world.later(days=15)
    assert world.case(case_id)["status"] == "review"
    after = datetime.fromisoformat(world.case(case_id)["deadline"]) + timedelta(hours=3)
    shown = post_at(world, after, link)
    assert shown.status_code == 200 and "The deadline to answer has passed" in shown.text, shown.text
    posted = post_at(world, after, link, decision="decline", reason="Kami keberatan, baru kembali dari cuti.")
    assert posted.status_code == 200 and "arrived after the deadline" in posted.text, posted.text
    world.later(days=15, minutes=5)
    case = world.case(case_id)
    assert case["status"] == "disputed", case["history"]
    assert "Kami keberatan" in world.run("ownership", "show", case_id).output
    assert approve(world, case_id, "carol").exit_code != 0


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Saya pemilik CV Kreatif-Studio. KAMI KEBERATAN.", True),
        ("Keberatan atas permintaan PT. Maju Makmur", True),
        ("Kami dari PT. Maju-Makmur membatalkan permintaan", True),
        ("Kami dari PT.Maju,Makmur Tbk. membatalkan", True),
        ("Kreatif Studio, B.V.", True),
        ("budi-santoso menulis", True),
        ("Studio Kreatif", False),
        ("PT. Makmur Maju", False),
    ],
)
def test_a_partys_name_is_found_whatever_its_punctuation_or_legal_form(text: str, found: bool):
    """HIGH 4 (g4_guest_punct_name.py, g9_guest_requester_punct.py): a guest wrote "CV Kreatif-Studio" and
    "PT. Maju Makmur" (the requester's owner "PT. Maju-Makmur"): not found, the objection or the cancellation
    ignored, the domain moved."""
    case = {
        "id": "oc-1",
        "subjects": [{"kind": "domain", "name": "majumakmur.co.id"}],
        "holder": {"company": "Kreatif Studio", "name": "Budi Santoso"},
        "requester": {"company": "PT Maju Makmur", "name": "Siti"},
    }
    assert names_party(case, text) is found


def test_a_guest_objection_naming_the_parties_with_punctuation_reaches_the_case(world: World):
    case_id = open_and_document(world, "domain:20")
    ticket = open_ticket(
        world, 0, "Keberatan atas permintaan PT. Maju Makmur",
        "Saya pemilik CV Kreatif-Studio. KAMI KEBERATAN atas permintaan PT. Maju Makmur. Jangan pindahkan apa pun. "
        "-- Budi S.",
        name="Budi S.", email="budi.pribadi@gmail.com",
    )  # fmt: skip
    [reply] = waiting(world, case_id)
    assert (reply["party"], reply["ticket"]) == ("other", ticket), reply
    never_silence(world, case_id)


def test_approve_names_the_requester_for_its_owners_message_from_another_account(world: World):
    """HIGH 7 (g6_requester_hint_holder.py): Siti, owner of the requester's account, cancelled from account #22;
    approve told staff to run `record-answer ... --party holder`; done with `--answer unrelated`, the domain moved to
    the requester that had cancelled."""
    case_id = consented(world)
    world.sandbox.control("access", {"user": 2, "client": 22})  # Siti, owner of the requester's account #21
    ticket = open_ticket(
        world, 22, "Pembatalan permintaan",
        "Kami membatalkan permintaan pemindahan domain dari vendor kami. Mohon hentikan prosesnya. -- Siti",
        userid=2,
    )  # fmt: skip
    refused = world.fail("ownership", "approve", case_id, "--by", "carol")
    assert f"--party requester --answer consent|object --via ticket --reply {ticket}:0" in refused, refused
    wrong = world.fail("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via",
                       "ticket", "--reply", f"{ticket}:0", "--by", "alice", "--note", "not the holder's")  # fmt: skip
    assert "a person of the requester's account: record it with --party requester" in wrong, wrong
    assert [r["classified"] for r in waiting(world, case_id)] == [None]


def test_a_document_dated_before_1990_is_refused_when_attached(world: World):
    """LOW 1 (cli_fuzz.py): `attach --dated 0001-01-01` was taken without a word."""
    case_id = open_and_document(world, "domain:20")
    before = len(world.case(case_id)["evidence"])
    extract = world.file("extract.pdf", PDF + b"% an old extract\n")
    refused = world.fail(
        "ownership", "attach", case_id, extract, "--kind", "registry-extract", "--from", "requester", "--via",
        "email", "--dated", "0001-01-01", "--by", "alice",
    )  # fmt: skip
    assert "--dated 0001-01-01 is before 1990-01-01" in refused and len(refused.strip().splitlines()) == 1, refused
    assert len(world.case(case_id)["evidence"]) == before


def test_the_holders_link_says_its_objection_stands_and_a_consent_there_goes_to_staff(world: World):
    """LOW 2 (g16_object_then_consent_links.py): after the holder objected, its other link still asked "Your
    decision is needed" and answered a consent with "Your answer (I consent) has been recorded", which changed
    nothing."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
              "--by", "alice", "--note", "Budi called: he objects")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    shown = requests.get(link, timeout=10).text
    assert "Your objection to this request is already recorded and stands" in shown, shown
    posted = requests.post(link, data={"decision": "accept", "reason": "ok"}, timeout=10).text
    assert "Your objection recorded earlier stands" in posted and "does not withdraw it" in posted, posted
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    assert f"Ownership case {case_id}: a late answer, changes nothing" in staff_tickets(world, case_id)
