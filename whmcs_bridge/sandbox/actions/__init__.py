"""The emulated WHMCS API actions: parameters, state changes, response shapes and error texts.

Shapes and value types follow each action's page in WHMCS/developer-docs/api-reference (the same
examples are in tests/fixtures/whmcs-examples/ and a test compares keys). Where WHMCS itself is
inconsistent (ids as strings in GetClientsProducts, as ints in GetClients) the sandbox is too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whmcs_bridge.sandbox.actions import billing, clients, records, services, support
from whmcs_bridge.sandbox.actions.base import ApiFail, Hook, Params
from whmcs_bridge.sandbox.state import SandboxState

__all__ = ["ACTIONS", "BY_LOWER", "ApiFail", "Hook", "Params"]

Handler = Callable[[SandboxState, Params], dict[str, Any]]

ACTIONS: dict[str, Handler] = {
    "GetClients": clients.get_clients,
    "GetClientsDetails": clients.get_clients_details,
    "UpdateClient": clients.update_client,
    "DeleteClient": clients.delete_client,
    "AddClientNote": clients.add_client_note,
    "GetContacts": clients.get_contacts,
    "AddContact": clients.add_contact,
    "GetUsers": clients.get_users,
    "DeleteUserClient": clients.delete_user_client,
    "GetClientsProducts": services.get_clients_products,
    "UpdateClientProduct": services.update_client_product,
    "ModuleSuspend": services.module_suspend,
    "ModuleUnsuspend": services.module_unsuspend,
    "ModuleTerminate": services.module_terminate,
    "ModuleChangePw": services.module_change_pw,
    "ModuleCustom": services.module_custom,
    "GetInvoices": billing.get_invoices,
    "GetInvoice": billing.get_invoice,
    "CreateInvoice": billing.create_invoice,
    "UpdateInvoice": billing.update_invoice,
    "AddInvoicePayment": billing.add_invoice_payment,
    "AddCredit": billing.add_credit,
    "ApplyCredit": billing.apply_credit,
    "GetPaymentMethods": billing.get_payment_methods,
    "GetTransactions": billing.get_transactions,
    "SendEmail": support.send_email,
    "GetEmails": support.get_emails,
    "GetEmailTemplates": support.get_email_templates,
    "OpenTicket": support.open_ticket,
    "AddTicketNote": support.add_ticket_note,
    "AddTicketReply": support.add_ticket_reply,
    "GetTicketAttachment": support.get_ticket_attachment,
    "GetTickets": support.get_tickets,
    "GetTicket": support.get_ticket,
    "GetOrders": records.get_orders,
    "AcceptOrder": records.accept_order,
    "CancelOrder": records.cancel_order,
    "FraudOrder": records.fraud_order,
    "LogActivity": records.log_activity,
    "GetActivityLog": records.get_activity_log,
    "GetClientsDomains": records.get_clients_domains,
    "DomainGetWhoisInfo": records.domain_get_whois_info,
    "DomainUpdateWhoisInfo": records.domain_update_whois_info,
    "DomainUpdateLockingStatus": records.domain_update_locking_status,
    "DomainRenew": records.domain_renew,
    "UpdateClientDomain": records.update_client_domain,
    "GetTLDPricing": records.get_tld_pricing,
    "GenInvoices": billing.gen_invoices,
}
# WHMCS matches action names case-insensitively.
BY_LOWER = {name.lower(): (name, fn) for name, fn in ACTIONS.items()}
