"""An email carrying a one-time link (a consent or self-service page), or a delegate's verbatim copy of an email that
may carry access details (the owner chose full copies), reaches one person: its client's own address. The owner
consented to the delegate, not to each of the delegate's contacts.

SendEmail sends a client's email to the client and to each of its contacts whose preference for that type of email
is ticked: a contact "should receive general emails" (DD:api-reference/addcontact.md, updatecontact.md
`email_preferences[general]`; GetContacts shows it as `generalemails`, DD:api-reference/getcontacts.md). SendEmail
takes no recipient (DD:api-reference/sendemail.md: `id` "should be the client id for a general type email"), so when
such a contact exists the link goes another way: a ticket opened for no client, in the client's own name and email
address, which WHMCS mails to that address alone (DD:api-reference/openticket.md: `name`, `email` "of the person
opening the ticket (if not a client)"), as the ownership family reaches an outside party."""

from __future__ import annotations

import html
import re
from typing import Any

from whmcs_bridge.executor.call import ActionError, Call, Observed, Result

LINK = re.compile(r'<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
BREAK = re.compile(r"<br\s*/?>|</p>|</li>|</h\d>", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")


# Where the self-service page link an email carries at its foot begins and ends (texts.email_html): cut out, with
# its link, when the email would also reach the client's contacts (page_link_only).
PAGE_LINK_START, PAGE_LINK_END = "<!-- wb-page-link -->", "<!-- /wb-page-link -->"
PAGE_LINK = re.compile(re.escape(PAGE_LINK_START) + ".*?" + re.escape(PAGE_LINK_END), re.DOTALL)


def for_one(params: dict[str, Any]) -> bool:
    """The email is for its client alone: `alone` in its params (a copy that may carry access details), or it
    exists for its one-time link (`consent`: a consent, an acceptance, a password change, a [renew] page link),
    whoever asked for it (twentieth break round H1: the owner's accountant, a contact, could accept for the owner).
    A notice or a copy whose only link is the self-service page's at its foot is not: see page_link_only."""
    return bool(params.get("alone") or (params.get("consent") and not page_link_only(params)))


def page_link_only(params: dict[str, Any]) -> bool:
    """The email's one-time link is the self-service page's at its foot, not what the email is for: sent the usual
    way, it reaches the client's contacts too, so without that link when they would get it (without_page_link): a
    notice or a copy stays an email, and no contact holds the link to the owner's or the delegate's page."""
    return bool(params.get("footer") and params.get("consent")) and not (
        params.get("alone") or params["consent"].get("alone")
    )


def without_page_link(html: str) -> str:
    return PAGE_LINK.sub("", html)


def copied_to(c: Call) -> list[str]:
    """The client's contacts WHMCS would also send this email to (their preference for its type ticked)."""
    kind = str(c.params.get("type", "general"))
    return [f"contact #{k.id}" for k in c.api.contacts(c.client()) if k.email_preferences.get(kind)]


def as_text(body: str) -> str:
    """An email's HTML as a ticket's plain text, each link's address written out after its words."""
    text = LINK.sub(lambda m: f"{TAG.sub('', m.group(2)).strip()}: {m.group(1)}", body)
    text = TAG.sub("", BREAK.sub("\n", text))
    lines = [html.unescape(line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def send_alone(c: Call, contacts: list[str], department: int | None) -> Result:
    """The email as a ticket for no client, in the client's name and address (see the module's doc)."""
    if not department:
        raise ActionError(
            f"client #{c.client()} has {', '.join(contacts)} receiving its {c.params.get('type', 'general')} emails, "
            "so this email (a one-time link, or a copy that may carry access details) cannot go by email to the "
            "client alone: set safety.staff_department_id (its ticket then reaches the client's address only)"
        )
    client = c.api.client_details(c.client())
    ticket_id, tid = c.api.open_ticket(
        deptid=department,
        subject=str(c.params["subject"]),
        message=c.marked(as_text(str(c.params["html"]))),
        name=f"{client.firstname} {client.lastname}".strip() or client.companyname,
        email=client.email,
    )
    return {"ticket_id": ticket_id, "tid": tid, "alone": client.email}


def observe_alone(c: Call) -> Observed:
    """The ticket send_alone opened, found by its key among the tickets of the client's address with its subject."""
    email = c.api.client_details(c.client()).email
    for ticket in c.api.tickets(email=email, subject=str(c.params["subject"])):
        full = c.api.ticket(ticket.id)
        if full.replies and c.tag in full.replies[0].message:
            found: dict[str, Any] = {"ticket_id": full.id, "tid": full.tid, "alone": email}
            return found
    return False
