"""Twenty-third break round: ordinary binary evidence (a JPEG, a scanner's PDF, the PDFs of this machine) was
refused as "nested more than 4 deep" (any "=?" in the first 64 KB made the file an email, its body again an
email...) or crashed `attach` on a PDF string escape (`\\8`); a secret written as PDF writers write text (a Type0
font, Identity-H, a ToUnicode map) or split by Word over two runs passed the check; `verify-dossier` opened a FIFO,
a link to /dev/zero or a link out of the folder under the names manifest.json, manifest.sig and audit.jsonl."""

from __future__ import annotations

import base64
import io
import os
import random
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.test_ownership_dossier_verify import build
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import bounded
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.sandbox.documents import whole_pdf
from whmcs_bridge.store.db import Database

SECRETS = [("the value of WHMCS_API_SECRET", SECRET.encode())]


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<</Length %d%s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"



def jpeg(size: int, inside: bytes, seed: int = 7) -> bytes:
    """JPEG-like bytes: its markers, then random data (no stray 0xFF) holding `inside`."""
    noise = random.Random(seed)
    body = bytearray(noise.getrandbits(8) for _ in range(size)).replace(b"\xff", b"\xfe")
    body[5000 : 5000 + len(inside)] = inside
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(body) + b"\xff\xd9"


