"""The core's messages (pure)."""

from whmcs_bridge.messages.spec import MessageSpec, define

MESSAGES = define(
    MessageSpec(
        "core.opened_for_client",
        "text",
        "client",
        {},
        "The first line of a ticket the bridge opens in a client's name (WHMCS shows the client as its writer).",
    ),
    MessageSpec(
        "core.breaker_tripped",
        "ticket",
        "staff",
        {"ran": "number", "due": "number", "limit": "number"},
        "To staff: the circuit breaker stopped every destructive action.",
        samples={"ran": 9, "due": 4, "limit": 10},
    ),
)
