"""Orders, the activity log and domains: GetOrders, AcceptOrder, CancelOrder, FraudOrder, LogActivity, GetActivityLog, GetClientsDomains, DomainGet/UpdateWhoisInfo."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from whmcs_bridge.sandbox.actions.base import (
    ApiFail,
    Hook,
    Params,
    Where,
    listing,
    money,
)
from whmcs_bridge.sandbox.state import SandboxState


def get_orders(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    where.ids(p, id="id", userid="client_id", requestor_id="requestor_id")
    where.texts(p, status="status")
    order = sb.orders.sql("GetOrders")  # no stated order (DD:api-reference/getorders.md): chosen per run
    total, start, rows = listing(sb, p, "SELECT * FROM orders WHERE " + where.sql, where.args, order)
    orders = [_order(sb, r) for r in rows]
    return {"totalresults": total, "startnumber": start, "numreturned": len(orders), "orders": {"order": orders}}


def accept_order(sb: SandboxState, p: Params) -> dict[str, Any]:
    """AcceptOrder (DD:api-reference/acceptorder.md): a pending order becomes Active; `autosetup` true sends
    its services to their module (here: Pending becomes Active), `sendregistrar` true its domains to the
    registrar (Pending becomes Active); left out, the product's own setting decides, which the sandbox does
    not model: the services and domains stay as they are. The page lists no error texts: an order that is
    missing or not Pending is refused with a text chosen here; the AcceptOrder hook fires
    (DD:hooks-reference/shopping-cart.md lists it with `orderid`)."""
    r = sb.one("SELECT * FROM orders WHERE id = ?", [p.num("orderid")])
    if r is None or r["status"] != "Pending":
        raise ApiFail("Order ID not found or Status not Pending")
    sb.db.execute("UPDATE orders SET status = 'Active' WHERE id = ?", (r["id"],))
    for line in sb.all("SELECT * FROM order_lines WHERE order_id = ?", [r["id"]]):
        table, flag = ("services", "autosetup") if line["type"] == "product" else ("domains", "sendregistrar")
        if p.flag(flag):
            sb.db.execute(f"UPDATE {table} SET status = 'Active' WHERE id = ? AND status = 'Pending'", (line["relid"],))
    sb.log(f"Order Accepted - Order ID: {r['id']}", r["client_id"])
    p.hooks.append(Hook("AcceptOrder", {"orderid": r["id"]}))
    return {}


def cancel_order(sb: SandboxState, p: Params) -> dict[str, Any]:
    """CancelOrder (DD:api-reference/cancelorder.md, "Cancel a Pending Order"): the order becomes Cancelled. The
    page says nothing of its services, domains or invoice: they are left as they are. An order missing or not
    Pending is refused with a text chosen here."""
    return _order_status_to(sb, p, "Cancelled")


def fraud_order(sb: SandboxState, p: Params) -> dict[str, Any]:
    """FraudOrder (DD:api-reference/fraudorder.md, "Marks an order as fraudulent"): the order becomes Fraud (a
    status GetOrderStatuses lists, DD:api-reference/getorderstatuses.md). The page says nothing of its services,
    domains or invoice, nor of which statuses it accepts: any existing order; a missing one is refused."""
    return _order_status_to(sb, p, "Fraud")


def _order_status_to(sb: SandboxState, p: Params, status: str) -> dict[str, Any]:
    r = sb.one("SELECT * FROM orders WHERE id = ?", [p.num("orderid")])
    if r is None or (status == "Cancelled" and r["status"] != "Pending"):
        raise ApiFail("Order ID not found or Status not Pending" if status == "Cancelled" else "Order ID not found")
    # The CancelOrder and FraudOrder hooks (DD:hooks-reference/shopping-cart.md, `orderid`) "run when an order is
    # requested to be" cancelled or set as fraud, "prior to the change of status actually occurring"; here they are
    # delivered after the call, as every hook is.
    p.hooks.append(Hook("CancelOrder" if status == "Cancelled" else "FraudOrder", {"orderid": r["id"]}))
    sb.db.execute("UPDATE orders SET status = ? WHERE id = ?", (status, r["id"]))
    return {}


PRODUCT_TYPES = {
    "hostingaccount": "Shared Hosting",
    "reselleraccount": "Reseller Hosting",
    "server": "Dedicated/VPS Server",
}


def _order(sb: SandboxState, r: Any) -> dict[str, Any]:
    client = sb.one("SELECT * FROM clients WHERE id = ?", [r["client_id"]])
    invoice = sb.one("SELECT status FROM invoices WHERE id = ?", [r["invoice_id"]])
    lines = [_order_line(sb, li) for li in sb.all("SELECT * FROM order_lines WHERE order_id = ?", [r["id"]])]
    return {
        "id": r["id"],
        "ordernum": int(r["ordernum"]),
        "userid": r["client_id"],
        "contactid": r["contact_id"],
        "requestor_id": r["requestor_id"],
        "admin_requestor_id": r["admin_requestor_id"],
        "date": r["date"],
        "nameservers": "",
        "transfersecret": "",
        "renewals": "",
        "renewalsByType": {"domains": [], "services": [], "addons": []},
        "promocode": "",
        "promotype": "",
        "promovalue": "",
        "orderdata": "[]",
        "amount": money(r["amount"]),
        "paymentmethod": r["paymentmethod"],
        "invoiceid": r["invoice_id"],
        "status": r["status"],
        "ipaddress": r["ipaddress"],
        "fraudmodule": "",
        "fraudoutput": "",
        "notes": r["notes"],
        "paymentmethodname": "Bank Transfer",
        "paymentstatus": invoice["status"] if invoice else "",
        "name": f"{client['firstname']} {client['lastname']}" if client else "",
        "currencyprefix": "€",
        "currencysuffix": "EUR",
        "frauddata": "",
        "validationdata": "",
        "lineitems": {"lineitem": lines},
    }


def _order_line(sb: SandboxState, li: Any) -> dict[str, Any]:
    """One line of an order: a product (its service), an addon, or a domain registration."""
    if li["type"] == "addon":  # GetOrders documents no addon line: the sandbox names it and leaves the rest empty
        return {
            "type": "addon", "relid": li["relid"], "producttype": "", "product": "Addon", "domain": "",
            "billingcycle": li["billingcycle"], "amount": money(li["amount"]), "status": "Pending",
        }  # fmt: skip
    if li["type"] == "product":
        svc = sb.one(
            "SELECT s.*, p.name AS pname, p.type AS ptype FROM services s JOIN products p ON p.id = s.pid WHERE s.id = ?",
            [li["relid"]],
        )
        product, domain, status = (svc["pname"], svc["domain"], svc["status"]) if svc else ("", "", "")
        ptype = PRODUCT_TYPES.get(svc["ptype"] if svc else "", "Other Product/Service")
    else:
        dom = sb.one("SELECT * FROM domains WHERE id = ?", [li["relid"]])
        product, domain, status, ptype = (
            "Domain Registration",
            dom["domainname"] if dom else "",
            dom["status"] if dom else "",
            "Domain",
        )
    return {
        "type": li["type"],
        "relid": li["relid"],
        "producttype": ptype,
        "product": product,
        "domain": domain,
        "billingcycle": li["billingcycle"],
        "amount": money(li["amount"]),
        "status": status,
    }


def log_activity(sb: SandboxState, p: Params) -> dict[str, Any]:
    if not p.text("description").strip():
        raise ApiFail("Description is required")
    client_id = p.num("clientid") or p.num("userid")
    sb.log(p.text("description"), client_id)
    return {}


def get_activity_log(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    client_id = p.num("clientid") or p.num("userid")
    if client_id:
        where.clauses.append("client_id = ?")
        where.args.append(client_id)
    where.contains(p, description="description")
    where.texts(p, user="username")
    where.texts(p, ipaddress="ipaddress")
    order = sb.orders.sql("GetActivityLog")  # no stated order (DD:api-reference/getactivitylog.md): chosen per run
    total, start, rows = listing(sb, p, "SELECT * FROM activity WHERE " + where.sql, where.args, order)
    # GetActivityLog documents no numreturned (DD:api-reference/getactivitylog.md).
    return {
        "totalresults": total,
        "startnumber": start,
        "activity": {
            "entry": [
                {
                    "id": r["id"],
                    "clientId": r["client_id"],
                    "userId": r["user_id"],
                    "adminId": r["admin_id"],
                    "date": r["date"],
                    "description": r["description"],
                    "username": r["username"],
                    "ipaddress": r["ipaddress"],
                    "userid": r["client_id"],
                }
                for r in rows
            ]
        },
    }


def get_clients_domains(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    where.ids(p, clientid="client_id")
    where.ids(p, domainid="id")
    where.texts(p, domain="domainname")
    total, start, rows = listing(sb, p, "SELECT * FROM domains WHERE " + where.sql, where.args)
    return {
        "clientid": p.text("clientid"),
        "domainid": p.text("domainid"),
        "totalresults": str(total),
        "startnumber": str(start),
        "numreturned": str(len(rows)),
        "domains": {
            "domain": [
                {
                    "id": str(r["id"]),
                    "userid": str(r["client_id"]),
                    "orderid": str(r["order_id"]),
                    "regtype": r["regtype"],
                    "domainname": r["domainname"],
                    "registrar": r["registrar"],
                    "regperiod": str(r["regperiod"]),
                    "firstpaymentamount": money(r["recurringamount"]),
                    "recurringamount": money(r["recurringamount"]),
                    "paymentmethod": "banktransfer",
                    "paymentmethodname": "Bank Transfer",
                    "regdate": r["regdate"],
                    "expirydate": r["expirydate"],
                    "nextduedate": r["nextduedate"],
                    "status": r["status"],
                    "subscriptionid": "",
                    "promoid": "0",
                    "dnsmanagement": "0",
                    "emailforwarding": "0",
                    "idprotection": str(r["idprotection"]),
                    "donotrenew": str(r["donotrenew"]),
                    "notes": r["notes"],
                }
                for r in rows
            ]
        },
    }


def _domain_row(sb: SandboxState, p: Params) -> Any:
    row = sb.one("SELECT * FROM domains WHERE id = ?", [p.num("domainid")])
    if row is None:
        raise ApiFail("Domain ID Not Found")
    return row


def domain_update_locking_status(sb: SandboxState, p: Params) -> dict[str, Any]:
    """The registrar's transfer lock on or off (`lockstatus`; DD:api-reference/domainupdatelockingstatus.md)."""
    row = _domain_row(sb, p)
    sb.update("domains", row["id"], locked=int(p.flag("lockstatus")))
    return {}


