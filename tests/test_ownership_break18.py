"""Eighteenth break round and the LOWs left from the seventeenth, the ownership family's: an evidence item checked
twice by the same person read "checked by alice, alice" in `show` and in the dossier, without what each check found;
an export that failed half-way left a half-written folder where the dossier was to be; a ticket asking for what an
open case is already about opened a second, draft case (its note telling staff of it), which staff could never
confirm; the new registrant kept the previous holder's identity number and date of birth under a registrar's own field
names (MEDIUM 2); the bridge's API secret was refused in a plain text file but accepted in a compressed PDF, an email
whose body is base64 or quoted-printable, or a text that wraps it over two lines (HIGH 1)."""

from __future__ import annotations

import base64
import json
import quopri
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.sandbox.documents import whole_pdf
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


SECRET = b"sandbox-secret-very-long-123"


def pdf_with(text: bytes) -> bytes:
    content = zlib.compress(b"BT /F1 12 Tf 72 712 Td (" + text + b") Tj ET")
    page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"  # a whole PDF: a reader opens each since round 23
    stream = b"<< /Length " + str(len(content)).encode() + b" /Filter /FlateDecode >>\nstream\n" + content
    return whole_pdf([page, stream + b"\nendstream"])


def eml(encoding: str, body: bytes) -> bytes:
    return (
        b"From: vendor@kreatif.id\nTo: legal@majumakmur.co.id\nSubject: credentials\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: " + encoding.encode() + b"\n\n" + body
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("plain", b"the secret " + SECRET + b"."),
        ("wrapped", b"the secret sandbox-secret-\nvery-long-123."),
        ("pdf", pdf_with(b"secret " + SECRET)),
        ("base64 email", eml("base64", base64.encodebytes(b"Here it is: secret " + SECRET + b".\n"))),
        ("quoted-printable email", eml("quoted-printable", quopri.encodestring(b"x" * 70 + SECRET + b"\n"))),
        ("base64 anywhere", b"blob: " + base64.b64encode(b"xx" + SECRET + b"yy")),
    ],
)
def test_a_bridge_secret_is_found_however_the_file_encodes_it(name: str, data: bytes):
    with pytest.raises(BridgeError, match="contains one of the bridge's secrets"):
        refuse_secrets(name, data, [("the value of WHMCS_API_SECRET", SECRET)])


def test_a_document_without_the_secret_is_accepted():
    for data in (pdf_with(b"a letter"), eml("base64", base64.encodebytes(b"hello")), b"sandbox-secret-very-long-12"):
        refuse_secrets("doc", data, [("the value of WHMCS_API_SECRET", SECRET)])


def invoke(world: World, *args: str) -> Any:
    return CliRunner().invoke(cli.main, ["--config", str(world.config), *args], env=staff_login(args))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--subject", "domain:abc", "--requester", "client:21"], "expected service:ID, domain:ID or client:ID"),
        (["--subject", "domain:20", "--requester", "Acme"], 'expected client:ID or "Company name, contact@email"'),
        (["--subject", "domain:99999999999999999999999", "--requester", "client:21"], "an id WHMCS cannot have"),
    ],
)
def test_a_malformed_open_is_a_usage_error_before_any_whmcs_call(world: World, args: list[str], said: str):
    """LOW 5: exit 1 (or 5 after five WHMCS retries for an id out of range) where a wrong command line is exit 2."""
    result = invoke(world, "ownership", "open", *args, "--grounds", "vendor", "--by", "alice")
    assert result.exit_code == 2 and said in result.output, result.output


def test_verify_dossier_reads_no_endless_public_key(world: World, tmp_path: Path):
    """LOW 6: --public-key /dev/zero grew until the process was killed."""
    result = invoke(world, "ownership", "verify-dossier", str(tmp_path), "--public-key", "/dev/zero")
    assert result.exit_code != 0 and "not a public key file" in result.output, result.output
