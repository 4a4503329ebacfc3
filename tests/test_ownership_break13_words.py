"""Issue 17, thirteenth break round: what a party answers reaches the case whole (a long reason in any script), a
code or password it pastes is kept nowhere, a document dated after today is refused, and a write of a disputed case
is refused at approval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, thread_of
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from tests.test_ownership_execution import actions, parked_registrant_update
from whmcs_bridge.pasted import masked


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_an_objection_with_a_long_reason_in_thai_is_recorded(world: World):
    """HIGH 4 (consent_cjk_reason.py): a 495-character Thai reason (the page allows 500) is 4,327 bytes once
    form-encoded; the page read 4,096 bytes, lost the `decision` field sent after it, and answered "Please choose
    an answer" twice: nothing recorded, staff told nothing."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    reason = ("เราคัดค้าน โดเมนนี้เป็นของเรา " * 40)[:495]
    posted = requests.post(link, data={"reason": reason, "decision": "decline"}, timeout=10)
    assert posted.status_code == 200, posted.text
    world.settle()
    case = world.case(case_id)
    [answer] = [a for a in case["answers"] if a["party"] == "holder"]
    assert answer["decision"] == "decline" and answer["reason"] == reason
    assert case["status"] == "disputed"


EPP, PASSWORD = "Xy7#pQ2!kLzz", "Rahasia-Budi-2026!"


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under `root` (the state database and its journal, the exported dossier) holding `secret`."""
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_code_or_password_a_party_quotes_in_a_ticket_is_kept_nowhere(world: World):
    """HIGH 5 (secret_in_reply.py): the holder objected "to prove it is ours" quoting the domain's EPP code and its
    cPanel password; both sat in the state database (inbox, outbox, case, audit chain) and in the exported dossier,
    which is handed to lawyers and the other party: whoever holds it can transfer the domain away. A code or
    password written after its label is masked before anything is kept; the reply stays readable."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    said = (
        "KAMI KEBERATAN. Bukti bahwa domain milik kami: kode EPP (auth code) domain majumakmur.co.id: "
        f"{EPP} dan password cPanel: {PASSWORD} -- Budi"
    )
    reply_as(world, thread["id"], clientid=20, message=said)
    world.settle(4)
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "ticket",
              "--by", "alice", "--note", "objects in its thread")  # fmt: skip
    world.settle()
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    for secret in (EPP, PASSWORD):
        assert files_holding(world.tmp, secret) == [], secret
    shown = world.run("ownership", "show", case_id).output
    assert "KAMI KEBERATAN" in shown and "[hidden]" in shown, shown


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("The password is Qx7!pLm2zR", "The password is [hidden]"),
        ("mot de passe : azerty123", "mot de passe : [hidden]"),
        ("EPP code=ABCD1234, thanks", "EPP code=[hidden] thanks"),
        ("wachtwoord: geheim-2026", "wachtwoord: [hidden]"),
        ("kata sandi adalah Rahasia99", "kata sandi adalah [hidden]"),
        ("Please send me the password of cabinet-martin.fr", "Please send me the password of cabinet-martin.fr"),
        ("Bypass: yes", "Bypass: yes"),
    ],
)
def test_a_pasted_secret_is_masked_and_the_words_around_it_stay(said: str, kept: str):
    assert masked(said) == kept


def test_a_document_dated_after_today_is_refused_when_attached(world: World):
    """LOW 3 (cli_fuzz.py, future_dated_extract.py): `attach --dated 2062-11-27` was taken without a word; only
    check-evidence said the date was after today, and the document never counted as fresh."""
    case_id = open_and_document(world, "domain:20")
    before = len(world.case(case_id)["evidence"])
    extract = world.file("extract.pdf", PDF + b"% another extract\n")
    refused = world.fail(
        "ownership", "attach", case_id, extract, "--kind", "registry-extract", "--from", "requester", "--via",
        "email", "--dated", "2062-11-27", "--by", "alice",
    )  # fmt: skip
    assert "2062-11-27 is after today" in refused and len(refused.strip().splitlines()) == 1, refused
    assert len(world.case(case_id)["evidence"]) == before


def test_a_parked_write_of_a_disputed_case_is_refused_at_approval_not_planned(world: World):
    """LOW 1 (parked_write_after_objection.py): the registrant update was parked, the holder then objected by
    phone (the case disputed); `approvals approve` said "is now planned" and the next pass cancelled it. The
    approval is refused at once, saying the case is disputed."""
    case_id, update = parked_registrant_update(world)
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
              "--by", "alice", "--note", "called: not us")  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    refused = world.fail("approvals", "approve", str(update.id), "--by", "bob")
    assert f"ownership case {case_id} is disputed" in refused and "is now planned" not in refused, refused
    assert [e.status for e in actions(world, "registrant_update")] == ["parked"]
