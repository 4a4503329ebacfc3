"""The typed records the rest of the bridge sees in place of raw WHMCS answers (built by normalize.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Day = date  # for records that have a field named `date`


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    start: int
    returned: int
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ClientSummary:
    id: int
    firstname: str
    lastname: str
    companyname: str
    email: str
    datecreated: date | None
    groupid: int
    status: str


@dataclass(frozen=True, slots=True)
class ClientUser:
    id: int
    name: str
    email: str
    is_owner: bool


@dataclass(frozen=True, slots=True)
class ClientDetails:
    id: int
    owner_user_id: int
    firstname: str
    lastname: str
    companyname: str
    email: str
    status: str
    groupid: int
    currency_code: str
    credit: Decimal
    language: str
    notes: str
    late_fee_override: bool
    due_notices_override: bool
    email_preferences: dict[str, bool]
    customfields: dict[int, str]
    users: list[ClientUser]
    stats: dict[str, Any]
    # address1, address2, city, state, postcode, country, phone_cc, phone: where the client lives
    postal: dict[str, str] = field(default_factory=dict)
    tax_id: str = ""  # the client's Tax ID (GetClientsDetails `tax_id`, e.g. a VAT number)

    @property
    def display_name(self) -> str:
        person = f"{self.firstname} {self.lastname}".strip()
        return f"{self.companyname} ({person})" if self.companyname else person


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    client_id: int
    firstname: str
    lastname: str
    companyname: str
    email: str
    email_preferences: dict[str, bool]


@dataclass(frozen=True, slots=True)
class UserClientLink:
    client_id: int
    is_owner: bool


@dataclass(frozen=True, slots=True)
class User:
    id: int
    firstname: str
    lastname: str
    email: str
    datecreated: datetime | None
    clients: list[UserClientLink]


@dataclass(frozen=True, slots=True)
class Service:
    """A client's product/service (tblhosting). The service password is deliberately not kept."""

    id: int
    client_id: int
    order_id: int
    pid: int
    name: str
    groupname: str
    domain: str
    status: str
    regdate: date | None
    nextduedate: date | None
    billingcycle: str
    recurringamount: Decimal
    paymentmethod: str
    serverid: int
    username: str
    suspension_reason: str
    override_auto_suspend: bool
    override_suspend_until: date | None
    customfields: dict[str, str]
    configoptions: dict[str, str]


@dataclass(frozen=True, slots=True)
class InvoiceItem:
    id: int
    type: str
    relid: int
    description: str
    amount: Decimal
    taxed: bool


@dataclass(frozen=True, slots=True)
class Transaction:
    id: int
    transid: str
    gateway: str
    date: datetime | None
    amountin: Decimal
    amountout: Decimal
    description: str
    invoice_id: int = 0  # GetTransactions carries it; GetInvoice's own list need not


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    client_id: int
    invoicenum: str
    date: Day | None
    duedate: Day | None
    datepaid: datetime | None
    subtotal: Decimal
    credit: Decimal
    tax: Decimal
    total: Decimal
    balance: Decimal | None
    status: str
    paymentmethod: str
    notes: str
    currencycode: str
    items: list[InvoiceItem] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in ("Unpaid", "Collections")

    @property
    def paid(self) -> Decimal:
        """What has been paid on it so far: its payments less refunds (GetInvoice `transactions`) and the credit
        applied to it (DD:api-reference/getinvoice.md)."""
        return sum((t.amountin - t.amountout for t in self.transactions), Decimal(0)) + self.credit


@dataclass(frozen=True, slots=True)
class Email:
    id: int
    client_id: int
    subject: str
    message: str
    date: datetime | None
    to: str
    cc: str
    bcc: str
    failed: bool
    pending: bool


@dataclass(frozen=True, slots=True)
class TicketReply:
    id: int
    client_id: int
    contact_id: int
    name: str
    email: str
    requestor_name: str
    requestor_email: str
    requestor_type: str
    date: datetime | None
    message: str
    admin: str
    # The files attached to the message, (index, file name), as GetTicket lists them (DD:api-reference/getticket.md).
    attachments: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TicketNote:
    id: int
    date: datetime | None
    message: str
    admin: str


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    tid: str
    deptid: int
    client_id: int
    name: str
    email: str
    owner_name: str
    requestor_name: str
    requestor_email: str
    requestor_type: str
    subject: str
    status: str
    priority: str
    date: datetime | None
    lastreply: datetime | None
    flag: int
    service_ref: tuple[str, int] | None
    replies: list[TicketReply] = field(default_factory=list)
    notes: list[TicketNote] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OrderLine:
    type: str
    relid: int
    producttype: str
    product: str
    domain: str
    billingcycle: str
    amount: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    ordernum: str
    client_id: int
    contact_id: int
    requestor_id: int | None  # None: GetOrders did not say (older WHMCS 8)
    admin_requestor_id: int
    date: datetime | None
    amount: Decimal
    invoice_id: int
    status: str
    paymentstatus: str
    lines: list[OrderLine]


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    id: int
    client_id: int
    user_id: int
    admin_id: int
    date: datetime | None
    description: str
    username: str
    ipaddress: str


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    client_id: int
    order_id: int
    regtype: str
    domainname: str
    registrar: str
    regperiod: int
    regdate: date | None
    expirydate: date | None
    nextduedate: date | None
    status: str
    recurringamount: Decimal
    donotrenew: bool
    idprotection: bool


@dataclass(frozen=True, slots=True)
class WhoisInfo:
    """Contact blocks by type (Registrant, Admin, Tech...). Registrar modules vary: values kept as text."""

    contacts: dict[str, dict[str, str]]
    raw: dict[str, str]
