"""Clients and what they hold, from WHMCS answers: clients, their contacts and users, services, domains and a
domain's WHOIS contacts (the values' quirks: normalize_values.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from whmcs_bridge.whmcs.normalize_values import (
    Raw,
    as_list,
    ids,
    to_bool,
    to_date,
    to_datetime,
    to_int,
    to_money,
    to_str,
    unflatten,
)
from whmcs_bridge.whmcs.records import (
    ClientDetails,
    ClientSummary,
    ClientUser,
    Contact,
    Domain,
    Service,
    User,
    UserClientLink,
    WhoisInfo,
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
