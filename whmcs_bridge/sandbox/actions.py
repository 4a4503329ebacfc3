"""The emulated WHMCS API actions: parameters, state changes, response shapes and error texts.

Shapes and value types follow each action's page in WHMCS/developer-docs/api-reference (the same
examples are in shared/reference/whmcs-examples/ and a test compares keys). Where WHMCS itself is
inconsistent (ids as strings in GetClientsProducts, as ints in GetClients) the sandbox is too.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from whmcs_bridge.sandbox.state import EMAIL_CATEGORIES, SandboxState

INVOICE_STATUSES = ("Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending")
ZERO_DATETIME = "0000-00-00 00:00:00"


class ApiFail(Exception):
    """An error answer: `{"result": "error", "message": ...}` (or `status` for the actions that use it)."""

    def __init__(self, message: str, key: str = "result") -> None:
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass
class Hook:
    """A hook event the sandbox's emulated PHP hook sends after a state change."""

    type: str
    data: dict[str, Any]


@dataclass
class Params:
    values: dict[str, str]
    hooks: list[Hook] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return self.values.get(key, "") != ""

    def text(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def num(self, key: str, default: int = 0) -> int:
        text = self.values.get(key, "").strip()
        return int(text) if re.fullmatch(r"-?\d+", text) else default

    def flag(self, key: str) -> bool:
        return self.values.get(key, "").strip().lower() in ("1", "true", "on", "yes")

    def money(self, key: str) -> Decimal | None:
        try:
            return Decimal(self.values[key]) if self.has(key) else None
        except InvalidOperation:
            raise ApiFail(f"Invalid amount for {key}") from None

    def sub(self, prefix: str) -> dict[str, str]:
        """`prefix[a]=1&prefix[b]=0` -> {"a": "1", "b": "0"}."""
        out = {}
        for key, value in self.values.items():
            match = re.fullmatch(re.escape(prefix) + r"\[([^\]]*)\]", key)
            if match:
                out[match.group(1)] = value
        return out

    def paging(self) -> tuple[int, int]:
        start = max(0, self.num("limitstart", 0))
        num = self.num("limitnum", 25)
        return start, (25 if num <= 0 else num)


def money(value: Any) -> str:
    return f"{Decimal(str(value or '0')):.2f}"


def listing(
    sb: SandboxState, p: Params, base_sql: str, args: list[Any], order: str = "id ASC"
) -> tuple[int, int, list[Any]]:
    start, num = p.paging()
    total = sb.scalar(f"SELECT COUNT(*) FROM ({base_sql})", args)
    rows = sb.all(f"{base_sql} ORDER BY {order} LIMIT ? OFFSET ?", [*args, num, start])
    return int(total), start, rows


# --- clients, users, contacts -----------------------------------------------------------------


def get_clients(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("status"):
        where.append("status = ?")
        args.append(p.text("status"))
    if p.has("search"):
        term = p.text("search") + "%"
        where.append(
            "(email LIKE ? OR firstname LIKE ? OR lastname LIKE ? OR companyname LIKE ?"
            " OR (firstname || ' ' || lastname) LIKE ?)"
        )
        args.extend([term] * 5)
    orderby = p.text("orderby", "id")
    if orderby not in ("id", "firstname", "lastname", "companyname", "email", "groupid", "datecreated", "status"):
        orderby = "id"
    direction = "DESC" if p.text("sorting").upper() == "DESC" else "ASC"
    total, start, rows = listing(
        sb, p, "SELECT * FROM clients WHERE " + " AND ".join(where), args, f"{orderby} {direction}, id {direction}"
    )
    return {
        "totalresults": total,
        "startnumber": start,
        "numreturned": len(rows),
        "clients": {
            "client": [
                {
                    "id": r["id"],
                    "firstname": r["firstname"],
                    "lastname": r["lastname"],
                    "companyname": r["companyname"],
                    "email": r["email"],
                    "datecreated": r["datecreated"],
                    "groupid": r["groupid"],
                    "status": r["status"],
                }
                for r in rows
            ]
        },
    }


def _client_row(sb: SandboxState, p: Params, id_key: str = "clientid", message: str = "Client ID Not Found") -> Any:
    row = sb.one("SELECT * FROM clients WHERE id = ?", [p.num(id_key)])
    if row is None:
        raise ApiFail(message)
    return row


def _prefs(row: Any) -> dict[str, str]:
    flags = (row["email_prefs"] or "111111").ljust(6, "1")
    return {cat: flags[i] for i, cat in enumerate(EMAIL_CATEGORIES)}


def _stats(sb: SandboxState, client_id: int) -> dict[str, Any]:
    def count_sum(where: str, args: list[Any]) -> tuple[int, str]:
        row = sb.one(
            f"SELECT COUNT(*) AS n, COALESCE(SUM(CAST(total AS REAL)), 0) AS s FROM invoices WHERE client_id = ? AND {where}",
            [client_id, *args],
        )
        return int(row["n"]) if row else 0, f"€{money(row['s'] if row else 0)} EUR"

    today = sb.today().isoformat()
    stats: dict[str, Any] = {}
    n, s = count_sum("status = 'Unpaid'", [])
    stats.update(numdueinvoices=n, dueinvoicesbalance=s)
    n, s = count_sum("status = 'Unpaid' AND duedate < ?", [today])
    stats.update(numoverdueinvoices=n, overdueinvoicesbalance=s)
    for status, key in (
        ("Unpaid", "unpaid"),
        ("Paid", "paid"),
        ("Cancelled", "cancelled"),
        ("Refunded", "refunded"),
        ("Collections", "collections"),
        ("Payment Pending", "paymentpending"),
    ):
        n, s = count_sum("status = ?", [status])
        stats[f"num{key}invoices"] = n
        stats[f"{key}invoicesamount" if key != "unpaid" else "unpaidinvoicesamount"] = s
    by_type: dict[str, tuple[int, int]] = {}
    for r in sb.all(
        "SELECT p.type AS type, s.status AS status FROM services s JOIN products p ON p.id = s.pid WHERE s.client_id = ?",
        [client_id],
    ):
        total, active = by_type.get(r["type"], (0, 0))
        by_type[r["type"]] = (total + 1, active + (r["status"] == "Active"))
    for ptype, key in (
        ("hostingaccount", "hosting"),
        ("reselleraccount", "reseller"),
        ("server", "servers"),
        ("other", "other"),
    ):
        total, active = by_type.get(ptype, (0, 0))
        stats[f"productsnumactive{key}"] = active
        stats[f"productsnum{key}"] = total
    stats["numdomains"] = sb.scalar("SELECT COUNT(*) FROM domains WHERE client_id = ?", [client_id])
    stats["numactivedomains"] = sb.scalar(
        "SELECT COUNT(*) FROM domains WHERE client_id = ? AND status = 'Active'", [client_id]
    )
    stats["numtickets"] = sb.scalar("SELECT COUNT(*) FROM tickets WHERE client_id = ?", [client_id])
    stats["numactivetickets"] = sb.scalar(
        "SELECT COUNT(*) FROM tickets WHERE client_id = ? AND status != 'Closed'", [client_id]
    )
    return stats


def get_clients_details(sb: SandboxState, p: Params) -> dict[str, Any]:
    if p.has("clientid"):
        row = sb.one("SELECT * FROM clients WHERE id = ?", [p.num("clientid")])
    elif p.has("email"):
        row = sb.one("SELECT * FROM clients WHERE email = ?", [p.text("email")])
    else:
        raise ApiFail("Either clientid Or email Is Required")
    if row is None:
        raise ApiFail("Client Not Found")
    cid = row["id"]
    customfields = [
        {"id": r["field_id"], "value": r["value"]}
        for r in sb.all("SELECT * FROM client_customfields WHERE client_id = ? ORDER BY field_id", [cid])
    ]
    users = [
        {
            "id": r["id"],
            "name": f"{r['firstname']} {r['lastname']}",
            "email": r["email"],
            "is_owner": bool(r["is_owner"]),
        }
        for r in sb.all(
            "SELECT u.*, uc.is_owner FROM users u JOIN user_clients uc ON uc.user_id = u.id WHERE uc.client_id = ? ORDER BY u.id",
            [cid],
        )
    ]
    client: dict[str, Any] = {
        "client_id": cid,
        "owner_user_id": row["owner_user_id"],
        "userid": cid,
        "id": cid,
        "uuid": row["uuid"],
        "firstname": row["firstname"],
        "lastname": row["lastname"],
        "fullname": f"{row['firstname']} {row['lastname']}",
        "companyname": row["companyname"],
        "email": row["email"],
        "address1": row["address1"],
        "address2": "",
        "city": row["city"],
        "fullstate": row["state"],
        "state": row["state"],
        "postcode": row["postcode"],
        "countrycode": row["country"],
        "country": row["country"],
        "phonenumber": row["phonenumber"],
        "tax_id": "",
        "email_preferences": _prefs(row),
        "statecode": row["state"],
        "countryname": row["country"],
        "phonecc": "31",
        "phonenumberformatted": row["phonenumber"],
        "telephoneNumber": row["phonenumber"],
        "billingcid": 0,
        "notes": row["notes"],
        "currency": 1,
        "defaultgateway": "",
        "groupid": row["groupid"],
        "status": row["status"],
        "credit": money(row["credit"]),
        "taxexempt": False,
        "latefeeoveride": bool(row["latefeeoveride"]),
        "overideduenotices": bool(row["overideduenotices"]),
        "separateinvoices": False,
        "disableautocc": False,
        "emailoptout": False,
        "marketing_emails_opt_in": False,
        "overrideautoclose": False,
        "allowSingleSignOn": 1,
        "email_verified": True,
        "language": row["language"],
        "isOptedInToMarketingEmails": False,
        "lastlogin": "No Login Logged",
        "currency_code": row["currency_code"],
        "customfields": customfields,
        "users": {"user": users},
    }
    for cf in customfields:
        client[f"customfields{cf['id']}"] = cf["value"]
    answer: dict[str, Any] = {"client": client}
    if p.flag("stats"):
        answer["stats"] = _stats(sb, cid)
    return answer


def update_client(sb: SandboxState, p: Params) -> dict[str, Any]:
    if p.has("clientid"):
        row = sb.one("SELECT * FROM clients WHERE id = ?", [p.num("clientid")])
    else:
        row = sb.one("SELECT * FROM clients WHERE email = ?", [p.text("clientemail")])
    if row is None:
        raise ApiFail("Client ID Not Found")
    changes: dict[str, Any] = {}
    for key in (
        "firstname",
        "lastname",
        "companyname",
        "email",
        "address1",
        "city",
        "state",
        "postcode",
        "country",
        "phonenumber",
        "status",
        "notes",
        "language",
    ):
        if key in p.values:
            changes[key] = p.text(key)
    if "groupid" in p.values:
        changes["groupid"] = p.num("groupid")
    for key in ("latefeeoveride", "overideduenotices"):
        if key in p.values:
            changes[key] = int(p.flag(key))
    prefs = p.sub("email_preferences")
    if prefs:
        current = _prefs(row)
        current.update(
            {k: "1" if v.strip().lower() in ("1", "true", "on") else "0" for k, v in prefs.items() if k in current}
        )
        if current["domain"] == "0" and not sb.scalar(
            "SELECT COUNT(*) FROM contacts WHERE client_id = ? AND domainemails = 1", [row["id"]]
        ):
            raise ApiFail(
                "You must have at least one email address enabled to receive domain related notifications "
                "as required by ICANN. To disable domain notifications, please create an alternative contact "
                "that is set to receive them"
            )
        changes["email_prefs"] = "".join(current[c] for c in EMAIL_CATEGORIES)
    if changes:
        sb.update("clients", row["id"], **changes)
        p.hooks.append(
            Hook("ClientEdit", {"userid": row["id"], **{k: v for k, v in changes.items() if k != "email_prefs"}})
        )
    return {"clientid": str(row["id"])}


def add_client_note(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = sb.one("SELECT id FROM clients WHERE id = ?", [p.num("userid")])
    if row is None:
        raise ApiFail("Client ID not found")
    if not p.text("notes").strip():
        raise ApiFail("Notes can not be empty")
    note_id = sb.insert(
        "client_notes", client_id=row["id"], note=p.text("notes"), sticky=int(p.flag("sticky")), created=sb.stamp()
    )
    return {"noteid": str(note_id)}


def get_contacts(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("userid"):
        where.append("client_id = ?")
        args.append(p.num("userid"))
    for key in ("firstname", "lastname", "companyname", "email", "city", "country", "phonenumber"):
        if p.has(key):
            where.append(f"{key} = ?")
            args.append(p.text(key))
    total, start, rows = listing(sb, p, "SELECT * FROM contacts WHERE " + " AND ".join(where), args)
    return {
        "totalresults": total,
        "startnumber": start,
        "numreturned": len(rows),
        "contacts": {
            "contact": [
                {
                    "id": r["id"],
                    "userid": r["client_id"],
                    "firstname": r["firstname"],
                    "lastname": r["lastname"],
                    "email": r["email"],
                    "address1": r["address1"],
                    "address2": r["address2"],
                    "city": r["city"],
                    "state": r["state"],
                    "postcode": r["postcode"],
                    "country": r["country"],
                    "phonenumber": r["phonenumber"],
                    **{
                        f"{c}emails": bool(r[f"{c}emails"])
                        for c in ("domain", "general", "invoice", "product", "support", "affiliate")
                    },
                    "created_at": r["created_at"] or ZERO_DATETIME,
                    "updated_at": r["updated_at"] or ZERO_DATETIME,
                }
                for r in rows
            ]
        },
    }


def add_contact(sb: SandboxState, p: Params) -> dict[str, Any]:
    client = _client_row(sb, p)
    if p.has("email") and sb.one(
        "SELECT id FROM contacts WHERE client_id = ? AND email = ?", [client["id"], p.text("email")]
    ):
        raise ApiFail("Duplicate Email Address")
    prefs = p.sub("email_preferences")
    values = {
        f"{c}emails": int(prefs.get(c, p.text(f"{c}emails", "0")).strip().lower() in ("1", "true", "on"))
        for c in EMAIL_CATEGORIES
    }
    contact_id = sb.insert(
        "contacts",
        client_id=client["id"],
        firstname=p.text("firstname"),
        lastname=p.text("lastname"),
        companyname=p.text("companyname"),
        email=p.text("email"),
        address1=p.text("address1"),
        city=p.text("city"),
        state=p.text("state"),
        postcode=p.text("postcode"),
        country=p.text("country"),
        phonenumber=p.text("phonenumber"),
        created_at=sb.stamp(),
        updated_at=sb.stamp(),
        **values,
    )
    p.hooks.append(
        Hook(
            "ContactAdd",
            {
                "userid": client["id"],
                "contactid": contact_id,
                "firstname": p.text("firstname"),
                "lastname": p.text("lastname"),
                "email": p.text("email"),
            },
        )
    )
    return {"contactid": str(contact_id)}


def get_users(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("search"):
        term = p.text("search") + "%"
        where.append("(email LIKE ? OR firstname LIKE ? OR lastname LIKE ? OR (firstname || ' ' || lastname) LIKE ?)")
        args.extend([term] * 4)
    direction = "DESC" if p.text("sorting").upper() == "DESC" else "ASC"
    total, start, rows = listing(sb, p, "SELECT * FROM users WHERE " + " AND ".join(where), args, f"id {direction}")
    users = []
    for r in rows:
        links = sb.all("SELECT client_id, is_owner FROM user_clients WHERE user_id = ? ORDER BY client_id", [r["id"]])
        users.append(
            {
                "id": r["id"],
                "firstname": r["firstname"],
                "lastname": r["lastname"],
                "email": r["email"],
                "datecreated": r["datecreated"],
                "validationdata": "",
                "clients": [{"id": link["client_id"], "isOwner": bool(link["is_owner"])} for link in links],
            }
        )
    # GetUsers is the one list action without the plural -> singular wrapper (DD:api-reference/getusers.md).
    return {"totalresults": total, "startnumber": start, "numreturned": len(users), "users": users}


# --- services -----------------------------------------------------------------------------------


def _service_dict(sb: SandboxState, r: Any) -> dict[str, Any]:
    product = sb.one("SELECT * FROM products WHERE id = ?", [r["pid"]])
    fields = sb.all("SELECT * FROM service_customfields WHERE service_id = ? ORDER BY field_id", [r["id"]])
    return {
        "id": str(r["id"]),
        "qty": "1",
        "clientid": str(r["client_id"]),
        "orderid": str(r["order_id"]),
        "ordernumber": str(1000000 + r["order_id"]) if r["order_id"] else "",
        "pid": str(r["pid"]),
        "regdate": r["regdate"],
        "name": product["name"] if product else "",
        "translated_name": product["name"] if product else "",
        "groupname": product["groupname"] if product else "",
        "translated_groupname": product["groupname"] if product else "",
        "domain": r["domain"],
        "dedicatedip": "",
        "serverid": str(r["serverid"]),
        "servername": "Saturn",
        "serverip": "192.0.2.10",
        "serverhostname": "saturn.example.net",
        "suspensionreason": r["suspensionreason"],
        "firstpaymentamount": money(r["firstpaymentamount"]),
        "recurringamount": money(r["recurringamount"]),
        "paymentmethod": r["paymentmethod"],
        "paymentmethodname": "Bank Transfer",
        "billingcycle": r["billingcycle"],
        "nextduedate": r["nextduedate"],
        "status": r["status"],
        "username": r["username"],
        "password": r["password"],
        "subscriptionid": "",
        "promoid": "0",
        "overideautosuspend": "on" if r["overideautosuspend"] else "",
        "overidesuspenduntil": r["overidesuspenduntil"] or "0000-00-00",
        "ns1": "",
        "ns2": "",
        "assignedips": "",
        "notes": r["notes"],
        "diskusage": "0",
        "disklimit": "0",
        "bwusage": "0",
        "bwlimit": "0",
        "lastupdate": r["lastupdate"],
        "customfields": {
            "customfield": [
                {"id": str(f["field_id"]), "name": f["name"], "translated_name": f["name"], "value": f["value"]}
                for f in fields
            ]
        },
        "configoptions": {"configoption": []},
    }


def get_clients_products(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    for key, col in (("clientid", "client_id"), ("serviceid", "id"), ("pid", "pid")):
        if p.has(key):
            where.append(f"{col} = ?")
            args.append(p.num(key))
    for key, col in (("domain", "domain"), ("username2", "username")):
        if p.has(key):
            where.append(f"{col} = ?")
            args.append(p.text(key))
    total, start, rows = listing(sb, p, "SELECT * FROM services WHERE " + " AND ".join(where), args)
    return {
        "clientid": p.text("clientid") or None,
        "serviceid": p.text("serviceid") or None,
        "pid": p.text("pid") or None,
        "domain": p.text("domain") or None,
        "totalresults": str(total),
        "startnumber": start,
        "numreturned": len(rows),
        "products": {"product": [_service_dict(sb, r) for r in rows]},
    }


def _service_row(sb: SandboxState, p: Params, key: str = "serviceid") -> Any:
    sid = p.num(key) or p.num("accountid")  # `accountid` was the name before 7.7 and is still accepted
    if not sid:
        raise ApiFail("Service ID is required")
    row = sb.one("SELECT * FROM services WHERE id = ?", [sid])
    if row is None:
        raise ApiFail("Service ID not found")
    return row


def update_client_product(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = sb.one("SELECT * FROM services WHERE id = ?", [p.num("serviceid")])
    if row is None:
        raise ApiFail("Service ID Not Found")
    changes: dict[str, Any] = {}
    for key in (
        "domain",
        "nextduedate",
        "regdate",
        "billingcycle",
        "status",
        "notes",
        "paymentmethod",
        "overidesuspenduntil",
    ):
        if key in p.values:
            changes[key] = p.text(key)
    if "suspendreason" in p.values:
        changes["suspensionreason"] = p.text("suspendreason")
    if "recurringamount" in p.values:
        changes["recurringamount"] = money(p.money("recurringamount"))
    if "overideautosuspend" in p.values:
        changes["overideautosuspend"] = int(p.flag("overideautosuspend"))
    if "serviceusername" in p.values:
        changes["username"] = p.text("serviceusername")
    for key in p.sub("unset").values():
        column = {"suspendreason": "suspensionreason", "serviceusername": "username"}.get(key, key)
        if column in ("domain", "suspensionreason", "username", "notes"):
            changes[column] = ""
    if changes:
        sb.update("services", row["id"], **changes)
        p.hooks.append(Hook("ServiceEdit", {"userid": row["client_id"], "serviceid": row["id"]}))
    return {"serviceid": str(row["id"])}


def _module_params(sb: SandboxState, row: Any) -> dict[str, Any]:
    """What the PHP hook forwards of AfterModule* `params` (secrets already stripped, as the hook does)."""
    product = sb.one("SELECT * FROM products WHERE id = ?", [row["pid"]])
    fields = sb.all("SELECT name, value FROM service_customfields WHERE service_id = ?", [row["id"]])
    return {
        "params": {
            "serviceid": row["id"],
            "userid": row["client_id"],
            "pid": row["pid"],
            "serverid": row["serverid"],
            "domain": row["domain"],
            "username": row["username"],
            "producttype": product["type"] if product else "other",
            "moduletype": product["module"] if product else "",
            "customfields": {f["name"]: f["value"] for f in fields},
        }
    }


def _needs_module(sb: SandboxState, row: Any) -> None:
    product = sb.one("SELECT module FROM products WHERE id = ?", [row["pid"]])
    if not product or not product["module"]:
        raise ApiFail("Service not assigned to a module")


def module_suspend(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p)
    _needs_module(sb, row)
    if row["status"] == "Suspended":
        raise ApiFail("Service is already suspended")
    if row["status"] not in ("Active",):
        raise ApiFail(f"Service status is {row['status']}: only active services can be suspended")
    reason = p.text("suspendreason")
    sb.update("services", row["id"], status="Suspended", suspensionreason=reason, lastupdate=sb.stamp())
    sb.log(f"Module Suspend Successful - Service ID: {row['id']}", row["client_id"])
    p.hooks.append(
        Hook("AfterModuleSuspend", _module_params(sb, sb.one("SELECT * FROM services WHERE id = ?", [row["id"]])))
    )
    return {}


def module_unsuspend(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p)
    _needs_module(sb, row)
    if row["status"] != "Suspended":
        raise ApiFail("Service is not suspended")
    sb.update("services", row["id"], status="Active", suspensionreason="", lastupdate=sb.stamp())
    sb.log(f"Module Unsuspend Successful - Service ID: {row['id']}", row["client_id"])
    p.hooks.append(
        Hook("AfterModuleUnsuspend", _module_params(sb, sb.one("SELECT * FROM services WHERE id = ?", [row["id"]])))
    )
    return {}


def module_terminate(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p)
    _needs_module(sb, row)
    if row["status"] == "Terminated":
        raise ApiFail("Service is already terminated")
    sb.update("services", row["id"], status="Terminated", lastupdate=sb.stamp())
    sb.log(f"Module Terminate Successful - Service ID: {row['id']}", row["client_id"])
    p.hooks.append(
        Hook("AfterModuleTerminate", _module_params(sb, sb.one("SELECT * FROM services WHERE id = ?", [row["id"]])))
    )
    return {}


def module_change_pw(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p)
    _needs_module(sb, row)
    password = p.text("servicepassword") or secrets.token_urlsafe(12)
    sb.update("services", row["id"], password=password, lastupdate=sb.stamp())
    sb.log(f"Module Change Password Successful - Service ID: {row['id']}", row["client_id"])
    return {}


def module_custom(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p, "accountid")
    _needs_module(sb, row)
    command = p.text("func_name")
    if not command:
        raise ApiFail("Function name is required")
    sb.insert("module_commands", service_id=row["id"], command=command, at=sb.stamp())
    sb.log(f"Module Custom Command ({command}) Successful - Service ID: {row['id']}", row["client_id"])
    return {}


# --- invoices -----------------------------------------------------------------------------------


def _invoice_summary(r: Any, client: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "userid": r["client_id"],
        "firstname": client["firstname"] if client else "",
        "lastname": client["lastname"] if client else "",
        "companyname": client["companyname"] if client else "",
        "invoicenum": r["invoicenum"],
        "date": r["date"],
        "duedate": r["duedate"],
        "datepaid": r["datepaid"],
        "last_capture_attempt": ZERO_DATETIME,
        "date_refunded": ZERO_DATETIME,
        "date_cancelled": r["date_cancelled"],
        "subtotal": money(r["subtotal"]),
        "credit": money(r["credit"]),
        "tax": money(r["tax"]),
        "tax2": "0.00",
        "total": money(r["total"]),
        "taxrate": "0.000",
        "taxrate2": "0.000",
        "status": r["status"],
        "paymentmethod": r["paymentmethod"],
        "paymethodid": None,
        "notes": r["notes"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "currencycode": "EUR",
        "currencyprefix": "€",
        "currencysuffix": " EUR",
    }


def get_invoices(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("userid"):
        where.append("client_id = ?")
        args.append(p.num("userid"))
    status = p.text("status")
    if status == "Overdue":  # a derived filter, not a stored status
        where.append("status = 'Unpaid' AND duedate < ?")
        args.append(sb.today().isoformat())
    elif status:
        where.append("status = ?")
        args.append(status)
    orderby = p.text("orderby", "id")
    column = {"invoicenumber": "invoicenum"}.get(orderby, orderby)
    if column not in ("id", "invoicenum", "date", "duedate", "total", "status"):
        column = "id"
    direction = "DESC" if p.text("order").lower() == "desc" else "ASC"
    total, start, rows = listing(
        sb, p, "SELECT * FROM invoices WHERE " + " AND ".join(where), args, f"{column} {direction}, id {direction}"
    )
    clients = (
        {
            r["id"]: r
            for r in sb.all(
                f"SELECT * FROM clients WHERE id IN ({','.join('?' * len(rows))})", [r["client_id"] for r in rows]
            )
        }
        if rows
        else {}
    )
    return {
        "totalresults": total,
        "startnumber": start,
        "numreturned": len(rows),
        "invoices": {"invoice": [_invoice_summary(r, clients.get(r["client_id"])) for r in rows]},
    }


def _balance(sb: SandboxState, invoice: Any) -> Decimal:
    paid = sb.scalar(
        "SELECT COALESCE(SUM(CAST(amountin AS REAL)), 0) FROM transactions WHERE invoice_id = ?", [invoice["id"]]
    )
    return (Decimal(invoice["total"]) - Decimal(str(paid))).quantize(Decimal("0.01"))


def get_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    items = sb.all("SELECT * FROM invoice_items WHERE invoice_id = ? ORDER BY id", [r["id"]])
    txs = sb.all("SELECT * FROM transactions WHERE invoice_id = ? ORDER BY id", [r["id"]])
    return {
        "invoiceid": r["id"],
        "invoicenum": r["invoicenum"],
        "userid": r["client_id"],
        "date": r["date"],
        "duedate": r["duedate"],
        "datepaid": r["datepaid"],
        "lastcaptureattempt": ZERO_DATETIME,
        "subtotal": money(r["subtotal"]),
        "credit": money(r["credit"]),
        "tax": money(r["tax"]),
        "tax2": "0.00",
        "total": money(r["total"]),
        "balance": money(_balance(sb, r)),
        "taxrate": "0.000",
        "taxrate2": "0.000",
        "status": r["status"],
        "paymentmethod": r["paymentmethod"],
        "notes": r["notes"],
        "ccgateway": False,
        "items": {
            "item": [
                {
                    "id": i["id"],
                    "type": i["type"],
                    "relid": i["relid"],
                    "description": i["description"],
                    "amount": money(i["amount"]),
                    "taxed": i["taxed"],
                }
                for i in items
            ]
        },
        # No transactions is an empty string, not an empty list (DD:api-reference/getinvoice.md).
        "transactions": {
            "transaction": [
                {
                    "id": t["id"],
                    "userid": t["client_id"],
                    "currency": 0,
                    "gateway": t["gateway"],
                    "date": t["date"],
                    "description": t["description"],
                    "amountin": money(t["amountin"]),
                    "fees": money(t["fees"]),
                    "amountout": "0.00",
                    "rate": "1.00000",
                    "transid": t["transid"],
                    "invoiceid": t["invoice_id"],
                    "refundid": 0,
                }
                for t in txs
            ]
        }
        if txs
        else "",
    }


def create_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    client = sb.one("SELECT id FROM clients WHERE id = ?", [p.num("userid")])
    if client is None:
        raise ApiFail("Client ID Not Found")
    if p.flag("draft") and p.flag("sendinvoice"):
        raise ApiFail(
            "Cannot create and send a draft invoice in a single API request. Please create and send separately."
        )
    status = "Draft" if p.flag("draft") else (p.text("status") or "Unpaid")
    if status not in INVOICE_STATUSES:
        raise ApiFail(f"Invalid status {status}")
    lines = []
    for key in sorted(p.values):
        match = re.fullmatch(r"itemdescription(\d+)", key)
        if match:
            n = match.group(1)
            lines.append((p.text(key), p.money(f"itemamount{n}") or Decimal("0"), int(p.flag(f"itemtaxed{n}"))))
    total = sum((amount for _, amount, _ in lines), Decimal("0"))
    today = sb.today().isoformat()
    invoice_id = sb.insert(
        "invoices",
        client_id=client["id"],
        date=p.text("date") or today,
        duedate=p.text("duedate") or today,
        subtotal=money(total),
        total=money(total),
        status=status,
        paymentmethod=p.text("paymentmethod") or "banktransfer",
        notes=p.text("notes"),
        created_at=sb.stamp(),
        updated_at=sb.stamp(),
    )
    for description, amount, taxed in lines:
        sb.insert(
            "invoice_items",
            invoice_id=invoice_id,
            type="",
            relid=0,
            description=description,
            amount=money(amount),
            taxed=taxed,
        )
    if status != "Draft":
        p.hooks.append(
            Hook("InvoiceCreated", {"source": "api", "user": "system", "invoiceid": invoice_id, "status": status})
        )
    return {"invoiceid": str(invoice_id), "status": status}


def update_invoice(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    changes: dict[str, Any] = {}
    if p.has("status"):
        status = p.text("status")
        if status not in INVOICE_STATUSES:
            raise ApiFail(f"Invalid status {status}")
        changes["status"] = status
        if status == "Cancelled":
            changes["date_cancelled"] = sb.stamp()
        if status == "Paid" and r["datepaid"].startswith("0000"):
            changes["datepaid"] = sb.stamp()
    for key in ("duedate", "date", "notes", "paymentmethod"):
        if key in p.values:
            changes[key] = p.text(key)
    if changes:
        changes["updated_at"] = sb.stamp()
        sb.update("invoices", r["id"], **changes)
        new_status = changes.get("status")
        if new_status and new_status != r["status"]:
            hook = {
                "Cancelled": "InvoiceCancelled",
                "Unpaid": "InvoiceUnpaid",
                "Paid": "InvoicePaid",
                "Refunded": "InvoiceRefunded",
            }.get(new_status)
            if hook:
                p.hooks.append(Hook(hook, {"invoiceid": r["id"]}))
    return {"invoiceid": str(r["id"])}


def add_invoice_payment(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = sb.one("SELECT * FROM invoices WHERE id = ?", [p.num("invoiceid")])
    if r is None:
        raise ApiFail("Invoice ID Not Found")
    if r["status"] == "Cancelled":
        raise ApiFail("It is not possible to add a payment to an invoice that is Cancelled")
    for key in ("transid", "gateway"):
        if not p.has(key):
            raise ApiFail(f"{key} is required")
    amount = p.money("amount")
    if amount is None:
        amount = _balance(sb, r)
    sb.insert(
        "transactions",
        invoice_id=r["id"],
        client_id=r["client_id"],
        gateway=p.text("gateway"),
        transid=p.text("transid"),
        date=p.text("date") or sb.stamp(),
        amountin=money(amount),
        fees=money(p.money("fees") or 0),
    )
    sb.log(f"Added Invoice Payment - Invoice ID: {r['id']}", r["client_id"])
    p.hooks.append(Hook("AddInvoicePayment", {"invoiceid": r["id"]}))
    if _balance(sb, r) <= 0 and r["status"] in ("Unpaid", "Collections", "Payment Pending", "Draft"):
        sb.update("invoices", r["id"], status="Paid", datepaid=sb.stamp(), updated_at=sb.stamp())
        _mark_services_paid(sb, r["id"])
        p.hooks.append(Hook("InvoicePaid", {"invoiceid": r["id"]}))
    return {}


def _mark_services_paid(sb: SandboxState, invoice_id: int) -> None:
    """WHMCS's renewal logic: paying a service's invoice moves its next due date one cycle on."""
    for item in sb.all("SELECT relid FROM invoice_items WHERE invoice_id = ? AND type = 'Hosting'", [invoice_id]):
        service = sb.one("SELECT * FROM services WHERE id = ?", [item["relid"]])
        if service and service["nextduedate"]:
            from datetime import date as _date

            due = _date.fromisoformat(service["nextduedate"])
            month = due.month % 12 + 1
            year = due.year + (due.month == 12)
            nxt = due.replace(year=year, month=month, day=min(due.day, 28))
            sb.update("services", service["id"], nextduedate=nxt.isoformat())


# --- email --------------------------------------------------------------------------------------

TEMPLATES = {
    "Hosting Account Welcome Email": ("product", "New Account Information"),
    "Service Suspension Notification": ("product", "Service Suspension Notification"),
    "Service Unsuspension Notification": ("product", "Service Unsuspension Notification"),
    "Invoice Payment Reminder": ("invoice", "Invoice Payment Reminder"),
    "First Invoice Overdue Notice": ("invoice", "First Invoice Overdue Notice"),
    "Second Invoice Overdue Notice": ("invoice", "Second Invoice Overdue Notice"),
    "Third Invoice Overdue Notice": ("invoice", "Third Invoice Overdue Notice"),
    "Client Signup Email": ("general", "Welcome"),
    "Domain Renewal Notice": ("domain", "Domain Renewal Notice"),
}


def _related_client(sb: SandboxState, kind: str, related_id: int) -> tuple[int, str] | None:
    """The client an email goes to, by the related id's type (DD:api-reference/sendemail.md)."""
    table = {
        "general": ("clients", "id"),
        "product": ("services", "client_id"),
        "domain": ("domains", "client_id"),
        "invoice": ("invoices", "client_id"),
        "support": ("tickets", "client_id"),
    }.get(kind)
    if table is None:
        return None
    row = sb.one(f"SELECT {table[1]} AS cid FROM {table[0]} WHERE id = ?", [related_id])
    if row is None:
        return None
    client = sb.one("SELECT * FROM clients WHERE id = ?", [row["cid"]])
    if client is None:
        return None
    return client["id"], f"{client['firstname']} {client['lastname']} <{client['email']}>"


def send_email(sb: SandboxState, p: Params) -> dict[str, Any]:
    if p.has("messagename"):
        template = TEMPLATES.get(p.text("messagename"))
        if template is None:
            raise ApiFail("Email Template not found")
        kind, subject = template
        body = f"<p>{subject}</p>"
    else:
        kind = p.text("customtype")
        if kind not in ("general", "product", "domain", "invoice", "support", "affiliate"):
            raise ApiFail("A valid custom type is required")
        subject, body = p.text("customsubject"), p.text("custommessage")
        if not subject or not body:
            raise ApiFail("Sending Failed")
    if p.has("customvars"):
        import base64

        try:
            vars_text = base64.b64decode(p.text("customvars"), validate=True).decode("utf-8")
        except ValueError:
            raise ApiFail("The custom variables you provided are invalid.") from None
        for name, value in re.findall(r's:\d+:"([^"]*)";s:\d+:"([^"]*)";', vars_text):
            subject = subject.replace("{$" + name + "}", value)
            body = body.replace("{$" + name + "}", value)
    target = _related_client(sb, kind, p.num("id"))
    if target is None:
        raise ApiFail("Sending Failed")
    client_id, to = target
    email_id = sb.insert("emails", client_id=client_id, subject=subject, message=body, date=sb.stamp(), to_addr=to)
    sb.log(f"Email Sent to {to} ({subject})", client_id)
    p.hooks.append(
        Hook(
            "EmailPreLog",
            {
                "userid": client_id,
                "date": sb.stamp(),
                "to": to,
                "cc": "",
                "bcc": "",
                "subject": subject,
                "message": body,
                "attachments": "",
                "emailid": email_id,
            },
        )
    )
    return {}


def get_emails(sb: SandboxState, p: Params) -> dict[str, Any]:
    client = sb.one("SELECT id FROM clients WHERE id = ?", [p.num("clientid")])
    if client is None:
        # GetEmails answers errors with `status`, not `result` (WHMCS/developer-docs issue #80).
        raise ApiFail("Client ID Not Found", key="status")
    where, args = ["client_id = ?"], [client["id"]]  # type: list[str], list[Any]
    if p.has("subject"):
        where.append("subject LIKE ?")
        args.append(f"%{p.text('subject')}%")
    if p.has("date"):
        where.append("date LIKE ?")
        args.append(p.text("date") + "%")
    total, start, rows = listing(sb, p, "SELECT * FROM emails WHERE " + " AND ".join(where), args, "id DESC")
    return {
        "totalresults": total,
        "startnumber": start,
        "numreturned": len(rows),
        "emails": {
            "email": [
                {
                    "id": r["id"],
                    "userid": r["client_id"],
                    "subject": r["subject"],
                    "message": r["message"],
                    "date": r["date"],
                    "to": r["to_addr"],
                    "cc": r["cc"],
                    "bcc": r["bcc"],
                    "attachments": None,
                    "pending": 0,
                    "message_data": None,
                    "failed": 0,
                    "failure_reason": "",
                    "retry_count": 0,
                    "created_at": None,
                    "updated_at": None,
                    "campaign_id": 0,
                }
                for r in rows
            ]
        },
    }


# --- tickets ------------------------------------------------------------------------------------


def _requestor(sb: SandboxState, user_id: int, client_id: int, name: str, email: str) -> tuple[str, str, str]:
    if user_id:
        user = sb.one(
            "SELECT u.*, uc.is_owner FROM users u LEFT JOIN user_clients uc ON uc.user_id = u.id AND uc.client_id = ? WHERE u.id = ?",
            [client_id, user_id],
        )
        if user:
            kind = (
                "Owner"
                if user["is_owner"]
                else ("Authorized User" if user["is_owner"] is not None else "Registered User")
            )
            return f"{user['firstname']} {user['lastname']}", user["email"], kind
    if client_id:
        client = sb.one("SELECT * FROM clients WHERE id = ?", [client_id])
        if client:
            return f"{client['firstname']} {client['lastname']}", client["email"], "Owner"
    return name, email, "Guest"


def open_ticket(sb: SandboxState, p: Params) -> dict[str, Any]:
    if not sb.one("SELECT id FROM departments WHERE id = ?", [p.num("deptid")]):
        raise ApiFail("Department ID not found")
    if not p.text("subject").strip():
        raise ApiFail("Subject is required")
    if not p.text("message").strip():
        raise ApiFail("Message is required")
    client_id = p.num("clientid")
    if client_id and not sb.one("SELECT id FROM clients WHERE id = ?", [client_id]):
        raise ApiFail("Client ID Not Found")
    user_id = p.num("userid")
    if user_id and not sb.one("SELECT id FROM users WHERE id = ?", [user_id]):
        raise ApiFail("The system cannot find the provided user ID.")
    if not client_id and not (p.has("name") and p.has("email")):
        raise ApiFail("Name and email address are required if not a client")
    service = ""
    if p.has("serviceid"):
        if not sb.one("SELECT id FROM services WHERE id = ?", [p.num("serviceid")]):
            raise ApiFail("Service ID Not Found")
        service = f"S{p.num('serviceid')}"
    elif p.has("domainid"):
        if not sb.one("SELECT id FROM domains WHERE id = ?", [p.num("domainid")]):
            raise ApiFail("Domain ID Not Found")
        service = f"D{p.num('domainid')}"
    tid = str(100000 + int(sb.scalar("SELECT COALESCE(MAX(id), 0) FROM tickets") or 0) * 7 + 3)
    c = secrets.token_urlsafe(6)[:8]
    stamp = sb.stamp()
    ticket_id = sb.insert(
        "tickets",
        tid=tid,
        c=c,
        deptid=p.num("deptid"),
        client_id=client_id,
        contact_id=p.num("contactid"),
        requestor_user_id=user_id,
        name=p.text("name"),
        email=p.text("email"),
        subject=p.text("subject"),
        status="Open",
        priority=p.text("priority") or "Medium",
        date=stamp,
        lastreply=stamp,
        service=service,
    )
    sb.insert(
        "ticket_replies",
        ticket_id=ticket_id,
        client_id=client_id,
        requestor_user_id=user_id,
        name=p.text("name"),
        email=p.text("email"),
        date=stamp,
        message=p.text("message"),
    )
    dept = sb.one("SELECT name FROM departments WHERE id = ?", [p.num("deptid")])
    p.hooks.append(
        Hook(
            "TicketOpen",
            {
                "ticketid": ticket_id,
                "ticketmask": tid,
                "userid": client_id,
                "deptid": p.num("deptid"),
                "deptname": dept["name"] if dept else "",
                "subject": p.text("subject"),
                "message": p.text("message"),
                "priority": p.text("priority") or "Medium",
            },
        )
    )
    return {"id": str(ticket_id), "tid": tid, "c": c}


def _ticket_row(sb: SandboxState, p: Params) -> Any:
    if p.has("ticketid"):
        row = sb.one("SELECT * FROM tickets WHERE id = ?", [p.num("ticketid")])
    elif p.has("ticketnum"):
        row = sb.one("SELECT * FROM tickets WHERE tid = ?", [p.text("ticketnum")])
    else:
        raise ApiFail("Ticket ID Not Found")
    if row is None:
        raise ApiFail("Ticket ID Not Found")
    return row


def add_ticket_note(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _ticket_row(sb, p)
    if not p.text("message").strip():
        raise ApiFail("Message is required")
    sb.insert("ticket_notes", ticket_id=row["id"], admin="API Admin", date=sb.stamp(), message=p.text("message"))
    return {}


def _ticket_summary(sb: SandboxState, r: Any) -> dict[str, Any]:
    client = sb.one("SELECT * FROM clients WHERE id = ?", [r["client_id"]]) if r["client_id"] else None
    owner = f"{client['firstname']} {client['lastname']}" if client else ""
    rname, remail, rtype = _requestor(sb, r["requestor_user_id"], r["client_id"], r["name"], r["email"])
    return {
        "id": str(r["id"]),
        "tid": r["tid"],
        "deptid": str(r["deptid"]),
        "userid": str(r["client_id"]),
        "name": r["name"] or owner,
        "owner_name": owner,
        "email": r["email"] or (client["email"] if client else ""),
        "requestor_name": rname,
        "requestor_email": remail,
        "requestor_type": rtype,
        "cc": "",
        "c": r["c"],
        "date": r["date"],
        "subject": r["subject"],
        "status": r["status"],
        "priority": r["priority"],
        "admin": "",
        "attachment": "",
        "attachments": [],
        "attachments_removed": False,
        "lastreply": r["lastreply"],
        "flag": str(r["flag"]),
        "service": r["service"],
    }


def get_tickets(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("clientid"):
        where.append("client_id = ?")
        args.append(p.num("clientid"))
    if p.has("deptid"):
        where.append("deptid = ?")
        args.append(p.num("deptid"))
    if p.has("email"):
        where.append("email = ?")
        args.append(p.text("email"))
    if p.has("subject"):
        where.append("subject LIKE ?")
        args.append(f"%{p.text('subject')}%")
    status = p.text("status")
    if status == "All Active Tickets":
        where.append("status NOT IN ('Closed')")
    elif status == "Awaiting Reply":
        where.append("status IN ('Open', 'Customer-Reply')")
    elif status:
        where.append("status = ?")
        args.append(status)
    total, start, rows = listing(sb, p, "SELECT * FROM tickets WHERE " + " AND ".join(where), args, "id DESC")
    return {
        "totalresults": str(total),
        "startnumber": start,
        "numreturned": len(rows),
        "tickets": {"ticket": [_ticket_summary(sb, r) for r in rows]},
    }


def get_ticket(sb: SandboxState, p: Params) -> dict[str, Any]:
    r = _ticket_row(sb, p)
    summary = _ticket_summary(sb, r)
    dept = sb.one("SELECT name FROM departments WHERE id = ?", [r["deptid"]])
    replies: list[dict[str, Any]] = []
    for reply in sb.all("SELECT * FROM ticket_replies WHERE ticket_id = ? ORDER BY id", [r["id"]]):
        if reply["admin"]:
            rname, remail, rtype = reply["admin"], "", "Operator"
        else:
            rname, remail, rtype = _requestor(
                sb, reply["requestor_user_id"], reply["client_id"], reply["name"], reply["email"]
            )
        replies.append(
            {
                "replyid": str(len(replies)),
                "userid": str(reply["client_id"]),
                "contactid": str(reply["contact_id"]),
                "name": reply["name"],
                "email": reply["email"],
                "requestor_name": rname,
                "requestor_email": remail,
                "requestor_type": rtype,
                "date": reply["date"],
                "message": reply["message"],
                "attachment": "",
                "attachments": [[]],
                "attachments_removed": False,
                "admin": reply["admin"],
                "rating": "0",
            }
        )
    notes = [
        {
            "noteid": str(n["id"]),
            "date": n["date"],
            "message": n["message"],
            "attachment": "",
            "attachments": [[]],
            "attachments_removed": False,
            "admin": n["admin"],
        }
        for n in sb.all("SELECT * FROM ticket_notes WHERE ticket_id = ? ORDER BY id", [r["id"]])
    ]
    return {
        "ticketid": str(r["id"]),
        "tid": r["tid"],
        "c": r["c"],
        "deptid": str(r["deptid"]),
        "deptname": dept["name"] if dept else "",
        "userid": str(r["client_id"]),
        "contactid": str(r["contact_id"]),
        "name": summary["name"],
        "email": summary["email"],
        "cc": "",
        "date": r["date"],
        "subject": r["subject"],
        "status": r["status"],
        "priority": r["priority"],
        "admin": "",
        "lastreply": r["lastreply"],
        "flag": str(r["flag"]),
        "service": r["service"],
        "replies": {"reply": replies},
        "notes": {"note": notes},
    }


# --- orders, activity, domains ------------------------------------------------------------------


def get_orders(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    for key, col in (("id", "id"), ("userid", "client_id"), ("requestor_id", "requestor_id")):
        if p.has(key):
            where.append(f"{col} = ?")
            args.append(p.num(key))
    if p.has("status"):
        where.append("status = ?")
        args.append(p.text("status"))
    total, start, rows = listing(sb, p, "SELECT * FROM orders WHERE " + " AND ".join(where), args, "id DESC")
    orders = []
    for r in rows:
        client = sb.one("SELECT * FROM clients WHERE id = ?", [r["client_id"]])
        invoice = sb.one("SELECT status FROM invoices WHERE id = ?", [r["invoice_id"]])
        lines = []
        for li in sb.all("SELECT * FROM order_lines WHERE order_id = ?", [r["id"]]):
            if li["type"] == "product":
                svc = sb.one(
                    "SELECT s.*, p.name AS pname, p.type AS ptype FROM services s JOIN products p ON p.id = s.pid WHERE s.id = ?",
                    [li["relid"]],
                )
                product, domain, status = (svc["pname"], svc["domain"], svc["status"]) if svc else ("", "", "")
                ptype = {
                    "hostingaccount": "Shared Hosting",
                    "reselleraccount": "Reseller Hosting",
                    "server": "Dedicated/VPS Server",
                }.get(svc["ptype"] if svc else "", "Other Product/Service")
            else:
                dom = sb.one("SELECT * FROM domains WHERE id = ?", [li["relid"]])
                product, domain, status, ptype = (
                    "Domain Registration",
                    dom["domainname"] if dom else "",
                    dom["status"] if dom else "",
                    "Domain",
                )
            lines.append(
                {
                    "type": li["type"],
                    "relid": li["relid"],
                    "producttype": ptype,
                    "product": product,
                    "domain": domain,
                    "billingcycle": li["billingcycle"],
                    "amount": money(li["amount"]),
                    "status": status,
                }
            )
        orders.append(
            {
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
        )
    return {"totalresults": total, "startnumber": start, "numreturned": len(orders), "orders": {"order": orders}}


def log_activity(sb: SandboxState, p: Params) -> dict[str, Any]:
    if not p.text("description").strip():
        raise ApiFail("Description is required")
    client_id = p.num("clientid") or p.num("userid")
    sb.log(p.text("description"), client_id)
    return {}


def get_activity_log(sb: SandboxState, p: Params) -> dict[str, Any]:
    where, args = ["1=1"], []  # type: list[str], list[Any]
    client_id = p.num("clientid") or p.num("userid")
    if client_id:
        where.append("client_id = ?")
        args.append(client_id)
    if p.has("description"):
        where.append("description LIKE ?")
        args.append(f"%{p.text('description')}%")
    if p.has("user"):
        where.append("username = ?")
        args.append(p.text("user"))
    if p.has("ipaddress"):
        where.append("ipaddress = ?")
        args.append(p.text("ipaddress"))
    total, start, rows = listing(sb, p, "SELECT * FROM activity WHERE " + " AND ".join(where), args, "id DESC")
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
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if p.has("clientid"):
        where.append("client_id = ?")
        args.append(p.num("clientid"))
    if p.has("domainid"):
        where.append("id = ?")
        args.append(p.num("domainid"))
    if p.has("domain"):
        where.append("domainname = ?")
        args.append(p.text("domain"))
    total, start, rows = listing(sb, p, "SELECT * FROM domains WHERE " + " AND ".join(where), args)
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
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise ApiFail("Invalid XML") from None
    contacts = json.loads(row["whois"] or "{}")
    for block in root:
        contacts[block.tag] = {child.tag: (child.text or "") for child in block}
    sb.update("domains", row["id"], whois=json.dumps(contacts))
    sb.log(f"Domain Contact Details Updated - Domain ID: {row['id']}", row["client_id"])
    return {}


Handler = Callable[[SandboxState, Params], dict[str, Any]]

ACTIONS: dict[str, Handler] = {
    "GetClients": get_clients,
    "GetClientsDetails": get_clients_details,
    "UpdateClient": update_client,
    "AddClientNote": add_client_note,
    "GetContacts": get_contacts,
    "AddContact": add_contact,
    "GetUsers": get_users,
    "GetClientsProducts": get_clients_products,
    "UpdateClientProduct": update_client_product,
    "ModuleSuspend": module_suspend,
    "ModuleUnsuspend": module_unsuspend,
    "ModuleTerminate": module_terminate,
    "ModuleChangePw": module_change_pw,
    "ModuleCustom": module_custom,
    "GetInvoices": get_invoices,
    "GetInvoice": get_invoice,
    "CreateInvoice": create_invoice,
    "UpdateInvoice": update_invoice,
    "AddInvoicePayment": add_invoice_payment,
    "SendEmail": send_email,
    "GetEmails": get_emails,
    "OpenTicket": open_ticket,
    "AddTicketNote": add_ticket_note,
    "GetTickets": get_tickets,
    "GetTicket": get_ticket,
    "GetOrders": get_orders,
    "LogActivity": log_activity,
    "GetActivityLog": get_activity_log,
    "GetClientsDomains": get_clients_domains,
    "DomainGetWhoisInfo": domain_get_whois_info,
    "DomainUpdateWhoisInfo": domain_update_whois_info,
}
# WHMCS matches action names case-insensitively.
BY_LOWER = {name.lower(): (name, fn) for name, fn in ACTIONS.items()}
