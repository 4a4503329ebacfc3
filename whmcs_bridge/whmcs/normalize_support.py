"""Support and what WHMCS logged, from WHMCS answers: tickets with their replies and notes, the emails it sent
(and how a logged subject matches its template's), and the activity log (the values' quirks: normalize_values.py)."""

from __future__ import annotations

import re
from typing import Any

from whmcs_bridge.whmcs.normalize_values import Raw, as_list, ids, to_bool, to_datetime, to_str, unflatten
from whmcs_bridge.whmcs.records import ActivityEntry, Email, Ticket, TicketNote, TicketReply


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
