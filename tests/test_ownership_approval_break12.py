"""Issue 17, twelfth break round: an approval decides on what WHMCS holds and what other cases say when it is given,
not when the case was opened."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, PNG, World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def documented_claim(world: World, subject: str, requester: str) -> str:
    """A case on `subject` for `requester`, confirmed by phone, every document it asks for attached and checked."""
    case_id = world.run(
        "ownership", "open", "--subject", subject, "--requester", requester, "--grounds", "vendor", "--by", "bob"
    ).output.split()[0]  # fmt: skip
    world.settle()
    world.run(
        "ownership", "record-answer", case_id, "--party", "requester", "--answer", "consent", "--via", "phone",
        "--by", "bob", "--note", "the company's director called",
    )  # fmt: skip
    shown = world.run("ownership", "show", case_id).output
    today = datetime.now(UTC).date().isoformat()
    for n, kind in enumerate(re.findall(r"([a-z-]+) \(not received\)", shown)):
        data = PNG if kind == "signatory-id" else PDF + kind.encode()
        world.run(
            "ownership", "attach", case_id, world.file(f"{kind}-{n}.{'png' if data is PNG else 'pdf'}", data),
            "--kind", kind, "--from", "requester", "--via", "email", "--dated", today, "--by", "bob",
        )  # fmt: skip
    for item in range(1, len(world.case(case_id)["evidence"]) + 1):
        world.run("ownership", "check-evidence", case_id, str(item), "--ok", "--by", "carol")
    world.settle()
    return case_id


def test_a_whole_account_claim_is_not_approved_while_a_domain_it_now_holds_is_locked(world: World):
    """H10 (locked_domain_via_account_claim.py): case A moves domain 20 from the vendor (#20) to PT Maju Makmur (#21)
    and completes, locking it for 60 days. Case C, a claim by Toko Sejahtera (#22) on the whole of #21, was opened
    before (then #21 did not hold the domain); once A completed, C's approval went through, its checklist handing
    over account #21, the locked domain with it. The lock is read when the approval is given."""
    case_a = open_and_document(world, "domain:20")
    case_c = documented_claim(world, "client:21", "client:22")
    world.run(
        "ownership", "record-answer", case_c, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "bob", "--note", "Siti agreed",
    )  # fmt: skip
    world.settle()
    requests.post(world.link(20, "Ownership request"), data={"decision": "accept"}, timeout=5)
    world.settle()
    world.run("ownership", "approve", case_a, "--by", "carol")
    world.settle()
    world.sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=2)
    assert world.case(case_a)["status"] == "completed"
    refused = world.fail("ownership", "approve", case_c, "--by", "alice")
    assert f"case {case_c} is not approved" in refused and f"ownership case {case_a} completed" in refused, refused
    assert "locked until" in refused and "domain #20" in refused, refused
    assert world.case(case_c)["status"] == "review"
