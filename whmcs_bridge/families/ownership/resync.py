"""What ownership re-reads from WHMCS when it is enabled later or its rules change: open tickets asking for ownership.

A ticket asking for "full access" or "ownership" (ownership.request_words) to something its writer does
not own becomes a draft case. Tickets opened while the family was off went by without it: each active
ticket is read again with its opening message, and those that ask are given to the family as TicketOpen.
A ticket the family already looked at (its owners were asked for) is left out: its draft, or the staff
decision on it, stands."""

from __future__ import annotations

from whmcs_bridge.errors import WhmcsApiError
from whmcs_bridge.families.ownership.incoming import known_tickets
from whmcs_bridge.families.ownership.policies import FAMILY, is_request, threads
from whmcs_bridge.intake.found import ticket_data
from whmcs_bridge.intake.reread import Facts, Source
from whmcs_bridge.model import action_key
from whmcs_bridge.store import outbox, states
from whmcs_bridge.whmcs.api import not_found

# Every status WHMCS counts as active (Open, Answered, Customer-Reply, In Progress and the configured
# ones): GetTickets's own filter (DD:api-reference/gettickets.md).
ACTIVE = "All Active Tickets"


def read(source: Source) -> Facts:
    cases = [case for _, case in states.items(source.db, FAMILY, "case:")]
    known = {t for case in cases for t in (*threads(case), *known_tickets(case))}
    for ticket in source.api.tickets(status=ACTIVE):
        key = f"draft:ticket:{ticket.id}"  # the family's state key while it asks who owns what is named
        if outbox.by_key(source.db, action_key(FAMILY, key, "resolve")) is not None:
            continue
        if ticket.id in known:  # a case's own request or thread: a second draft on it would duplicate the case
            continue
        try:
            full = source.api.ticket(ticket.id)  # replies oldest first: the opening message first
        except WhmcsApiError as exc:
            if not_found(exc):  # deleted since it was listed
                continue
            raise
        if full.replies and full.replies[0].admin:  # opened by staff: no client's request (poller.TicketOpenAdmin)
            continue
        data = {**ticket_data(ticket), "message": full.replies[0].message if full.replies else ""}
        if is_request(data, source.config.ownership):
            yield f"ticket:{ticket.id}", "TicketOpen", data
