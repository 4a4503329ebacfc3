"""Small whole PDFs for the sandbox's and the demo's documents (pure): a reader opens them and shows their lines, as
the evidence check reads every PDF (a header and a comment alone are no PDF a reader opens)."""

from __future__ import annotations

import zlib


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` (ASCII, no parentheses or backslashes) in Helvetica, deflated: a catalog, its
    page tree, a page, the font, the content stream, a cross-reference table and a trailer (PDF 32000-1, 7.5)."""
    shown = b" ".join(b"(" + line.encode("ascii") + b") Tj T*" for line in lines)
    content = zlib.compress(b"BT /F1 11 Tf 14 TL 50 780 Td " + shown + b" ET")
    return whole_pdf(
        [
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>",
            b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
            b"<</Length %d/Filter/FlateDecode>>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )


def whole_pdf(objects: list[bytes]) -> bytes:
    """A PDF of a catalog (1), its page tree (2) of one page, which must be `objects`' first (3), and `objects`
    numbered from 3, with the cross-reference table and trailer a reader needs to open it."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>", *objects]
    out, offsets = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    return out + b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
