"""Twenty-third break round, the keyed audit chain and signed dossiers.

H (tail cut and re-signed): the rows since the last anchor deleted from state.db and the head fixed up to the
new last row, without the key: `audit verify` said broken, but the next append (any command: an export, an
anchor) signed the cut head without checking it, after which everything said ok. The bridge now checks, before
it signs a new head, that the chain it extends is the one its last signature covered; otherwise it refuses.

M (a dossier across a key rotation): after `audit key --new` an honest dossier carried checkpoints signed by the
old key and verify-dossier took one --public-key, so it verified with neither key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_audit_tamper import forge, verify, write_config
from tests.test_ownership_dossier_verify import CASE, build
from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import AuditChainError
from whmcs_bridge.evidence import keys
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

AT = "2026-11-26T10:00:00+00:00"
REFUSED = "is not the chain the bridge last signed"


def recorded(folder: Path, n: int) -> Path:
    """`n` rows the bridge recorded (and signed), and the configuration that finds them."""
    config = write_config(folder)
    with Database(folder / "state.db") as db:
        for i in range(n):
            audit.append(db, "ownership.evidence_attached", case_id="o1", detail={"n": i}, at=AT)
    return config


def cut_tail(config: Path, keep: int) -> None:
    """What the break tester did with the database and no key: the rows after `keep` deleted, the head set to
    row `keep` (its signature, over the longer chain, left as it was)."""
    forge(
        config,
        f"DELETE FROM audit_log WHERE id > {keep}",
        rewrite=lambda rows: rows,  # the head set to the last row left
    )


def test_a_cut_tail_with_its_head_fixed_is_never_signed_by_the_next_append(tmp_path: Path):
    config = recorded(tmp_path, 5)
    cut_tail(config, 3)
    code, out = verify(config)
    assert code == 1 and "audit chain broken at row 3" in out, out
    with Database(tmp_path / "state.db") as db:
        for sign in (
            lambda: audit.append(db, "ownership.dossier_exported", case_id="o1", detail={}, at=AT),
            lambda: audit.checkpoint(db, "staff", at=AT),
        ):
            with pytest.raises(AuditChainError) as refused:
                sign()
            assert REFUSED in str(refused.value) and "audit verify" in str(refused.value), refused.value
        assert audit.head(db) == (3, audit.hash_of(db, 3))  # nothing added
        assert audit.checkpoints(db) == []
    code, out = verify(config)  # the break is still reported
    assert code == 1 and "audit chain broken at row 3" in out, out


def test_rows_deleted_under_a_head_left_as_it_was_are_not_extended_either(tmp_path: Path):
    config = recorded(tmp_path, 4)
    forge(config, "DELETE FROM audit_log WHERE id = 4")
    with Database(tmp_path / "state.db") as db, pytest.raises(AuditChainError) as refused:
        audit.append(db, "ownership.dossier_exported", case_id="o1", detail={}, at=AT)
    assert REFUSED in str(refused.value), refused.value
    assert verify(config)[0] == 1


def test_a_head_whose_signature_was_stripped_is_not_re_signed(tmp_path: Path):
    config = recorded(tmp_path, 3)
    forge(config, "UPDATE audit_head SET signature = NULL, fingerprint = NULL")
    with Database(tmp_path / "state.db") as db, pytest.raises(AuditChainError) as refused:
        audit.append(db, "ownership.dossier_exported", case_id="o1", detail={}, at=AT)
    assert REFUSED in str(refused.value), refused.value


def test_a_command_that_appends_refuses_in_one_sentence(tmp_path: Path, sandbox: Sandbox):
    """The break tester's path: after the cut, a command that appends (here `audit anchor`, and `tick`) signed
    the cut head; now it refuses, nothing is anchored in WHMCS, and verify still names the break."""
    config = write_config(tmp_path, sandbox.url)
    with Database(tmp_path / "state.db") as db:
        for i in range(4):
            audit.append(db, "ownership.evidence_attached", case_id="o1", detail={"n": i}, at=AT)
    cut_tail(config, 2)
    for command in (["audit", "anchor"], ["tick"]):  # an anchor, and the daemon's pass
        result = CliRunner().invoke(cli.main, ["--config", str(config), *command], catch_exceptions=False)
        assert result.exit_code == 1, (command, result.output)
        [line] = result.stderr.strip().splitlines()
        assert REFUSED in line and "anchored" not in result.stdout, (command, result.output)
    code, out = verify(config)
    assert code == 1 and "audit chain broken at row 2" in out, out


def test_an_honest_chain_goes_on_across_opens_and_an_empty_chain_left_unsigned_by_a_crash_is_signed(tmp_path: Path):
    """A fresh database whose key was made but whose head was not yet signed (killed in between) is no
    rewrite: nothing was ever signed there, so the bridge signs and goes on."""
    with Database(tmp_path / "state.db", signing=False):
        pass
    keys.load_or_create(tmp_path / keys.KEY_FILE)
    config = write_config(tmp_path)
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "ownership.evidence_attached", case_id="o1", detail={}, at=AT)
    for _ in range(2):
        with Database(tmp_path / "state.db") as db:
            audit.append(db, "ownership.evidence_attached", case_id="o1", detail={}, at=AT)
            audit.checkpoint(db, "staff", at=AT)
    code, out = verify(config)
    assert code == 0 and "intact: 3 entries" in out, out


def test_a_writer_killed_mid_append_leaves_a_chain_the_bridge_extends(tmp_path: Path):
    """The row and its signed head are written in one transaction: SIGKILL at any point leaves both or
    neither, so the next start is not locked out."""
    config = recorded(tmp_path, 1)
    script = textwrap.dedent(
        f"""
        import sys
        from whmcs_bridge.store import audit
        from whmcs_bridge.store.db import Database
        with Database({str(tmp_path / "state.db")!r}) as db:
            print("ready", flush=True)
            while True:
                audit.append(db, "ownership.evidence_attached", case_id="o1", detail={{"x": "y" * 2000}})
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        with Database(tmp_path / "state.db", migrate=False, signing=False) as db:
            while (audit.head(db) or (0, ""))[0] < 30:
                time.sleep(0.01)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "ownership.dossier_exported", case_id="o1", detail={}, at=AT)
    code, out = verify(config)
    assert code == 0 and "audit chain intact" in out, out


