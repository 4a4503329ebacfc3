"""The ownership rules' building blocks (pure): policies and what a case requires, the case's
actions and history, the messages to the parties and staff (ids and facts: the catalogue words them)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.families.ownership.config import OwnershipPolicy, OwnershipSection
from whmcs_bridge.model import Action, action_key, as_int, message
from whmcs_bridge.whmcs.whois import holder_details

FAMILY = "ownership"


class Rules:
    def __init__(
        self,
        section: OwnershipSection,
        department_id: int | None,
        staff_email: str | None,
        links: bool,
        zone: str = "UTC",
    ) -> None:
        self.section = section
        self.department_id = department_id
        self.staff_email = staff_email
        self.links = links
        self.zone = zone  # the configured `timezone:`, where a deadline told as a day ends


def is_request(data: dict[str, Any], rules: OwnershipSection) -> bool:
    text = f"{data.get('subject') or ''} {data.get('message') or ''}".lower()
    if "[wb-" in text:  # a ticket the bridge itself opened
        return False
    return any(word.lower() in text for word in rules.request_words)


# --- policies -------------------------------------------------------------------------------------


def party_kind(party: dict[str, Any]) -> str:
    return "company" if company_name(party.get("company")) else "person"


# What sign-ups type into WHMCS's optional Company Name field when there is no company, in the bridge's languages
# (en, fr, nl, id), as placeholder_words reads them: such a name is none (twenty-fourth break round, ownership LOW
# 13: "-" made a dead person a company; twenty-sixth, LOW 14: "Pribadi", "Tidak ada", "N/A.", "-none-" made a person a
# company). So is one without a letter or digit.
NO_COMPANY = frozenset(
    {
        # en
        "na", "none", "nil", "no", "nothing", "personal", "individual", "private", "private person", "self",
        "self employed", "not applicable",
        # fr (and nl: "particulier")
        "aucun", "aucune", "neant", "sans", "particulier", "personnel", "personne physique", "non applicable",
        # nl
        "geen", "nvt", "prive", "niet van toepassing",
        # id
        "pribadi", "perorangan", "perseorangan", "individu", "tidak ada", "tidak", "kosong", "belum ada",
    }
)  # fmt: skip


def placeholder_words(name: str) -> str:
    """A company name as NO_COMPANY lists it: case-folded, accents and punctuation left out ("N/A." is "na", "-none-"
    "none", "Néant" "neant"), spaces made one."""
    bare = unicodedata.normalize("NFKD", name.casefold())
    kept = "".join(ch if ch.isalnum() else " " if ch.isspace() else "" for ch in bare if not unicodedata.combining(ch))
    return " ".join(kept.split())


def company_name(text: Any) -> str:
    """A client's company name as WHMCS holds it (GetClientsDetails `companyname`,
    DD:api-reference/getclientsdetails.md), "" when it is blank or a placeholder ("-", ".", "n/a", "none", "—",
    "Pribadi": NO_COMPANY)."""
    name = str(text or "").strip()
    if placeholder_words(name) in NO_COMPANY or not any(ch.isalnum() for ch in name):
        return ""
    return name


def match_policy(
    rules: OwnershipSection, subject_kind: str, holder: dict[str, Any], requester: dict[str, Any], grounds: str
) -> tuple[str, OwnershipPolicy] | None:
    for name, policy in rules.policies.items():
        if subject_kind not in policy.subjects:
            continue
        if policy.holder != "any" and policy.holder != party_kind(holder):
            continue
        if policy.requester != "any" and policy.requester != party_kind(requester):
            continue
        if policy.grounds and grounds not in policy.grounds:
            continue
        return name, policy
    return None


def snapshot(policy: OwnershipPolicy) -> dict[str, Any]:
    """The policy as it stood when the case opened: later configuration changes do not change a case."""
    return {
        "evidence": [{"kind": e.kind, "max_age_days": e.max_age_days} for e in policy.evidence],
        "consent": policy.consent,
        "without_consent": policy.without_consent,
        "window_s": int(policy.window.total_seconds()),
        "approvals": policy.approvals,
        "lock_s": int(policy.lock.total_seconds()),
        "vendor_commission": policy.vendor_commission,
        "side_effects": list(policy.side_effects),
    }


def applied_policy(case: dict[str, Any]) -> dict[str, Any]:
    """What a case applies, as the opening records it in the audit chain (milestone `policy_applied`) and
    integrity compares with the case's state: each policy's snapshot by name, and which policy each subject
    follows (nineteenth round H4)."""
    policies, subjects = case.get("policies"), case.get("subjects")
    listed = [s for s in (subjects if isinstance(subjects, list) else []) if isinstance(s, dict)]
    return {
        "policies": policies if isinstance(policies, dict) else {},
        "subjects": {f"{s.get('kind')}:{s.get('id')}": s.get("policy") for s in listed},
        # Who the case is between, on what grounds, about what (twenty-second round H: a holder's name edited in the
        # state was signed into a dossier); none of it changes once the case is open.
        "facts": {
            "grounds": case.get("grounds"),
            **{f"{s.get('kind')}:{s.get('id')} name": s.get("name") for s in listed},
            **{
                f"{party} {field}": (case.get(party) or {}).get(field)
                for party in ("holder", "requester")
                for field in PARTY_FIELDS
            },
        },
    }


# What names a party in the case, its messages and its dossier.
PARTY_FIELDS = ("client", "name", "company", "email")


def requirements(case: dict[str, Any]) -> dict[str, Any]:
    """The case's combined requirements: every subject's evidence, the longest window and lock, the
    most approvals."""
    policies = list(case["policies"].values())
    evidence: dict[str, Any] = {}
    for policy in policies:
        for rule in policy["evidence"]:
            ages = [a for a in (evidence.get(rule["kind"]), rule["max_age_days"]) if a]
            evidence[rule["kind"]] = min(ages) if ages else None
    return {
        "evidence": evidence,
        "window_s": max(p["window_s"] for p in policies),
        "approvals": max(p["approvals"] for p in policies),
        "lock_s": max(p["lock_s"] for p in policies),
    }


def evidence_needs(case: dict[str, Any], now: datetime) -> tuple[list[tuple[str, int | None]], list[str]]:
    """What is still missing before the holder is notified: the documents the requester must still send
    (each kind with the age it may have at most, if the policy sets one: a copy too old counts as not
    sent), and the kinds it sent that staff have not checked yet."""
    needed: list[tuple[str, int | None]] = []
    checking: list[str] = []
    for kind, max_age in requirements(case)["evidence"].items():
        items = [e for e in case.get("evidence", []) if e["kind"] == kind and e["status"] == "ok"]
        if not items:
            if any(e["kind"] == kind and e["status"] == "pending" for e in case.get("evidence", [])):
                checking.append(kind)
            else:
                needed.append((kind, max_age))
            continue
        if max_age and not any(
            e.get("dated")
            and (now - timedelta(days=max_age)).date() <= datetime.fromisoformat(e["dated"]).date() <= latest_today(now)
            for e in items
        ):  # a document dated after today is no fresher than one without a date
            needed.append((kind, max_age))
    return needed, checking


def latest_today(now: datetime) -> date:
    """The date it is now where the day is furthest on (UTC+14): a document dated today where it was written is
    never "after today", whatever the zone (at 00:30 in Paris it is still the day before in UTC)."""
    return (now.astimezone(UTC) + timedelta(hours=14)).date()


def evidence_fields(case: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The missing evidence as a message's fields (see messages.py: `needed` and `checking`)."""
    needed, checking = evidence_needs(case, now) if case.get("policies") else ([], [])
    return {
        "needed": " ".join(f"{kind}:{age}" if age else kind for kind, age in needed),
        "checking": " ".join(checking),
    }


