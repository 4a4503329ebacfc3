"""A party's messages in WHMCS (pure): which messages WHMCS tells of (a reply in any ticket, a new ticket) reach an
open case and are read back, who wrote each (WHMCS's facts: the ticket's client, the reply's userid, a guest's
address, read with GetTicket; never the words or markers a party can paste), and what an attached reply does to the
case: while it is answerable, a party's written answer is never lost (issue 17, twelfth round H4, H7, H5, H6)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import FINAL, due, unchanged
from whmcs_bridge.families.ownership.execution import step_words
from whmcs_bridge.families.ownership.flow import to_review
from whmcs_bridge.families.ownership.policies import (
    ANSWERING,
    Rules,
    act,
    case_refs,
    classify_command,
    iso,
    message_id,
    msg_ref,
    staff_ticket,
    step,
    threads,
)
from whmcs_bridge.model import Action, Decision, as_int

# Where the holder's answer still decides the case: waiting for it, or under review before approval.
ANSWERABLE = ("notified", "review")
# Staff's words in a case thread (a reply or a note: a phoned objection) count while the holder's answer decides the
# case, and while its writes in WHMCS have not all run (executing: the steps not sent yet wait for them to be
# classified, execution.writes_wait; fifteenth break round HIGH 1).
STAFF_HEARD = (*ANSWERABLE, "executing")


def thread_reply(case: dict[str, Any], data: dict[str, Any]) -> Decision:
    """Someone wrote in one of the case's ticket threads (staff too, while the holder's answer decides the case:
    staff_in_thread), or in another ticket while the case is open (it reached the case because the ticket's client
    is a party, or its words name the case): read the reply from WHMCS to learn who wrote it (reply_read decides
    whether it answers)."""
    ticket, reply = as_int(data.get("ticketid")), as_int(data.get("replyid"))
    if not ticket or not reply or known_reply(case, ticket, reply):
        return unchanged(case)
    if data.get("admin") and (ticket not in threads(case) or case.get("status") not in STAFF_HEARD):
        return unchanged(case)  # staff's words count in the case's threads while the holder's answer decides it
    report: dict[str, Any] = {"case": case["id"], "told": told(data), "parties": party_clients(case)}
    if ticket not in threads(case):
        if case.get("status") not in ANSWERING:
            return unchanged(case)
        if not may_answer(case, data):
            return unchanged(case)
        words = f"{data.get('subject') or ''} {data.get('message') or ''}"
        report.update(named=True, names=int(names_case(case, words)), subject=str(data.get("subject") or ""))
    return read_back(case, ticket, reply, f"reply-{ticket}-{reply}", report)


def ticket_opened(case: dict[str, Any], data: dict[str, Any]) -> Decision:
    """A new ticket while the case is open, by a party's account, or naming the case or a party: its opening
    message is read like a reply in the case's thread (reply_read decides whether it answers). Not the case's own
    threads; the bridge's own tickets never reach a family (engine.own_write decides that from facts)."""
    ticket = as_int(data.get("ticketid"))
    if not ticket or ticket in threads(case) or known_reply(case, ticket, 0) or case.get("status") not in ANSWERING:
        return unchanged(case)
    if ticket in known_tickets(case) or ticket < min(threads(case), default=0):
        return unchanged(case)  # the request itself, re-read on a resync (issue 17, tenth round M3)
    if not may_answer(case, data):
        return unchanged(case)
    report = {
        "case": case["id"], "opened": True, "subject": str(data.get("subject") or ""), "told": told(data),
        "parties": party_clients(case),
    }  # fmt: skip
    return read_back(case, ticket, 0, f"opened-{ticket}", report)  # GetTicket: the opening message is reply 0


