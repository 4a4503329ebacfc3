"""An ownership dossier's verification offline, with the public key alone: the 10 forgeries of issue 17
(finding 8), each named after what the forger did and each caught, naming what failed. Before dossiers
were signed, 6 to 10 passed `verify-dossier`. The dossier is sealed here as `export` seals it, from a
real audit chain; tests/test_ownership_e2e.py exports one from a real case through the command line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import folder, keys
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

CASE = "o1234567"
LETTER = b"%PDF-1.4 a letter"
FORGED = b"%PDF-1.4 another letter"
AT = "2026-11-02T10:00:00+00:00"
APPROVAL = {"command": "approve", "case": CASE, "by": "alice", "os_user": "alice-login", "note": "checked"}


def build(out: Path, db: Database) -> None:
    """A dossier as export seals it: one evidence file, one answer, the case's rows among others."""
    sha = hashlib.sha256(LETTER).hexdigest()
    audit.append(db, "escalation.notice_sent", client_id=5, detail={"n": 1}, at=AT)
    audit.append(db, dossier.ATTACHED, case_id=CASE, detail={"sha256": sha}, at=AT)
    audit.append(db, "escalation.notice_sent", client_id=6, detail={"n": 2}, at=AT)  # another case's, meanwhile
    audit.append(db, "consent.decided", case_id=CASE, detail={"decision": "accept", "ip": "192.0.2.1"}, at=AT)
    audit.append(db, f"{dossier.STAFF_COMMAND}approve", actor="staff:alice", case_id=CASE, detail=APPROVAL, at=AT)
    rows = dossier.case_rows(db, CASE)
    segment = audit.segment(db, rows[0]["id"], rows[-1]["id"], at=AT)
    writer = folder.FolderWriter(out)
    writer.add_bytes("evidence/01-letterhead-letter.pdf", LETTER)
    writer.add_text("summary.html", f"<!doctype html><title>Ownership case {CASE}</title>")
    case = {
        "id": CASE,
        "evidence": [{"item": 1, "sha256": sha, "received": AT, "status": "pending", "checks": []}],
        "answers": [{"party": "holder", "decision": "accept", "ip": "192.0.2.1", "at": AT}],
        "approvals": [{"by": "alice", "os_user": "alice-login", "at": AT, "note": "checked"}],
        "history": [{"at": AT, "what": "approval", "by": "alice", "why": "1 of 1: checked"}],
    }
    assert db.signer is not None
    sealed = writer.seal(
        format=dossier.FORMAT,
        key=db.signer,
        exported_at=AT,
        sections={"case": case, "links": [], "actions": []},
        segment=segment,
        own_rows=[r["id"] for r in segment.rows if dossier.is_case_row(r, CASE)],
    )
    audit.append(db, dossier.EXPORTED, case_id=CASE, detail={"seal": sealed.seal}, at=AT)


@pytest.fixture()
def built(tmp_path: Path) -> Iterator[tuple[Path, Database, keys.PublicKey]]:
    with Database(tmp_path / "state.db") as db:
        out = tmp_path / "dossier"
        build(out, db)
        assert db.signer is not None
        yield out, db, keys.PublicKey.from_pem(db.signer.public.pem().encode())


def problems(out: Path, key: keys.PublicKey, db: Database | None = None) -> list[str]:
    with pytest.raises(BridgeError) as caught:
        dossier.verify(out, key, db)
    head, _, rest = str(caught.value).partition("\n  ")
    assert head == "the dossier does not verify:"
    return rest.split("\n  ")


def manifest_of(out: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return found


def rows_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]


def write_rows(out: Path, rows: list[dict[str, Any]], *, rehash_from: str | None = None) -> None:
    """audit.jsonl rewritten; with `rehash_from`, every row re-hashed from that predecessor, as a forger
    with the bridge's code (but not its key) would."""
    if rehash_from is not None:
        prev = rehash_from
        for row in rows:
            content = {k: row[k] for k in folder.ROW_FIELDS}
            row["prev_hash"], row["hash"] = prev, audit.row_hash(prev, content)
            prev = row["hash"]
    (out / "audit.jsonl").write_text("".join(audit.canonical(r) + "\n" for r in rows))


