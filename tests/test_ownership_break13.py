"""Issue 17, thirteenth break round: what a party answers reaches the case whole, in any script."""

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
