"""Nineteenth break round and the LOWs left from the eighteenth, the ownership family's: an objection recorded without a
note showed in the timeline as "the holder's recorded objection: " with nothing after the colon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_an_answer_recorded_without_a_note_ends_its_line_without_a_colon(world: World):
    case_id = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "vendor",
        "--by", "alice",
    ).output.split()[0]  # fmt: skip
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--by", "alice",
    )  # fmt: skip
    lines = [e["why"] for e in world.case(case_id)["history"] if "recorded objection" in e["why"]]
    assert lines == ["the holder's recorded objection, before it was asked"], lines
    shown = world.run("ownership", "show", case_id).output
    assert not [x for x in shown.splitlines() if x.rstrip().endswith(":") and "objection" in x], shown
