"""Reading a file staff give as evidence: a regular file of its own, never the bridge's own secrets.

A link (`call-notes.txt` -> signing-key.pem), a device (/dev/zero), a FIFO, a file of the bridge (its
configuration, .env, state database, signing key or evidence store) by its path or as the same file under
another name (a hard link), the system's password hashes, and any file holding one of the bridge's secrets
or a PEM private key (a copy of the key, a forwarded .env) is refused with one sentence: what is attached is
copied into dossiers that leave the machine. The sentence names the secret's variable, never its value."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import email
import email.header
import email.message
import html
import os
import quopri
import re
import stat
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from whmcs_bridge.config.load import Config, read_env_file
from whmcs_bridge.config.reader import Secret
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import decoders, keys, pdftext

# Readable by root only, and never a document: /etc/shadow attached by a command run as root (a break test).
SYSTEM = tuple(Path(p) for p in ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"))
# Any PEM private key: PKCS#8 (encrypted or not), RSA, EC, DSA, OpenSSH, PGP.
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
# PuTTY's private key file (its header line; the key lines follow it in base64).
PUTTY_KEY = re.compile(rb"PuTTY-User-Key-File-\d+:")
# Where a DER private key pasted as base64 may start (a .env's SSH_PRIVATE_KEY=MIIE..., a Kubernetes secret): a
# SEQUENCE of two length bytes ("MII": RSA, DSA, most EC keys), one ("MIG", "MIH": a P-256 key) or an Ed25519 key's
# PKCS#8 ("MC4CAQAw"), with room for a key after it; each is loaded to be sure (twenty-fourth round LOW).
DER_KEY_START = re.compile(rb"(?:MI[GHIJ]|MC4CAQAw)(?=[A-Za-z0-9+/]{56})")
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]*")
# Candidates looked at in one form: DER_TRIES, and one more per DER_DENSITY bytes of it. Random base64 holds a
# candidate every 64 KiB or so (three given characters): a long attachment stays well within, decoys do not.
DER_TRIES = 4096
DER_DENSITY = 16_384
# A shorter value (a .env flag such as "true") would refuse ordinary documents; WHMCS's API credentials are
# 32 characters, a Standard Webhooks secret more, a line of a PEM key body 64.
SHORTEST = 12


def read(
    path: Path, *, limit: int, limit_name: str, private: Iterable[Path], secrets: Iterable[tuple[str, bytes]] = ()
) -> tuple[str, bytes]:
    """(file name, content) of the regular file at `path`, at most `limit` bytes; `private`: the bridge's own
    files and folders (a folder covers what is inside it); `secrets`: (what it is, value) pairs that no
    evidence may contain (`bridge_secrets`)."""
    if path.is_symlink():
        raise BridgeError(f"{path} is a symbolic link: give the file itself")
    real = path.resolve()
    private = [own.resolve() for own in private]
    for own in private:
        if real == own or own in real.parents:
            raise BridgeError(f"{path} is the bridge's own file ({own}): it is never evidence")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BridgeError(f"{path} is not a regular file: give a document")
        _refuse_same_file(path, info, private)
        if info.st_size > limit:
            raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while read
        raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
    refuse_secrets(str(path), data, secrets)
    return shown_name(path), data


def shown_name(path: Path) -> str:
    """The file's name as text: bytes of it that are not UTF-8 (a Latin-1 name from a share) as backslash escapes
    (`Vertrag-M\\xfcller.pdf`); the name is only displayed."""
    return os.fsencode(path.name).decode("utf-8", "backslashreplace")


def _refuse_same_file(path: Path, info: os.stat_result, private: list[Path]) -> None:
    """The bridge's own files and the system's password hashes by identity (device and inode), which a hard
    link shares under any name and any folder."""
    known_files = [(p, "the bridge's own file") for p in private] + [
        (p, "the system's password hashes") for p in SYSTEM
    ]
    for own, why in known_files:
        try:
            known = own.stat()
        except OSError:
            continue
        if (known.st_dev, known.st_ino) == (info.st_dev, info.st_ino):
            same = "" if path.resolve() == own else ", the same file under another name"
            raise BridgeError(f"{path} is {why} ({own}{same}): it is never evidence")


def refuse_secrets(where: str, data: bytes, secrets: Iterable[tuple[str, bytes]]) -> None:
    """One sentence when `data` holds a PEM private key or one of `secrets` (named by what it is, not shown), as
    written or however the file encodes it (readable_forms), in base64 or in hex anywhere (secret_forms)."""
    wanted = [(what, secret_forms(value)) for what, value in secrets if len(value) >= SHORTEST]
    for form in readable_forms(where, data):
        if PRIVATE_KEY.search(form) or any(b in form for b in PRIVATE_KEY_BASE64):
            raise BridgeError(
                f"{where} holds a PEM private key: a private key is never evidence (the dossier leaves the machine)"
            )
        der = holds_der_key(form)
        if der is None:  # past the places looked at, a key could hide behind decoys: refused, not passed unread
            raise BridgeError(
                f"{where} holds more places where a private key in base64 (DER) may start than are checked "
                f"({DER_TRIES:,} and one per {DER_DENSITY // 1024} KiB): a private key is never evidence (remove the "
                "base64 runs, or attach the file in parts)"
            )
        if PUTTY_KEY.search(form) or der:
            raise BridgeError(
                f"{where} holds a private key (PuTTY's or DER in base64): a private key is never evidence (the "
                "dossier leaves the machine)"
            )
        for what, forms in wanted:
            if any(v in form for v in forms):
                raise BridgeError(
                    f"{where} contains one of the bridge's secrets ({what}): the bridge's secrets are never evidence "
                    "(the dossier leaves the machine)"
                )


def holds_der_key(form: bytes) -> bool | None:
    """Whether `form` holds a DER private key written in base64 (PKCS#8, encrypted or not, PKCS#1, SEC1): each
    place one may start (DER_KEY_START) decoded to the length its first bytes declare and loaded. None when there
    are more such places than are looked at (DER_TRIES, DER_DENSITY): what the rest hold is not known, and only a
    text stuffed with decoys gets there."""
    tries = DER_TRIES + len(form) // DER_DENSITY
    for number, found in enumerate(DER_KEY_START.finditer(form)):
        if number >= tries:
            return None
        run = BASE64_RUN.match(form, found.start(), found.start() + 87_400)  # the longest 2-byte DER length
        text = run.group(0) if run else b""
        head = base64.b64decode(text[:8])
        size = {0x82: 4 + int.from_bytes(head[2:4], "big"), 0x81: 3 + head[2]}.get(head[1], 2 + head[1])
        chunk = text[: (size * 4 + 2) // 3]  # its last group's padding (=) is not part of the run
        if head[1] > 0x82 or len(chunk) < (size * 4 + 2) // 3:
            continue
        der = base64.b64decode(chunk + b"=" * (-len(chunk) % 4))[:size]
        try:
            serialization.load_der_private_key(der, password=None)
        except TypeError:  # a key, encrypted
            return True
        except (ValueError, UnsupportedAlgorithm):
            continue
        return True
    return False


def secret_forms(value: bytes) -> list[bytes]:
    """How a secret may be written in a file: as it is, in base64 (whatever its offset) and in hex (a PDF's <...>
    string, a key printed by a tool), and escaped as a JSON or form reader shows it as it is (escaped_forms)."""
    return [value, *base64_forms(value), value.hex().encode(), value.hex().upper().encode(), *escaped_forms(value)]


PERCENT_ESCAPE = re.compile(rb"%[0-9A-F]{2}")


def escaped_forms(value: bytes) -> list[bytes]:
    """`value` as PHP's json_encode writes it ('/' as '\\/': the WHMCS hook is PHP) and percent-encoded as a form body
    or a query string carries it ('/' escaped or not, '%2b' or '%2B'), the twenty-fifth round's MEDIUM: a webhook
    secret (whsec_ and base64) holds '/' and '+' about half the time."""
    quoted = [urllib.parse.quote_from_bytes(value, safe=safe).encode() for safe in ("", "/")]
    lower = [PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), q) for q in quoted]
    forms = [value.replace(b"/", b"\\/"), *quoted, *lower]
    return [form for form in dict.fromkeys(forms) if form != value]


# A PDF's streams (nineteenth round H1: compressed, or ASCIIHex/ASCII85 encoded) and strings: (literal, with its
# escapes) and <hex>, which are what a reader shows as text.
PDF_STREAM = re.compile(rb"stream(?:\r\n|\r|\n)(.*?)(?:\r\n|\r|\n)?endstream", re.DOTALL)
PDF_LITERAL = re.compile(rb"\((?:\\.|[^\\()])*\)", re.DOTALL)
PDF_HEX = re.compile(rb"<([0-9A-Fa-f\s]{2,})>")
PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
PDF_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r?\n|.)", re.DOTALL)
OCTAL = frozenset(b"01234567")
IMAGE = re.compile(rb"/Subtype\s*/Image")
EMBEDDED_FILE = re.compile(rb"/Type\s*/EmbeddedFile\b")
ENCRYPTED = re.compile(rb"/Encrypt\b")  # the trailer's: every stream and string is ciphertext (7.6)
SPACES = re.compile(rb"[\s:]+")  # and the colons of a key printed as hex pairs (ab:cd:...)
# What a file's streams may inflate to, all together: past it, the file is a bomb, not a document, and is
# refused (nineteenth round H6: a 0.8 MB PDF of 12 streams of 64 MB took 917 MB to read). Images are not
# inflated: their pixels are no text.
LARGEST_INFLATED = 128 * 1048576
# How a string that is not plain bytes says so (twenty-first round H3): a PDF text string in UTF-16BE with its byte
# order mark (PDF 32000-1, 7.9.2.2; PDF 2.0 adds UTF-8 with its mark), and the UTF-16LE a text editor writes.
TEXT_MARKS = ((codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF8, "utf-8"))


def readable_forms(where: str, data: bytes) -> Iterator[bytes]:
    """The file as written (and read by its byte order mark, a UTF-16 text file), and as a reader would see its
    text: each PDF stream through the filters it declares and each PDF string read as PDF text, each part of an
    email decoded (base64, quoted-printable) and read in its character set, each compressed text of a PNG inflated,
    and, read the same way, each attachment of an email and each member of an archive or compressed file in it
    (a ZIP, an office document, gzip, bzip2, xz); and each of these without its spaces and line breaks (a value
    wrapped over two lines, quoted-printable's soft breaks). What the bridge cannot decode refuses the file
    (decoders.Unreadable): it cannot be checked."""
    budget = [LARGEST_INFLATED]
    try:
        for form in _forms(where, data, budget, 0):  # one at a time: bounded memory
            yield form
            yield SPACES.sub(b"", form.replace(b"=\r\n", b"").replace(b"=\n", b""))
    except decoders.Unreadable as exc:
        raise BridgeError(
            f"{where} has {exc.what}, which the bridge cannot read, so cannot check for secrets: it is never evidence "
            f"as it is ({exc.instead})"
        ) from None


# How deep attachments and archives may nest (an email's ZIP holding a ZIP is 2): deeper is no document.
DEEPEST = 4


def _forms(where: str, data: bytes, budget: list[int], depth: int) -> Iterator[bytes]:
    if depth > DEEPEST:
        raise decoders.Unreadable(f"attachments or archives nested more than {DEEPEST} deep", decoders.UNPACKED)
    marked = as_text(data)
    yield from (data, quopri.decodestring(data)) + ((marked,) if marked is not data else ())
    yield from _pdf_forms(where, data, budget, depth)
    yield from _markup_text(data)
    if decoders.is_rtf(data):
        yield decoders.rtf_text(data)
    yield from _png_texts(where, data, budget)
    yield from _email_parts(where, data, budget, depth)
    for member in decoders.unpacked(data, budget):
        _spend(where, budget, len(member))
        yield from _forms(where, member, budget, depth + 1)


def _spend(where: str, budget: list[int], size: int) -> None:
    """Count `size` decoded bytes against what the file may decode to, all together."""
    if size > budget[0]:
        raise BridgeError(
            f"{where} inflates past {LARGEST_INFLATED // 1048576} MB: too large to check for secrets, so never "
            "evidence (a document that large is a compression bomb, or should be given as several files)"
        )
    budget[0] -= size


def _inflated(where: str, raw: bytes, budget: list[int]) -> bytes | None:
    """`raw` inflated (zlib), within what is left of the file's budget; None if it is not zlib data."""
    try:
        out = zlib.decompressobj().decompress(raw, budget[0] + 1)
    except zlib.error:
        return None
    _spend(where, budget, len(out))
    return out


def _decoded_stream(where: str, raw: bytes, budget: list[int]) -> bytes | None:
    """A PDF stream's content as the reader decodes it: inflated, or ASCIIHex or ASCII85 text read."""
    text = raw.strip()
    if text.endswith(b">") and re.fullmatch(rb"[0-9A-Fa-f\s]*>", text):
        return _unhexed(text[:-1])
    if text.endswith(b"~>"):
        try:
            return base64.a85decode(text, adobe=True, ignorechars=b" \t\r\n")
        except ValueError:
            return None
    return _inflated(where, raw, budget)


def _pdf_forms(where: str, data: bytes, budget: list[int], depth: int) -> Iterator[bytes]:
    """Each stream of a PDF through the filters its dictionary declares, in order, with their predictors (one that
    declares none: guessed, twice, as before), and the text of the strings of the file and of each stream, joined
    (a reader shows `(Se) Tj (cret) Tj` as one word). An image's pixels are no text: not decoded."""
    if b"%PDF-" not in data[:1024]:  # a reader finds the header within the first kilobyte
        return
    if ENCRYPTED.search(data):
        raise decoders.Unreadable("an encrypted PDF", "print it to PDF again without a password")
    yield _pdf_strings(data)
    yield from _pdf_streams(where, data, budget, depth)
    for text in pdftext.page_texts(data):  # after the streams: a bomb is refused before pdfium inflates it
        _spend(where, budget, len(text))
        yield text


def _pdf_streams(where: str, data: bytes, budget: list[int], depth: int) -> Iterator[bytes]:
    """Each stream decoded (_pdf_forms); a file attached to the PDF (an /EmbeddedFile stream: Acrobat's paper clip, a
    PDF/A-3 invoice's XML) is then read as the file it is, as an email's attachment is (twenty-fourth round HIGH: a
    .docx attached inside a PDF hid the API secret)."""
    for found in PDF_STREAM.finditer(data):
        dictionary = decoders.stream_dictionary(data[max(0, found.start() - 4096) : found.start()])
        if IMAGE.search(dictionary):
            continue
        attached = EMBEDDED_FILE.search(dictionary) is not None
        filters, params = decoders.declared(dictionary)
        if filters or attached:
            for raw in decoders.stream_contents(data, found.start(1), found.group(1), dictionary):
                content = decoders.decoded(raw, filters, params, budget[0])
                if content is not None:
                    _spend(where, budget, len(content))
                    yield content
                    yield _pdf_strings(content)
                    yield from _forms(where, content, budget, depth + 1) if attached else ()
            continue
        guessed: bytes | None = found.group(1)
        for _ in range(2):
            guessed = _decoded_stream(where, guessed, budget) if guessed is not None else None
            if guessed is None:
                break
            yield guessed
            yield _pdf_strings(guessed)


def _pdf_strings(content: bytes) -> bytes:
    """The text of every string in `content`, each read as a PDF text string (as_text), in UTF-8."""
    strings = [PDF_ESCAPE.sub(_unescaped, m.group(0)[1:-1]) for m in PDF_LITERAL.finditer(content)]
    strings += [_unhexed(m.group(1)) for m in PDF_HEX.finditer(content)]
    return b"".join(as_text(s) for s in strings)


def as_text(raw: bytes) -> bytes:
    """`raw` as a reader shows it, in UTF-8: decoded by its byte order mark (TEXT_MARKS); without one, `raw` itself
    (PDFDocEncoding or Latin-1, in which a secret, ASCII, reads as written)."""
    for mark, codec in TEXT_MARKS:
        if raw.startswith(mark):
            return raw[len(mark) :].decode(codec, errors="replace").encode()
    return raw


# UTF-16 and UTF-32 declared without their byte order: big-endian when the text has no mark (RFC 2781, 4.3; the
# Unicode standard, 3.10), where Python would read this machine's order (twenty-fourth round MEDIUM).
NO_MARK = {
    "utf-16": ((codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE), "utf-16-be"),
    "utf-32": ((codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE), "utf-32-be"),
}


def in_charset(where: str, raw: bytes, charset: str) -> bytes:
    """`raw` decoded from the character set an email declares for it (any Python codec), in UTF-8; a set the
    bridge cannot read refuses the file: what it cannot read, it cannot check for secrets."""
    try:
        codec = codecs.lookup(charset).name
        if codec in NO_MARK and not raw.startswith(NO_MARK[codec][0]):
            codec = NO_MARK[codec][1]
        return raw.decode(codec, errors="replace").encode()
    except (LookupError, UnicodeError, ValueError):  # "idna", "undefined" (no decoding), a NUL in the name
        raise BridgeError(
            f"{where} has text in the character set {charset!r}, which the bridge cannot read, so cannot check for "
            "secrets: it is never evidence as it is (save or forward the email as UTF-8, or print it to PDF)"
        ) from None


def _unhexed(text: bytes) -> bytes:
    """PDF hex text: spaces ignored, a last odd digit followed by 0 (PDF 32000-1, 7.3.4.3)."""
    digits = re.sub(rb"\s", b"", text)
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())


def _unescaped(match: re.Match[bytes]) -> bytes:
    """One escape of a PDF literal string (7.3.4.2): octal digits are a byte; a backslash before any other
    character (`\\8` in an image's bytes) is ignored, as a reader ignores it."""
    code = match.group(1)
    if code[0] in OCTAL:
        return bytes([int(code, 8) & 0xFF])
    if code in (b"\n", b"\r\n"):  # a line continued
        return b""
    return PDF_ESCAPES.get(code, code)


# An XML or HTML document (an office document's members: word/document.xml, xl/sharedStrings.xml, ppt/slides/*,
# content.xml; an HTML email): its text is what lies between its tags, with its character references read.
MARKUP = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<[?!A-Za-z]")
TAG = re.compile(rb"<[^>]*>")


def _markup_text(data: bytes, html_part: bool = False) -> Iterator[bytes]:
    """The text an XML or HTML document shows: its tags removed (Word's runs, an email's spans joined, as a reader
    shows them) and its character references (&#NN;) read. A document is one when it starts with a tag, an email's
    part when its Content-Type says text/html (`html_part`), whatever it starts with (twenty-fourth round MEDIUM)."""
    if html_part or MARKUP.match(data[:1024]):
        yield html.unescape(TAG.sub(b"", data).decode("utf-8", "replace")).encode()


def _png_texts(where: str, data: bytes, budget: list[int]) -> Iterator[bytes]:
    """A PNG's compressed text chunks (zTXt, and iTXt when compressed), inflated; tEXt is in the file as written."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return
    at = 8
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + size]
        at += 12 + size
        if kind == b"zTXt" and b"\0" in body:
            text = _inflated(where, body.split(b"\0", 1)[1][1:], budget)
        elif kind == b"iTXt" and b"\0" in body and body.split(b"\0", 1)[1][:1] == b"\1":
            rest = body.split(b"\0", 1)[1][2:]  # compression flag and method, then language and keyword, each ended
            text = _inflated(where, rest.split(b"\0", 2)[-1], budget)
        else:
            continue
        if text:
            yield text


def _email_parts(where: str, data: bytes, budget: list[int], depth: int) -> Iterator[bytes]:
    """Each part of an email decoded (base64, quoted-printable) and read as what it is (its text in its declared
    character set, a PDF, an archive: _forms), and its headers' encoded words (=?utf-16?b?...?=) read in theirs, as
    a mail client shows them."""
    if not is_email(data):
        return
    for part in email.message_from_bytes(data).walk():
        yield _header_text(where, part)
        payload = part.get_payload(decode=True) if not part.is_multipart() else None
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset()
        if charset:
            yield (text := in_charset(where, payload, charset))
            yield from _markup_text(text, part.get_content_type() == "text/html")
        elif part.get_content_type() == "text/html":
            yield from _markup_text(payload, True)
        _spend(where, budget, len(payload))
        yield from _forms(where, payload, budget, depth + 1)


# An email's first lines (RFC 5322, 2.2 and 3.6): header fields, `name: value` with a name of printable ASCII and
# no space, each perhaps continued on lines starting with a space or tab, up to an empty line; a mailbox file's
# first "From " line before them. A file is read as an email only when it starts so (twenty-third round: any "=?"
# in a JPEG's or a PDF's bytes once made it one, its "body" again one, until refused as nested too deep).
FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
MAILBOX_LINE = b"From "
# The header fields one of which an email or a MIME part saved on its own has; a text of "Note: ..." lines has none.
MAIL_FIELDS = frozenset((b"from", b"to", b"subject", b"date", b"received", b"message-id", b"mime-version",
                         b"content-type", b"return-path", b"delivered-to"))  # fmt: skip


def is_email(data: bytes) -> bool:
    """Whether `data` is laid out as an email: header fields from its first line to an empty line (or its end, or a
    line that is no field), one of them a field every email or MIME part has (MAIL_FIELDS)."""
    lines = _lines(data)
    names: set[bytes] = set()
    for number, line in enumerate(lines):
        if number == 0 and line.startswith(MAILBOX_LINE):
            continue
        if not line:
            break
        if line[:1] in (b" ", b"\t") and names:
            continue
        field = FIELD.match(line)
        if field is None:  # the body, its empty line missing (as a mail client reads it): a first line ends it all
            break
        names.add(field.group(0).rstrip(b" \t:").lower())
    return bool(names & MAIL_FIELDS)


def _lines(data: bytes) -> Iterator[bytes]:
    """`data`'s lines without their ends (LF or CRLF), one at a time: a file that is no email stops at its first."""
    at = 0
    while at < len(data):
        end = data.find(b"\n", at)
        end = len(data) if end == -1 else end
        yield data[at:end].removesuffix(b"\r")
        at = end + 1


def _header_text(where: str, part: email.message.Message) -> bytes:
    words = [word for value in part.values() for word in email.header.decode_header(str(value))]
    return b"".join(in_charset(where, text, charset) for text, charset in words if isinstance(text, bytes) and charset)


def base64_forms(value: bytes) -> list[bytes]:
    """What `value` looks like inside any base64 text, whatever its offset there: its three encodings, each without
    the characters that depend on its neighbours."""
    out = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value)
        start = (pad * 4 + 2) // 3 + (1 if pad else 0)  # the characters mixing the padding's bits
        end = len(encoded) - (4 if (pad + len(value)) % 3 else 0)  # and the last group's, mixing what follows
        out.append(encoded[start:end].rstrip(b"="))
    return [o for o in out if len(o) >= SHORTEST]


