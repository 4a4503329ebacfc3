"""The client's address behind the reverse proxy: X-Forwarded-For is believed only from `receiver.trusted_proxies`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For address that is not
    one (each proxy appends the address it saw; what is left of an untrusted hop may be forged)."""
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    found = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return found  # garbage: stop at the last address a trusted proxy vouched for
        found = hop
        if not _trusted(hop, trusted):
            return hop
    return found


class ForwardedFor:
    """WSGI middleware: REMOTE_ADDR becomes the client's address; X-Forwarded-For reaches the app only
    when a trusted proxy sent it."""

    def __init__(self, app: Callable[..., Iterable[bytes]], trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = networks(trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.pop("HTTP_X_FORWARDED_FOR", "")
        if forwarded and _trusted(peer, self.trusted):
            environ["HTTP_X_FORWARDED_FOR"] = forwarded
            environ["REMOTE_ADDR"] = client_address(peer, forwarded, self.trusted)
        return self.app(environ, start_response)
