"""The 12 database tampers of issue 17 (finding 8), each done as someone with the database file and plain
SQL but not the signing key would, and each caught by `whmcs-bridge audit verify` (exit 1, naming it).
Before the chain was keyed, 8 to 12 passed as "audit chain intact"; the anchors in WHMCS's activity log
catch what no local check can: a rollback to an earlier signed state, or a database and key replaced."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from tests.conftest import IDENTIFIER, SECRET, WEBHOOK_SECRET, Sandbox
from whmcs_bridge.cli import app as cli
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

Rows = list[dict[str, Any]]
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def write_config(folder: Path, url: str = "https://billing.example.com/") -> Path:
    env = {
        "WHMCS_API_IDENTIFIER": IDENTIFIER,
        "WHMCS_API_SECRET": SECRET,
        "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (folder / ".env").chmod(0o600)
    path = folder / "bridge.yaml"
    path.write_text(
        f"whmcs:\n  url: {url}\n  identifier: ${{WHMCS_API_IDENTIFIER}}\n  secret: ${{WHMCS_API_SECRET}}\n"
        "  max_attempts: 1\nreceiver:\n  secret: ${WHMCS_BRIDGE_WEBHOOK_SECRET}\nstate:\n  path: state.db\n"
    )
    return path


def verify(config: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["--config", str(config), "audit", "verify", *extra], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture()
def state(tmp_path: Path) -> Iterator[Path]:
    """Five rows recorded by the bridge (which signs its head); the config that finds them."""
    config = write_config(tmp_path)
    with Database(tmp_path / "state.db") as db:
        for i in range(5):
            audit.append(
                db,
                "escalation.notice_sent",
                client_id=1 + i % 2,
                case_id="case-1" if i % 2 else None,
                detail={"n": i, "amount": "49.95", "text": "héllo"},
                at=f"2026-11-2{i}T10:00:00+00:00",
            )
    code, out = verify(config)
    assert code == 0 and out.startswith(f"audit chain intact: 5 entries, signed with {fingerprint(tmp_path)}\n"), out
    yield config


def fingerprint(folder: Path) -> str:
    key = keys.load(folder / keys.KEY_FILE)
    assert key is not None
    return key.fingerprint


def forge(config: Path, statement: str = "", rewrite: Callable[[Rows], Rows] | None = None) -> None:
    """Plain SQL on the file, with the bridge's code to recompute hashes, but without the key."""
    conn = sqlite3.connect(config.parent / "state.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    if statement:
        conn.execute(statement)
    if rewrite is not None:
        rows = rewrite(
            [{**dict(r), "detail": json.loads(r["detail"])} for r in conn.execute("SELECT * FROM audit_log")]
        )
        conn.execute("DELETE FROM audit_log")
        prev = audit.GENESIS
        for row in rows:
            content = {k: row[k] for k in ("id", "at", "actor", "action", "client_id", "case_id", "subject", "detail")}
            digest = audit.row_hash(prev, content)
            conn.execute(
                "INSERT INTO audit_log (id, at, actor, action, client_id, case_id, subject, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*[row[k] for k in content if k != "detail"], audit.canonical(row["detail"]), prev, digest),
            )
            prev = digest
        conn.execute("UPDATE audit_head SET last_id = ?, last_hash = ?", (len(rows), prev))
    conn.close()


def caught(config: Path, row: int, reason: str) -> None:
    code, out = verify(config)
    assert code == 1, out
    assert f"audit chain broken at row {row}: " in out and reason in out, out


# --- 1 to 7: caught before the chain was keyed, and still ------------------------------------------


def test_tamper_01_edit_a_detail(state: Path):
    forge(state, 'UPDATE audit_log SET detail = \'{"amount":"0.00","n":2,"text":"héllo"}\' WHERE id = 3')
    caught(state, 3, "its content does not match its hash (edited)")


def test_tamper_02_edit_the_actor(state: Path):
    forge(state, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    caught(state, 2, "(edited)")


def test_tamper_03_edit_the_time(state: Path):
    forge(state, "UPDATE audit_log SET at = '2020-01-01T00:00:00+00:00' WHERE id = 4")
    caught(state, 4, "(edited)")


def test_tamper_04_delete_a_row_in_the_middle(state: Path):
    forge(state, "DELETE FROM audit_log WHERE id = 2")
    caught(state, 2, "row 2 is missing (next row is 3)")


def test_tamper_05_delete_the_last_row(state: Path):
    forge(state, "DELETE FROM audit_log WHERE id = 5")
    caught(state, 5, "the chain head records 5 row(s) but 4 remain")


def test_tamper_06_make_a_detail_unreadable(state: Path):
    forge(state, "UPDATE audit_log SET detail = 'not json' WHERE id = 1")
    caught(state, 1, "its detail is not valid JSON")


def test_tamper_07_edit_a_row_and_rehash_it_alone(state: Path):
    conn = sqlite3.connect(state.parent / "state.db", isolation_level=None)
    row = conn.execute(
        "SELECT at, action, client_id, case_id, subject, detail, prev_hash FROM audit_log WHERE id = 2"
    ).fetchone()
    content = dict(zip(("at", "action", "client_id", "case_id", "subject"), row[:5], strict=True))
    content.update(id=2, actor="mallory", detail=json.loads(row[5]))
    conn.close()
    forge(state, f"UPDATE audit_log SET actor = 'mallory', hash = '{audit.row_hash(row[6], content)}' WHERE id = 2")
    caught(state, 3, "it does not link to the previous row's hash")


# --- 8 to 12: passed as "intact" before the chain was keyed -----------------------------------------


def test_tamper_08_delete_the_tail_and_update_the_head(state: Path):
    forge(state, rewrite=lambda rows: rows[:3])
    caught(state, 3, "the signed chain head does not match the 3 row(s) there are")


def test_tamper_09_edit_a_row_and_recompute_the_chain(state: Path):
    def mallory(rows: Rows) -> Rows:
        rows[1]["detail"]["amount"] = "0.00"
        return rows

    forge(state, rewrite=mallory)
    caught(state, 5, "rows were edited and rehashed, renumbered, added or cut off by someone without the signing key")


def test_tamper_10_delete_renumber_and_recompute(state: Path):
    def mallory(rows: Rows) -> Rows:
        kept = [r for r in rows if r["id"] != 2]
        for number, row in enumerate(kept, start=1):
            row["id"] = number
        return kept

    forge(state, rewrite=mallory)
    caught(state, 4, "the signed chain head does not match the 4 row(s) there are")


def test_tamper_11_append_a_forged_row(state: Path):
    def mallory(rows: Rows) -> Rows:
        forged = {**rows[-1], "id": 6, "actor": "staff", "action": "ownership.approved", "detail": {"by": "alice"}}
        return [*rows, forged]

    forge(state, rewrite=mallory)
    caught(state, 6, "the signed chain head does not match the 6 row(s) there are")


def test_tamper_12_wipe_the_log(state: Path):
    forge(state, "DELETE FROM audit_log", rewrite=lambda rows: rows)  # the head reset to 0 rows, genesis
    caught(state, 0, "the signed chain head does not match the 0 row(s) there are")
    forge(state, "DELETE FROM audit_head")
    caught(state, 1, "the chain head is missing: the audit log was wiped or its head deleted")
    forge(state, "INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, 0, '" + audit.GENESIS + "')")
    caught(state, 0, "the chain head is not signed: it was rewritten without the signing key")


def test_tamper_13_cut_back_to_a_checkpoint_and_copy_its_signature_into_the_head(state: Path):
    """From the issue-17 break test: a checkpoint signed (count, hash) like the head, so a forger without the
    key cut the log back to a checkpoint and copied its signature into the head: "intact"."""
    with Database(state.parent / "state.db") as db:
        point = audit.checkpoint(db, "anchor", at="2026-11-25T10:00:00+00:00")
        for i in range(3):
            audit.append(db, "ownership.approved", detail={"by": "alice", "n": i}, at="2026-11-26T10:00:00+00:00")
    forge(
        state,
        f"DELETE FROM audit_log WHERE id > {point.count}",
        rewrite=lambda rows: rows,  # the chain as it was at the checkpoint
    )
    forge(
        state,
        "UPDATE audit_head SET signature = (SELECT signature FROM audit_checkpoint WHERE count = "
        f"{point.count}), fingerprint = (SELECT fingerprint FROM audit_checkpoint WHERE count = {point.count})",
    )
    code, out = verify(state)
    assert code == 1 and "intact" not in out, out


# --- what the key alone cannot see -------------------------------------------------------------------


def test_checkpoints_name_the_rewritten_stretch_of_a_long_chain(tmp_path: Path):
    config = write_config(tmp_path)
    with Database(tmp_path / "state.db") as db:
        for i in range(70):
            audit.append(db, "escalation.notice_sent", detail={"n": i}, at="2026-11-20T10:00:00+00:00")

    def mallory(rows: Rows) -> Rows:
        rows[9]["detail"]["n"] = 99
        return rows

    forge(config, rewrite=mallory)
    caught(config, 64, "it is not the row signed in the checkpoint of 2026-11-20T10:00:00+00:00")


def test_a_replaced_key_is_refused_and_a_foreign_public_key_named(state: Path):
    (state.parent / keys.KEY_FILE).rename(state.parent / "elsewhere.pem")
    code, out = verify(state)
    assert code == 1 and "NOT verified" in out and "intact" not in out  # verify itself makes no key
    result = CliRunner().invoke(cli.main, ["--config", str(state), "audit", "show"], catch_exceptions=False)
    assert result.exit_code == 3 and "was signed with SHA256:" in result.stderr
    assert not (state.parent / keys.KEY_FILE).exists()
    (state.parent / "stranger.pem").write_text(keys.SigningKey.generate().public.pem())
    code, out = verify(state, "--public-key", str(state.parent / "stranger.pem"))
    assert code == 1 and "the chain head is signed with another key" in out


def test_a_rollback_to_an_earlier_signed_head_is_caught_by_the_whmcs_anchor(tmp_path: Path, sandbox: Sandbox):
    """Cut back to a checkpoint, its signature copied into the head: caught locally since a head signs what no
    checkpoint does (tamper 13); WHMCS's anchor names the rows cut off too. (A whole database restored from an
    earlier backup, head and all, is consistent locally: only the anchors can tell.)"""
    config = write_config(tmp_path, sandbox.url)
    api = WhmcsApi.from_config(cli.Context(str(config)).config())
    with Database(tmp_path / "state.db") as db:
        for i in range(3):
            audit.append(db, "ownership.request_received", case_id="o1", detail={"n": i})
        kept = audit.checkpoint(db, "staff")
        audit.append(db, "staff.OwnershipCommand.approve", case_id="o1", detail={"by": "alice"})
        assert anchor.due(db, NOW) == "decision (staff.OwnershipCommand.approve)"
        anchored = anchor.anchor(db, api, NOW, "decision")
        assert anchored.count == 4 and anchored.anchor_id is not None
        assert anchor.due(db, NOW) is None
    code, out = verify(config, "--against-whmcs")
    assert code == 0 and "matching 1 anchor(s) in WHMCS's activity log" in out
    forge(config, "DELETE FROM audit_log WHERE id = 4")
    forge(config, "DELETE FROM audit_checkpoint WHERE count = 4")
    forge(
        config,
        f"UPDATE audit_head SET last_id = 3, last_hash = '{kept.hash}', signature = '{kept.signature}'",
    )
    assert verify(config)[0] == 1  # a checkpoint's signature is not a head's
    code, out = verify(config, "--against-whmcs")
    assert code == 1
    assert "the signed chain head does not match the 3 row(s) there are" in out and "cut off" in out, out


def test_tamper_14_rewrite_strip_the_signatures_and_delete_the_key(state: Path):
    """From the issue-17 break test: the chain rewritten, its head's signature and checkpoints removed and
    signing-key.pem deleted: `audit verify` said "NOT checked against a signing key" (exit 0) and the next
    `tick` made a new key and signed the forgery. Now no command makes a key for a chain that was signed,
    and verify without the key never says intact."""
    (state.parent / "old-public.pem").write_text(keys.load(state.parent / keys.KEY_FILE).public.pem())  # type: ignore[union-attr]
    with Database(state.parent / "state.db") as db:
        audit.checkpoint(db, "staff")

    def mallory(rows: Rows) -> Rows:
        rows[1]["detail"]["amount"] = "0.00"
        return rows

    forge(state, "DELETE FROM audit_checkpoint", rewrite=mallory)
    forge(state, "UPDATE audit_head SET signature = NULL, fingerprint = NULL")
    (state.parent / keys.KEY_FILE).unlink()

    code, out = verify(state)
    assert code == 1 and "intact" not in out, out
    assert "signing key" in out and "--public-key" in out and "not checked" in out, out
    for command in (["tick"], ["audit", "anchor"]):
        result = CliRunner().invoke(cli.main, ["--config", str(state), *command], catch_exceptions=False)
        assert result.exit_code == 3, (command, result.output)
        assert f"the signing key {state.parent / keys.KEY_FILE} is missing" in result.stderr, result.stderr
        assert "restore" in result.stderr, result.stderr
        assert not (state.parent / keys.KEY_FILE).exists(), command
    code, out = verify(state, "--public-key", str(state.parent / "old-public.pem"))
    assert code == 1 and "the chain head is not signed" in out, out
    # From the second break test: `audit key --new` then said "replaced no key (the chain was never signed)"
    # and the new key vouched for the forgery. A signed chain whose signatures are all gone gets no new key.
    with state.open("a") as config:
        config.write("staff: [alice]\n")
    result = CliRunner().invoke(
        cli.main, ["--config", str(state), "audit", "key", "--new", "--by", "alice"], catch_exceptions=False
    )
    assert result.exit_code == 1 and "signatures are gone" in result.output, result.output
    assert not (state.parent / keys.KEY_FILE).exists()


def test_a_chain_of_rows_without_any_signature_left_is_still_refused_a_new_key(state: Path):
    """Only the rows and the migration record say the chain was signed: enough to refuse a new key."""
    forge(state, "UPDATE audit_head SET signature = NULL, fingerprint = NULL")
    (state.parent / keys.KEY_FILE).unlink()
    result = CliRunner().invoke(cli.main, ["--config", str(state), "audit", "show"], catch_exceptions=False)
    assert result.exit_code == 3 and "is missing" in result.stderr, result.output
    assert not (state.parent / keys.KEY_FILE).exists()


def test_a_lost_key_is_replaced_only_on_purpose_and_the_replacement_recorded(state: Path):
    """The other way back from a lost key than restoring it: `audit key --new`, run by a listed member of
    staff on purpose, records the old and the new fingerprints in the chain. What the lost key signed is then
    checked only with its public half."""
    with state.open("a") as config:
        config.write("staff: [alice, bob]\n")
    old = keys.load(state.parent / keys.KEY_FILE)
    assert old is not None
    (state.parent / "old.pem").write_text(old.public.pem())
    with Database(state.parent / "state.db") as db:
        audit.checkpoint(db, "staff")
    (state.parent / keys.KEY_FILE).unlink()

    def key(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli.main, ["--config", str(state), "audit", "key", *args], catch_exceptions=False)
        return result.exit_code, result.output

    code, out = key("--new", "--by", "mallory")
    assert code == 1 and "'mallory' is not one of the configured staff" in out, out
    assert not (state.parent / keys.KEY_FILE).exists()
    code, out = key("--new", "--by", "Alice", "--note", "the disk with the key died")
    assert code == 0, out
    new = keys.load(state.parent / keys.KEY_FILE)
    assert new is not None and new.fingerprint != old.fingerprint
    assert (state.parent / keys.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert f"replaced {old.fingerprint}" in out and new.fingerprint in out, out
    code, out = key("--new", "--by", "bob")
    assert code == 1 and "exists" in out, out

    result = CliRunner().invoke(
        cli.main, ["--config", str(state), "audit", "show", "--action", "audit.key_replaced", "--json"]
    )
    [row] = json.loads(result.output)
    assert row["actor"] == "staff:alice" and row["detail"]["new_fingerprint"] == new.fingerprint
    assert row["detail"]["old_fingerprints"] == [old.fingerprint] and row["detail"]["os_user"]

    code, out = verify(state)
    assert code == 1 and "intact" not in out and old.fingerprint in out and "--public-key" in out, out
    (state.parent / "new.pem").write_text(new.public.pem())
    code, out = verify(state, "--public-key", str(state.parent / "new.pem"), "--public-key", str(state.parent / "old.pem"))
    assert code == 0 and "audit chain intact: 6 entries" in out, out


# --- the key itself replaced (issue 17's hostile test, H4) ----------------------------------------------------


def pin(config: Path, fingerprint: str) -> None:
    """What the installer does once the first start made the key: its fingerprint (as `audit key` prints it) in
    the configuration file, which root owns and the daemon's user cannot rewrite."""
    text = "".join(line for line in config.read_text().splitlines(keepends=True) if "key_fingerprint:" not in line)
    config.write_text(text.replace("  path: state.db\n", f"  path: state.db\n  key_fingerprint: {fingerprint}\n"))


def put_key(config: Path, key: keys.SigningKey) -> None:
    """Another key in place of signing-key.pem (0600), nothing re-signed."""
    path = config.parent / keys.KEY_FILE
    path.unlink()
    path.write_bytes(
        key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def swap_key(config: Path, forger: keys.SigningKey) -> None:
    """Someone who may write the database's folder puts their own key in place of signing-key.pem and re-signs
    the whole chain (head and every checkpoint) with it: every local signature is then theirs."""
    put_key(config, forger)
    # Their own tool, not the bridge: the bridge signs nothing with a key the chain was not signed with.
    with Database(config.parent / "state.db", migrate=False, signing=False) as db:
        db.signer = forger
        with db.atomic() as conn:
            for point in audit.checkpoints(db):
                signature = forger.sign(audit.statement(point.count, point.hash))
                conn.execute(
                    "UPDATE audit_checkpoint SET signature = ?, fingerprint = ? WHERE count = ?",
                    (signature, forger.fingerprint, point.count),
                )
        audit.sign_head(db)


def test_tamper_15_replace_the_key_and_re_sign_the_chain_against_a_pinned_fingerprint(state: Path):
    """From the issue-17 hostile test (H4): the key file beside the database replaced and the whole chain
    re-signed with the new key made the default `audit verify` say intact. The fingerprint pinned in the
    configuration (root's file) is what a key in the database's folder cannot vouch for itself."""
    bridge = fingerprint(state.parent)
    with Database(state.parent / "state.db") as db:
        audit.checkpoint(db, "staff")
    pin(state, bridge)
    code, out = verify(state)
    assert code == 0 and f"signed with {bridge}, the key pinned in the configuration" in out, out
    assert "would not be detected" not in out, out

    mallory = keys.SigningKey.generate()
    swap_key(state, mallory)
    code, out = verify(state)
    assert code == 1 and "intact" not in out, out
    assert f"signed with {mallory.fingerprint}, not the key pinned in the configuration ({bridge}" in out, out
    code, out = verify(state, "--json")
    assert code == 1 and "intact" not in out, out


def test_a_key_file_swapped_without_re_signing_is_named_as_a_key_problem_not_tampering(state: Path):
    """From the issue-17 outside test: signing-key.pem replaced by another key (the chain untouched) made
    `audit verify` say "chain broken at row N", as if rows had been tampered with. The key is what is wrong:
    its fingerprint against the pinned one (or, unpinned, the one the head was signed with)."""
    bridge = fingerprint(state.parent)
    with Database(state.parent / "state.db") as db:
        audit.checkpoint(db, "staff")
    other = keys.SigningKey.generate()
    put_key(state, other)
    code, out = verify(state)
    assert code == 1 and "chain broken" not in out and "intact" not in out, out
    assert f"the signing key {state.parent / keys.KEY_FILE} is {other.fingerprint}, not {bridge}, the key" in out, out
    assert "the audit log was signed with" in out and "no row was checked" in out, out
    pin(state, bridge)
    code, out = verify(state)
    assert code == 1 and "chain broken" not in out, out
    assert f"is {other.fingerprint}, not {bridge}, the key pinned in the configuration (state.key_fingerprint" in out
    code, out = verify(state, "--json")
    assert code == 1 and "chain broken" not in out and other.fingerprint in out, out
    pin(state, other.fingerprint)  # the pin follows the swapped key: the log itself says which key signed it
    code, out = verify(state)
    assert code == 1 and f"head is signed with {bridge}, not {other.fingerprint}, the key pinned" in out, out
    assert f"({bridge}) back" not in out, out


def test_verify_never_tells_staff_to_put_back_a_key_that_is_not_the_pinned_one(state: Path):
    """From the issue-17 outside test (H1): rows signed by a swapped-in key B while the pin named A; with A put
    back, `audit verify` told staff to put B back, and said the pin named B too. The pinned key is the only
    one it recommends; the rows signed with another key are what the backups and WHMCS's anchors settle."""
    original = keys.load(state.parent / keys.KEY_FILE)
    assert original is not None
    bridge = original.fingerprint
    pin(state, bridge)
    mallory = keys.SigningKey.generate()
    swap_key(state, mallory)
    put_key(state, original)
    code, out = verify(state)
    assert code == 1 and "intact" not in out and "chain broken" not in out, out
    assert f"head is signed with {mallory.fingerprint}, not {bridge}, the key pinned in the configuration" in out, out
    assert f"({mallory.fingerprint}) back" not in out and "the pin names it too" not in out, out
    assert "restore the state database from a backup" in out and "--against-whmcs" in out, out


def test_without_a_pinned_key_verify_says_a_replaced_key_would_not_be_detected(state: Path):
    mallory = keys.SigningKey.generate()
    swap_key(state, mallory)
    code, out = verify(state)
    assert code == 0, out
    assert "no key is pinned" in out and "a replaced key (with the chain re-signed) would not be detected" in out
    assert f"key_fingerprint: {mallory.fingerprint}" in out and "--against-whmcs" in out, out
    result = CliRunner().invoke(cli.main, ["--config", str(state), "audit", "key"], catch_exceptions=False)
    assert f"key_fingerprint: {mallory.fingerprint}" in result.output, result.output
