"""Ownership cases end to end (seed 000): the vendor-dispute scenario, the real receiver serving the
one-time links, the bridge's passes, staff's move in the sandbox, the dossier and its verification."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import BridgeWorld, Sandbox, staff_login
from tests.test_daemon import Running, configure, free_port, wait_until
from whmcs_bridge.cli import app as cli
from whmcs_bridge.executor.call import Call
from whmcs_bridge.executor.kinds import action_kind
from whmcs_bridge.sandbox.documents import text_pdf
from whmcs_bridge.whmcs.api import WhmcsApi

ROOT = Path(__file__).resolve().parents[1]
# A whole one-pixel PNG (signature, IHDR, IDAT, IEND): the smallest image evidence accepts.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = text_pdf(["contract between PT Maju Makmur and Kreatif Studio"])


def ownership_section() -> str:
    """The shared `staff:` list and the `ownership:` block of config.example.yaml, so the shipped staff and
    policies are the ones tested."""
    text = (ROOT / "config.example.yaml").read_text()
    return text[text.index("\n# Who may decide:") + 1 :]


class World(BridgeWorld):
    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        super().__init__(sandbox, tmp, "delegation:\n  enabled: true\n" + ownership_section())
        self.tmp = tmp

    def fail(self, *args: str) -> str:
        result = CliRunner().invoke(
            cli.main, ["--config", str(self.config), *args], catch_exceptions=False, env=staff_login(args)
        )
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
        return result.output

    def later(self, **delta: float) -> None:
        """A pass of the bridge at a moment after now (deadlines, checks)."""
        moment = datetime.now(UTC) + timedelta(**delta)
        self.sandbox.control("hooks")
        for _ in range(3):
            self.run("tick", "--at", moment.isoformat(timespec="seconds"))

    def link(self, client: int, subject_part: str) -> str:
        mail = [e for e in self.emails(client) if subject_part in e["subject"]][-1]
        found = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
        assert found, mail["message"]
        return found.group(1)

    def case(self, case_id: str) -> dict[str, Any]:
        found: dict[str, Any] = next(
            c for c in json.loads(self.run("ownership", "list", "--json").output) if c["id"] == case_id
        )
        return found

    def file(self, name: str, data: bytes) -> str:
        path = self.tmp / name
        path.write_bytes(data)
        return str(path)


def vendor_world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """Seed 000's world (the vendor-dispute scenario) after the bridge's first pass; the ownership e2e files'
    `world` fixture."""
    sandbox.load("vendor-dispute")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def open_and_document(world: World, *subjects: str, confirmed_by_phone: bool = False) -> str:
    """Open the company's case, confirm it as the requester (through its link, or staff record a call and the
    link stays unused), attach and check every document."""
    subject_args = [a for s in subjects for a in ("--subject", s)]
    out = world.run(
        "ownership", "open", *subject_args, "--requester", "client:21", "--grounds", "vendor", "--by", "alice"
    ).output
    case_id = out.split()[0]
    assert "collecting" in out and "letterhead-letter (not received)" in out
    world.settle()
    if confirmed_by_phone:
        world.run(
            "ownership", "record-answer", case_id, "--party", "requester", "--answer", "consent", "--via", "phone",
            "--by", "alice", "--note", "a caller for the company confirmed",
        )  # fmt: skip
    else:
        answer = requests.post(world.link(21, "Ownership request"), data={"decision": "accept"}, timeout=5)
        assert answer.status_code == 200 and "Yes, I made this request" in answer.text
    world.settle()
    today = datetime.now(UTC).date().isoformat()
    world.run(
        "ownership",
        "attach",
        case_id,
        "--ticket",
        "1",
        "--kind",
        "letterhead-letter",
        "--from",
        "requester",
        "--via",
        "ticket",
        "--by",
        "alice",
    )
    world.run(
        "ownership",
        "attach",
        case_id,
        world.file("ahu.pdf", PDF + b"registry"),
        "--kind",
        "registry-extract",
        "--from",
        "requester",
        "--via",
        "email",
        "--dated",
        today,
        "--by",
        "alice",
    )
    world.run(
        "ownership",
        "attach",
        case_id,
        world.file("ktp.png", PNG),
        "--kind",
        "signatory-id",
        "--from",
        "requester",
        "--via",
        "upload",
        "--by",
        "alice",
    )
    if "service:201" in subjects:
        world.run(
            "ownership",
            "attach",
            case_id,
            world.file("contract.pdf", PDF),
            "--kind",
            "vendor-contract",
            "--from",
            "requester",
            "--via",
            "post",
            "--by",
            "alice",
        )
    items = len(world.case(case_id)["evidence"])
    for item in range(1, items + 1):
        world.run("ownership", "check-evidence", case_id, str(item), "--ok", "--by", "alice", "--note", "original seen")
    assert world.case(case_id)["status"] == "notified"
    world.settle()
    return case_id


def test_seed_000_consent_approval_move_and_dossier(world: World, tmp_path: Path):
    sandbox = world.sandbox
    # Before the case, the vendor had let the company see the hosting: that grant ends with the move.
    grant = world.run(
        "delegations",
        "grant",
        "--owner",
        "20",
        "--delegate",
        "21",
        "--service",
        "201",
        "--by",
        "alice",
        "--basis",
        "vendor's ticket",
    ).output.split()[0]
    case_id = open_and_document(world, "domain:20", "service:201")
    case = world.case(case_id)
    assert {s["policy"] for s in case["subjects"]} == {"company-brand-domain", "vendor-hosting"}
    assert case["subjects"][0]["registrant_before"]["Organisation_Name"] == "Kreatif Studio"

    # The vendor (client 20) is asked through a one-time link, by email, with a ticket thread.
    link = world.link(20, "Ownership request")
    shown = requests.get(link, timeout=5)
    assert shown.status_code == 200 and "I consent" in shown.text and "I object" in shown.text
    assert any(t["subject"].startswith(f"Ownership case {case_id}") for t in sandbox.rows("tickets", client_id=20))
    done = requests.post(
        link,
        data={"decision": "accept", "reason": "they paid for it"},
        headers={"User-Agent": "Chromium/156"},
        timeout=5,
    )
    assert done.status_code == 200 and "I consent" in done.text
    assert requests.post(link, data={"decision": "decline"}, timeout=5).status_code == 410
    world.settle()
    case = world.case(case_id)
    assert case["status"] == "review" and [s["hand_over"] for s in case["subjects"]] == ["move", "move"]
    assert any(t["subject"] == f"Review ownership case {case_id}" for t in sandbox.rows("tickets"))

    # Two distinct staff approvals (the hosting policy asks for two); the same person twice is refused.
    world.run("ownership", "approve", case_id, "--by", "alice", "--note", "documents in order")
    assert "another member of staff" in world.fail("ownership", "approve", case_id, "--by", "alice")
    before = json.loads(sandbox.rows("domains", id=20)[0]["whois"])["Registrant"]
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    # Every field the registrant block had is still there, with the new holder's details in place.
    whois = json.loads(sandbox.rows("domains", id=20)[0]["whois"])["Registrant"]
    assert list(whois) == list(before) and len(before) == 12
    assert whois == {
        **before,
        "First_Name": "Siti",
        "Last_Name": "Rahmawati",
        "Organisation_Name": "PT Maju Makmur",
        "Email": "siti.rahmawati@majumakmur.co.id",
        "Address_1": "Jl. Jenderal Sudirman 45",
        "Address_2": "",
        "City": "Jakarta",
        "State": "DKI Jakarta",
        "Postcode": "10210",
        "Phone": "+62.215550199",
        "Job_Title": "",  # the vendor's "Owner" is not the company's contact's title
    }
    assert before["Job_Title"] == "Owner"
    # The registrar's transfer lock is on; the hosting's password waits until the service is the company's.
    assert sandbox.rows("domains", id=20)[0]["locked"] == 1
    assert not [c for c in sandbox.calls() if c["action"] == "ModuleChangePw"]
    checklist = next(t for t in sandbox.rows("tickets") if t["subject"].endswith("execute the hand-over"))
    message = sandbox.rows("ticket_replies", ticket_id=checklist["id"])[0]["message"]
    assert "Move service #201" in message and "Move domain #20" in message and "commission" in message
    assert "confirm the change of registrant" in message and "transfer lock" in message
    # Seventeenth round M1: the Admin, Tech and Billing contacts still name the vendor; staff are told.
    assert "Admin, Tech and Billing contacts are not changed" in message, message
    assert f"{grant} revoked" in world.run("delegations", "list", "--owner", "20").output

    # Nothing moved yet: a check finds the subjects still with the vendor; staff then move them.
    world.later(hours=2)
    assert world.case(case_id)["status"] == "executing"
    sandbox.control("move", {"service": 201, "client": 21})
    sandbox.control("move", {"domain": 20, "client": 21})
    world.later(hours=4)
    # Seen moved, the hosting gets its new password first; WHMCS read again after it, the case completes.
    assert world.case(case_id)["status"] == "executing"
    world.later(hours=4, minutes=1)
    case = world.case(case_id)
    assert case["status"] == "completed" and case["lock_until"] > (datetime.now(UTC) + timedelta(days=59)).isoformat()
    assert any("completed" in e["subject"] for e in world.emails(21))
    # Now the company's: a new password, and WHMCS's own welcome email with it to the company, not the vendor.
    world.settle()
    assert [c["action"] for c in sandbox.calls() if c["action"] == "ModuleChangePw"] == ["ModuleChangePw"]
    welcome = [c for c in sandbox.calls() if c["action"] == "SendEmail" and c["params"].get("messagename")]
    assert [(c["params"]["messagename"], c["params"]["id"]) for c in welcome] == [
        ("Hosting Account Welcome Email", "201")
    ]
    assert [e for e in world.emails(21) if e["subject"] == "New Account Information"]  # the template's subject
    assert not [e for e in world.emails(20) if e["subject"] == "New Account Information"]
    assert case["subjects"][0]["transfer_lock"] == "on"

    # Locked: no new case and no new delegation on the subjects.
    refused = world.fail(
        "ownership",
        "open",
        "--subject",
        "service:201",
        "--requester",
        "client:20",
        "--grounds",
        "vendor",
        "--by",
        "carol",
    )
    assert f"ownership case {case_id} completed" in refused and "locked until" in refused

    # The dossier: written, verified (alone and against the live chain), and any change is named.
    out = tmp_path / "dossier"
    world.run("ownership", "export", case_id, "--out", str(out))
    summary = (out / "summary.html").read_text()
    assert "PT Maju Makmur" in summary and "Chromium/156" in summary and "Move service #201" in summary
    # Readable: the registrant before the change as fields, not a JSON blob; instants in words.
    assert "Organisation Name: Kreatif Studio" in summary and '"Organisation_Name"' not in summary
    assert datetime.now(UTC).strftime("%b %Y") in summary
    assert "verifies" in world.run("ownership", "verify-dossier", str(out), "--against-state").output
    evidence = sorted((out / "evidence").iterdir())
    assert len(evidence) == 4 and evidence[0].name == "01-letterhead-letter.pdf"
    assert evidence[0].read_bytes().startswith(b"%PDF")

    original = evidence[1].read_bytes()
    evidence[1].write_bytes(original + b" ")
    assert f"evidence/{evidence[1].name}: changed" in world.fail("ownership", "verify-dossier", str(out))
    evidence[1].write_bytes(original)

    manifest_path = out / "manifest.json"
    manifest_text = manifest_path.read_text()
    manifest = json.loads(manifest_text)
    manifest["case"]["answers"][-1]["ip"] = "203.0.113.9"
    manifest_path.write_text(json.dumps(manifest))
    failed = world.fail("ownership", "verify-dossier", str(out))
    assert "manifest.json: changed since it was signed" in failed and "holder's answer" in failed
    manifest_path.write_text(manifest_text)
    assert "verifies" in world.run("ownership", "verify-dossier", str(out)).output


def test_objection_freezes_the_case_until_a_court_order(world: World):
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    answer = requests.post(link, data={"decision": "decline", "reason": "unpaid invoices for the site"}, timeout=5)
    assert answer.status_code == 200 and "I object" in answer.text
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    assert any("holder objected" in e["subject"] for e in world.emails(21))

    # Frozen: no approval, no other case, no new delegation on the domain.
    assert "only a case under review" in world.fail("ownership", "approve", case_id, "--by", "alice")
    refused = world.fail(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "brand", "--by", "alice"
    )
    assert "disputed" in refused
    refused = world.fail(
        "delegations", "grant", "--owner", "20", "--delegate", "21", "--domain", "20", "--by", "alice", "--basis", "x"
    )
    assert f"ownership case {case_id} on it is disputed" in refused

    # A court order decides: it must be attached and checked first.
    assert "attach the court order" in world.fail(
        "ownership", "resolve", case_id, "--outcome", "court-order", "--by", "alice"
    )
    world.run(
        "ownership",
        "attach",
        case_id,
        world.file("putusan.pdf", PDF + b"court"),
        "--kind",
        "court-order",
        "--from",
        "requester",
        "--via",
        "post",
        "--by",
        "alice",
    )
    world.run("ownership", "check-evidence", case_id, "4", "--ok", "--by", "alice")
    world.run(
        "ownership", "resolve", case_id, "--outcome", "court-order", "--by", "alice", "--note", "PN Jakarta ruling"
    )
    case = world.case(case_id)
    assert case["status"] == "review" and case["subjects"][0]["hand_over"] == "move"


def test_window_without_answer_goes_to_review_and_the_reminder_comes_first(world: World):
    case_id = open_and_document(world, "domain:20")
    deadline = datetime.fromisoformat(world.case(case_id)["deadline"]).astimezone()  # the config has no timezone:
    shown = re.search(r"holder notified by bridge: answer by (.*)", world.run("ownership", "show", case_id).output)
    assert shown and shown.group(1) == f"{deadline.day} {deadline:%b %Y, %H:%M}", shown  # the machine's, not UTC
    world.later(days=12)  # three days before the 14-day deadline: a reminder with a fresh link
    assert world.case(case_id)["status"] == "notified"
    assert any(e["subject"].startswith("Reminder: ownership request") for e in world.emails(20))
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and case["subjects"][0]["hand_over"] == "move"


def test_hosting_without_vendor_consent_is_a_backup_only_hand_over(world: World):
    case_id = open_and_document(world, "service:201")
    world.later(days=15)
    case = world.case(case_id)
    assert case["status"] == "review" and case["subjects"][0]["hand_over"] == "backup-only"
    world.run("ownership", "approve", case_id, "--by", "alice")
    world.run("ownership", "approve", case_id, "--by", "bob")
    world.settle()
    assert not [c for c in world.sandbox.calls() if c["action"] == "ModuleChangePw"]  # nothing moves
    show = world.run("ownership", "show", case_id).output
    assert "Send client #21" not in show and "backup of the site data of majumakmur.co.id" in show
    world.run("ownership", "complete", case_id, "--by", "alice", "--note", "backup sent by download link")
    assert world.case(case_id)["status"] == "completed"


def test_a_ticket_asking_for_full_access_opens_a_draft(world: World):
    sandbox = world.sandbox
    sandbox.control(
        "act",
        {
            "action": "OpenTicket",
            "clientid": 21,
            "deptid": 1,
            "subject": "We want full access to majumakmur.co.id",
            "message": "Our vendor registered majumakmur.co.id; please give us full control.",
        },
    )
    world.settle(4)
    drafts = json.loads(world.run("ownership", "list", "--json").output)
    assert [(d["status"], d["holder"]["client"], d["requester"]["client"]) for d in drafts] == [("draft", 20, 21)]
    assert sorted(f"{s['kind']}:{s['id']}" for s in drafts[0]["subjects"]) == ["domain:20", "service:201"]
    draft = drafts[0]["id"]
    note = [n for n in sandbox.rows("ticket_notes") if draft in n["message"]]
    assert note, "staff see the draft on the ticket"
    assert "held by Kreatif Studio (#20)" in note[0]["message"] and "client #20" not in note[0]["message"]
    out = world.run("ownership", "confirm", draft, "--grounds", "brand", "--by", "alice").output
    assert f"{draft} collecting" in out


def test_bad_input_is_a_clear_error(world: World):
    assert "service:ID, domain:ID or client:ID" in world.fail(
        "ownership", "open", "--subject", "svc:1", "--requester", "client:21", "--grounds", "vendor", "--by", "alice"
    )
    assert "does not exist in WHMCS" in world.fail(
        "ownership",
        "open",
        "--subject",
        "service:999",
        "--requester",
        "client:21",
        "--grounds",
        "vendor",
        "--by",
        "alice",
    )
    assert "Company name, contact@email" in world.fail(
        "ownership", "open", "--subject", "domain:20", "--requester", "PT X", "--grounds", "vendor", "--by", "alice"
    )
    assert "there is no ownership case" in world.fail("ownership", "approve", "onope", "--by", "alice")
    case_id = world.run(
        "ownership",
        "open",
        "--subject",
        "domain:20",
        "--requester",
        "PT Maju Makmur, legal@majumakmur.co.id",
        "--grounds",
        "brand",
        "--by",
        "alice",
    ).output.split()[0]
    exe = world.file("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
    assert "unrecognised type" in world.fail(
        "ownership", "attach", case_id, exe, "--kind", "other", "--from", "x", "--via", "upload", "--by", "alice"
    )
    # From the third issue-17 break test: a 3-byte file was taken as a registry extract.
    tiny = world.file("extract.pdf", b"abc")
    refused = world.fail(
        "ownership", "attach", case_id, tiny, "--kind", "registry-extract", "--from", "requester", "--via", "email",
        "--by", "alice",
    )  # fmt: skip
    assert "the file is 3 bytes: too small to be a document (at least 64 bytes); attach the whole document" in refused
    # Eighth break round, H3: a link to the signing key, the .env, a device and a FIFO were attached (the key and the
    # API secret then left in the dossier) or hung the command.
    attach = ("--kind", "other", "--from", "requester", "--via", "email", "--by", "alice")
    key = world.config.parent / "signing-key.pem"
    (world.config.parent / "notes.txt").symlink_to(key)
    assert "is a symbolic link: give the file itself" in world.fail(
        "ownership", "attach", case_id, str(world.config.parent / "notes.txt"), *attach
    )
    assert "is the bridge's own file" in world.fail(
        "ownership", "attach", case_id, str(world.config.parent / ".env"), *attach
    )
    assert "is the bridge's own file" in world.fail("ownership", "attach", case_id, str(key), *attach)
    assert "not a regular file" in world.fail("ownership", "attach", case_id, "/dev/zero", *attach)
    os.mkfifo(world.config.parent / "pipe")
    assert "not a regular file" in world.fail(
        "ownership", "attach", case_id, str(world.config.parent / "pipe"), *attach
    )
    assert "is the bridge's own file" in world.fail(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--evidence", str(key), "--by", "alice", "--note", "call",
    )  # fmt: skip
    assert not world.case(case_id)["evidence"]
    world.settle()
    # The outside requester has no account: its notices and link travel in a ticket thread to its address.
    thread = next(t for t in world.sandbox.rows("tickets") if t["email"] == "legal@majumakmur.co.id")
    assert "/consent/" in world.sandbox.rows("ticket_replies", ticket_id=thread["id"])[0]["message"]


def test_objection_path_through_the_running_daemon(sandbox: Sandbox, tmp_path: Path):
    """The real daemon as a subprocess serves the links and acts; staff use the command line beside it."""
    sandbox.load("vendor-dispute")
    port = free_port()
    config = configure(tmp_path, sandbox, port, extra="poll:\n  every: 1s\n" + ownership_section())
    config.write_text(
        config.read_text().replace("receiver:\n", f"receiver:\n  public_url: http://127.0.0.1:{port}\n", 1)
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli.main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def link(client: int) -> str | None:
        mails = [e for e in sandbox.rows("emails", client_id=client) if "/consent/" in e["message"]]
        found = re.search(r'href="([^"]+)"', mails[-1]["message"]) if mails else None
        return found.group(1) if found else None

    daemon = Running(config, port)
    try:
        case_id = run(
            "ownership",
            "open",
            "--subject",
            "domain:20",
            "--requester",
            "client:21",
            "--grounds",
            "brand",
            "--by",
            "alice",
        ).split()[0]
        wait_until(lambda: link(21) is not None)
        assert requests.post(str(link(21)), data={"decision": "accept"}, timeout=5).status_code == 200
        for name, data, kind in (
            ("l.pdf", PDF, "letterhead-letter"),
            ("r.pdf", PDF + b"r", "registry-extract"),
            ("id.png", PNG, "signatory-id"),
        ):
            (tmp_path / name).write_bytes(data)
            today = datetime.now(UTC).date().isoformat()
            run(
                "ownership",
                "attach",
                case_id,
                str(tmp_path / name),
                "--kind",
                kind,
                "--from",
                "requester",
                "--via",
                "email",
                "--dated",
                today,
                "--by",
                "alice",
            )
        for item in ("1", "2", "3"):
            run("ownership", "check-evidence", case_id, item, "--ok", "--by", "alice")
        wait_until(lambda: link(20) is not None)
        assert (
            requests.post(str(link(20)), data={"decision": "decline", "reason": "not paid"}, timeout=5).status_code
            == 200
        )
        wait_until(lambda: any("holder objected" in e["subject"] for e in sandbox.rows("emails", client_id=21)))
        assert f"{case_id} disputed" in run("ownership", "list")
    finally:
        code, err = daemon.stop()
    assert code == 0, err


def test_owners_are_read_with_their_whmcs_email_for_an_outside_requester(sandbox: Sandbox, api: WhmcsApi):
    """Issue-17 break test H2: an outside requester is recognised by its address, so a subject that moved is
    read with the email of the client it went to (GetClientsDetails)."""
    sandbox.load("vendor-dispute")
    sandbox.control("move", {"service": 201, "client": 21})
    params = {
        "subjects": [{"kind": "service", "id": 201}, {"kind": "domain", "id": 20}],
        "report": {"case": "o1"},
        "owner_emails": True,
    }
    kind, data = action_kind("read_owners").run(Call(api, params, "k", 20))["feed"]
    assert kind == "OwnershipOwners" and data["owners"] == {"service:201": 21, "domain:20": 20}
    emails = {str(r["id"]): r["email"] for r in sandbox.rows("clients") if r["id"] in (20, 21)}
    # (with each such client's users, `ID:users`: round 26's HIGH 5)
    assert {k: v for k, v in data["emails"].items() if ":" not in k} == emails and all(emails.values())
    _, plain = action_kind("read_owners").run(Call(api, {**params, "owner_emails": False}, "k", 20))["feed"]
    assert "emails" not in plain