def resign(out: Path, manifest: dict[str, Any], forger: keys.SigningKey | None = None) -> None:
    """The manifest rewritten with every file's hash recomputed and, given a key, signed with it (the
    forger's own: the bridge's is not theirs), the folder's public-key.pem replaced to match."""
    for name in list(manifest["files"]):
        if (out / name).is_file() and not os.path.isabs(name) and ".." not in name:
            manifest["files"][name] = folder.sha256_file(out / name)
    if forger is not None:
        (out / "public-key.pem").write_text(forger.public.pem())
        manifest["files"]["public-key.pem"] = folder.sha256_file(out / "public-key.pem")
        manifest["signed_by"]["fingerprint"] = forger.fingerprint
    text = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (out / "manifest.json").write_bytes(text)
    if forger is not None:
        (out / "manifest.sig").write_text(forger.sign(text) + "\n")


def test_an_intact_dossier_verifies_with_the_public_key_alone(built: tuple[Path, Database, keys.PublicKey]):
    out, db, key = built
    manifest = dossier.verify(out, key)
    assert manifest["audit"]["from"] == 1 and manifest["audit"]["to"] == 5
    assert manifest["audit"]["own_rows"] == [2, 4, 5]  # the case's rows; 3 is another's, kept for the chain
    assert dossier.verify(out, key, db)["case"]["id"] == CASE
    assert folder.private_mode_problems(out) == []


def test_not_a_dossier_or_an_unsigned_one(tmp_path: Path):
    key = keys.SigningKey.generate().public
    with pytest.raises(BridgeError, match="no manifest.json, not a dossier"):
        dossier.verify(tmp_path, key)
    (tmp_path / "manifest.json").write_text("{nope")
    with pytest.raises(BridgeError, match="manifest.json is not valid JSON"):
        dossier.verify(tmp_path, key)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": dossier.UNSIGNED_FORMAT}))
    with pytest.raises(BridgeError, match="is an unsigned dossier .* export the case again"):
        dossier.verify(tmp_path, key)


# --- 1 to 5: caught before dossiers were signed, and still -------------------------------------------


