"""The evidence core: the signing key beside the database, signed checkpoints, and a sealed folder written
from a real chain and checked offline with the public key alone."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from whmcs_bridge.errors import EnvironmentProblem
from whmcs_bridge.evidence import folder, keys
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database


def chain(path: Path, n: int = 100) -> Database:
    db = Database(path / "state.db")
    for i in range(n):
        audit.append(db, "escalation.notice_sent", case_id="c1" if i in (69, 74) else None, detail={"i": i})
    return db


def test_the_key_is_made_on_first_use_beside_the_database_0600(tmp_path: Path):
    with Database(tmp_path / "state.db") as db:
        assert db.signer is not None
        path = tmp_path / keys.KEY_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert db.signer.fingerprint.startswith("SHA256:") and len(db.signer.fingerprint) == 7 + 64
        assert b"PRIVATE" in path.read_bytes() and b"PRIVATE" not in db.all_text().encode()
    with Database(tmp_path / "state.db") as again:  # the same key, not a new one
        assert again.signer is not None and again.signer.fingerprint == db.signer.fingerprint


def test_a_key_others_may_read_is_refused(tmp_path: Path):
    Database(tmp_path / "state.db").close()
    (tmp_path / keys.KEY_FILE).chmod(0o644)
    with pytest.raises(EnvironmentProblem, match=r"may be read by others \(mode 0644\): run `chmod 600"):
        Database(tmp_path / "state.db")


def test_checkpoints_bound_a_segment(tmp_path: Path):
    with chain(tmp_path) as db:
        seg = audit.segment(db, 70, 75)
        assert seg.opening is not None and seg.opening.count == 64  # kept every 64 rows
        assert seg.closing.count == 100 and seg.closing.reason == "dossier"  # signed at the head now
        assert [r["id"] for r in seg.rows] == list(range(65, 101))
        assert db.signer is not None and seg.closing.verifies(db.signer.public)


def sealed(tmp_path: Path) -> tuple[Path, keys.PublicKey]:
    with chain(tmp_path) as db:
        assert db.signer is not None
        writer = folder.FolderWriter(tmp_path / "out")
        writer.add_bytes("evidence/01-letter.pdf", b"%PDF-1.4 a letter")
        writer.seal(
            format="test-dossier/1",
            key=db.signer,
            exported_at="2026-11-26T02:00:00+00:00",
            sections={"case": {"id": "c1"}},
            segment=audit.segment(db, 70, 75),
            own_rows=[70, 75],
        )
        return tmp_path / "out", db.signer.public


def test_a_sealed_folder_verifies_offline_with_the_public_key_only(tmp_path: Path):
    out, public = sealed(tmp_path)
    key = keys.PublicKey.from_pem(public.pem().encode())
    found = folder.verify(out, "test-dossier/1", key)
    assert found.manifest["signed_by"]["fingerprint"] == key.fingerprint
    assert found.manifest["audit"]["from"] == 65 and found.manifest["audit"]["to"] == 100
    assert [r["id"] for r in found.rows] == list(range(65, 101))
    assert folder.private_mode_problems(out) == []


def test_another_key_and_an_edited_manifest_are_named(tmp_path: Path):
    out, public = sealed(tmp_path)
    stranger = keys.SigningKey.generate().public
    assert folder.inspect(out, "test-dossier/1", stranger).problems == [
        f"manifest.json: signed with the key {public.fingerprint}, not with the given key {stranger.fingerprint}",
        f"the audit checkpoint at row 64: not signed with {stranger.fingerprint}",
        f"the audit checkpoint at row 100: not signed with {stranger.fingerprint}",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["case"]["id"] = "c2"
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert folder.inspect(out, "test-dossier/1", public).problems == [
        f"manifest.json: changed since it was signed (its signature does not verify with {public.fingerprint})"
    ]