# --- what a hand-over does, as facts for the messages -------------------------------------------------


def ref(subject: dict[str, Any]) -> str:
    return f"{subject['kind']}:{int(subject['id'])}"


def hand_over_fields(case: dict[str, Any]) -> dict[str, Any]:
    """What moves, what stays (with or without a backup) and the lock that follows."""
    subjects = case["subjects"]
    moving = [s for s in subjects if s.get("hand_over") == "move"]
    return {
        "moving": [ref(s) for s in moving],
        "backup_only": [ref(s) for s in subjects if s.get("hand_over") == "backup-only"],
        "staying": [ref(s) for s in subjects if s.get("hand_over") == "none"],
        "services_moving": sum(1 for s in moving if s["kind"] == "service"),
        "domains_moving": sum(1 for s in moving if s["kind"] == "domain"),
        "lock_days": requirements(case)["lock_s"] // 86400,
    }


def account_items(case: dict[str, Any]) -> list[str]:
    """What the whole accounts the case claims hold (refs), as WHMCS showed them at the last approval, else when the
    case opened (what the holder is asked about); an account that stays with its holder lists nothing."""
    return [
        str(item)
        for s in case["subjects"]
        if s["kind"] == "client" and s.get("hand_over") != "none"
        for item in s.get("contents_approved", s.get("contents") or [])
    ]


