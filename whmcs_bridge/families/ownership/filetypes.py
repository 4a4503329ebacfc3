"""What an evidence file is, from its content (never its name), and why it cannot be a document (pure)."""

from __future__ import annotations

import re

# Smaller than this, no document is left: a PDF's header and trailer alone, the smallest whole PNG (one
# pixel) or a sentence of text are bigger. A 3-byte file was once taken as a registry extract.
MIN_BYTES = 64
# How far from the end a PDF's %%EOF may lie (writers append a line or an incremental update's padding).
PDF_TAIL = 1024


def sniff(data: bytes) -> str | None:
    """The type of a file from its content (never from its name)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    head = text[:2000].lower()
    if re.search(r"^(from|received|message-id|subject|date|to):", head, re.M) and "\n\n" in text.replace("\r\n", "\n"):
        return "eml"
    return "text"


def problem(data: bytes, kind: str | None) -> str | None:
    """One sentence saying why these bytes are not a whole document of `kind`, or None."""
    if len(data) < MIN_BYTES:
        return f"the file is {len(data)} bytes: too small to be a document (at least {MIN_BYTES} bytes)"
    if kind == "pdf" and b"%%EOF" not in data[-PDF_TAIL:]:
        return "the file starts as a PDF but has no %%EOF trailer: it is cut short or not a PDF"
    if kind == "png" and (data[12:16] != b"IHDR" or b"IEND" not in data[-12:]):
        return "the file starts as a PNG but lacks its IHDR header or IEND end chunk: it is cut short or damaged"
    if kind == "jpeg" and b"\xff\xd9" not in data[-16:]:
        return "the file starts as a JPEG but has no end-of-image marker: it is cut short or damaged"
    if kind in ("text", "eml") and len(re.findall(r"\w", data.decode("utf-8"))) < MIN_BYTES // 2:
        return f"the file is text with fewer than {MIN_BYTES // 2} letters or digits: too little to be a document"
    return None
