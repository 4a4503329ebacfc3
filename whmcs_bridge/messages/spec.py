"""What a message is, before any language: its id, where it goes (the channel), who reads it (the
audience) and the fields its templates may use, each with a type and a sample value (pure).

Rules never write text: they plan `model.message(ID, **fields)`, and the text is rendered where it leaves
the bridge (the executor, the consent page, the CLI), in the reader's language, from the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# How a field's value is written in an action and shown to its reader:
#   text      words from WHMCS or a person, shown as they are (escaped in HTML)
#   number    a count, written in the reader's locale
#   money     an amount ("944.70"), shown with the currency of the action's client
#   date      an ISO date, shown in the reader's locale
#   datetime  an ISO instant (UTC), shown in the configured timezone and the reader's locale
#   client    a WHMCS client id, shown as its company or full name (`.id` for staff)
#   service   a WHMCS service id, shown as its product and domain
#   domain    a WHMCS domain id, shown as the domain name
#   subjects  a list of "service:12", "domain:3" or "client:21", shown as a list of names
#   url       a link, shown as it is (escaped in HTML)
FieldType = Literal["text", "number", "money", "date", "datetime", "client", "service", "domain", "subjects", "url"]
Channel = Literal["email", "ticket", "text", "page"]
Audience = Literal["client", "staff"]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]

# What each channel's templates have: an email and a ticket a subject and a body; a text (ticket note or
# reply, client note, activity line) and a page only a body.
# HTML channels escape every value (a template author opts out with `|safe`); ticket and text bodies are
# plain text (WHMCS shows them as text: the bridge never asks for markdown), so values stay as written.
HTML_CHANNELS = frozenset({"email", "page"})
WITH_SUBJECT = frozenset({"email", "ticket"})


@dataclass(frozen=True)
class MessageSpec:
    id: str
    channel: Channel
    audience: Audience
    fields: Mapping[str, FieldType]
    # What the message is for, shown by `messages list` and `messages preview`.
    about: str
    # A sample value per field, for `messages preview` and the tests (defaults by type).
    samples: Mapping[str, object] = field(default_factory=dict)

    def sample(self, name: str) -> object:
        if name in self.samples:
            return self.samples[name]
        return SAMPLES[self.fields[name]]


SAMPLES: dict[str, object] = {
    "text": "Example text",
    "number": 3,
    "money": "944.70",
    "date": "2026-12-05",
    "datetime": "2026-12-05T14:30:00+00:00",
    "client": 1,
    "service": 1,
    "domain": 1,
    "subjects": ["service:1", "domain:1"],
    "url": "https://bridge.example.com/consent/EXAMPLE-TOKEN",
}


def specs(*groups: Mapping[str, MessageSpec]) -> dict[str, MessageSpec]:
    """One table of every message, from each family's own; an id defined twice is a programming error."""
    table: dict[str, MessageSpec] = {}
    for group in groups:
        for message_id, spec in group.items():
            if message_id in table or message_id != spec.id:
                raise ValueError(f"message id {message_id!r} is defined twice or under another name")
            table[message_id] = spec
    return table


def define(*items: MessageSpec) -> dict[str, MessageSpec]:
    return {item.id: item for item in items}
