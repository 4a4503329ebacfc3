"""The delegation family's messages (pure): what owners and delegates are told, and the notes staff read.

A grant's fields: `owner` and `delegate` are clients, `subjects` what the grant covers ("service:110",
"domain:11", or "client:11" for the whole account), `role` is "technical" or "administrative" (the
templates word it), `grant` the grant's id (for staff, and as a reference the client can quote), `whole` "yes" for
a grant on the owner's whole account (its subjects are then that account, worded as every service and domain of
it rather than by the owner's name again): message_fields.GRANT. The renewals' messages are billing_messages.py,
the payer orders' order_messages.py, the self-service pages' page_messages.py,
added here.
"""

from whmcs_bridge.families.delegation.billing_messages import BILLING
from whmcs_bridge.families.delegation.message_fields import RIGHTS, grant_spec
from whmcs_bridge.families.delegation.order_messages import ORDERS
from whmcs_bridge.families.delegation.page_messages import PAGES
from whmcs_bridge.messages.spec import FieldType, MessageSpec, define

# A grant ending while the delegate's renewal invoice is open: that invoice is cancelled with the grant, the owner's
# own invoice stays due (ending.open_renewal). Said in the reminder before the end and in both end emails.
RENEWAL_OPEN: dict[str, FieldType] = {"renewal_invoice": "text", "owner_invoice": "text"}
RENEWAL_OPEN_SAID = (
    "`renewal_invoice`: the delegate's renewal invoice still open (cancelled when the grant ends), "
    "`owner_invoice`: the owner's invoice it would have settled, still due (either may be empty)."
)
RENEWAL_OPEN_SAMPLES = {"renewal_invoice": "8", "owner_invoice": "2"}

