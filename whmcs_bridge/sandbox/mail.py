"""The sandbox's email templates (WHMCS's default names, types and subjects), the merge fields each type
gets from its related record, and the HTML frame with CSS that every logged email gets, as WHMCS logs it
(DD:api-reference/getemails.md: the logged message is a whole HTML document with a style sheet)."""

from __future__ import annotations

import secrets
from typing import Any

from whmcs_bridge.sandbox.state import SandboxState

# name: (type, subject, body). The bodies are short stand-ins that print what WHMCS's own print
# (passwords included), with variables only.
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "Hosting Account Welcome Email": (
        "product",
        "New Account Information",
        "<p>Dear {$client_name},</p><p>Your hosting account is ready.</p><p>Domain: {$service_domain}<br />"
        "Username: {$service_username}<br />Password: {$service_password}</p>",
    ),
    "Reseller Account Welcome Email": (
        "product",
        "Reseller Account Information",
        "<p>Dear {$client_name},</p><p>The reseller hosting account for {$service_domain} has been set up.</p>"
        "<p>Username: {$service_username}<br />Password: {$service_password}</p>",
    ),
    "Dedicated/VPS Server Welcome Email": (
        "product",
        "New Dedicated Server Information",
        "<p>Dear {$client_name},</p><p>The server you ordered is operational.</p><p>ServerName: "
        "{$service_domain}<br />Main IP: {$service_dedicated_ip}<br />Root pass: {$service_password}</p>",
    ),
    "Other Product/Service Welcome Email": (
        "product",
        "New Product Information",
        "<p>Dear {$client_name},</p><p>{$service_domain} is ready. Password: {$service_password}</p>",
    ),
    "Service Suspension Notification": (
        "product",
        "Service Suspension Notification",
        "<p>Dear {$client_name},</p><p>Your service {$service_domain} has been suspended.</p>",
    ),
    "Service Unsuspension Notification": (
        "product",
        "Service Unsuspension Notification",
        "<p>Dear {$client_name},</p><p>Your service {$service_domain} has been unsuspended.</p>",
    ),
    "Domain Registration Confirmation": (
        "domain",
        "Domain Registration Confirmation",
        "<p>Dear {$client_name},</p><p>Domain: {$domain_name} is registered.</p>",
    ),
    "Upcoming Domain Renewal Notice": (
        "domain",
        "Upcoming Domain Renewal Notice",
        "<p>Dear {$client_name},</p><p>{$domain_name} is due for renewal.</p>",
    ),
    "Domain Renewal Notice": ("domain", "Domain Renewal Notice", "<p>{$domain_name} renews soon.</p>"),
    "Invoice Created": ("invoice", "Customer Invoice", "<p>Invoice #{$invoice_num}: {$invoice_total}</p>"),
    "Invoice Payment Confirmation": (
        "invoice",
        "Invoice Payment Confirmation",
        "<p>This is a payment receipt for Invoice {$invoice_num}.</p>",
    ),
    "Invoice Payment Reminder": ("invoice", "Invoice Payment Reminder", "<p>Invoice {$invoice_num} is due.</p>"),
    "First Invoice Overdue Notice": ("invoice", "First Invoice Overdue Notice", "<p>{$invoice_num} overdue.</p>"),
    "Second Invoice Overdue Notice": ("invoice", "Second Invoice Overdue Notice", "<p>{$invoice_num} overdue.</p>"),
    "Third Invoice Overdue Notice": ("invoice", "Third Invoice Overdue Notice", "<p>{$invoice_num} overdue.</p>"),
    "Client Signup Email": (
        "general",
        "Welcome",
        "<p>Dear {$client_name},</p><p>Email Address: {$client_email}<br />Password: {$client_password}</p>",
    ),
    "Automated Password Reset": (
        "general",
        "Your new password",
        "<p>Dear {$client_name},</p><p>Your new client area password is: {$client_password}</p>",
    ),
    "Password Reset Validation": (
        "general",
        "Password Reset Validation",
        '<p>Dear {$client_name},</p><p>To reset your password, visit <a href="{$pw_reset_url}">{$pw_reset_url}</a></p>',
    ),
    "Support Ticket Opened": (
        "support",
        "[Ticket ID: {$ticket_id}] {$ticket_subject}",  # WHMCS's default subject
        "<p>{$client_name},</p><p>Ticket #{$ticket_id}: {$ticket_subject}</p>",
    ),
    "Support Ticket Reply": (
        "support",
        "[Ticket ID: {$ticket_id}] {$ticket_subject}",  # WHMCS's default subject
        "<p>{$client_name},</p><p>A reply was added to ticket #{$ticket_id}: {$ticket_subject}</p>",
    ),
    # WHMCS's default prints the ticket's subject, department, priority and status.
    "Support Ticket Auto Close Notification": (
        "support",
        "Support Ticket Resolved",
        "<p>{$client_name},</p><p>This is a notification to let you know that we are changing the status of your "
        "ticket #{$ticket_id} to Closed.</p><p>Subject: {$ticket_subject}<br />Department: Support</p>",
    ),
}

