"""What an ownership command reads in WHMCS before it acts (shell): the parties and subjects of a new case, what a
whole account holds, and what an approval must find there (a subject still there to move, and with whom). The
commands that use them are staff.py's."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from whmcs_bridge.errors import BridgeError, WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.evidence import files
from whmcs_bridge.executor.owner_reads import (
    account_holds,
    account_users,
    read_owners,
    registrant_differences,
    subject_gone,
    user_facts,
)
from whmcs_bridge.families.ownership import seen
from whmcs_bridge.families.ownership.execution import GONE
from whmcs_bridge.families.ownership.holder import is_new_holder, outside
from whmcs_bridge.families.ownership.incoming import known_tickets, party_clients, unheard, writer, written_by
from whmcs_bridge.families.ownership.policies import and_words, company_name, label, ref, registrant, reply_arg, threads
from whmcs_bridge.whmcs.api import WhmcsApi, not_found
from whmcs_bridge.whmcs.records import Ticket, TicketNote, TicketReply

# Whether a message in WHMCS is the bridge's own (engine.own_write: a ticket its action opened, a reply or a note it
# sent).
Ours = Callable[[int, TicketReply | TicketNote], bool]


def contents(api: WhmcsApi, client_id: int) -> list[dict[str, Any]]:
    """What a whole account holds now, read from WHMCS: its services and its domains, with their names."""
    services = [{"kind": "service", "id": s.id, "name": s.domain or s.name} for s in api.services(client_id=client_id)]
    return services + [
        {"kind": "domain", "id": d.id, "name": d.domainname.lower()} for d in api.domains(client_id=client_id)
    ]


def account_contents(api: WhmcsApi, state: dict[str, Any]) -> tuple[dict[str, list[str]], str | None]:
    """What each whole account the case hands over holds now (refs by the account's ref), read for an approval,
    and why the approval is refused: the account holds what it did not hold when the case opened (the subject's
    `contents`), which its holder was never asked about (break round 13, MEDIUM 1). Something gone from it since
    refuses nothing: it does not change hands."""
    now: dict[str, list[str]] = {}
    for s in state.get("subjects") or []:
        if s["kind"] != "client" or s.get("hand_over") != "move":
            continue
        held = contents(api, int(s["id"]))
        now[ref(s)] = [ref(item) for item in held]
        if "contents" not in s:  # a case opened before the bridge recorded it: nothing to compare with
            continue
        added = [label(item) for item in held if ref(item) not in s["contents"]]
        if added:
            them = "it" if len(added) == 1 else "them"
            return now, (
                f"client #{s['id']} holds {and_words(added)}, added after the case was opened on "
                f"{state['opened'][:10]}: its holder was not asked about {them}; move {them} out of the account in "
                "WHMCS first, or cancel the case and open a new one on the account as it is now"
            )
    return now, None


def client_party(api: WhmcsApi, client_id: int) -> dict[str, Any]:
    try:
        details = api.client_details(client_id)
    except WhmcsApiError as exc:
        raise BridgeError(f"client #{client_id}: WHMCS says {exc.whmcs_message}") from None
    return {
        "client": details.id,
        "name": f"{details.firstname} {details.lastname}".strip(),
        "company": company_name(details.companyname),  # a placeholder ("-") is no company
        "email": details.email,
        # The addresses of the account's users (GetClientsDetails `users`, DD:api-reference/getclientsdetails.md;
        # WHMCS 8 keeps them apart from the profile's email): only to choose which guest messages the case reads
        # back (incoming.may_answer: a guest's message reaches every open case, most are about something else).
        # Whether an address is a user's of the account is read from WHMCS again with the message (GetUsers).
        "user_emails": sorted({u.email.strip().casefold() for u in details.users if u.email.strip()}),
        # The account's owner user (GetClientsDetails `owner_user_id`, DD:api-reference/getclientsdetails.md): who
        # controls what it holds; the holder's is watched while a case on its services or domains is open, disputed
        # or executing, the new holder's while what it received is locked (watch.watched_account).
        "owner_user": details.owner_user_id or None,
        **details.postal,  # the new registrant's address and phone, if a domain moves to it
    }


def read_subjects(api: WhmcsApi, subjects: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], int]:
    """Each subject with its name, current holder (from WHMCS), and for a domain its WHOIS registrant
    before the change (kept in the dossier). All subjects must have one holder."""
    out: list[dict[str, Any]] = []
    owners = read_owners(api, [{"kind": k, "id": i} for k, i in subjects])
    holders: set[int] = set()
    for kind, item_id in subjects:
        owner = owners.get(f"{kind}:{item_id}")
        if owner is None:
            raise BridgeError(f"{kind}:{item_id} does not exist in WHMCS")
        subject: dict[str, Any] = {"kind": kind, "id": item_id, "holder_ref": owner}
        if kind == "service":
            service = api.service(item_id)
            assert service is not None
            subject["name"] = service.domain or service.name
            holders.add(service.client_id)
        elif kind == "domain":
            domain = next(api.domains(domain_id=item_id))
            subject["name"] = domain.domainname.lower()
            holders.add(domain.client_id)
            try:
                subject["registrant_before"] = api.whois(item_id).contacts.get("Registrant", {})
            except WhmcsApiError as exc:  # a registrar may not answer; the dossier says so
                subject["registrant_before"] = {"unavailable": exc.whmcs_message}
        else:
            subject["name"] = f"client account #{item_id}"
            # What the holder is asked about: an approval refuses what the account holds beyond it
            # (account_contents).
            subject["contents"] = [ref(item) for item in contents(api, item_id)]
            holders.add(item_id)
        out.append(subject)
    if len(holders) != 1:
        raise BridgeError(
            f"the subjects belong to {len(holders)} different clients ({', '.join(f'#{h}' for h in sorted(holders))}): open one case per holder"
        )
    return out, holders.pop()


def unread_messages(api: WhmcsApi, state: dict[str, Any], ours: Ours) -> str | None:
    """The first message a party may have written to the case that the case has not read, in words (None when
    there is none), read in WHMCS for an approval: a reply in the case's ticket threads (GetTicket), or a message in
    a ticket of the holder's or the requester's since the case was opened (opened_at; GetTickets by client, or by address for
    a requester outside WHMCS, DD:api-reference/gettickets.md). A hook lost, or a poll failing, must not let an
    objection sit unseen while the case is approved (break round 13 H1). WHMCS not answering refuses the approval:
    what it holds cannot be known."""
    try:
        found = next(unread(api, state, ours), None)
    except (WhmcsApiError, WhmcsUnavailableError, WhmcsProtocolError):
        raise BridgeError(f"case {state['id']} is not approved: WHMCS could not be read: approve once it can") from None
    if found is None:
        return None
    ticket, reply = found
    where = (
        f"note {reply.id}"
        if isinstance(reply, TicketNote)
        else f"reply {reply.id}"
        if reply.id
        else "its opening message"
    )
    written = f", written {reply.date:%Y-%m-%d %H:%M}" if reply.date else ""
    return (
        f"ticket #{ticket} has a message the bridge has not read yet ({where}{written}): approve once it is read "
        "(the next pass reads it; `ownership show` then lists it to classify)"
    )


def unread(api: WhmcsApi, state: dict[str, Any], ours: Ours) -> Iterator[tuple[int, TicketReply | TicketNote]]:
    """Each message (ticket, reply) WHMCS has from a party that the case has not read (incoming.unheard). Staff's
    replies (GetTicket `admin`, DD:api-reference/getticket.md) and the bridge's own are not a party's; a thread's
    opening message (reply 0) is the bridge's or the request itself. A staff note in one of the case's threads
    (GetTicket `notes`) the case has not read is waited for like a party's reply: it may report one (fifteenth
    round HIGH 2); the bridge's own notes are not."""
    own = threads(state)
    for ticket_id in own:
        yield from unread_in_thread(api, state, ours, ticket_id)
    since = whmcs_time(api, opened_at(state))
    for ticket in party_tickets(api, state):
        last = max((d for d in (ticket.date, ticket.lastreply) if d is not None), default=None)
        if ticket.id in own or (last is not None and last < since):
            continue
        for reply in messages(api, ticket.id):
            if reply.admin or (reply.date is not None and reply.date < since) or ours(ticket.id, reply):
                continue
            if unheard(state, ticket.id, reply.id):
                yield ticket.id, reply


