"""The twenty-first break round's ownership evidence findings, against the sandbox and the real CLI.

H3: the bridge's secret written as a PDF or an email writes non-ASCII text (UTF-16, with its byte order mark) passed
the evidence check and went into the dossier. L1: a file whose name is not UTF-8 could not be attached. L2: `attach
--from` kept a right-to-left override and line breaks; a case id pasted with a zero-width space was "no such case".
L3: an export killed on its way left a hidden folder of evidence copies that no later export removed or mentioned."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET, Sandbox
from tests.test_ownership_e2e import PDF, World, vendor_world
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import folder
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.sandbox.documents import whole_pdf


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def opened(world: World) -> str:
    out = world.run(
        "ownership",
        "open",
        "--subject",
        "domain:21",
        "--requester",
        "client:21",
        "--grounds",
        "vendor",
        "--by",
        "alice",
    ).output
    return str(out.split()[0])


def attach(world: World, case_id: str, path: str, sender: str = "requester") -> list[str]:
    return [case_id, path, "--kind", "other", "--from", sender, "--via", "email", "--by", "alice"]


UTF16 = ("\ufeff" + SECRET).encode("utf-16-be")


PAGE = (
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"  # whole PDFs: since the twenty-third round a reader opens each
)


def info_pdf(title: bytes) -> bytes:
    return whole_pdf([PAGE, b"<< /Title " + title + b" >>"])


def stream_pdf(content: bytes) -> bytes:
    z = zlib.compress(content)
    return whole_pdf(
        [PAGE, b"<< /Length " + str(len(z)).encode() + b" /Filter /FlateDecode >>\nstream\n" + z + b"\nendstream"]
    )


def mail(text: str, charset: str, data: bytes | None = None) -> bytes:
    body = base64.encodebytes(data if data is not None else text.encode(charset)).decode()
    return (
        "From: a@example.com\nTo: b@example.com\nSubject: letter\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: base64\n\n{body}"
    ).encode()


SECRET_FORMS = {
    "pdf utf-16 hex string": info_pdf(b"<" + UTF16.hex().upper().encode() + b">"),
    "pdf utf-16 octal literal": info_pdf(b"(" + b"".join(b"\\%03o" % c for c in UTF16) + b")"),
    "pdf utf-16 string in a compressed stream": stream_pdf(
        b"BT /F1 12 Tf 72 712 Td <" + UTF16.hex().encode() + b"> Tj ET"
    ),
    "pdf utf-16le string": info_pdf(b"<" + ("\ufeff" + SECRET).encode("utf-16-le").hex().encode() + b">"),
    "email utf-16 part": mail(f"Our reference is {SECRET}, regards", "utf-16"),
    "email cp500 part": mail(f"Our reference is {SECRET}", "cp500"),
    "utf-16 text file": ("\ufeff" + f"notes: {SECRET}").encode("utf-16-le"),
    "pdf plain hex (control)": info_pdf(b"<" + SECRET.encode().hex().encode() + b">"),
}


@pytest.mark.parametrize("name", SECRET_FORMS)
def test_the_secret_in_utf16_or_a_declared_charset_is_refused_at_attach(world: World, name: str):
    """H3: each form a reader or a mail client shows as the secret is refused; nothing is attached."""
    case_id = opened(world)
    path = world.file("letter.eml" if name.startswith("email") else "letter.pdf", SECRET_FORMS[name])
    refused = world.fail("ownership", "attach", *attach(world, case_id, path))
    assert "contains one of the bridge's secrets (the value of WHMCS_API_SECRET" in refused, refused
    assert SECRET not in refused
    assert world.case(case_id)["evidence"] == []


def test_innocent_utf16_text_is_accepted_and_an_unreadable_charset_is_refused_with_a_sentence(world: World):
    """H3: a PDF whose title is UTF-16 (a name with an umlaut) is an ordinary document; an email part in a character
    set the bridge cannot read cannot be checked, so it is refused, saying so, not accepted blind."""
    case_id = opened(world)
    title = ("\ufeff" + "Vertrag Müller GmbH, unterzeichnet am 3. November").encode("utf-16-be")
    innocent = info_pdf(b"<" + title.hex().upper().encode() + b">") + b"% " + b"x" * 64 + b"\n%%EOF\n"
    world.run("ownership", "attach", *attach(world, case_id, world.file("vertrag.pdf", innocent)))
    letter = mail("", "utf-8", ("Dear staff, our contract is attached. " * 3).encode("utf-16-le"))
    world.run(
        "ownership", "attach", *attach(world, case_id, world.file("ok.eml", letter.replace(b"utf-8", b"utf-16le")))
    )
    unknown = mail("", "x-klingon", ("Our reference is attached, with our best regards. " * 2).encode())
    refused = world.fail("ownership", "attach", *attach(world, case_id, world.file("odd.eml", unknown)))
    assert "character set 'x-klingon', which the bridge cannot read" in refused, refused
    assert len(world.case(case_id)["evidence"]) == 2


def test_the_check_reads_pdf_strings_as_text_strings():
    """H3 at the check itself: UTF-8 with its mark too; the escapes of a literal still count before decoding."""
    secrets = [("the value of WHMCS_API_SECRET", SECRET.encode())]
    marked = ("\ufeff" + SECRET).encode("utf-8")
    with pytest.raises(BridgeError, match="bridge's secrets"):
        refuse_secrets("utf-8", info_pdf(b"<" + marked.hex().encode() + b">"), secrets)
    refuse_secrets("plain", info_pdf(b"(\\376\\377\\000M\\000\\374\\000l\\000l\\000e\\000r)"), secrets)


def test_a_file_whose_name_is_not_utf8_is_attached_and_its_name_shown_escaped(world: World):
    """L1: a Latin-1 name (a file from an SMB share) was refused with "type it again"; text still must be UTF-8."""
    case_id = opened(world)
    path = os.fsdecode(bytes(world.tmp) + b"/Vertrag-M\xfcller.pdf")
    Path(path).write_bytes(PDF + b"% signed by both parties on the third of November\n%%EOF\n")
    world.run("ownership", "attach", *attach(world, case_id, path))
    [item] = world.case(case_id)["evidence"]
    assert item["name"] == "Vertrag-M_xfcller.pdf", item  # the byte escaped (\\xfc), as every shown name, to _
    assert "Vertrag-M_xfcller.pdf" in world.run("ownership", "show", case_id).output
    refused = world.fail("ownership", "attach", *attach(world, case_id, path, sender="M\udcfcller"))
    assert "is not UTF-8 text: type it again" in refused, refused


@pytest.mark.parametrize("sender", ["requester\n  approved by: carol, dave (2 of 2)", "\u202eyrotsih", "holder\tx"])
def test_attach_from_refuses_line_breaks_and_text_direction_characters(world: World, sender: str):
    """L2: `--from` is one name on one line of the history, like delegation's --by."""
    case_id = opened(world)
    path = world.file("letter.pdf", PDF + b"% a letter on the company's letterhead, signed\n%%EOF\n")
    refused = world.fail("ownership", "attach", *attach(world, case_id, path, sender=sender))
    assert "--from" in refused and "control" in refused and "text-direction character" in refused, refused
    assert world.case(case_id)["evidence"] == []


