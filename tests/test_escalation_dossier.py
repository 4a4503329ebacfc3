"""Issue 15, finding 16: the collections dossier an agency or a court accepts. Seed 001 played day by day
against the sandbox (a partial payment, a broken and a kept promise, a registered letter delivered, a hold,
an approved lock, an approved suspension that never ran because the client paid everything first), the
dossier exported after the payment, then read as a collections agency would: the creditor and the debtor's
legal identity, every invoice with its number, dates, lines, currency, total, paid and balance, the payments,
every notice with its recipient, text and WHMCS proof, promises, holds and staff decisions, only what
happened; sealed and verified by `escalations verify-dossier`, rendered in a real browser."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import RunningSandbox, Sandbox, needs
from tests.test_escalation_e2e import Bridge, configure
from whmcs_bridge.cli import app as cli
from whmcs_bridge.evidence import keys

# Where the browser test leaves its picture of the dossier's first page: the test's own folder, unless
# WHMCS_BRIDGE_SHOTS names one to keep it (for a release note).
SHOTS = os.environ.get("WHMCS_BRIDGE_SHOTS")


def act(sandbox: Sandbox, action: str, **params: Any) -> Any:
    return sandbox.control("act", {"action": action, **params})


def pay(sandbox: Sandbox, invoice: int, amount: str | None = None) -> None:
    extra = {"amount": amount} if amount is not None else {}
    act(
        sandbox,
        "AddInvoicePayment",
        invoiceid=invoice,
        transid=f"BANK-{invoice}-{amount or 'all'}",
        gateway="banktransfer",
        **extra,
    )


class Story:
    """Seed 001 played to the end, and its dossier exported after the client paid everything."""

    def __init__(self, bridge: Bridge, out: Path) -> None:
        self.bridge = bridge
        self.out = out
        self.data: dict[str, Any] = {}
        self.page = ""


def play(bridge: Bridge, out: Path) -> Story:
    sandbox = bridge.sandbox
    bridge.day("2026-11-23T10:00:00Z")  # first reminder
    bridge.day("2026-11-30T10:00:00Z")  # second reminder and a client note
    bridge.day("2026-12-09T10:00:00Z")  # final notice: email, ticket to the client, staff task for the letter
    bridge.run(
        "escalations", "record-letter", "1", "--tracking", "RR123456789NL", "--delivered", "2026-12-11", "--by", "alice"
    )
    # A promise of 200.00 by the 12th; only 100.00 comes (a partial payment on invoice 7): broken.
    at = ("--at", "2026-12-10T10:05:00Z")
    bridge.run("escalations", "promise", "1", "--until", "2026-12-12", "--amount", "200.00", "--by", "alice", *at)
    sandbox.travel("2026-12-11T09:00:00")
    pay(sandbox, 7, "100.00")
    bridge.day("2026-12-11T10:00:00Z")
    bridge.day("2026-12-14T10:00:00Z")
    # A second promise, 49.95 by the 16th, kept by paying invoice 1.
    at = ("--at", "2026-12-14T10:05:00Z")
    bridge.run("escalations", "promise", "1", "--until", "2026-12-16", "--amount", "49.95", "--by", "alice", *at)
    sandbox.travel("2026-12-15T09:00:00")
    pay(sandbox, 1)
    bridge.day("2026-12-15T10:00:00Z")
    # The panel lock, approved by alice and done.
    bridge.day("2026-12-17T10:00:00Z")
    assert bridge.approve_all() == 3
    bridge.day("2026-12-17T10:30:00Z", passes=1)
    assert [m["command"] for m in sandbox.rows("module_commands")] == ["lock_reseller_panel"] * 2
    # Staff hold the ladder over a dispute, then resume it.
    bridge.run("escalations", "hold", "1", "--reason", "client disputes invoice 3 by phone", "--by", "bob")
    bridge.run("escalations", "resume", "1", "--by", "bob")
    # The suspension is approved, but the client pays everything before it runs: it never runs.
    bridge.day("2026-12-22T10:00:00Z")
    assert bridge.approve_all() == 2
    sandbox.travel("2026-12-22T10:10:00")
    for invoice in range(2, 12):
        pay(sandbox, invoice)
    bridge.day("2026-12-22T10:30:00Z", passes=3)
    assert [s["status"] for s in sandbox.rows("services", client_id=1)] == ["Active", "Active"]
    out.mkdir()
    printed = bridge.run("escalations", "export", "1", "--out", str(out)).output
    story = Story(bridge, out)
    story.data = json.loads((out / "collections-dossier.json").read_text())
    story.page = (out / "collections-dossier.html").read_text()
    assert "signed by SHA256:" in printed and "seal" in printed, printed
    return story


@pytest.fixture(scope="module")
def story(running_sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    sandbox = Sandbox(running_sandbox)
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    tmp = tmp_path_factory.mktemp("dossier")
    yield play(Bridge(configure(tmp, sandbox), sandbox), tmp / "dossier")


def text_of(page: str) -> str:
    """The page's words, tags removed (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&amp;", "&")