def unread_in_thread(
    api: WhmcsApi, state: dict[str, Any], ours: Ours, ticket_id: int
) -> Iterator[tuple[int, TicketReply | TicketNote]]:
    """unread()'s messages in one of the case's threads: a reply not by staff, and a note, the case has not read."""
    replies, notes = thread_messages(api, ticket_id)
    for reply in replies:
        if reply.id and not reply.admin and not ours(ticket_id, reply) and unheard(state, ticket_id, reply.id):
            yield ticket_id, reply
    for note in notes:
        if not ours(ticket_id, note) and unheard(state, ticket_id, f"n{note.id}"):
            yield ticket_id, note


def thread_messages(api: WhmcsApi, ticket_id: int) -> tuple[list[TicketReply], list[TicketNote]]:
    """A ticket's messages, its opening one first (reply 0), and its staff notes; none for a ticket WHMCS no longer
    has (deleted)."""
    try:
        ticket = api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        return [], []
    return list(ticket.replies), list(ticket.notes)


def messages(api: WhmcsApi, ticket_id: int) -> list[TicketReply]:
    """A ticket's messages, its opening one first (reply 0); none for a ticket WHMCS no longer has (deleted)."""
    try:
        return list(api.ticket(ticket_id).replies)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise
        return []


def party_tickets(api: WhmcsApi, state: dict[str, Any]) -> Iterator[Ticket]:
    """The holder's and the requester's tickets: by client, or by address for a party outside WHMCS."""
    for party in ("holder", "requester"):
        who = state.get(party) or {}
        if who.get("client"):
            yield from api.tickets(client_id=int(who["client"]))
        elif who.get("email"):
            yield from api.tickets(email=str(who["email"]))


