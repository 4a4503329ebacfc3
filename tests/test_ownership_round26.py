"""Issue 17, twenty-sixth round of ownership fixes (break round 25's MEDIUM 9 and 10, LOW 12), against the
vendor-dispute sandbox, the real receiver and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests import test_ownership_execution_round25 as round25
from tests.conftest import Sandbox, sql
from tests.test_ownership_account_owner_round24 import make_owner, owner_of
from tests.test_ownership_e2e import PDF, PNG, World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import holder_link
from tests.test_ownership_locks import staff_tickets
from whmcs_bridge.store.db import Database


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


reading = round25.reading  # the world whose consent pages read WHMCS when answered, as the daemon's do


# --- MEDIUM 9 (repro_parked_objection_window_ends): the holder's objection parked, the window's end -------------


def state_row(world: World, case_id: str) -> str:
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, "SELECT state FROM family_state WHERE family = 'ownership' AND key = ?", f"case:{case_id}")
    return str(row["state"])


def put_state(world: World, case_id: str, state: str) -> None:
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(db, "UPDATE family_state SET state = ? WHERE family = 'ownership' AND key = ?", state, f"case:{case_id}")


def parked_objection(world: World) -> str:
    """A notified company-brand-domain case (notice: silence suffices) whose holder objects through its link while
    the case's state is edited in the database: the objection is parked; the state is then put back as sealed."""
    case_id = open_and_document(world, "domain:20")
    assert world.case(case_id)["status"] == "notified"
    sealed = state_row(world, case_id)
    put_state(world, case_id, json.dumps({**json.loads(sealed), "note": "edited"}))
    answer = requests.post(
        holder_link(world, case_id), data={"decision": "decline", "reason": "my client's domain"}, timeout=5
    )
    assert answer.status_code == 200
    world.settle()
    put_state(world, case_id, sealed)
    return case_id


def parked_id(world: World) -> int:
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, "SELECT id FROM inbox WHERE status = 'parked' AND type = 'OwnershipCommand'")
    return int(row["id"])


def test_the_window_does_not_end_in_silence_while_the_holders_objection_is_parked(world: World):
    case_id = parked_objection(world)
    event = parked_id(world)
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "notified", case["history"][-2:]
    waits = [h for h in case["history"] if h["what"] == "window end waits"]
    assert waits and f"whmcs-bridge events retry {event}" in waits[-1]["why"], case["history"][-2:]
    [text] = staff_tickets(world, case_id, "an answer for it is parked")
    assert f"whmcs-bridge events retry {event} --by NAME" in text, text
    assert "backup" not in text, text
    world.later(days=15, hours=2)
    assert len(staff_tickets(world, case_id, "an answer for it is parked")) == 1
    # The retry is the remedy: the objection then counts.
    world.run("events", "retry", str(event), "--by", "alice")
    world.settle()
    assert world.case(case_id)["status"] == "disputed"


def test_a_refusal_for_a_parked_answer_names_events_retry_not_a_backup(world: World, tmp_path: Path):
    case_id = parked_objection(world)
    event = parked_id(world)
    refused = world.fail("ownership", "export", case_id, "--out", str(tmp_path / "dossier"))
    assert f"whmcs-bridge events retry {event} --by NAME" in refused, refused
    assert "backup" not in refused, refused
    verify = world.fail("audit", "verify")
    assert f"whmcs-bridge events retry {event} --by NAME" in verify, verify


# --- MEDIUM 10 (repro_consent_after_make_owner_to_requester): the holder's account made the requester's person's ---


def made_requesters(world: World) -> str:
    """A vendor-hosting case (consent required) notified; staff "Make Owner" the requester's owner user (Siti) on the
    holder's account #20, and the watch reads it."""
    case_id = open_and_document(world, "service:201")
    assert world.case(case_id)["status"] == "notified"
    make_owner(world, 20, owner_of(world, 21))
    world.later(hours=2)
    assert world.case(case_id)["history"][-1]["what"] == "account owner changed in WHMCS while open"
    return case_id


def consent_through_holders_link(world: World, case_id: str) -> None:
    answer = requests.post(holder_link(world, case_id), data={"decision": "accept", "reason": "setuju"}, timeout=5)
    assert answer.status_code == 200, answer.text
    world.settle()


