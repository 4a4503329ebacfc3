"""`check --online`: prove the credentials work and find which needed API actions the API role refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import WhmcsApiError, WhmcsAuthError
from whmcs_bridge.whmcs.api import NEEDED_ACTIONS
from whmcs_bridge.whmcs.client import WhmcsClient

# Each probe is harmless: reads ask for one row; writes name id 0, which WHMCS refuses as unknown
# *after* the role check, so an "ID not found" answer proves the action is allowed and changes nothing.
# LogActivity is the exception: it writes one activity-log line saying a probe ran.
PROBES: dict[str, dict[str, Any]] = {
    "GetClients": {"limitnum": 1},
    "GetClientsDetails": {"clientid": 0},
    "GetContacts": {"limitnum": 1},
    "GetUsers": {"limitnum": 1},
    "GetClientsProducts": {"limitnum": 1},
    "GetInvoices": {"limitnum": 1},
    "GetInvoice": {"invoiceid": 0},
    "GetEmails": {"clientid": 0},
    "GetTickets": {"limitnum": 1},
    "GetTicket": {"ticketid": 0},
    "GetOrders": {"limitnum": 1},
    "GetActivityLog": {"limitnum": 1},
    "GetClientsDomains": {"limitnum": 1},
    "DomainGetWhoisInfo": {"domainid": 0},
    "GetTicketAttachment": {"relatedid": 0, "type": "ticket", "index": 0},
    "UpdateClient": {"clientid": 0},
    "AddClientNote": {"userid": 0, "notes": ""},
    "AddContact": {"clientid": 0},
    "UpdateClientProduct": {"serviceid": 0},
    "ModuleSuspend": {"serviceid": 0},
    "ModuleUnsuspend": {"serviceid": 0},
    "ModuleTerminate": {"serviceid": 0},
    "ModuleChangePw": {"serviceid": 0},
    "ModuleCustom": {"accountid": 0},
    "CreateInvoice": {"userid": 0},
    "UpdateInvoice": {"invoiceid": 0},
    "AddInvoicePayment": {"invoiceid": 0},
    "SendEmail": {"id": 0, "customtype": "general"},
    "OpenTicket": {"deptid": 0},
    "AddTicketNote": {"ticketid": 0},
    "AddTicketReply": {"ticketid": 0},
    "LogActivity": {"description": "whmcs-bridge check --online: API role probe"},
    "DomainUpdateWhoisInfo": {"domainid": 0},
}
assert set(PROBES) == set(NEEDED_ACTIONS), "every needed action has a probe"


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
