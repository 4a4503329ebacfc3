"""The engine's vocabulary (SPEC §7): events in, decisions out, the actions they plan, and the shape every
rule family has. Pure: the families build Actions, the executor runs them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Every action kind the rules may plan. How each runs, and how its effect is recognised in WHMCS, is the
# executor's table (executor/kinds.py: ACTION_KINDS), which has a row for exactly these names.
KINDS = frozenset(
    {
        "email",
        "ticket",
        "ticket_note",
        "ticket_reply",
        "client_note",
        "activity",
        "suspend",
        "unsuspend",
        "module_command",
        "invoice_status",
        "terminate",
        "create_invoice",
        "settle_invoice",
        "renew_service",
        "renew_domain",
        "registrant_update",
        "credential_change",
        "remove_user",
        "refresh_client",
        "resolve_ticket",
        "find_open_invoice",
        "find_order_invoice",
        "read_invoice",
        "read_renewal",
        "invoice_lines_off",
        "accept_order",
        "read_owners",
        "read_reply",
        "domain_lock",
        "announce",
    }
)
# The kinds destructive by default: they wait for the circuit breaker and count against its hourly
# limit. An Action may override the default (a module command is destructive or not per configuration).
DESTRUCTIVE_KINDS = frozenset(
    {
        "suspend",
        "module_command",
        "invoice_status",
        "terminate",
        "registrant_update",
        "credential_change",
        "remove_user",
    }
)


def as_int(value: Any) -> int | None:
    """An id from event data, where WHMCS sends numbers as ints, strings or padded strings; None if none."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def action_key(family: str, subject: str, purpose: str, cycle: str = "") -> str:
    """A stable key from what the action is for (never a clock or a random number).

    Short enough to embed in WHMCS text fields: `wb-` + 20 hex characters.
    """
    text = "\x1f".join((family, subject, purpose, cycle))
    return "wb-" + hashlib.sha256(text.encode()).hexdigest()[:20]


def marker(key: str) -> str:
    """How an action's key is written into what it creates in WHMCS, to recognise it after a crash."""
    return f"[{key}]"


_KEY_AT_END = re.compile(r"\[(wb-[0-9a-f]{20})\]\s*(?:-->\s*)?$")


def key_at_end(text: str) -> str | None:
    """The action key the bridge wrote at the end of a text it created (see marker()), or None. Only at
    the end: a client quoting the bridge's message in the middle of its own is still the client's."""
    found = _KEY_AT_END.search(text)
    return found.group(1) if found else None


_KEY_IN_EMAIL = re.compile(r"<!-- \[(wb-[0-9a-f]{20})\] -->")


def key_in_email(html: str) -> str | None:
    """The action key of an email the bridge sent (executor: Call.marked writes it as an HTML comment; WHMCS wraps
    the message in its header and footer, so it is not at the end), or None. Only staff and the bridge write
    an email's words."""
    found = _KEY_IN_EMAIL.search(html)
    return found.group(1) if found else None


def message(message_id: str, **data: Any) -> dict[str, Any]:
    """What a rule writes where a text goes (an email, a ticket, a note): a message of the catalogue and
    its fields (ids, amounts as strings, ISO dates), rendered in the reader's language when the action runs.
    Put it in the action's params under "msg"; a consent link is the field `consent_link`."""
    return {"id": message_id, "data": data}


@dataclass(frozen=True)
class Action:
    key: str
    family: str
    kind: str
    params: dict[str, Any]
    client_id: int | None = None
    subject: str | None = None
    # Facts to re-check just before running (see executor.GUARDS), e.g. {"invoices_unpaid": [12, 13]}.
    guard: dict[str, Any] = field(default_factory=dict)
    needs_approval: bool = False
    not_before: datetime | None = None
    # Overrides the kind's default (a module command is destructive or not per configuration).
    destructive: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}")

    @property
    def is_destructive(self) -> bool:
        return self.kind in DESTRUCTIVE_KINDS if self.destructive is None else self.destructive


@dataclass(frozen=True)
class Event:
    """One inbox event (or a timer tick) as the pure rules see it."""

    id: str
    type: str
    data: dict[str, Any]
    source: str = "webhook"
    occurred_at: str | None = None

    @property
    def only_for(self) -> str | None:
        """The one family a resync event was read again for (resync.py); None: every family it concerns.
        Only the poller's source can carry it: a webhook's id is the sender's."""
        if self.source != "poll" or not self.id.startswith(RESYNC_PREFIX):
            return None
        return self.id[len(RESYNC_PREFIX) :].split(":", 1)[0]


# A resync event's id: resync:<family>:<when>:<fact key>.
RESYNC_PREFIX = "resync:"


@dataclass(frozen=True)
class Hold:
    """A subject on which no family may start a change now (e.g. "service:12" during an ownership
    dispute), why, and until when (None: until a later decision lifts it)."""

    subject: str
    reason: str
    until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What a family decided for one state key: its new state (None deletes it), actions, next deadline."""

    state: dict[str, Any] | None
    actions: list[Action] = field(default_factory=list)
    due_at: datetime | None = None
    # What this state is about (e.g. "invoice:12"), so events naming those reach it; None keeps the
    # previous references.
    refs: list[str] | None = None
    # The subjects this state holds (see Hold); None keeps the previous holds, [] lifts them.
    holds: list[Hold] | None = None
    # Keys of actions planned earlier that are still waiting for a staff decision and no longer wanted (their
    # case closed): the engine cancels them with `withdraw_reason` and audits it; any other status is left as is.
    withdraw: list[str] = field(default_factory=list)
    withdraw_reason: str = ""
    # Milestones the engine records in the audit chain, in the decision's transaction, as `<family>.<name>`
    # with this detail (its "case" and "subject" fill the row's columns): e.g. a case's move completed.
    milestones: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # One-time facts (intake/facts.py, e.g. "invoice:12:paid") that WHMCS did not confirm when read (an InvoicePaid
    # for an invoice it shows unpaid: a hook resent, a payment staff took back): forgotten, so that the real one,
    # reported later by the hook or the poll, is heard rather than taken for the same fact again.
    unheard: list[str] = field(default_factory=list)


State = dict[str, Any]


class Family(Protocol):
    """A rule family: pure functions of (states, event, now) into decisions; no I/O, no clock.

    `route` names the state keys an event concerns; `refs` names what the event is about (e.g.
    "invoice:12"), and the engine adds the keys whose earlier decisions listed those references
    (Decision.refs). `decide` sees every routed state at once and returns a Decision for each key
    that changes; it may create keys of its own (e.g. a draft or a digest timer).
    """

    name: str
    # True when this family's state keys are WHMCS client ids whose services the poller must watch
    # (a staff suspension or termination by hand is then reported as ServiceStatusChanged).
    tracks_client_services: bool

    def route(self, event: Event) -> Sequence[str]: ...

    def refs(self, event: Event) -> Sequence[str]: ...

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]: ...
