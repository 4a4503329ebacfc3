"""The executor's table of action kinds (ACTION_KINDS, one row per kind: how it runs against WHMCS, how
its effect is recognised after an interruption, whether repeating it is harmless, whether it only
reads, what undoes it). The guards re-checked before an action runs are guards.py; the reads, reads.py. The kind names and
which are destructive by default are model.KINDS and model.DESTRUCTIVE_KINDS (the pure rules need them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from whmcs_bridge.errors import WhmcsApiError, WhmcsAuthError
from whmcs_bridge.executor import one_recipient
from whmcs_bridge.executor.access_kinds import CREDENTIAL_CHANGE
from whmcs_bridge.executor.billing_kinds import BILLING_KINDS
from whmcs_bridge.executor.call import ActionError, ActionKind, Call, Observed, Result, done_if, email_with
from whmcs_bridge.executor.owner_reads import (
    account_holds,
    account_users,
    holder_now,
    holders_address,
    owner_user,
    read_owners,
    registrant_now,
    user_facts,
)
from whmcs_bridge.executor.reads import (
    client_context,
    find_open_invoice,
    find_order_invoice,
    paid_invoice_now,
    renewal_now,
)
from whmcs_bridge.executor.ticket_reads import resolve_ticket, user_links
from whmcs_bridge.pasted import masked
from whmcs_bridge.whmcs import whois
from whmcs_bridge.whmcs.api import not_found

# --- each kind: how it runs, and how its effect is recognised after an interruption -------------


def _run_email(c: Call) -> Result:
    p = c.params
    if p.get("template"):
        c.api.send_email(int(p["related_id"]), template=p["template"], merge=p.get("merge"))
        return {}
    if one_recipient.for_one(p):  # a one-time link, or access details, for one person: not the client's contacts
        contacts = one_recipient.copied_to(c)
        if contacts:
            return one_recipient.send_alone(c, contacts, c.department_id)
    elif one_recipient.page_link_only(p) and one_recipient.copied_to(c):
        p = {**p, "html": one_recipient.without_page_link(str(p["html"]))}  # the page link is not the contacts'
    c.api.send_email(
        int(p["related_id"]),
        custom_type=p.get("type", "general"),
        subject=p["subject"],
        html=c.marked(p["html"], html=True),
        merge=p.get("merge"),
    )
    # Proof: the email-log id of what was sent, found by the key written into it.
    found = email_with(c.api, c.client_id, c.tag, p["subject"]) if c.client_id else None
    return {"email_id": found} if found else {}


def _observe_email(c: Call) -> Observed:
    if c.params.get("template") or c.client_id is None:
        return None  # a template's text is WHMCS's own (no key in it), or no client's email log to read
    found = email_with(c.api, c.client_id, c.tag, c.params.get("subject"))
    if not found and one_recipient.for_one(c.params):
        return one_recipient.observe_alone(c)
    return {"email_id": found} if found else False


def _run_ticket(c: Call) -> Result:
    p = c.params
    ticket_id, tid = c.api.open_ticket(
        deptid=int(p["deptid"]),
        subject=p["subject"],
        message=c.marked(p["message"]),
        client_id=p.get("client_id", c.client_id),
        service_id=p.get("service_id"),
        domain_id=p.get("domain_id"),
        priority=p.get("priority", "Medium"),
        notify=p.get("notify", True),
        name=p.get("name"),
        email=p.get("email"),
        preface=p.get("preface"),
    )
    return {"ticket_id": ticket_id, "tid": tid}


def _observe_ticket(c: Call) -> Observed:
    # Every ticket with the subject (GetTickets states no order), each read with its opening message
    # first (api.ticket sends repliessort=ASC).
    for ticket in c.api.tickets(client_id=c.params.get("client_id", c.client_id), subject=c.params["subject"]):
        full = c.api.ticket(ticket.id)
        if full.replies and c.tag in full.replies[0].message:
            return {"ticket_id": full.id, "tid": full.tid}
    return False


def _run_ticket_note(c: Call) -> Result:
    c.api.add_ticket_note(int(c.params["ticket_id"]), c.marked(c.params["message"]))
    return {}


def _observe_ticket_note(c: Call) -> Observed:
    return done_if(any(c.tag in n.message for n in c.api.ticket(int(c.params["ticket_id"])).notes))


def _run_ticket_reply(c: Call) -> Result:
    c.api.add_ticket_reply(int(c.params["ticket_id"]), c.marked(c.params["message"]))
    return {}


def _observe_ticket_reply(c: Call) -> Observed:
    return done_if(any(c.tag in r.message for r in c.api.ticket(int(c.params["ticket_id"])).replies))


def _run_client_note(c: Call) -> Result:
    note_id = c.api.add_client_note(c.client(), c.marked(c.params["text"]), sticky=c.params.get("sticky", False))
    return {"note_id": note_id}


def _run_activity(c: Call) -> Result:
    c.api.log_activity(f"{c.params['text']} {c.tag}", c.params.get("client_id", c.client_id))
    return {}


def _observe_activity(c: Call) -> Observed:
    return done_if(next(c.api.activity(description=c.tag), None) is not None)


def _observe_client_note(c: Call) -> Observed:
    """No API reads client notes; the note's trace line in the activity log, written once the note was
    made, proves it was. Without the line WHMCS cannot tell (None), it does not say the note is absent."""
    traced = any("client_note" in entry.description for entry in c.api.activity(description=c.tag))
    return {"found_by": "its trace line in the activity log"} if traced else None


def _run_suspend(c: Call) -> Result:
    c.api.suspend(int(c.params["service_id"]), c.params.get("reason"))
    return {}


def _run_unsuspend(c: Call) -> Result:
    c.api.unsuspend(int(c.params["service_id"]))
    return {}


def _run_terminate(c: Call) -> Result:
    c.api.terminate(int(c.params["service_id"]))
    return {}


def _service_now(status: str) -> Callable[[Call], Observed]:
    """An observer: the action's service is in `status` now."""

    def observe(c: Call) -> Observed:
        service = c.api.service(int(c.params["service_id"]))
        return done_if(service is not None and service.status == status)

    return observe


