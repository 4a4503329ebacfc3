"""Twenty-fourth break round (ownership evidence, the consent link check, verify-dossier): a live one-time link hidden
in an Outlook Safe Links URL (percent-encoded) or past its deadline while the page still takes a late answer was
accepted as evidence; a PDF's own attachment (an /EmbeddedFile .docx) and a Word RTF file hid a secret; a PNG
predictor with absurd /Columns took a minute, a gigabyte or a MemoryError; verify-dossier hashed a listed file of any
size; an email's charset "idna" raised a traceback; an HTML part not starting with a tag and a UTF-16 part without
byte order mark hid a secret; `audit key --new --by` ignored the staff listed under `ownership:`."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import SECRET, Sandbox
from tests.test_audit_tamper import write_config
from tests.test_ownership_dossier_verify import build
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import bounded, keys
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.evidence.links import refuse_live_links
from whmcs_bridge.families.ownership import config as ownership_config
from whmcs_bridge.sandbox.documents import whole_pdf
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

SECRETS = [("the value of WHMCS_API_SECRET", SECRET.encode())]
TOKEN = "Q2x7bD9kR3tLw9nB7cY3dHsVv0aZ"
LINK = f"http://127.0.0.1:8080/consent/{TOKEN}"


def refused_secret(data: bytes) -> str:
    with pytest.raises(BridgeError) as caught:
        refuse_secrets("evidence", data, SECRETS)
    return str(caught.value)


# --- 1 (HIGH): a live link percent-encoded (Outlook Safe Links), twice, or with HTML entities -------------------


def safelinks(link: str) -> str:
    return (
        "https://eur01.safelinks.protection.outlook.com/?url=" + urllib.parse.quote(link, safe="")
        + "&data=05%7C02%7Cbudi%40kreatifstudio.id%7C1f2e&sdata=abc%3D&reserved=0"
    )  # fmt: skip


HIDDEN_LINKS = {
    "an Outlook Safe Links URL": f"We object.\n> Answer here: {safelinks(LINK)}\n",
    "Safe Links of Safe Links (forwarded twice)": f"We object.\n{safelinks(safelinks(LINK))}\n",
    "percent-encoded letters of the path": "See " + LINK.replace("/consent/", "/%63onsent%2F") + " below\n",
    "an HTML email's &amp; and &#47;": f'<p><a href="{safelinks(LINK).replace("&", "&amp;").replace("%2F", "&#47;")}">'
    "answer</a></p>",
}


@pytest.mark.parametrize("name", HIDDEN_LINKS)
def test_a_live_link_percent_encoded_is_found(name: str):
    with pytest.raises(BridgeError, match="live one-time link"):
        refuse_live_links("evidence", HIDDEN_LINKS[name].encode(), lambda token: token == TOKEN)
    refuse_live_links("evidence", HIDDEN_LINKS[name].encode(), lambda token: False)  # used or expired: taken


def test_a_live_link_inside_a_safe_links_url_in_a_forwarded_email_is_refused(world: World):
    """The repro: the holder forwarded the notice from Outlook, each link a Safe Links URL; it was accepted and
    exported, and whoever read the dossier answered for the holder."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    forwarded = (
        "From: budi@kreatifstudio.id\r\nSubject: FW: Ownership request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nWe object to this.\r\n\r\n> Answer here: {safelinks(link)}\r\n"
    ).encode()
    args = [case_id, world.file("forwarded.eml", forwarded), "--kind", "other", "--from", "holder", "--via", "email"]
    refused = world.fail("ownership", "attach", *args, "--by", "alice")
    assert "live one-time link" in refused, refused


# --- 2 (HIGH): a holder's link past its deadline still takes a late answer while the case is open ---------------


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_a_holders_link_past_its_deadline_that_still_takes_a_late_answer_is_live(world: World):
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    forwarded = (
        "From: budi@kreatifstudio.id\r\nSubject: Fwd: Ownership request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nWe never agreed to this.\r\n\r\n> Answer here: {link}\r\n"
    ).encode()
    world.sandbox.travel((datetime.now(UTC) + timedelta(days=16)).isoformat(timespec="seconds"))
    assert "<form" in requests.get(link, timeout=5).text  # the page still takes a (late) answer
    args = [case_id, world.file("forwarded.eml", forwarded), "--kind", "other", "--from", "holder", "--via", "email"]
    refused = world.fail("ownership", "attach", *args, "--by", "alice")
    assert "live one-time link" in refused, refused


# --- 3 (HIGH): a PDF's own attachment, a Word RTF file --------------------------------------------------------