def domain_get_whois_info(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _domain_row(sb, p)
    contacts = json.loads(row["whois"] or "{}")
    # The documented example carries each contact block as a JSON-encoded string.
    return {kind: json.dumps(block) for kind, block in contacts.items()}


def domain_update_whois_info(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _domain_row(sb, p)
    xml = p.text("xml")
    if not xml.strip():
        raise ApiFail("XML Required")

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise ApiFail("Invalid XML") from None
    contacts = json.loads(row["whois"] or "{}")
    for block in root:
        # The registrar replaces the whole block with what it is sent (chosen: BEHAVIOUR.md). A field it
        # names with spaces ("First Name") arrives as an XML element with underscores.
        spaced = {name.replace(" ", "_"): name for name in contacts.get(block.tag, {})}
        contacts[block.tag] = {spaced.get(child.tag, child.tag): (child.text or "") for child in block}
    sb.update("domains", row["id"], whois=json.dumps(contacts))
    sb.log(f"Domain Contact Details Updated - Domain ID: {row['id']}", row["client_id"])
    return {}


# The sandbox's TLD price list (chosen data): one currency (EUR, id 1), renewals for one to three years.
TLD_PRICES = {
    "fr": {"register": "12.00", "transfer": "12.00", "renew": "12.00"},
    "com": {"register": "14.95", "transfer": "14.95", "renew": "14.95"},
    "nl": {"register": "9.95", "transfer": "9.95", "renew": "9.95"},
}


def get_tld_pricing(sb: SandboxState, p: Params) -> dict[str, Any]:
    """GetTLDPricing (DD:api-reference/gettldpricing.md): per TLD its register, transfer and renew prices by
    number of years, in the client's currency (`clientid` overrides `currencyid`); only TLDs with pricing."""
    years = ("1", "2", "3")
    pricing = {
        tld: {
            "tld": tld,
            "categories": ["Popular"],
            "addons": {"dns": False, "email": False, "idprotect": False},
            "group": "",
            **{kind: {n: money(Decimal(price) * int(n)) for n in years} for kind, price in prices.items()},
            "grace_period": None,
            "redemption_period": None,
        }
        for tld, prices in TLD_PRICES.items()
    }
    currency = {"id": 1, "code": "EUR", "prefix": "€", "suffix": " EUR", "format": 1, "rate": "1.00000"}
    return {"currency": currency, "pricing": pricing}


def domain_renew(sb: SandboxState, p: Params) -> dict[str, Any]:
    """DomainRenew (DD:api-reference/domainrenew.md): "Sends the Renew command to the registrar" for the
    domain (`domainid`, or `domain` by name), for `regperiod` years (default: its stored period). The registrar
    renews it each time it is called (kept in registrar_renewals). The page does not say that WHMCS moves the
    domain's next due date or expiry date: the sandbox leaves both as they are (BEHAVIOUR.md)."""
    if p.num("domainid"):
        row = sb.one("SELECT * FROM domains WHERE id = ?", [p.num("domainid")])
    else:
        row = sb.one("SELECT * FROM domains WHERE domainname = ?", [p.text("domain")]) if p.text("domain") else None
    if row is None:
        raise ApiFail("Domain Not Found")
    years = p.num("regperiod") or int(row["regperiod"] or 1)
    sb.insert("registrar_renewals", domain_id=row["id"], years=years, at=sb.stamp())
    sb.log(f"Domain Renewal Successful - {row['domainname']} - {years} Year(s)", row["client_id"])
    return {}


def update_client_domain(sb: SandboxState, p: Params) -> dict[str, Any]:
    """UpdateClientDomain (DD:api-reference/updateclientdomain.md), the fields the sandbox keeps: dates,
    period, status, do-not-renew, recurring amount; an unknown domain is "Domain ID Not Found"."""
    row = sb.one("SELECT * FROM domains WHERE id = ?", [p.num("domainid")])
    if row is None:
        raise ApiFail("Domain ID Not Found")
    changes: dict[str, Any] = dict(p.given("regdate", "nextduedate", "expirydate", "status", "notes"))
    if "regperiod" in p.values:
        changes["regperiod"] = p.num("regperiod")
    if "donotrenew" in p.values:
        changes["donotrenew"] = int(p.flag("donotrenew"))
    if "recurringamount" in p.values:
        changes["recurringamount"] = money(p.money("recurringamount"))
    if changes:
        sb.update("domains", row["id"], **changes)
    return {"domainid": row["id"]}
