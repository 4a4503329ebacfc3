"""Email and tickets: SendEmail, GetEmails, GetEmailTemplates, OpenTicket, AddTicketNote, GetTickets, GetTicket."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from whmcs_bridge.sandbox import mail, smarty
from whmcs_bridge.sandbox.actions.base import (
    ApiFail,
    Hook,
    Params,
    Where,
    listing,
)
from whmcs_bridge.sandbox.state import EMAIL_CATEGORIES, SandboxState

# One answer for five causes (DD:api-reference/sendemail.md "Sending Failed"): a bad related id, a
# message empty after processing (typically a Smarty error), a hook's abort, a mailer error.
SENDING_FAILED = "Sending Failed. Please see documentation."


def _related(sb: SandboxState, kind: str, related_id: int) -> tuple[Any, Any] | None:
    """The record a template's related id names, by its type (DD:api-reference/sendemail.md), and its client."""
    table = {
        "general": ("clients", "id"),
        "product": ("services", "client_id"),
        "domain": ("domains", "client_id"),
        "invoice": ("invoices", "client_id"),
        "support": ("tickets", "client_id"),
    }.get(kind)
    if table is None:
        return None
    row = sb.one(f"SELECT * FROM {table[0]} WHERE id = ?", [related_id])
    if row is None:
        return None
    client = sb.one("SELECT * FROM clients WHERE id = ?", [row[table[1]]])
    return None if client is None else (row, client)


def _message(sb: SandboxState, p: Params) -> tuple[str, str, str, str]:
    """(template name or "", type, subject, body) of the email asked for, before processing."""
    name = p.text("messagename")
    if name:
        found = mail.template(sb, name)
        if found is None:
            raise ApiFail("Email Template not found")
        return (name, *found)
    kind = p.text("customtype")
    if not kind:
        raise ApiFail("You must provide either an existing email template name or a custom message type")
    if kind not in EMAIL_CATEGORIES:
        raise ApiFail("Invalid message type provided")
    if not p.has("customsubject"):
        raise ApiFail("A subject is required for a custom message")
    if not p.has("custommessage"):
        raise ApiFail("A message body is required for a custom message")
    return "", kind, p.text("customsubject"), p.text("custommessage")


def _created(p: Params) -> str | None:
    """AddTicketReply's `created`: when the reply shows as sent, ISO 8601 or YYYY-MM-DD HH:mm:ss
    (DD:api-reference/addticketreply.md); the ticket's last reply takes that date too (chosen)."""
    text = p.text("created").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiFail("Invalid Date Format") from None
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _contacts_copied(sb: SandboxState, kind: str, client_id: int) -> str:
    """The client's contacts who receive this type of email, as the email's CC: a contact's email preferences say
    whether it "should receive general (product, domain, invoice, support, affiliate) emails"
    (DD:api-reference/addcontact.md, updatecontact.md `email_preferences[...]`, getcontacts.md `generalemails`)."""
    if kind not in EMAIL_CATEGORIES:
        return ""
    rows = sb.all(f"SELECT * FROM contacts WHERE client_id = ? AND {kind}emails = 1 ORDER BY id", [client_id])
    return ", ".join(f"{r['firstname']} {r['lastname']} <{r['email']}>" for r in rows)


def send_email(sb: SandboxState, p: Params) -> dict[str, Any]:
    if not p.has("id"):
        raise ApiFail("A related ID is required")  # DD:api-reference/sendemail.md
    try:
        variables = smarty.custom_vars(p.values)
    except smarty.CustomVarsError:
        raise ApiFail("The custom variables you provided are invalid.") from None
    name, kind, subject, body = _message(sb, p)
    target = _related(sb, kind, p.num("id"))
    if target is None:
        raise ApiFail(SENDING_FAILED)
    related, client = target
    merge = {**mail.merge_fields(sb, kind, related, client), **variables}
    try:
        subject, body = smarty.render(subject, merge), smarty.render(body, merge)
    except smarty.SmartyError:
        raise ApiFail(SENDING_FAILED) from None
    if not body.strip():
        raise ApiFail(SENDING_FAILED)
    message = mail.framed(body)
    to = f"{client['firstname']} {client['lastname']} <{client['email']}>"
    cc = _contacts_copied(sb, kind, int(client["id"]))
    email_id = sb.insert(
        "emails", client_id=client["id"], subject=subject, message=message, date=sb.stamp(), to_addr=to, cc=cc
    )
    sb.log(f"Email Sent to {to} ({subject})", client["id"])
    logged = {
        "userid": client["id"],
        "date": sb.stamp(),
        "to": to,
        "cc": cc,
        "bcc": "",
        "subject": subject,
        "message": message,
        "attachments": "",
        "emailid": email_id,
    }
    if name:  # the PHP hook pairs EmailPreSend (templated emails only) with EmailPreLog
        logged.update(messagename=name, relid=p.num("id"))
    p.hooks.append(Hook("EmailPreLog", logged))
    return {}


