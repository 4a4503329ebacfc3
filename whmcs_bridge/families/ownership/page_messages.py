"""The ownership family's messages on its consent pages (web/consent.py), pure: what the page of a link says once
its answer no longer decides the case by itself (split from messages.py, which lists the rest)."""

from whmcs_bridge.messages.spec import MessageSpec, define

PAGES = define(
    MessageSpec(
        "ownership.page_closed",
        "page",
        "client",
        {"status": "text", "newer": "number"},
        "The consent page of a link whose case is over (status: completed, rejected or cancelled): nothing is "
        "asked or recorded; newer = 1: another case on the same services or domains is open (its own email "
        "carries its link).",
        samples={"status": "cancelled", "newer": 1},
    ),
    MessageSpec(
        "ownership.page_standing",
        "page",
        "client",
        {"standing": "text", "done": "number", "deadline": "datetime", "choice": "text"},
        "The holder's consent page once an answer there no longer decides the case by itself: standing 'late' "
        "(past the deadline, until when the link was valid; the answer is recorded as a late answer for staff) "
        "or 'disputed' (its objection stands; an answer is recorded for staff and does not withdraw it). done = "
        "0: said above the form; done = 1: the page after the answer (choice) was recorded.",
        samples={"standing": "late", "done": 1, "deadline": "2026-12-11T22:59:59+00:00", "choice": "I object"},
    ),
)
