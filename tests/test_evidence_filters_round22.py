"""Issue 17, twenty-second break round, HIGH: a PEM private key or the bridge's own secret hidden by a PDF filter the
check did not decode (RunLengthDecode, a chain of three filters, Flate with a PNG predictor) or inside a deflated ZIP
attached to an email was accepted as evidence and copied into the signed dossier. Every filter a PDF reader applies
to text is now applied as the stream declares it, and every attachment, archive and compressed part of an email is
read as what it is; what the bridge cannot decode refuses the file, saying so, as an unknown charset already did."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET, Sandbox
from tests.test_ownership_e2e import World, vendor_world
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import decoders
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.sandbox.documents import whole_pdf

PEM = (
    b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDc0b3Rlc3RrZXlzZWVkdGVzdGtleXNlZWR0ZXN0a2V5\n"
    b"-----END PRIVATE KEY-----\n"
)
SECRETS = [("the value of WHMCS_API_SECRET", SECRET.encode())]
LETTER = b"BT /F1 12 Tf 72 712 Td (We confirm the transfer of example.id to PT Maju.) Tj ET\n" * 3


def stream_object(stream: bytes, filters: bytes, extra: bytes = b"") -> bytes:
    return (
        b"<< /Length " + str(len(stream)).encode() + b" /Filter " + filters + b" " + extra + b" >>\nstream\n" + stream
        + b"\nendstream"
    )  # fmt: skip


def pdf_of(*streams: bytes) -> bytes:
    """A whole PDF a reader opens (since the twenty-third round every PDF is read by one too), holding `streams`."""
    return whole_pdf([b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>", *streams])


def pdf(stream: bytes, filters: bytes, extra: bytes = b"") -> bytes:
    return pdf_of(stream_object(stream, filters, extra))


def runlength(data: bytes) -> bytes:
    """One literal run per byte (PDF 32000-1, 7.4.5): the bytes never stand in a row."""
    return b"".join(b"\x00" + bytes([c]) for c in data) + b"\x80"


def run_length_packed(data: bytes) -> bytes:
    """As a writer packs it: a run of one byte repeated (the key's "-----") as a repeat, the rest as literals."""
    out, at = b"", 0
    while at < len(data):
        same = 1
        while at + same < len(data) and data[at + same] == data[at] and same < 128:
            same += 1
        out += bytes([257 - same, data[at]]) if same > 1 else b"\x00" + data[at : at + 1]
        at += same
    return out + b"\x80"


def lzw(data: bytes) -> bytes:
    """LZW as PDF writes it (7.4.4), short enough that every code is 9 bits: clear, one code per byte, end."""
    codes, bits = [256, *data, 257], ""
    for code in codes:
        bits += format(code, "09b")
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def png_predicted(data: bytes, columns: int = 4) -> bytes:
    """Rows of `columns` bytes, each with the PNG Up filter (type 2), deflated (7.4.4.4)."""
    rows = [data[i : i + columns].ljust(columns, b" ") for i in range(0, len(data), columns)]
    out, previous = b"", bytes(columns)
    for row in rows:
        out += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, previous, strict=True))
        previous = row
    return zlib.compress(out)