def checklist_fields(case: dict[str, Any]) -> dict[str, Any]:
    """Staff's side effects and checklist: what only they can do in WHMCS's admin area (there is no API
    to move a service or a domain), by kind of subject, and the policies' own lines (as configured)."""
    moving = [s for s in case["subjects"] if s.get("hand_over") == "move"]
    policies = case["policies"].values()
    return {
        **hand_over_fields(case),
        "move_services": [ref(s) for s in moving if s["kind"] == "service"],
        "move_domains": [ref(s) for s in moving if s["kind"] == "domain"],
        "move_clients": [ref(s) for s in moving if s["kind"] == "client"],
        "account_items": account_items(case),
        "lock_by_hand": locks_refused(case),
        "commission": int(any(p["vendor_commission"] for p in policies)),
        "extra": "\n".join(dict.fromkeys(line for p in policies for line in p["side_effects"])),
    }


def locks_refused(case: dict[str, Any]) -> list[str]:
    """The domains (refs) whose transfer lock the registrar module refused (completion.step_ended): staff set
    it by hand in WHMCS's admin area, or accept a registry that has none."""
    return [
        str(entry["subject"])
        for entry in (case.get("steps") or {}).values()
        if entry.get("kind") == "domain_lock" and entry.get("status") == "refused"
    ]


def registrant(party: dict[str, Any]) -> dict[str, str]:
    """The new registrant's details (name, company, email, and the address and phone WHMCS has for a
    client), by detail: the executor writes them into the registrar's own fields."""
    return holder_details(party)


# What a registrant needs that only the new holder can give: none of it may stay the old holder's.
CONTACT_REQUIRED = ("address1", "city", "postcode", "country", "phone")
CONTACT_FIELDS = ("name", "address1", "address2", "city", "state", "postcode", "country", "phone")


# The registrant's person, as staff read it among the missing details (missing_contact).
PERSON = "contact person's name"


def missing_contact(case: dict[str, Any]) -> list[str]:
    """The registrant details an outside requester (no WHMCS client: no profile to read them from at
    execution) has not given, when a domain moves to it; [] otherwise. Its contact person's name among them
    (`requester-contact --name`): without it the registrant's First and Last Name would both be the company's
    (whois.holder_details; twenty-fifth break round, ownership LOW 12). Asked here, with the address, rather
    than at the opening: a case drafted from a ticket has no name to give then, and the signatory's ID the
    policies ask for names the person before the approval."""
    if case["requester"].get("client"):
        return []
    if not any(s["kind"] == "domain" and s.get("hand_over") == "move" for s in case["subjects"]):
        return []
    person = [] if str(case["requester"].get("name") or "").strip() else [PERSON]
    return person + [f for f in CONTACT_REQUIRED if not str(case["requester"].get(f) or "").strip()]


def and_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


# --- messages and helpers -------------------------------------------------------------------------


def label(subject: dict[str, Any]) -> str:
    """A subject as the case's history and staff's errors record it ("domain #20 majumakmur.co.id")."""
    name = f" {subject['name']}" if subject.get("name") else ""
    return f"{subject['kind']} #{subject['id']}{name}"


def case_fields(case: dict[str, Any]) -> dict[str, Any]:
    """What every message of the case says (see messages.py): its reference, what is claimed, who holds
    it and who asks (a client by id, named by WHMCS; a requester outside WHMCS by the name it gave)."""
    requester = case["requester"]
    outside = (
        "" if requester.get("client") else requester.get("company") or requester.get("name") or requester.get("email")
    )
    return {
        "case": case["id"],
        "subjects": [ref(s) for s in case["subjects"]],
        "holder": case["holder"].get("client"),
        "requester": requester.get("client"),
        "requester_name": outside or "",
    }


