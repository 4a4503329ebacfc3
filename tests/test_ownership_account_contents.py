"""Issue 17, thirteenth break round, MEDIUM 1, against the sandbox: a claim on a whole client account. The holder
is asked about the account as it holds it when the case opens; what it adds afterwards (its own new hosting and
domain) is not handed over by an approval without a word: the approval is refused, naming it, until staff move it
out of the account or open a new case. The review and the checklist list what the account holds, and the checklist
says what "Make Owner" hands over with it: its invoices, paid or not, and its domains' registrants unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def staff_ticket(world: World, case_id: str, part: str) -> str:
    found = [t for t in world.sandbox.rows("tickets") if t["subject"].startswith(f"{part}") and case_id in t["subject"]]
    assert found, [t["subject"] for t in world.sandbox.rows("tickets")]
    return str(world.sandbox.rows("ticket_replies", ticket_id=found[-1]["id"])[0]["message"])


def in_review(world: World) -> str:
    case_id = open_and_document(world, "client:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "review"
    return case_id


def test_what_the_holder_added_after_it_was_asked_refuses_the_approval(world: World):
    case_id = in_review(world)
    asked = [e["message"] for e in world.emails(20) if "Ownership request" in e["subject"]][-1]
    assert "Your account holds" in asked and "kreatifstudio.id" in asked and "majumakmur.co.id" in asked, asked
    review = staff_ticket(world, case_id, f"Review ownership case {case_id}")
    # The review names what the account held when the holder was asked: the hosting and both domains.
    assert "kreatifstudio.id" in review and "majumakmur.co.id" in review, review

    # The holder orders its own new project in the same account, after it consented.
    world.sandbox.control("checkout", {"client_id": 20, "user_id": 1, "pid": 1, "domain": "budi-pribadi.id"})
    world.settle()
    added = [s["id"] for s in world.sandbox.rows("services", client_id=20) if s["id"] != 201]
    assert added, world.sandbox.rows("services", client_id=20)
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert f"case {case_id} is not approved" in refused and "budi-pribadi.id" in refused, refused
    assert f"service #{added[0]}" in refused and "after the case was opened" in refused, refused
    assert world.case(case_id)["status"] == "review" and not world.case(case_id)["approvals"]

    # Staff move the new items to another account of the holder's people: the account is as it was asked about.
    world.sandbox.control("move", {"service": added[0], "client": 22})
    new_domain = next(d["id"] for d in world.sandbox.rows("domains", client_id=20) if d["domainname"] == "budi-pribadi.id")
    world.sandbox.control("move", {"domain": new_domain, "client": 22})
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    checklist = staff_ticket(world, case_id, f"Ownership case {case_id}: execute the hand-over")
    # What goes with the account, and what "Make Owner" hands over with it.
    assert "kreatifstudio.id" in checklist and "budi-pribadi.id" not in checklist, checklist
    assert "Invoices already issued stay with" not in checklist, checklist
    assert "its invoices, paid or unpaid, go with it too" in checklist, checklist
    assert "WHOIS registrant of its domains stay as WHMCS has them" in checklist, checklist


def test_a_claim_on_a_service_keeps_the_invoice_line_of_a_move(world: World):
    """A service or domain moved (not the account): invoices already issued stay with the holder, as before."""
    case_id = open_and_document(world, "service:201")
    requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    checklist = staff_ticket(world, case_id, f"Ownership case {case_id}: execute the hand-over")
    assert "Invoices already issued stay with" in checklist and "go with it" not in checklist, checklist
