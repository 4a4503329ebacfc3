"""Every WHMCS response quirk, turned into clean typed records; past this module nobody sees a raw WHMCS dict.

Quirks handled (sources: WHMCS/developer-docs api-reference pages and reference/whmcs-api.md):
- ids and counts arrive as ints or numeric strings, even within one action (GetClientsProducts);
- empty lists arrive as `""` (GetInvoice `transactions`), `{}`, `[]`, `[[]]` (GetTicket
  `attachments`), `{"customfield": []}` or are missing altogether;
- lists are wrapped plural -> singular (`invoices.invoice[]`), and a single object may stand where
  a one-item list is expected (XML heritage);
- some documented examples are flattened NVP keys (`domains[domain][0][id]`, GetClientsDomains);
- empty dates are `0000-00-00` or `0000-00-00 00:00:00`; money is a string ("15.95") or a
  formatted amount ("$2645.80 USD"); booleans are `"1"`, `"on"`, `true`, `""`, `"0"`...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from whmcs_bridge.whmcs.records import (  # re-exported: callers use normalize.Invoice etc.
    ActivityEntry,
    ClientDetails,
    ClientSummary,
    ClientUser,
    Contact,
    Domain,
    Email,
    Invoice,
    InvoiceItem,
    Order,
    OrderLine,
    Page,
    Service,
    Ticket,
    TicketNote,
    TicketReply,
    Transaction,
    User,
    UserClientLink,
    WhoisInfo,
)

Raw = Mapping[str, Any]

# --- primitives ---------------------------------------------------------------------------------

_FLAT_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
_TRUE = {"1", "true", "on", "yes", "y"}
_MONEY = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


# Answers whose numeric keys mean something: GetTLDPricing's prices are keyed by number of years ("1",
# "2", ... DD:api-reference/gettldpricing.md), and a TLD may price some years only: never a list there.
KEYED_BY_NUMBER = frozenset({"GetTLDPricing"})


def unflatten(raw: Raw | list[Any], keep_numeric_keys: bool = False) -> dict[str, Any]:
    """Turn flattened `a[b][0][c]` keys (the NVP form some docs print) into nested dicts and lists.

    Keys are stripped (GetProject's example has `"projectinfo[notes] "`); an answer that is a bare
    list (GetRegistrars' example is `[]`) becomes `{"items": [...]}`.
    """
    if not isinstance(raw, Mapping):
        return {"items": list(raw)} if raw else {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        key = key.strip() if isinstance(key, str) else key
        match = _FLAT_KEY.match(key) if isinstance(key, str) else None
        if not match:
            out[key] = value
            continue
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node: dict[str, Any] = out
        for part in parts[:-1]:  # digit keys stay dict keys here; _digits_to_lists makes them lists
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a plain key and a flattened one collide: keep the plain one
                break
            node = child
        else:
            node[parts[-1]] = value
    return out if keep_numeric_keys else _digits_to_lists(out)


def _digits_to_lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _digits_to_lists(v) for k, v in node.items()}
        if node and all(isinstance(k, str) and k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    if isinstance(node, list):
        return [_digits_to_lists(v) for v in node]
    return node


def to_int(value: Any) -> int | None:
    """`"12"`, `12`, `12.0` -> 12; `""`, None, `"abc"` -> None."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.0*", text):
        return int(float(text))
    return None


def to_str(value: Any) -> str:
    return "" if value is None else str(value)


def to_bool(value: Any) -> bool:
    """WHMCS booleans: `true`, `1`, `"1"`, `"on"`, `"yes"` are true; `""`, `"0"`, `"off"`, null are false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return to_str(value).strip().lower() in _TRUE


def to_decimal(value: Any) -> Decimal | None:
    """Money as Decimal: `"15.95"`, `15.95`, `"$2,645.80 USD"`; empty -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    match = _MONEY.search(str(value))
    if not match:
        return None
    try:
        return Decimal(match.group(0).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return None


def to_money(value: Any) -> Decimal:
    return to_decimal(value) or Decimal("0.00")


def to_date(value: Any) -> date | None:
    """`2016-01-01` or `2016-01-01 10:00:00` -> date; `0000-00-00`, `""`, null -> None."""
    text = to_str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def to_datetime(value: Any) -> datetime | None:
    """WHMCS datetimes are naive local time of the WHMCS server; `0000-00-00 00:00:00` -> None."""
    text = to_str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return datetime.fromisoformat(text.replace("T", " ")[:19])
    except ValueError:
        day = to_date(text)
        return datetime(day.year, day.month, day.day) if day else None


def as_list(value: Any, inner: str | None = None) -> list[dict[str, Any]]:
    """Every empty or wrapped list form -> a plain list of dicts.

    Accepts `""`, None, `{}`, `[]`, `[[]]`, `{inner: [...]}`, `{inner: {...}}` (single object),
    `{"0": {...}, "1": {...}}` (numeric keys), and a bare object.
    """
    if value is None or value == "" or value == {} or value == []:
        return []
    if isinstance(value, dict):
        if inner is not None and inner in value:
            return as_list(value[inner])
        if value and all(isinstance(k, str) and k.isdigit() for k in value):
            return as_list([value[k] for k in sorted(value, key=int)])
        return [dict(value)]
    if isinstance(value, list):
        items: list[dict[str, Any]] = []
        for item in value:
            if isinstance(item, dict) and item:
                items.append(dict(item))
            elif isinstance(item, list):
                items.extend(as_list(item))
        return items
    return []


def ids(value: Any) -> int:
    """A required id: 0 when WHMCS sends nothing usable (WHMCS itself uses 0 for 'none')."""
    return to_int(value) or 0


# --- parsers ------------------------------------------------------------------------------------


def page(raw: Raw, plural: str, singular: str | None) -> Page:
    """The pagination fields and the item list of a list action (GetActivityLog has no numreturned)."""
    data = unflatten(raw)
    items = as_list(data.get(plural), singular)
    return Page(
        total=to_int(data.get("totalresults")) or 0,
        start=to_int(data.get("startnumber")) or 0,
        returned=(to_int(data.get("numreturned")) or 0) if "numreturned" in data else len(items),
        items=items,
    )


def _prefs(raw: Any) -> dict[str, bool]:
    return {str(k): to_bool(v) for k, v in (raw or {}).items()} if isinstance(raw, dict) else {}


def client_summary(r: Raw) -> ClientSummary:
    return ClientSummary(
        id=ids(r.get("id")),
        firstname=to_str(r.get("firstname")),
        lastname=to_str(r.get("lastname")),
        companyname=to_str(r.get("companyname")),
        email=to_str(r.get("email")),
        datecreated=to_date(r.get("datecreated")),
        groupid=ids(r.get("groupid")),
        status=to_str(r.get("status")),
    )


def client_details(raw: Raw) -> ClientDetails:
    data = unflatten(raw)
    inner = data.get("client")
    r: dict[str, Any] = inner if isinstance(inner, dict) else data
    customfields: dict[int, str] = {}
    for cf in as_list(r.get("customfields"), "customfield"):
        if to_int(cf.get("id")) is not None:
            customfields[ids(cf.get("id"))] = to_str(cf.get("value"))
    users = [
        ClientUser(
            id=ids(u.get("id")),
            name=to_str(u.get("name")),
            email=to_str(u.get("email")),
            is_owner=to_bool(u.get("is_owner")),
        )
        for u in as_list(r.get("users"), "user")
    ]
    return ClientDetails(
        id=ids(r.get("id") or r.get("client_id") or r.get("userid")),
        owner_user_id=ids(r.get("owner_user_id")),
        firstname=to_str(r.get("firstname")),
        lastname=to_str(r.get("lastname")),
        companyname=to_str(r.get("companyname")),
        email=to_str(r.get("email")),
        status=to_str(r.get("status")),
        groupid=ids(r.get("groupid")),
        currency_code=to_str(r.get("currency_code")),
        credit=to_money(r.get("credit")),
        language=to_str(r.get("language")),
        notes=to_str(r.get("notes")),
        late_fee_override=to_bool(r.get("latefeeoveride")),
        due_notices_override=to_bool(r.get("overideduenotices")),
        email_preferences=_prefs(r.get("email_preferences")),
        customfields=customfields,
        users=users,
        stats=dict(data.get("stats") or {}) if isinstance(data.get("stats"), dict) else {},
        postal=_postal(r),
        tax_id=to_str(r.get("tax_id")),
    )


def _postal(r: dict[str, Any]) -> dict[str, str]:
    """A client's address and phone (DD:api-reference/getclientsdetails.md: `phonenumberformatted` is
    "+44.1234567890", `phonecc` the calling code; `countrycode` is the ISO code where `country` may be a name)."""
    fields = {
        "address1": r.get("address1"),
        "address2": r.get("address2"),
        "city": r.get("city"),
        "state": r.get("state"),
        "postcode": r.get("postcode"),
        "country": r.get("countrycode") or r.get("country"),
        "phone_cc": r.get("phonecc"),
        "phone": r.get("phonenumberformatted") or r.get("phonenumber"),
    }
    return {key: to_str(value) for key, value in fields.items() if to_str(value)}


def contact(r: Raw) -> Contact:
    cats = ("general", "product", "domain", "invoice", "support", "affiliate")
    return Contact(
        id=ids(r.get("id")),
        client_id=ids(r.get("userid")),
        firstname=to_str(r.get("firstname")),
        lastname=to_str(r.get("lastname")),
        companyname=to_str(r.get("companyname")),
        email=to_str(r.get("email")),
        email_preferences={c: to_bool(r.get(f"{c}emails")) for c in cats},
    )


def user(r: Raw) -> User:
    return User(
        id=ids(r.get("id")),
        firstname=to_str(r.get("firstname")),
        lastname=to_str(r.get("lastname")),
        email=to_str(r.get("email")),
        datecreated=to_datetime(r.get("datecreated")),
        clients=[
            UserClientLink(client_id=ids(c.get("id")), is_owner=to_bool(c.get("isOwner")))
            for c in as_list(r.get("clients"), "client")
        ],
    )


def _named_values(value: Any, inner: str, name_key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in as_list(value, inner):
        name = to_str(item.get(name_key) or item.get("name") or item.get("id"))
        if name:
            out[name] = to_str(item.get("value"))
    return out


def service(r: Raw) -> Service:
    return Service(
        id=ids(r.get("id")),
        client_id=ids(r.get("clientid") or r.get("userid")),
        order_id=ids(r.get("orderid")),
        pid=ids(r.get("pid")),
        name=to_str(r.get("name")),
        groupname=to_str(r.get("groupname")),
        domain=to_str(r.get("domain")),
        status=to_str(r.get("status")),
        regdate=to_date(r.get("regdate")),
        nextduedate=to_date(r.get("nextduedate")),
        billingcycle=to_str(r.get("billingcycle")),
        recurringamount=to_money(r.get("recurringamount")),
        paymentmethod=to_str(r.get("paymentmethod")),
        serverid=ids(r.get("serverid")),
        username=to_str(r.get("username")),
        suspension_reason=to_str(r.get("suspensionreason")),
        override_auto_suspend=to_bool(r.get("overideautosuspend")),
        override_suspend_until=to_date(r.get("overidesuspenduntil")),
        customfields=_named_values(r.get("customfields"), "customfield", "name"),
        configoptions=_named_values(r.get("configoptions"), "configoption", "option"),
    )


def invoice_item(r: Raw) -> InvoiceItem:
    return InvoiceItem(
        id=ids(r.get("id")),
        type=to_str(r.get("type")),
        relid=ids(r.get("relid")),
        description=to_str(r.get("description")),
        amount=to_money(r.get("amount")),
        taxed=to_bool(r.get("taxed")),
    )


def transaction(r: Raw) -> Transaction:
    return Transaction(
        id=ids(r.get("id")),
        transid=to_str(r.get("transid")),
        gateway=to_str(r.get("gateway")),
        date=to_datetime(r.get("date")),
        amountin=to_money(r.get("amountin")),
        amountout=to_money(r.get("amountout")),
        description=to_str(r.get("description")),
        invoice_id=ids(r.get("invoiceid")),
    )


def invoice(raw: Raw) -> Invoice:
    """One invoice from GetInvoices (a list item) or GetInvoice (the whole answer)."""
    r = unflatten(raw)
    return Invoice(
        id=ids(r.get("id") or r.get("invoiceid")),
        client_id=ids(r.get("userid")),
        invoicenum=to_str(r.get("invoicenum")),
        date=to_date(r.get("date")),
        duedate=to_date(r.get("duedate")),
        datepaid=to_datetime(r.get("datepaid")),
        subtotal=to_money(r.get("subtotal")),
        credit=to_money(r.get("credit")),
        tax=to_money(r.get("tax")),
        total=to_money(r.get("total")),
        balance=to_decimal(r.get("balance")),
        status=to_str(r.get("status")),
        paymentmethod=to_str(r.get("paymentmethod")),
        notes=to_str(r.get("notes")),
        currencycode=to_str(r.get("currencycode")),
        items=[invoice_item(i) for i in as_list(r.get("items"), "item")],
        transactions=[transaction(t) for t in as_list(r.get("transactions"), "transaction")],
    )


def email(r: Raw) -> Email:
    return Email(
        id=ids(r.get("id")),
        client_id=ids(r.get("userid")),
        subject=to_str(r.get("subject")),
        message=to_str(r.get("message")),
        date=to_datetime(r.get("date")),
        to=to_str(r.get("to")),
        cc=to_str(r.get("cc")),
        bcc=to_str(r.get("bcc")),
        failed=to_bool(r.get("failed")),
        pending=to_bool(r.get("pending")),
    )


def _service_ref(value: Any) -> tuple[str, int] | None:
    """GetTicket `service`: "S12" is service 12, "D3" is domain 3, "" is none."""
    match = re.fullmatch(r"([SD])(\d+)", to_str(value).strip())
    if not match:
        return None
    return ("service" if match.group(1) == "S" else "domain", int(match.group(2)))


def ticket_reply(r: Raw) -> TicketReply:
    return TicketReply(
        id=ids(r.get("replyid") or r.get("id")),
        client_id=ids(r.get("userid")),
        contact_id=ids(r.get("contactid")),
        name=to_str(r.get("name")),
        email=to_str(r.get("email")),
        requestor_name=to_str(r.get("requestor_name")),
        requestor_email=to_str(r.get("requestor_email")),
        requestor_type=to_str(r.get("requestor_type")),
        date=to_datetime(r.get("date")),
        message=to_str(r.get("message")),
        admin=to_str(r.get("admin")),
        attachments=_attachments(r.get("attachments")),
    )


def _attachments(value: Any) -> tuple[tuple[int, str], ...]:
    """GetTicket's `attachments` of a message: a list of {filename, index}, or `[[]]`/"" when it has none
    (DD:api-reference/getticket.md)."""
    listed = value if isinstance(value, list) else []
    return tuple(
        (ids(a.get("index")), to_str(a.get("filename"))) for a in listed if isinstance(a, dict) and a.get("filename")
    )


def ticket(raw: Raw) -> Ticket:
    """One ticket from GetTickets (a list item) or GetTicket (the whole answer, with replies and notes)."""
    r = unflatten(raw)
    return Ticket(
        id=ids(r.get("ticketid") or r.get("id")),
        tid=to_str(r.get("tid")),
        deptid=ids(r.get("deptid")),
        client_id=ids(r.get("userid")),
        name=to_str(r.get("name")),
        email=to_str(r.get("email")),
        owner_name=to_str(r.get("owner_name")),
        requestor_name=to_str(r.get("requestor_name")),
        requestor_email=to_str(r.get("requestor_email")),
        requestor_type=to_str(r.get("requestor_type")),
        subject=to_str(r.get("subject")),
        status=to_str(r.get("status")),
        priority=to_str(r.get("priority")),
        date=to_datetime(r.get("date")),
        lastreply=to_datetime(r.get("lastreply")),
        flag=ids(r.get("flag")),
        service_ref=_service_ref(r.get("service")),
        replies=[ticket_reply(x) for x in as_list(r.get("replies"), "reply")],
        notes=[
            TicketNote(
                id=ids(n.get("noteid") or n.get("id")),
                date=to_datetime(n.get("date")),
                message=to_str(n.get("message")),
                admin=to_str(n.get("admin")),
            )
            for n in as_list(r.get("notes"), "note")
        ],
    )


def order(r: Raw) -> Order:
    return Order(
        id=ids(r.get("id")),
        ordernum=to_str(r.get("ordernum")),
        client_id=ids(r.get("userid")),
        contact_id=ids(r.get("contactid")),
        # DD:api-reference/getorders.md has `requestor_id` only as a filter and in the example, with no
        # meaning stated; WHMCS before 8.x's users may not send it. Absent is None, never 0: "unknown" is
        # not "nobody" (README, "Known WHMCS uncertainties").
        requestor_id=ids(r["requestor_id"]) if "requestor_id" in r else None,
        admin_requestor_id=ids(r.get("admin_requestor_id")),
        date=to_datetime(r.get("date")),
        amount=to_money(r.get("amount")),
        invoice_id=ids(r.get("invoiceid")),
        status=to_str(r.get("status")),
        paymentstatus=to_str(r.get("paymentstatus")),
        lines=[
            OrderLine(
                type=to_str(li.get("type")),
                relid=ids(li.get("relid")),
                producttype=to_str(li.get("producttype")),
                product=to_str(li.get("product")),
                domain=to_str(li.get("domain")),
                billingcycle=to_str(li.get("billingcycle")),
                amount=to_money(li.get("amount")),
                status=to_str(li.get("status")),
            )
            for li in as_list(r.get("lineitems"), "lineitem")
        ],
    )


def activity_entry(r: Raw) -> ActivityEntry:
    return ActivityEntry(
        id=ids(r.get("id")),
        client_id=ids(r.get("clientId") if "clientId" in r else r.get("userid")),
        user_id=ids(r.get("userId")),
        admin_id=ids(r.get("adminId")),
        date=to_datetime(r.get("date")),
        description=to_str(r.get("description")),
        username=to_str(r.get("username")),
        ipaddress=to_str(r.get("ipaddress")),
    )


def domain(r: Raw) -> Domain:
    return Domain(
        id=ids(r.get("id")),
        client_id=ids(r.get("userid")),
        order_id=ids(r.get("orderid")),
        regtype=to_str(r.get("regtype")),
        domainname=to_str(r.get("domainname")),
        registrar=to_str(r.get("registrar")),
        regperiod=ids(r.get("regperiod")),
        regdate=to_date(r.get("regdate")),
        expirydate=to_date(r.get("expirydate")),
        nextduedate=to_date(r.get("nextduedate")),
        status=to_str(r.get("status")),
        recurringamount=to_money(r.get("recurringamount")),
        donotrenew=to_bool(r.get("donotrenew")),
        idprotection=to_bool(r.get("idprotection")),
    )


_LOOSE_PAIR = re.compile(r'"([^"]+)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}]*)')


def _contact_block(value: Any) -> dict[str, str]:
    """A WHOIS contact block: a dict, a JSON string, or the docs' not-quite-JSON string (`"Country":GB`)."""
    if isinstance(value, dict):
        return {str(k): to_str(v) for k, v in value.items()}
    text = to_str(value)
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return {str(k): to_str(v) for k, v in parsed.items()}
    except ValueError:
        pass
    out: dict[str, str] = {}
    for key, val in _LOOSE_PAIR.findall(text):
        val = val.strip()
        if val.startswith('"'):
            try:
                val = json.loads(val)
            except ValueError:
                val = val.strip('"')
        out[key] = "" if val == "null" else val
    return out


def whois_info(raw: Raw) -> WhoisInfo:
    data = unflatten(raw)
    contacts: dict[str, dict[str, str]] = {}
    rawtext: dict[str, str] = {}
    for key, value in data.items():
        if key in ("result", "status", "message"):
            continue
        contacts[key] = _contact_block(value)
        rawtext[key] = value if isinstance(value, str) else json.dumps(value)
    return WhoisInfo(contacts=contacts, raw=rawtext)


def generic(raw: Raw) -> dict[str, Any]:
    """Any action's answer as plain nested data: flattened keys rebuilt, wrappers kept."""
    return unflatten(raw)


def items_of(pages: Iterable[Page]) -> Iterable[dict[str, Any]]:
    for p in pages:
        yield from p.items


def rendered_from(template_subject: str, subject: str) -> bool:
    """Whether a logged subject is the template's subject once Smarty rendered it: its literal parts, in
    order, with anything where each `{...}` tag was (WHMCS logs the rendered subject)."""
    parts = [re.escape(part.strip()) for part in re.split(r"\{[^{}]*\}", template_subject)]
    return bool(re.fullmatch(r"\s*" + r".*?".join(parts) + r"\s*", subject, re.DOTALL))


def subject_filter(subject: str) -> str | None:
    """What to pass as GetEmails' `subject` (approximate match, DD:api-reference/getemails.md) to find
    an email sent with this subject: WHMCS logs the subject after Smarty rendered it, so `{...}` tags
    are cut out and the longest literal part is kept; None when nothing literal is left."""
    parts = [part.strip() for part in re.split(r"\{[^{}]*\}", subject)]
    longest = max(parts, key=len, default="")
    return longest if longest and "{" not in longest and "}" not in longest else None
