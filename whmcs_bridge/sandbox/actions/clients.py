"""Clients, users and contacts: GetClients, GetClientsDetails, UpdateClient, AddClientNote, GetContacts, AddContact, GetUsers."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.sandbox.actions.base import (
    ZERO_DATETIME,
    ApiFail,
    Hook,
    Params,
    Where,
    listing,
    money,
)
from whmcs_bridge.sandbox.state import EMAIL_CATEGORIES, SandboxState

CALLING_CODES = {"NL": "31", "ID": "62", "GB": "44", "FR": "33", "DE": "49", "BE": "32", "US": "1"}
# The currencies this WHMCS has configured (tblcurrencies; their ids are an install's own: chosen), by id: a client
# has one (UpdateClient `currency`, DD:api-reference/updateclient.md), which GetClientsDetails names by id
# (`currency`) and code (`currency_code`, DD:api-reference/getclientsdetails.md).
CURRENCIES = {1: "EUR", 2: "USD", 3: "GBP"}


def get_clients(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    where.texts(p, status="status")
    if p.has("search"):
        term = p.text("search") + "%"
        where.clauses.append(
            "(email LIKE ? OR firstname LIKE ? OR lastname LIKE ? OR companyname LIKE ?"
            " OR (firstname || ' ' || lastname) LIKE ?)"
        )
        where.args.extend([term] * 5)
    orderby = p.text("orderby", "id")
    if orderby not in ("id", "firstname", "lastname", "companyname", "email", "groupid", "datecreated", "status"):
        orderby = "id"
    direction = "DESC" if p.text("sorting").upper() == "DESC" else "ASC"
    total, start, rows = listing(
        sb, p, "SELECT * FROM clients WHERE " + where.sql, where.args, f"{orderby} {direction}, id {direction}"
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
    row = _client_by_id_or_email(sb, p)
    cid = row["id"]
    customfields = [
        {"id": r["field_id"], "value": r["value"]}
        for r in sb.all("SELECT * FROM client_customfields WHERE client_id = ? ORDER BY field_id", [cid])
    ]
    client = _client_details(row, customfields, _client_users(sb, cid))
    for cf in customfields:
        client[f"customfields{cf['id']}"] = cf["value"]
    answer: dict[str, Any] = {"client": client}
    if p.flag("stats"):
        answer["stats"] = _stats(sb, cid)
    return answer


def _client_by_id_or_email(sb: SandboxState, p: Params) -> Any:
    if p.has("clientid"):
        row = sb.one("SELECT * FROM clients WHERE id = ?", [p.num("clientid")])
    elif p.has("email"):
        row = sb.one("SELECT * FROM clients WHERE email = ?", [p.text("email")])
    else:
        raise ApiFail("Either clientid Or email Is Required")
    if row is None:
        raise ApiFail("Client Not Found")
    return row


def _client_users(sb: SandboxState, cid: int) -> list[dict[str, Any]]:
    """The users who may act for the client, the owner marked."""
    return [
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


def _client_details(row: Any, customfields: list[dict[str, Any]], users: list[dict[str, Any]]) -> dict[str, Any]:
    """GetClientsDetails's `client` object (DD:api-reference/getclientsdetails.md), from its row."""
    cid = row["id"]
    return {
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
        "tax_id": row["tax_id"],
        "email_preferences": _prefs(row),
        "statecode": row["state"],
        "countryname": row["country"],
        "phonecc": CALLING_CODES.get(row["country"], "31"),
        "phonenumberformatted": (
            f"+{CALLING_CODES.get(row['country'], '31')}.{row['phonenumber']}" if row["phonenumber"] else ""
        ),
        "telephoneNumber": row["phonenumber"],
        "billingcid": 0,
        "notes": row["notes"],
        "currency": next((i for i, code in CURRENCIES.items() if code == row["currency_code"]), 1),
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


def _currency(currency_id: int) -> str:
    """A currency's code by its id; the page lists no error for an unknown id: the text is chosen."""
    if currency_id not in CURRENCIES:
        raise ApiFail("Invalid Currency ID")
    return CURRENCIES[currency_id]


def update_client(sb: SandboxState, p: Params) -> dict[str, Any]:
    if p.has("clientid"):
        row = sb.one("SELECT * FROM clients WHERE id = ?", [p.num("clientid")])
    else:
        row = sb.one("SELECT * FROM clients WHERE email = ?", [p.text("clientemail")])
    if row is None:
        raise ApiFail("Client ID Not Found")
    changes: dict[str, Any] = {}
    changes.update(
        p.given(
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
        )
    )
    if "groupid" in p.values:
        changes["groupid"] = p.num("groupid")
    if "currency" in p.values:
        changes["currency_code"] = _currency(p.num("currency"))
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


# What DeleteClient removes with the client ("Removes client record and all associated data",
# DD:api-reference/deleteclient.md); the activity log stays, and transactions unless `deletetransactions`.
OWNED_BY_CLIENT = (
    "client_customfields", "client_notes", "user_clients", "contacts", "services", "domains", "emails", "tickets",
    "orders",
)  # fmt: skip


def delete_client(sb: SandboxState, p: Params) -> dict[str, Any]:
    """Staff's "Delete Client": the client and everything of its account are gone; reads of it then say "Client
    Not Found" (GetClientsDetails, DD:api-reference/getclientsdetails.md)."""
    cid = p.num("clientid")
    if sb.one("SELECT id FROM clients WHERE id = ?", [cid]) is None:
        raise ApiFail("Client ID Not Found")
    sb.db.execute("DELETE FROM invoice_items WHERE invoice_id IN (SELECT id FROM invoices WHERE client_id = ?)", (cid,))
    for table in (*OWNED_BY_CLIENT, "invoices", *(("transactions",) if p.flag("deletetransactions") else ())):
        sb.db.execute(f"DELETE FROM {table} WHERE client_id = ?", (cid,))
    sb.db.execute("DELETE FROM clients WHERE id = ?", (cid,))
    sb.log(f"Client Deleted - Client ID: {cid}", 0)
    return {"result": "success", "clientid": cid}


def delete_user_client(sb: SandboxState, p: Params) -> dict[str, Any]:
    """A user's access to an account removed; the user stays (DD:api-reference/deleteuserclient.md: `user_id` and
    `client_id` required, the answer only `result`). The page names no error: a user or client that is not there,
    or a user without access to the account, is refused with a sentence saying so, and the account's owner keeps
    its access as in the admin area, where WHMCS asks for another owner first (the sandbox's `access` control)."""
    user, client = p.num("user_id"), p.num("client_id")
    if sb.one("SELECT id FROM users WHERE id = ?", [user]) is None:
        raise ApiFail("User Not Found")
    if sb.one("SELECT id FROM clients WHERE id = ?", [client]) is None:
        raise ApiFail("Client Not Found")
    link = sb.one("SELECT is_owner FROM user_clients WHERE user_id = ? AND client_id = ?", [user, client])
    if link is None:
        raise ApiFail("User is not associated with the client")
    if link["is_owner"]:
        raise ApiFail("The owner of a client cannot be removed")
    sb.db.execute("DELETE FROM user_clients WHERE user_id = ? AND client_id = ?", (user, client))
    sb.log(f"User Access Removed - User ID: {user}", client)
    return {"result": "success"}


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
    where = Where()
    where.ids(p, userid="client_id")
    names = ("firstname", "lastname", "companyname", "email", "city", "country", "phonenumber")
    where.texts(p, **{name: name for name in names})
    total, start, rows = listing(sb, p, "SELECT * FROM contacts WHERE " + where.sql, where.args)
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
    where = Where()
    if p.has("search"):
        term = p.text("search") + "%"
        where.clauses.append(
            "(email LIKE ? OR firstname LIKE ? OR lastname LIKE ? OR (firstname || ' ' || lastname) LIKE ?)"
        )
        where.args.extend([term] * 4)
    direction = "DESC" if p.text("sorting").upper() == "DESC" else "ASC"
    total, start, rows = listing(sb, p, "SELECT * FROM users WHERE " + where.sql, where.args, f"id {direction}")
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
