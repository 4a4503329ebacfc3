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

# The one-time consent page (web/consent.py), in the language of the email that carried the link. Each
# page's body opens with its title as <h1> (the page's <title> is taken from it). `purpose` is the link's
# (delegation, password-change, ownership-holder, ownership-requester): the answers are worded for it.
_PURPOSE = {"purpose": "ownership-holder"}
MESSAGES.update(
    define(
        MessageSpec(
            "consent.form",
            "page",
            "client",
            {
                "summary": "text",
                "expires": "datetime",
                "accept": "text",
                "decline": "text",
                "copies": "text",
                "retry": "text",
            },
            "The consent page: what is asked (the summary from the email's own message), until when, and the "
            "answers; `copies` is a third answer, when the owner may choose full copies including access "
            "details (a delegation whose role allows them); `retry` is set when the form came back without an "
            "answer.",
            samples={
                "summary": "Pixelwerk Agency asks to become the technical contact for Business (boulangerie-dupont.fr).",
                "accept": "Accept",
                "decline": "Decline",
                "retry": "",
            },
        ),
        MessageSpec(
            "consent.choice",
            "page",
            "client",
            {"purpose": "text", "decision": "text"},
            "The wording of one answer (accept or decline) for the link's purpose: its button, and the thank-you "
            "and already-used pages.",
            samples={**_PURPOSE, "decision": "accept"},
        ),
        MessageSpec(
            "consent.thanks",
            "page",
            "client",
            {"choice": "text"},
            "The page after an answer is recorded.",
            samples={"choice": "I consent"},
        ),
        MessageSpec(
            "consent.used",
            "page",
            "client",
            {"choice": "text", "used_at": "datetime"},
            "A link opened again after it was answered.",
            samples={"choice": "I consent"},
        ),
        MessageSpec(
            "consent.expired",
            "page",
            "client",
            {"expires": "datetime"},
            "A link opened after it expired.",
        ),
        MessageSpec("consent.invalid", "page", "client", {}, "A link that is not (or no longer) known."),
        MessageSpec(
            "consent.request_over",
            "page",
            "client",
            {"status": "text"},
            "A delegation request's link opened once the request no longer waits for an answer: `status` is "
            '"withdrawn", "declined" (by the delegate, staff\'s grant under delegation.confirm: both), "lapsed" or '
            '"answered" (accepted, declined, or ended since).',
            samples={"status": "withdrawn"},
        ),
        MessageSpec("consent.not_allowed", "page", "client", {}, "A request other than opening or answering."),
    )
)
