"""The ownership family's messages (pure): what the requester and the holder of a case are told, the
questions of their one-time links, staff's tickets and notes.

Every message names the case the same way (`policies.case_fields`): `case` is its reference (the parties
may quote it), `subjects` what is claimed, `holder` the client holding it, `requester` the client asking
or, for a company that is not a client, nothing and its name in `requester_name` (templates write
`{{ requester or requester_name }}`).

The requester may be outside WHMCS: it has no account to email, so what it is told goes in a ticket
thread instead. Each message to the requester therefore comes twice: an email and its `_ticket` twin
(plain text), with the same fields. Codes the templates word themselves: `grounds` (vendor, ex-employee,
brand, dissolved, deceased, court-order), evidence kinds in `needed`, `checking` and `document`
(letterhead-letter, registry-extract, ...; `needed` lists them separated by spaces, each with `:DAYS`
when the document may be no older than that), `outcome` and `why` (listed with their messages).
"""

from __future__ import annotations

from whmcs_bridge.families.ownership.page_messages import PAGES
from whmcs_bridge.messages.spec import FieldType, MessageSpec, define

CASE: dict[str, FieldType] = {
    "case": "text",
    "subjects": "subjects",
    "holder": "client",
    "requester": "client",
    "requester_name": "text",
}
SAMPLES: dict[str, object] = {
    "case": "o3f9a2c1",
    "subjects": ["domain:1", "service:1"],
    "holder": 1,
    "requester": 2,
    "requester_name": "",
    "grounds": "vendor",
    "deadline": "2026-12-09",
    "lock_until": "2027-01-24",
    "needed": "letterhead-letter registry-extract:90",
    "checking": "signatory-id",
    "document": "registry-extract",
    "item": 2,
    "reason": "The invoices for the site are unpaid",
    "note": "The documents do not show who may sign for the company",
    "outcome": "rejected",
    "why": "consented",
    "consent_subjects": ["service:1"],
    "notice_subjects": ["domain:1"],
    "confirm": 1,
    "approvals": 2,
    "approved_by": "alice, bob",
    "lock_days": 60,
    "moving": ["domain:1", "service:1"],
    "backup_only": [],
    "staying": [],
    "move_services": ["service:1"],
    "move_domains": ["domain:1"],
    "move_clients": [],
    "account_items": ["service:1", "domain:1"],
    "lock_by_hand": ["domain:1"],
    "refused": ["domain:1"],
    "services_moving": 1,
    "domains_moving": 1,
    "commission": 1,
    "extra": "Agree with the vendor which of its own files stay out of the hand-over",
    "step": "registrant_update",
    "parked": ["domain:1"],
    "parked_ref": "domain:1",
    "whmcs_message": "Registrar Error: the contact could not be updated",
    "left": ["domain:1"],
    "subject_ref": "domain:1",
    "whmcs_status": "Transferred Away",
    "moved_to": 3,
    "ticket": 42,
    "status": "disputed",
    "role": "holder",
    "frozen": "disputed",
    "held": ["domain:1", "service:1"],
    "held_account": 1,
    "moved": ["domain:1"],
    "backup": ["service:1"],
    "kept": [],
    "late": "deadline",
    "event": 17,
    "what": "link",
}
EVIDENCE: dict[str, FieldType] = {"needed": "text", "checking": "text"}
HAND_OVER: dict[str, FieldType] = {
    "moving": "subjects",
    "backup_only": "subjects",
    "staying": "subjects",
    "services_moving": "number",
    "domains_moving": "number",
    "lock_days": "number",
}
CHECKLIST: dict[str, FieldType] = {
    **HAND_OVER,
    "move_services": "subjects",
    "move_domains": "subjects",
    "move_clients": "subjects",
    "account_items": "subjects",
    "lock_by_hand": "subjects",
    "commission": "number",
    "extra": "text",
}