# A PEM private key pasted as base64 (LS0tLS1CRUdJTi...: how keys are often handed over in a ticket, a .env or a
# Kubernetes secret), whatever its offset in the base64 text (twenty-second round MEDIUM).
PRIVATE_KEY_BASE64 = tuple(
    form for marker in (b" PRIVATE KEY-----", b"-----BEGIN OPENSSH PRIVATE") for form in base64_forms(marker)
)


def bridge_secrets(config: Config) -> list[tuple[str, bytes]]:
    """What no evidence may contain: every secret of the configuration (the WHMCS API identifier and secret,
    the webhook secrets), every value of the .env beside it, and each line of the signing key's PEM body (a
    copy without its BEGIN line)."""
    found = [(f"the value of {s.variable}", s.reveal().encode()) for s in _secrets_in(config)]
    env_file = config.source.parent / ".env"
    if env_file.is_file():
        values = read_env_file(env_file).items()
        found += [(f"the value of {name} in {env_file}", value.encode()) for name, value in values]
    try:
        pem = keys.key_path(config.state.path).read_bytes()
    except OSError:  # no key here (yet), or not readable by this user: nothing of it to look for
        pem = b""
    body = [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith(b"-----")]
    found += [("a line of the bridge's signing key", line) for line in body]
    return found + [("the bridge's signing key", value) for value in key_encodings(pem)]


def key_encodings(pem: bytes) -> list[bytes]:
    """The signing key as other tools write it (nineteenth round H2): its DER encoding and its raw 32-byte seed
    (secret_forms looks for each in hex and base64 too)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        return []
    plain = serialization.NoEncryption()
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, plain)
    if not isinstance(key, Ed25519PrivateKey):
        return [der]
    return [der, key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, plain)]


def _secrets_in(value: Any) -> Iterator[Secret]:
    if isinstance(value, Secret):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _secrets_in(getattr(value, field.name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
