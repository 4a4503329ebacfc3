"""Issue 17, finding 2 against the sandbox: with the shipped configuration, a deceased holder, a dissolved
company and a court order each have a path to completion that asks nothing of a holder who cannot (or
need not) answer: the documents, checked, go to two members of staff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, World, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def play_to_completion(world: World, grounds: str, documents: list[str], policy: str) -> str:
    """Open a case on the vendor's domain on these grounds, send and check the documents, have two staff
    approve, let staff move the domain in WHMCS: the case completes, and the holder was never asked."""
    out = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", grounds, "--by", "alice"
    ).output
    case_id = out.split()[0]
    assert world.case(case_id)["subjects"][0]["policy"] == policy
    world.settle()
    assert requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    today = datetime.now(UTC).date().isoformat()
    for number, kind in enumerate(documents, start=1):
        path = world.file(f"{kind}.pdf", PDF + kind.encode())
        world.run(
            "ownership",
            "attach",
            case_id,
            path,
            "--kind",
            kind,
            "--from",
            "requester",
            "--via",
            "post",
            "--dated",
            today,
            "--by",
            "alice",
        )
        world.run("ownership", "check-evidence", case_id, str(number), "--ok", "--by", "bob")
    case = world.case(case_id)
    assert case["status"] == "review" and case["subjects"][0]["hand_over"] == "move"
    assert "notified" not in [h["status"] for h in case["history"]]
    world.settle()
    assert not [e for e in world.emails(20) if "Ownership request" in e["subject"]], "the holder is not asked"
    review = next(t for t in world.sandbox.rows("tickets") if t["subject"] == f"Review ownership case {case_id}")
    text = world.sandbox.rows("ticket_replies", ticket_id=review["id"])[0]["message"]
    assert "The documents suffice" in text
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    assert world.case(case_id)["status"] == "executing"
    world.settle()
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    case = world.case(case_id)
    assert case["status"] == "completed" and case["subjects"][0]["moved_to"] == 21
    return case_id


def test_a_deceased_holders_domain_goes_to_the_heir(world: World):
    # From the issue-17 break test: a deceased case was accepted on a company holder. Deceased is a person's.
    refused = world.fail(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "deceased",
        "--by", "alice",
    )
    assert "Kreatif Studio" in refused and "deceased applies to a person" in refused and "dissolved" in refused
    assert world.sandbox.post("UpdateClient", clientid=20, companyname="").json()["result"] == "success"
    case_id = play_to_completion(
        world, "deceased", ["death-certificate", "heir-authority", "signatory-id"], "deceased-holder"
    )
    # consent: none: the holder had no response window, and the dossier says none.
    shown = world.run("ownership", "show", case_id).output
    assert "Locked until:" in shown  # the domain changed hands
    out = world.tmp / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    summary = (out / "summary.html").read_text()
    assert "Response window" not in summary and "the holder is not asked (consent: none)" in summary


def test_a_dissolved_companys_domain_goes_to_its_successor(world: World):
    play_to_completion(
        world, "dissolved", ["dissolution-record", "liquidator-letter", "signatory-id"], "dissolved-company"
    )


def test_a_court_order_suffices_without_an_objection(world: World):
    play_to_completion(world, "court-order", ["court-order"], "court-order")


def test_the_dissolution_record_must_be_recent(world: World):
    case_id = world.run(
        "ownership",
        "open",
        "--subject",
        "domain:20",
        "--requester",
        "client:21",
        "--grounds",
        "dissolved",
        "--by",
        "alice",
    ).output.split()[0]
    old = world.file("old.pdf", PDF + b"dissolved in 2019")
    world.run(
        "ownership",
        "attach",
        case_id,
        old,
        "--kind",
        "dissolution-record",
        "--from",
        "requester",
        "--via",
        "post",
        "--dated",
        "2019-01-01",
        "--by",
        "alice",
    )
    world.run("ownership", "check-evidence", case_id, "1", "--ok", "--by", "alice")
    shown = world.run("ownership", "show", case_id).output
    assert "dissolution-record (the one accepted is older than 365 days)" in shown
