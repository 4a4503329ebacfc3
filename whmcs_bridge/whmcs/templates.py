"""What an email is, by WHMCS's own identity for it (pure): the template name and related id that
EmailPreSend gives (DD:hooks-reference/everything-else.md; the PHP hook adds them to EmailPreLog), the
template's type, and the record the related id names by that type (DD:api-reference/sendemail.md:
general = client id, product = service id, domain = domain id, invoice = invoice id, support = ticket id,
affiliate = affiliate id). Never the subject's words: a renamed or translated template says nothing
there, and a welcome email need not say "welcome".

Each template also says which secret it prints, so that nothing guesses it:
- `none`: nothing that gives access.
- `service-access`: a service's access details (every welcome email: control panel, FTP, root passwords).
- `free-text`: what a person wrote (a support ticket's message or staff's reply): it may carry anything, a
  password staff pasted included.
- `takeover`: what hands over the client's account or a domain (client-area passwords, password-reset
  links, email-verification links, EPP/transfer codes).
A template WHMCS ships is known here by its default name; a template staff made, renamed or gave another
name is known only when the configuration lists it. An email without a template name (a custom message,
an event from an older hook) or with a name nobody listed is unknown: callers must not copy it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

EmailType = Literal["general", "product", "domain", "invoice", "support", "affiliate"]
Secret = Literal["none", "service-access", "free-text", "takeover"]

# The record a related id names, per template type (DD:api-reference/sendemail.md).
RELATED: dict[str, str] = {
    "general": "client",
    "product": "service",
    "domain": "domain",
    "invoice": "invoice",
    "support": "ticket",
    "affiliate": "affiliate",
}


@dataclass(frozen=True, kw_only=True)
class TemplateInfo:
    type: EmailType
    # No default: whoever lists a template says what it prints.
    secret: Secret


@dataclass(frozen=True)
class EmailIdentity:
    template: str
    type: EmailType
    secret: Secret
    # What the related id names: ("service", 110), ("domain", 11), ("invoice", 501), ("client", 11)...
    record: str
    record_id: int | None


def _t(kind: EmailType, secret: Secret = "none") -> TemplateInfo:
    return TemplateInfo(type=kind, secret=secret)


# WHMCS's default client email templates, by their default (English) names. A translation of a default
# template keeps its name (WHMCS stores languages as variants of one name), so it is known here too.
DEFAULT_TEMPLATES: dict[str, TemplateInfo] = {
    # general: related id = client id
    "Client Signup Email": _t("general", "takeover"),  # older defaults print {$client_password}
    "Automated Password Reset": _t("general", "takeover"),
    "Password Reset Validation": _t("general", "takeover"),
    "Password Reset Confirmation": _t("general", "takeover"),
    "Client Email Address Verification": _t("general", "takeover"),
    "Order Confirmation": _t("general"),
    "Credit Card Expiring Soon": _t("general"),
    "Quote Delivery with PDF": _t("general"),
    "Quote Accepted": _t("general"),
    # product: related id = service id
    "Hosting Account Welcome Email": _t("product", "service-access"),
    "Reseller Account Welcome Email": _t("product", "service-access"),
    "Dedicated/VPS Server Welcome Email": _t("product", "service-access"),
    "Other Product/Service Welcome Email": _t("product", "service-access"),
    "SHOUTcast Welcome Email": _t("product", "service-access"),
    "SiteLock Welcome Email": _t("product", "service-access"),
    "SiteLock VPN Welcome Email": _t("product", "service-access"),
    "Weebly Welcome Email": _t("product", "service-access"),
    "CodeGuard Welcome Email": _t("product", "service-access"),
    "SpamExperts Welcome Email": _t("product", "service-access"),
    "Marketgoo Welcome Email": _t("product", "service-access"),
    "Service Suspension Notification": _t("product"),
    "Service Unsuspension Notification": _t("product"),
    "Cancellation Request Confirmation": _t("product"),
    # domain: related id = domain id
    "Domain Registration Confirmation": _t("domain"),
    "Domain Transfer Initiated": _t("domain"),
    "Domain Transfer Completed": _t("domain"),
    "Domain Transfer Failed": _t("domain"),
    "Domain Renewal Confirmation": _t("domain"),
    "Upcoming Domain Renewal Notice": _t("domain"),
    "Expired Domain Notice": _t("domain"),
    # invoice: related id = invoice id
    "Invoice Created": _t("invoice"),
    "Credit Card Invoice Created": _t("invoice"),
    "Invoice Payment Confirmation": _t("invoice"),
    "Credit Card Payment Confirmation": _t("invoice"),
    "Credit Card Payment Failed": _t("invoice"),
    "Invoice Payment Reminder": _t("invoice"),
    "First Invoice Overdue Notice": _t("invoice"),
    "Second Invoice Overdue Notice": _t("invoice"),
    "Third Invoice Overdue Notice": _t("invoice"),
    "Invoice Refund Confirmation": _t("invoice"),
    # support: related id = ticket id
    # The ticket's message, the client's or staff's words, is in the email: free text.
    "Support Ticket Opened": _t("support", "free-text"),
    "Support Ticket Reply": _t("support", "free-text"),
    "Support Ticket Opened by Admin": _t("support", "free-text"),
    # Both print the ticket's subject ({$ticket_subject}), which a person typed (twenty-third break round, HIGH 3).
    "Support Ticket Auto Close Notification": _t("support", "free-text"),
    "Support Ticket Feedback Request": _t("support", "free-text"),
}


def _related_id(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 18 and int(text) > 0 else None


def identify(
    messagename: Any, relid: Any, userid: Any = None, listed: Mapping[str, TemplateInfo] | None = None
) -> EmailIdentity | None:
    """The email's identity from its template name and related id, or None when it is unknown. The
    configuration's list (`listed`) comes first: staff may re-mark a default template too."""
    name = messagename.strip() if isinstance(messagename, str) else ""
    if not name:
        return None
    info = (listed or {}).get(name) or DEFAULT_TEMPLATES.get(name)
    if info is None:
        return None
    record = RELATED[info.type]
    record_id = _related_id(relid)
    if record == "client" and record_id is None:
        record_id = _related_id(userid)
    return EmailIdentity(template=name, type=info.type, secret=info.secret, record=record, record_id=record_id)
