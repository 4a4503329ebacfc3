"""Fifteenth break round, issue 17, the findings left for the next session: secrets written in ways the mask did
not know (HIGH 2); a staff note under review with polling off (MEDIUM 1); the list of replies to classify naming a
note (MEDIUM 2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox
from tests.test_ownership_answers import reply_as, thread_of
from tests.test_ownership_break13 import waiting
from tests.test_ownership_break13_words import files_holding
from tests.test_ownership_break15 import PHONED, add_note
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_rules import FAMILY, documented, opened
from whmcs_bridge.model import Event
from whmcs_bridge.pasted import masked


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ('authcode "Quoted-Auth-88"', 'authcode "[hidden]"'),
        ("EPP 'Bare Quoted 77'", "EPP '[hidden]'"),
        ("pw: Kx9vv!", "pw: [hidden]"),
        ("pass=Kx9vv!2", "pass=[hidden]"),
        ("PIN: 4711", "PIN: [hidden]"),
        ("passwort: Geheim-2026", "passwort: [hidden]"),
        ("Kennwort = Geheim-2026", "Kennwort = [hidden]"),
        ("kata kunci: Rahasia-88", "kata kunci: [hidden]"),
        ("auth_info Zq81-ppXv", "auth_info [hidden]"),
        ("auth-info: Zq81-ppXv", "auth-info: [hidden]"),
        ("transfer-code: Zq81-ppXv", "transfer-code: [hidden]"),
        ("password - hunter22", "password - [hidden]"),
        ("wachtwoord – geheim99 groet", "wachtwoord – [hidden] groet"),
        ("login: budi / Rahasia-88", "login: budi / [hidden]"),
        ("cPanel login budi/Rahasia-88 ok", "cPanel login budi/[hidden] ok"),
        ("identifiants : martin | Azerty-2026", "identifiants : martin | [hidden]"),
        ("sandi Rahasia99!", "sandi [hidden]"),
        ("the EPP code Nocolon55aa.", "the EPP code [hidden]"),
        # Everyday words stay.
        ("EPP code SubjEpp-7781zz - domain kami", "EPP code [hidden] - domain kami"),
        ("Bypass: yes", "Bypass: yes"),
        ("I will pass this on: thanks", "I will pass this on: thanks"),
        ("Login: https://majumakmur.co.id/cpanel", "Login: https://majumakmur.co.id/cpanel"),
        ("reset the password tomorrow", "reset the password tomorrow"),
        ("the token 2026 expired", "the token 2026 expired"),
    ],
)
def test_a_secret_written_any_usual_way_is_masked(said: str, kept: str):
    """HIGH 2 (n2_note_secret_wrong_ids.py): `authcode "X"`, `pw: X`, `pass=X`, `passwort: X`, `auth_info X`,
    `password - X` and `login: budi / X` reached the state database and the dossier in clear; `sandi X!` kept the
    `!` of the password."""
    assert masked(said) == kept


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_shows_list_of_messages_to_classify_names_a_note_and_how_to_record_it(world: World):
    """MEDIUM 2 (n2_note_secret_wrong_ids.py): `ownership show` listed a staff note to classify as "bob (staff)
    replied in ticket #12", without its note id: the `--reply 12:n3` staff must give was nowhere on the line."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    note = add_note(world, thread["id"], PHONED)
    reply_as(world, thread["id"], clientid=20, message="Kami keberatan.")
    world.settle(4)
    shown = world.run("ownership", "show", case_id).output
    lines = [line for line in shown.splitlines() if "NOT CLASSIFIED" in line]
    noted = [line for line in lines if f"--reply {thread['id']}:n{note}" in line]
    assert len(noted) == 1 and all(f"note {note}" in line and "replied" not in line for line in noted), shown
    replied = [line for line in lines if "holder" in line and "bob" not in line]
    assert len(replied) == 1 and all(f"--reply {thread['id']}:" in line for line in replied), shown


