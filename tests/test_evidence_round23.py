"""Twenty-third break round: ordinary binary evidence (a JPEG, a scanner's PDF, the PDFs of this machine) was
refused as "nested more than 4 deep" (any "=?" in the first 64 KB made the file an email, its body again an
email...) or crashed `attach` on a PDF string escape (`\\8`); a secret written as PDF writers write text (a Type0
font, Identity-H, a ToUnicode map) or split by Word over two runs passed the check; `verify-dossier` opened a FIFO,
a link to /dev/zero or a link out of the folder under the names manifest.json, manifest.sig and audit.jsonl."""

from __future__ import annotations

import base64
import random
import zlib
from pathlib import Path

import pytest

from tests.conftest import SECRET
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.files import refuse_secrets

SECRETS = [("the value of WHMCS_API_SECRET", SECRET.encode())]


def whole_pdf(objects: list[bytes]) -> bytes:
    """A PDF as writers lay it out: numbered objects, a cross-reference table, a trailer naming the catalog (1)."""
    out, offsets = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    return out + b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<</Length %d%s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


PAGES = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>"]


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
    return whole_pdf([*PAGES, page, picture, stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")])


def text_pdf(lines: list[str]) -> bytes:
    """A page of text in Helvetica (a standard font: nothing embedded), deflated."""
    shown = b" ".join(b"(" + line.encode() + b") Tj T*" for line in lines)
    page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>"
    font = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"
    content = zlib.compress(b"BT /F1 12 Tf 14 TL 50 780 Td " + shown + b" ET")
    return whole_pdf([*PAGES, page, font, stream(content, b"/Filter/FlateDecode")])


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
