"""The engine's vocabulary (SPEC §7): events in, decisions out, the actions they plan, and the shape every
rule family has. Pure: the families build Actions, the executor runs them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Kind:
    name: str
    destructive: bool
    # Can the executor tell, by reading WHMCS, whether an interrupted call happened?
    observable: bool
    reversal: str | None = None


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("email", destructive=False, observable=True),  # SendEmail; the key is an HTML comment in the body
        Kind("ticket", destructive=False, observable=True),  # OpenTicket; the key is in the message
        Kind("ticket_note", destructive=False, observable=True),  # AddTicketNote
        Kind("ticket_reply", destructive=False, observable=True),  # AddTicketReply as staff: mails the party
        Kind("client_note", destructive=False, observable=False),  # AddClientNote: a duplicate note is harmless
        Kind("activity", destructive=False, observable=True),  # LogActivity; the key is in the description
        Kind("suspend", destructive=True, observable=True, reversal="unsuspend"),  # ModuleSuspend
        Kind("unsuspend", destructive=False, observable=True),  # ModuleUnsuspend
        Kind("module_command", destructive=True, observable=False),  # ModuleCustom: must be idempotent itself
        Kind("invoice_status", destructive=True, observable=True),  # UpdateInvoice status=...
        Kind("terminate", destructive=True, observable=True),  # ModuleTerminate, irreversible
        Kind("create_invoice", destructive=False, observable=True),  # CreateInvoice; the key is in the notes
        Kind("settle_invoice", destructive=False, observable=True),  # AddInvoicePayment with transid = key
        Kind("registrant_update", destructive=True, observable=True),  # DomainUpdateWhoisInfo
        Kind("credential_change", destructive=True, observable=False),  # ModuleChangePw: never repeated
        # Read-only: the client's details and services, fed back to the rules as a ClientContext event.
        Kind("refresh_client", destructive=False, observable=False),
        # Read-only: who owns the services and domains a ticket names; fed back as TicketResolved.
        Kind("resolve_ticket", destructive=False, observable=False),
        # Read-only: a client's unpaid invoice for a service; fed back as OpenInvoiceFound.
        Kind("find_open_invoice", destructive=False, observable=False),
        # Read-only: who owns each subject of an ownership case now; fed back as OwnershipOwners.
        Kind("read_owners", destructive=False, observable=False),
        # No WHMCS call: tells the other families something (e.g. an ownership change ends grants).
        Kind("announce", destructive=False, observable=False),
    )
}


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
        return KINDS[self.kind].destructive if self.destructive is None else self.destructive


@dataclass(frozen=True)
class Event:
    """One inbox event (or a timer tick) as the pure rules see it."""

    id: str
    type: str
    data: dict[str, Any]
    source: str = "webhook"
    occurred_at: str | None = None


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
