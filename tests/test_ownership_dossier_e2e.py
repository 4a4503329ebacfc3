"""A real case's dossier through the command line (seed 000's documented case against the sandbox):
exported signed, private (0700/0600), anchored in WHMCS's activity log, verified offline with only the
public key `audit key` prints, and its PDF copy's first page turned into a picture and looked at.

Set WHMCS_BRIDGE_SHOTS=DIR to keep the first page, as the browser shows summary.html and as the PDF
prints it, in DIR/ownership-dossier-{html,pdf}.png."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from click.testing import CliRunner
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from tests.conftest import Sandbox, needs, sql
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.evidence import anchor, folder
from whmcs_bridge.store.db import Database

pytestmark = needs("chromium", "chromedriver", install="apt-get install chromium chromium-driver")
SHOTS = os.environ.get("WHMCS_BRIDGE_SHOTS")


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def offline(*args: str) -> tuple[int, str]:
    """The command line with no configuration at all: a lawyer's machine."""
    result = CliRunner().invoke(cli.main, ["--config", "/nonexistent/none.yaml", *args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of these pixels (rows top to bottom)."""
    raw = b"".join(b"\x00" + rgb[y * width * 3 : (y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def first_page_picture(pdf: Path) -> tuple[int, int, bytes, str]:
    """The PDF's first page rendered to RGB pixels (pdfium), and the text pdfium reads on it."""
    document = pypdfium2.PdfDocument(str(pdf))
    page = document[0]
    bitmap = page.render(scale=1.5, rev_byteorder=True)  # RGB(A) in reading order
    width, height, stride, channels = bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
    data = bytes(bitmap.buffer)
    rgb = b"".join(
        bytes(data[y * stride + x * channels : y * stride + x * channels + 3])
        for y in range(height)
        for x in range(width)
    )
    text = page.get_textpage().get_text_range()
    document.close()
    return width, height, rgb, text


def test_a_documented_case_exported_signed_and_checked_offline_with_its_pdf(world: World, tmp_path: Path):
    case_id = open_and_document(world, "domain:20", "service:201")
    out = tmp_path / "dossier"
    exported = world.run("ownership", "export", case_id, "--out", str(out)).output
    assert f"dossier of case {case_id} written to {out}" in exported and "signed with SHA256:" in exported

    # Private: the folder 0700, every file 0600 (the evidence is 0400 in the store).
    assert folder.private_mode_problems(out) == []
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names[:4] == [
        "audit.jsonl",
        "evidence/01-letterhead-letter.pdf",
        "evidence/02-registry-extract.pdf",
        "evidence/03-signatory-id.png",
    ]
    assert {"manifest.json", "manifest.sig", "public-key.pem", "summary.html", "summary.pdf"} <= set(names)

    # Anchored: after the requester's answer (a decision) by a pass, and the head by the export; the
    # closing checkpoint is the activity-log line WHMCS now holds.
    manifest = json.loads((out / "manifest.json").read_text())
    anchors, closing = manifest["audit"]["anchors"], manifest["audit"]["closing"]
    lines = [r for r in world.sandbox.rows("activity") if str(r["description"]).startswith(anchor.PREFIX)]
    assert closing["anchor_id"] in anchors and sorted(r["id"] for r in lines) == anchors
    [line] = [r for r in lines if r["id"] == closing["anchor_id"]]
    assert closing["hash"] in line["description"] and f"{closing['count']} rows" in line["description"]
    assert f"WHMCS anchor(s) {', '.join(map(str, anchors))}" in exported
    assert f"matching {len(lines)} anchor(s)" in world.run("audit", "verify", "--against-whmcs").output

    # Offline, with the public key alone (printed by `audit key`, handed over on its own).
    key_file = tmp_path / "bridge-key.pem"
    printed = world.run("audit", "key", "--out", str(key_file)).output
    assert printed.startswith("-----BEGIN PUBLIC KEY-----") and manifest["signed_by"]["fingerprint"] in printed
    code, said = offline("ownership", "verify-dossier", str(out), "--public-key", str(key_file))
    assert code == 0, said
    assert f"dossier of case {case_id} verifies with {manifest['signed_by']['fingerprint']}" in said
    code, said = offline("ownership", "verify-dossier", str(out))
    # No key given and no configuration to find one by: the command says to give the key, not to configure.
    assert code == 2 and "give the bridge's public key with --public-key FILE" in said, said

    # A forger's edit, named by the command.
    (out / "evidence" / "02-registry-extract.pdf").write_bytes(b"%PDF-1.4 forged")
    code, said = offline("ownership", "verify-dossier", str(out), "--public-key", str(key_file))
    assert code == 1 and "evidence/02-registry-extract.pdf: changed (SHA-256" in said

    # The PDF copy: the same page, printed; its first page as a picture carries the case and ink.
    width, height, rgb, text = first_page_picture(out / "summary.pdf")
    assert f"Ownership case {case_id}" in text and "PT Maju Makmur" in text
    dark = sum(1 for i in range(0, len(rgb), 3) if rgb[i] + rgb[i + 1] + rgb[i + 2] < 300)
    assert width < height and 0 < dark < width * height // 4  # a portrait page with text on white
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / "ownership-dossier-pdf.png").write_bytes(png(width, height, rgb))
        shutil.copy(out / "summary.html", tmp_path / "page.html")
        options = Options()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1100,1400",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(
            service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
        )
        try:
            driver.get((tmp_path / "page.html").as_uri())
            assert f"Ownership case {case_id}" in driver.title
            driver.save_screenshot(str(Path(SHOTS) / "ownership-dossier-html.png"))
        finally:
            driver.quit()