def get_email_templates(sb: SandboxState, p: Params) -> dict[str, Any]:
    """The templates of one type, or all (DD:api-reference/getemailtemplates.md): the default language's when no
    `language` is given. The sandbox has no translations, so a language asked for has none (chosen: the page does
    not say whether WHMCS then falls back to the default's). The order is unstated: chosen per run."""
    if p.text("language"):
        return {"totalresults": "0", "emailtemplates": {"emailtemplate": []}}
    made = {r["name"]: r for r in sb.all("SELECT rowid, * FROM email_templates")}
    rows = []
    for number, name in enumerate(mail.TEMPLATES, start=1):
        kind, subject, _ = mail.TEMPLATES[name]
        row = made.pop(name, None)
        rows.append((str(number), name, row["type"] if row else kind, row["subject"] if row else subject, "0"))
    rows += [(str(1000 + r["rowid"]), r["name"], r["type"], r["subject"], "1") for r in made.values()]
    if p.text("type"):
        rows = [r for r in rows if r[2] == p.text("type")]
    rows.sort(key=lambda r: int(r[0]), reverse=sb.orders.sql("GetEmailTemplates") == "DESC")
    keys = ("id", "name", "subject", "custom")
    listed = [dict(zip(keys, (r[0], r[1], r[3], r[4]), strict=True)) for r in rows]
    return {"totalresults": str(len(listed)), "emailtemplates": {"emailtemplate": listed}}


def get_emails(sb: SandboxState, p: Params) -> dict[str, Any]:
    client = sb.one("SELECT id FROM clients WHERE id = ?", [p.num("clientid")])
    if client is None:
        # GetEmails answers errors with `status`, not `result` (WHMCS/developer-docs issue #80).
        raise ApiFail("Client ID Not Found", key="status")
    where = Where()
    where.add("client_id = ?", client["id"])
    where.contains(p, subject="subject")
    if p.has("date"):
        where.add("date LIKE ?", p.text("date") + "%")
    order = sb.orders.sql("GetEmails")  # no stated order (DD:api-reference/getemails.md): chosen per run
    total, start, rows = listing(sb, p, "SELECT * FROM emails WHERE " + where.sql, where.args, order)
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


def _requestor(
    sb: SandboxState, user_id: int, client_id: int, name: str, email: str, contact_id: int = 0
) -> tuple[str, str, str]:
    """Who submitted a ticket's message: a contact of the client when it was opened by one (`contactid`: "the contact
    ID the ticket was opened by"; `name`, `email`: "the ticket submitter's", DD:api-reference/getticket.md), the
    user who wrote it, the client, or a guest. The requestor_type values are not listed by the docs."""
    contact = sb.one("SELECT * FROM contacts WHERE id = ?", [contact_id]) if contact_id else None
    if contact:
        return f"{contact['firstname']} {contact['lastname']}", contact["email"], "Sub-Account"
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


def _ticket_writer(sb: SandboxState, p: Params) -> tuple[int, int]:
    """OpenTicket's checks of the department, text and writer; the writer's client and user ids."""
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
    return client_id, user_id


def _ticket_service(sb: SandboxState, p: Params) -> str:
    """The service (S12) or domain (D4) a ticket is about, or ""."""
    if p.has("serviceid"):
        if not sb.one("SELECT id FROM services WHERE id = ?", [p.num("serviceid")]):
            raise ApiFail("Service ID Not Found")
        return f"S{p.num('serviceid')}"
    if p.has("domainid"):
        if not sb.one("SELECT id FROM domains WHERE id = ?", [p.num("domainid")]):
            raise ApiFail("Domain ID Not Found")
        return f"D{p.num('domainid')}"
    return ""


