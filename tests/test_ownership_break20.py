"""Issue 17 against the sandbox: the nineteenth break round's open MEDIUMs and the twentieth round's findings.

Nineteenth round M1: a claim on a whole client account watches what the account holds. A service or a domain moved
out of the account in WHMCS's admin area while the case is open or disputed left the claim without anyone noticing;
it is found by the next check and raised to staff, as a move of a claimed service or domain is. M4: a file attached
to a later reply or a note of a ticket is taken as evidence."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_late_break12 import completed_case
from tests.test_ownership_locks import staff_tickets
from whmcs_bridge import engine
from whmcs_bridge.cli import app as cli
from whmcs_bridge.errors import EnvironmentProblem
from whmcs_bridge.evidence import folder
from whmcs_bridge.families.ownership.watch import expected, watched
from whmcs_bridge.sandbox.documents import text_pdf


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_a_service_moved_out_of_a_disputed_account_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "client:20")
    requests.post(world.link(20, "Ownership request"), data={"decision": "decline", "reason": "mine"}, timeout=5)
    world.settle()
    assert world.case(case_id)["status"] == "disputed"
    world.later(hours=2)
    assert not staff_tickets(world, case_id, "moved in WHMCS")  # nothing moved yet
    world.sandbox.control("move", {"service": 201, "client": 22})  # out of the claimed account
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "moved in WHMCS while disputed")
    assert "service #201" in text or "majumakmur.co.id" in text, text
    assert "(#22)" in text, text
    assert [h["what"] for h in world.case(case_id)["history"]][-1] == "moved in WHMCS while disputed"
    world.later(hours=6)
    assert len(staff_tickets(world, case_id, "moved in WHMCS while disputed")) == 1  # raised once


def test_a_domain_moved_out_of_an_account_not_approved_yet_is_raised_to_staff(world: World):
    case_id = open_and_document(world, "client:20")
    world.settle()
    assert world.case(case_id)["status"] not in ("disputed", "completed")
    domain = next(d["id"] for d in world.sandbox.rows("domains", client_id=20))
    world.sandbox.control("move", {"domain": domain, "client": 22})
    world.later(hours=4)
    [text] = staff_tickets(world, case_id, "moved in WHMCS while not approved yet")
    assert f"domain #{domain}" in text or ".id" in text, text
    assert "(#22)" in text, text


def test_a_locked_account_watches_what_it_held_at_approval():
    """Locked after its completion, the account moved (its owner user changed) and what it held at the approval
    stays in it: a service moved out of it is a move while locked."""
    case = {
        "status": "completed",
        "subjects": [
            {"kind": "client", "id": 20, "holder_ref": 1, "moved_to": 7, "hand_over": "move",
             "contents": ["service:201"], "contents_approved": ["service:201", "domain:20"]},
        ],
    }  # fmt: skip
    items = {f"{s['kind']}:{s['id']}": expected(case, s) for s in watched(case)}
    assert items == {"client:20": (7,), "service:201": (20,), "domain:20": (20,)}


def attachments(*files: tuple[str, bytes]) -> str:
    """OpenTicket/AddTicketReply/AddTicketNote's `attachments`: base64 of a JSON list of {name, data in base64}
    (DD:api-reference/addticketreply.md)."""
    listed = [{"name": name, "data": base64.b64encode(data).decode()} for name, data in files]
    return base64.b64encode(json.dumps(listed).encode()).decode()


PROXY = text_pdf(["the director's proxy, sent later in the thread, signed and stamped"])
EXTRACT = text_pdf(["a registry extract received by post and scanned by staff"])


def test_a_file_attached_to_a_later_reply_or_a_note_is_taken_as_evidence(world: World):
    """Nineteenth round, MEDIUM 4: `attach --ticket` read only the ticket's opening message, so a document the
    requester sent in a later reply (or staff attached to a note) could not be taken from WHMCS."""
    case_id = open_and_document(world, "domain:20")
    world.sandbox.control(
        "act",
        {"action": "AddTicketReply", "ticketid": 1, "clientid": 21, "message": "The proxy, signed.",
         "attachments": attachments(("proxy.pdf", PROXY))},
    )  # fmt: skip
    world.sandbox.control(
        "act",
        {"action": "AddTicketNote", "ticketid": 1, "message": "Extract received by post, scanned.",
         "attachments": attachments(("readme.txt", b"nothing"), ("extract.pdf", EXTRACT))},
    )  # fmt: skip
    reply = [r for r in world.sandbox.rows("ticket_replies", ticket_id=1)][-1]["id"]
    note = [n for n in world.sandbox.rows("ticket_notes", ticket_id=1)][-1]["id"]
    listed = world.sandbox.post("GetTicket", ticketid=1, repliessort="ASC").json()
    assert listed["replies"]["reply"][-1]["attachments"] == [{"filename": "proxy.pdf", "index": 0}]
    assert [a["filename"] for a in listed["notes"]["note"][-1]["attachments"]] == ["readme.txt", "extract.pdf"]
    common = ["--from", "requester", "--via", "ticket", "--by", "alice"]
    world.run("ownership", "attach", case_id, "--ticket", f"1:{reply}", "--kind", "signatory-id", *common)
    world.run(
        "ownership", "attach", case_id, "--ticket", f"1:n{note}", "--index", "1", "--kind", "registry-extract", *common
    )
    items = world.case(case_id)["evidence"]
    assert [(e["name"], e["sha256"]) for e in items[-2:]] == [
        ("proxy.pdf", hashlib.sha256(PROXY).hexdigest()),
        ("extract.pdf", hashlib.sha256(EXTRACT).hexdigest()),
    ]
    assert (items[-2]["ticket"], items[-2]["message"]) == (1, f"1:{reply}")
    # A reply of another ticket, named as if it were this one's, is refused: what WHMCS says the ticket holds.
    other = world.sandbox.rows("ticket_replies")[-1]
    elsewhere = next(r for r in world.sandbox.rows("ticket_replies") if r["ticket_id"] != 1)
    refused = world.fail("ownership", "attach", case_id, "--ticket", f"1:{elsewhere['id']}", "--kind", "other", *common)
    assert f"ticket #1 has no reply {elsewhere['id']}" in refused, refused
    assert other  # the thread holds replies; only the one named is not of it
    refused = world.fail(
        "ownership", "attach", case_id, "--ticket", f"1:{reply}", "--index", "3", "--kind", "other", *common
    )
    assert f"ticket #1 reply {reply} attachment 3: WHMCS says" in refused, refused


def test_a_whole_account_grant_is_refused_while_a_domain_the_account_holds_is_locked(world: World):
    """Round 20 (ownership), MEDIUM 1: after a completion locked domain 20 with the company, a grant on the domain to
    the vendor it was taken from was refused, but one on the company's whole account, which holds the domain, went
    through: the vendor was its technical contact again."""
    completed_case(world)  # domain 20 moved to the company, locked
    for how in ([], ["--request"]):
        refused = world.fail(
            "delegations", "grant", "--owner", "21", "--delegate", "20", "--whole-client", *how, "--by", "alice",
            "--basis", "the vendor asks",
        )  # fmt: skip
        assert "domain #20" in refused and "locked until" in refused, refused
    assert "active" not in world.run("delegations", "list").output


@pytest.mark.parametrize(
    "args", [["ownership", "show", "\udcff"], ["ownership", "cancel", "o1", "--by", "alice", "--note", "caf\udce9"]]
)
def test_an_argument_that_is_not_utf8_is_a_usage_error_not_a_traceback(args: list[str]):
    """Round 20 (ownership), MEDIUM 3: bytes that are not UTF-8 in an argument (a Latin-1 terminal) reached SQLite
    and ended in a UnicodeEncodeError traceback."""
    result = CliRunner().invoke(cli.main, ["--config", "/nonexistent.yaml", *args])
    assert result.exit_code == 2 and "is not UTF-8 text" in result.output, result.output
    assert "Traceback" not in result.output


def test_a_dossier_folder_name_too_long_for_the_file_system_is_one_sentence(tmp_path: Path):
    """Round 20 (ownership), MEDIUM 4: `export --out` with a 300-character folder name ended in an OSError
    traceback (the first look at the folder raised ENAMETOOLONG)."""
    with pytest.raises(EnvironmentProblem, match="cannot create .*: File name too long"):
        folder.FolderWriter(tmp_path / ("x" * 300))
    assert list(tmp_path.iterdir()) == []


def test_a_written_reply_recorded_as_a_phone_answer_is_refused(world: World):
    """Round 20 (ownership), LOW 6: `record-answer --via phone --reply T:R` classified the holder's written reply and
    the dossier said the holder objected by phone."""
    case_id = open_and_document(world, "domain:20")
    thread = next(
        t for t in world.sandbox.rows("tickets", client_id=20) if t["subject"].startswith(f"Ownership case {case_id}")
    )
    world.sandbox.control(
        "act", {"action": "AddTicketReply", "ticketid": thread["id"], "clientid": 20, "message": "Saya keberatan"}
    )
    world.settle(3)
    [reply] = world.case(case_id)["replies"]
    refused = world.fail(
        "ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via", "phone",
        "--reply", f"{thread['id']}:{reply['reply']}", "--by", "alice",
    )  # fmt: skip
    assert "own reply, written in the ticket: record it --via ticket" in refused, refused
    assert world.case(case_id)["replies"][0]["classified"] is None


def test_a_projection_cut_by_its_bound_says_so(world: World, monkeypatch: pytest.MonkeyPatch):
    """Round 20 (ownership), 5: two watched cases (a check each hour) filled `plan --at` two months out with 999
    checks up to mid-December and nothing said the projection stopped there: the lock's end was not shown. Since
    round 21 (M4) routine reads do not count toward the bound; the walk's own bound (engine.STEPS, made small
    here) still ends a projection, and says so."""
    monkeypatch.setattr(engine, "STEPS", 50)
    for subject in ("domain:20", "service:201"):
        world.run(
            "ownership",
            "open",
            "--subject",
            subject,
            "--requester",
            "client:21",
            "--grounds",
            "vendor",
            "--by",
            "alice",
        )
    world.settle()
    far = (datetime.now(UTC) + timedelta(days=90)).isoformat(timespec="seconds")
    shown = world.run("plan", "--at", far).output
    assert "the projection stopped at" in shown and "deadlines (of which at most 1,000 not routine reads)" in shown, (
        shown[-600:]
    )
    cut = [line for line in json.loads(world.run("plan", "--at", far, "--json").output) if line["what"] == "cut"]
    assert len(cut) == 1 and cut[0]["at"] < far, cut


def test_a_dossier_is_not_written_into_the_evidence_store(world: World):
    """Round 20 (ownership), LOW 8: `export --out` inside the bridge's evidence store was accepted."""
    case_id = open_and_document(world, "domain:20")
    inside = world.tmp / "evidence" / "dossier"
    refused = world.fail("ownership", "export", case_id, "--out", str(inside))
    assert "is inside the evidence store" in refused and not inside.exists(), refused


def test_the_folders_an_export_makes_on_its_way_are_private(tmp_path: Path):
    """Round 20 (ownership), LOW 8: `export --out a/b/dossier` made a and b with mode 0755."""
    with folder.FolderWriter(tmp_path / "a" / "b" / "dossier"):
        pass
    assert [oct((tmp_path / p).stat().st_mode & 0o777) for p in ("a", "a/b")] == ["0o700", "0o700"]
