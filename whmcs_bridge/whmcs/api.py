"""Typed WHMCS API methods: the only way the rest of the bridge reads or changes WHMCS."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from whmcs_bridge.errors import WhmcsApiError, WhmcsAuthError
from whmcs_bridge.whmcs import normalize as n
from whmcs_bridge.whmcs.client import WhmcsClient

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config

SYSTEM_NAME = "whmcs-bridge"
# DD:api-reference/openticket.md: without `admin` (which needs an admin username, localAPI only) "the system
# still uses the client as the ticket opener": a ticket the bridge opens for a client shows as written by
# the client. Its first line (`preface`, the catalogue's core.opened_for_client in the reader's language)
# says whose message it is.

# The actions the bridge calls, and only those: `check --online` probes them and the README lists them
# as the minimal API role. tests/test_whmcs_docs.py derives the set from the calls in the methods below
# (and that every method has a caller), so the list cannot grant more than the code uses.
READ_ACTIONS = (
    "GetClients",
    "GetClientsDetails",
    "GetUsers",
    "GetClientsProducts",
    "GetInvoices",
    "GetInvoice",
    "GetEmails",
    "GetEmailTemplates",
    "GetTickets",
    "GetTicket",
    "GetOrders",
    "GetActivityLog",
    "GetClientsDomains",
    "DomainGetWhoisInfo",
    "GetTicketAttachment",
    "GetPaymentMethods",
    "GetTransactions",
    "GetTLDPricing",
    "GetContacts",
)
WRITE_ACTIONS = (
    "AddClientNote",
    "ModuleSuspend",
    "ModuleUnsuspend",
    "ModuleTerminate",
    "ModuleChangePw",
    "ModuleCustom",
    "CreateInvoice",
    "UpdateInvoice",
    "AddInvoicePayment",
    "UpdateClientProduct",
    "SendEmail",
    "OpenTicket",
    "AddTicketNote",
    "AddTicketReply",
    "LogActivity",
    "DomainUpdateWhoisInfo",
    "DomainUpdateLockingStatus",
    "AcceptOrder",
    "DomainRenew",
    "UpdateClientDomain",
    "DeleteUserClient",
)
NEEDED_ACTIONS = READ_ACTIONS + WRITE_ACTIONS


# Lists WHMCS documents with no sort parameter and no stated order (DD:api-reference/gettickets.md,
# getorders.md, getemails.md; the examples show one row). Read them as sets: never stop at an id
# already seen, never take the first rows as the newest. `unordered_page` reads one page of one.
UNORDERED_LISTS: dict[str, tuple[str, str, str, Any, dict[str, Any]]] = {
    "tickets": ("GetTickets", "tickets", "ticket", n.ticket, {"ignore_dept_assignments": True}),
    "orders": ("GetOrders", "orders", "order", n.order, {}),
    "emails": ("GetEmails", "emails", "email", n.email, {}),
}


def php_serialize_strings(values: dict[str, str]) -> str:
    """base64(serialize(array)) of a flat string map, as `customvars`/`customfields` expect
    (DD:api-reference/sendemail.md). PHP string lengths count bytes."""
    parts = []
    for key, value in values.items():
        for item in (str(key), str(value)):
            raw = item.encode("utf-8")
            parts.append(f's:{len(raw)}:"{item}";')
    body = f"a:{len(values)}:{{{''.join(parts)}}}"
    return base64.b64encode(body.encode("utf-8")).decode("ascii")


# The names under which a custom email's text travels in `customvars` (see smarty_safe).
SUBJECT_VAR, MESSAGE_VAR = "wb_subject", "wb_message"


def smarty_safe(subject: str, html: str, merge: dict[str, str]) -> tuple[str, str]:
    """The subject and message to send as a custom email, the texts themselves moved into `merge`.

    WHMCS parses a custom email's message as a Smarty template (DD:api-reference/sendemail.md: the
    example puts `{$custommerge}` in `custommessage` and its value in `customvars`; "Sending Failed ...
    Email template contains no body content after processing (typically a Smarty error)"), and subjects
    too (DD:api-reference/getemailtemplates.md: "Your new password for {$company_name}"). A logged email
    is a whole HTML document with CSS braces (DD:api-reference/getemails.md), which Smarty refuses: so
    the message is always a variable's value (Smarty inserts a value without parsing it again), and so
    is a subject that has a brace in it.
    """
    merge[MESSAGE_VAR] = html
    if "{" in subject or "}" in subject:
        merge[SUBJECT_VAR] = subject
        subject = "{$" + SUBJECT_VAR + "}"
    return subject, "{$" + MESSAGE_VAR + "}"


def not_found(exc: WhmcsApiError) -> bool:
    """WHMCS says the record does not exist ("Ticket ID Not Found", "Invoice ID Not Found":
    DD:api-reference/getticket.md, getinvoice.md), as opposed to refusing or failing the read: only
    then may a poll take a record for deleted."""
    return not isinstance(exc, WhmcsAuthError) and "not found" in exc.whmcs_message.lower()


def account_items(api: WhmcsApi, client_id: int) -> list[str]:
    """Every service and domain WHMCS shows in a client's account now, whatever its status, as holds name them
    ("service:12", "domain:4"; GetClientsProducts and GetClientsDomains with `clientid`,
    DD:api-reference/getclientsproducts.md, getclientsdomains.md)."""
    return [f"service:{s.id}" for s in api.services(client_id=client_id)] + [
        f"domain:{d.id}" for d in api.domains(client_id=client_id)
    ]


def account_user_emails(api: WhmcsApi, client_id: int) -> list[str]:
    """The addresses of a client's account's users now, the owner's among them, as compared (trimmed, casefolded;
    GetClientsDetails `users`, DD:api-reference/getclientsdetails.md)."""
    return sorted({u.email.strip().casefold() for u in api.client_details(client_id).users if u.email.strip()})


def client_status(api: WhmcsApi, client_id: int) -> str:
    """A client's account status (GetClientsDetails `status`, DD:api-reference/getclientsdetails.md: Active, Inactive,
    Closed), "Closed" for a client WHMCS no longer has (deleted is closed for good)."""
    try:
        return api.client_details(client_id).status
    except WhmcsApiError as exc:
        if not_found(exc):
            return "Closed"
        raise


def client_exists(api: WhmcsApi, client_id: int) -> bool:
    """Whether WHMCS still has the client (GetClientsDetails answers "Client Not Found" once staff deleted it:
    DD:api-reference/getclientsdetails.md, deleteclient.md); a failed read raises."""
    try:
        api.client_details(client_id)
    except WhmcsApiError as exc:
        if not_found(exc):
            return False
        raise
    return True


class WhmcsApi:
    def __init__(
        self,
        client: WhmcsClient,
        *,
        reply_admin: str | None = None,
        reply_from: tuple[str, str] = (SYSTEM_NAME, "whmcs-bridge@localhost"),
        payment_gateway: str = "banktransfer",
        zone: tzinfo | None = None,
    ) -> None:
        self.client = client
        # WHMCS's dates are its server's wall clock (config `timezone:`); None: as given.
        self.zone = zone
        # Ticket replies: as this WHMCS admin, or (None) as the system under this name and email.
        self.reply_admin = reply_admin
        self.reply_from = reply_from
        # The gateway (system name) the bridge's payments are recorded under.
        self.payment_gateway = payment_gateway

    @classmethod
    def from_config(cls, config: Config, client: WhmcsClient | None = None) -> WhmcsApi:
        return cls(
            client or WhmcsClient.from_config(config.whmcs),
            reply_admin=config.whmcs.reply_admin,
            reply_from=(SYSTEM_NAME, config.safety.staff_email or "whmcs-bridge@localhost"),
            payment_gateway=config.whmcs.payment_gateway,
            zone=config.zone,
        )

    # --- reads --------------------------------------------------------------------------------

    def clients(self, *, status: str | None = None, search: str | None = None) -> Iterator[n.ClientSummary]:
        params = {"status": status, "search": search, "orderby": "id", "sorting": "ASC"}
        for raw in self.client.iterate("GetClients", "clients", "client", params):
            yield n.client_summary(raw)

    def client_details(self, client_id: int, *, stats: bool = False) -> n.ClientDetails:
        return n.client_details(self.client.call("GetClientsDetails", {"clientid": client_id, "stats": stats}))

    def contacts(self, client_id: int) -> Iterator[n.Contact]:
        """The client's contacts (GetContacts `userid`, DD:api-reference/getcontacts.md), with their email
        preferences (`generalemails`...: which of the client's emails each one also receives)."""
        for raw in self.client.iterate("GetContacts", "contacts", "contact", {"userid": client_id}):
            yield n.contact(raw)

    def users(self, *, search: str | None = None) -> Iterator[n.User]:
        for raw in self.client.iterate("GetUsers", "users", None, {"search": search}):
            yield n.user(raw)

    def services(
        self,
        *,
        client_id: int | None = None,
        service_id: int | None = None,
        pid: int | None = None,
        domain: str | None = None,
    ) -> Iterator[n.Service]:
        params = {"clientid": client_id, "serviceid": service_id, "pid": pid, "domain": domain}
        for raw in self.client.iterate("GetClientsProducts", "products", "product", params):
            yield n.service(raw)

    def service(self, service_id: int) -> n.Service | None:
        return next(self.services(service_id=service_id), None)

    def invoices(
        self, *, client_id: int | None = None, status: str | None = None, newest_first: bool = False
    ) -> Iterator[n.Invoice]:
        params = {
            "userid": client_id,
            "status": status,
            "orderby": "id",
            "order": "desc" if newest_first else "asc",
        }
        for raw in self.client.iterate("GetInvoices", "invoices", "invoice", params):
            yield n.invoice(raw)

    def invoice(self, invoice_id: int) -> n.Invoice:
        return n.invoice(self.client.call("GetInvoice", {"invoiceid": invoice_id}))

    def unordered_page(self, what: str, start: int, num: int, **params: Any) -> tuple[int, list[Any]]:
        """One page of a list in no stated order (UNORDERED_LISTS): WHMCS's total count and the rows."""
        action, plural, singular, normalize_one, fixed = UNORDERED_LISTS[what]
        answer = self.client.call(action, {**fixed, **params, "limitstart": start, "limitnum": num})
        page = n.page(answer, plural, singular)
        return page.total, [normalize_one(raw) for raw in page.items]

    def emails(self, client_id: int, *, subject: str | None = None) -> Iterator[n.Email]:
        """Every email logged for the client, in no stated order (DD:api-reference/getemails.md): walk
        them all. `subject` narrows by approximate match; a subject with Smarty tags in it is matched
        by its longest literal part (what WHMCS logs is the rendered subject)."""
        params = {"clientid": client_id, "subject": n.subject_filter(subject) if subject else None}
        for raw in self.client.iterate("GetEmails", "emails", "email", params):
            yield n.email(raw)

    def tickets(
        self,
        *,
        client_id: int | None = None,
        status: str | None = None,
        subject: str | None = None,
        email: str | None = None,
    ) -> Iterator[n.Ticket]:
        """GetTickets; `email`: a non-client's tickets (DD:api-reference/gettickets.md)."""
        params = {
            "clientid": client_id, "email": email, "status": status, "subject": subject,
            "ignore_dept_assignments": True,
        }  # fmt: skip
        for raw in self.client.iterate("GetTickets", "tickets", "ticket", params):
            yield n.ticket(raw)

    def ticket(self, ticket_id: int) -> n.Ticket:
        """A ticket with its replies oldest first, so `replies[0]` is the opening message: the default
        of `repliessort` (ASC or DESC) is unstated, so it is always sent (DD:api-reference/getticket.md)."""
        return n.ticket(self.client.call("GetTicket", {"ticketid": ticket_id, "repliessort": "ASC"}))

    def orders(
        self, *, order_id: int | None = None, client_id: int | None = None, requestor_id: int | None = None
    ) -> Iterator[n.Order]:
        params = {"id": order_id, "userid": client_id, "requestor_id": requestor_id}
        for raw in self.client.iterate("GetOrders", "orders", "order", params):
            yield n.order(raw)

    def activity(self, *, client_id: int | None = None, description: str | None = None) -> Iterator[n.ActivityEntry]:
        params = {"clientid": client_id, "description": description}
        for raw in self.client.iterate("GetActivityLog", "activity", "entry", params):
            yield n.activity_entry(raw)

    def activity_newest_first(self) -> Iterator[n.ActivityEntry]:
        """The whole activity log, newest first, whatever order WHMCS lists it in: its page states none
        (DD:api-reference/getactivitylog.md; the example is newest first). The first page tells: a log
        that fits on it is sorted here; ids rising down the page mean oldest first, and the log is then
        read from its last page backwards (lines added meanwhile go to its end and shift no earlier
        page). Pages are fetched lazily: a walk that stops at the last line seen reads only what is new."""
        pages = self.client.pages("GetActivityLog", "activity", "entry")
        first = next(pages, None)
        if first is None:
            return
        entries = [n.activity_entry(raw) for raw in first.items]
        if first.total <= len(entries):
            yield from sorted(entries, key=lambda e: e.id, reverse=True)
        elif len(entries) < 2 or entries[0].id > entries[-1].id:
            yield from entries
            yield from (n.activity_entry(raw) for page in pages for raw in page.items)
        else:
            yield from self._activity_backwards(first.total)

    def _activity_backwards(self, total: int) -> Iterator[n.ActivityEntry]:
        """An oldest-first activity log from its end: each page's lines newest first."""
        end = total
        while end > 0:
            start = max(0, end - self.client.page_size)
            pages = self.client.pages("GetActivityLog", "activity", "entry", page_size=end - start, start=start)
            page = next(pages, None)
            if page is None or not page.items:
                return
            yield from sorted((n.activity_entry(raw) for raw in page.items), key=lambda e: e.id, reverse=True)
            end = start

    def domains(
        self, *, client_id: int | None = None, domain_id: int | None = None, domain: str | None = None
    ) -> Iterator[n.Domain]:
        params = {"clientid": client_id, "domainid": domain_id, "domain": domain}
        for raw in self.client.iterate("GetClientsDomains", "domains", "domain", params):
            yield n.domain(raw)

    def ticket_attachment(self, related_id: int, index: int, part: str = "ticket") -> tuple[str, str]:
        """A file attached to a ticket's first message (`part` "ticket", `related_id` the ticket), a reply or a
        note ("reply", "note": their own ids): its name and base64 content (DD:api-reference/getticketattachment.md)."""
        answer = self.client.call("GetTicketAttachment", {"relatedid": related_id, "type": part, "index": index})
        return str(answer.get("filename") or ""), str(answer.get("data") or "")

    def payment_methods(self) -> list[str]:
        """The system names of the active payment gateways (DD:api-reference/getpaymentmethods.md)."""
        answer = self.client.call("GetPaymentMethods", {})
        return [n.to_str(m.get("module")) for m in n.as_list(answer.get("paymentmethods"), "paymentmethod")]

    def transactions(self, *, transid: str) -> list[n.Transaction]:
        """The payments recorded under a transaction id (DD:api-reference/gettransactions.md: a `transid`
        filter; the page names no paging parameters, so one call)."""
        answer = self.client.call("GetTransactions", {"transid": transid})
        return [n.transaction(t) for t in n.as_list(answer.get("transactions"), "transaction")]

    def template_subjects(self, name: str, *, language: str = "") -> list[str]:
        """The subject of the email template named `name` in the default language and, when `language` is given,
        in that one too (DD:api-reference/getemailtemplates.md: the default language's when none is asked for;
        the page names no paging parameters, so one call each)."""
        subjects = []
        for asked in ("", language) if language else ("",):
            answer = self.client.call("GetEmailTemplates", {"language": asked or None})
            found = n.as_list(answer.get("emailtemplates"), "emailtemplate")
            subjects += [n.to_str(t.get("subject")) for t in found if n.to_str(t.get("name")) == name]
        return [s for s in subjects if s]

    def whois(self, domain_id: int) -> n.WhoisInfo:
        return n.whois_info(self.client.call("DomainGetWhoisInfo", {"domainid": domain_id}))

    # --- writes -------------------------------------------------------------------------------

    def add_client_note(self, client_id: int, text: str, *, sticky: bool = False) -> int:
        answer = self.client.call("AddClientNote", {"userid": client_id, "notes": text, "sticky": sticky})
        return n.ids(answer.get("noteid"))

    def suspend(self, service_id: int, reason: str | None = None) -> None:
        self.client.call("ModuleSuspend", {"serviceid": service_id, "suspendreason": reason})

    def unsuspend(self, service_id: int) -> None:
        self.client.call("ModuleUnsuspend", {"serviceid": service_id})

    def terminate(self, service_id: int) -> None:
        self.client.call("ModuleTerminate", {"serviceid": service_id})

    def change_password(self, service_id: int, new_password: str | None = None) -> None:
        self.client.call("ModuleChangePw", {"serviceid": service_id, "servicepassword": new_password})

    def module_command(self, service_id: int, function: str) -> None:
        # DD:api-reference/modulecustom.md: `serviceid` (renamed from `accountid` in 7.7, which is still
        # accepted for older versions; the bridge needs 8.x for users and requestors anyway).
        self.client.call("ModuleCustom", {"serviceid": service_id, "func_name": function})

    def create_invoice(
        self,
        client_id: int,
        lines: list[tuple[str, Decimal, bool]],
        *,
        duedate: date | None = None,
        notes: str = "",
        send: bool = False,
        paymentmethod: str | None = None,
    ) -> int:
        params: dict[str, Any] = {
            "userid": client_id,
            "duedate": duedate,
            "notes": notes,
            "sendinvoice": send,
            "paymentmethod": paymentmethod,
        }
        # Each line: its description, amount and whether it is taxed (`itemtaxedx`, DD:api-reference/createinvoice.md:
        # WHMCS applies the client's tax rules to a taxed line; an untaxed one bills no tax).
        for i, (description, amount, taxed) in enumerate(lines, start=1):
            params[f"itemdescription{i}"] = description
            params[f"itemamount{i}"] = amount
            params[f"itemtaxed{i}"] = taxed
        return n.ids(self.client.call("CreateInvoice", params).get("invoiceid"))

    def update_invoice(self, invoice_id: int, **fields: Any) -> None:
        self.client.call("UpdateInvoice", {"invoiceid": invoice_id, **fields})

    def accept_order(self, order_id: int) -> None:
        """DD:api-reference/acceptorder.md: accepts a pending order. `autosetup`, `sendregistrar` and
        `sendemail` are left out, so the products' own settings decide, as when WHMCS accepts a paid order."""
        self.client.call("AcceptOrder", {"orderid": order_id})

    def update_service_due(self, service_id: int, nextduedate: date) -> None:
        """DD:api-reference/updateclientproduct.md: `nextduedate` (Y-m-d) is the service's next due date."""
        self.client.call("UpdateClientProduct", {"serviceid": service_id, "nextduedate": nextduedate.isoformat()})

    def add_invoice_payment(
        self, invoice_id: int, transid: str, gateway: str, paid_at: datetime, amount: Decimal | None = None
    ) -> None:
        """DD:api-reference/addinvoicepayment.md: `date` is required, "YYYY-MM-DD HH:mm:ss"; `gateway` is
        a system name (`paypal`, `banktransfer`); no amount takes the invoice's balance."""
        params = {
            "invoiceid": invoice_id,
            "transid": transid,
            "gateway": gateway,
            "date": (paid_at.astimezone(self.zone) if self.zone else paid_at).strftime("%Y-%m-%d %H:%M:%S"),
            "amount": amount,
        }
        self.client.call("AddInvoicePayment", params)

    def send_email(
        self,
        related_id: int,
        *,
        template: str | None = None,
        custom_type: str = "general",
        subject: str | None = None,
        html: str | None = None,
        merge: dict[str, str] | None = None,
    ) -> None:
        params: dict[str, Any] = {"id": related_id}
        merge = dict(merge or {})
        if template:
            params["messagename"] = template
        else:
            params["customtype"] = custom_type
            params["customsubject"], params["custommessage"] = smarty_safe(subject or "", html or "", merge)
        if merge:
            params["customvars"] = php_serialize_strings(merge)
        self.client.call("SendEmail", params)

    def open_ticket(
        self,
        *,
        deptid: int,
        subject: str,
        message: str,
        client_id: int | None = None,
        service_id: int | None = None,
        domain_id: int | None = None,
        priority: str = "Medium",
        notify: bool = True,
        name: str | None = None,
        email: str | None = None,
        preface: str | None = None,
    ) -> tuple[int, str]:
        """Open a ticket for a client, or (with name and email, WHMCS's rule) for no client, e.g. to staff.
        A ticket in a client's (or an outside party's) name starts with `preface`, saying the message is ours:
        WHMCS shows them as its writer. Tickets to staff are opened under SYSTEM_NAME and need no such line."""
        if preface and (client_id or (name and name != SYSTEM_NAME)):
            message = f"{preface}\n\n{message}"
        params = {
            "name": name,
            "email": email,
            "deptid": deptid,
            "subject": subject,
            "message": message,
            "clientid": client_id,
            "serviceid": service_id,
            "domainid": domain_id,
            "priority": priority,
            "noemail": not notify,
        }
        answer = self.client.call("OpenTicket", params)
        return n.ids(answer.get("id")), n.to_str(answer.get("tid"))

    def add_ticket_note(self, ticket_id: int, message: str) -> None:
        self.client.call("AddTicketNote", {"ticketid": ticket_id, "message": message})

    def add_ticket_reply(self, ticket_id: int, message: str) -> None:
        """A reply on a ticket, as the configured admin or as the system.

        DD:api-reference/addticketreply.md: `adminusername` is "the admin username to associate the reply
        with" (a made-up name is not an admin), and without an admin or a client WHMCS needs "Name and
        email address", so a reply as the system carries the bridge's name and staff address."""
        params: dict[str, Any] = {"ticketid": ticket_id, "message": message}
        if self.reply_admin:
            params["adminusername"] = self.reply_admin
        else:
            params["name"], params["email"] = self.reply_from
        self.client.call("AddTicketReply", params)

    def log_activity(self, description: str, client_id: int | None = None) -> None:
        self.client.call("LogActivity", {"description": description, "clientid": client_id})

    def update_whois(self, domain_id: int, xml: str) -> None:
        self.client.call("DomainUpdateWhoisInfo", {"domainid": domain_id, "xml": xml})

    def domain_renew_price(self, client_id: int, tld: str, years: int) -> Decimal | None:
        """What WHMCS charges the client to renew a domain of `tld` for `years` (DD:api-reference/
        gettldpricing.md: `pricing` by TLD, `renew` by number of years, in the client's currency with
        `clientid`); None when that TLD or period has no price."""
        answer = self.client.call("GetTLDPricing", {"clientid": client_id})
        pricing = answer.get("pricing")
        tld_prices = pricing.get(tld.lower()) if isinstance(pricing, dict) else None
        renew = tld_prices.get("renew") if isinstance(tld_prices, dict) else None
        price = renew.get(str(years)) if isinstance(renew, dict) else None
        return n.to_money(price) if price not in (None, "", "-1", "-1.00") else None

    def renew_domain(self, domain_id: int, years: int) -> None:
        """DD:api-reference/domainrenew.md: "Sends the Renew command to the registrar" for `regperiod` years.
        The page does not say WHMCS moves the domain's dates: the caller moves its next due date itself."""
        self.client.call("DomainRenew", {"domainid": domain_id, "regperiod": years})

    def update_domain_due(self, domain_id: int, nextduedate: date) -> None:
        """DD:api-reference/updateclientdomain.md: `nextduedate` (Y-m-d) is the domain's next due date."""
        self.client.call("UpdateClientDomain", {"domainid": domain_id, "nextduedate": nextduedate.isoformat()})

    def lock_domain(self, domain_id: int) -> None:
        """The registrar's transfer lock on (DD:api-reference/domainupdatelockingstatus.md: `lockstatus`
        true); a registrar module that cannot answers with an error ("Registrar Error Message")."""
        self.client.call("DomainUpdateLockingStatus", {"domainid": domain_id, "lockstatus": True})

    def remove_user(self, client_id: int, user_id: int) -> None:
        """A user's access to an account removed (DD:api-reference/deleteuserclient.md: `user_id`, `client_id`); the
        user itself stays, with any other account it is a user of."""
        self.client.call("DeleteUserClient", {"user_id": user_id, "client_id": client_id})