def _spec(message_id: str, channel: str, audience: str, fields: dict[str, FieldType], about: str) -> MessageSpec:
    return MessageSpec(message_id, channel, audience, {**CASE, **fields}, about, SAMPLES)  # type: ignore[arg-type]


def _to_requester(message_id: str, fields: dict[str, FieldType], about: str) -> tuple[MessageSpec, MessageSpec]:
    """The email to a requester that is a client, and its ticket twin for one that is not."""
    return (
        _spec(message_id, "email", "client", fields, about),
        _spec(f"{message_id}_ticket", "ticket", "client", fields, about + " (A requester outside WHMCS: its ticket.)"),
    )


MESSAGES = define(
    # --- to the requester (an email, or its ticket twin) ---------------------------------------------
    *_to_requester(
        "ownership.request_received",
        {**EVIDENCE, "confirm": "number", "consent_link": "url"},
        "To the requester: its request is opened; what documents are still needed, and (confirm = 1) a link "
        "to confirm it made the request.",
    ),
    *_to_requester(
        "ownership.documents_complete",
        {"deadline": "date"},
        "To the requester: its documents are complete and the holder was asked to answer by the deadline.",
    ),
    *_to_requester(
        "ownership.evidence_rejected",
        {**EVIDENCE, "document": "text", "item": "number", "note": "text"},
        "To the requester: a document it sent (item, of kind `document`) was not accepted, why, and what is "
        "still needed.",
    ),
    *_to_requester(
        "ownership.holder_objected",
        {"reason": "text"},
        "To the requester: the holder objected (its reason); nothing changes until they settle it.",
    ),
    *_to_requester(
        "ownership.approved",
        HAND_OVER,
        "To either party: staff approved the change; what moves, what stays, and the lock that follows.",
    ),
    *_to_requester(
        "ownership.completed",
        {"lock_until": "date", "moved": "subjects", "backup": "subjects", "kept": "subjects", "account_items": "subjects"},
        "To either party: the case is complete, each subject as it ended: `moved` now the requester's, `backup` "
        "kept by the holder with a backup handed over, `kept` kept by the holder; no other change of holder of what "
        "moved until the lock ends. account_items: what a whole account that changed hands held when it did.",
    ),
    *_to_requester(
        "ownership.closed",
        {"outcome": "text", "note": "text"},
        "To either party: the case ended without a change. outcome: rejected (by staff), cancelled (by "
        "staff), declined (the requester's link was declined) or withdrawn (the request was withdrawn).",
    ),
    # --- to the holder (always a client) ----------------------------------------------------------------
    _spec(
        "ownership.holder_asked",
        "email",
        "client",
        {
            "grounds": "text",
            "deadline": "date",
            "consent_subjects": "subjects",
            "notice_subjects": "subjects",
            "account_items": "subjects",
            "consent_link": "url",
        },
        "To the holder: the requester asks for its subjects; consent or object through the link by the "
        "deadline. consent_subjects do not move without its consent; notice_subjects may move after review "
        "unless it objects.",
    ),
    _spec(
        "ownership.holder_reminded",
        "email",
        "client",
        {"deadline": "date", "consent_link": "url"},
        "To the holder: a reminder before the deadline, with a fresh link.",
    ),
    _spec(
        "ownership.objection_recorded",
        "email",
        "client",
        {"reason": "text"},
        "To the holder: its objection is recorded; nothing changes while it stands.",
    ),
    _spec(
        "ownership.thread",
        "ticket",
        "client",
        {},
        "To a party that is a client: the ticket thread of its case, opened with its first email.",
    ),
    # --- the questions of the one-time links (shown on the consent page) --------------------------------
    _spec(
        "ownership.confirm_question",
        "text",
        "client",
        {},
        "The requester's consent page: confirm that it made the request.",
    ),
    _spec(
        "ownership.consent_question",
        "text",
        "client",
        {},
        "The holder's consent page: does it consent to the change, or object?",
    ),
    # --- to staff ---------------------------------------------------------------------------------------
    _spec(
        "ownership.staff_disputed",
        "ticket",
        "staff",
        {"reason": "text"},
        "Staff ticket: the holder objected; the case is frozen until resolved.",
    ),
    _spec(
        "ownership.staff_review",
        "ticket",
        "staff",
        {
            "why": "text",
            "moving": "subjects",
            "backup_only": "subjects",
            "staying": "subjects",
            "account_items": "subjects",
            "approvals": "number",
            "party": "text",
            "writer": "text",
            "ticket": "number",
            "note_id": "number",
            "gone": "number",
            "command": "text",
            "mail_domain": "text",
            "holder_email": "text",
            "requester_email": "text",
            "one_ip": "text",
            "one_agent": "text",
        },
        "Staff ticket: review the case. why: consented, window-consent (the window ended, consent was required), "
        "window-notice (the window ended without objection), court-order, objection-withdrawn, reply (a message in "
        "the case's threads to classify: party holder or other, writer, ticket, note_id (a staff note's id, 0 for a "
        "reply), gone = 1: the case's thread with the party is gone from WHMCS, command: the record-answer command "
        "naming it), window-reply (the window ended while a reply of the holder, written before it was asked or "
        "since, waits to be classified) or documents (the policy asks the holder nothing). mail_domain: the mail "
        "domain of both the holder's address (holder_email) and the requester's (requester_email), empty if they "
        "differ; one_ip: the IP address both parties answered their links from, one_agent: their browser "
        "(User-Agent) if it is one too; each empty otherwise.",
    ),
    _spec(
        "ownership.staff_checklist",
        "ticket",
        "staff",
        {**CHECKLIST, "approved_by": "text"},
        "Staff ticket: the approved case's side effects and what staff must do in WHMCS's admin area.",
    ),
    _spec(
        "ownership.staff_checklist_reminder",
        "ticket",
        "staff",
        CHECKLIST,
        "Staff ticket: the move in WHMCS is still not done.",
    ),
    _spec(
        "ownership.staff_account_grown",
        "ticket",
        "staff",
        {"added": "subjects"},
        "Staff ticket: a whole account the case hands over holds services or domains added after the approval; the "
        "case does not complete until they are moved out of it, or it is cancelled.",
    ),
    _spec(
        "ownership.staff_holder_link_held",
        "ticket",
        "staff",
        {"users": "text", "owner": "number"},
        "Staff ticket: the holder's link consented, but an address (users) is a user of both parties' accounts (the "
        "requester's person invited on the holder's account, or the holder's on the requester's): one person reads "
        "both links; or (users empty) WHMCS gave the holder's account another owner user (owner: its id) since the "
        "case opened, who reads the account's email history; it counts once staff confirm it with the holder "
        "(record-answer).",
    ),
    _spec(
        "ownership.staff_moved_elsewhere",
        "ticket",
        "staff",
        {"moving": "subjects", "moved_to": "client"},
        "Staff ticket: staff moved subjects to a client other than the requester; nothing was sent to it and the "
        "case stays open until they belong to the requester.",
    ),
    _spec(
        "ownership.staff_answer_parked",
        "ticket",
        "staff",
        {"event": "number", "what": "text", "party": "text", "ticket": "number", "written": "date"},
        "Staff ticket: the holder's window has ended while an event that may answer the case is parked (what: link, "
        "a party's answer through its link; record, an answer staff recorded; reply, a message in the holder's "
        "ticket; writer, a new ticket or a reply in another ticket by the holder's account); the window's end waits for it; staff retry it (events retry) once its cause is fixed.",
    ),
    _spec(
        "ownership.staff_step_parked",
        "ticket",
        "staff",
        {"step": "text", "parked": "subjects", "parked_ref": "text", "whmcs_message": "text"},
        "Staff ticket: an execution step the bridge runs (the registrant update, the transfer lock, the new "
        "password) failed and is parked; WHMCS's message, and how to let it run again or do it by hand.",
    ),
    _spec(
        "ownership.staff_lock_refused",
        "ticket",
        "staff",
        {"refused": "subjects", "whmcs_message": "text"},
        "Staff ticket: the registrar module refused the transfer lock of a moved domain (WHMCS's message); set it "
        "by hand in WHMCS's admin area, or accept it where the registry has no transfer lock; the case completes.",
    ),
    _spec(
        "ownership.staff_subject_gone",
        "ticket",
        "staff",
        {"left": "subjects", "subject_ref": "text", "whmcs_status": "text", "requester_closed": "number"},
        "Staff ticket: a subject of an executing case left WHMCS after the approval (whmcs_status, WHMCS's own "
        "word: Transferred Away, Cancelled, Terminated...; empty when WHMCS no longer has it at all), or the "
        "requester's account is Closed (requester_closed = 1); the bridge did not write to it; cancel the case, or "
        "record the step by hand if it comes back.",
    ),
    _spec(
        "ownership.staff_moved_not_to_requester",
        "ticket",
        "staff",
        {
            "moving": "subjects", "moved_to": "client", "moved_to_email": "text", "requester_email": "text",
            "holder_login": "text",
        },
        "Staff ticket: staff moved an outside requester's subjects to a client whose WHMCS email is not the "
        "requester's, or (holder_login) one of whose users is a login of the holder's account; nothing was sent to "
        "that client and the case waits.",
    ),
    _spec(
        "ownership.staff_objection_executing",
        "ticket",
        "staff",
        {
            "reason": "text",
            "moving": "subjects",
            "domains_moving": "number",
            "services_moving": "number",
            "moved": "subjects",
            "waiting": "subjects",
            "moved_services": "number",
            "registrant_changed": "subjects",
            "locked": "subjects",
            "stopped": "number",
        },
        "Staff ticket: the holder's objection was recorded after approval: the execution stopped, the case is "
        "disputed; do not move what is left (waiting); what already moved (moved, of which moved_services "
        "hostings with a new password) and how to undo it; the domains whose registrant the bridge already changed "
        "(registrant_changed) or locked (locked), and how many of its steps in WHMCS were stopped unsent (stopped).",
    ),
    _spec(
        "ownership.staff_closed_steps_ran",
        "ticket",
        "staff",
        {"registrant_changed": "subjects", "locked": "subjects"},
        "Staff ticket: the case ended without a change of holder (cancelled, rejected, withdrawn) after the bridge had "
        "already changed the registrant of some domains to the requester (registrant_changed) or turned their "
        "transfer lock on (locked): these stay in WHMCS, for staff to put back.",
    ),
    _spec(
        "ownership.staff_reply_executing",
        "ticket",
        "staff",
        {
            "ticket": "number",
            "reply": "number",
            "writer": "text",
            "party": "text",
            "written": "date",
            "named": "number",
            "held_steps": "number",
        },
        "Staff ticket: someone (party: holder, requester or other) replied in the case's ticket thread, or in another "
        "ticket in words naming the case (named = 1), while the case executes; staff read it before moving anything, "
        "and record an objection if it is one. held_steps: how many of the bridge's own steps in WHMCS not sent yet (the "
        "registrant update, the transfer lock) wait until staff classify the reply.",
    ),
    _spec(
        "ownership.staff_requester_objected_executing",
        "ticket",
        "staff",
        {"via": "text", "recorded_by": "text", "note": "text", "moved": "subjects", "waiting": "subjects"},
        "Staff ticket: the requester's objection (it denies or withdraws the request) was recorded while the case "
        "executes; the case holds (no new access, no completion) until staff record the requester's consent or "
        "cancel the case once nothing sits with the requester.",
    ),
    _spec(
        "ownership.staff_late_answer",
        "ticket",
        "staff",
        {
            "party": "text",
            "answer": "text",
            "via": "text",
            "recorded_by": "text",
            "status": "text",
            "note": "text",
            "link": "number",
            "late": "text",
        },
        "Staff ticket: an answer (party: holder or requester; answer: consent or object) was recorded once the case "
        "was over (status: completed, rejected or cancelled): it is kept and changes nothing in the case; staff "
        "decide whether anything must be done outside it. link = 1: the party answered through its one-time link "
        "(note: the reason it gave) just before the case closed (late: closed), after the deadline it was told "
        "(late: deadline; the case is under review or executing), or while its objection stands (late: disputed); "
        "else staff recorded it (recorded_by, via).",
    ),
    _spec(
        "ownership.staff_reply_closed",
        "ticket",
        "staff",
        {
            "ticket": "number",
            "reply": "number",
            "writer": "text",
            "party": "text",
            "written": "date",
            "status": "text",
            "lock_until": "date",
        },
        "Staff ticket: someone (party: holder, requester or other) replied in the thread of a case that is over "
        "(status: completed, rejected or cancelled; lock_until: while a completed case's lock lasts); nothing "
        "changes in the case: staff read it (an objection to a hand-over they can still put back) and record it.",
    ),
    _spec(
        "ownership.staff_reply",
        "ticket",
        "staff",
        {"ticket": "number", "named": "number", "disputed": "number", "command": "text"},
        "Staff ticket: the holder replied in its case thread (ticket), or in another ticket in words naming the case "
        "(named = 1), while its answer decides the case; staff record what it answers before the case can be "
        "approved. disputed = 1: the case is disputed (the reply may withdraw the objection: staff record it).",
    ),
    _spec(
        "ownership.staff_new_ticket",
        "ticket",
        "staff",
        {"ticket": "number", "disputed": "number", "command": "text"},
        "Staff ticket: the holder's account opened a new ticket (not the case's thread), whatever its words, "
        "while its answer decides the case; staff record what it answers before the case can be approved. "
        "disputed = 1: the case is disputed (the ticket may withdraw the objection: staff record it).",
    ),
    _spec(
        "ownership.staff_reply_other",
        "ticket",
        "staff",
        {
            "ticket": "number",
            "reply": "number",
            "writer": "text",
            "written": "date",
            "opened": "number",
            "named": "number",
            "disputed": "number",
            "requester_person": "number",
            "invited": "number",
            "guest_of": "text",
            "user_of": "text",
            "user_owner": "number",
            "account": "number",
            "command": "text",
        },
        "Staff ticket: someone who is neither party (a guest, another address, another client; invited = 1: a user "
        "invited on the holder's account who is not its owner; guest_of = holder: a guest, without an account, "
        "from the holder's address, which WHMCS does not verify; user_of = holder or requester: a user of that "
        "party's account, its owner if user_owner = 1, writing from the account of client `account`, or, account = "
        "0, a guest from the address WHMCS has for that user, which it does not verify) replied in "
        "the case's ticket thread, opened a ticket naming the case (opened = 1), or replied in another ticket in "
        "words naming it (named = 1), while the holder's answer decides the case (disputed = 1: while it is "
        "disputed); staff classify the reply before the case can be approved or its window end as no objection.",
    ),
    _spec(
        "ownership.staff_reply_staff",
        "ticket",
        "staff",
        {"ticket": "number", "reply": "number", "writer": "text", "written": "date", "command": "text"},
        "Staff ticket: a member of staff (writer, an admin reply that is not the bridge's own) replied in a case's "
        "ticket thread while the holder's answer decides the case: it may report an answer nobody recorded (a "
        "phone call); staff record that answer naming the reply, or classify it unrelated, before the case can be "
        "approved or its window end as no objection.",
    ),
    _spec(
        "ownership.staff_note",
        "ticket",
        "staff",
        {"ticket": "number", "note_id": "number", "writer": "text", "written": "date", "command": "text"},
        "Staff ticket: a member of staff (writer) added a note (note_id: its id, apart from the replies' ids) to a case's "
        "ticket thread while the holder's answer decides the case: a note may report an answer nobody recorded (a "
        "phone call); staff record that answer naming the note (--reply TICKET:nNOTE), or classify it unrelated, "
        "before the case can be approved or its window end as no objection.",
    ),
    _spec(
        "ownership.staff_requester_wrote",
        "ticket",
        "staff",
        {
            "ticket": "number",
            "reply": "number",
            "writer": "text",
            "written": "date",
            "opened": "number",
            "named": "number",
            "command": "text",
        },
        "Staff ticket: the requester replied in the case's thread (its request ticket too), opened a ticket naming "
        "the case (opened = 1), or replied in another ticket in words naming it (named = 1), before the case "
        "executes; it is paused until staff record whether the requester still wants it.",
    ),
    _spec(
        "ownership.staff_reply_gone",
        "ticket",
        "staff",
        {
            "ticket": "number",
            "reply": "number",
            "writer": "text",
            "party": "text",
            "words": "text",
            "opened": "number",
            "status": "text",
        },
        "Staff ticket: WHMCS told of a message (opened = 1: a new ticket; else a reply) by a party (party: holder, "
        "requester or other) while the case is open, gone from WHMCS (deleted, merged) before the bridge read it "
        "back: its words as WHMCS told them (the hook), attached to the case to classify.",
    ),
    _spec(
        "ownership.staff_thread_gone",
        "ticket",
        "staff",
        {"ticket": "number", "party": "text", "status": "text", "last_reply": "number", "command": "text"},
        "Staff ticket: the case's ticket thread with a party (party: holder or requester) is gone from WHMCS "
        "(GetTicket: not found; staff deleted it) while the case is open: what was written there after the last reply "
        "the bridge read (last_reply, 0: none) is unknown; attached to the case to classify (command).",
    ),
    _spec(
        "ownership.client_note",
        "text",
        "staff",
        {"status": "text", "role": "text", "lock_until": "date", "held": "subjects", "held_account": "client"},
        "Client note on each party's account: the case and its status (opened, disputed, approved, rejected, "
        "cancelled, completed); role: holder or requester (the account the note is on); held: exactly what the "
        "case freezes (disputed) or locks (completed), held_account: the holder's account frozen as a whole.",
    ),
    _spec(
        "ownership.staff_moved_while_frozen",
        "ticket",
        "staff",
        {"moving": "subjects", "moved_to": "client", "frozen": "text", "left_account": "number"},
        "Staff ticket: subjects of a case not approved yet (frozen = open), disputed (frozen = disputed) or locked "
        "(frozen = locked) changed holder in WHMCS; left_account = 1: they left the whole account the case claims "
        "(no approval counts until they are back).",
    ),
    _spec(
        "ownership.staff_account_changed",
        "ticket",
        "staff",
        {"added": "subjects", "frozen": "text"},
        "Staff ticket: the whole account a case not approved yet (frozen = open) or disputed claims holds services or "
        "domains it did not hold when its holder was asked (added): no approval counts until they are moved out.",
    ),
    _spec(
        "ownership.staff_account_owner_changed",
        "ticket",
        "staff",
        {"user": "text", "was": "text", "frozen": "text", "lock_until": "date"},
        "Staff ticket: the holder's account, which holds the subjects of a case not approved yet (frozen = open), "
        "disputed (frozen = disputed) or being executed (frozen = executing), or the new holder's account while what "
        "changed hands is locked until lock_until (frozen = locked), has another owner user in WHMCS (user; was: the "
        "owner when the case opened).",
    ),
    _spec(
        "ownership.draft_note",
        "text",
        "staff",
        {"guest_name": "text", "guest_email": "text"},
        "Ticket note for staff: the ticket asks for what another client holds; a draft case waits. guest_name, "
        "guest_email: who wrote it, as given, when no WHMCS client did (staff then name the requester as they confirm "
        "it: --requester); empty otherwise.",
    ),
)
MESSAGES.update(PAGES)  # the consent pages once an answer no longer decides (page_messages.py)