def test_the_creditor_and_the_debtors_legal_identity(story: Story):
    creditor, debtor = story.data["creditor"], story.data["debtor"]
    assert creditor["name"] == "Example Hosting B.V." and creditor["vat"] == "NL001234567B01", creditor
    assert debtor["company"] == "SnelHost V.O.F." and debtor["contact"] == "Hans Mulder", debtor
    assert debtor["address"] == ["Oudegracht 142", "3511 AZ Utrecht", "NL"], debtor
    assert debtor["registration"] == "KvK 61234567" and debtor["vat"] == "NL859123456B01", debtor
    words = text_of(story.page)
    for expected in ("Example Hosting B.V.", "SnelHost V.O.F.", "Oudegracht 142", "KvK 61234567", "NL859123456B01"):
        assert expected in words, expected


def test_every_invoice_survives_payment_with_number_dates_lines_and_balance(story: Story):
    invoices = story.data["invoices"]
    assert [i["id"] for i in invoices] == list(range(1, 12))  # all paid now, none forgotten
    first = invoices[0]
    assert re.fullmatch(r"\d{4}-1001", first["number"]), first
    assert first["issued"] and first["due"] and first["status"] == "Paid", first
    assert (
        first["currency"] == "EUR"
        and first["total"] == "49.95"
        and first["paid"] == "49.95"
        and first["balance"] == "0.00"
    )
    assert (
        first["lines"]
        and first["lines"][0]["description"].startswith("Reseller Pro (")
        and first["lines"][0]["amount"] == "49.95"
    )
    seventh = invoices[6]
    assert [p["amount"] for p in seventh["payments"]] == ["100.00", "29.00"], (
        seventh
    )  # the partial payment, then the rest
    payments = story.data["payments"]
    assert len(payments) == 12 and {p["reference"] for p in payments} >= {"BANK-7-100.00", "BANK-1-all"}
    words = text_of(story.page)
    assert first["number"] in words and "Reseller Pro (" in words and "€944.70" in words  # the debt at its highest


def test_notices_carry_recipient_full_text_and_whmcs_proof(story: Story):
    notices = story.data["notices"]
    emails = [n for n in notices if n["channel"] == "email"]
    assert emails and all(n["proof"]["email_log_id"] and n["recipient"] and n["sent_at"] for n in emails), emails
    assert all("hans@snelhost.nl" in n["recipient"] for n in emails), emails
    final = next(n for n in emails if n["subject"].startswith("Ingebrekestelling"))
    assert "uiterlijk 16 december 2026" in final["text"] and "944,70" in final["text"], final
    [ticket] = [n for n in notices if n["channel"] == "ticket"]
    assert ticket["proof"]["ticket_id"] and ticket["proof"]["ticket_number"] and ticket["text"], ticket
    [letter] = [n for n in notices if n["channel"] == "registered letter"]
    assert letter["proof"] == {"tracking_number": "RR123456789NL", "delivered": "2026-12-11"}, letter
    words = text_of(story.page)
    assert "uiterlijk 16 december 2026" in words and "RR123456789NL" in words and "2026-12-11" in words


