"""Issue 17, twenty-second break round, HIGH (state_edit_signed_dossier.py): the holder's name edited in the case's
row of the state database went into a signed dossier that verified, while the audit rows in it still named the real
holder. Who the parties are, the grounds and the subjects' names are recorded in the chain when the case opens, with
its policy, and compared with the state as the policy is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_break19_integrity import failed, open_case
from tests.test_ownership_dossier_e2e import edit_case
from tests.test_ownership_e2e import World, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def forged_holder(case: dict[str, Any]) -> None:
    case["holder"]["name"] = "Forged Holder"


def other_requester(case: dict[str, Any]) -> None:
    case["requester"]["email"] = "someone@elsewhere.example"


def other_grounds(case: dict[str, Any]) -> None:
    case["grounds"] = "court-order"


def renamed_subject(case: dict[str, Any]) -> None:
    case["subjects"][0]["name"] = "another-domain.id"


@pytest.mark.parametrize("edit", [forged_holder, other_requester, other_grounds, renamed_subject])
def test_an_edited_party_grounds_or_subject_refuses_the_export(world: World, edit: Any):
    case_id = open_case(world)
    world.settle()
    before = world.case(case_id)
    edit_case(world, case_id, edit)
    assert world.case(case_id) != before
    out = failed(world, "ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert f"case {case_id}" in out and "edited outside the bridge" in out, out
    assert not (world.tmp / "dossier").exists()
    out = failed(world, "audit", "verify")
    assert f"case {case_id}" in out, out


def test_an_unedited_case_exports(world: World):
    case_id = open_case(world)
    world.settle()
    world.run("ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert (world.tmp / "dossier").exists()