def tiff_predicted(data: bytes, colors: int = 3) -> bytes:
    """TIFF predictor 2 on 8-bit components, one row: each byte minus the same component of the pixel before."""
    row = data.ljust(-(-len(data) // colors) * colors, b" ")
    return zlib.compress(bytes((row[i] - (row[i - colors] if i >= colors else 0)) & 0xFF for i in range(len(row))))


def hexed(data: bytes) -> bytes:
    return data.hex().encode() + b">"


def a85(data: bytes) -> bytes:
    return base64.a85encode(data, adobe=True)[2:]  # PDF writes no "<~"


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted(archive: bytes) -> bytes:
    """`archive` with its members' "encrypted" flag set (local header offset 6, central directory offset 8)."""
    data = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data[at + offset] |= 1
            at = data.find(signature, at + 4)
    return bytes(data)


def mail(*parts: tuple[str, bytes]) -> bytes:
    body = b"".join(
        b"--XX\nContent-Type: " + kind.encode() + b"\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(data)
        for kind, data in parts
    )
    return (
        b"From: holder@example.com\nTo: support@example.com\nSubject: our documents\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\n"
        b"Please find our documents attached.\n" + body + b"--XX--\n"
    )


ENV = b"WHMCS_API_SECRET=" + SECRET.encode() + b"\n"
HIDDEN = {
    "RunLengthDecode": pdf(runlength(PEM), b"/RunLengthDecode"),
    "RunLengthDecode, repeated runs": pdf(run_length_packed(PEM), b"/RunLengthDecode"),
    "RL (abbreviated) holding the secret": pdf(runlength(b"api secret: " + SECRET.encode()), b"/RL"),
    "LZWDecode": pdf(lzw(PEM), b"/LZWDecode", b"/DecodeParms << /EarlyChange 1 >>"),
    "three filters": pdf(hexed(a85(zlib.compress(PEM))), b"[/ASCIIHexDecode /ASCII85Decode /FlateDecode]"),
    "five filters": pdf(hexed(a85(hexed(runlength(zlib.compress(PEM))))), b"[/AHx /A85 /AHx /RL /Fl]"),
    "Flate with the PNG Up predictor": pdf(
        png_predicted(PEM), b"/FlateDecode", b"/DecodeParms << /Predictor 12 /Columns 4 >>"
    ),
    "Flate with the TIFF predictor": pdf(
        tiff_predicted(PEM), b"/FlateDecode", b"/DecodeParms << /Predictor 2 /Colors 3 /Columns 100 >>"
    ),
    "a filter name written with #xx escapes": pdf(zlib.compress(PEM), b"/Fl#61te#44ecode"),
    "a deflated ZIP in an email": mail(("application/zip; name=env.zip", zipped((".env", ENV)))),
    "a ZIP in a ZIP in an email": mail(("application/zip", zipped(("inner.zip", zipped(("key.pem", PEM)))))),
    "a gzip file in an email": mail(("application/gzip", gzip.compress(PEM))),
    "a bzip2 file in an email": mail(("application/x-bzip2", bz2.compress(ENV))),
    "a compressed PDF attached to an email": mail(("application/pdf", pdf(zlib.compress(PEM), b"/FlateDecode"))),
    "a private key in base64 in a text file": b"Our key, as asked:\n"
    + base64.encodebytes(PEM)
    + b"Regards, the holder\n",
    "a private key in base64 at another offset": b"k=" + base64.b64encode(b"x" + PEM) + b"\n" + b"Regards " * 8,
    "a word document (a zip) in an email": mail(
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", zipped(("word/document.xml", ENV)))
    ),
}


@pytest.mark.parametrize("name", HIDDEN)
def test_a_key_or_secret_hidden_by_a_filter_or_an_archive_is_refused(name: str):
    """HIGH (evidence_filters.py): each of these was accepted; a reader gets the key or the secret back."""
    with pytest.raises(BridgeError, match="PEM private key|the bridge's secrets") as refused:
        refuse_secrets("letter", HIDDEN[name], SECRETS)
    assert SECRET not in str(refused.value)


UNREADABLE = {
    "an unknown PDF filter": (pdf(b"x" * 80, b"/Crypt"), "a PDF stream encoded with /Crypt"),
    "an indirect filter": (pdf(b"x" * 80, b"7 0 R"), "a PDF stream whose filter"),
    "an encrypted ZIP member": (mail(("application/zip", encrypted(zipped(("key.pem", PEM))))), "encrypted"),
    "a RAR archive": (mail(("application/x-rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 80)), "a RAR archive"),
    "a 7-Zip archive": (mail(("application/x-7z-compressed", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 80)), "a 7-Zip archive"),
    "a broken LZW stream": (pdf(b"\xff" * 40, b"/LZWDecode"), "cannot decode"),
    "archives nested too deep": (
        mail(
            (
                "application/zip",
                zipped(("1.zip", zipped(("2.zip", zipped(("3.zip", zipped(("4.zip", zipped(("a", b"a")))))))))),
            )
        ),
        "nested",
    ),
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_what_the_check_cannot_read_refuses_the_file_with_a_sentence(name: str):
    """What the bridge cannot decode, it cannot check for secrets: refused, saying which and what to give instead,
    not accepted blind."""
    data, said = UNREADABLE[name]
    with pytest.raises(BridgeError, match="cannot check for secrets") as refused:
        refuse_secrets("letter", data, SECRETS)
    assert said in str(refused.value), str(refused.value)
    assert "\n" not in str(refused.value)


INNOCENT = {
    "a letter in a filter chain": pdf(hexed(a85(runlength(zlib.compress(LETTER)))), b"[/AHx /A85 /RL /Fl]"),
    "a scanned page (a JPEG image) and its text": pdf_of(
        stream_object(b"\xff\xd8\xff" + b"\x00" * 200 + b"\xff\xd9", b"/DCTDecode"),
        stream_object(png_predicted(LETTER), b"/FlateDecode", b"/DecodeParms << /Predictor 15 /Columns 4 >>"),
    ),
    "an email with a zipped contract and a PDF": mail(
        (
            "application/zip",
            zipped(("contract.txt", LETTER), ("annex/extract.pdf", pdf(zlib.compress(LETTER), b"/Fl"))),
        ),
        ("application/pdf", pdf(lzw(LETTER[:150]), b"/LZW")),
    ),
}


@pytest.mark.parametrize("name", INNOCENT)
def test_ordinary_documents_in_filters_and_archives_are_accepted(name: str):
    refuse_secrets("letter", INNOCENT[name], SECRETS)


def test_an_archive_that_inflates_past_the_bound_is_refused_as_a_bomb():
    """The archive's members count toward the bound a PDF's streams already had (nineteenth round H6)."""
    bomb = zipped(*((f"{n}.txt", b"\0" * (48 * 1048576)) for n in range(3)))
    with pytest.raises(BridgeError, match="inflates past 128 MB"):
        refuse_secrets("letter", mail(("application/zip", bomb)), SECRETS)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_attach_refuses_a_key_hidden_by_run_length_and_exports_nothing_of_it(world: World):
    """The finding as staff met it: `ownership attach` took the file and `export` put the key in the dossier."""
    case_id = world.run(
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
    ).output.split()[0]
    path = world.file("letter.pdf", HIDDEN["RunLengthDecode"])
    refused = world.fail(
        "ownership", "attach", case_id, path, "--kind", "other", "--from", "holder", "--via", "email", "--by", "alice"
    )
    assert "holds a PEM private key" in refused, refused
    assert world.case(case_id)["evidence"] == []


def png_row_filtered(data: bytes, kind: int, width: int, step: int) -> bytes:
    """`data` in rows of `width` bytes, each with PNG filter `kind` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    rows = [data[i : i + width].ljust(width, b" ") for i in range(0, len(data), width)]
    out, above = b"", bytes(width)
    for row in rows:
        coded = bytearray([kind])
        for i in range(width):
            left, up, corner = row[i - step] if i >= step else 0, above[i], above[i - step] if i >= step else 0
            guess = [0, left, up, (left + up) // 2, decoders.paeth(left, up, corner)][kind]
            coded.append((row[i] - guess) & 0xFF)
        out += bytes(coded)
        above = row
    return out


@pytest.mark.parametrize("kind", range(5))
def test_each_png_row_filter_is_undone_as_a_reader_does(kind: int):
    """PDF 32000-1, 7.4.4.4 (the PNG filters of RFC 2083): a stream whose rows each name their filter reads back as
    written, whatever the filter, with several bytes per pixel."""
    predicted = png_row_filtered(PEM, kind, width=12, step=3)
    params = {"Predictor": 15, "Colors": 3, "BitsPerComponent": 8, "Columns": 4}
    assert decoders.unpredicted(predicted, params).startswith(PEM)
    assert decoders.run_length(run_length_packed(PEM), 1 << 20) == PEM
    assert decoders.lzw(lzw(PEM), 1 << 20) == PEM


def stored_then_deflated(stored: bytes, hidden: bytes) -> bytes:
    """A zlib stream of two blocks (RFC 1950/1951): `stored` as written (a stored block), then `hidden` deflated."""
    size = len(stored).to_bytes(2, "little")
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = b"\x00" + size + bytes(b ^ 0xFF for b in size) + stored + raw.compress(hidden) + raw.flush()
    return b"\x78\x9c" + body + zlib.adler32(stored + hidden).to_bytes(4, "big")


def test_a_stream_is_read_to_its_declared_length_past_an_endstream_inside_its_data():
    """A reader takes /Length bytes (PDF 32000-1, 7.3.8.1): "endstream" written inside the data (a stored deflate
    block) does not end it there, so the key deflated after it is read too."""
    data = stored_then_deflated(b"\nendstream\n", PEM)
    assert zlib.decompress(data) == b"\nendstream\n" + PEM
    hidden = (
        b"%PDF-1.4\n1 0 obj\n<< /Length " + str(len(data)).encode() + b" /Filter [/FlateDecode] >>\nstream\n" + data
        + b"\nendstream\nendobj\n%%EOF\n"
    )  # fmt: skip
    with pytest.raises(BridgeError, match="PEM private key"):
        refuse_secrets("letter", hidden, SECRETS)


def test_an_encrypted_pdf_is_refused_as_unreadable():
    """An encrypted PDF's streams are ciphertext: the bridge cannot read them, so cannot check them."""
    data = pdf(b"\x93\x11" * 40, b"/FlateDecode").replace(b"trailer\n<<", b"trailer\n<</Encrypt 9 0 R")
    with pytest.raises(BridgeError, match="an encrypted PDF, which the bridge cannot read") as refused:
        refuse_secrets("letter", data, SECRETS)
    assert "without a password" in str(refused.value)