def test_only_what_happened(story: Story):
    """The lock ran (approved by alice); the approved suspension never ran, and says so."""
    measures = {(m["what"], m["service"]): m for m in story.data["measures"]}
    lock = measures[("lock reseller panel", 101)]
    assert lock["done_at"] and lock["approved_by"] == "alice" and lock["outcome"] == "done", lock
    suspension = measures[("suspend", 101)]
    assert suspension["done_at"] is None and suspension["outcome"].startswith("not run"), suspension
    assert suspension["approved_by"] == "alice", suspension
    undone = measures[("unlock reseller panel", 101)]
    assert undone["outcome"] == "done", undone
    words = text_of(story.page)
    assert re.search(r"suspend .{0,80}not run", words), words


def test_promises_holds_and_staff_decisions(story: Story):
    promises = story.data["promises"]
    assert [(p["amount"], p["until"], p["outcome"]) for p in promises] == [
        ("200.00", "2026-12-12", "broken"),
        ("49.95", "2026-12-16", "kept"),
    ], promises
    [hold] = story.data["holds"]
    assert (hold["by"], hold["reason"]) == ("bob", "client disputes invoice 3 by phone") and hold["resumed_by"] == "bob"
    decisions = story.data["staff_decisions"]
    approved = [d for d in decisions if d["decision"] == "approved"]
    assert len(approved) == 5 and all(d["who"] == "alice" and d["at"] for d in approved), decisions
    assert any(d["decision"] == "held the ladder" and d["who"] == "bob" for d in decisions), decisions


def test_no_internal_keys_or_raw_json_in_the_page(story: Story):
    page = story.page
    assert '{"' not in page and "&quot;" not in page and "{'" not in page
    assert "escalation:client" not in page and "[wb-" not in page and "wb-" not in text_of(page)
    assert "outcome_to" not in page and "msg" not in re.findall(r"\w+", text_of(page))


def verify(story: Story, folder: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli.main, ["--config", str(story.bridge.config), "escalations", "verify-dossier", str(folder), *args]
    )