# --- M: a dossier across a key rotation ------------------------------------------------------------------------


def rotated(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A case whose first row and a checkpoint were signed with the first key; the key lost for good and replaced
    with `audit key --new`; the case's later rows and its dossier signed with the new one. The configuration, the
    dossier, and the two public keys (old, new)."""
    config = write_config(tmp_path)
    with config.open("a") as handle:
        handle.write("staff: [alice]\n")
    with Database(tmp_path / "state.db") as db:
        audit.append(db, "ownership.request_received", case_id=CASE, detail={}, at=AT)
        audit.checkpoint(db, "decision", at=AT)
        assert db.signer is not None
        (tmp_path / "old.pem").write_text(db.signer.public.pem())
    (tmp_path / keys.KEY_FILE).unlink()  # lost for good
    result = CliRunner().invoke(
        cli.main, ["--config", str(config), "audit", "key", "--new", "--by", "alice"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    with Database(tmp_path / "state.db") as db:
        build(tmp_path / "dossier", db)
        assert db.signer is not None
        (tmp_path / "new.pem").write_text(db.signer.public.pem())
    return config, tmp_path / "dossier", tmp_path / "old.pem", tmp_path / "new.pem"


def verify_dossier(config: Path | None, *args: str) -> tuple[int, str]:
    head = ["--config", str(config)] if config else []
    result = CliRunner().invoke(cli.main, [*head, "ownership", "verify-dossier", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_an_honest_dossier_across_a_key_replacement_verifies_with_both_public_keys(tmp_path: Path):
    config, out, old, new = rotated(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    signers = {p["fingerprint"] for p in manifest["audit"]["checkpoints"]} | {
        manifest["audit"]["closing"]["fingerprint"]
    }
    old_key, new_key = keys.PublicKey.from_file(old), keys.PublicKey.from_file(new)
    assert signers == {old_key.fingerprint, new_key.fingerprint}  # the segment spans the replacement

    code, output = verify_dossier(None, str(out), "--public-key", str(new), "--public-key", str(old))
    assert code == 0 and f"verifies with {new_key.fingerprint} and {old_key.fingerprint}" in output, output
    code, output = verify_dossier(None, str(out), "--public-key", str(old), "--public-key", str(new))
    assert code == 0, output
    assert dossier.verify(out, new_key, older=[old_key])["case"]["id"] == CASE

    # One key is not enough: the replaced key's checkpoints are named, with what to give.
    code, output = verify_dossier(None, str(out), "--public-key", str(new))
    assert code == 1 and f"signed with {old_key.fingerprint}, which audit row 2 records as replaced" in output, output
    assert "another --public-key" in output, output
    code, output = verify_dossier(config, str(out))  # the key beside the state: the new one only
    assert code == 1 and "records as replaced" in output, output
    code, output = verify_dossier(None, str(out), "--public-key", str(old))
    assert code == 1 and f"signed with the key {new_key.fingerprint}, not with the given key" in output, output


def test_a_forger_without_a_key_still_fails_with_both_keys_given(tmp_path: Path):
    _, out, old, new = rotated(tmp_path)
    rows = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    rows[0]["detail"] = {"forged": True}
    (out / "audit.jsonl").write_text("".join(audit.canonical(r) + "\n" for r in rows))
    code, output = verify_dossier(None, str(out), "--public-key", str(new), "--public-key", str(old))
    assert code == 1 and "audit.jsonl: changed" in output, output

    stranger = keys.SigningKey.generate()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["signed_by"]["fingerprint"] = stranger.fingerprint
    text = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (out / "manifest.json").write_bytes(text)
    (out / "manifest.sig").write_text(stranger.sign(text) + "\n")
    code, output = verify_dossier(None, str(out), "--public-key", str(new), "--public-key", str(old))
    assert code == 1 and f"signed with the key {stranger.fingerprint}, not with the given key" in output, output