def test_a_reminder_come_too_late_to_be_of_use_is_not_sent():
    """LOW (fifteenth round): a reminder the daemon could not send at its time (stopped, WHMCS down) went out at
    23:59 on the deadline day, its link valid one minute. Past a quarter of `remind_before` before the deadline it
    is not sent, and the timeline says so; a late one with time left still goes."""
    state = documented(opened())
    deadline = datetime.fromisoformat(state["deadline"])
    late = FAMILY.decide_one(state, Event(id="t", type="Tick", data={}, source="timer"),
                             deadline - timedelta(minutes=1), "case:o1")  # fmt: skip
    assert [a for a in late.actions if a.kind == "email"] == []
    assert late.state and late.state["reminded"] and "not reminded" in late.state["history"][-1]["what"]
    state = documented(opened())
    still = FAMILY.decide_one(state, Event(id="t", type="Tick", data={}, source="timer"),
                              deadline - timedelta(hours=20), "case:o1")  # fmt: skip
    assert [a.kind for a in still.actions if a.kind == "email"] == ["email"]


@pytest.mark.parametrize(
    ("said", "secret"),
    [
        ("**Password:** `RmArk9down`", "RmArk9down"),
        ("<p>EPP code: <code>RhTml77ab</code></p>", "RhTml77ab"),
        ("password:<br />Br0kenLine", "Br0kenLine"),
        ("password: &quot;My Secret Phrase 1&quot;", "Secret Phrase"),
        ("EPP code: &lt;Ab12Cd34&gt;", "Ab12Cd34"),
        ("password&#58; Ent1ty999", "Ent1ty999"),
        ("Das Kennwort lautet RdEutsch20", "RdEutsch20"),
        ("Auth-Code lautet NdE9code1", "NdE9code1"),
        ("credentials: budi:RpAir5566x", "RpAir5566x"),
        ("nom d'utilisateur: martin / FrPair777", "FrPair777"),
        ("Zugangsdaten: budi / DeZug4ng1", "DeZug4ng1"),
        ("EPP code (for majumakmur.co.id) — RdAsh5678a", "RdAsh5678a"),
        ("Passwords: first1234, second5678", "second5678"),
        ("EPP code: Ab12-Cd34 Ef56", "Ef56"),
        ("ＰＡＳＳＷＯＲＤ: Fullwidth9", "Fullwidth9"),
        ("P@ssword: AtSign123", "AtSign123"),
        ("password, it's Comma7777", "Comma7777"),
        ("my pwd's Apos12345", "Apos12345"),
        ("user budi pass Bud1Pass", "Bud1Pass"),
        ("PIN 4711", "4711"),
        ("kode auth: IdAuth1234", "IdAuth1234"),
        ("The password for the control panel, which I set yesterday after the incident, is Longer5555", "Longer5555"),
        ("Here it is, no label at all: Xy7#pQ2!kLzz", "Xy7#pQ2!kLzz"),
    ],
)
def test_a_secret_behind_markup_another_language_or_no_label_is_masked(said: str, secret: str):
    """Sixteenth round H1, H3 (secrets_e2e.py, mask_corpus.py): 43 of 108 phrasings kept the secret; markdown, HTML
    and its entities, German, login pairs, an em dash, lists, and a code without a label at all."""
    assert secret not in masked(said), masked(said)


@pytest.mark.parametrize(
    "said",
    [
        "The EPP code is never to be given to PT Maju Makmur.",
        "Het wachtwoord is niet gedeeld met de klant.",
        "Le code de transfert est jamais demandé par nous.",
        "Kode EPP adalah bukan milik mereka.",
        "kata sandi: tidak pernah diberikan",
        "Mot de passe: oublié, merci de le réinitialiser",
        "Kennwort: vergessen",
        "Token: thanks for your patience",
        "EPP code: please send it to the company directly",
        "Pin: pinned to the wall of the office",
        "user: Kreatif / role: vendor",
        "login: siti / hosting expired",
        "See invoice INV-2023-0042 and contract CT2023A.",
        "Our registrar is O2switch, see https://www.o2switch.fr/Contact2024 or budi.Santoso2@kreatif.id",
    ],
)
def test_an_everyday_sentence_near_a_label_keeps_its_words(said: str):
    """Sixteenth round M1 (mask_negation.py): "The EPP code is never to be given" became "is [hidden] to be given":
    an objection lost its "not"."""
    assert masked(said) == said


def test_a_secret_staff_type_into_a_note_is_not_kept(world: World):
    """Sixteenth round M3 (cli_note.py): `ownership cancel --note "... EPP code: CliNote99x"` kept the code in the
    state database and the dossier."""
    case_id = open_and_document(world, "domain:20")
    world.run("ownership", "cancel", case_id, "--by", "alice", "--note", "holder phoned; EPP code: CliNote99x")
    world.settle()
    world.run("ownership", "export", case_id, "--out", str(world.tmp / "dossier"))
    assert files_holding(world.tmp, "CliNote99x") == []
    assert "holder phoned; EPP code: [hidden]" in world.run("ownership", "show", case_id).output