def _run_module_command(c: Call) -> Result:
    c.api.module_command(int(c.params["service_id"]), c.params["function"])
    return {}


def _run_registrant_update(c: Call) -> Result:
    """Read the domain's contacts, put the holder's details in place, send every block whole: a partial
    block would wipe the address and phone at a registrar that replaces it (whmcs/whois.py)."""
    domain_id, kind = int(c.params["domain_id"]), c.params.get("contact_type", "Registrant")
    _still_the_company(c)
    _not_the_holders(c)
    contacts = dict(c.api.whois(domain_id).contacts)
    contacts[kind] = whois.with_holder(contacts.get(kind, {}), holder_now(c.api, c.params))
    c.api.update_whois(domain_id, whois.contacts_xml(contacts))
    return {}


def _still_the_company(c: Call) -> None:
    """A new holder that was a company when its case opened (`company`) is written as the registrant only while its
    WHMCS profile still names that company (GetClientsDetails `companyname`, DD:api-reference/getclientsdetails.md):
    a profile edited since to a person's would make that person the registrant of the company's domain. Held
    (ActionError parks it) for staff, naming what the profile says now."""
    company = str(c.params.get("company") or "").strip()
    if not company or not c.params.get("holder_client"):
        return
    client = int(c.params["holder_client"])
    now = c.api.client_details(client).companyname.strip()
    if " ".join(now.split()).casefold() != " ".join(company.split()).casefold():
        named = f'the company "{now}"' if now else "no company"
        raise ActionError(
            f'client #{client}\'s WHMCS profile names {named}, not "{company}" as when the case opened, so domain '
            f"#{c.params['domain_id']}'s registrant would not be the company: correct the profile and approve this "
            "action, or reject it"
        )