def opened_at(state: dict[str, Any]) -> str:
    """When the case was opened for the parties: a case drafted from a ticket, once staff confirmed it (while a draft
    it reads no message, incoming.ANSWERING)."""
    return next((h["at"] for h in state.get("history") or [] if h.get("what") == "opened"), state["opened"])


def whmcs_time(api: WhmcsApi, moment: str) -> datetime:
    """A moment the bridge recorded (UTC) on WHMCS's wall clock, as WHMCS writes its dates (naive, its server's
    zone: config `timezone:`)."""
    at = datetime.fromisoformat(moment)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(api.zone).replace(tzinfo=None) if api.zone else at.astimezone(UTC).replace(tzinfo=None)


def not_movable(api: WhmcsApi, state: dict[str, Any]) -> str | None:
    """The first moving subject WHMCS no longer has in a state to move, in words; None when every one is there."""
    for s in (s for s in state.get("subjects") or [] if s.get("hand_over") == "move" and s["kind"] in GONE):
        gone = subject_gone(api, s, GONE[s["kind"]])
        if gone:
            return f"{gone[0]}: the bridge does not move it" if gone[1] else gone[0]
    return None


def owners_at_approval(api: WhmcsApi, state: dict[str, Any]) -> tuple[dict[str, int | None], list[str]]:
    """Who owns each moving service and domain now, read for an approval, and what staff must hear of it: one
    staff already moved to the requester is said (the case records it as moved before the approval); one with a
    third client refuses the approval. For a requester outside WHMCS, any other client is said: the execution
    hands it over only if that client carries the requester's address."""
    moving = [s for s in state.get("subjects") or [] if s.get("hand_over") == "move" and s["kind"] != "client"]
    owners = read_owners(api, moving)
    requester = (state.get("requester") or {}).get("client")
    said: list[str] = []
    for s in moving:
        owner = owners.get(ref(s))
        if owner is None or owner == s["holder_ref"]:
            continue
        if requester and owner == requester:
            said.append(
                f"{label(s)} already belongs to the requester (#{owner}) in WHMCS: the case records it as moved "
                "before the approval"
            )
        elif requester:
            raise BridgeError(
                f"case {state['id']} is not approved: {label(s)} belongs to client #{owner} in WHMCS now, neither the "
                f"holder (#{s['holder_ref']}) nor the requester (#{requester}): move it back to the holder, or "
                "cancel the case"
            )
        else:
            said.append(
                f"{label(s)} belongs to client #{owner} in WHMCS now, not to the holder: the bridge hands it over "
                "only if that client's email is the requester's"
            )
    return owners, said


