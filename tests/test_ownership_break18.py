"""Eighteenth break round and the LOWs left from the seventeenth, the ownership family's: an evidence item checked
twice by the same person read "checked by alice, alice" in `show` and in the dossier, without what each check found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, World, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_an_item_checked_twice_names_each_check_and_what_it_found(world: World):
    case_id = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "dissolved",
        "--by", "alice",
    ).output.split()[0]  # fmt: skip
    path = world.file("record.pdf", PDF + b"dissolution record")
    world.run(
        "ownership", "attach", case_id, path, "--kind", "dissolution-record", "--from", "requester", "--via", "post",
        "--by", "alice",
    )  # fmt: skip
    world.run("ownership", "check-evidence", case_id, "1", "--reject", "--by", "alice", "--note", "a copy, unsigned")
    world.run("ownership", "check-evidence", case_id, "1", "--ok", "--by", "alice", "--note", "signed original")
    world.run("ownership", "check-evidence", case_id, "1", "--ok", "--by", "Alice", "--note", "seen again")
    shown = world.run("ownership", "show", case_id).output
    line = next(x for x in shown.splitlines() if "dissolution-record," in x)
    assert "(checked by alice (rejected), alice (ok))" in line, line