CASE_STATE = "SELECT state FROM family_state WHERE family = 'ownership' AND key = ?"
SET_CASE_STATE = "UPDATE family_state SET state = ? WHERE family = 'ownership' AND key = ?"


def edit_case(world: World, case_id: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The case's JSON edited in the SQLite file, as someone with the database but not the key would; the
    state as it was is returned, to put back."""
    with Database(world.tmp / "state.db", signing=False) as db:
        [row] = sql(db, CASE_STATE, f"case:{case_id}")
        case = json.loads(row["state"])
        change(case)
        sql(db, SET_CASE_STATE, json.dumps(case, sort_keys=True), f"case:{case_id}")
    return str(row["state"])


def put_back(world: World, case_id: str, state: str) -> None:
    with Database(world.tmp / "state.db", signing=False) as db:
        sql(db, SET_CASE_STATE, state, f"case:{case_id}")


def test_an_export_from_a_case_state_edited_in_the_database_is_refused(world: World, tmp_path: Path):
    """From the issue-17 hostile test (H3): the case's JSON edited directly in the SQLite file (who approved,
    what was answered) was exported into a dossier that verified: the case state lies outside the keyed audit
    chain. Each fact the dossier states (approvals with the staff member and system user, answers recorded by
    staff, the evidence checks, the timeline's staff steps, the answers through links) is checked against the
    case's audit rows at export: an edited one refuses in one sentence naming it, and nothing is written."""
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "carol", "--note", "agreed on the phone",
    )
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.settle()

    def bob_approved(case: dict[str, Any]) -> None:
        case["approvals"][0].update(by="bob", os_user="bob-login")

    def objected(case: dict[str, Any]) -> None:
        case["recorded_answers"][0]["answer"] = "object"

    def timeline(case: dict[str, Any]) -> None:
        [approval] = [h for h in case["history"] if h["what"] == "approval"]
        approval["by"] = "bob"

    def checked_by_bob(case: dict[str, Any]) -> None:
        case["evidence"][0]["checks"][0]["by"] = "bob"

    def browser(case: dict[str, Any]) -> None:
        case["answers"][0]["user_agent"] = "the requester's office browser"

    for change, named in (
        (browser, "the requester's answer of"),
        (bob_approved, "the approval by bob"),
        (checked_by_bob, "the check of evidence item 1 by bob"),
        (objected, "the holder's answer recorded by carol"),
        (timeline, "the timeline's step 'approval' by bob"),
    ):
        state = edit_case(world, case_id, change)
        out = tmp_path / f"dossier-{change.__name__}"
        refused = world.fail("ownership", "export", case_id, "--out", str(out))
        said = f"case {case_id} cannot be exported: its state in the database was edited outside the bridge ({named}"
        assert said in refused and "audit chain" in refused, refused
        assert len(refused.strip().splitlines()) == 1 and not out.exists(), refused
        put_back(world, case_id, state)

    out = tmp_path / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    assert "verifies" in world.run("ownership", "verify-dossier", str(out), "--against-state").output