def test_the_review_ticket_a_staff_note_raises_names_the_note_and_a_command_that_works(world: World):
    """Sixteenth round M2 (review_ticket_cmd.py): the "Review ownership case" ticket a staff note raised said "The
    holder replied" and gave `record-answer ... --party holder --answer consent|object --via ticket --by NAME`, which,
    pasted, was refused: "written by bob (staff), not the holder: name it with --reply 3:n1"."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    note = add_note(world, thread["id"], PHONED)
    world.settle(4)
    [review] = [
        " ".join(t["message"].split())
        for t in world.sandbox.rows("tickets")
        if t["subject"] == f"Review ownership case {case_id}"
        for t in world.sandbox.rows("ticket_replies", ticket_id=t["id"])[:1]
    ]
    assert "The holder replied" not in review and f"note {note} to ticket #{thread['id']}" in review, review
    command = review.split("(whmcs-bridge ", 1)[1].split(" --by NAME)", 1)[0]
    assert f"--reply {thread['id']}:n{note}" in command, command
    args = command.split()[1:]  # after "ownership": record-answer CASE --party ... --answer A|B|C ...
    args[args.index("--answer") + 1] = "object"
    assert args[args.index("--via") + 1] == "phone|email|post", command  # staff's words never came by ticket (round 21 M2)
    args[args.index("--via") + 1] = "phone"
    world.run("ownership", *args, "--by", "alice", "--note", "Budi phoned: objects")
    world.settle()
    assert world.case(case_id)["status"] == "disputed"


def test_a_reply_classified_meanwhile_by_someone_else_is_named_with_who_did_it(world: World):
    """Sixteenth round M4 (race_e2e.py): alice and bob classified the same reply at once; bob was told "no reply
    ... waits (waiting: none)", not that alice had classified it, nor as what."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    reply_as(world, thread["id"], clientid=20, message="Kami setuju.")
    world.settle(4)
    [found] = waiting(world, case_id)
    pointer = f"{thread['id']}:{found['reply']}"
    world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "consent", "--via", "ticket",
              "--reply", pointer, "--by", "alice", "--note", "agrees")  # fmt: skip
    late = world.fail("ownership", "record-answer", case_id, "--party", "holder", "--answer", "object", "--via",
                      "ticket", "--reply", pointer, "--by", "bob", "--note", "objects")  # fmt: skip
    assert "already classified as consent by alice" in late, late


def test_a_note_set_aside_as_unrelated_is_not_called_the_holders_answer(world: World):
    """Sixteenth round LOW (notes_e2e.py): classifying bob's note `unrelated` printed "classified as unrelated
    (holder's answer)"."""
    case_id = open_and_document(world, "domain:20")
    thread = thread_of(world, case_id, 20)
    note = add_note(world, thread["id"], "Called Budi, no answer; will try again tomorrow. -- bob")
    world.settle(4)
    done = world.run("ownership", "record-answer", case_id, "--party", "holder", "--answer", "unrelated", "--via",
                     "ticket", "--reply", f"{thread['id']}:n{note}", "--by", "alice", "--note", "no answer yet")
    assert "classified as unrelated" in done.output and "holder's answer" not in done.output, done.output


def test_a_reason_written_over_several_lines_cannot_imitate_a_line_of_the_case(world: World):
    """Sixteenth round LOW (reason_inject.py): the holder's reason, printed raw over several lines by `show`, could
    add a line reading "  Approvals: alice, bob (2 of 2)"."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, f"Ownership request {case_id} about")
    reason = "We object.\n  Approvals:\n    alice (2 of 2)\r\n  Status: completed"
    assert requests.post(link, data={"reason": reason, "decision": "decline"}, timeout=10).status_code == 200
    world.settle()
    shown = world.run("ownership", "show", case_id).output.splitlines()
    assert not any(line.strip().startswith(("Approvals:", "alice (2 of 2)", "Status:")) for line in shown), shown
    assert any("We object. Approvals: alice (2 of 2) Status: completed" in " ".join(line.split()) for line in shown)
