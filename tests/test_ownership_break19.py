"""Nineteenth break round and the LOWs left from the eighteenth, the ownership family's: an objection recorded without a
note showed in the timeline as "the holder's recorded objection: " with nothing after the colon; the bridge's API
secret was accepted in a PDF that writes it as a hex or an octal-escaped string or in an ASCIIHex stream, after 64 MB
of spaces in a compressed stream, or in a PNG's compressed text (HIGH 1); the bridge's signing key was accepted in
hex, DER or as its raw seed (HIGH 2); a 0.8 MB PDF took 917 MB to check (HIGH 6)."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import keys
from whmcs_bridge.evidence.files import key_encodings, refuse_secrets
from whmcs_bridge.sandbox.documents import whole_pdf


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


SECRET = b"sandbox-secret-very-long-123"
API_SECRET = [("the value of WHMCS_API_SECRET", SECRET)]


PAGE = (
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"  # whole PDFs: since the twenty-third round a reader opens each
)


def pdf(content: bytes, filters: bytes = b"") -> bytes:
    return whole_pdf(
        [PAGE, b"<< /Length " + str(len(content)).encode() + filters + b" >>\nstream\n" + content + b"\nendstream"]
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(text: bytes) -> bytes:
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    return (
        b"\x89PNG\r\n\x1a\n"
        + header
        + png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(text))
        + png_chunk(b"IEND", b"")
    )


OCTAL = "".join(f"\\{c:03o}" for c in SECRET).encode()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pdf hex string", pdf(b"BT <" + SECRET.hex().encode() + b"> Tj ET")),
        ("pdf octal string", pdf(b"BT (" + OCTAL + b") Tj ET")),
        (
            "pdf split string",
            pdf(zlib.compress(b"BT [(" + SECRET[:9] + b") -20 (" + SECRET[9:] + b")] TJ ET"), b" /Filter /FlateDecode"),
        ),
        (
            "pdf asciihex stream",
            pdf(
                b"BT (secret ".hex().encode() + SECRET.hex().encode() + b"29 Tj ET".hex().encode() + b">",
                b" /Filter /ASCIIHexDecode",
            ),
        ),
        ("png ztxt", png_with(b"password " + SECRET)),
    ],
)
def test_the_api_secret_is_found_however_a_document_shows_it(name: str, data: bytes):
    with pytest.raises(BridgeError, match="contains one of the bridge's secrets"):
        refuse_secrets(name, data, API_SECRET)


def test_a_document_that_inflates_past_the_limit_is_refused_not_accepted():
    """The secret after 64 MB of spaces in one stream; twelve such streams: a file that small inflating that far is
    a bomb, refused with a sentence, never read into memory whole nor accepted unread."""
    hidden = pdf(zlib.compress(b" " * (64 * 1048576) + b"(" + SECRET + b") Tj"), b" /Filter /FlateDecode")
    bomb = b"%PDF-1.4\n" + b"".join(pdf(zlib.compress(b" " * (64 * 1048576)))[9:] for _ in range(3))
    for name, data in (("hidden", hidden), ("bomb", bomb)):
        with pytest.raises(BridgeError, match="inflates past 128 MB: too large to check for secrets|bridge's secrets"):
            refuse_secrets(name, data, API_SECRET)
    with pytest.raises(BridgeError, match="inflates past 128 MB"):
        refuse_secrets("bomb", bomb, [])


def test_ordinary_pdf_strings_and_images_are_accepted():
    refuse_secrets("letter", pdf(b"BT (A letter \\(signed\\)) Tj <48656c6c6f> Tj ET"), API_SECRET)
    image = pdf(zlib.compress(b"\xff" * 4096), b" /Subtype /Image /Filter /FlateDecode")
    refuse_secrets("scan", image, API_SECRET)
    refuse_secrets("picture", png_with(b"Created with GIMP"), API_SECRET)


@pytest.mark.parametrize("form", ["der hex", "seed hex", "seed hex pairs", "der in a pdf", "der base64"])
def test_the_signing_key_is_found_in_any_encoding(form: str):
    key = keys.SigningKey.generate()
    pem = key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der, seed = key_encodings(pem)
    data = {
        "der hex": b"key: " + der.hex().encode(),
        "seed hex": b"priv " + seed.hex().upper().encode(),
        "seed hex pairs": b"priv:\n    " + b":".join(seed.hex()[i : i + 2].encode() for i in range(0, 64, 2)),
        "der in a pdf": pdf(zlib.compress(der), b" /Filter /FlateDecode"),
        "der base64": b"MC4" + b"x" + base64.b64encode(b"zz" + der),
    }[form]
    secrets = [("the bridge's signing key", value) for value in (der, seed)]
    with pytest.raises(BridgeError, match="signing key"):
        refuse_secrets(form, data, secrets)


def test_consent_one_member_of_staff_recorded_needs_another_ones_approval(world: World):
    """HIGH 5: the domain's policy needs one approval; alice records the holder's consent (a call) and approves
    alone: refused, naming why; bob's approval executes it."""
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "the vendor agreed on the phone",
    )  # fmt: skip
    world.settle()
    assert world.case(case_id)["status"] == "review"
    refused = world.fail("ownership", "approve", case_id, "--by", "alice")
    assert "alice recorded the holder's consent (phone)" in refused and "another member of staff" in refused, refused
    assert world.case(case_id)["approvals"] == []
    world.run("ownership", "approve", case_id, "--by", "bob")
    assert world.case(case_id)["status"] == "executing"