def whmcs_now(api: WhmcsApi, case: dict[str, Any]) -> list[seen.Seen]:
    """Read WHMCS for every step the case still waits for."""
    return [_read(api, case, what, s) for what, s in seen.pending(case)]


def _read(api: WhmcsApi, case: dict[str, Any], what: str, s: dict[str, Any]) -> seen.Seen:
    if what == "move":
        owner = read_owners(api, [{"kind": s["kind"], "id": s["id"]}]).get(ref(s))
        if owner is None:
            return seen.Seen(what, ref(s), False, f"WHMCS no longer has {label(s)}")
        facts: dict[str, Any] = {"owner": owner}
        if s["kind"] == "client":
            emails = user_facts(api, int(s["id"]), owner)
            facts["holds"] = {ref(s): account_holds(api, int(s["id"]))}  # completion reads it (completion.grown)
        else:
            emails = {str(owner): api.client_details(owner).email} if outside(case) else {}
            if outside(case):  # and who may act for it: one the holder's login controls is not the requester's
                emails[f"{owner}:users"] = ",".join(account_users(api, owner).values())
        done = owner != s["holder_ref"] and is_new_holder(case, s, owner, emails)
        holder = "user" if s["kind"] == "client" else "client"
        read = f"WHMCS shows it with {holder} #{owner}"
        return seen.Seen(what, ref(s), done, read, {**facts, "emails": emails})
    params = {
        "domain_id": s["id"],
        "holder": registrant(case["requester"]),
        "holder_client": case["requester"].get("client"),
        "contact_type": "Registrant",
    }
    block, differs = registrant_differences(api, params)
    done = bool(block) and not differs
    return seen.Seen(what, ref(s), done, seen.registrant_words(block), {"registrant": block, "differs": differs})


def ticket_attachment(api: WhmcsApi, ticket_id: int, message: int | str | None, index: int) -> tuple[str, bytes]:
    """A file attached to a message of a ticket (GetTicketAttachment, base64): its opening message (`message` None
    or 0), a reply (its id, as `show` and GetTicket list it) or a note ("nID"). A reply or a note is first found in
    the ticket as WHMCS shows it now (GetTicket): their ids are WHMCS-wide, and a file taken from another ticket
    must not be recorded as this one's."""
    where, part, related = f"ticket #{ticket_id}", "ticket", ticket_id
    if message:
        note = isinstance(message, str)
        part, related = ("note", int(str(message)[1:])) if note else ("reply", int(message))
        where = f"ticket #{ticket_id} {part} {related}"
        try:
            thread = api.ticket(ticket_id)
        except WhmcsApiError as exc:
            raise BridgeError(f"ticket #{ticket_id}: WHMCS says {exc.whmcs_message}") from None
        held = [n.id for n in thread.notes] if note else [r.id for r in thread.replies]
        if related not in held:
            raise BridgeError(
                f"ticket #{ticket_id} has no {part} {related}: name one as `show` lists it (TICKET:REPLY, TICKET:nNOTE)"
            )
    try:
        filename, data = api.ticket_attachment(related, index, part)
    except WhmcsApiError as exc:
        raise BridgeError(f"{where} attachment {index}: WHMCS says {exc.whmcs_message}") from None
    try:
        return filename or f"ticket-{ticket_id}-{index}", base64.b64decode(data, validate=True)
    except ValueError:
        raise BridgeError(f"{where} attachment {index}: WHMCS sent data that is not base64") from None


