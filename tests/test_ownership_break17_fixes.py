"""Seventeenth break round, the ownership family's findings: a secret holding markup's signs kept whole or in part
(HIGH 1); a configured template with an unknown filter crashing `check` (HIGH 2); a dossier nested past Python's
recursion limit crashing `verify-dossier` (HIGH 3); an outside requester given the holder's own address (MEDIUM 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import Sandbox, staff_login
from tests.test_ownership_dossier_verify import build
from tests.test_ownership_e2e import World, vendor_world
from whmcs_bridge.cli.app import main
from whmcs_bridge.errors import ConfigError
from whmcs_bridge.messages import catalogue, load
from whmcs_bridge.pasted import masked
from whmcs_bridge.store.db import Database

NESTED = "[" * 100000 + "]" * 100000


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("EPP code: Ab3<xY9!qz", "EPP code: [hidden]"),
        ("password: Q7'u>tT2#w", "password: [hidden]"),
        ("EPP code: Rk4$e>Wq8z", "EPP code: [hidden]"),
        ('password: ab"cd1234', "password: [hidden]"),
        ("EPP code: Ab3&lt;xY9!qz", "EPP code: [hidden]"),
        ("EPP code: Ab3&lt;xY9!qz&gt; please", "EPP code: [hidden] please"),
        ("EPP code: <Ab12Cd34> ok", "EPP code: [hidden] ok"),
        ("EPP code: Ab3<xY9!qz and then >", "EPP code: [hidden] and then >"),
        ("the EPP code Ab3<xY9!qz.", "the EPP code [hidden]"),
        ("password: 'Q7'u>tT2#w' ok", "password: '[hidden]' ok"),
        ("login: budi / Ab3<xY9!qz", "login: budi / [hidden]"),
        ("<p>EPP code: Rk4$e&gt;Wq8z</p>", "<p>EPP code: [hidden]</p>"),
        ("the code Tr4n:sF3r9 from the registrar", "the code [hidden] from the registrar"),
        ("x/Y7z9Q2w", "[hidden]"),
        ("pls use Ab12|Cd34xy now", "pls use [hidden] now"),
    ],
)
def test_a_secret_holding_markups_signs_is_masked_whole(said: str, kept: str):
    """HIGH 1: a value after its label stopped at `<`, `>`, a quote or `&` (escaped as an email or a ticket gives
    it): "EPP code: Ab3<xY9!qz" was kept whole, "Rk4$e>Wq8z" kept ">Wq8z"; a generated-shaped code holding `:`,
    `=`, `/` or `|` was kept without a label."""
    assert masked(said) == kept


@pytest.mark.parametrize(
    "said",
    [
        "Meet at 10:30, ratio 16:9, on 2026-11-27 or 27/11/2026.",
        "Files are in /home/user/Budi2024/Docs and C:/Users/Budi/Desktop.",
        "See https://www.o2switch.fr/Contact2024/Form7 or budi.Santoso2@kreatif.id or Maju-Makmur2.co.id",
        "Windows/Office365 and Budi/Admin2024 are installed; lang=FR, Re:Invoice2024",
        "Use <b>bold</b> and <a href=\"https://x.id\">the link</a>, a &amp; b, x < y > z.",
        "The password: don't know it, the EPP code is never to be given.",
        "Nama <budi@kreatif.id> menulis:",
    ],
)
def test_harmless_words_with_markups_signs_are_kept(said: str):
    assert masked(said) == said


@pytest.fixture()
def dossier_and_key(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A sealed dossier (as `export` seals it) and its public key in a file."""
    with Database(tmp_path / "state.db") as db:
        build(tmp_path / "dossier", db)
        assert db.signer is not None
        (tmp_path / "key.pem").write_text(db.signer.public.pem())
    yield tmp_path / "dossier", tmp_path / "key.pem"


def verify_dossier(out: Path, key: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ownership", "verify-dossier", str(out), "--public-key", str(key)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def test_a_manifest_nested_past_the_recursion_limit_is_refused_in_one_sentence(dossier_and_key: tuple[Path, Path]):
    """HIGH 3: a manifest.json of 100000 nested arrays crashed `verify-dossier` with a RecursionError."""
    out, key = dossier_and_key
    (out / "manifest.json").write_text("{nope")
    broken = verify_dossier(out, key)
    (out / "manifest.json").write_text(NESTED)
    code, said = verify_dossier(out, key)
    assert code == broken[0] != 0 and "manifest.json is not valid JSON" in said and "Traceback" not in said, said
    assert len(said.strip().splitlines()) == 1, said


def test_audit_rows_nested_past_the_recursion_limit_are_a_named_problem(dossier_and_key: tuple[Path, Path]):
    """HIGH 3: so was an audit.jsonl line of 100000 nested arrays."""
    out, key = dossier_and_key
    with (out / "audit.jsonl").open("a") as rows:
        rows.write(NESTED + "\n")
    code, said = verify_dossier(out, key)
    assert code == 1 and "audit.jsonl line 6: not an audit row" in said and "Traceback" not in said, said


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        (
            "Demande {{ case }}",
            "<p>Répondez avant le {{ deadline | date }} : {{ consent_link }}</p>",
            r"^bridge\.yaml:6: ownership\.holder_asked \(fr\) body: No filter named 'date'\.$",
        ),
        ("Demande {{ case | shout }}", "<p>{{ consent_link }}</p>", r"^bridge\.yaml:5: .* subject: No filter named 'shout'"),
    ],
)
def test_a_configured_template_with_an_unknown_filter_is_refused_in_one_sentence(subject: str, body: str, expected: str):
    """HIGH 2: a configured template using a filter Jinja does not have (`deadline | date`) crashed `check` and `run`
    with jinja2's TemplateAssertionError: it is only found when the template is compiled, not when it is parsed."""
    text = (
        "messages:\n  templates:\n    ownership.holder_asked:\n      fr:\n"
        f"        subject: {subject!r}\n        body: {body!r}\n"
    )
    problems: list[str] = []
    mine = catalogue.read_overrides(yaml.compose(text, Loader=yaml.SafeLoader), "bridge.yaml", problems)
    assert problems == []
    with pytest.raises(ConfigError, match=expected):
        catalogue.build(load.all_specs(), load.shipped_templates(), mine)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


@pytest.mark.parametrize("address", ["BUDI@kreatifstudio.id", " budi@KreatifStudio.ID"])
def test_an_outside_requester_given_the_holders_own_address_is_refused(world: World, address: str):
    """MEDIUM 4: `--requester "PT X, BUDI@kreatifstudio.id"` on domain:21 was taken although the address is its
    holder's (client #20): the requester's links and messages would have gone to the holder."""
    args = ("ownership", "open", "--subject", "domain:21", "--requester", f"PT X,{address}", "--grounds", "vendor",
            "--by", "alice")  # fmt: skip
    result = world.runner.invoke(main, ["--config", str(world.config), *args], env=staff_login(args))
    assert result.exit_code == 2, result.output
    said = result.output.strip()
    assert address.strip() in said and "client #20" in said and "holds" in said and len(said.splitlines()) == 1, said
    assert world.run("ownership", "list").output.count("domain:21") == 0