def _not_the_holders(c: Call) -> None:
    """Nor while the new holder's profile email (GetClientsDetails `email`, DD:api-reference/getclientsdetails.md),
    which becomes the registrant's email, is the old holder's (`holder_marks`, owner_reads.holders_address): the holder
    would keep the registrant's mailbox of the domain it hands over (twenty-sixth break round, ownership HIGH 3)."""
    if not c.params.get("holder_marks") or not c.params.get("holder_client"):
        return
    client = int(c.params["holder_client"])
    email = c.api.client_details(client).email.strip()
    why = holders_address(email, c.params["holder_marks"])
    if why:
        raise ActionError(
            f"client #{client}'s WHMCS profile email {email} is {why}, so domain #{c.params['domain_id']}'s registrant "
            "email would be the holder's: correct the profile and approve this action, or reject it"
        )


def _observe_registrant_update(c: Call) -> Observed:
    return done_if(registrant_now(c.api, c.params)[1])


def _run_refresh_client(c: Call) -> Result:
    """The client's context (ClientContext), with what the rules asked to hear back beside it (`report`: e.g.
    the order a delegate's users were read for; `owner_user_of`: that order's client's owner user, now)."""
    known = c.params.get("known_invoices")
    context = client_context(c.api, c.client(), None if known is None else [int(i) for i in known])
    report = dict(c.params.get("report") or {})
    if c.params.get("owner_user_of"):
        report["owner_user"] = owner_user(c.api, int(c.params["owner_user_of"]))
    return {"context": {**report, **context}}


def _run_resolve_ticket(c: Call) -> Result:
    return {"feed": ("TicketResolved", resolve_ticket(c.api, c.params))}


def _run_find_open_invoice(c: Call) -> Result:
    return {"feed": ("OpenInvoiceFound", find_open_invoice(c.api, c.params))}


def _run_find_order_invoice(c: Call) -> Result:
    return {"feed": ("OrderInvoiceFound", find_order_invoice(c.api, c.params))}


def _run_read_invoice(c: Call) -> Result:
    """An invoice as WHMCS has it now: its status and what has been paid on it (payments less refunds, and credit
    applied), fed back to the rules (InvoiceRead), e.g. to tell staff the amount on an invoice that was cancelled."""
    invoice = c.api.invoice(int(c.params["invoice_id"]))
    data = {**(c.params.get("report") or {}), "invoice_id": invoice.id, "status": invoice.status}
    return {"feed": ("InvoiceRead", {**data, "paid": f"{invoice.paid:.2f}"})}


def _run_read_renewal(c: Call) -> Result:
    """A delegated renewal as WHMCS has it now (reads.renewal_now: the service or domain, the owner's line, the
    delegate's invoice), fed back to the rules (RenewalRead) to settle it or tell staff what WHMCS shows; or, asked
    about an invoice paid while it is open (`paid_invoice`), that invoice alone (reads.paid_invoice_now)."""
    if c.params.get("paid_invoice"):
        facts = paid_invoice_now(c.api, c.params)
    else:
        facts = renewal_now(c.api, c.params, c.client())
    return {"feed": ("RenewalRead", {**(c.params.get("report") or {}), **facts})}


def _run_read_owners(c: Call) -> Result:
    owners = read_owners(c.api, c.params["subjects"])
    report = {**(c.params.get("report") or {}), "owners": owners}
    emails: dict[str, str] = {}
    if c.params.get("owner_emails"):  # an outside requester is recognised by its address (ownership execution)
        clients = {o for k, o in owners.items() if o and not k.startswith("client:")}
        emails = {str(o): c.api.client_details(o).email for o in sorted(clients)}
        # And who may act for each such client (its owner and invited users): an account the holder's own login
        # controls is not the requester's, whatever its address (holder.holders_login).
        emails.update({f"{o}:users": ",".join(account_users(c.api, o).values()) for o in sorted(clients)})
    for subject, user in owners.items():  # a whole account's owner user: whose user it is (holder.is_new_holder)
        if user and subject.startswith("client:"):
            emails.update(user_facts(c.api, int(subject.split(":")[1]), int(user)))
    # And what a whole account holds now: completion refuses what it gained since the approval (completion.grown).
    holds = {k: account_holds(c.api, int(k.split(":")[1])) for k, o in owners.items() if o and k.startswith("client:")}
    if holds:
        report["holds"] = holds
        # And who else may act for it: the holder's logins lose the account once it is handed over
        # (completion.ex_holder_logins).
        report["users"] = {k: account_users(c.api, int(k.split(":")[1])) for k in holds}
    if emails:
        report["emails"] = emails
    return {"feed": ("OwnershipOwners", report)}


