"""Issue 17, eleventh break round: HIGH 2 (a database restored behind WHMCS's anchors: a staff command said
"error" and yet took effect, and the lost objection let the move run) and MEDIUM 2 (the bridge's secrets
attached as evidence under another name, and exported in the dossier)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import SECRET, WEBHOOK_SECRET, Sandbox, staff_login
from tests.test_ownership_e2e import PDF, World, open_and_document, vendor_world
from whmcs_bridge.cli import app as cli
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

ROLLED_BACK = "WHMCS's activity log holds an anchor of this audit chain that this database does not reach"


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli.main, ["--config", str(world.config), *args], catch_exceptions=False, env=staff_login(args)
    )
    return result.exit_code, result.stdout + result.stderr


def head(state: Path) -> tuple[int, str] | None:
    with Database(state, migrate=False) as db:
        return audit.head(db)


def restore(tmp_path: Path, backup: Path) -> None:
    """As README's "Backup and restore" says: the copy in the state's place, the old WAL removed."""
    for part in ("state.db-wal", "state.db-shm"):
        (tmp_path / part).unlink(missing_ok=True)
    backup.replace(tmp_path / "state.db")


def test_a_restore_behind_whmcs_anchors_refuses_every_staff_command_before_it_writes(world: World, tmp_path: Path):
    """The holder consented by phone (review), a backup, then its objection through the link (disputed,
    anchored in WHMCS); the backup restored. Each state-changing command refuses with the daemon's sentence
    (exit 3) and changes nothing: no audit row, no approval, no WHMCS write. Once staff acknowledge the
    rollback, they are told which cases to re-check, and the case's dossier says its state was restored."""
    sandbox = world.sandbox
    state = tmp_path / "state.db"
    case_id = open_and_document(world, "domain:20")
    world.run(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "phone",
        "--by", "alice", "--note", "the vendor called",
    )  # fmt: skip
    assert world.case(case_id)["status"] == "review"
    world.run("backup", str(tmp_path / "older.db"))
    objected = requests.post(
        world.link(20, "Ownership request"), data={"decision": "decline", "reason": "WE OBJECT"}, timeout=5
    )
    assert objected.status_code == 200
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    restore(tmp_path, tmp_path / "older.db")
    assert world.case(case_id)["status"] == "review"  # the objection is lost here; WHMCS's anchors know
    before = head(state)
    letter = world.file("letter.pdf", PDF + b"holder's letter")

    for command in (
        ("ownership", "approve", case_id, "--by", "carol"),
        ("ownership", "cancel", case_id, "--by", "alice"),
        ("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
         "--by", "alice"),
        ("ownership", "attach", case_id, letter, "--kind", "other", "--from", "holder", "--via", "email",
         "--by", "alice"),
        ("ownership", "export", case_id, "--out", str(tmp_path / "early")),
        ("delegations", "grant", "--owner", "20", "--delegate", "21", "--service", "201", "--by", "alice",
         "--basis", "vendor's ticket"),
        ("approvals", "reject", "1", "--by", "alice", "--reason", "not now"),
    ):  # fmt: skip
        code, out = invoke(world, *command)
        assert code == 3 and ROLLED_BACK in out and "Traceback" not in out, (command, out)
        assert out.count("error:") == 1, out
    assert head(state) == before
    case = world.case(case_id)
    assert case["status"] == "review" and not case.get("approvals") and len(case["evidence"]) == 3
    assert not (tmp_path / "early").exists()
    assert not [c for c in sandbox.calls() if c["action"].startswith("DomainUpdate")]

    code, out = invoke(world, "audit", "acknowledge-rollback", "--by", "alice", "--note", "looked")
    assert code == 0 and "rollback acknowledged" in out, out
    assert f"{case_id} (review)" in out and "re-check" in out, out

    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "the holder objects, as WHMCS shows")
    world.run("ownership", "export", case_id, "--out", str(tmp_path / "dossier"))
    summary = (tmp_path / "dossier" / "summary.html").read_text()
    assert "restored from a backup" in summary and "acknowledged by alice" in summary, summary


def test_the_bridges_secrets_are_never_evidence(world: World, tmp_path: Path):
    """MEDIUM 2: a hard link to .env, a copy of the signing key, a letter quoting the webhook secret, any PEM
    private key: each refused in one sentence naming the file and why, without the secret; nothing attached."""
    case_id = open_and_document(world, "domain:20")
    linked = tmp_path / "vendor-email.txt"
    os.link(tmp_path / ".env", linked)
    key_copy = tmp_path / "scan-of-letter.txt"
    key_copy.write_bytes((tmp_path / "signing-key.pem").read_bytes())
    quoting = Path(world.file("forwarded.txt", f"Dear staff,\nour setting is {WEBHOOK_SECRET}\nRegards\n".encode()))
    api_secret = Path(world.file("notes.txt", f"password: {SECRET}\n".encode()))
    other_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    foreign = Path(world.file("id_ed25519.txt", b"my key, for the record:\n" + other_key))
    evidence = len(world.case(case_id)["evidence"])
    for path, why in (
        (linked, "is the bridge's own file"),
        (key_copy, "private key"),
        (quoting, "the bridge's secrets"),
        (api_secret, "the bridge's secrets"),
        (foreign, "private key"),
    ):
        code, out = invoke(
            world, "ownership", "attach", case_id, str(path), "--kind", "other", "--from", "requester", "--via",
            "email", "--by", "alice",
        )  # fmt: skip
        assert code == 1 and str(path) in out and why in out and "Traceback" not in out, (path, out)
        assert out.count("error:") == 1 and SECRET not in out and WEBHOOK_SECRET not in out, out
        code, out = invoke(
            world, "ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via",
            "email", "--evidence", str(path), "--by", "alice",
        )  # fmt: skip
        assert code == 1 and str(path) in out and why in out, (path, out)
    shadow = Path("/etc/shadow")
    if shadow.is_file():  # readable when the tests run as root, as the break test's command did
        code, out = invoke(
            world, "ownership", "attach", case_id, str(shadow), "--kind", "other", "--from", "requester", "--via",
            "email", "--by", "alice",
        )  # fmt: skip
        why = "the system's password hashes" if os.access(shadow, os.R_OK) else "cannot read it"
        assert code == 1 and why in out, out
    assert len(world.case(case_id)["evidence"]) == evidence
    assert world.case(case_id)["status"] == "notified"