def test_verify_dossier_holds_and_names_a_changed_file(story: Story, tmp_path: Path):
    bridge = story.bridge
    assert "verifies" in bridge.run("escalations", "verify-dossier", str(story.out)).output
    assert "verifies" in bridge.run("escalations", "verify-dossier", str(story.out), "--against-state").output
    assert {"manifest.json", "manifest.sig", "public-key.pem"} <= {p.name for p in story.out.iterdir()}
    copy = tmp_path / "copy"
    shutil.copytree(story.out, copy)
    page = copy / "collections-dossier.html"
    page.write_text(page.read_text().replace("49.95", "4.95", 1))
    changed = verify(story, copy)
    assert changed.exit_code == 1 and "collections-dossier.html: changed" in changed.output, changed.output
    data = copy / "collections-dossier.json"
    page.write_text((story.out / "collections-dossier.html").read_text())
    data.write_text(data.read_text().replace('"49.95"', '"4.95"', 1))
    changed = verify(story, copy)
    assert changed.exit_code == 1 and "collections-dossier.json: changed" in changed.output, changed.output
    # The manifest re-hashed to match the edited file: its signature no longer verifies.
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["collections-dossier.json"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    changed = verify(story, copy)
    assert changed.exit_code == 1 and "changed since it was signed" in changed.output, changed.output


def test_verify_dossier_with_a_public_key_and_against_another_key(story: Story, tmp_path: Path):
    """Offline, with the public key the bridge's operator hands over; a dossier signed by another key fails."""
    ours = tmp_path / "bridge.pem"
    signer = keys.load(story.bridge.config.parent / keys.KEY_FILE)
    assert signer is not None
    ours.write_text(signer.public.pem())
    assert "verifies" in verify(story, story.out, "--public-key", str(ours)).output
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(keys.SigningKey.generate().public.pem())
    refused = verify(story, story.out, "--public-key", str(stranger))
    assert refused.exit_code == 1 and "not with the given key" in refused.output, refused.output
    assert "SnelHost" not in refused.output and "Traceback" not in refused.output


@needs("chromium", "chromedriver", install="apt-get install chromium chromium-driver")
def test_the_dossier_renders_in_a_real_browser(story: Story, tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1800",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get((story.out / "collections-dossier.html").as_uri())
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "SnelHost V.O.F." in body and "Example Hosting B.V." in body and "RR123456789NL" in body
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Collections dossier")
        shots = Path(SHOTS) if SHOTS else tmp_path
        shots.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(shots / "collections-dossier.png"))
    finally:
        driver.quit()


def test_consolidated_invoices_are_listed_once_as_owed(sandbox: Sandbox, tmp_path: Path):
    """Staff replace the 11 invoices by one of their sum: the dossier lists the 11 as cancelled (owed on
    none of them) and the new one, counted from the oldest due date it replaced; 944.70 is owed, not twice."""
    sandbox.load("reseller-overdue", at="2026-11-23T10:00:00")
    bridge = Bridge(configure(tmp_path, sandbox), sandbox)
    bridge.day("2026-11-23T10:00:00Z")
    sandbox.travel("2026-11-24T09:00:00")
    for invoice in range(1, 12):
        act(sandbox, "UpdateInvoice", invoiceid=invoice, status="Cancelled")
    new = act(
        sandbox,
        "CreateInvoice",
        userid=1,
        itemdescription1="Consolidated: 1-11",
        itemamount1="944.70",
        duedate="2026-12-01",
    )
    bridge.day("2026-11-24T10:00:00Z", passes=3)
    bridge.run("escalations", "export", "1", "--out", str(tmp_path / "out"))
    data = json.loads((tmp_path / "out" / "collections-dossier.json").read_text())
    assert data["summary"]["outstanding"] == "944.70", data["summary"]
    by_id = {i["id"]: i for i in data["invoices"]}
    assert [by_id[i]["status"] for i in range(1, 12)] == ["Cancelled"] * 11
    assert all(by_id[i]["owed"] == "0.00" for i in range(1, 12))
    consolidated = by_id[int(new["invoiceid"])]
    assert (
        consolidated["balance"] == consolidated["owed"] == "944.70" and consolidated["counted_from"] == by_id[1]["due"]
    )
    page = (tmp_path / "out" / "collections-dossier.html").read_text()
    assert "counted from" in page and "Cancelled" in page


def test_the_page_escapes_what_whmcs_and_staff_wrote(story: Story, tmp_path: Path):
    """A company name, a hold reason or an invoice line with markup is shown as text, never run."""
    data = json.loads(json.dumps(story.data))
    data["debtor"]["company"] = "<script>alert(1)</script>"
    data["holds"][0]["reason"] = "<img src=x onerror=alert(1)>"
    data["invoices"][0]["lines"][0]["description"] = "</td><b>x</b>"
    from whmcs_bridge.families.escalation.dossier_page import render_html

    page = render_html(data)
    assert "<script>" not in page and "<img" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;" in page


def test_export_refuses_with_a_sentence(story: Story):
    def export(*args: str) -> Any:
        return CliRunner().invoke(cli.main, ["--config", str(story.bridge.config), "escalations", "export", *args])

    taken = export("1", "--out", str(story.out))
    assert taken.exit_code == 1 and "not an empty folder" in taken.output and "Traceback" not in taken.output
    unknown = export("99", "--out", str(story.out.parent / "none"))
    assert unknown.exit_code == 2 and "client 99 has no escalation case" in unknown.output
    assert export("1").exit_code == 2  # --out is required