def test_forgery_01_flip_a_byte_of_an_evidence_file(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    (out / "evidence" / "01-letterhead-letter.pdf").write_bytes(LETTER[:-1] + b"X")
    [found] = problems(out, key)
    assert found.startswith("evidence/01-letterhead-letter.pdf: changed (SHA-256 ")


def test_forgery_02_edit_the_manifest(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    manifest = manifest_of(out)
    manifest["case"]["answers"][0]["ip"] = "203.0.113.9"
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert problems(out, key) == [
        f"manifest.json: changed since it was signed (its signature does not verify with {key.fingerprint})",
        "the holder's answer of 2026-11-02T10:00:00+00:00: not in the audit chain (entry edited)",
    ]


def test_forgery_03_remove_a_file(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    (out / "summary.html").unlink()
    assert problems(out, key) == ["summary.html: missing"]


def test_forgery_04_add_a_file(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    (out / "evidence" / "02-letterhead-letter.pdf").write_bytes(FORGED)
    assert problems(out, key) == ["evidence/02-letterhead-letter.pdf: not in the manifest (added)"]


def test_forgery_04b_add_a_fifo_or_a_folder(built: tuple[Path, Database, keys.PublicKey]):
    """From the issue-17 outside test (eighth round, LOW): an unlisted FIFO or folder inside a dossier verified;
    anything in the folder that the manifest does not list is named, whatever it is (a FIFO is never opened)."""
    out, _, key = built
    os.mkfifo(out / "evidence" / "03-more.pdf")
    (out / "extra" / "inner").mkdir(parents=True)
    assert problems(out, key) == [
        "evidence/03-more.pdf: not in the manifest (added)",
        "extra: a folder not in the manifest (added)",
    ]


def test_forgery_04c_a_listed_file_replaced_by_a_fifo_or_a_folder(built: tuple[Path, Database, keys.PublicKey]):
    """From the eighteenth round (LOW): a listed file replaced by a FIFO was reported "missing", which sends the
    reader looking for a lost file; it is named as what it is, and never opened."""
    out, _, key = built
    (out / "summary.html").unlink()
    os.mkfifo(out / "summary.html")
    letter = out / "evidence" / "01-letterhead-letter.pdf"
    letter.unlink()
    letter.mkdir()
    assert problems(out, key) == [
        "evidence/01-letterhead-letter.pdf: not a regular file (replaced; not read)",
        "summary.html: not a regular file (replaced; not read)",
    ]


def test_forgery_04d_a_file_named_with_terminal_codes_is_named_without_them(
    built: tuple[Path, Database, keys.PublicKey], tmp_path: Path
):
    """From the nineteenth round (M3): a file added to a dossier under a name holding terminal escape codes (set the
    window title, write the clipboard, clear the screen) had them printed raw by `verify-dossier`."""
    out, _, key = built
    (out / "evidence" / "02-\x1b]0;pwned\x07note\x1b[2J.txt").write_bytes(b"forged")
    (tmp_path / "public.pem").write_text(key.pem())
    result = CliRunner().invoke(
        cli.main, ["ownership", "verify-dossier", str(out), "--public-key", str(tmp_path / "public.pem")]
    )
    assert result.exit_code == 1, result.output
    assert "02-note.txt: not in the manifest (added)" in result.output, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_forgery_05_edit_an_audit_row(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    rows = rows_of(out)
    rows[3]["detail"]["decision"] = "reject"
    write_rows(out, rows)
    found = problems(out, key)
    assert found[0].startswith("audit.jsonl: changed (SHA-256 ")
    assert found[1:] == [
        "audit.jsonl line 4 (row 4, consent.decided): edited (its hash does not match)",
        "the holder's answer of 2026-11-02T10:00:00+00:00: not in the audit chain (entry edited)",
    ]


# --- 6 to 10: passed before dossiers were signed -----------------------------------------------------


def test_forgery_06_swap_an_evidence_file_with_its_audit_row_fixed(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    forger = keys.SigningKey.generate()
    forged = hashlib.sha256(FORGED).hexdigest()
    (out / "evidence" / "01-letterhead-letter.pdf").write_bytes(FORGED)
    rows = rows_of(out)
    rows[1]["detail"]["sha256"] = forged
    write_rows(out, rows, rehash_from=audit.GENESIS)
    manifest = manifest_of(out)
    manifest["case"]["evidence"][0]["sha256"] = forged
    resign(out, manifest, forger)
    assert problems(out, key) == [
        f"manifest.json: signed with the key {forger.fingerprint}, not with the given key {key.fingerprint}",
        "audit.jsonl: row 5 is not the row its signed checkpoint names",
    ]


def test_forgery_07_drop_an_audit_row(built: tuple[Path, Database, keys.PublicKey]):
    out, _, key = built
    rows = rows_of(out)
    del rows[3]  # the holder's answer: the case's rows used to be a slice, not a contiguous run
    write_rows(out, rows)
    manifest = manifest_of(out)
    manifest["audit"]["own_rows"].remove(4)
    manifest["case"]["answers"] = []
    resign(out, manifest)  # re-hashed, but signed only by the bridge's key: left as it was
    assert problems(out, key) == [
        f"manifest.json: changed since it was signed (its signature does not verify with {key.fingerprint})",
        "audit.jsonl: row 4 is missing (the segment is not contiguous)",
    ]
    forger = keys.SigningKey.generate()
    resign(out, manifest, forger)
    assert problems(out, key)[0].startswith(f"manifest.json: signed with the key {forger.fingerprint}")
    assert "audit.jsonl: row 4 is missing (the segment is not contiguous)" in problems(out, key)


def test_forgery_08_an_absolute_path_outside_the_folder(built: tuple[Path, Database, keys.PublicKey], tmp_path: Path):
    out, _, key = built
    outside = tmp_path / "outside.txt"
    outside.write_text("not the dossier's")
    manifest = manifest_of(out)
    manifest["files"][str(outside)] = folder.sha256_file(outside)  # the right hash: only the path is wrong
    resign(out, manifest)
    assert problems(out, key) == [
        f"manifest.json: changed since it was signed (its signature does not verify with {key.fingerprint})",
        f"manifest.json names {str(outside)!r}: an absolute path, outside the dossier's folder (refused, not read)",
    ]


def test_forgery_09_a_link_or_a_dotdot_path_out_of_the_folder(
    built: tuple[Path, Database, keys.PublicKey], tmp_path: Path
):
    out, _, key = built
    outside = tmp_path / "outside.txt"
    outside.write_text("not the dossier's")
    (out / "evidence" / "03-letterhead-letter.pdf").symlink_to(outside)
    manifest = manifest_of(out)
    manifest["files"]["evidence/03-letterhead-letter.pdf"] = folder.sha256_file(outside)
    manifest["files"]["../outside.txt"] = folder.sha256_file(outside)
    resign(out, manifest)
    assert problems(out, key)[1:] == [
        "manifest.json names '../outside.txt': a path that leaves or escapes the dossier's folder (refused, not read)",
        "evidence/03-letterhead-letter.pdf: a link, possibly out of the dossier's folder (refused, not read)",
    ]


def test_forgery_10_a_whole_dossier_made_with_another_key(tmp_path: Path, built: tuple[Path, Database, keys.PublicKey]):
    _, _, key = built
    (tmp_path / "elsewhere").mkdir()
    with Database(tmp_path / "elsewhere" / "state.db") as other:  # another bridge: its own chain and key
        build(tmp_path / "forged", other)
        assert other.signer is not None
        stranger = other.signer.fingerprint
    assert problems(tmp_path / "forged", key) == [
        f"manifest.json: signed with the key {stranger}, not with the given key {key.fingerprint}",
        f"the audit checkpoint at row 5: not signed with {key.fingerprint}",
    ]


def test_forgery_11_a_dossier_exported_from_a_case_state_edited_in_the_database(
    built: tuple[Path, Database, keys.PublicKey],
):
    """From the issue-17 hostile test (H3): who approved was edited in the case's state in the database, and
    the bridge signed the dossier it exported from it. Each staff fact of the summary is checked against the
    audit row its command left: an approval, or a timeline step, that no row records is named."""
    out, db, key = built
    manifest = manifest_of(out)
    manifest["case"]["approvals"][0].update(by="bob", os_user="bob-login")
    manifest["case"]["history"][0]["by"] = "bob"
    assert db.signer is not None
    resign(out, manifest, db.signer)
    assert problems(out, key) == [
        f"the approval by bob (bob-login) of {AT} has no entry in the audit chain",
        f"the timeline's step 'approval' by bob of {AT} has no entry in the audit chain",
    ]


def test_against_the_live_chain(built: tuple[Path, Database, keys.PublicKey], tmp_path: Path):
    out, _, key = built
    (tmp_path / "other").mkdir()
    with Database(tmp_path / "other" / "state.db", signing=False) as other:
        audit.append(other, dossier.ATTACHED, case_id=CASE, detail={}, at="2026-11-03T10:00:00+00:00")
        found = problems(out, key, other)
    assert found[0] == "audit row 1: not the same as in the live audit chain"
    assert found[-1] == "the live audit chain has no record of exporting this dossier (its seal is unknown)"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document a forger could put something else."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), junk=JSON)
def test_any_shape_in_the_manifest_or_the_rows_is_a_named_problem_never_a_crash(
    built: tuple[Path, Database, keys.PublicKey], tmp_path_factory: pytest.TempPathFactory, data: Any, junk: Any
):
    out, _, key = built
    copy = tmp_path_factory.mktemp("forged") / "dossier"
    shutil.copytree(out, copy)
    target = data.draw(st.sampled_from(["manifest.json", "audit.jsonl"]))
    if target == "manifest.json":
        document: Any = manifest_of(copy)
    else:
        document = rows_of(copy)
    where = data.draw(st.sampled_from(paths(document)[1:]))
    holder = document
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = junk
    if target == "manifest.json":
        (copy / "manifest.json").write_text(json.dumps(document))
    else:
        write_rows(copy, document)
    try:
        dossier.verify(copy, key)
    except BridgeError as exc:
        assert "\n" in str(exc) or str(exc).endswith(("not a dossier", "manifest")), str(exc)
