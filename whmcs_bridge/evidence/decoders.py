"""What a reader does to a PDF stream or an archive before showing its text (pure): the stream's declared filters,
applied in order with their predictors (PDF 32000-1, 7.4), and the members of a ZIP, gzip, bzip2 or xz file.

Twenty-second break round, HIGH: a private key hidden by RunLengthDecode, by a chain of three filters, by Flate with
a PNG predictor, or in a deflated ZIP attached to an email passed the secret check, which only guessed Flate,
ASCIIHex and ASCII85 two deep. What cannot be decoded here raises Unreadable: the caller refuses the file, since
what the bridge cannot read it cannot check for secrets."""

from __future__ import annotations

import base64
import bz2
import io
import lzma
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator


class Unreadable(ValueError):
    """`what` the bridge cannot read in a file (a noun phrase), and what to give `instead`."""

    def __init__(self, what: str, instead: str) -> None:
        super().__init__(what)
        self.what, self.instead = what, instead


REPRINT = "print it to PDF again, or give its pages as images"
UNPACKED = "give the documents it holds, unpacked"

# The short names PDF allows for the standard filters (7.4.1, table 6; inline images use them, some writers too).
SHORT = {"AHx": "ASCIIHexDecode", "A85": "ASCII85Decode", "LZW": "LZWDecode", "Fl": "FlateDecode",
         "RL": "RunLengthDecode", "CCF": "CCITTFaxDecode", "DCT": "DCTDecode"}  # fmt: skip
# Filters whose output is an image's pixels, which no reader shows as text.
IMAGE_FILTERS = frozenset(("DCTDecode", "JPXDecode", "CCITTFaxDecode", "JBIG2Decode"))
NAME = rb"/([^\s/\[\]<>(){}%]*)"
OBJ = re.compile(rb"\bobj\b")
FILTER = re.compile(rb"/Filter\b\s*(\[[^\]]*\]|/[^\s/\[\]<>(){}%]*)?")
ESCAPED = re.compile(rb"#([0-9A-Fa-f]{2})")
PARAMS = ("Predictor", "Colors", "BitsPerComponent", "Columns", "EarlyChange")


def stream_dictionary(head: bytes) -> bytes:
    """The dictionary of the stream that follows `head` (what precedes its `stream` keyword, from its object's
    `obj`), its names' #xx escapes read (7.3.5: `/Fl#61teDecode` is /FlateDecode)."""
    found = [m.end() for m in OBJ.finditer(head)]
    return ESCAPED.sub(lambda m: bytes([int(m.group(1), 16)]), head[found[-1] if found else 0 :])


def declared(dictionary: bytes) -> tuple[list[str], dict[str, int]]:
    """The filters a stream's dictionary names, in order, and its decode parameters."""
    params = {
        key: int(m.group(1)) for key in PARAMS if (m := re.search(rb"/" + key.encode() + rb"\s+(\d+)", dictionary))
    }
    found = FILTER.search(dictionary)
    if found is None:
        return [], params
    value = found.group(1) or b""
    names = re.findall(NAME, value)
    if not names or re.sub(NAME, b"", value.strip(b"[]")).strip():
        shown = dictionary[found.start() : found.start() + 40].decode("latin-1").split("\n")[0]
        raise Unreadable(f"a PDF stream whose filter is not a plain name ({shown!r})", REPRINT)
    return [SHORT.get(n.decode("latin-1"), n.decode("latin-1")) for n in names], params


def stream_contents(data: bytes, start: int, found: bytes, dictionary: bytes) -> list[bytes]:
    """A stream's data: the `found` bytes up to the first "endstream", and, when its dictionary gives a direct
    /Length that says otherwise, those bytes, which is what a reader takes (7.3.8.1): "endstream" written inside
    the data does not hide what follows it."""
    length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", dictionary)
    declared_length = int(length.group(1)) if length else None
    if declared_length is None or declared_length == len(found) or start + declared_length > len(data):
        return [found]
    return [found, data[start : start + declared_length]]


