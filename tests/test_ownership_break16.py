"""Fifteenth break round, issue 17, the findings left for the next session: secrets written in ways the mask did
not know (HIGH 2); a staff note under review with polling off (MEDIUM 1); the list of replies to classify naming a
note (MEDIUM 2)."""

from __future__ import annotations

import pytest

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
