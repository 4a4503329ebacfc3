"""The ownership family's messages (pure): filled in by the catalogue conversion."""

from whmcs_bridge.messages.spec import MessageSpec

MESSAGES: dict[str, MessageSpec] = {}
