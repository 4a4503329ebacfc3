"""Standard Webhooks signing and verification (pure: the clock is a parameter).

Signature: `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), key = base64-decoded part
of the `whsec_...` secret. `webhook-signature` may carry several space-separated signatures (secret
rotation); one match is enough.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from whmcs_bridge.errors import SignatureError

PREFIX = "whsec_"


@functools.lru_cache(maxsize=16)  # a handful of secrets; decoded once, not per request
def secret_key(secret: str) -> bytes:
    body = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the webhook secret is not whsec_ followed by base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secrets: Sequence[str],
    header_map: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: float = 300.0,
) -> str:
    """Return the webhook id when the headers sign `body` with one of `secrets`; else raise SignatureError.

    `header_map` keys must be lower-case. Never raises anything but SignatureError for bad input.
    """
    msg_id, timestamp = _id_and_time(header_map, now, tolerance_s)
    offered = _offered(header_map.get("webhook-signature", ""))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.digest(secret_key(secret), signed, "sha256")  # one-shot: no HMAC object per request
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return msg_id
    raise SignatureError("no webhook signature matches")


def _id_and_time(header_map: Mapping[str, str], now: float, tolerance_s: float) -> tuple[str, int]:
    """The webhook id and timestamp, each well formed, the timestamp within the tolerance of `now`."""
    msg_id = header_map.get("webhook-id", "")
    stamp = header_map.get("webhook-timestamp", "")
    if not msg_id or not stamp or not header_map.get("webhook-signature", ""):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if len(msg_id) > 256 or not msg_id.isprintable():
        raise SignatureError("the webhook-id header is malformed")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:  # "²".isdigit() is true
        raise SignatureError("the webhook-timestamp header is not a Unix timestamp")
    timestamp = int(stamp)
    if timestamp < now - tolerance_s:
        raise SignatureError("the webhook timestamp is too old")
    if timestamp > now + tolerance_s:
        raise SignatureError("the webhook timestamp is in the future")
    return msg_id, timestamp


def _offered(signatures: str) -> list[bytes]:
    """The v1 signatures of the header (several during a secret rotation); others are ignored."""
    offered: list[bytes] = []
    for token in signatures.split():
        version, sep, value = token.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            offered.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not offered:
        raise SignatureError("the webhook-signature header has no v1 signature")
    return offered
