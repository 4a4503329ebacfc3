"""Eighteenth break round and the LOWs left from the seventeenth, the ownership family's: an evidence item checked
twice by the same person read "checked by alice, alice" in `show` and in the dossier, without what each check found;
an export that failed half-way left a half-written folder where the dossier was to be; a ticket asking for what an
open case is already about opened a second, draft case (its note telling staff of it), which staff could never
confirm; the new registrant kept the previous holder's identity number and date of birth under a registrar's own field
names (MEDIUM 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from whmcs_bridge.whmcs.whois import with_holder


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


def test_an_export_that_fails_half_way_leaves_no_folder(world: World, tmp_path: Path):
    """The second evidence file changed in the store after the first was copied: the export is refused, and
    neither the dossier's folder nor a half of it is left for someone to file as the dossier."""
    case_id = open_and_document(world, "domain:20", "service:201")
    items = world.case(case_id)["evidence"]
    assert len(items) >= 2
    stored = next(p for p in world.tmp.rglob(items[-1]["sha256"]) if p.parent.parent.name == "evidence")
    stored.chmod(0o600)
    stored.write_bytes(stored.read_bytes() + b" altered")
    out = tmp_path / "dossiers" / "case"
    refused = world.fail("ownership", "export", case_id, "--out", str(out))
    assert "no longer matches its SHA-256" in refused, refused
    assert not out.exists() and list(out.parent.iterdir()) == [], list(out.parent.iterdir())


@pytest.mark.parametrize("subject", ["domain:20", "client:20"])
def test_a_ticket_asking_for_what_an_open_case_is_about_opens_no_second_case(world: World, subject: str):
    """The requester's case on the domain (or on the holder's whole account) is open; its director writes a
    ticket asking for the domain: the open case hears of it (its thread logic), no draft duplicates it."""
    case_id = world.run(
        "ownership", "open", "--subject", subject, "--requester", "client:21", "--grounds", "vendor", "--by", "alice"
    ).output.split()[0]  # fmt: skip
    world.settle()
    world.sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "clientid": 21,
            "deptid": 1,
            "subject": "We want full access to majumakmur.co.id",
            "message": "Our vendor registered majumakmur.co.id; please give us full control.",
        },
    )
    world.settle(4)
    cases = json.loads(world.run("ownership", "list", "--json").output)
    assert [c["id"] for c in cases] == [case_id], cases
    notes = [n["message"] for n in world.sandbox.rows("ticket_notes") if "draft" in n["message"].lower()]
    assert notes == [], notes


@pytest.mark.parametrize(
    "field",
    ["Identity_Number", "Date_of_Birth", "ID Card Number", "Passport", "National_ID", "Birth_Place", "Tax_ID", "NIK"],
)
def test_what_identifies_the_previous_holder_is_emptied_for_a_new_one(field: str):
    block = {"Full_Name": "Budi Santoso", "Email": "budi@kreatif.id", field: "3273012345670001", "Country": "ID"}
    out = with_holder(block, {"name": "Siti Rahmawati", "email": "siti@majumakmur.co.id", "country": "ID"})
    assert out[field] == "" and out["Full_Name"] == "Siti Rahmawati" and list(out) == list(block)
