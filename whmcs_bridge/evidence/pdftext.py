"""The text a PDF reader shows on each page, read by pdfium (Chromium's PDF engine): how a file's streams decode
is not always its text; a font's glyph ids become characters only through its ToUnicode map (PDF 32000-1, 9.10),
which is how most writers write text (twenty-third break round, HIGH)."""

from __future__ import annotations

import threading

import pypdfium2 as pdfium

from whmcs_bridge.evidence import decoders

# pdfium is one library state for the whole process and not thread-safe (pypdfium2's documentation).
LOCK = threading.Lock()


def page_texts(data: bytes) -> list[bytes]:
    """Each page's text as a reader shows it, in UTF-8; a PDF pdfium cannot open raises decoders.Unreadable."""
    with LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            reason = str(exc).rstrip(".")
            raise decoders.Unreadable(f"a PDF that a PDF reader cannot open ({reason})", decoders.REPRINT) from None
        try:
            return [_text(document[index]) for index in range(len(document))]
        except pdfium.PdfiumError as exc:
            reason = str(exc).rstrip(".")
            raise decoders.Unreadable(
                f"a PDF page that a PDF reader cannot read ({reason})", decoders.REPRINT
            ) from None
        finally:
            document.close()


def _text(page: pdfium.PdfPage) -> bytes:
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_bounded().encode("utf-8", "replace")
        finally:
            textpage.close()
    finally:
        page.close()
