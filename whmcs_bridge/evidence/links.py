"""Live one-time links in evidence: a file holding a link of the bridge's pages that still takes answers lets whoever
reads it answer (refuse_live_links), however a mail client rewrote it: percent-encoded (Outlook Safe Links, once or
more), with HTML entities, or by Proofpoint URL Defense. Split from files.py, which reads a file's forms."""

from __future__ import annotations

import base64
import html
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.files import readable_forms

# A one-time link of the bridge's pages (executor/loop.py mint_consent_link: /consent/ and a urlsafe token).
LINK_TOKEN = re.compile(rb"/consent/([A-Za-z0-9_-]{20,})")


def refuse_live_links(where: str, data: bytes, live: Callable[[str], bool]) -> None:
    """One sentence when `data` holds, however the file encodes it (readable_forms) and however a link is written
    in it (link_forms: an Outlook Safe Links or Proofpoint URL Defense URL), one of the bridge's one-time links that still answers (`live`): a
    dossier leaves the machine, and whoever reads it would answer for the party the link was sent to (twenty-third
    break round, ownership evidence HIGH 7). The link is not shown."""
    for form in readable_forms(where, data):
        texts = (seen for text in link_forms(form) for seen in _as_seen(text))
        if any(live(m.group(1).decode()) for text in texts for m in LINK_TOKEN.finditer(text)):
            raise BridgeError(
                f"{where} holds a live one-time link of the bridge, which lets whoever reads the dossier answer for "
                "the party it was sent to: attach it once the link is used or expired, or a copy without the link"
            )


def _as_seen(text: bytes) -> Iterator[bytes]:
    """`text`, then, when it holds any, without the characters a reader does not see: Unicode's format characters
    (category Cf: U+200B zero-width space, U+00AD soft hyphen, U+2060 word joiner...). A zero-width space
    (HTML-to-text converters put one in a long link so that it wraps) or a soft hyphen (a word processor's) inside a
    token shows the link whole (twenty-sixth break round, ownership LOW 15). Read as UTF-8 (the text forms
    readable_forms gives) and, a lone byte 0xAD, as a Latin-1 soft hyphen."""
    yield text
    if text.isascii():
        return
    chars = text.decode("utf-8", "surrogateescape")
    hidden = {ord(c): None for c in set(chars) if c == SOFT_HYPHEN_BYTE or unicodedata.category(c) == "Cf"}
    if hidden:
        yield chars.translate(hidden).encode("utf-8", "surrogateescape")


SOFT_HYPHEN_BYTE = "\udcad"  # a lone byte 0xAD (Latin-1's soft hyphen), as surrogateescape reads it


# How many times a link may be found percent-encoded in another (twenty-fourth round HIGH: Outlook's Safe Links
# rewrite every link of a mail as `...safelinks.protection.outlook.com/?url=http%3A%2F%2F...`, and a mail forwarded
# through two such mailboxes holds it encoded twice); deeper is no mail client's doing.
LINK_DECODINGS = 4


# Where a link may be written: a run of printable ASCII without spaces (a percent-encoded link has none), at least
# as long as a token; only a run holding % or & is decoded (random binary holds both, and read whole took a minute).
LINK_RUN = re.compile(rb"[!-~]{20,}")
LINK_WINDOW = 1 << 16  # a run (minified HTML) decoded this much at a time, a link's length more: bounded memory
LONGEST_LINK = 1 << 13


def link_forms(form: bytes, depth: int = 0) -> Iterator[bytes]:
    """`form`, then as a browser reads each link written in it: its HTML character references (`&amp;`, `&#47;`)
    and its percent-encoding read, again on what that gives, up to LINK_DECODINGS times; and each of these with
    the links a Proofpoint URL Defense URL holds (proofpoint_links), read the same way (a Safe Links URL inside it),
    up to LINK_DECODINGS rewriters deep."""
    for text in _link_texts(form):
        yield text
        if depth < LINK_DECODINGS:
            for link in proofpoint_links(text):
                yield from link_forms(link, depth + 1)


def _link_texts(form: bytes) -> Iterator[bytes]:
    yield form
    if b"%" not in form and b"&" not in form:
        return
    for run in LINK_RUN.finditer(form):
        text = run.group(0)
        if b"%" in text or b"&" in text:
            for start in range(0, len(text), LINK_WINDOW):
                yield from _decoded_links(text[start : start + LINK_WINDOW + LONGEST_LINK])


# Proofpoint URL Defense, the other common corporate rewriter of a mail's links (twenty-fifth round HIGH): v1 writes
# `urldefense.proofpoint.com/v1/url?u=<percent-encoded link>&k=...` (read by the percent decoding above); v2
# `.../v2/url?u=http-3A__host_consent_TOKEN&d=...` (percent-encoded, then '%' written '-' and '/' written '_'); v3
# `urldefense.com/v3/__<link>__;<base64>!!...`, the link as it is but each character it would not keep written '*'
# (a run of them '**' and a letter giving its length), the characters given in URL-safe base64 after ';'. This is
# the decoding Proofpoint publishes with its own decoder (urldecoder.py).
PROOFPOINT_V2 = re.compile(rb"/v2/url\?u=([^&\s\"'<>]+)")
PROOFPOINT_V3 = re.compile(rb"/v3/__(.+?)__;([A-Za-z0-9_-]*)!")
V3_TOKEN = re.compile(rb"\*(\*.)?")
V3_RUNS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # '**A' is 2 characters, '**_' 65


def proofpoint_links(form: bytes) -> Iterator[bytes]:
    """The link each Proofpoint URL Defense v2 or v3 URL in `form` holds, as its reader's browser opens it."""
    if b"/v2/url?u=" not in form and b"/v3/__" not in form:
        return
    for found in PROOFPOINT_V2.finditer(form):
        yield urllib.parse.unquote_to_bytes(found.group(1).replace(b"-", b"%").replace(b"_", b"/"))
    for found in PROOFPOINT_V3.finditer(form):
        yield _v3_link(urllib.parse.unquote_to_bytes(found.group(1)), found.group(2))


def _v3_link(link: bytes, given: bytes) -> bytes:
    """A v3 link with each '*' (or run '**X') replaced by the characters `given` holds, in order."""
    try:
        chars = base64.urlsafe_b64decode(given + b"=" * (-len(given) % 4))
    except ValueError:  # not what Proofpoint writes: the link as it is, '*' and all
        return link
    parts: list[bytes] = []
    used = last = 0
    for found in V3_TOKEN.finditer(link):
        run = found.group(1)[1:] if found.group(1) else b""
        size = V3_RUNS.index(run) + 2 if run and run in V3_RUNS else 1
        parts += [link[last : found.start()], chars[used : used + size]]
        used, last = used + size, found.end()
    return b"".join([*parts, link[last:]])


def _decoded_links(form: bytes) -> Iterator[bytes]:
    for _ in range(LINK_DECODINGS):
        if b"%" not in form and b"&" not in form:
            return
        decoded = urllib.parse.unquote_to_bytes(html.unescape(form.decode("latin-1")).encode("utf-8"))
        if decoded == form:
            return
        form = decoded
        yield form
