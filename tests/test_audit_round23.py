"""Twenty-third break round, the keyed audit chain and signed dossiers.

H (tail cut and re-signed): the rows since the last anchor deleted from state.db and the head fixed up to the
new last row, without the key: `audit verify` said broken, but the next append (any command: an export, an
anchor) signed the cut head without checking it, after which everything said ok. The bridge now checks, before
it signs a new head, that the chain it extends is the one its last signature covered; otherwise it refuses.

M (a dossier across a key rotation): after `audit key --new` an honest dossier carried checkpoints signed by the
old key and verify-dossier took one --public-key, so it verified with neither key."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import Sandbox, sql
from tests.test_audit_tamper import forge, verify, write_config
from tests.test_ownership_dossier_verify import AT as AT_BUILT
from tests.test_ownership_dossier_verify import CASE, LETTER, build, problems, resign
from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import AuditChainError
from whmcs_bridge.evidence import folder, keys
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

AT = "2026-11-26T10:00:00+00:00"
REFUSED = "is not the chain the bridge last signed"
LETTER_SHA = hashlib.sha256(LETTER).hexdigest()


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


# --- H (design), in part: evidence facts the chain holds and the state lost or changed ----------------------------


def edited_dossier(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> tuple[Path, keys.PublicKey]:
    """A dossier whose case state was edited before the bridge signed it (as an export from an edited database
    would be), and the bridge's public key."""
    out = tmp_path / "dossier"
    with Database(tmp_path / "state.db") as db:
        build(out, db)
        manifest = json.loads((out / "manifest.json").read_text())
        edit(manifest["case"])
        assert db.signer is not None
        resign(out, manifest, db.signer)
        return out, db.signer.public


def test_an_attached_evidence_item_dropped_from_the_state_is_named(tmp_path: Path):
    """The break tester dropped the holder's counter-evidence (attached, not yet checked) from the state: the
    dossier verified without it. Its attach row is in the chain, so the item must be in the case."""
    out, key = edited_dossier(tmp_path, lambda case: case.update(evidence=[]))
    assert problems(out, key) == [
        f"the evidence attached of {AT_BUILT} (SHA-256 {LETTER_SHA[:16]}…) is in the audit chain but not in the "
        "case's state"
    ]


def test_an_evidence_items_source_edited_in_the_state_is_named(tmp_path: Path):
    """Who WHMCS says wrote the message an item came from (`source`) is part of its attach row."""
    out, key = edited_dossier(
        tmp_path, lambda case: case["evidence"][0].update(source="forwarded by staff in ticket #1 note 1")
    )
    assert problems(out, key) == [
        "evidence item 1 (None from None via None, dated undated) has no attach entry matching it in the audit chain"
    ]


# The dossier's link and action tables come from the consent_link and outbox tables, not keyed either: each is
# checked against the rows the click, the staff decision and the executor left in the chain.
LINK = {
    "id": 1,
    "purpose": "ownership-holder",
    "created_at": "2026-11-01T10:00:00+00:00",
    "expires_at": "2026-11-15T10:00:00+00:00",
    "used_at": AT_BUILT,
    "decision": "accept",
    "ip": "192.0.2.1",
    "user_agent": "Mozilla/5.0",
}
DONE_AT = "2026-11-03T10:00:00+00:00"
ACTION = {
    "key": "wb-registrant",
    "kind": "registrant_update",
    "status": "done",
    "created_at": AT_BUILT,
    "finished_at": DONE_AT,
    "decided_by": "alice",
    "error": None,
}


def tables_dossier(tmp_path: Path, edit: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None]) -> Path:
    """A dossier with one used link and one approved action done, their rows in the chain; `edit` changes the
    tables before the bridge signs them (as an export from a database edited there would)."""
    out = tmp_path / "dossier"
    with Database(tmp_path / "state.db") as db:
        answer = {k: LINK[k] for k in ("decision", "ip", "user_agent")}
        subject = f"ownership:{CASE}"
        audit.append(
            db,
            "consent.decided",
            actor="link-holder",
            subject=f"ownership-holder:{CASE}",
            case_id=CASE,
            detail={"purpose": "ownership-holder", "subject": CASE, **answer, "link": 1},
            at=AT_BUILT,
        )
        decision = {"action": 1, "key": ACTION["key"], "kind": ACTION["kind"], "reason": "", "was": "awaiting_approval"}
        audit.append(db, "staff.approved", actor="staff:alice", subject=subject, detail=decision, at=AT_BUILT)
        done: dict[str, Any] = {"key": ACTION["key"], "kind": ACTION["kind"], "params": {}}
        audit.append(db, "executor.done", actor="executor", subject=subject, detail=done, at=DONE_AT)
        rows = dossier.case_rows(db, CASE)
        segment = audit.segment(db, rows[0]["id"], rows[-1]["id"], at=DONE_AT)
        links, actions = [dict(LINK)], [dict(ACTION)]
        edit(links, actions)
        case = {"id": CASE, "answers": [{"party": "holder", "at": AT_BUILT, **answer}], "evidence": [], "history": []}
        writer = folder.FolderWriter(out)
        writer.add_text("summary.html", f"<!doctype html><title>Ownership case {CASE}</title>")
        assert db.signer is not None
        writer.seal(
            format=dossier.FORMAT,
            key=db.signer,
            exported_at=DONE_AT,
            sections={"case": case, "links": links, "actions": actions},
            segment=segment,
            own_rows=[r["id"] for r in segment.rows if dossier.is_case_row(r, CASE)],
        )
        (tmp_path / "key.pem").write_text(db.signer.public.pem())
    return out