def decoded(data: bytes, filters: list[str], params: dict[str, int], limit: int) -> bytes | None:
    """`data` through each filter in order, each output at most `limit` + 1 bytes (the caller refuses more); None
    when the stream is an image (its pixels are no text)."""
    for name in filters:
        if name in IMAGE_FILTERS:
            return None
        decode = FILTERS.get(name)
        if decode is None:
            raise Unreadable(f"a PDF stream encoded with /{name}", REPRINT)
        try:
            data = decode(data, limit)
            if name in ("FlateDecode", "LZWDecode"):
                data = unpredicted(data, params)
        except (ValueError, IndexError, zlib.error) as exc:
            if isinstance(exc, Unreadable):
                raise
            raise Unreadable(f"a PDF stream it cannot decode (/{name}: {exc})", REPRINT) from None
        if len(data) > limit:
            break
    return data


def ascii_hex(data: bytes, limit: int) -> bytes:
    text = data.split(b">", 1)[0]
    digits = re.sub(rb"\s", b"", text)
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("latin-1"))


def ascii85(data: bytes, limit: int) -> bytes:
    text = data.split(b"~>", 1)[0].strip()
    text = text[2:] if text.startswith(b"<~") else text
    return base64.a85decode(text + b"~>", adobe=True, ignorechars=b" \t\r\n\f\0")


def flate(data: bytes, limit: int) -> bytes:
    """Inflated, zlib-wrapped or, as some writers leave it, raw deflate."""
    try:
        return zlib.decompressobj().decompress(data, limit + 1)
    except zlib.error:
        return zlib.decompressobj(-15).decompress(data, limit + 1)


def run_length(data: bytes, limit: int) -> bytes:
    """7.4.5: a length byte 0..127 copies the next length + 1 bytes, 129..255 repeats the next byte 257 - length
    times, 128 ends."""
    out, at = bytearray(), 0
    while at < len(data) and data[at] != 128 and len(out) <= limit:
        length = data[at]
        if length < 128:
            out += data[at + 1 : at + 2 + length]
            at += length + 2
        else:
            out += data[at + 1 : at + 2] * (257 - length)
            at += 2
    return bytes(out)


def lzw(data: bytes, limit: int, early: int = 1) -> bytes:
    """7.4.4: codes of 9 to 12 bits, 256 clears the table, 257 ends; with EarlyChange 1 (the default) the code
    grows one entry early."""
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    out, width, previous, bits, held = bytearray(), 9, b"", 0, 0
    for byte in data:
        bits, held = (bits << 8) | byte, held + 8
        while held >= width:
            held -= width
            code, bits = bits >> held, bits & ((1 << held) - 1)
            if code == 256:
                del table[258:]
                width, previous = 9, b""
                continue
            if code == 257 or len(out) > limit:
                return bytes(out)
            if code < len(table) and code != 256:
                entry = table[code]
                if previous:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous:
                entry = previous + previous[:1]
                table.append(entry)
            else:
                raise ValueError(f"code {code} with {len(table)} entries")
            out += entry
            previous = entry
            if len(table) + early >= (1 << width) and width < 12:
                width += 1
    return bytes(out)


FILTERS: dict[str, Callable[[bytes, int], bytes]] = {
    "ASCIIHexDecode": ascii_hex,
    "ASCII85Decode": ascii85,
    "FlateDecode": flate,
    "LZWDecode": lzw,
    "RunLengthDecode": run_length,
}