MESSAGES = define(
    # --- a grant starts -----------------------------------------------------------------------------
    grant_spec(
        "delegation.granted_owner",
        "email",
        "client",
        {**RIGHTS, "grant": "text"},
        "To the owner: a client is now its technical or administrative contact for some services.",
    ),
    grant_spec(
        "delegation.granted_delegate",
        "email",
        "client",
        {**RIGHTS, "grant": "text"},
        "To the delegate: it is now the owner's contact for some services.",
    ),
    grant_spec(
        "delegation.granted_owner_note",
        "text",
        "staff",
        {"grant": "text", "by": "text", "basis": "text", "order": "text"},
        "Staff note on the owner's account: who is its contact for what, granted by whom and why "
        "(`order`: the order that made the grant, when it came from one).",
        by="alice",
        basis="owner's email of 2026-11-20",
        order="",
    ),
    grant_spec(
        "delegation.granted_delegate_note",
        "text",
        "staff",
        {"grant": "text"},
        "Staff note on the delegate's account: whose contact it is, for what.",
    ),
    # --- a delegate asks; the owner answers through a one-time link ----------------------------------
    grant_spec(
        "delegation.request_sent",
        "email",
        "client",
        {},
        "To the delegate: its request was sent to the owner.",
    ),
    grant_spec(
        "delegation.request_note",
        "text",
        "staff",
        {"grant": "text", "basis": "text"},
        "Staff note on the owner's account: a delegate asked; the owner was sent a consent link.",
    ),
    grant_spec(
        "delegation.consent_asked",
        "email",
        "client",
        {**RIGHTS, "basis": "text", "consent_link": "url"},
        "To the owner: a client asks to become its contact; accept or decline through the one-time link.",
        basis="we are building their new website",
    ),
    grant_spec(
        "delegation.consent_summary",
        "text",
        "client",
        {**RIGHTS, "basis": "text"},
        "The consent page's summary of a delegate's request (in the owner's language).",
        basis="we are building their new website",
    ),
    grant_spec(
        "delegation.accept_asked",
        "email",
        "client",
        {**RIGHTS, "grant": "text", "consent_link": "url"},
        "To the delegate (delegation.confirm: both): accept or decline becoming the owner's contact through "
        "its own one-time link.",
    ),
    grant_spec(
        "delegation.accept_summary",
        "text",
        "client",
        RIGHTS,
        "The delegate's consent page: what it accepts (in the delegate's language).",
    ),
    grant_spec(
        "delegation.declined_delegate",
        "email",
        "client",
        {},
        "To the delegate: the owner declined its request.",
    ),
    # --- a grant ends ---------------------------------------------------------------------------------
    grant_spec(
        "delegation.ended_owner_note",
        "text",
        "staff",
        {"grant": "text", "status": "text", "by": "text", "reason": "text", "case": "text"},
        "Staff note on the owner's account: a grant ended (`status` revoked or expired; `case`: the "
        "ownership case that ended it, if one did).",
        status="revoked",
        by="owner",
        reason="changed agency",
        case="",
    ),
    grant_spec(
        "delegation.ended_delegate_note",
        "text",
        "staff",
        {"grant": "text", "status": "text", "case": "text"},
        "Staff note on the delegate's account: it is no longer the owner's contact (`case`: the ownership case that "
        "ended it, if one did).",
        status="revoked",
    ),
    grant_spec(
        "delegation.ended_delegate",
        "email",
        "client",
        {"status": "text", "case": "text", "account_moved": "text", "remaining": "subjects", **RENEWAL_OPEN},
        "To the delegate: its access ended (revoked, expired, or `case`: what it covered changed holder in that "
        'ownership case, `account_moved` "yes" the owner\'s whole account); `remaining`: what its access still covers '
        "(part of a grant ended); it no longer acts for the owner on it; "
        + RENEWAL_OPEN_SAID,
        status="revoked",
        **RENEWAL_OPEN_SAMPLES,
    ),
    grant_spec(
        "delegation.ended_owner",
        "email",
        "client",
        {
            "status": "text",
            "offer": "text",
            "consent_link": "url",
            "remaining": "subjects",
            "remaining_role": "text",
            "remaining_whole": "text",
            "access_copies": "text",
            **RENEWAL_OPEN,
        },
        'To the owner: the contact no longer acts for it; with `offer` "reply" or "link", the advice to '
        "change the control-panel password (by replying, or through a one-time link); `remaining`: the services and "
        "domains the same contact still covers under its other grants (empty when nothing stays), as `remaining_role` "
        '("technical" or "administrative"; none when its grants differ); `remaining_whole`: the role in which it stays '
        "the contact of the whole account; `access_copies` (yes): that access still receives copies of the access "
        "details (the owner chose full copies), so no password change is offered; " + RENEWAL_OPEN_SAID,
        status="revoked",
        offer="link",
        access_copies="yes",
        remaining=["domain:1"],
        remaining_role="technical",
        remaining_whole="administrative",
        **RENEWAL_OPEN_SAMPLES,
    ),
    grant_spec(
        "delegation.password_summary",
        "text",
        "client",
        {},
        "The consent page's summary of the offer to change the control-panel password after a grant ended.",
    ),
    grant_spec(
        "delegation.expiry_reminder",
        "email",
        "client",
        {"grant": "text", "side": "text", "expires": "date", **RENEWAL_OPEN},
        'To each side (`side` "owner" or "delegate"), delegation.expiry_reminder before a grant expires: '
        "the day it ends, and how to extend it; " + RENEWAL_OPEN_SAID,
        side="delegate",
        expires="2026-12-20T00:00:00+00:00",
        **RENEWAL_OPEN_SAMPLES,
    ),
    # --- a request ends unanswered ------------------------------------------------------------------
    grant_spec(
        "delegation.request_lapsed",
        "email",
        "client",
        {"grant": "text"},
        "To the delegate: the owner did not answer its request before the consent link expired.",
    ),
    grant_spec(
        "delegation.request_void",
        "email",
        "client",
        {"grant": "text", "closed": "text"},
        "To the delegate: its request was accepted after staff moved something it names to another client, or "
        '(`closed`: "owner" or "delegate") when WHMCS showed that side\'s account Closed (WHMCS read when the answer '
        'came), or ("hold") an ownership case held part of it then, or ("expired") its last day had passed, so it was '
        "not activated; staff check it.",
    ),
    grant_spec(
        "delegation.void_owner",
        "email",
        "client",
        {"grant": "text", "closed": "text"},
        "To the owner who accepted (delegation.confirm: both): the delegate's confirmation came when part of what the "
        'grant names was no longer the owner\'s, a side\'s account was Closed (`closed` "owner" or "delegate"), or an '
        'ownership case held part of it (`closed` "hold"), or its last day had passed (`closed` "expired"), so nothing '
        "was activated; staff check it.",
    ),
    grant_spec(
        "delegation.request_withdrawn",
        "email",
        "client",
        {"grant": "text", "declined": "text"},
        "To the owner: the delegate withdrew its request; the consent link no longer does anything. `declined` "
        '"yes": the delegate declined staff\'s grant through its own link (delegation.confirm: both), not a withdrawal.',
    ),
    grant_spec(
        "delegation.request_ended_note",
        "text",
        "staff",
        {"grant": "text", "status": "text", "reason": "text", "missing": "text"},
        'Staff note on the owner\'s account: a request ended unanswered (`status` "withdrawn" by its '
        'requester or in favour of staff\'s grant, "lapsed" with its link, or "void": accepted when WHMCS no '
        "longer had what it names under the owner, `reason` saying what WHMCS showed; `missing`: who had not confirmed, "
        '"owner", "delegate" or "both").',
        status="lapsed",
        reason="no answer before the link expired",
        missing="owner",
    ),
    grant_spec(
        "delegation.request_superseded",
        "email",
        "client",
        {"grant": "text", "by_grant": "text"},
        "To the delegate: staff granted what its request asked for (grant `by_grant`), so the request is withdrawn.",
        by_grant="g5e0c2a1",
    ),
    grant_spec(
        "delegation.confirmation_lapsed",
        "email",
        "client",
        {"grant": "text", "side": "text", "missing": "text"},
        'To each side (`side` "owner" or "delegate") when a grant needing both confirmations (delegation.confirm: '
        'both) lapsed because the delegate had not confirmed (`missing` "delegate", or "both" when neither had).',
        side="owner",
        missing="delegate",
    ),
    # --- copies of WHMCS's emails to the delegate --------------------------------------------------
    grant_spec(
        "delegation.copy",
        "email",
        "client",
        {"grant": "text", "about": "subjects", "subject": "text"},
        "To the delegate: the header of its copy of an email WHMCS sent the owner (the email follows as "
        "WHMCS sent it); `about` is what the email concerns, `subject` the email's own subject.",
        about=["service:1"],
        subject="Service Unsuspension Notification",
    ),
    grant_spec(
        "delegation.access_notice",
        "email",
        "client",
        {"grant": "text", "about": "subjects", "subject": "text"},
        "To the delegate, instead of a copy of a welcome email: the owner received the access details.",
        about=["service:1"],
        subject="New Account Information",
    ),
    grant_spec(
        "delegation.email_notice",
        "email",
        "client",
        {"grant": "text", "about": "subjects", "subject": "text"},
        "To the delegate, instead of a copy of an email whose template the role names under `notice`: the "
        "owner received it (its subject), without its text.",
        about=["service:1"],
        subject="Domain Renewal Confirmation",
    ),
    grant_spec(
        "delegation.digest",
        "email",
        "client",
        {
            "since": "date",
            "copies": "number",
            "emails": "text",
            "tickets": "number",
            "renewed": "subjects",
            "refunded": "subjects",
        },
        "To the owner, every delegation.digest_every: what one contact did on its behalf (copies received, "
        "with the emails' subjects; support tickets answered as its contact; services and domains renewed; "
        "`refunded`, those whose renewal payment was refunded since).",
        copies=2,
        emails="Service Unsuspension Notification; Invoice Payment Confirmation",
        tickets=1,
        renewed=["service:1"],
    ),
    # --- support authority: the staff-only note on a ticket -------------------------------------------
    MessageSpec(
        "delegation.ticket_owner",
        "text",
        "staff",
        {"writer": "client", "subjects": "subjects"},
        "Ticket note to staff: the writer owns what the ticket names.",
        samples={"subjects": ["service:1", "domain:1"]},
    ),
    MessageSpec(
        "delegation.ticket_user",
        "text",
        "staff",
        {
            "writer": "client",
            "subjects": "subjects",
            "user": "text",
            "since": "date",
            "contact": "number",
            "warn": "text",
            "caution": "text",
        },
        "Ticket note to staff: the writer's account owns what the ticket names, but the message was written "
        "by another WHMCS user of that account, not its owner (`user`: name and email, `since`: when WHMCS "
        "created that user), or by one of its contacts (`contact`: the WHMCS contact id); `warn` when that user "
        "asks for access, ownership or a transfer on a company's account (a contact: on any account), else `caution`: "
        "what to confirm with the owner first.",
        samples={"subjects": ["service:1"], "user": "Lena Vogel (lena@example.com)", "warn": "yes"},
    ),
    grant_spec(
        "delegation.ticket_stranger",
        "text",
        "staff",
        {"writer": "client", "subjects": "subjects", "user": "text", "warn": "text", "caution": "text"},
        "Ticket note to staff: the writer's account owns what the ticket names, but the message was written by "
        "someone WHMCS does not list as a user of that account (`user`: name and email); `warn` when they ask "
        "for access, ownership or a transfer, else `caution`: what to confirm with the owner first.",
        samples={"subjects": ["service:1"], "user": "Paul Martin (paul@example.com)", "warn": "yes"},
    ),
    grant_spec(
        "delegation.ticket_verified",
        "text",
        "staff",
        {
            "grant": "text",
            "since": "date",
            "by": "text",
            "copies": "text",
            "may_renew": "text",
            "may_order": "text",
            "renew": "text",
            "renew_until": "datetime",
            "user": "text",
            "user_since": "date",
            "stranger": "text",
            "contact": "number",
            "warn": "text",
            "caution": "text",
            "for_owner": "text",
        },
        "Ticket note to staff: the writer (the delegate) is a verified contact of the owner for what the "
        "ticket names, with its rights; `renew` when the message carries [renew] (it never invoices): "
        "\"link\" (the delegate was sent its renewal page link, valid until `renew_until`), \"again\" (one sent for "
        "this ticket is still valid: nothing new sent), \"no_link\" (no page can be linked: receiver.public_url is "
        "unset) or \"no_right\" (the role may not renew). `user` (name and email) when the delegate account's "
        "owner did not write it: another WHMCS user of that account (`user_since`: when WHMCS created it) or, with "
        "`stranger`, someone WHMCS does not list as its user, or one of its contacts (`contact`: the WHMCS contact "
        "id); `warn` when that writer asks for access, credentials or a transfer, else `caution`: what to confirm "
        "with the delegate's owner first. `for_owner` when the message asks for access, credentials or a transfer: the "
        "grant makes the delegate a contact, not the owner, whose confirmation it needs.",
        by="alice",
        copies="product/domain",
        may_renew="yes",
        may_order="",
        renew="link",
        renew_until="2026-12-03T10:00:00+00:00",
        for_owner="yes",
    ),
    grant_spec(
        "delegation.ticket_held",
        "text",
        "staff",
        {"grant": "text"},
        "Ticket note to staff: the writer (the delegate) holds a grant on what the ticket names, but its role has no "
        "support authority: staff do not act on its word for the owner.",
        role="administrative",
    ),
    MessageSpec(
        "delegation.ticket_namesake",
        "text",
        "staff",
        {"subjects": "subjects", "owners": "subjects", "hostings": "subjects"},
        "Ticket note to staff: a domain the ticket names has the name of a hosting (`hostings`) the writer's grant "
        "covers, but the grant does not cover the domain itself (not a WARNING: the writer may mean the hosting).",
        samples={"subjects": ["domain:1"], "owners": ["client:1"], "hostings": ["service:1"]},
    ),
    MessageSpec(
        "delegation.ticket_unverified",
        "text",
        "staff",
        {"writer": "client", "subjects": "subjects", "owners": "subjects"},
        "Ticket note to staff: a WARNING that the writer has no grant on what the ticket names.",
        samples={"subjects": ["service:1"], "owners": ["client:1"]},
    ),
    MessageSpec(
        "delegation.ticket_unknown",
        "text",
        "staff",
        {"writer": "client", "names": "text"},
        "Ticket note to staff: a WARNING that the ticket names what WHMCS lists for no client (`names`), asking for "
        "access or the account, or written with letters that are not Latin ones: the writer is verified for none.",
        samples={"names": "boulangerie-dup\u1d0fnt.fr"},
    ),
    # --- orders placed by a delegate's user ---------------------------------------------------------
    grant_spec(
        "delegation.order_requestor_unknown",
        "text",
        "staff",
        {"grant": "text", "order": "text"},
        "Staff check (sticky note on the owner's account): WHMCS did not say who placed an order; if the "
        "administrative contact did, give it the technical grant by hand.",
        order="7",
    ),
    grant_spec(
        "delegation.order_agency_owner",
        "text",
        "staff",
        {"order": "text", "user": "text"},
        "Staff check (sticky note): a delegate's user ordered for a client the delegate has no grant on, "
        "and may now own that client's account.",
        order="7",
        user="5",
    ),
    grant_spec(
        "delegation.renew_link",
        "email",
        "client",
        {"ticket": "text", "items": "subjects", "until": "datetime", "consent_link": "url"},
        "To the delegate: it wrote [renew] in ticket `ticket` about `items`; nothing is invoiced from a ticket, the "
        "renewal is asked on its self-service page, through the one-time link (valid until `until`).",
        ticket="482",
        items=["service:1"],
        until="2026-12-03T10:00:00+00:00",
    ),
)
MESSAGES.update(BILLING)  # renewals invoiced to the delegate (billing_messages.py)
MESSAGES.update(ORDERS)  # orders invoiced to the agency that placed them (order_messages.py)
MESSAGES.update(PAGES)  # the owner's and the delegate's self-service pages (page_messages.py)