def _attachments(p: Params) -> list[tuple[str, bytes]]:
    """The files a message carries: `attachments` of OpenTicket, AddTicketReply and AddTicketNote, a base64 JSON
    list of {name, data in base64} (DD:api-reference/addticketreply.md). The pages name no error for a list that
    is not one; the call fails rather than dropping the files."""
    if not p.has("attachments"):
        return []
    try:
        listed = json.loads(base64.b64decode(p.text("attachments"), validate=True))
        return [(str(f["name"]), base64.b64decode(str(f["data"]), validate=True)) for f in listed]
    except (ValueError, KeyError, TypeError):
        raise ApiFail("Invalid attachments: expected base64 encoded JSON of name and data") from None


def _keep_attachments(sb: SandboxState, files: list[tuple[str, bytes]], ticket_id: int, part: str, part_id: int) -> None:
    for index, (name, data) in enumerate(files):
        sb.insert("ticket_attachments", ticket_id=ticket_id, idx=index, filename=name, data=data, part=part, part_id=part_id)


def _listed_attachments(sb: SandboxState, ticket_id: int, part: str, part_id: int) -> list[Any]:
    """A message's attachments as GetTicket lists them: filename and index, or `[[]]` when it has none (the
    shape DD:api-reference/getticket.md shows)."""
    rows = sb.all(
        "SELECT idx, filename FROM ticket_attachments WHERE ticket_id = ? AND part = ? AND (part = 'ticket' OR part_id = ?) ORDER BY idx",
        [ticket_id, part, part_id],
    )
    return [{"filename": r["filename"], "index": r["idx"]} for r in rows] or [[]]


def open_ticket(sb: SandboxState, p: Params) -> dict[str, Any]:
    client_id, user_id = _ticket_writer(sb, p)
    files = _attachments(p)
    service = _ticket_service(sb, p)
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
    # `admin` opens it as staff only with the admin's username, which localAPI takes beside the call's arguments
    # (here `adminusername`); otherwise "the system still uses the client as the ticket opener"
    # (DD:api-reference/openticket.md). Staff's opening fires TicketOpenAdmin (DD:hooks-reference/ticket.md), which
    # hooks/whmcs_bridge.php does not register: no hook reaches the bridge.
    admin = p.text("adminusername") if p.flag("admin") else ""
    sb.insert(
        "ticket_replies",
        ticket_id=ticket_id,
        client_id=client_id,
        contact_id=p.num("contactid"),
        requestor_user_id=user_id,
        name=p.text("name"),
        email=p.text("email"),
        admin=admin,
        date=stamp,
        message=p.text("message"),
    )
    _keep_attachments(sb, files, ticket_id, "ticket", ticket_id)
    if admin:
        return {"id": str(ticket_id), "tid": tid, "c": c}
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
    """A staff-only note on the ticket (DD:api-reference/addticketnote.md). Staff adding it in the admin area are
    named as its admin (here `adminusername`, which localAPI takes beside the call's arguments); the API's own is
    "API Admin". The docs say nothing of a note moving the ticket's last reply or status: neither moves here, so the
    bridge cannot count on a note showing in GetTickets."""
    row = _ticket_row(sb, p)
    if not p.text("message").strip():
        raise ApiFail("Message is required")
    admin = p.text("adminusername") or "API Admin"
    files = _attachments(p)
    note = sb.insert("ticket_notes", ticket_id=row["id"], admin=admin, date=sb.stamp(), message=p.text("message"))
    _keep_attachments(sb, files, row["id"], "note", note)
    return {}