def _on_account(c: Call) -> bool:
    """Whether the user is still one of the account's users (GetClientsDetails `users`)."""
    user = int(c.params["user_id"])
    return any(u.id == user for u in c.api.client_details(int(c.params["client_id"])).users)


def _run_remove_user(c: Call) -> Result:
    """A login's access to a whole account handed over removed (ownership completion.ex_holder_logins); one staff
    removed meanwhile has nothing left to remove."""
    if _on_account(c):
        c.api.remove_user(int(c.params["client_id"]), int(c.params["user_id"]))
    return {}


def _observe_remove_user(c: Call) -> Observed:
    """After an interruption: gone from the account's users, it ran; still there, it did not."""
    return done_if(not _on_account(c))


def _run_domain_lock(c: Call) -> Result:
    """The domain's transfer lock on; a registrar module that refuses (it cannot lock, or the registry has
    no such lock) ends the step as refused, with the registrar's words (its `outcome`, told to the case with
    the step's end: completion.step_ended), for staff to set it by hand or accept it, rather than parked: a
    registry without a lock would keep the case from completing for ever."""
    domain_id = int(c.params["domain_id"])
    report = {**(c.params.get("report") or {}), "domain": domain_id}
    try:
        c.api.lock_domain(domain_id)
    except WhmcsApiError as exc:
        if isinstance(exc, WhmcsAuthError):
            raise
        return {"outcome": {"refused": exc.whmcs_message or str(exc)}}
    return {"feed": ("OwnershipLock", {**report, "locked": True})}


def _run_read_reply(c: Call) -> Result:
    """A ticket reply as WHMCS has it: who wrote it (its client id, or a guest's address: the hook's
    TicketUserReply gives only the userid, DD:hooks-reference/ticket.md), when, and what it says."""
    ticket_id, reply_id = int(c.params["ticket_id"]), int(c.params["reply_id"])
    try:
        ticket = c.api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        replies: list[Any] = []
    else:
        replies = list(ticket.replies)
    reply = next((r for r in replies if r.id == reply_id), None)
    data: dict[str, Any] = {
        **(c.params.get("report") or {}),
        "ticket": ticket_id,
        "reply": reply_id,
        "found": reply is not None,
    }
    if reply is not None:
        data.update(
            userid=reply.client_id,
            contactid=reply.contact_id,
            email=reply.requestor_email or reply.email,
            name=reply.requestor_name or reply.name,
            admin=bool(reply.admin),
            admin_name=str(reply.admin or ""),
            date=reply.date.isoformat() if reply.date else None,
            message=masked(reply.message),  # a code or password the writer pasted is never kept (pasted.py)
            attachments=[{"index": index, "name": name} for index, name in reply.attachments],
        )
        if reply.client_id and reply.requestor_email and not reply.admin:
            # Which user of the account wrote it: its owner, or a user invited on it (GetUsers `isOwner`);
            # None when WHMCS does not say. And whether that user is also a user of one of the parties' accounts
            # (a party's person writing with another account selected, DD:api-reference/getusers.md `clients`).
            parties = [int(p) for p in (c.params.get("report") or {}).get("parties") or []]
            links = user_links(c.api, reply.requestor_email.strip(), [int(reply.client_id), *parties])
            data["account_owner"] = links.get(int(reply.client_id))
            data["user_of"] = {str(p): links[p] for p in parties if p in links and p != reply.client_id}
        elif not reply.client_id and not reply.admin and (reply.email or reply.requestor_email).strip():
            # A guest (no client account): whether a user of a party's account has its address, as WHMCS says now.
            # WHMCS does not verify a guest's address: it is shown as such, never as that user's login.
            parties = [int(p) for p in (c.params.get("report") or {}).get("parties") or []]
            links = user_links(c.api, (reply.email or reply.requestor_email).strip(), parties) if parties else {}
            data["user_of"] = {str(p): links[p] for p in parties if p in links}
    return {"feed": ("OwnershipReply", data)}