def step(case: dict[str, Any], now: datetime, what: str, by: str, why: str, until: datetime | None = None) -> None:
    """One line of the case's timeline; `until`: an instant `why` ends on ("answer by"), which screens show in
    the configured zone. A line written to end with staff's note ("...: {note}") ends at the colon when staff
    gave none."""
    why = why.rstrip()
    why = why[:-1].rstrip() if why.endswith(":") else why
    entry = {"at": iso(now), "what": what, "by": by, "why": why, "status": case.get("status")}
    if until is not None:
        entry["until"] = iso(until)
    case.setdefault("history", []).append(entry)


def case_refs(case: dict[str, Any]) -> list[str]:
    """The subjects, and the case's ticket threads (a reply in one reaches the case); while a party may still answer
    it, its threads are read whole by each poll too (`thread-read:`, intake/poller.py Poller.watched: a thread staff
    closed is not among the active tickets, and a staff note shows in no list)."""
    reads = [f"thread-read:{t}" for t in threads(case)] if case.get("status") in ANSWERING else []
    return (
        [f"{s['kind']}:{s['id']}" for s in case["subjects"]]
        + [f"thread:{t}" for t in threads(case)]
        + reads
        + party_refs(case)
    )


def threads(case: dict[str, Any]) -> list[int]:
    """The case's ticket threads: those the bridge opened with each party, and once staff confirmed a case drafted
    from the requester's ticket, that ticket (the thread the requester knows: a reply there may withdraw it)."""
    found = [int(t) for t in (case.get("tickets") or {}).values() if t]
    request = as_int(case.get("ticket"))
    if request and case.get("status") != "draft" and request not in found:
        found.append(request)
    return found


def message_id(value: Any) -> int | str | None:
    """A message's id within its ticket, as the case keeps it: a reply's number (0: the ticket's opening message),
    or `nN` for the ticket's note N. Notes have ids of their own in WHMCS (GetTicket lists `notes` apart from
    `replies`, each with its `noteid`: DD:api-reference/getticket.md), so note 3 and reply 3 are two messages."""
    text = str(value if value is not None else "").strip()
    if text[:1] in ("n", "N") and text[1:].isascii() and text[1:].isdigit():
        return f"n{int(text[1:])}"
    return as_int(value)


def is_note(value: Any) -> bool:
    return isinstance(message_id(value), str)


def msg_ref(r: dict[str, Any]) -> str:
    """A message of the case's threads as staff read it: "ticket #12 reply 5", or "ticket #12 note 3" for a note
    (`--reply 12:n3` names it), or "ticket #12 (gone from WHMCS)" for a thread WHMCS no longer has (`--reply 12`)."""
    if r.get("thread_gone"):
        return f"ticket #{r['ticket']} (gone from WHMCS)"
    number = message_id(r.get("reply"))
    if isinstance(number, str):
        return f"ticket #{r['ticket']} note {number[1:]}"
    return f"ticket #{r['ticket']} reply {number}"


def to_classify(case: dict[str, Any], r: dict[str, Any]) -> str:
    """A message waiting for staff as staff read it, with the command that records what it answers: "the holder
    replied in ticket #12 (reply 5): record what it answered first (ownership record-answer ...)", or "bob
    (staff) added ticket #12 note 3: ..." for a note."""
    if r.get("thread_gone"):
        return (
            f"ticket #{r['ticket']}, the case's thread with the {r['party']}, is gone from WHMCS (deleted before the "
            f"bridge read all of it): find out what the {r['party']} wrote there and record it "
            f"({classify_command(case['id'], r)})"
        )
    who = f"the {r['party']}" if r["party"] != "other" else r.get("writer") or "someone"
    number = message_id(r.get("reply"))
    how = (
        f"added {msg_ref(r)}" if isinstance(number, str)
        else f"replied in ticket #{r['ticket']}" + (f" (reply {number})" if number else "")
    )  # fmt: skip
    return f"{who} {how}: record what it answered first ({classify_command(case['id'], r)})"


def classify_command(case_id: str, r: dict[str, Any]) -> str:
    """The command that records what a message in the case's threads answers, naming it (`--reply 12:5`, a note
    `--reply 12:n3`). The requester's own person writing from another account speaks for the requester (break round
    14 H7). A party's written words came by ticket; staff's (a note, a staff reply) report an answer that came
    another way, staff say which (twenty-first round M2); a thread gone from WHMCS, staff ask the party. `show` and
    the staff ticket raised for the message both give this command (twenty-first round L5)."""
    party, answers = (
        ("requester", "consent|object") if "requester" in (r["party"], r.get("side"))
        else ("holder", "consent|object|unrelated")
    )  # fmt: skip
    via = "ticket|email|post|phone" if r.get("thread_gone") else "phone|email|post" if r.get("staff") else "ticket"
    return f"ownership record-answer {case_id} --party {party} --answer {answers} --via {via} --reply {reply_arg(r)}"