def add_ticket_reply(sb: SandboxState, p: Params) -> dict[str, Any]:
    """A reply on the ticket, as staff (`adminusername`) or as the client; WHMCS emails it to the
    ticket's client or name/email (DD:api-reference/addticketreply.md)."""
    row = _ticket_row(sb, p)
    if not p.text("message").strip():
        raise ApiFail("Message is required")
    admin = p.text("adminusername")
    if p.has("clientid") and not sb.one("SELECT id FROM clients WHERE id = ?", [p.num("clientid")]):
        raise ApiFail("Client ID Not Found")
    if not admin and not p.has("clientid") and not (p.has("name") and p.has("email")):
        raise ApiFail("Name and email address are required if not a client")
    stamp = _created(p) or sb.stamp()
    files = _attachments(p)
    reply = sb.insert(
        "ticket_replies",
        ticket_id=row["id"],
        client_id=0 if admin else p.num("clientid"),
        contact_id=0 if admin else p.num("contactid"),  # a contact belonging to the client
        name=p.text("name"),
        email=p.text("email"),
        admin=admin,
        date=stamp,
        message=p.text("message"),
    )
    _keep_attachments(sb, files, row["id"], "reply", reply)
    sb.update(
        "tickets", row["id"], lastreply=stamp, status=p.text("status") or ("Answered" if admin else "Customer-Reply")
    )
    return {}


def get_ticket_attachment(sb: SandboxState, p: Params) -> dict[str, Any]:
    """DD:api-reference/getticketattachment.md: filename and base64 data of one attachment of a ticket's opening
    message (`relatedid` the ticket), a reply or a note (`relatedid` the reply's or the note's own id)."""
    part = p.text("type")
    if part not in ("ticket", "reply", "note"):
        raise ApiFail("Invalid Type. Must be one of ticket, reply, note")
    where = "ticket_id = ?" if part == "ticket" else "part_id = ?"
    row = sb.one(
        f"SELECT * FROM ticket_attachments WHERE part = ? AND {where} AND idx = ?",
        [part, p.num("relatedid"), p.num("index")],
    )
    if row is None:
        raise ApiFail("Invalid Attachment Index")
    return {"filename": row["filename"], "data": base64.b64encode(row["data"]).decode("ascii")}


def _ticket_summary(sb: SandboxState, r: Any) -> dict[str, Any]:
    client = sb.one("SELECT * FROM clients WHERE id = ?", [r["client_id"]]) if r["client_id"] else None
    owner = f"{client['firstname']} {client['lastname']}" if client else ""
    rname, remail, rtype = _requestor(
        sb, r["requestor_user_id"], r["client_id"], r["name"], r["email"], r["contact_id"]
    )
    fallback = (r["name"] or owner, r["email"] or (client["email"] if client else ""))
    submitter = (rname, remail) if r["contact_id"] else fallback
    return {
        "id": str(r["id"]),
        "tid": r["tid"],
        "deptid": str(r["deptid"]),
        "userid": str(r["client_id"]),
        "name": submitter[0],
        "owner_name": owner,
        "email": submitter[1],
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
    where = Where()
    where.ids(p, clientid="client_id")
    where.ids(p, deptid="deptid")
    where.texts(p, email="email")
    where.contains(p, subject="subject")
    status = p.text("status")
    if status == "All Active Tickets":
        where.clauses.append("status NOT IN ('Closed')")
    elif status == "Awaiting Reply":
        where.clauses.append("status IN ('Open', 'Customer-Reply')")
    elif status:
        where.clauses.append("status = ?")
        where.args.append(status)
    order = sb.orders.sql("GetTickets")  # no stated order (DD:api-reference/gettickets.md): chosen per run
    total, start, rows = listing(sb, p, "SELECT * FROM tickets WHERE " + where.sql, where.args, order)
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
    # `repliessort` ASC or DESC is honoured; without it the order is unstated (DD:api-reference/getticket.md).
    asked = p.text("repliessort").upper()
    direction = asked if asked in ("ASC", "DESC") else sb.orders.sql("GetTicket.replies")
    rows = sb.all("SELECT * FROM ticket_replies WHERE ticket_id = ? ORDER BY id", [r["id"]])
    opening = rows[0]["id"] if rows else None
    for reply in rows if direction == "ASC" else rows[::-1]:
        if reply["admin"]:
            rname, remail, rtype = reply["admin"], "", "Operator"
        else:
            rname, remail, rtype = _requestor(
                sb, reply["requestor_user_id"], reply["client_id"], reply["name"], reply["email"], reply["contact_id"]
            )
        replies.append(
            {
                "replyid": "0" if reply["id"] == opening else str(reply["id"]),  # stable whatever the sort
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
                "attachments": _listed_attachments(
                    sb, r["id"], "ticket" if reply["id"] == opening else "reply", reply["id"]
                ),
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
            "attachments": _listed_attachments(sb, r["id"], "note", n["id"]),
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
