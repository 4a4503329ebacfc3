"""An ownership dossier's verification, on a small dossier built here: each kind of change is named,
alone and against the live audit chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

CASE = "o1234567"
LETTER = b"%PDF-1.4 a letter"


def build(folder: Path, db: Database) -> dict[str, Any]:
    """A dossier as export writes it: one evidence file, one answer, the case's audit rows, sealed."""
    sha = hashlib.sha256(LETTER).hexdigest()
    at = "2026-11-02T10:00:00+00:00"
    audit.append(db, "staff.OwnershipCommand.attach", case_id=CASE, detail={"sha256": sha}, at=at)
    audit.append(db, "consent.decided", case_id=CASE, detail={"decision": "accept", "ip": "192.0.2.1"}, at=at)
    rows = dossier.case_rows(db, CASE)
    (folder / "evidence").mkdir(parents=True)
    (folder / "evidence" / "01-letter.pdf").write_bytes(LETTER)
    (folder / "audit.jsonl").write_text("".join(audit.canonical(r) + "\n" for r in rows), encoding="utf-8")
    files = {
        "evidence/01-letter.pdf": sha,
        "audit.jsonl": dossier.sha256_file(folder / "audit.jsonl"),
    }
    case = {
        "id": CASE,
        "evidence": [{"item": 1, "sha256": sha}],
        "answers": [{"party": "holder", "decision": "accept", "ip": "192.0.2.1", "at": at}],
    }
    manifest: dict[str, Any] = {
        "format": dossier.FORMAT,
        "case": case,
        "files": files,
        "links": [],
        "actions": [],
        "audit": {"file": "audit.jsonl", "rows": len(rows)},
    }
    reseal(manifest)
    write(folder, manifest)
    audit.append(db, "ownership.dossier_exported", case_id=CASE, detail={"seal": manifest["seal"]}, at=at)
    return manifest


def reseal(manifest: dict[str, Any]) -> None:
    manifest["seals"] = {name: dossier.seal(manifest[name]) for name in dossier.SECTIONS}
    manifest["seal"] = dossier.seal(manifest["seals"])


def write(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def problems(folder: Path, db: Database | None = None) -> list[str]:
    with pytest.raises(BridgeError) as caught:
        dossier.verify(folder, db)
    head, _, rest = str(caught.value).partition("\n  ")
    assert head == "the dossier does not verify:"
    return rest.split("\n  ")


@pytest.fixture()
def built(tmp_path: Path) -> Iterator[tuple[Path, Database, dict[str, Any]]]:
    with Database(tmp_path / "state.db") as db:
        folder = tmp_path / "dossier"
        yield folder, db, build(folder, db)


@pytest.fixture()
def other_chain(tmp_path: Path) -> Iterator[Database]:
    """A live chain that is not the dossier's: its rows differ (another time) and it never exported it."""
    with Database(tmp_path / "other.db") as db:
        audit.append(db, "staff.OwnershipCommand.attach", case_id=CASE, detail={}, at="2026-11-03T10:00:00+00:00")
        yield db


def test_an_intact_dossier_verifies(built: tuple[Path, Database, dict[str, Any]]):
    folder, db, manifest = built
    assert dossier.verify(folder) == json.loads((folder / "manifest.json").read_text())
    assert dossier.verify(folder, db)["seal"] == manifest["seal"]


def test_not_a_dossier(tmp_path: Path):
    with pytest.raises(BridgeError, match="no manifest.json, not a dossier"):
        dossier.verify(tmp_path)
    (tmp_path / "manifest.json").write_text("{nope")
    with pytest.raises(BridgeError, match="manifest.json is not valid JSON"):
        dossier.verify(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other/1"}')
    with pytest.raises(BridgeError, match="is not a whmcs-bridge-ownership-dossier/1 manifest"):
        dossier.verify(tmp_path)


def test_files_changed_missing_or_added(built: tuple[Path, Database, dict[str, Any]]):
    folder, _, manifest = built
    (folder / "evidence" / "01-letter.pdf").write_bytes(LETTER + b" ")
    (folder / "extra.txt").write_text("x")
    manifest["files"]["../outside"] = "0" * 64
    manifest["files"]["gone.txt"] = "0" * 64
    reseal(manifest)
    write(folder, manifest)
    found = problems(folder)
    assert found[0] == "../outside: missing"
    assert found[1].startswith("evidence/01-letter.pdf: changed (SHA-256 ")
    assert found[2:] == [
        "gone.txt: missing",
        "extra.txt: not in the manifest (added)",
    ]


def test_sections_and_entries_edited(built: tuple[Path, Database, dict[str, Any]]):
    folder, _, manifest = built
    manifest["case"]["evidence"].append({"item": 2, "sha256": "f" * 64})
    manifest["case"]["answers"][0]["ip"] = "203.0.113.9"
    manifest["seals"]["links"] = "0" * 64
    write(folder, manifest)
    assert problems(folder) == [
        "manifest.json: the `case` section was edited (its seal does not match)",
        "manifest.json: the `links` section was edited (its seal does not match)",
        "manifest.json: the seals themselves were edited",
        "evidence item 2: no file with its SHA-256 in the dossier",
        "evidence item 2: its SHA-256 is not in the audit chain (entry edited)",
        "the holder's answer of 2026-11-02T10:00:00+00:00: not in the audit chain (entry edited)",
    ]


def test_audit_rows_edited_reordered_or_unreadable(built: tuple[Path, Database, dict[str, Any]]):
    folder, _, manifest = built
    lines = (folder / "audit.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["detail"]["sha256"] = "e" * 64
    (folder / "audit.jsonl").write_text("\n".join([lines[1], audit.canonical(first), "not json"]) + "\n")
    manifest["files"]["audit.jsonl"] = dossier.sha256_file(folder / "audit.jsonl")
    reseal(manifest)
    write(folder, manifest)
    assert problems(folder) == [
        f"audit.jsonl line 2 (row {first['id']}, staff.OwnershipCommand.attach): edited (its hash does not match)",
        "audit.jsonl line 2: rows out of order",
        "audit.jsonl line 3: not an audit row",
        "evidence item 1: its SHA-256 is not in the audit chain (entry edited)",
    ]


def test_against_the_live_chain(built: tuple[Path, Database, dict[str, Any]], other_chain: Database):
    folder, _, _ = built
    rows = [json.loads(line) for line in (folder / "audit.jsonl").read_text().splitlines()]
    assert dossier.verify(folder)  # alone, it verifies
    assert problems(folder, other_chain) == [
        f"audit row {rows[0]['id']}: not the same as in the live audit chain",
        f"audit row {rows[1]['id']}: not the same as in the live audit chain",
        "the live audit chain has no record of exporting this dossier (its seal is unknown)",
    ]


def test_the_live_chain_is_only_read_when_the_folder_itself_verifies(
    built: tuple[Path, Database, dict[str, Any]], other_chain: Database
):
    folder, _, _ = built
    (folder / "extra.txt").write_text("x")
    assert problems(folder, other_chain) == ["extra.txt: not in the manifest (added)"]
