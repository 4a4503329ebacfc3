"""Tamper evidence, what the twentieth round left open: `--public-key` takes the public half only."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_audit_tamper import state, verify  # noqa: F401  (the fixture)
from whmcs_bridge.evidence import keys


def test_a_private_key_given_as_the_public_key_is_refused_with_a_sentence(state: Path):  # noqa: F811
    """`audit verify --public-key` (and `verify-dossier`) read a private key file as if it were the public one, so a
    verifier could be handed the signing key itself, and with it the power to forge what it checks. It is refused,
    saying which file and what to give instead; the public half still verifies."""
    shutil.copy(state.parent / keys.KEY_FILE, state.parent / "given.pem")
    code, out = verify(state, "--public-key", str(state.parent / "given.pem"))
    assert code != 0 and "intact" not in out, out
    assert f"{state.parent / 'given.pem'} is a private key" in out and "audit key --out" in out, out
    assert "Traceback" not in out
    signer = keys.load(state.parent / keys.KEY_FILE)
    assert signer is not None
    (state.parent / "public.pem").write_text(signer.public.pem())
    code, out = verify(state, "--public-key", str(state.parent / "public.pem"))
    assert code == 0 and "intact" in out, out