def unpredicted(data: bytes, params: dict[str, int]) -> bytes:
    """7.4.4.4: the TIFF predictor (2, 8-bit components) or a PNG predictor (10..15: each row says its filter)
    undone."""
    predictor = params.get("Predictor", 1)
    if predictor < 2:
        return data
    colors, bpc, columns = params.get("Colors", 1), params.get("BitsPerComponent", 8), params.get("Columns", 1)
    step = max(1, (colors * bpc + 7) // 8)
    width = (colors * bpc * columns + 7) // 8
    if width < 1:
        raise ValueError(f"predictor with {columns} columns")
    # A row wider than the data is the data's one row: the rest of it is zeros a reader makes up, no text. Bound
    # here, before a row is allocated (twenty-fourth round: /Columns 10^12 was a MemoryError, 3*10^8 a minute and a
    # gigabyte); `data` is already within the file's inflate budget (decoded's `limit`).
    width = min(width, max(1, len(data)))
    if predictor == 2:
        if bpc != 8:
            raise ValueError(f"TIFF predictor with {bpc}-bit components")
        out = bytearray(data)
        for start in range(0, len(out), width):
            for i in range(start + step, min(start + width, len(out))):
                out[i] = (out[i] + out[i - step]) & 0xFF
        return bytes(out)
    return png_rows(data, width, step)


def png_rows(data: bytes, width: int, step: int) -> bytes:
    out, above = bytearray(), bytearray(width)
    for start in range(0, len(data), width + 1):
        kind, row = data[start], bytearray(data[start + 1 : start + 1 + width].ljust(width, b"\0"))
        for i in range(width):
            left = row[i - step] if i >= step else 0
            up, corner = above[i], above[i - step] if i >= step else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                row[i] = (row[i] + paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise ValueError(f"PNG row filter {kind}")
        out += row
        above = row
    return bytes(out)


def paeth(left: int, up: int, corner: int) -> int:
    guess = left + up - corner
    near = [abs(guess - left), abs(guess - up), abs(guess - corner)]
    return (left, up, corner)[near.index(min(near))]


# RTF (Word's "Rich Text Format" 1.9.1): an escaped byte in the document's code page (\'e9), a Unicode character
# (\u8364) and its fallback for older readers (one character by default, \uc1), an escaped \\, { or }, any other
# control word or symbol, a group's braces, and the line breaks RTF ignores.
RTF_TOKEN = re.compile(
    rb"\\'([0-9A-Fa-f]{2})|\\u(-?\d{1,6}) ?(?:\\'[0-9A-Fa-f]{2}|[^\\{}])?|\\([\\{}])"
    rb"|\\[A-Za-z]{1,32}(?:-?\d{1,10})? ?|\\.|[{}\r\n]",
    re.DOTALL,
)


def is_rtf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"{\\rtf"


def rtf_text(data: bytes) -> bytes:
    """The text an RTF document shows: its control words and group braces removed, so Word's runs
    ({\\insrsid1 ab}{\\insrsid2 cd}) join as a reader shows them, and its \\'hh and \\uN escapes read (the
    twenty-fourth round hid a secret in each)."""
    return RTF_TOKEN.sub(_rtf_token, data)


def _rtf_token(match: re.Match[bytes]) -> bytes:
    escaped, unicode, literal = match.groups()
    if escaped:
        return bytes([int(escaped, 16)])
    if unicode:
        return chr(int(unicode) % 65536).encode("utf-8", "replace")  # negative: a signed 16-bit number
    return literal or b""


# Archives by their first bytes; those the bridge cannot open (RAR, 7-Zip, Zstandard) are named to refuse them.
OPAQUE = {
    b"Rar!\x1a\x07": "a RAR archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"\x28\xb5\x2f\xfd": "a Zstandard file",
}


def unpacked(data: bytes, budget: list[int]) -> Iterator[bytes]:
    """Each member of the archive or compressed file `data` is, read up to what is left of `budget` + 1 bytes
    (the caller spends it and refuses more); nothing when `data` is no archive."""
    for magic, what in OPAQUE.items():
        if data.startswith(magic):
            raise Unreadable(what, UNPACKED)
    if data.startswith(b"PK\x03\x04"):
        yield from _zip_members(data, budget)
    elif data.startswith(b"\x1f\x8b"):
        yield _whole(lambda: zlib.decompressobj(31).decompress(data, budget[0] + 1), "a gzip file")
    elif data.startswith(b"BZh") and data[4:10] == b"1AY&SY":
        yield _whole(lambda: bz2.BZ2Decompressor().decompress(data, budget[0] + 1), "a bzip2 file")
    elif data.startswith(b"\xfd7zXZ\x00"):
        yield _whole(lambda: lzma.LZMADecompressor().decompress(data, budget[0] + 1), "an xz file")


def _whole(read: Callable[[], bytes], what: str) -> bytes:
    try:
        return read()
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise Unreadable(f"{what} it cannot decompress ({exc})", UNPACKED) from None


def _zip_members(data: bytes, budget: list[int]) -> Iterator[bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unreadable(f"a ZIP archive it cannot open ({exc})", UNPACKED) from None
    with archive:
        for info in archive.infolist():
            if info.flag_bits & 0x1:
                raise Unreadable(f"an encrypted archive member ({info.filename!r})", UNPACKED)
            if info.is_dir():
                continue
            try:
                with archive.open(info) as member:
                    content = member.read(budget[0] + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
                raise Unreadable(f"an archive member it cannot read ({info.filename!r}: {exc})", UNPACKED) from None
            yield info.filename.encode()  # a name is text a reader shows too
            yield content
