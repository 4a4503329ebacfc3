"""The escalation family's messages (pure): the notices of the shipped ladder, the staff tasks and notes,
and any message id a configured ladder names that is not shipped (its templates then come from
`messages.templates`, with the same fields)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.messages.spec import FieldType, MessageSpec, define

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config

# What every ladder message may say: who, how much (the client's currency), since when, until when.
LADDER_FIELDS: dict[str, FieldType] = {
    "client": "client",
    "amount_due": "money",
    "invoice_count": "number",
    "oldest_due": "date",
    "days_overdue": "number",
    "deadline": "date",
    "stage": "text",
    "services": "subjects",
}
LADDER_SAMPLES = {
    "invoice_count": 3,
    "oldest_due": "2026-10-14",
    "days_overdue": 42,
    "deadline": "2026-12-11",
    "stage": "final-notice",
}


def _ladder(message_id: str, channel: str, audience: str, about: str) -> MessageSpec:
    return MessageSpec(message_id, channel, audience, LADDER_FIELDS, about, LADDER_SAMPLES)  # type: ignore[arg-type]


# What staff need to decide an approval (escalation/approval.py); `impact` is empty when unknown.
APPROVAL_FIELDS: dict[str, FieldType] = {
    "client": "client",
    "stage": "text",
    "steps": "text",
    "amount_due": "money",
    "invoice_count": "number",
    "oldest_due": "date",
    "impact": "text",
    "promise": "text",
    "hold": "text",
}
APPROVAL_SAMPLES = {
    "stage": "panel-lock",
    "steps": "module command lock_reseller_panel on service 101; email escalation.panel_locked",
    "invoice_count": 11,
    "oldest_due": "2026-06-21",
    "impact": "196",
    "promise": "",
    "hold": "",
}


def _approval(message_id: str, about: str) -> MessageSpec:
    return MessageSpec(message_id, "ticket", "staff", APPROVAL_FIELDS, about, APPROVAL_SAMPLES)


MESSAGES = define(
    _ladder("escalation.reminder", "email", "client", "First reminder of unpaid invoices."),
    _ladder("escalation.second_reminder", "email", "client", "Second reminder: the invoices are overdue."),
    _ladder("escalation.final_notice", "email", "client", "Formal notice: pay by the deadline or services stop."),
    _ladder(
        "escalation.final_notice_ticket", "ticket", "client", "The final notice, as a ticket in the client's name."
    ),
    _ladder(
        "escalation.registered_letter", "ticket", "staff", "Staff task: send the final notice by registered letter."
    ),
    _ladder("escalation.panel_locked", "email", "client", "The control panel is locked; sites and mail still run."),
    _ladder("escalation.services_suspended", "email", "client", "The websites are suspended."),
    _ladder("escalation.reminder_note", "text", "staff", "Client note: a reminder was sent."),
    _ladder("escalation.collections_handover", "ticket", "staff", "Staff task: hand the client to collections."),
    MessageSpec(
        "escalation.restored", "email", "client", {"client": "client"}, "Payment received: everything restored."
    ),
    MessageSpec(
        "escalation.closed_note",
        "text",
        "staff",
        {"undone": "number"},
        "Client note: the case closed, with the number of steps undone.",
        samples={"undone": 4},
    ),
    MessageSpec(
        "escalation.left_suspended",
        "text",
        "staff",
        {"service": "service", "reason": "text", "ours": "text"},
        "Client note: a service staff suspended for their own reason was left suspended when the client paid.",
        samples={"service": 101, "reason": "Abuse: phishing kit", "ours": "Administrative reasons"},
    ),
    MessageSpec(
        "escalation.left_undone",
        "text",
        "staff",
        {"service": "service", "reason": "text", "function": "text"},
        "Client note: a step of the bridge was not undone on a service staff suspended for their own reason.",
        samples={"service": 102, "reason": "Abuse: spam run", "function": "enable_mail"},
    ),
    _approval("escalation.approval_request", "Staff ticket: a stage waits for approval, with what to decide on."),
    _approval("escalation.approval_reminder", "Staff ticket: a stage still waits for approval (one reminder)."),
    MessageSpec(
        "escalation.cancelled_hold_note",
        "text",
        "staff",
        {"invoices": "text"},
        "Client note: invoices were cancelled with nothing replacing them; the ladder waits for staff.",
        samples={"invoices": "1, 2, 3"},
    ),
    MessageSpec(
        "escalation.held_service_changed",
        "text",
        "staff",
        {"service": "text", "status": "text"},
        "Staff screens: why the bridge held a ladder (staff changed a service's status by hand in WHMCS).",
        samples={"service": "101", "status": "Suspended"},
    ),
    MessageSpec(
        "escalation.held_cancelled",
        "text",
        "staff",
        {"invoices": "text"},
        "Staff screens: why the bridge held a ladder (invoices cancelled with nothing replacing them).",
        samples={"invoices": "1, 2, 3"},
    ),
    MessageSpec(
        "escalation.template_without_record",
        "text",
        "staff",
        {"template": "text", "template_type": "text"},
        "Client note: a WHMCS email template had no record of its type to be sent about.",
        samples={"template": "Invoice Payment Reminder", "template_type": "invoice"},
    ),
)

# Where a ladder step puts its message, as what channel and for whom.
USES = {
    "email": ("email", "client"),
    "ticket": ("ticket", "client"),
    "staff_task": ("ticket", "staff"),
    "note": ("text", "staff"),
}


def configured(config: Config) -> dict[str, MessageSpec]:
    """The ids the configured ladders name that are not shipped, as ladder messages of the channel they
    are used in; an id used in the wrong channel (a note naming an email) is a mistake."""
    section = config.escalation
    uses = [("restored_email", "email", section.restored_email.message)]
    for policy in section.policies:
        for stage in policy.ladder:
            for step in stage.actions:
                uses.append((f"{policy.name}/{stage.name}", step.kind, step.message_id))
    out: dict[str, MessageSpec] = {}
    for where, kind, message_id in uses:
        if not message_id:
            continue
        channel, audience = USES[kind]
        known = MESSAGES.get(message_id) or out.get(message_id)
        if known is None:
            out[message_id] = _ladder(message_id, channel, audience, f"Configured for {where}.")
        elif known.channel != channel:
            raise ConfigError(
                f"{config.source}: escalation {where}: the {kind} step names message {message_id}, which is "
                f"a {known.channel} message, not a {channel} one; name a {channel} message"
            )
    return out
