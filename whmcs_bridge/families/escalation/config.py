"""The `escalation:` configuration section (SPEC §4.2): policies, ladders, guards, holidays."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from whmcs_bridge.config.reader import check

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TemplateType = Literal["general", "invoice", "product", "domain"]


def _hours_range(value: str) -> str | None:
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", value)
    if not match or not (
        0 <= int(match[1]) < 24 and 0 <= int(match[3]) <= 24 and int(match[2]) < 60 and int(match[4]) < 60
    ):
        return "a time range such as 09:00-17:00"
    if (int(match[1]), int(match[2])) >= (int(match[3]), int(match[4])):
        return "a time range whose start is before its end, such as 09:00-17:00"
    return None


def _amount(value: str) -> str | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return "an amount such as 0.00"
    return None if amount.is_finite() and amount >= 0 else "an amount of 0 or more, such as 0.00"


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else "a whole number of days of at least 1"


def _not_negative(value: int) -> str | None:
    return None if value >= 0 else "a whole number of 0 or more"


def _message_id(value: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_-]+)+", value):
        return "a message id such as escalation.reminder (`whmcs-bridge messages list`)"
    return None


@dataclass(frozen=True, kw_only=True)
class EmailSpec:
    # Either a message of the catalogue by id (its text in the client's language: shipped ones are listed
    # by `whmcs-bridge messages list`; your own wording goes under messages.templates), or a WHMCS client
    # email template by name (WHMCS writes it, in the client's language).
    message: str | None = check(_message_id, None)
    template: str | None = None
    # The template's type, as in WHMCS's email template editor. WHMCS sends a template about a record of
    # its type (DD:api-reference/sendemail.md, "Related ID"): general -> the client; invoice -> the oldest
    # unpaid invoice of the case; product -> each service in scope; domain -> each of the client's domains.
    template_type: TemplateType | None = None

    def problem(self) -> str | None:
        if bool(self.template) == bool(self.message):
            return "either `message` (a message id) or `template` (a WHMCS email template)"
        if self.template and not self.template_type:
            return (
                "`template_type` beside `template`: general, invoice, product or domain, as the template's type "
                "in WHMCS (it decides which record WHMCS sends the template about)"
            )
        if self.template_type and not self.template:
            return "`template_type` only with `template`"
        return None


@dataclass(frozen=True, kw_only=True)
class TicketSpec:
    department_id: int
    message: str = check(_message_id)  # a ticket message of the catalogue (subject and body)
    priority: Literal["Low", "Medium", "High"] = "Medium"


@dataclass(frozen=True, kw_only=True)
class ModuleCommandSpec:
    # A custom module function (ModuleCustom), e.g. lock the reseller's panel. It must be idempotent:
    # after a crash the bridge cannot tell whether it ran, and runs it again.
    function: str
    inverse: str | None = None  # run when the client is current again
    destructive: bool = True


@dataclass(frozen=True, kw_only=True)
class SuspendSpec:
    # A neutral reason: the public landing page must not state the debt.
    reason: str = "Administrative reasons"


@dataclass(frozen=True, kw_only=True)
class StageAction:
    """Exactly one of these per action."""

    email: EmailSpec | None = None
    ticket: TicketSpec | None = None  # to the client, in its name
    note: str | None = check(_message_id, None)  # a client note in WHMCS: a text message's id
    staff_task: TicketSpec | None = None  # a ticket to staff, e.g. send a registered letter
    module_command: ModuleCommandSpec | None = None
    suspend: SuspendSpec | None = None
    invoice_status: Literal["Collections"] | None = None
    terminate: bool | None = None

    KINDS = ("email", "ticket", "note", "staff_task", "module_command", "suspend", "invoice_status", "terminate")

    @property
    def kind(self) -> str:
        return next(k for k in self.KINDS if getattr(self, k) not in (None, False))

    @property
    def message_id(self) -> str | None:
        """The catalogue message this step writes, if it writes one."""
        value = getattr(self, self.kind)
        return value if self.kind == "note" else getattr(value, "message", None)

    def problem(self) -> str | None:
        chosen = [k for k in self.KINDS if getattr(self, k) not in (None, False)]
        return None if len(chosen) == 1 else "exactly one of " + ", ".join(self.KINDS)


@dataclass(frozen=True, kw_only=True)
class Stage:
    name: str
    # Due this many days after the oldest unpaid invoice's due date, or after the previous stage.
    after_days: int
    counted_from: Literal["due", "previous"] = "previous"
    business_days: bool = False
    # The deadline announced in this stage's notices ({deadline}), in days of the same kind.
    deadline_days: int | None = None
    # Staff approval before the stage's actions run: never, always, or when the downstream impact
    # is above the policy's approval_impact_threshold.
    approval: Literal["never", "always", "impact"] = "never"
    # The ladder waits after this stage until staff record the registered letter's delivery
    # (`escalations record-letter CLIENT --tracking ... --delivered DATE`); its deadline then counts
    # from the delivery, so no later stage comes before the formal notice was delivered and it passed.
    wait_for_delivery: bool = False
    actions: list[StageAction]


@dataclass(frozen=True, kw_only=True)
class CustomFieldMatch:
    id: int
    equals: str


@dataclass(frozen=True, kw_only=True)
class Selector:
    # A client is in scope when one of its services matches a product id or product group name, or
    # the client itself matches a client group or custom field. Empty lists match nothing.
    product_ids: list[int] = field(default_factory=list)
    product_groups: list[str] = field(default_factory=list)
    client_groups: list[int] = field(default_factory=list)
    client_custom_field: CustomFieldMatch | None = None


@dataclass(frozen=True, kw_only=True)
class Impact:
    # How many of the client's own customers a cut would hit: the sum of these service custom
    # fields (e.g. hosted domains and users), a constant, or unknown when both are empty.
    custom_fields: list[str] = field(default_factory=list)
    constant: int | None = None


@dataclass(frozen=True, kw_only=True)
class Policy:
    name: str
    match: Selector
    impact: Impact = field(default_factory=Impact)
    approval_impact_threshold: int = 50
    ladder: list[Stage]

    def problem(self) -> str | None:
        names = [s.name for s in self.ladder]
        if not names:
            return "a ladder with at least one stage"
        if len(set(names)) != len(names):
            return "stage names that are all different"
        if self.ladder[0].counted_from != "due":
            return "a first stage counted from the due date (counted_from: due)"
        return None


@dataclass(frozen=True, kw_only=True)
class EscalationGuards:
    # Destructive actions (suspend, module commands marked destructive, collections, terminate)
    # run only on these days and hours (in the configuration's `timezone`), and at least this many days apart.
    destructive_days: list[Weekday] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    destructive_hours: str = check(_hours_range, "09:00-17:00")
    min_days_between_destructive: int = 1


@dataclass(frozen=True, kw_only=True)
class Creditor:
    # Who is owed, as an agency or a court must read it on the collections dossier (legal name, address
    # lines, company registration and VAT numbers, contact): written by staff, not guessed from WHMCS.
    name: str = ""
    address: list[str] = field(default_factory=list)
    registration: str = ""
    vat: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, kw_only=True)
class DossierSpec:
    creditor: Creditor = field(default_factory=Creditor)
    # The client custom fields (by id, as in GetClientsDetails) holding the debtor's company registration
    # number and VAT number; without `vat_field`, WHMCS's own tax id of the client (`tax_id`).
    registration_field: int | None = None
    vat_field: int | None = None


@dataclass(frozen=True, kw_only=True)
class EscalationSection:
    enabled: bool = False
    # Days that are not business days (besides weekends).
    holidays: list[date] = field(default_factory=list)
    guards: EscalationGuards = field(default_factory=EscalationGuards)
    # Sent when the client is current again and every reversible action has been undone.
    restored_email: EmailSpec = field(default_factory=lambda: EmailSpec(message="escalation.restored"))
    # The client is current when what it owes on its overdue invoices (their balances in WHMCS, after partial
    # payments and credit) is at most this amount; cancelling invoices is not paying them.
    current_below: str = check(_amount, "0.00")
    # A promise to pay names an amount and a date at most this many days ahead; it is kept when the balance
    # went down by at least the amount by that date. After this many broken promises (all episodes of the
    # client counted) a new promise is refused: staff may still hold the ladder, with a reason.
    promise_horizon_days: int = check(_at_least_one, 60)
    max_broken_promises: int = check(_not_negative, 2)
    # Where staff tasks and approval requests go when a stage names no department.
    staff_department_id: int = 1
    # Staff get one ticket when a stage waits for approval, and one reminder after this many hours.
    approval_reminder_hours: int = 24
    # What the collections dossier (`escalations export`) says of the creditor and where it finds the debtor's numbers.
    dossier: DossierSpec = field(default_factory=DossierSpec)
    # First matching policy wins.
    policies: list[Policy] = field(default_factory=list)
