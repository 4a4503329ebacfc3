"""The fields every delegation message about one grant carries (GRANT) and how such a message is
declared (pure): shared by messages.py and billing_messages.py."""

from whmcs_bridge.messages.spec import Audience, Channel, FieldType, MessageSpec

GRANT: dict[str, FieldType] = {
    "owner": "client",
    "delegate": "client",
    "role": "text",
    "subjects": "subjects",
    "whole": "text",  # "yes" when the grant covers the owner's whole account: the text says so, not its name
}
# What a grant lets its contact do (grants.rights_fields): the texts that say so word exactly these.
RIGHTS: dict[str, FieldType] = {"copies": "text", "support": "text", "may_renew": "text", "may_order": "text"}
SAMPLES: dict[str, object] = {
    "copies": "product/domain",
    "support": "yes",
    "may_renew": "yes",
    "may_order": "yes",
    "role": "technical",
    "subjects": ["service:1"],
    "grant": "g3d169a",
    "owner": 1,
    "delegate": 2,
}


def grant_spec(
    message_id: str, channel: Channel, audience: Audience, fields: dict[str, FieldType], purpose: str, **samples: object
) -> MessageSpec:
    """A message about one grant: the grant's fields, and its own."""
    return MessageSpec(message_id, channel, audience, {**GRANT, **fields}, purpose, samples={**SAMPLES, **samples})