def ticket_source(api: WhmcsApi, case: dict[str, Any], ticket_id: int, message: int | str | None) -> dict[str, Any]:
    """Who wrote the message of a ticket a file is taken from, as WHMCS names it (GetTicket: a reply's `userid`,
    `contactid` and `admin`, a note is staff's, DD:api-reference/getticket.md): `party`, the party whose account
    wrote it (incoming.writer: its owner, a contact of it), or None for staff (a note, a staff reply: they forward
    what a party sent them) and for anyone else; `who` wrote it, `where` it is, and the words the evidence keeps
    (`source`: "written by the holder, ..., in ticket #3 reply 4", "forwarded by staff in ticket #3 note 1"). A
    ticket that is neither a thread of the case, one it knows (its request's), nor a ticket of the holder's or the
    requester's is refused: a third client's file is no evidence of this case (twenty-first round M1)."""
    try:
        thread = api.ticket(ticket_id)
    except WhmcsApiError as exc:
        raise BridgeError(f"ticket #{ticket_id}: WHMCS says {exc.whmcs_message}") from None
    if not _case_ticket(case, thread):
        raise BridgeError(
            f"ticket #{ticket_id} is neither a thread of case {case['id']} nor a ticket of the holder's or the "
            "requester's: a file is taken only from the case's threads and the parties' own tickets"
        )
    if isinstance(message, str):
        where = f"ticket #{ticket_id} note {message[1:]}"
        note = next((n for n in thread.notes if f"n{n.id}" == message), None)
        return _staff(where, note.admin if note else "")
    where = f"ticket #{ticket_id} reply {message}" if message else f"ticket #{ticket_id}, its opening message"
    reply = next((r for r in thread.replies if r.id == (message or 0)), None)
    if reply is None:  # ticket_attachment refuses it
        return {"party": None, "who": "unknown", "where": where, "source": f"in {where}"}
    facts = {
        "admin": reply.admin,
        "userid": reply.client_id,
        "email": reply.email,
        "name": reply.name,
        "ticket": ticket_id,
    }
    party, who = writer(case, facts), written_by(facts)
    if party is None:
        return _staff(where, reply.admin)
    if party == "other":
        return {"party": None, "who": who, "where": where, "source": f"written by {who} in {where}"}
    return {"party": party, "who": who, "where": where, "source": f"written by the {party}, {who}, in {where}"}


def ticket_file(
    api: WhmcsApi,
    case: dict[str, Any],
    message: tuple[int, int | str | None],
    index: int,
    sender: str,
    via: str | None,
    secrets: list[tuple[str, bytes]],
) -> tuple[str, bytes, str, str]:
    """The file of a ticket's message, who it is from and where it came (`attach --ticket`): a message WHMCS says
    the holder or the requester wrote is that party's, and a --from naming another is refused; staff's (a note, a
    staff reply) keeps the --from typed, forwarded by staff (twenty-first round M1)."""
    where = f"ticket #{reply_arg({'ticket': message[0], 'reply': message[1] or None})}"
    if via not in (None, "ticket"):
        raise BridgeError(f"a file taken from {where} came by ticket: give --via ticket, or leave --via out")
    written = ticket_source(api, case, *message)
    party = written["party"]
    if party and sender.strip().casefold() != party:
        raise BridgeError(
            f"{written['where']} was written by the {party}, {written['who']}, as WHMCS says: attach it --from {party}"
        )
    name, data = ticket_attachment(api, *message, index)
    files.refuse_secrets(f"attachment {index} of {where} ({name})", data, secrets)
    return name, data, party or sender, written["source"]


def _staff(where: str, admin: str) -> dict[str, Any]:
    who = f"{admin} (staff)" if admin else "staff"
    return {"party": None, "who": who, "where": where, "source": f"forwarded by staff in {where} ({who})"}


def _case_ticket(case: dict[str, Any], thread: Ticket) -> bool:
    """A ticket a file may be taken from for the case: one of its threads, one it knows (the request's, one a
    party wrote in), or one of the holder's or the requester's (by client, or by address outside WHMCS)."""
    if thread.id in threads(case) or thread.id in known_tickets(case) or thread.id == case.get("ticket"):
        return True
    if thread.client_id:
        return thread.client_id in party_clients(case)
    emails = {str(case[p].get("email") or "").strip().casefold() for p in ("holder", "requester")} - {""}
    return thread.email.strip().casefold() in emails
