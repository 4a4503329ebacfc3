"""Reading the WHMCS lists that come in no stated order (tickets, orders, a client's emails) so that nothing
new is missed, whatever order WHMCS lists them in.

GetTickets, GetOrders and GetEmails have no sort parameter and state no order (whmcs/api.py
UNORDERED_LISTS), so a walk may never stop at an id already seen. What the docs do give: `limitstart`,
`limitnum` and `totalresults`. The census keeps every id seen in each list (store/poll.py poll_seen),
with a mark for rows that change in place (a ticket's last reply), and reads a list one of two ways:

- **by its ends**: the first and the last page. New rows are stored; then WHMCS's `totalresults` is
  compared with the number of ids known. Equal: nothing new is elsewhere in the list, whatever its
  order (unless as many known rows were deleted meanwhile: see the recheck below). Different: a walk.
  The order only decides how often the ends are enough (new rows at the front or the back), not
  whether a row is found.
- **a walk**: every page. Every id seen is stamped with the walk; a complete walk (as many ids as WHMCS
  counts) forgets the ids it did not find (deleted in WHMCS). A walk that rows shifting under it made
  incomplete is done again next cycle.

A list that fitted on one page is simply walked (one call). Lists whose rows change in place
(tickets: a reply on any ticket, however old, moves its last reply) have the rows that can change
walked each cycle, by a documented filter (tickets: `status=All Active Tickets`, DD:api-reference/
gettickets.md; a reply by the client, or by staff with the default status, makes a ticket active):
without a stated order a changed row can be on any page. Every list is also walked in full every
`recheck_every` (and on a cycle after an incomplete walk), which bounds the cases the cycle cannot
see: ids deleted and as many new ones hidden in the middle of a list between two cycles, and a reply
that left its ticket in an inactive status (staff answering and closing at once).
The first walk of a list records history (no events), except rows above `news_above` (the id a former
newest-first cursor had reached: an upgrade loses nothing). Events and the ids they report are stored
in one transaction per page: a crash mid-walk redoes the page and stores nothing twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.store import poll
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

Store = Callable[[Sequence[Any]], None]  # stores what a page found, inside the census's transaction


@dataclass(frozen=True)
class Listing:
    """One list as the census reads it, and what its new and changed rows become."""

    name: str  # the census's name for it: "tickets", "orders", "emails:12"
    what: str  # its key in whmcs/api.py UNORDERED_LISTS
    new: Callable[[Any], Sequence[Any]]
    params: dict[str, Any] = field(default_factory=dict)
    born: Callable[[Any], str] = lambda row: ""  # what never changes for one record (when it was made)
    mark: Callable[[Any], str] = lambda row: ""  # what changes in place (a ticket's last reply)
    changed: Callable[[Any, str], Sequence[Any]] = lambda row, old_mark: ()
    # Rows change in place (a reply moves a ticket's last reply), and every row that can change between
    # two rechecks is among those this filter lists: it is walked each cycle (a change can be on any page).
    changing: dict[str, Any] | None = None
    news_above: int | None = None  # first walk: ids above this are news, not history


# Added to a row's mark when its change was news: the next cycle reads it again (see Census.take).
UNSETTLED = " +"


class Census:
    def __init__(self, db: Database, api: WhmcsApi, *, recheck_every: timedelta, page_size: int) -> None:
        self.db = db
        self.api = api
        self.recheck_every = recheck_every
        self.page_size = page_size

    def read(self, listing: Listing, now: datetime, store: Store) -> None:
        """Find what is new (or changed) in the list since the last cycle, and store it."""
        with self.db.atomic():
            walked = poll.cursor(self.db, f"{listing.name}.walked_at")
            redo = poll.cursor(self.db, f"{listing.name}.incomplete") == "1"
        if walked is None:
            self.walk(listing, now, store, history=True)
        elif redo or datetime.fromisoformat(walked) + self.recheck_every <= now or self.small(listing):
            self.walk(listing, now, store)
        else:
            if listing.changing is not None:
                self.walk(listing, now, store, only=listing.changing)
            if not self.ends(listing, store):  # something new is elsewhere in the list, or something was deleted
                self.walk(listing, now, store)

    def small(self, listing: Listing) -> bool:
        """The list fitted on one page last time: walking it costs what reading its ends would."""
        with self.db.atomic():
            return poll.seen_count(self.db, listing.name) < self.page_size

    def ends(self, listing: Listing, store: Store) -> bool:
        """Read the first page and the last (both, even when the count matched after the first: a
        deletion and a new row at the other end cancel out in the count); True when WHMCS's count then
        matches the ids known (nothing new can be elsewhere, unless as many rows were deleted)."""
        size = self.page_size
        total, rows = self.api.unordered_page(listing.what, 0, size, **listing.params)
        self.take(listing, rows, "ends", store)
        if not rows or total <= len(rows):
            return self.complete(listing, total)
        total, tail = self.api.unordered_page(listing.what, max(len(rows), total - size), size, **listing.params)
        self.take(listing, tail, "ends", store)
        return self.complete(listing, total)

    def complete(self, listing: Listing, total: int) -> bool:
        """WHMCS counts as many rows as the census knows ids."""
        with self.db.atomic():
            return poll.seen_count(self.db, listing.name) == total

    def walk(
        self,
        listing: Listing,
        now: datetime,
        store: Store,
        *,
        history: bool = False,
        only: dict[str, Any] | None = None,
    ) -> None:
        """Read every page (of the rows the filter `only` lists, when given); a complete walk of the
        whole list forgets the ids it no longer found."""
        stamp = f"{iso(now)}/{secrets.token_hex(4)}"
        news_above = listing.news_above if history else None
        params = {**listing.params, **(only or {})}
        start = total = 0
        while True:
            total, rows = self.api.unordered_page(listing.what, start, self.page_size, **params)
            self.take(listing, rows, stamp, store, history=history, news_above=news_above)
            start += len(rows)
            if not rows or start >= total:
                break
        if only is not None:
            return  # a part of the list: it says nothing of the rest
        with self.db.atomic():
            complete = poll.seen_count(self.db, listing.name, walk=stamp) >= total
            if complete:
                poll.forget_unseen(self.db, listing.name, stamp)
                poll.set_cursor(self.db, f"{listing.name}.walked_at", iso(now), now)
            poll.set_cursor(self.db, f"{listing.name}.incomplete", "0" if complete else "1", now)

    def take(
        self,
        listing: Listing,
        rows: list[Any],
        stamp: str,
        store: Store,
        *,
        history: bool = False,
        news_above: int | None = None,
    ) -> None:
        """Store what is new or changed among these rows, and remember them, in one transaction."""
        with self.db.atomic():
            known = poll.seen_marks(self.db, listing.name, (row.id for row in rows))
        found: list[Any] = []
        for row in rows:
            born, mark = listing.born(row), listing.mark(row)
            old_born, _, old_mark = known.get(row.id, "|").partition("|")
            if row.id in known and old_born == born:
                # WHMCS dates a change to the second: one made in the second of the change just read (a
                # second reply, the ticket's status unchanged) leaves the row as it was listed. A row whose
                # change was news is read once more at the next cycle; what was read already is told apart
                # by its id there (a ticket's replies), so nothing is stored twice.
                settled = old_mark.removesuffix(UNSETTLED)
                if not history and (settled != mark or old_mark != settled):
                    news = listing.changed(row, settled)
                    found.extend(news)
                    mark += UNSETTLED if news else ""
            # not seen, or its id was given again to a newer record (MySQL may reuse the highest id
            # after a deletion and a restart)
            elif not history or (news_above is not None and row.id > news_above):
                found.extend(listing.new(row))
            known[row.id] = f"{born}|{mark}"  # a row met twice (rows shifted between pages) counts once
        with self.db.atomic():
            store(found)
            poll.keep_seen(self.db, listing.name, ((row.id, known[row.id]) for row in rows), stamp)
