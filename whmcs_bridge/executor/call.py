"""One action as its kind sees it (Call), and what the executor knows of a kind (ActionKind): the types the
table of kinds (kinds.py) and its billing rows (billing_kinds.py) are written with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.model import DESTRUCTIVE_KINDS, marker
from whmcs_bridge.whmcs.api import WhmcsApi

Params = dict[str, Any]
Result = dict[str, Any]
# What an observer finds after an interruption: the result if the effect is in WHMCS, False if it is
# absent (run it again), None if WHMCS cannot tell.
Observed = Result | Literal[False] | None
Mint = Callable[[dict[str, Any]], str]
RULE_BUG = "(a rule bug: report it; reject this action with `whmcs-bridge approvals reject`)"


class ActionError(BridgeError):
    """An action that cannot run as planned, said as one sentence staff can act on; it parks the action."""


def bad_parameters(kind: str, exc: KeyError | TypeError | ValueError) -> ActionError:
    """A failure inside a kind's runner or observer: the rule planned parameters the kind cannot use."""
    if isinstance(exc, KeyError):
        what = f"is missing its parameter {exc.args[0]!r}" if exc.args else "is missing a parameter"
    else:
        what = f"has a parameter it cannot use: {exc}"
    return ActionError(f"{kind} action {what} {RULE_BUG}")


@dataclass(frozen=True)
class Call:
    """One action as its kind's runner and observer see it."""

    api: WhmcsApi
    params: Params
    key: str
    client_id: int | None
    department_id: int | None = None  # safety.staff_department_id: where a ticket for no client is opened

    @property
    def tag(self) -> str:
        """How the action's key is written into what it creates in WHMCS."""
        return marker(self.key)

    def marked(self, text: str, html: bool = False) -> str:
        """The text with the action's key written into it, to recognise it after a crash."""
        return f"{text}\n<!-- {self.tag} -->" if html else f"{text}\n\n{self.tag}"

    def client(self) -> int:
        """The client the action is for: its own `client_id` parameter, else the action's client."""
        value = self.params.get("client_id", self.client_id)
        if value is None:
            raise KeyError("client_id")  # neither the action nor its parameters name one
        return int(value)

    def reported(self, result: Result) -> tuple[str, dict[str, Any]] | None:
        """An action that asks for it (`report_as`) has its result fed back to the rules as an event."""
        if not self.params.get("report_as"):
            return None
        return str(self.params["report_as"]), {**(self.params.get("report") or {}), **result, "action_key": self.key}


def with_consent_link(params: Params, mint: Mint | None) -> Params:
    """A one-time link, made now, goes into the message (email or ticket) of an action that asks for it."""
    if not params.get("consent"):
        return params
    if mint is None:
        raise ActionError("no consent link can be made here")
    link = mint(params["consent"])
    return {**params, **{f: params[f].replace("{consent_link}", link) for f in ("html", "message") if f in params}}


def done_if(seen: bool) -> Observed:
    return {} if seen else False


def email_with(api: WhmcsApi, client_id: int, tag: str, subject: str | None = None) -> int | None:
    """The client's logged email carrying the key, looked for among every email with that subject
    (GetEmails states no order: the newest is not necessarily on the first page)."""
    return next((e.id for e in api.emails(int(client_id), subject=subject) if tag in e.message), None)


@dataclass(frozen=True)
class ActionKind:
    """What the executor knows of one action kind."""

    name: str
    # Runs it against WHMCS; the result is recorded (a "feed" or "context" entry goes back to the rules).
    runner: Callable[[Call], Result]
    # After an interruption, tells whether its effect is in WHMCS; None: it cannot be read back.
    observer: Callable[[Call], Observed] | None = None
    # Running it twice is harmless: when WHMCS cannot tell whether it ran, it runs again (else it parks).
    repeat_safe: bool = False
    # When WHMCS cannot tell whether it ran, it counts as done, unconfirmed: its call reached WHMCS, and
    # PHP finishes a request it received. For what staff read (a client note): a second copy, or staff
    # asked to check every note after an outage, would be worse than a note that may be missing.
    assume_ran: bool = False
    # It only reads WHMCS (or calls nothing): no summary line in WHMCS's activity log.
    read_only: bool = False
    # The kind that undoes it (the escalation ladder undoes its steps when the client pays).
    inverse: str | None = None
    # What it reads of WHMCS just before its first try, kept in its parameters before any call leaves, so that
    # a later try can tell its own effect from the state it started from (renew_domain: the domain's dates).
    before: Callable[[Call], Params] | None = None
    # What staff are told when it parks because WHMCS cannot tell whether an interrupted try ran (one sentence
    # naming the call that may have been sent and what WHMCS shows now); None: the executor's general sentence.
    unknown: Callable[[Call], str] | None = None

    @property
    def destructive(self) -> bool:
        """Destructive by default (model.DESTRUCTIVE_KINDS, which the pure rules read too); an Action may
        override it, and the outbox row keeps what was decided."""
        return self.name in DESTRUCTIVE_KINDS

    def run(self, call: Call, mint: Mint | None = None) -> Result:
        """Run it; `mint` makes the one-time consent link an action may ask for. Parameters it cannot
        use raise ActionError, naming the kind and what is wrong."""
        try:
            return self.runner(replace(call, params=with_consent_link(call.params, mint)))
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_parameters(self.name, exc) from exc

    def observe(self, call: Call) -> Observed:
        """After an interruption: the result if its effect is in WHMCS, False if absent, None if unknowable."""
        if self.observer is None:
            return None
        try:
            return self.observer(call)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_parameters(self.name, exc) from exc