def reply_arg(r: dict[str, Any]) -> str:
    """How `--reply` names a message of the case's threads: TICKET:REPLY (TICKET:nNOTE), or TICKET alone for a
    thread gone from WHMCS (no one message of it is known)."""
    return f"{r['ticket']}" if r.get("reply") is None else f"{r['ticket']}:{r['reply']}"


# Where a party's new ticket may be an answer (answers.py: ticket_opened); a draft has asked no one yet.
ANSWERING = ("collecting", "notified", "disputed", "review", "approved", "executing")


def mentions(text: str) -> list[str]:
    """The `mention:` references of a ticket's words: each word that may be a case id or a domain name, in the
    order written (dates, amounts and invoice numbers name neither: a long letter listing them still reaches
    its case)."""
    words = (w.strip(".").casefold() for w in MENTION.findall(text))
    named = dict.fromkeys(f"mention:{w}" for w in words if CASE_ID.fullmatch(w) or DOMAIN_LIKE.fullmatch(w))
    return list(named)[:MAX_MENTIONS]


MENTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
CASE_ID = re.compile(r"o[0-9a-f]{7}")  # staff.new_case_id
DOMAIN_LIKE = re.compile(
    r"(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*[a-z0-9]"
)  # labels and a top-level one starting with a letter
MAX_MENTIONS = 200  # a bound on one message's references, the words that may name a case or a domain


# Every open case's reference for a guest's ticket (no client account): answers.ticket_opened reads it only when
# its words name the case or a party (a guest gives no other fact).
GUEST = "guest"
# A client's message whose writer WHMCS's event does not name (a hook gives the account, not the user): it may be
# a party's person writing with another account selected, so every open case reads it back (thirteenth round H2).
UNNAMED_WRITER = "writer-unnamed"


def party_refs(case: dict[str, Any]) -> list[str]:
    """While the case is open, a new ticket or a reply in any ticket reaches it when either party writes it (by its
    client, or its address under any account), any client's (`writer`: whether its user is a party's person is read
    back from WHMCS, GetUsers, whether or not the event names the user's address), when it names the
    case or one of its domain names (`mention:`; a guest from an address WHMCS does not know: the holder may write
    from another one), or a guest's new ticket (`guest`)."""
    if case.get("status") not in ANSWERING:
        return []
    refs = [GUEST, UNNAMED_WRITER, f"mention:{case['id']}".casefold()]
    refs += [f"mention:{s['name']}".casefold() for s in case["subjects"] if s["kind"] != "client" and s.get("name")]
    for party in ("holder", "requester"):
        who = case.get(party) or {}
        if who.get("client"):
            refs.append(f"party:{int(who['client'])}")
        if str(who.get("email") or "").strip():  # its address, whatever account it writes under
            refs.append(f"party-email:{str(who['email']).strip().casefold()}")
    return refs


def act(case: dict[str, Any], kind: str, purpose: str, params: dict[str, Any], client: int | None) -> Action:
    return Action(
        key=action_key(FAMILY, f"case:{case['id']}", purpose),
        family=FAMILY,
        kind=kind,
        params=params,
        client_id=client,
        subject=f"ownership:{case['id']}",
    )


def link_spec(case: dict[str, Any], purpose: str, ttl: timedelta, question: str) -> dict[str, Any]:
    """A one-time link; its page asks the catalogue's `question`, in the language of the message carrying it."""
    return {
        "purpose": purpose,
        "subject": case["id"],
        "summary": message(question, **case_fields(case)),
        "ttl_s": int(ttl.total_seconds()),
    }