def scanned(image: bytes) -> bytes:
    """A scanner's PDF: one page showing one JPEG image, its bytes as written (/DCTDecode)."""
    page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</XObject<</Im0 4 0 R>>>>/Contents 5 0 R>>"
    picture = stream(image, b"/Type/XObject/Subtype/Image/Width 1240/Height 1754/ColorSpace/DeviceRGB"
                     b"/BitsPerComponent 8/Filter/DCTDecode")  # fmt: skip
    return whole_pdf([page, picture, stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")])


def text_pdf(lines: list[str]) -> bytes:
    """A page of text in Helvetica (a standard font: nothing embedded), deflated."""
    shown = b" ".join(b"(" + line.encode() + b") Tj T*" for line in lines)
    page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>"
    font = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
    content = zlib.compress(b"BT /F1 12 Tf 14 TL 50 780 Td " + shown + b" ET")
    return whole_pdf([page, font, stream(content, b"/Filter/FlateDecode")])


# The PDFs and JPEGs of this machine that were refused or crashed the check (skipped where absent).
MACHINE = [
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
    "/usr/lib/google-cloud-sdk/platform/gsutil/third_party/pyparsing/docs/_static/pyparsingClassDiagram_1.5.2.jpg",
    "/usr/share/doc/nodejs/full-white-stripe.jpg",
]

ORDINARY = {
    "a JPEG photo holding '=?'": jpeg(80_000, b"=?"),
    "a JPEG photo holding '=?' and what reads as headers": jpeg(80_000, b"=?\nSubject: =?utf-8?b?eA==?=\n\n"),
    "a scanner's PDF whose image holds '(a\\9b)' and '=?'": scanned(jpeg(80_000, b"(a\\9b) =? (c\\8)")),
    "a PDF of text with '=?' in it": text_pdf(["Registry extract =? PT Maju Makmur", "director (Siti) \\8 Rahmawati"]),
    "a text file with a link ending '?page=?'": b"Registry extract: PT Maju Makmur.\nSee https://ahu.go.id/?q=m&page=?\n",
    "call notes written like headers": b"Date: 2026-11-20\nCaller: Siti\n\nNotes: =?\n\nAction: none\n\nNext: =?\n" * 3,
}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_binary_evidence_is_accepted(name: str):
    """MEDIUM (usability): each was refused as nested more than 4 deep, or raised ValueError in `_unescaped`."""
    refuse_secrets("evidence", ORDINARY[name], SECRETS)


@pytest.mark.parametrize("path", MACHINE)
def test_the_pdfs_and_jpegs_of_this_machine_are_accepted(path: str):
    if not Path(path).is_file():
        pytest.skip(f"{path} is not on this machine")
    refuse_secrets(path, Path(path).read_bytes(), SECRETS)


def test_a_secret_in_a_pdf_string_after_a_bad_escape_is_still_found():
    """A backslash before a character that is no escape is ignored, as a reader does (PDF 32000-1, 7.3.4.2)."""
    hidden = text_pdf(["\\9 note: " + SECRET[:9] + "\\" + SECRET[9:]])  # `\\e` reads as `e`
    with pytest.raises(BridgeError, match="the bridge's secrets"):
        refuse_secrets("evidence", hidden, SECRETS)


EMAILS = {
    "a saved email": b"From: holder@example.com\nTo: support@example.com\nSubject: =?utf-8?b?",
    "an email from a mailbox file": b"From holder@example.com Fri Nov 20 10:00:00 2026\nReceived: from x\n\tby y\n"
    b"From: holder@example.com\nSubject: =?utf-8?b?",
    "an email with CRLF lines": b"Received: from mx\r\nFrom: holder@example.com\r\nSubject: =?utf-8?b?",
}


@pytest.mark.parametrize("name", EMAILS)
def test_an_email_is_still_read_as_one(name: str):
    """Its encoded words are still decoded: the secret in an encoded Subject is found."""
    newline = b"\r\n" if b"\r\n" in EMAILS[name] else b"\n"
    data = EMAILS[name] + base64.b64encode(SECRET.encode()) + b"?=" + newline + newline + b"Hello." + newline
    with pytest.raises(BridgeError, match="the bridge's secrets"):
        refuse_secrets("evidence", data, SECRETS)


def cid_pdf(lines: list[str]) -> bytes:
    """Text as most PDF writers write it (PDF 32000-1, 9.10.3): a Type0 font, Identity-H, glyph ids in the page and
    a ToUnicode map telling readers which character each glyph is; the streams deflated, no font file embedded."""
    chars = sorted({c for line in lines for c in line})
    glyph = {c: 3 + ord(c) - 32 for c in chars}
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo <</Registry (Adobe) /Ordering "
        "(UCS) /Supplement 0>> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> "
        f"<FFFF> endcodespacerange\n{len(chars)} beginbfchar\n"
        + "".join(f"<{glyph[c]:04X}> <{ord(c):04X}>\n" for c in chars)
        + "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode()
    shown = " ".join("<" + "".join(f"{glyph[c]:04X}" for c in line) + "> Tj T*" for line in lines)
    content = b"BT /F1 12 Tf 14 TL 50 780 Td " + shown.encode() + b" ET"
    return whole_pdf(
        [
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>",
            b"<</Type/Font/Subtype/Type0/BaseFont/DejaVuSans/Encoding/Identity-H/DescendantFonts[6 0 R]"
            b"/ToUnicode 7 0 R>>",
            stream(zlib.compress(content), b"/Filter/FlateDecode"),
            b"<</Type/Font/Subtype/CIDFontType2/BaseFont/DejaVuSans/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)"
            b"/Supplement 0>>/FontDescriptor 8 0 R/DW 600>>",
            stream(zlib.compress(cmap), b"/Filter/FlateDecode"),
            b"<</Type/FontDescriptor/FontName/DejaVuSans/Flags 32/FontBBox[-1021 -463 1793 1232]/ItalicAngle 0"
            b"/Ascent 928/Descent -236/CapHeight 729/StemV 80>>",
        ]
    )


PEM_LINES = [
    "-----BEGIN PRIVATE KEY-----",
    "MC4CAQAwBQYDK2VwBCIEIDc0b3Rlc3RrZXlzZWVkdGVzdGtleXNlZWR0ZXN0a2V5",
    "-----END PRIVATE KEY-----",
]


def docx(*runs: str) -> bytes:
    """A Word document whose paragraph is `runs`, each its own <w:r> as Word splits text (a revision, a spell check)."""
    body = "".join(f'<w:r w:rsidR="00A1B2C3"><w:t xml:space="preserve">{run}</w:t></w:r><w:proofErr/>' for run in runs)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats'
        f'.org/wordprocessingml/2006/main"><w:body><w:p>{body}</w:p></w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def email_with(content: bytes, maintype: str, subtype: str, filename: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "siti@majumakmur.co.id", "support@host.example", "Extract"
    message.set_content("Please find the extract attached.\nSiti")
    if filename:
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    else:
        message.add_alternative(content.decode(), subtype=subtype)
    return bytes(message)


SPLIT = {
    "a PDF with a CID font holding the API secret": (cid_pdf(["Call notes", f"WHMCS API secret: {SECRET}"]), "secrets"),
    "a PDF with a CID font holding a private key": (cid_pdf(["Call notes", *PEM_LINES]), "PEM private key"),
    "an email carrying a .docx whose secret Word split over two runs": (
        email_with(
            docx("WHMCS API secret: ", SECRET[:14], SECRET[14:]),
            "application",
            "vnd.openxmlformats-officedocument.wordprocessingml.document",
            "extract.docx",
        ),  # fmt: skip
        "secrets",
    ),
    "an HTML email with the secret in two spans": (
        email_with(
            f"<p>API secret: <span>{SECRET[:10]}</span><span lang=en>{SECRET[10:]}</span></p>".encode(), "text", "html"
        ),  # fmt: skip
        "secrets",
    ),
    "an HTML email with the secret as character references": (
        email_with(("<p>again: " + "".join(f"&#{ord(c)};" for c in SECRET) + "</p>").encode(), "text", "html"),
        "secrets",
    ),
}


@pytest.mark.parametrize("name", SPLIT)
def test_a_secret_as_a_reader_shows_it_is_refused(name: str):
    """HIGH: each was accepted and exported; a PDF reader, Word or a mail client shows the secret whole."""
    data, said = SPLIT[name]
    with pytest.raises(BridgeError, match=said) as refused:
        refuse_secrets("evidence", data, SECRETS)
    assert SECRET not in str(refused.value)


def test_a_pdf_with_a_cid_font_and_no_secret_is_accepted():
    refuse_secrets("evidence", cid_pdf(["Registry extract", "PT Maju Makmur, director Siti Rahmawati"]), SECRETS)


def test_a_pdf_no_reader_can_open_is_refused_with_one_sentence():
    """What pdfium (Chromium's PDF engine) cannot open, the bridge cannot read as a reader would: refused, as an
    unknown filter is."""
    with pytest.raises(BridgeError, match="cannot check for secrets") as refused:
        refuse_secrets("evidence", b"%PDF-1.4\n" + b"\x00" * 200 + b"\n%%EOF\n", SECRETS)
    assert "a PDF that a PDF reader cannot open" in str(refused.value) and "\n" not in str(refused.value)


def verify_dossier(folder: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """`ownership verify-dossier` as a reader runs it, in its own process: a hang is a failure, not a stuck suite."""
    command = [str(Path(sys.executable).with_name("whmcs-bridge")), "ownership", "verify-dossier", str(folder)]
    return subprocess.run([*command, "--public-key", str(key)], capture_output=True, text=True, timeout=30)


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A dossier as export seals it (test_ownership_dossier_verify.build) and the bridge's public key in a file."""
    with Database(tmp_path / "state.db") as db:
        build(tmp_path / "dossier", db)
        assert db.signer is not None
        (tmp_path / "public.pem").write_text(db.signer.public.pem())
    yield tmp_path / "dossier", tmp_path / "public.pem"


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sig", "audit.jsonl"])
def test_verify_dossier_names_a_fifo_and_never_waits_on_it(sealed: tuple[Path, Path], name: str):
    """MEDIUM: a FIFO under these names hung the verifier forever."""
    out, key = sealed
    (out / name).unlink()
    os.mkfifo(out / name)
    done = verify_dossier(out, key)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert f"{name}: not a regular file" in done.stdout + done.stderr, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sig", "audit.jsonl"])
def test_verify_dossier_refuses_a_link_unread(sealed: tuple[Path, Path], name: str, tmp_path: Path):
    """MEDIUM: audit.jsonl linked to /dev/zero read until MemoryError; a link to a file outside the folder was read
    although the verifier said "refused, not read". Neither is opened now (a link's target is never reached)."""
    out, key = sealed
    outside = tmp_path / f"outside-{name}"
    (out / name).rename(outside)
    (out / name).symlink_to(outside)
    done = verify_dossier(out, key)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    said = done.stdout + done.stderr
    assert f"{name}: a link, possibly out of the dossier's folder (refused, not read)" in said, said
    os.utime(outside, (0, 0))
    verify_dossier(out, key)
    assert outside.stat().st_atime == 0, "the link's target was opened and read"
    (out / name).unlink()
    (out / name).symlink_to("/dev/zero")
    done = verify_dossier(out, key)
    assert done.returncode != 0 and "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr


def test_verify_dossier_refuses_an_audit_file_larger_than_any_dossier_writes(sealed: tuple[Path, Path]):
    out, key = sealed
    with (out / "audit.jsonl").open("r+b") as handle:
        handle.truncate(bounded.LARGEST_AUDIT + 1)  # sparse: no disk, yet read whole it was that much memory
    done = verify_dossier(out, key)
    assert done.returncode != 0 and "audit.jsonl: larger than" in done.stdout + done.stderr, done.stdout + done.stderr


def test_a_public_key_given_as_a_fifo_is_named_not_waited_on(sealed: tuple[Path, Path], tmp_path: Path):
    out, _ = sealed
    os.mkfifo(tmp_path / "key.fifo")
    done = verify_dossier(out, tmp_path / "key.fifo")
    assert done.returncode != 0 and "not a regular file" in done.stdout + done.stderr, done.stdout + done.stderr