FRAME_HEAD = (
    '<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n<meta http-equiv="Content-Type" '
    'content="text/html; charset=utf-8" />\n<style type="text/css">\nbody{margin:0;padding:0;width:100%!important}'
    "#templateContainer{width:600px;border:1px solid #ddd;background-color:#fff}.bodyContent{color:#505050;"
    "font-size:14px;padding:20px}@media only screen and (max-width:640px){h1{font-size:24px!important}}\n"
    '</style>\n</head>\n<body>\n<table id="templateContainer"><tr><td class="bodyContent">\n<!-- message header end -->'
)
FRAME_FOOT = "<!-- message footer start -->\n</td></tr></table>\n</body>\n</html>"


def framed(body: str) -> str:
    """The message as WHMCS logs it: inside the global header and footer, with the CSS styling (which
    WHMCS does not pass through Smarty: its braces are no tags)."""
    return FRAME_HEAD + body + FRAME_FOOT


def template(sb: SandboxState, name: str) -> tuple[str, str, str] | None:
    """A template staff made in the admin area (a custom name, a translation), else a default one."""
    row = sb.one("SELECT type, subject, message FROM email_templates WHERE name = ?", [name])
    if row is not None:
        return str(row["type"]), str(row["subject"]), str(row["message"])
    return TEMPLATES.get(name)


def merge_fields(sb: SandboxState, kind: str, related: Any, client: Any) -> dict[str, str]:
    """What a template of this type can print: the client's fields and the related record's. Secrets
    WHMCS makes at sending time (a reset key, a new client password) are made here, fresh."""
    fields = {
        "client_id": str(client["id"]),
        "client_name": f"{client['firstname']} {client['lastname']}",
        "client_email": str(client["email"]),
        "client_password": "Cl!" + secrets.token_hex(5),
        "pw_reset_url": "https://billing.example.com/pwreset.php?key=" + secrets.token_hex(16),
    }
    if kind == "product":
        password = str(related["password"])
        if not password:  # a service WHMCS provisioned has one: give it one now, kept for later reads
            password = "Sv!" + secrets.token_hex(5)
            sb.update("services", int(related["id"]), password=password)
        fields.update(
            service_id=str(related["id"]),
            service_domain=str(related["domain"]),
            service_username=str(related["username"]),
            service_password=password,
            service_dedicated_ip="192.0.2." + str(int(related["id"]) % 250 + 1),
        )
    elif kind == "domain":
        fields.update(domain_id=str(related["id"]), domain_name=str(related["domainname"]))
    elif kind == "invoice":
        fields.update(
            invoice_id=str(related["id"]), invoice_num=str(related["id"]), invoice_total=str(related["total"])
        )
    elif kind == "support":
        fields.update(ticket_id=str(related["tid"]), ticket_subject=str(related["subject"]))
    return fields