def zipped(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


def pdf_with_embedded(payload: bytes, flate: bool = True) -> bytes:
    body = zlib.compress(payload) if flate else payload
    page = b"BT /F1 12 Tf 72 720 Td (Contract; see its attachment) Tj ET"
    return whole_pdf(
        [
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>",
            b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
            b"<</Length %d>>\nstream\n" % len(page) + page + b"\nendstream",
            b"<</Type/Filespec/F(contract.docx)/UF(contract.docx)/EF<</F 7 0 R>>>>",
            b"<</Type/EmbeddedFile/Subtype/application#2Fzip" + (b"/Filter/FlateDecode" if flate else b"")
            + b"/Length %d>>\nstream\n" % len(body) + body + b"\nendstream",
        ]
    )  # fmt: skip


DOCX = zipped("word/document.xml", b"<w:document><w:body><w:p><w:r><w:t>API: " + SECRET.encode() + b"</w:t></w:r>"
              b"</w:p></w:body></w:document>")  # fmt: skip


@pytest.mark.parametrize("flate", [True, False])
def test_a_secret_in_a_docx_attached_inside_a_pdf_is_found(flate: bool):
    assert "the bridge's secrets" in refused_secret(pdf_with_embedded(DOCX, flate))


def test_a_pdf_attached_inside_a_pdf_inside_a_pdf_is_bounded():
    nested = DOCX
    for _ in range(8):
        nested = pdf_with_embedded(nested)
    assert "nested more than" in refused_secret(nested)


RTF = {
    "runs split by Word": "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Calibri;}}\\pard API access: {\\rtlch\\insrsid1 "
    + SECRET[:10] + "}{\\rtlch\\insrsid2 " + SECRET[10:] + "}\\par}",
    "\\'hh escapes": "{\\rtf1\\ansi\\pard API: " + "".join(f"\\'{ord(c):02x}" for c in SECRET) + "\\par}",
    "\\uN escapes": "{\\rtf1\\ansi\\pard API: " + "".join(f"\\u{ord(c)}?" for c in SECRET) + "\\par}",
    "a line break in the middle": "{\\rtf1\\ansi\\pard API: " + SECRET[:7] + "\r\n" + SECRET[7:] + "\\par}",
}  # fmt: skip


@pytest.mark.parametrize("name", RTF)
def test_a_secret_in_an_rtf_document_is_found(name: str):
    assert "the bridge's secrets" in refused_secret(RTF[name].encode())


def test_an_ordinary_rtf_letter_is_accepted():
    letter = "{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\pard Caf\\'e9 Kreatif \\u8364? 200\\par We object.\\par}"
    refuse_secrets("evidence", letter.encode(), SECRETS)


# --- 4 (MEDIUM): /Predictor 12 with absurd /Columns ---------------------------------------------------------


@pytest.mark.parametrize("columns", [10**12, 300_000_000])
def test_a_png_predictor_with_absurd_columns_is_bounded(columns: int):
    body = zlib.compress(b"\x00" + b"A" * 50)
    doc = whole_pdf(
        [
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>",
            b"<</Length %d/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns %d>>>>\nstream\n" % (len(body), columns)
            + body + b"\nendstream",
        ]
    )  # fmt: skip
    started = time.monotonic()
    try:
        refuse_secrets("evidence", doc, SECRETS)
    except BridgeError:
        pass
    assert time.monotonic() - started < 5


# --- 5 (MEDIUM): verify-dossier and a listed file of any size ------------------------------------------------


def test_verify_dossier_names_a_listed_file_larger_than_any_evidence_unread(tmp_path: Path):
    with Database(tmp_path / "state.db") as db:
        build(tmp_path / "dossier", db)
        assert db.signer is not None
        (tmp_path / "public.pem").write_text(db.signer.public.pem())
    evidence = tmp_path / "dossier" / "evidence" / "01-letterhead-letter.pdf"
    evidence.unlink()
    with evidence.open("wb") as handle:
        handle.truncate(200 << 30)  # sparse: no disk, and minutes of reading
    command = [str(Path(sys.executable).with_name("whmcs-bridge")), "ownership", "verify-dossier"]
    started = time.monotonic()
    done = subprocess.run(
        [*command, str(tmp_path / "dossier"), "--public-key", str(tmp_path / "public.pem")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in said, said
    assert f"evidence/01-letterhead-letter.pdf: larger than {ownership_config.LARGEST_EVIDENCE_MB} MB" in said, said
    assert time.monotonic() - started < 20


def test_the_largest_listed_file_is_the_largest_evidence_the_bridge_accepts():
    assert bounded.LARGEST_LISTED == ownership_config.LARGEST_EVIDENCE_MB * 1048576


def test_a_max_evidence_size_past_what_verify_dossier_reads_is_a_config_error(tmp_path: Path):
    config = write_config(tmp_path)
    with config.open("a") as handle:
        handle.write(f"ownership:\n  max_evidence_mb: {ownership_config.LARGEST_EVIDENCE_MB + 1}\n")
    result = CliRunner().invoke(cli.main, ["--config", str(config), "check"], catch_exceptions=False)
    assert result.exit_code != 0 and "max_evidence_mb" in result.output, result.output


# --- 6 (MEDIUM): charsets Python knows but cannot decode with "replace" ---------------------------------------

TEXT = b"Dear support, please find our objection to the transfer of the domain in this message. Regards, Budi"
HEAD = b"From: budi@kreatifstudio.id\r\nTo: support@host.example\r\n"
CHARSETS = {
    "part-idna": HEAD + b'Subject: objection\r\nContent-Type: text/plain; charset="idna"\r\n\r\n' + TEXT,
    "part-undefined": HEAD + b"Subject: objection\r\nContent-Type: text/plain; charset=undefined\r\n\r\n" + TEXT,
    "subject-idna": HEAD + b"Subject: =?idna?q?objection?=\r\n\r\n" + TEXT,
    "nul-charset": HEAD + b'Subject: objection\r\nContent-Type: text/plain; charset="utf-8\x00"\r\n\r\n' + TEXT,
}


@pytest.mark.parametrize("name", CHARSETS)
def test_a_charset_python_cannot_decode_is_the_one_sentence_refusal(name: str):
    assert "which the bridge cannot read" in refused_secret(CHARSETS[name])


# --- 7 (MEDIUM, LOW): an HTML part not starting with a tag, UTF-16 without BOM, PuTTY and bare DER keys -------


def mail(content_type: str, body: bytes) -> bytes:
    return (
        HEAD + b"Subject: access\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(body)
    )  # fmt: skip


def test_an_html_part_not_starting_with_a_tag_is_read_as_html():
    body = f"Hello,<br>our API: <span>{SECRET[:12]}</span><span>{SECRET[12:]}</span></div>".encode()
    assert "the bridge's secrets" in refused_secret(mail("text/html; charset=utf-8", body))


def test_a_utf16_part_without_byte_order_mark_is_big_endian():
    body = f"Our API access for the migration: {SECRET} regards".encode("utf-16-be")
    assert "the bridge's secrets" in refused_secret(mail("text/plain; charset=utf-16", body))


def test_a_utf16_part_with_a_little_endian_mark_is_still_read():
    body = f"Our API access for the migration: {SECRET} regards".encode("utf-16")  # with its BOM
    assert "the bridge's secrets" in refused_secret(mail("text/plain; charset=utf-16", body))


DER = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
KEYS = {
    "a PuTTY .ppk key": b"PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: rsa-key-20261101\n"
    b"Public-Lines: 1\nAAAAB3NzaC1yc2EAAAADAQABAAABAQCvX1xM0\nPrivate-Lines: 14\n" + base64.encodebytes(DER)[:200],
    "a bare base64 DER key in a .env": b"# server access\nSSH_PRIVATE_KEY=" + base64.b64encode(DER) + b"\n",
    "a bare base64 DER key wrapped": b"key:\n" + base64.encodebytes(DER) + b"\n",
}


@pytest.mark.parametrize("name", KEYS)
def test_a_private_key_in_other_forms_is_refused(name: str):
    assert "private key" in refused_secret(KEYS[name])


def test_base64_that_is_no_key_is_accepted():
    refuse_secrets("evidence", b"photo=" + base64.b64encode(b"\x30\x82\x01\x00" + os.urandom(400)) + b"\n", SECRETS)


# --- 8 (LOW): audit key --new --by a member of ownership.staff ----------------------------------------------


def test_a_new_key_takes_staff_listed_under_ownership(tmp_path: Path):
    config = write_config(tmp_path)
    with config.open("a") as handle:
        handle.write("ownership:\n  staff: [alice, bob]\n")
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "ownership.request_received", case_id="OWN-1", detail={}, at="2026-11-26T10:00:00+00:00")
    (tmp_path / keys.KEY_FILE).unlink()  # lost for good
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--config", str(config), "audit", "key", "--new", "--by", "mallory"])
    assert result.exit_code != 0 and "alice, bob" in result.output, result.output
    result = runner.invoke(
        cli.main, ["--config", str(config), "audit", "key", "--new", "--by", "Alice"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / keys.KEY_FILE).exists()