def thread_note(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """A note staff added to one of the case's threads (TicketAddNote, DD:hooks-reference/ticket.md; read by the
    poll with GetTicket's `notes`, DD:api-reference/getticket.md) while the holder's answer decides the case. A note
    is staff-only: staff's words, which may report an answer by phone ("he OBJECTS"); it is attached like staff's
    reply there (staff_in_thread) for staff to classify, in its own id space (`nN`, `--reply TICKET:nN`), and holds
    the window's end as silence, the approval and the writes until they do (fifteenth round HIGH 2). WHMCS names its
    admin and date; no read back is needed. The bridge's own notes never reach the case (engine.own_write). The
    hook names no note id: the note is taken when the poll reads it."""
    ticket, note = as_int(data.get("ticketid")), as_int(data.get("noteid"))
    if not ticket or not note or ticket not in threads(case) or case.get("status") not in STAFF_HEARD:
        return unchanged(case)
    number = f"n{note}"
    if known_reply(case, ticket, number):
        return unchanged(case)
    facts = {
        "ticket": ticket, "reply": number, "admin": True, "admin_name": str(data.get("admin") or ""),
        "date": data.get("date"), "message": str(data.get("message") or ""), "note": True,
    }  # fmt: skip
    reply = attach(case, facts, "other", now)
    return flag_reply(case, facts, reply, now, rules)


def thread_gone(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """One of the case's ticket threads WHMCS no longer has: the poll's GetTicket answered "Ticket ID Not Found"
    (DD:api-reference/getticket.md), so staff deleted it in the admin area, with whatever was written there since the
    bridge last read it (the holder's objection: nineteenth break round M2). It is never taken as silence: attached
    once like a reply of the thread's party the bridge could not read, `--reply TICKET` to classify, and flagged as
    one (flag_reply: staff's ticket, the review; the window's end, the approval and the writes wait for staff to
    record what the party answered, or `unrelated`)."""
    ticket = as_int(data.get("ticketid"))
    if not ticket or ticket not in threads(case) or case.get("status") not in ANSWERING:
        return unchanged(case)
    if any(r.get("thread_gone") and r["ticket"] == ticket for r in case.get("replies", [])):
        return unchanged(case)  # said once
    party = next((p for p, t in (case.get("tickets") or {}).items() if as_int(t) == ticket), "requester")
    reply = {
        "party": party, "writer": "unknown", "ticket": ticket, "reply": None, "date": None, "seen": iso(now),
        "message": "", "classified": None, "thread_gone": True,
    }  # fmt: skip
    case.setdefault("replies", []).append(reply)
    last = as_int(data.get("last_reply"))
    read = f"after reply {last}" if last else "since it was opened"
    step(case, now, "thread gone", "bridge", f"{msg_ref(reply)}, the case's thread with the {party}: what was written "
         f"there {read} is unknown, to classify ({classify_command(case['id'], reply)})")  # fmt: skip
    return flag_reply(case, {**data, "ticket": ticket, "thread_gone": True}, reply, now, rules)


def may_answer(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """A message outside the case's threads is read back from WHMCS when it may answer the case: WHMCS says a party's
    client account wrote it, or another client account (whatever its words: its user may be a party's person); or
    its words name the case; or, for a guest, its address is a party's or one of its users', or its words name a
    party (rules.writer_refs sends every guest's message to every open case: most are about something else, and
    are not read for each case)."""
    if party_account(case, data):
        return True
    text = f"{data.get('subject') or ''} {data.get('message') or ''}"
    if names_case(case, text):
        return True
    if as_int(data.get("userid")):
        # Another client's message: whether the user who wrote it is a user of a party's account is WHMCS's fact
        # (GetUsers), not an equality of its address with the party's profile email (WHMCS 8 keeps a client's
        # email and its users' apart), and the hook does not name the user at all (DD:hooks-reference/ticket.md):
        # read back to learn it, whichever path told of it (thirteenth round H2, fourteenth round HIGH 3).
        return True
    email = str(data.get("requestor_email") or data.get("email") or "").strip().casefold()
    addresses = {str(case[p].get("email") or "").strip().casefold() for p in ("holder", "requester")}
    addresses |= {str(a).casefold() for p in ("holder", "requester") for a in case[p].get("user_emails") or []}
    if email and email in addresses:
        return True  # a guest from a party's address or its user's: read it (presented as unverified: guest_of)
    return names_party(case, text)


def read_back(case: dict[str, Any], ticket: int, reply: int, purpose: str, report: dict[str, Any]) -> Decision:
    """Plan the read of a reply WHMCS told of, and keep it as `reading` until it is read: the holder's silence is
    not concluded meanwhile (timers.unread_answers) nor the case approved (flow.approve)."""
    params = {"ticket_id": ticket, "reply_id": reply, "report": report}
    action = act(case, "read_reply", purpose, params, case["holder"].get("client"))
    case.setdefault("reading", []).append({"ticket": ticket, "reply": reply})
    return Decision(state=case, actions=[action], due_at=due(case), refs=case_refs(case))


def party_clients(case: dict[str, Any]) -> list[int]:
    """The parties' client accounts: the read of a message by a user of another account also asks WHMCS whether
    that user belongs to one of them (executor/kinds.py _run_read_reply, GetUsers)."""
    return [int(c) for c in (case["holder"].get("client"), case["requester"].get("client")) if c]


def known_reply(case: dict[str, Any], ticket: int, reply: int | str) -> bool:
    """The reply is already in the case, being read, or was read (and found not to answer it): the same message
    told again (a hook and a poll, a resync) is not read again, and waits for no read (its action key is the same,
    so no second read would come)."""
    seen = [*case.get("replies", []), *case.get("reading", []), *case.get("read", [])]
    number = message_id(reply)
    return any(as_int(r.get("ticket")) == ticket and message_id(r.get("reply")) == number for r in seen)


def unheard(case: dict[str, Any], ticket: int, reply: int | str) -> bool:
    """A party's message WHMCS has (read by an approval, whmcs_reads.unread_messages) that the case would read and
    has not: not in it, not being read, not read and found not to answer it. A new ticket the case would not take
    as new (ticket_opened: one it knows, or one older than its threads) is not waited for: no read would come."""
    if known_reply(case, ticket, reply):
        return False
    return bool(reply) or not (ticket in known_tickets(case) or ticket < min(threads(case), default=0))


def told(data: dict[str, Any]) -> dict[str, Any]:
    """What WHMCS told of the message when it came (a hook gives its words): kept with the read, so that a message
    gone from WHMCS before the read (deleted, merged) is still shown to staff with the words it had."""
    return {
        "userid": as_int(data.get("userid")),
        "email": str(data.get("requestor_email") or data.get("email") or ""),
        "name": str(data.get("requestor_name") or data.get("name") or ""),
        "subject": str(data.get("subject") or ""),
        "message": str(data.get("message") or ""),
    }


def known_tickets(case: dict[str, Any]) -> set[int]:
    """The tickets the case already knows apart from its threads: those its evidence came from (the request's
    own ticket, whose letter was attached) and those it read replies from. A ticket numbered below the case's
    threads was written before them (WHMCS numbers tickets in order): neither is a new ticket."""
    found = {as_int(e.get("ticket")) for e in case.get("evidence") or []}
    found |= {as_int(r.get("ticket")) for r in case.get("replies") or []}
    return {t for t in found if t}


def names_case(case: dict[str, Any], text: str) -> bool:
    """A new ticket is about the case when it names its id, or the domain name of one of its subjects."""
    text = plain(text)
    names = [plain(str(s.get("name") or "")) for s in case["subjects"] if s["kind"] != "client"]
    return plain(str(case["id"])) in text or any(n and n in text for n in names)


def plain(text: str) -> str:
    """Words compared as a reader sees them: any run of spaces, tabs or line breaks (a mail client wraps a name
    over two lines: thirteenth round H8) is one space, and case is ignored."""
    return " ".join(text.split()).casefold()


# A party's name shorter than this is not looked for in a guest's words (it would match too much).
NAME_MIN = 4


# A company's legal form, written before or after its name with or without dots ("PT.", "CV", "Tbk.", "S.A.R.L.",
# "B.V.", "GmbH"): a reader sees the same company with it or without it.
FORMS = frozenset("pt cv ud tbk persero sa sas sasu sarl eurl bv nv vof gmbh ag ltd llc inc corp co plc".split())


def name_words(text: str) -> str:
    """A name as a reader compares it: case ignored, any punctuation (a hyphen, a dot, a comma, an apostrophe) or
    run of spaces and line breaks one space, and letters spelled out with dots ("S.A.R.L.") one word."""
    out: list[str] = []
    letters = ""
    for word in [*re.sub(r"[\W_]+", " ", text.casefold()).split(), ""]:
        if len(word) == 1 and word.isalpha():
            letters += word
            continue
        out += [w for w in (letters, word) if w]
        letters = ""
    return " ".join(out)


def company_core(name: str) -> str:
    """A party's name without the legal form written before or after it ("PT Maju Makmur": "maju makmur")."""
    words = name_words(name).split()
    while words and words[0] in FORMS:
        words = words[1:]
    while words and words[-1] in FORMS:
        words = words[:-1]
    return " ".join(words)


def names_party(case: dict[str, Any], text: str) -> bool:
    """A guest's words name a party of the case: the holder's or the requester's company or owner name as WHMCS
    has them, compared whatever the spacing, punctuation or legal form (break round 14 H4: "CV Kreatif-Studio",
    "PT. Maju-Makmur"), its words joined too, as brands and domain labels are written (seventeenth round M2:
    "kreatifstudio", "PT MajuMakmur"). A guest has no account: its words are the only fact it gives, so they only
    bring the ticket to staff (to classify), never make it a party's answer (writer() still says `other`)."""
    joined = name_words(text).replace(" ", "")
    names = [company_core(str(case[p].get(k) or "")) for p in ("holder", "requester") for k in ("company", "name")]
    return any(len(n) >= NAME_MIN and n.replace(" ", "") in joined for n in names)


def party_account(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """WHMCS says the holder's or the requester's client account wrote it (any user of the account: writer() says
    which party, or `other` for a user who is not the account's owner), not staff."""
    userid = as_int(data.get("userid"))
    clients = {case["holder"].get("client"), case["requester"].get("client")}
    return bool(userid) and not data.get("admin") and userid in clients


def writer(case: dict[str, Any], data: dict[str, Any]) -> str | None:
    """Which party wrote the reply, by its client id (its owner writing in its account), or for a guest from the
    requester's address, the requester (what it says only pauses the case); `other` for anyone else who is not
    staff (a guest, another client, a party's person writing from another account: account_user, a guest from
    the holder's address, which WHMCS does not verify: guest_of); None for a staff (admin) reply."""
    if data.get("admin"):
        return None
    userid = as_int(data.get("userid"))
    if requester_person(case, data) or invited_user(case, data):
        return "other"
    for party in ("holder", "requester"):
        if userid and case[party].get("client") == userid:
            return party
    return "requester" if guest_of(case, data) == "requester" else "other"


def guest_of(case: dict[str, Any], data: dict[str, Any]) -> str:
    """The party whose address a guest (no client account: client 0) wrote from, "" for none. WHMCS takes a
    guest's address from the mail's From: line (email piping) or the form, and verifies neither: a guest from the
    holder's address is never the holder's account writing, nor its answer until staff name it (thirteenth
    round H6)."""
    email = str(data.get("email") or "").strip().casefold()
    if as_int(data.get("userid")) or data.get("admin") or not email:
        return ""
    return next((p for p in ("holder", "requester") if str(case[p].get("email") or "").strip().casefold() == email), "")


def account_user(case: dict[str, Any], data: dict[str, Any]) -> tuple[str, bool]:
    """The party whose account the writer of a message filed under another client account is a user of, and
    whether it is that account's owner (GetUsers, read with the message: executor/kinds.py `user_of`); ("", False)
    for none. A party's person is often a user of other accounts (a vendor of its customers'): what it writes
    there reaches the case, said to be written from that account (thirteenth round H2). For a guest, the party one
    of whose users WHMCS has with the guest's address: never that user's login, since WHMCS does not verify a
    guest's address (the staff ticket says so; fourteenth round HIGH 3's variant)."""
    links = data.get("user_of") or {}
    for party in ("holder", "requester"):
        client = case[party].get("client")
        if client and str(client) in links and as_int(data.get("userid")) != client:
            return party, bool(links[str(client)])
    return "", False


def staff_in_thread(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """Staff (an admin reply: the bridge's own never reach the case, engine.own_write) wrote in one of the case's
    threads while the holder's answer still decides it: it may report an answer ("as discussed on the phone, you
    object"), so it is attached for staff to classify, never dropped (thirteenth round H3)."""
    ticket = as_int(data.get("ticket"))
    inside = ticket in threads(case) and not data.get("opened") and not data.get("named")
    return bool(data.get("admin")) and inside and case.get("status") in STAFF_HEARD


def requester_person(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """The requester's own person (WHMCS names the requester's address as the writer) writing inside the holder's
    account, where WHMCS gives the holder's client id: never the holder's answer (issue 17, tenth round M1)."""
    email = str(data.get("email") or "").strip().casefold()
    own = str(case["requester"].get("email") or "").strip().casefold()
    holder = str(case["holder"].get("email") or "").strip().casefold()
    return bool(email) and email == own and email != holder and as_int(data.get("userid")) == case["holder"].get("client")


def invited_user(case: dict[str, Any], data: dict[str, Any]) -> bool:
    """A user invited on the holder's account, not its owner (GetUsers `isOwner`, read with the reply), wrote it:
    for staff to judge whom it speaks for, named, never the holder's word by default (eleventh round M5)."""
    holder = case["holder"].get("client")
    return bool(holder) and as_int(data.get("userid")) == holder and data.get("account_owner") is False


def written_by(data: dict[str, Any]) -> str:
    """Who WHMCS says wrote a reply: its name and address, or its client id; staff by their admin name."""
    if data.get("admin"):
        return f"{str(data.get('admin_name') or data.get('name') or '').strip() or 'a member of staff'} (staff)"
    name, email = str(data.get("name") or "").strip(), str(data.get("email") or "").strip()
    userid = as_int(data.get("userid"))
    who = f"{name} <{email}>" if name and email else (email or name)
    if userid:
        who = f"{who} (client #{userid})" if who else f"client #{userid}"
    return who or "unknown"


# Replies that stop a case until staff classify them: the holder's, and those of someone who is neither party
# (the holder may write from another address or as a guest: what it says is for staff to judge).
FLAGGING = ("holder", "other")
# Where the requester's reply or new ticket pauses the case (it may withdraw or change the request) until staff
# record whether it still wants it: the holder is not asked and nothing is approved meanwhile (case.requester_wrote).
PAUSED_BY_REQUESTER = ("collecting", "notified", "disputed", "review")


def reply_read(case: dict[str, Any], data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The reply as WHMCS has it: any reply not by staff is attached to the case; the holder's, or one by
    someone who is neither party, while the holder's answer still decides the case, sends the case to staff
    review flagged until staff classify it; while the case is disputed, staff are told (it may withdraw the
    objection, which only they can record). A reply WHMCS told of but no longer has (deleted, merged before the
    read) is attached with the words it was told with, said to be gone: never dropped."""
    ticket, number = as_int(data.get("ticket")), message_id(data.get("reply"))
    case["reading"] = [r for r in case.get("reading", []) if (r["ticket"], message_id(r["reply"])) != (ticket, number)]
    if not known_reply(case, ticket or 0, number or 0):
        case.setdefault("read", []).append({"ticket": ticket, "reply": number})
    facts = data if data.get("found") else {**data, **(data.get("told") or {}), "gone": True}
    if not data.get("found") and not data.get("told"):
        return unchanged(case)  # an older bridge's read, without what it was told: nothing to show
    party = "other" if staff_in_thread(case, facts) else writer(case, facts)
    if (data.get("opened") or data.get("named")) and not opened_answer(case, facts, party):
        return unchanged(case)
    if party is None or any(r["ticket"] == ticket and message_id(r["reply"]) == number for r in case.get("replies", [])):
        return unchanged(case)
    reply = attach(case, facts, party, now)
    return flag_reply(case, facts, reply, now, rules)


def attach(case: dict[str, Any], data: dict[str, Any], party: str, now: datetime) -> dict[str, Any]:
    """The reply kept in the case, to classify, and said in its timeline."""
    reply = {
        "party": party,
        "writer": written_by(data),
        "ticket": as_int(data.get("ticket")),
        "reply": message_id(data.get("reply")),
        "date": data.get("date"),
        "seen": iso(now),
        "message": str(data.get("message") or ""),
        "classified": None,
    }
    if data.get("gone"):
        reply["gone"] = True
    if data.get("admin"):
        reply["staff"] = True
    if data.get("attachments"):  # its files, for staff to take as evidence (`show` names them)
        reply["attachments"] = [
            {"index": as_int(a.get("index")) or 0, "name": str(a.get("name") or "")} for a in data["attachments"]
        ]
    # Whose person WHMCS says wrote it, for one that is neither party's account writing (a party's user writing
    # from another account, the requester's own address inside the holder's account): staff record it for that
    # party (flow.approve names it; break round 14 H7).
    side = account_user(case, data)[0] or ("requester" if requester_person(case, data) else "")
    if party == "other" and side:
        reply["side"] = side
    case.setdefault("replies", []).append(reply)
    who = party if party != "other" else reply["writer"]
    if data.get("note"):
        step(case, now, f"{who} wrote a note", party, f"{msg_ref(reply)}: to classify")
        return reply
    gone = ": gone from WHMCS before the bridge read it (its words as WHMCS told them)" if data.get("gone") else ""
    step(case, now, f"{who} replied", party, f"{msg_ref(reply)}: to classify{gone}")
    return reply


def flag_reply(
    case: dict[str, Any], data: dict[str, Any], reply: dict[str, Any], now: datetime, rules: Rules
) -> Decision:
    """What an attached reply does to the case: staff hear of it, and it stops the case until they classify it."""
    party = reply["party"]
    purpose = f"reply-{reply['ticket']}-{reply['reply']}"
    where = {"opened": int(bool(data.get("opened"))), "named": int(bool(data.get("named")))}
    about = {"ticket": reply["ticket"], "reply": reply["reply"], "writer": reply["writer"]}
    command = classify_command(case["id"], reply)  # the one `show` gives (twenty-first round L5)
    written = reply["date"] or reply["seen"]
    gone = gone_notice(case, data, reply, rules)
    if case["status"] == "executing":  # the steps not sent yet wait for staff to classify it (execution.writes_wait)
        held = steps_held(case, now, reply)
        flagged = gone or staff_ticket(
            case, rules, purpose, "ownership.staff_reply_executing", **about, party=party, written=written, **where,
            held_steps=held,
        )  # fmt: skip
        return Decision(state=case, actions=[flagged], due_at=due(case), refs=case_refs(case))
    if case["status"] in FINAL:  # over, but a wrong hand-over can still be put back during its lock
        return reply_after_end(case, rules, purpose, {**about, "party": party, "written": written})
    if party == "requester" and case["status"] in PAUSED_BY_REQUESTER:
        flagged = gone or staff_ticket(
            case, rules, purpose, "ownership.staff_requester_wrote", **about, written=written, **where, command=command
        )
        return Decision(state=case, actions=[flagged], due_at=due(case), refs=case_refs(case))
    if party not in FLAGGING or case["status"] not in (*ANSWERABLE, "disputed", "collecting"):
        return Decision(state=case, actions=[gone] if gone else [], due_at=due(case), refs=case_refs(case))
    disputed = int(case["status"] == "disputed")
    if party == "holder":
        message_id = "ownership.staff_new_ticket" if data.get("opened") else "ownership.staff_reply"
        flagged = gone or staff_ticket(
            case, rules, purpose, message_id, ticket=reply["ticket"], named=where["named"], disputed=disputed,
            command=command,
        )  # fmt: skip
        why = f"the holder {written_where(data, reply['ticket'])}: staff classify the reply"
    elif data.get("note"):
        flagged = staff_ticket(
            case, rules, purpose, "ownership.staff_note", ticket=reply["ticket"], note_id=int(str(reply["reply"])[1:]),
            writer=reply["writer"], written=written, command=command,
        )  # fmt: skip
        why = f"{reply['writer']} added a note to the case's ticket thread: staff record the answer it reports, or classify it"
    elif reply.get("staff"):
        flagged = gone or staff_ticket(case, rules, purpose, "ownership.staff_reply_staff", **about, written=written, command=command)
        why = f"{reply['writer']} wrote in the case's ticket thread: staff record the answer it reports, or classify it"
    else:
        user_of, owner = account_user(case, data)
        flagged = gone or staff_ticket(
            case,
            rules,
            purpose,
            "ownership.staff_reply_other",
            **about,
            written=written,
            disputed=disputed,
            requester_person=int(requester_person(case, data)),
            invited=int(invited_user(case, data)),
            guest_of=guest_of(case, data),
            user_of=user_of,
            user_owner=int(owner),
            account=as_int(data.get("userid")) or 0,
            **where,
            command=command,
        )
        why = f"{reply['writer']} {written_where(data, reply['ticket'])}: staff classify it"
    # Disputed, the case stays frozen: only staff turn an objection into consent (confirm_withdrawal). Collecting,
    # it goes on; staff hear the reply now, and the window's end waits for it (timers.window_ended, twelfth round M1).
    if disputed or case["status"] == "collecting":
        return Decision(state=case, actions=[flagged], due_at=due(case), refs=case_refs(case))
    case["approvals"] = []
    if case["status"] == "notified":  # the holder's window was still open: `unrelated` puts the case back in it
        case["review_from_window"] = case["deadline"]
    out = to_review(case, now, rules, "reply", why, reply)
    return dataclasses.replace(out, state=case, actions=[*out.actions, flagged])  # its milestones kept


def gone_notice(case: dict[str, Any], data: dict[str, Any], reply: dict[str, Any], rules: Rules) -> Action | None:
    """Staff's ticket of a message gone from WHMCS before the bridge read it (with the words WHMCS told of it), or of
    a whole thread gone (thread_gone: what was written there is unknown); None for a message read."""
    about = {"ticket": reply["ticket"], "party": reply["party"], "status": case["status"]}
    if data.get("thread_gone"):
        return staff_ticket(
            case, rules, f"thread-gone-{reply['ticket']}", "ownership.staff_thread_gone", **about,
            last_reply=as_int(data.get("last_reply")) or 0, command=classify_command(case["id"], reply),
        )  # fmt: skip
    if not data.get("gone"):
        return None
    return staff_ticket(
        case, rules, f"reply-{reply['ticket']}-{reply['reply']}", "ownership.staff_reply_gone", **about,
        reply=reply["reply"], writer=reply["writer"], words=reply["message"], opened=int(bool(data.get("opened"))),
    )  # fmt: skip


def steps_held(case: dict[str, Any], now: datetime, reply: dict[str, Any]) -> int:
    """A reply read while the case executes holds its steps in WHMCS not sent yet until staff classify it (the
    executor's `quiet` guard: it may be an objection, break round 13 H7); said in the timeline. How many wait."""
    waiting = [step_words(e) for e in case.get("steps", {}).values() if e["status"] == "planned"]
    if waiting:
        step(
            case, now, "steps held", "bridge",
            f"{', '.join(waiting)} wait until staff classify {msg_ref(reply)} "
            f"({classify_command(case['id'], reply)}): an "
            "objection stops them",
        )  # fmt: skip
    return len(waiting)


def reply_after_end(case: dict[str, Any], rules: Rules, purpose: str, about: dict[str, Any]) -> Decision:
    """A reply in the thread of a case that is over (completed, rejected, cancelled) changes nothing in the case;
    staff get one ticket for each such reply, since it may object to a hand-over they can still put back
    while its lock lasts (issue 17, twelfth round M3)."""
    lock = case.get("lock_until") if case["status"] == "completed" and not case.get("lock_ended") else None
    flagged = staff_ticket(
        case, rules, purpose, "ownership.staff_reply_closed", **about, status=case["status"], lock_until=lock
    )
    return Decision(state=case, actions=[flagged], due_at=due(case), refs=case_refs(case))


def written_where(data: dict[str, Any], ticket: Any) -> str:
    """Where a reply was written, for the timeline."""
    if data.get("thread_gone"):
        return f"may have written in ticket #{ticket}, the case's thread, gone from WHMCS before the bridge read it"
    gone = " (gone from WHMCS since)" if data.get("gone") else ""
    if data.get("opened"):
        return f"wrote in a new ticket{gone}"
    if data.get("named"):
        names = ", which names the case" if data.get("names") else ""
        return f"replied in ticket #{ticket}{names}{gone}"
    return f"replied in the case's ticket thread{gone}"


def opened_answer(case: dict[str, Any], data: dict[str, Any], party: str | None) -> bool:
    """A new ticket, or a reply in a ticket that is not the case's thread, is attached like a reply in the thread
    when WHMCS says a party's client account wrote it, whatever its words (an objection need not spell the domain
    or the case id: eleventh round H1, twelfth round H4, H7); staff say when it is about something else
    (`unrelated`). Anyone else's (the holder writing as a guest from another address) is attached when its words
    name the case, or, for a guest, one of the parties (twelfth round H6). A reply by staff never is."""
    if party is None:
        return False
    if party in ("holder", "requester") or party_account(case, data) or guest_of(case, data):
        return True
    if account_user(case, data)[0]:
        return True  # a party's person, writing from another account it is a user of (thirteenth round H2)
    text = f"{data.get('subject') or ''} {data.get('message') or ''}"
    guest = not as_int(data.get("userid"))
    return names_case(case, text) or (guest and names_party(case, text))
