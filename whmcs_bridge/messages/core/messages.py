"""The core's messages (pure)."""

from whmcs_bridge.messages.spec import MessageSpec, define

MESSAGES = define(
    MessageSpec(
        "core.breaker_tripped",
        "ticket",
        "staff",
        {"ran": "number", "due": "number", "limit": "number"},
        "To staff: the circuit breaker stopped every destructive action.",
        samples={"ran": 9, "due": 4, "limit": 10},
    ),
)
