"""Evidence, twenty-fifth round: a file stuffed with places where a DER private key may start, more than the check
looks at, hid a real key behind them (round-24 note: "a file stuffed with decoys could pass")."""

from __future__ import annotations

import base64
import os

from tests.test_evidence_round24 import DER, SECRETS, refused_secret
from whmcs_bridge.evidence import files
from whmcs_bridge.evidence.files import DER_TRIES, refuse_secrets


def decoys(count: int) -> bytes:
    """`count` runs that start like a DER key and hold none (a SEQUENCE of a two-byte length, then noise)."""
    return b"".join(
        b"x=" + base64.b64encode(b"\x30\x82\x04\x00" + os.urandom(60)) + b"\n" for _ in range(count)
    )


STUFFED = DER_TRIES + 400  # past the allowance of a file their size (each decoy about 90 bytes)


def test_a_key_behind_more_decoys_than_are_checked_is_refused():
    stuffed = decoys(STUFFED) + b"SSH_PRIVATE_KEY=" + base64.b64encode(DER) + b"\n"
    said = refused_secret(stuffed)
    assert "evidence" in said and "private key" in said


def test_the_decoys_alone_are_refused_too_as_more_than_is_checked():
    """Nothing tells what the places past the limit hold: the file is refused, saying why, not passed unread."""
    said = refused_secret(decoys(STUFFED))
    assert f"{DER_TRIES:,}" in said and "private key" in said


def test_a_few_decoys_without_a_key_are_accepted():
    refuse_secrets("evidence", decoys(20), SECRETS)


def test_a_long_base64_attachment_is_read_whole():
    """Random base64 holds a place where a key may start every 64 KiB or so: 300 MiB of it would pass 4,096 such
    places, and is still read to its end (the key after it is found), not refused as stuffed."""
    noise = base64.b64encode(os.urandom(3 * 2**20))  # 4 MiB of base64: about 64 candidates
    per_mib = sum(1 for _ in files.DER_KEY_START.finditer(noise)) / 4
    assert per_mib * files.DER_DENSITY / 2**20 < 1  # the allowance grows faster than random base64's candidates
    said = refused_secret(noise + b"\nkey=" + base64.b64encode(DER) + b"\n")
    assert "holds a private key" in said