def test_the_link_and_action_tables_as_recorded_verify(tmp_path: Path):
    out = tables_dossier(tmp_path, lambda links, actions: None)
    assert dossier.verify(out, keys.PublicKey.from_file(tmp_path / "key.pem"))["case"]["id"] == CASE


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda links, actions: links[0].update(used_at="2026-12-20T23:00:00+00:00"),
            "link 1 (ownership-holder) used 2026-12-20T23:00:00+00:00 (accept): the audit chain recorded no "
            "answer through it then",
        ),
        (
            lambda links, actions: links[0].update(used_at=None, decision=None, ip=None, user_agent=None),
            f"link 1 (ownership-holder) shows no use, but the audit chain recorded an answer through it of {AT_BUILT}",
        ),
        (
            lambda links, actions: actions[0].update(decided_by="mallory"),
            "action wb-registrant (registrant_update) approved or rejected by mallory: the audit chain recorded no "
            "such decision by them",
        ),
        (
            lambda links, actions: actions[0].update(status="parked"),
            f"action wb-registrant (registrant_update) is parked, but the audit chain recorded it done at {DONE_AT}",
        ),
        (
            lambda links, actions: actions.append(
                {**ACTION, "key": "wb-lock", "kind": "domain_lock", "decided_by": None}
            ),
            f"action wb-lock (domain_lock) done at {DONE_AT}: the audit chain recorded no such outcome",
        ),
    ],
)
def test_link_and_action_tables_edited_in_the_database_are_named(
    tmp_path: Path, edit: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None], named: str
):
    """The break tester set the holder's link used weeks later, an action approved by mallory and done: the
    signed dossier showed it and verified."""
    out = tables_dossier(tmp_path, edit)
    assert problems(out, keys.PublicKey.from_file(tmp_path / "key.pem")) == [named]


REGISTRANT = {"First_Name": "Budi", "Last_Name": "Santoso", "Organisation_Name": "Kreatif Studio"}
OPENED = {
    "command": "open",
    "case": CASE,
    "by": "alice",
    "grounds": "vendor",
    "note": "requested by the new owner's lawyer",
    "subjects": [{"kind": "domain", "id": 20, "name": "majumakmur.co.id", "registrant_before": REGISTRANT}],
}


def opened_dossier(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A dossier of a case opened by staff (its open command's row in the chain); `edit` changes the case's state
    before the bridge signs it."""
    out = tmp_path / "dossier"
    with Database(tmp_path / "state.db") as db:
        audit.append(db, f"{dossier.STAFF_COMMAND}open", actor="staff:alice", case_id=CASE, detail=OPENED, at=AT_BUILT)
        rows = dossier.case_rows(db, CASE)
        segment = audit.segment(db, rows[0]["id"], rows[-1]["id"], at=AT_BUILT)
        case = {"id": CASE, "note": OPENED["note"], "subjects": json.loads(json.dumps(OPENED["subjects"]))}
        edit(case)
        writer = folder.FolderWriter(out)
        writer.add_text("summary.html", f"<!doctype html><title>Ownership case {CASE}</title>")
        assert db.signer is not None
        writer.seal(
            format=dossier.FORMAT,
            key=db.signer,
            exported_at=AT_BUILT,
            sections={"case": case, "links": [], "actions": []},
            segment=segment,
            own_rows=[r["id"] for r in segment.rows if dossier.is_case_row(r, CASE)],
        )
        (tmp_path / "key.pem").write_text(db.signer.public.pem())
    return out


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda case: None, None),
        (
            lambda case: case.update(note="opened on the holder's own written request"),
            "the case's note is \"opened on the holder's own written request\", but the audit chain recorded "
            '"requested by the new owner\'s lawyer" when the case opened',
        ),
        (
            lambda case: case["subjects"][0]["registrant_before"].update(Organisation_Name="PT Maju Makmur"),
            "domain #20 (majumakmur.co.id)'s registrant before the change is not the one the audit chain recorded "
            "when the case opened",
        ),
    ],
)
def test_the_opening_note_and_previous_registrant_are_the_ones_the_chain_recorded(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], named: str | None
):
    """The break tester rewrote the opening note (the Grounds line) and the domain's previous WHOIS registrant in
    the database; both come from the staff command that opened the case, whose row holds them."""
    out = opened_dossier(tmp_path, edit)
    key = keys.PublicKey.from_file(tmp_path / "key.pem")
    if named is None:
        assert dossier.verify(out, key)["case"]["id"] == CASE
    else:
        assert problems(out, key) == [named]


CUT_CASE = {
    "id": "o1",
    "status": "collecting",
    "opened": AT,
    "subjects": [],
    "holder": {"client": 1, "name": "Ana"},
    "requester": {"client": 2, "name": "Ben"},
    "grounds": "vendor",
    "note": "",
    "evidence": [],
    "history": [],
    "approvals": [],
}


def test_an_export_signs_no_dossier_over_a_cut_chain(tmp_path: Path):
    """The break tester's export wrote a signed dossier of the cut chain (its segment closed by the anchor before
    the cut) before it failed to record itself; now nothing is written."""
    config = recorded(tmp_path, 4)
    with Database(tmp_path / "state.db") as db:
        sql(
            db,
            "INSERT INTO family_state (family, key, state, updated_at) VALUES ('ownership', ?, ?, ?)",
            "case:o1",
            json.dumps(CUT_CASE),
            AT,
        )
        audit.checkpoint(db, "decision", at=AT)
    cut_tail(config, 2)
    with Database(tmp_path / "state.db") as db, pytest.raises(AuditChainError) as refused:
        dossier.export(cli.Context(str(config)).config(), db, "o1", tmp_path / "dossier", now=datetime.now(UTC))
    assert REFUSED in str(refused.value)
    assert not (tmp_path / "dossier").exists()
