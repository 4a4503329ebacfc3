"""`check --online`: prove the credentials work and find which needed API actions the API role refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import WhmcsApiError, WhmcsAuthError
from whmcs_bridge.whmcs.api import NEEDED_ACTIONS
from whmcs_bridge.whmcs.client import WhmcsClient
from whmcs_bridge.whmcs.normalize import as_list

# No probe changes anything. Reads ask for one row (or id 0). Each write names id 0, or leaves out a
# parameter its page marks required, so WHMCS refuses it inside the action, *after* the API role check
# and before any change: an answer other than "Invalid Permissions" proves the action is allowed.
# LogActivity's page (DD:api-reference/logactivity.md) marks `description` required but lists no error
# for it; a WHMCS that accepted an empty description would write one empty activity-log line (the
# README says so). The README section "What `check --online` does to WHMCS" lists these calls.
PROBES: dict[str, dict[str, Any]] = {
    "GetClients": {"limitnum": 1},
    "GetClientsDetails": {"clientid": 0},
    "GetUsers": {"limitnum": 1},
    "GetClientsProducts": {"limitnum": 1},
    "GetInvoices": {"limitnum": 1},
    "GetInvoice": {"invoiceid": 0},
    "GetEmails": {"clientid": 0},
    "GetEmailTemplates": {"type": "whmcs-bridge-check"},
    "GetTickets": {"limitnum": 1},
    "GetTicket": {"ticketid": 0},
    "GetOrders": {"limitnum": 1},
    "GetActivityLog": {"limitnum": 1},
    "GetClientsDomains": {"limitnum": 1},
    "DomainGetWhoisInfo": {"domainid": 0},
    "GetTicketAttachment": {"relatedid": 0, "type": "ticket", "index": 0},
    "GetPaymentMethods": {},
    "GetTransactions": {"transid": "whmcs-bridge-check"},
    "GetContacts": {"limitnum": 1},
    "AddClientNote": {"userid": 0, "notes": ""},
    "ModuleSuspend": {"serviceid": 0},
    "ModuleUnsuspend": {"serviceid": 0},
    "ModuleTerminate": {"serviceid": 0},
    "ModuleChangePw": {"serviceid": 0},
    "ModuleCustom": {"serviceid": 0},
    "CreateInvoice": {"userid": 0},
    "UpdateInvoice": {"invoiceid": 0},
    "AddInvoicePayment": {"invoiceid": 0},
    "UpdateClientProduct": {"serviceid": 0},
    "SendEmail": {"id": 0, "customtype": "general"},
    "OpenTicket": {"deptid": 0},
    "AddTicketNote": {"ticketid": 0},
    "AddTicketReply": {"ticketid": 0},
    "LogActivity": {"description": ""},
    "DomainUpdateWhoisInfo": {"domainid": 0},
    "DomainUpdateLockingStatus": {"domainid": 0},
    "AcceptOrder": {"orderid": 0},
    "GetTLDPricing": {"currencyid": 1},
    "DomainRenew": {"domainid": 0},
    "UpdateClientDomain": {"domainid": 0},
    "DeleteUserClient": {"user_id": 0, "client_id": 0},
}
assert set(PROBES) == set(NEEDED_ACTIONS), "every needed action has a probe"


def orders_lack_requestor(orders: list[dict[str, Any]]) -> bool:
    """GetOrders rows without `requestor_id` (DD:api-reference/getorders.md shows it, older 8.x may not send
    it): the bridge then cannot tell which user placed an order."""
    return bool(orders) and any("requestor_id" not in order for order in orders)


def requestor_warning(config: Config) -> str | None:
    client = WhmcsClient.from_config(config.whmcs, sleep=lambda _: None)
    answer = client.call("GetOrders", {"limitnum": 1})
    if not orders_lack_requestor(as_list(answer.get("orders"), "order")):
        return None
    return (
        "warning: GetOrders gives no requestor_id on this WHMCS, so the bridge cannot tell which user placed an "
        "order: orders placed by an administrative contact are flagged for staff instead of granted (README, "
        "Known WHMCS uncertainties)"
    )


def gateway_problem(config: Config) -> str | None:
    """Why the configured payment gateway cannot be used, or None: it must be one GetPaymentMethods lists
    (DD:api-reference/addinvoicepayment.md wants a gateway's system name)."""
    client = WhmcsClient.from_config(config.whmcs, sleep=lambda _: None)
    answer = client.call("GetPaymentMethods", {})
    active = [str(m.get("module")) for m in as_list(answer.get("paymentmethods"), "paymentmethod")]
    if config.whmcs.payment_gateway in active:
        return None
    return (
        f"whmcs.payment_gateway is {config.whmcs.payment_gateway!r}, which is not an active payment gateway in "
        f"WHMCS (it lists {', '.join(active) or 'none'}); set it to one of them"
    )


def probe_actions(config: Config, echo: Callable[[str], None]) -> list[str]:
    """Return the needed actions the credential may not use; raise WhmcsAuthError if it is refused outright."""
    client = WhmcsClient.from_config(config.whmcs, sleep=lambda _: None)
    client.max_attempts = 2
    denied: list[str] = []
    for index, action in enumerate(NEEDED_ACTIONS):
        try:
            client.call(action, PROBES[action])
        except WhmcsAuthError as exc:
            if "Invalid Permissions" not in exc.whmcs_message:
                raise  # bad credentials or IP: every action would fail alike
            denied.append(action)
            echo(f"  {action}: NOT ALLOWED by the API role")
            continue
        except WhmcsApiError:
            pass  # refused after the permission check: allowed
        if index == 0:
            echo("  credentials accepted")
    return denied