def _run_announce(c: Call) -> Result:
    return {"feed": (str(c.params["type"]), dict(c.params["data"]))}


ACTION_KINDS: Mapping[str, ActionKind] = MappingProxyType(
    {
        row.name: row
        for row in (
            # SendEmail; the key is an HTML comment in the body (a WHMCS template's is not: unknowable)
            ActionKind("email", _run_email, _observe_email),
            # OpenTicket; the key is in the first message
            ActionKind("ticket", _run_ticket, _observe_ticket),
            # AddTicketNote; the key is in the note
            ActionKind("ticket_note", _run_ticket_note, _observe_ticket_note),
            # AddTicketReply as staff (mails the party); the key is in the reply
            ActionKind("ticket_reply", _run_ticket_reply, _observe_ticket_reply),
            # AddClientNote: WHMCS's API cannot list a client's notes, so an interrupted note is parked for
            # staff to look at rather than added twice (duplicates piled up after crashes)
            # No API reads client notes: its trace line is looked for, else it counts as done, unconfirmed.
            ActionKind("client_note", _run_client_note, _observe_client_note, assume_ran=True),
            # LogActivity; the key is in the description
            ActionKind("activity", _run_activity, _observe_activity),
            # ModuleSuspend, ModuleUnsuspend, ModuleTerminate (irreversible): the service's status tells
            ActionKind("suspend", _run_suspend, _service_now("Suspended"), inverse="unsuspend"),
            ActionKind("unsuspend", _run_unsuspend, _service_now("Active")),
            ActionKind("terminate", _run_terminate, _service_now("Terminated")),
            # ModuleCustom: the module's command must be idempotent itself; undone by the inverse command
            # configured for it, if any
            ActionKind("module_command", _run_module_command, repeat_safe=True, inverse="module_command"),
            *BILLING_KINDS,
            # DomainUpdateWhoisInfo; the contact it asked for tells
            ActionKind("registrant_update", _run_registrant_update, _observe_registrant_update),
            # DomainUpdateLockingStatus: turning the lock on twice is harmless (OwnershipLock)
            ActionKind("domain_lock", _run_domain_lock, repeat_safe=True),
            ActionKind("remove_user", _run_remove_user, _observe_remove_user),
            # ModuleChangePw, then the service's welcome email: found by that email in the holder's log
            # (access_kinds.py); the bridge never keeps the password.
            CREDENTIAL_CHANGE,
            # Reads, fed back to the rules as events: the client's details and services (ClientContext),
            # who owns what a ticket names (TicketResolved), a client's unpaid invoice for a service
            # (OpenInvoiceFound), who owns each subject of an ownership case now (OwnershipOwners).
            ActionKind("refresh_client", _run_refresh_client, repeat_safe=True, read_only=True),
            ActionKind("resolve_ticket", _run_resolve_ticket, repeat_safe=True, read_only=True),
            ActionKind("find_open_invoice", _run_find_open_invoice, repeat_safe=True, read_only=True),
            ActionKind("find_order_invoice", _run_find_order_invoice, repeat_safe=True, read_only=True),
            # An invoice's status and the amount paid on it now (InvoiceRead).
            ActionKind("read_invoice", _run_read_invoice, repeat_safe=True, read_only=True),
            # A delegated renewal's service or domain, owner's line and delegate's invoice now (RenewalRead).
            ActionKind("read_renewal", _run_read_renewal, repeat_safe=True, read_only=True),
            ActionKind("read_owners", _run_read_owners, repeat_safe=True, read_only=True),
            # A reply in an ownership case's ticket thread, read to learn who wrote it (OwnershipReply).
            ActionKind("read_reply", _run_read_reply, repeat_safe=True, read_only=True),
            # No WHMCS call: tells the other families something (e.g. an ownership change ends grants).
            ActionKind("announce", _run_announce, repeat_safe=True, read_only=True),
        )
    }
)


def action_kind(name: str) -> ActionKind:
    """The table's row for a kind; an outbox row of a kind this version does not know parks."""
    try:
        return ACTION_KINDS[name]
    except KeyError:
        raise ValueError(f"no runner for action kind {name}") from None
