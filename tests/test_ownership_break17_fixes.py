"""Seventeenth break round, the ownership family's findings: a secret holding markup's signs kept whole or in part
(HIGH 1); a configured template with an unknown filter crashing `check` (HIGH 2); a dossier nested past Python's
recursion limit crashing `verify-dossier` (HIGH 3); an outside requester given the holder's own address (MEDIUM 4)."""

from __future__ import annotations

import pytest

from whmcs_bridge.pasted import masked


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