def assert_held(world: World, case_id: str) -> None:
    case = world.case(case_id)
    assert case["status"] == "notified" and case.get("holder_link_held"), case["history"][-2:]
    assert "approve" not in [h["what"] for h in case["history"]]
    refused = world.fail("ownership", "approve", case_id, "--by", "bob")
    assert "only a case under review" in refused, refused


def test_a_consent_after_the_holders_account_was_made_the_requesters_is_held(world: World):
    """The page of this world does not read WHMCS: the rules hold the consent on the watch's fact (the holder's
    account's owner is now the requester's person)."""
    case_id = made_requesters(world)
    consent_through_holders_link(world, case_id)
    assert_held(world, case_id)
    [text] = staff_tickets(world, case_id, "the holder's consent needs your confirmation")
    assert "record-answer" in text and f"user #{owner_of(world, 21)}" in text, text


def test_a_consent_after_the_make_owner_is_held_when_the_page_reads_whmcs(reading: World):
    case_id = made_requesters(reading)
    consent_through_holders_link(reading, case_id)
    assert_held(reading, case_id)
    [text] = staff_tickets(reading, case_id, "the holder's consent needs your confirmation")
    assert "siti.rahmawati@majumakmur.co.id" in text and "record-answer" in text, text


def test_a_consent_right_after_a_make_owner_to_anyone_is_held_when_the_page_reads_whmcs(reading: World):
    """The page reads who owns the holder's account with the answer: a Make Owner the watch has not read yet (to a
    person of neither party) holds the consent too."""
    case_id = open_and_document(reading, "service:201")
    third = owner_of(reading, 22)
    make_owner(reading, 20, third)
    consent_through_holders_link(reading, case_id)
    assert_held(reading, case_id)
    [text] = staff_tickets(reading, case_id, "the holder's consent needs your confirmation")
    assert f"user #{third}" in text and "record-answer" in text, text


# --- LOW 12 (repro_outside_requester_company_as_person_name): no person's name for an outside requester --------


def outside_review(world: World) -> str:
    """domain #20 claimed by PT Maju Makmur outside WHMCS (its name and address only), confirmed by phone,
    documented, the holder consenting: in review."""
    case_id = str(
        world.run(
            "ownership", "open", "--subject", "domain:20", "--requester", "PT Maju Makmur, siti@majumakmur.co.id",
            "--grounds", "vendor", "--by", "alice",
        ).output.split()[0]
    )  # fmt: skip
    world.settle()
    world.run(
        "ownership", "record-answer", case_id, "--party", "requester", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "Siti confirmed by phone",
    )  # fmt: skip
    for kind, name, data in (
        ("letterhead-letter", "letter.pdf", PDF + b"letter"),
        ("registry-extract", "ahu.pdf", PDF + b"registry"),
        ("signatory-id", "ktp.png", PNG),
    ):
        world.run(
            "ownership", "attach", case_id, world.file(name, data), "--kind", kind, "--from", "requester",
            "--via", "email", "--dated", datetime.now(UTC).date().isoformat(), "--by", "alice",
        )  # fmt: skip
    for item in range(1, 4):
        world.run("ownership", "check-evidence", case_id, str(item), "--ok", "--by", "alice", "--note", "seen")
    world.settle()
    requests.post(holder_link(world, case_id), data={"decision": "accept"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "review", world.case(case_id)["history"][-2:]
    return case_id


def test_an_outside_requester_without_a_persons_name_is_asked_for_it_before_the_domain_moves(world: World):
    case_id = outside_review(world)
    given = world.run(
        "ownership", "requester-contact", case_id, "--address1", "Jl. Sudirman 45", "--city", "Jakarta",
        "--postcode", "10210", "--country", "ID", "--phone", "+62.215550199", "--by", "alice",
    ).output  # fmt: skip
    assert "its contact person's name are needed" not in given and "contact person's name is needed" in given, given
    refused = world.fail("ownership", "approve", case_id, "--by", "bob")
    assert "contact person's name" in refused and f"requester-contact {case_id} --name" in refused, refused
    world.run("ownership", "requester-contact", case_id, "--name", "Siti Rahmawati", "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    world.later(minutes=5)
    whois = json.loads(world.sandbox.rows("domains", id=20)[0]["whois"])["Registrant"]
    assert (whois["First_Name"], whois["Last_Name"]) == ("Siti", "Rahmawati"), whois
    assert whois["Organisation_Name"] == "PT Maju Makmur", whois