@pytest.mark.parametrize("hidden", ["\u200b", "\u2060", "\u202e", "\x07", "\u00a0"])
def test_a_case_id_with_an_invisible_character_is_refused_naming_it(world: World, hidden: str):
    """L2: "there is no ownership case ob499f57" for a case that exists, pasted with a zero-width space."""
    case_id = opened(world)
    refused = world.fail("ownership", "show", case_id + hidden)
    assert f"U+{ord(hidden):04X}" in refused and "invisible character" in refused, refused
    assert f"{case_id!r} without it" in refused and "there is no ownership case" not in refused, refused


KILLED_EXPORT = """
import os, sys
from pathlib import Path
from whmcs_bridge.evidence.folder import FolderWriter
writer = FolderWriter(Path(sys.argv[1]))
writer.add_bytes("evidence/1-letter.pdf", b"a copy of the evidence")
print(writer.folder, flush=True)
os.kill(os.getpid(), 9)
"""


def killed_export(out: Path) -> Path:
    """The hidden folder an export killed (kill -9) half-way left beside `out`."""
    run = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == -9, run.stderr
    left = Path(run.stdout.strip())
    assert (left / "evidence" / "1-letter.pdf").exists()
    return left


def test_the_next_export_removes_what_a_killed_export_left_and_says_so(world: World):
    """L3: only this writer's naming pattern, only when no living writer holds it."""
    case_id = opened(world)
    parent = world.tmp / "out"
    decoy = parent / ".dossier.mine.partial"
    with folder.FolderWriter(parent / "other") as writing:  # an export writing now, in the same folder
        left = killed_export(parent / "dossier")
        decoy.mkdir()
        shown = world.run("ownership", "export", case_id, "--out", str(parent / "dossier2")).output
        assert writing.folder.exists()
    assert not left.exists() and decoy.exists()
    [line] = [x for x in shown.splitlines() if "removed" in x]
    assert left.name in line and "interrupted" in line and writing.folder.name not in line, shown
    assert (parent / "dossier2" / "manifest.json").exists()
    again = world.run("ownership", "export", case_id, "--out", str(parent / "dossier3")).output
    assert "removed" not in again, again