def tell(
    case: dict[str, Any],
    party: str,
    purpose: str,
    rules: Rules,
    message_id: str,
    *,
    consent: dict[str, Any] | None = None,
    **data: Any,
) -> list[Action]:
    """A message to the requester or the holder, in its own language. A client gets an email (SendEmail,
    with the one-time link if any) and, with its first message, a ticket thread for the case to answer
    in; an outside requester has no account to email, so its messages (the `_ticket` twins, and the
    link) go through its ticket thread, which WHMCS mails to the address given in the case."""
    who = case[party]
    fields = {**case_fields(case), **data}
    if not who.get("client"):
        return [thread(case, party, rules, message(f"{message_id}_ticket", **fields), consent=consent, purpose=purpose)]
    params: dict[str, Any] = {"related_id": who["client"], "type": "general", "msg": message(message_id, **fields)}
    if consent:
        params["consent"] = consent
    actions = [act(case, "email", f"{party}-{purpose}", params, who["client"])]
    if not (case.get("tickets") or {}).get(party):  # the same key when planned again: opened once
        opening = message("ownership.thread", **case_fields(case))
        actions.append(thread(case, party, rules, opening, purpose="thread"))
    return actions


def thread(
    case: dict[str, Any],
    party: str,
    rules: Rules,
    msg: dict[str, Any],
    *,
    consent: dict[str, Any] | None = None,
    purpose: str,
) -> Action:
    """The party's ticket thread for this case: opened once (its id comes back as OwnershipTicket),
    then replied to as staff; WHMCS mails every message to the party."""
    who = case[party]
    ticket = (case.get("tickets") or {}).get(party)
    params: dict[str, Any]
    if ticket:
        params = {"ticket_id": ticket, "msg": msg}
        kind = "ticket_reply"
    else:
        params = {
            "deptid": rules.department_id or 1,
            "msg": msg,
            "report_as": "OwnershipTicket",
            "report": {"case": case["id"], "party": party},
        }
        if who.get("client"):
            params["client_id"] = who["client"]
        else:
            params.update(name=who.get("name") or who.get("company") or who.get("email"), email=who.get("email"))
        kind = "ticket"
    if consent:
        params["consent"] = consent
    return act(case, kind, f"{party}-{purpose}", params, who.get("client"))


def held(case: dict[str, Any]) -> list[str]:
    """What the case stops other changes on now (rules.holds writes exactly these): while disputed, its
    subjects and its holder's whole account; completed and still locked, only what changed hands."""
    if case.get("status") == "disputed":
        holder = (case.get("holder") or {}).get("client")
        found = [ref(s) for s in case.get("subjects") or []] + ([f"client:{int(holder)}"] if holder else [])
    elif case.get("status") == "completed" and not case.get("lock_ended") and case.get("lock_until"):
        found = [ref(s) for s in case.get("subjects") or [] if s.get("moved_to")]
    else:
        found = []
    return list(dict.fromkeys(found))


def party_notes(case: dict[str, Any], status: str, *, sticky: bool = False) -> list[Action]:
    """A client note on each party's account that is a client, naming the case and its status, so staff
    opening either account in WHMCS see it (sticky while the case is disputed). Each note once: its key
    counts the case's history, so a status reached again is noted again."""
    # The note names exactly what is frozen or locked: the holder's account apart (frozen as a whole, not
    # each thing in it), never a subject that stayed with its holder after a completion.
    holder_account = f"client:{int(case['holder']['client'])}" if case["holder"].get("client") else None
    frozen = held(case) if status == case.get("status") else []
    notes = []
    for role in ("holder", "requester"):
        client = case[role].get("client")
        if not client:
            continue
        msg = message(
            "ownership.client_note",
            **case_fields(case),
            status=status,
            role=role,
            lock_until=case.get("lock_until"),
            held=[h for h in frozen if h != holder_account],
            held_account=int(holder_account.split(":")[1]) if holder_account in frozen else None,
        )
        purpose = f"note-{role}-{status}-{len(case.get('history', []))}"
        notes.append(act(case, "client_note", purpose, {"msg": msg, "sticky": sticky}, int(client)))
    return notes


def staff_ticket(case: dict[str, Any], rules: Rules, purpose: str, message_id: str, **data: Any) -> Action:
    """A ticket to staff, in the staff language, naming the parties with their ids."""
    params = {
        "deptid": rules.department_id or 1,
        "msg": message(message_id, **case_fields(case), **data),
        "priority": "High",
        "name": "whmcs-bridge",
        "email": rules.staff_email or "whmcs-bridge@localhost",
        "notify": False,
    }
    return act(case, "ticket", f"staff-{purpose}", params, None)
