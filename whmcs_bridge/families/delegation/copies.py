"""Contact delegation's email copies and support authority (pure): which email a delegate gets a copy
of, and the staff-only note a ticket gets (owner, verified delegate, or a warning)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from whmcs_bridge.families.delegation import ticket_renew
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.grants import FAMILY, about_grant, notice, parties_open, record, rights
from whmcs_bridge.families.delegation.sensitive import SENSITIVE as SENSITIVE  # where the words lived before
from whmcs_bridge.families.delegation.sensitive import asks_for_the_account
from whmcs_bridge.families.delegation.ticket_renew import renew_asked
from whmcs_bridge.model import Action, Decision, Event, action_key, as_int, message
from whmcs_bridge.names import ask_owners, domain_names, unread_names
from whmcs_bridge.whmcs.templates import EmailIdentity, identify

COPY_MARK = "whmcs-bridge delegated copy"
# How a copy's action ended, told back to its grant (store/outbox.py report_outcome): sent, it is in the digest.
COPY_SENT = "DelegationCopyEnded"
# Written into every copy, whatever the language of its header: a copy is never copied again.
COPY_COMMENT = f"<!-- {COPY_MARK} -->"
OWN_EMAIL = "<!-- [wb-"  # every email the bridge sends carries its action key (executor: Call.marked)
# How far a time in WHMCS's own zone (an email's `date`) may be from the same instant in UTC: any zone's offset.
ANY_ZONE = timedelta(hours=14)
# A link that renews, pays, resets a password or logs in without the owner's password: a one-time key in
# its query (a key, token, hash, signature, auth, verification, session or nonce parameter under any name, an
# OAuth authorisation `code`, a ticket's access key `c` in viewticket.php?tid=...&c=..., which opens the thread
# without logging in, a one-letter `k` or a `tok`), WHMCS's password reset page (pwreset.php, or WHMCS 8's route /password/reset),
# single sign-on (/login/sso), a user invitation (/invite/), a cPanel session (/cpsess<digits>/: whoever holds
# it is logged in), credentials in the link itself (user:password@, a password or secret parameter), a renewal
# through the cart, the quick-renew module, a /renew route (WHMCS 8's /cart/domain/renew) or action=domainrenew. Never in a
# delegate's copy (o2switch sends quick-renew links to owners only; a reset link hands over the account). An
# address counts with or without its scheme (billing.example.com/pwreset.php?key=...).
ACCOUNT_PART = (
    r"""(?:pwreset\.php|[?&;][\w-]*(?:key|token|hash|auth|sig|signature|verif|session|sessid|nonce|otp)[\w-]*=|"""
    r"""[?&;][\w-]*(?:pass|pwd|secret)[\w-]*=|(?<=//)[^\s"'<>@/:]+:[^\s"'<>@/]*@|"""
    r"""[?&;](?:timestamp|code|sid|c|k|tok)=|/cpsess\d+|"""
    r"""/password/reset|/login/sso|/invite/|/renew(?:/|\b(?!\w))|[?&;]action=\w*renew|"""
    r"""[?&;]m=quickrenew|cart\.php\?[^\s"'<>]*\brenew)"""
)
ACCOUNT_LINK = re.compile(
    r"""(?:https?://|www\.|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?/)[^\s"'<>]*?""" + ACCOUNT_PART + r"""[^\s"'<>]*""",
    re.IGNORECASE,
)
# The same, anywhere in one run of characters a link is made of, once its HTML entities and %-escapes are read
# as a mail client and a browser read them: a relative link (/pwreset.php?key=...), a route written
# %2Fpassword%2Freset, a `?` written &#63;.
ACCOUNT_WORD = re.compile(ACCOUNT_PART, re.IGNORECASE)
WORD = re.compile(r"""[^\s"'<>]+""")
ANCHOR = re.compile(r"<a\b[^>]*\bhref\s*=\s*([\"'])(.*?)\1[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)


def as_read(link: str) -> str:
    """A link as a mail client follows it: entities and %-escapes read (twice: either may hide the other)."""
    for _ in range(2):
        link = unquote(html.unescape(link))
    return link


def without_account_links(text: str) -> str:
    """The email with each such link taken out: an anchor keeps its words, a written address goes."""

    def anchor(match: re.Match[str]) -> str:
        return match.group(3) if ACCOUNT_WORD.search(as_read(match.group(2))) else match.group(0)

    def word(match: re.Match[str]) -> str:
        return "[link removed]" if ACCOUNT_WORD.search(as_read(match.group(0))) else match.group(0)

    return WORD.sub(word, ACCOUNT_LINK.sub("[link removed]", ANCHOR.sub(anchor, text)))


def ticket_key(data: dict[str, Any]) -> str:
    return f"ticket:{as_int(data.get('ticketid'))}:{as_int(data.get('replyid')) or 0}"


# --- email copies ---------------------------------------------------------------------------------


def concerns(grant: dict[str, Any], email: EmailIdentity) -> str | None:
    """The granted item an email is about ("service:110"), or the whole client ("client:11"), by the
    email's related id only. A product or domain template names its service or domain: only a grant on
    that very service or domain matches (a hosting and a domain of the same name are two things). Other
    types name an invoice, a ticket or the client, which may concern any of the owner's items: only a grant
    on the whole account gets them. Never a name found in the text (a grant on dupont.fr is no grant on
    boulangerie-dupont.fr). Under a grant on the whole account, a product or domain template is about its own
    service or domain (its related id): the copy or notice names that one, not the account (break round 13, F13)."""
    items = grant.get("items") or []
    if any(i["kind"] == "client" for i in items):
        if email.record in ("service", "domain") and email.record_id:
            return f"{email.record}:{email.record_id}"
        return f"client:{grant['owner']}"
    if email.record in ("service", "domain"):
        item = next((i for i in items if i["kind"] == email.record and i["id"] == email.record_id), None)
        return None if item is None else f"{item['kind']}:{item['id']}"
    return None


def owners_item(grant: dict[str, Any], about: str) -> dict[str, Any]:
    """The guard `owned_by` for an email about a service or domain: WHMCS shows it the owner's when the copy goes.
    An event naming another client's service (a forged or mismatched related id) copies nothing, whatever the
    grant covers (seventeenth break round M5)."""
    kind, _, item = about.partition(":")
    if kind not in ("service", "domain"):
        return {}
    return {"owned_by": {"kind": kind, "id": int(item), "client": int(grant["owner"])}}


def email_fingerprint(data: dict[str, Any], email: EmailIdentity, subject: str, message: str) -> str:
    """What tells one email from another: its client, second, template, related id, subject and text.
    The same email reported twice yields the same fingerprint, so one copy; two emails of one template
    in one second about services 110 and 111, or two replies on one ticket, are two. WHMCS's email id is
    left out: the hook's EmailPreLog never has it (the email is not logged yet; the sandbox's event
    has), so one email reported with it and without it would be copied twice."""
    parts = [as_int(data.get("userid")), str(data.get("date") or ""), email.template, email.record_id, subject]
    digest = hashlib.sha256(json.dumps(parts).encode())
    digest.update(message.encode())
    return digest.hexdigest()[:16]


def verbatim(grant: dict[str, Any], fields: dict[str, Any], text: str, email: EmailIdentity) -> dict[str, Any]:
    """A verbatim copy's email: our header, a message in the delegate's language, then the email as WHMCS sent it
    (not ours). One that may carry access details or what a person wrote goes to the delegate alone, not to its
    own contacts too (seventeenth break round H3; executor/one_recipient.py)."""
    params = {
        **notice(grant["delegate"], message("delegation.copy", **fields)),
        "original_html": COPY_COMMENT + without_account_links(text),
    }
    return {**params, "alone": True} if email.secret != "none" else params


def copies(
    grant: dict[str, Any], data: dict[str, Any], event: Event, now: datetime, rules: DelegationSection
) -> list[Action]:
    """A delegate's copy (or notice) of an email WHMCS sent the owner. What the email is comes from its
    template name and related id, never its words; an email whose template is unknown (a custom message,
    an event from a hook older than version 2, a template name the configuration does not list) is
    not copied at all: it may carry credentials nobody can tell apart."""
    subject, text = str(data.get("subject") or ""), str(data.get("message") or "")
    if COPY_MARK in subject + text or OWN_EMAIL in text:
        return []  # a copy is never copied, and neither is anything the bridge itself sent (consent links!)
    if out_of_time(grant, data, event, now):
        return []
    email = identify(data.get("messagename"), data.get("relid"), data.get("userid"), rules.email_templates)
    if email is None or email.secret == "takeover":
        return []  # unknown, or what hands over the account or a domain: never, not even as a notice
    about = concerns(grant, email)
    if about is None:
        return []
    allowed = rights(grant, rules)
    welcome = email.secret == "service-access"
    named = allowed.templates.policy(email.template)  # a template the role names overrides its category
    if named == "never":
        return []
    # Access details are copied only where the role allows it (or names the template) and the owner chose
    # it for this grant on its consent page; otherwise a notice that the owner received them (or nothing).
    mode = named or allowed.welcome_email
    if mode == "copy" and grant.get("credentials") != "copy":
        mode = "notice"
    if welcome and mode == "none":
        return []
    if not welcome and named is None and email.type not in allowed.copy_emails:
        return []
    # What a person wrote (a support ticket's message, staff's reply) may carry a password: copied only where the
    # owner chose full copies for this grant, else a notice that the owner received it.
    written = email.secret == "free-text" and grant.get("credentials") != "copy"
    fingerprint = email_fingerprint(data, email, subject, text)
    # A free-text email's subject is written by a person as its text is (a ticket's "my password is now ..."), and a
    # template that carries a secret may print it in its subject too (staff edit WHMCS's templates): the notice and
    # the grant's history name it by its template (fourteenth break round G3, eighteenth round HIGH 2).
    named_as = email.template if email.secret != "none" else subject
    is_notice = (welcome and mode == "notice") or (not welcome and (named == "notice" or written))
    fields = about_grant(grant, about=[about], subject=named_as if is_notice else subject)
    if is_notice:
        said = "delegation.access_notice" if welcome else "delegation.email_notice"
        params = {**notice(grant["delegate"], message(said, **fields)), "original_html": COPY_COMMENT}
    else:
        # A full copy carries the subject already (a notice never does: it names the template); kept apart for the
        # guard that checks it is one the template renders (copy_action), hashed at rest (outbox.at_rest).
        params = {**verbatim(grant, fields, text, email), "logged_subject": subject}
    # The owner's digest counts the copy once it was sent (COPY_SENT), not when it was decided: one cancelled
    # by a revocation, or parked and rejected, was never received (seventeenth break round M1). It names the email by
    # its template: these facts are kept for good (the outbox, the audit chain, the grant's activity), and a subject
    # may print what staff put in the template (a full copy's subject is kept only hashed: outbox.at_rest).
    params.update(outcome_to=COPY_SENT, outcome_facts={"grant": grant["id"], "email": email.template, "about": about})
    return [copy_action(grant, params, about, fingerprint, is_notice, email.template)]


def copy_action(
    grant: dict[str, Any], params: dict[str, Any], about: str, fingerprint: str, is_notice: bool, template: str
) -> Action:
    """Keyed per delegate, not per grant: two grants to one delegate give one copy, and one notice in its stead.
    The template name comes from the PHP hook, which pairs EmailPreSend with the next EmailPreLog of its client: an
    EmailPreSend whose send another hook aborted leaves its name to the next email, a custom message staff typed a
    password into (twenty-fourth break round HIGH 5). A full copy goes only if the logged subject is one that template
    renders (guards.py rendered_from); otherwise it is an unknown email: not copied, counted. A notice carries no
    words of the email, so it is not checked (it would keep the subject for the check)."""
    full = action_key(FAMILY, f"delegate:{grant['delegate']}", f"copy:{fingerprint}")
    key = action_key(FAMILY, f"delegate:{grant['delegate']}", f"notice:{fingerprint}") if is_notice else full
    # A side closed in WHMCS, or the service or domain the email names not the owner's: not sent.
    guard = {**while_active(grant), **parties_open(grant), **owners_item(grant, about)}
    if not is_notice:
        guard["rendered_from"] = {"template": template, "client": int(grant["owner"])}
    if is_notice:
        guard["instead_of"] = instead_of(full)
    return Action(
        key=key,
        family=FAMILY,
        kind="email",
        params=params,
        client_id=grant["delegate"],
        subject=f"grant:{grant['id']}",
        guard=guard,
    )


def instead_of(full: str) -> dict[str, Any]:
    """A notice is the full copy's stand-in (twenty-first break round H1): two grants of one delegate may cover one
    email, one allowing its full copy, the other its notice only. Each version is its own action: the full copy goes
    while a grant allowing it is active (rules.shared lists them all), the notice only while none is (the guard
    `instead_of`, whose `grants` rules.shared fills in) and the full copy was not sent (under the key copies had before
    there were two versions: an email decided again after an upgrade is not told twice)."""
    return {"family": FAMILY, "action": full, "grants": []}


def out_of_time(grant: dict[str, Any], data: dict[str, Any], event: Event, now: datetime) -> bool:
    """Whether the grant does not cover the email in time: expired by now, or the email sent before it started (the
    delegate was no contact then: an event the hook's spool delivered late)."""
    if grant.get("expires") and datetime.fromisoformat(grant["expires"]) <= now:
        return True
    return sent_before(grant, data, event)


def sent_before(grant: dict[str, Any], data: dict[str, Any], event: Event) -> bool:
    """Whether WHMCS sent the email before the grant started (its `since`): a copy is for what the owner receives
    while the delegate is its contact, however late the event comes (the PHP hook spools what the daemon could not
    take, and resends it hours or days later). When is the email's own time, never the event's arrival: the instant
    the hook stamped (`occurred_at`, UTC); else WHMCS's `date`, in WHMCS's zone, which the rules do not know, so
    only when it is earlier than the start by more than any zone's offset."""
    since = instant(grant.get("since"))
    if since is None:
        return False
    stamped = instant(event.occurred_at)
    if stamped is not None:
        return stamped < since
    dated = instant(data.get("date"))
    return dated is not None and dated + ANY_ZONE < since


def instant(value: Any) -> datetime | None:
    """An ISO date and time as an instant (UTC when it names no zone), or None when it is none."""
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def while_active(grant: dict[str, Any]) -> dict[str, Any]:
    """Revocation wins: the executor re-reads the grant just before it sends a copy or writes a note for
    it, and cancels (audited) what a revoked or expired grant queued, during an outage say."""
    return {"state_active": [FAMILY, f"grant:{grant['id']}"]}


# --- support authority ------------------------------------------------------------------------------


def ticket_opened(data: dict[str, Any], now: datetime) -> Decision:
    """Ask WHMCS who owns what the ticket names; the note comes with the answer (TicketResolved). A [renew] anywhere
    in the message (quoted or not, whatever the words around it: ticket_renew) sends its writer, once verified, the
    renewal page link and invoices nothing. WHMCS gives every reply the ticket's subject (DD:hooks-reference/ticket.md
    TicketUserReply), so a "[renew]" in the subject counts with the message that opened the ticket only."""
    opening = not as_int(data.get("replyid"))
    message_text = str(data.get("message") or "")
    asked = renew_asked(f"{data.get('subject') or ''}\n\n{message_text}" if opening else message_text)
    # What the [renew] names by type and id is what WHMCS is asked about (its owner), else the ticket's link.
    named = asked.get("named") if isinstance(asked, dict) else None
    link = named[0] if named else data.get("service")
    # A name shaped like a domain that cannot be read as a Latin one is asked about as written (unread_names).
    names = list(
        dict.fromkeys(
            domain_names(data.get("subject") or "", message_text)
            + unread_names(data.get("subject") or "", message_text)
        )
    )[:20]
    # The hook's events do not carry the ticket's related service or domain (only the poller's do): WHMCS is read.
    related = "service" not in data
    if not link and not names and not related:
        return Decision(state=None)  # names nothing: a general question
    return ask_owners(
        FAMILY,
        ticket_key(data),
        data,
        names,
        now,
        link=link,
        renew=asked,
        # Which WHMCS user wrote it (an invited user is not the account's owner), and what it asks.
        who_wrote=True,
        reply=as_int(data.get("replyid")),
        sensitive=asks_for_the_account(str(data.get("subject") or ""), message_text),
        related=related and not link,
        unmatched=True,  # the names WHMCS lists for nobody come back: a warning when unknown_names says so
    )


def ticket_note(
    grants: list[dict[str, Any]], data: dict[str, Any], now: datetime, rules: DelegationSection
) -> list[Action]:
    """The staff-only notes on a ticket, one per verdict on the items it names: written by their owner,
    by a verified delegate (one note per grant that verifies it), or a warning that the writer has no
    grant on them; and, for a verified delegate's [renew], the email with its renewal page link."""
    writer = as_int(data.get("writer"))
    ticket = as_int(data.get("ticketid"))
    owned: list[str] = []
    verified_by: dict[str, tuple[dict[str, Any], list[str]]] = {}
    held: dict[str, tuple[dict[str, Any], list[str]]] = {}
    unverified: list[str] = []
    owners: list[str] = []
    for item in data.get("items") or []:
        subject = f"{item['kind']}:{item['id']}"
        if item["owner"] == writer:
            owned.append(subject)
            continue
        match = verifying_grant(grants, writer, item, rules)
        if match:
            verified_by.setdefault(match["id"], (match, []))[1].append(subject)
            verified(match, item, ticket, now)
        elif grant := covering_grant(grants, writer, item):  # a grant, but one without support authority
            held.setdefault(grant["id"], (grant, []))[1].append(subject)
        else:
            unverified.append(subject)
            owners.append(f"client:{item['owner']}")
    # A [renew]: the renewal page link to the writer, never an invoice (ticket_renew); each grant's note says which.
    renewal, emails = ticket_renew.answer([g for g, _ in verified_by.values()], data, now, rules)
    notes: list[tuple[str, dict[str, Any]]] = []
    if owned:
        notes.append(("owner", owner_note(data, writer, owned)))
    for grant_id, (grant, subjects) in verified_by.items():
        allowed = rights(grant, rules)
        fields = about_grant(
            grant,
            subjects=subjects,
            since=grant["since"],  # an instant: the message writes its day in the configured zone
            by=grant["by"],
            copies="/".join(allowed.copy_emails),
            may_renew="yes" if allowed.renew else None,
            may_order="yes" if allowed.order_for_owner else None,
            **renewal.get(grant_id, {}),
            **written_by_user(data),
            # A grant makes a contact, not the owner: credentials, a transfer or the ownership are the owner's to give.
            for_owner="yes" if data.get("sensitive") else None,
        )
        notes.append((f"grant:{grant_id}", message("delegation.ticket_verified", **fields)))
    for grant_id, (grant, subjects) in held.items():
        notes.append((f"held:{grant_id}", message("delegation.ticket_held", **about_grant(grant, subjects=subjects))))
    # A domain named like a hosting the grant covers: said plainly, not as a stranger's ask (outside tester L4);
    # still the WARNING when the message asks for what takes a domain over (a transfer code, its DNS: SENSITIVE).
    namesakes = {} if data.get("sensitive") else same_names(data.get("items") or [], unverified, verified_by)
    kept = [(s, o) for s, o in zip(unverified, owners, strict=True) if s not in namesakes]
    unverified, owners = [s for s, _ in kept], [o for _, o in kept]
    notes += [
        (f"namesake:{subject}", message("delegation.ticket_namesake", subjects=[subject], owners=[o], hostings=[h]))
        for subject, (o, h) in namesakes.items()
    ]
    for owner in dict.fromkeys(owners):  # one warning per owner: which owner owns what is never left to guess
        warning = message(
            "delegation.ticket_unverified",
            writer=writer or None,  # a guest (WHMCS gives client 0): said as one, never "client #0"
            subjects=[s for s, o in zip(unverified, owners, strict=True) if o == owner],
            owners=[owner],
        )
        notes.append(("warning", warning))
    if unknown := unknown_names(data):
        notes.append(("unknown", message("delegation.ticket_unknown", writer=writer or None, names=", ".join(unknown))))
    closing = {f"grant:{g}": parties_open(grant) for g, (grant, _) in verified_by.items()}
    return [note_action(data, writer, ticket, which, msg, closing.get(which)) for which, msg in notes] + emails


def unknown_names(data: dict[str, Any]) -> list[str]:
    """The names the ticket gives that WHMCS lists for no client (`unmatched`), when staff must hear of them: the
    message asks for access, credentials or the account (SENSITIVE), or a name is written with a letter read as no
    Latin one (a look-alike no table lists). Whoever the name is, the writer is verified for nothing of it; a ticket
    only mentioning a site WHMCS does not host gets no note."""
    names = [str(n) for n in data.get("unmatched") or []]
    return names if data.get("sensitive") or not all(n.isascii() for n in names) else []


def same_names(
    items: list[dict[str, Any]], unverified: list[str], verified_by: dict[str, tuple[dict[str, Any], list[str]]]
) -> dict[str, tuple[str, str]]:
    """The unverified domains the ticket names whose name is a hosting's the writer is verified for, of the same
    owner: {"domain:11": ("client:11", "service:110")}. A domain and a hosting of one name are two things: the
    writer may well mean the hosting (outside tester L4)."""
    by_subject = {f"{i['kind']}:{i['id']}": i for i in items}
    hostings = {
        (by_subject[s]["name"], by_subject[s]["owner"]): s
        for _, subjects in verified_by.values()
        for s in subjects
        if s.startswith("service:") and by_subject.get(s, {}).get("name")
    }
    out = {}
    for subject in unverified:
        item = by_subject.get(subject) or {}
        hosting = hostings.get((item.get("name"), item.get("owner")))
        if subject.startswith("domain:") and hosting:
            out[subject] = (f"client:{item['owner']}", hosting)
    return out


def written_by_user(data: dict[str, Any]) -> dict[str, Any]:
    """Who wrote a verified delegate's ticket when it is not the delegate account's owner: another WHMCS user of
    that account (named, since when) or someone WHMCS does not list as its user, with a warning when they ask for
    access, credentials or a transfer; nothing for the account's owner (or an older WHMCS that names nobody)."""
    user = data.get("requestor")
    if not user or user.get("owner") is True:
        return {}
    contact = as_int(user.get("contact"))  # a WHMCS contact of the delegate's account, not one of its users
    return {
        "user": f"{user.get('name') or ''} ({user.get('email')})".strip(),
        "user_since": user.get("since") if user.get("owner") is False and not contact else None,
        "stranger": "yes" if user.get("owner") is None else None,
        "contact": contact,
        **warned(data, True),
    }


def warned(data: dict[str, Any], applies: bool) -> dict[str, Any]:
    """What a note says when someone other than the account's owner writes (`applies`): a WARNING when the message
    asks for access, credentials or a takeover in words the bridge knows (SENSITIVE), else a caution naming what to
    confirm with the owner first: no word list sees every way to ask, the writer not being the owner is a fact."""
    if not applies:
        return {}
    return {"warn": "yes"} if data.get("sensitive") else {"caution": "yes"}


def owner_note(data: dict[str, Any], writer: int | None, owned: list[str]) -> dict[str, Any]:
    """The note on what the writer's account owns: written by its owner, or by another WHMCS user of the
    account (named, since when), with a warning when that user asks for access, ownership or a transfer
    on a company's account (seed 000: suspicious until the owner confirms)."""
    user = data.get("requestor")
    if not user or user.get("owner") is True:  # the owner, or WHMCS named nobody (an older WHMCS)
        return message("delegation.ticket_owner", writer=writer, subjects=owned)
    if user.get("owner") is None:  # named, but not a user of the account: never taken for its owner
        return message(
            "delegation.ticket_stranger",
            writer=writer,
            subjects=owned,
            user=f"{user.get('name') or ''} ({user.get('email')})".strip(),
            **warned(data, True),
        )
    contact = as_int(user.get("contact"))  # a WHMCS contact of the account: never its holder, whatever the account
    return message(
        "delegation.ticket_user",
        writer=writer,
        subjects=owned,
        user=f"{user.get('name') or ''} ({user.get('email')})".strip(),
        since=user.get("since"),
        contact=contact,
        **warned(data, bool(user.get("company") or contact)),
    )


def verifying_grant(
    grants: list[dict[str, Any]], writer: int | None, item: dict[str, Any], rules: DelegationSection
) -> dict[str, Any] | None:
    """The writer's active grant with support authority over the item (covering_grant)."""
    return covering_grant([g for g in grants if rights(g, rules).support_authority], writer, item)


def covering_grant(grants: list[dict[str, Any]], writer: int | None, item: dict[str, Any]) -> dict[str, Any] | None:
    """The writer's active grant over the item: by its kind and id, or the whole client; never by name (a grant
    on a hosting does not cover the domain of the same name)."""
    return next(
        (
            g
            for g in grants
            if g.get("status") == "active"
            and g["delegate"] == writer
            and g["owner"] == item["owner"]
            and any(
                i["kind"] == "client" or (i["kind"] == item["kind"] and i["id"] == item["id"])
                for i in g.get("items", [])
            )
        ),
        None,
    )


def verified(grant: dict[str, Any], item: dict[str, Any], ticket: int | None, now: datetime) -> None:
    """The grant remembers the ticket (and its items, for a renewal) and records the contact for the
    owner's digest."""
    if grant.get("verified_ticket") != ticket:
        record(grant, now.isoformat(timespec="seconds"), "ticket", ticket=ticket)
        grant["verified_ticket_items"] = []
    grant["verified_ticket"] = ticket
    # Every subject verified on the ticket: a [renew]'s email names them (ticket_renew.items_named).
    if not ticket_item(grant, item):
        grant.setdefault("verified_ticket_items", []).append(
            {"kind": item["kind"], "id": item["id"], "name": item.get("name") or ""}
        )


def ticket_item(grant: dict[str, Any], item: dict[str, Any]) -> bool:
    """Whether the subject was verified for this grant on its ticket (by type and id)."""
    return any(i["kind"] == item["kind"] and i["id"] == item["id"] for i in grant.get("verified_ticket_items") or [])


def note_action(
    data: dict[str, Any],
    writer: int | None,
    ticket: int | None,
    which: str,
    msg: dict[str, Any],
    parties: dict[str, Any] | None = None,
) -> Action:
    key = str(data.get("state_key"))
    # One note per ticket per verdict: a reply that changes nothing (the same writer, grant, items and rights) adds
    # none, staff read the pair once, not on every reply.
    verdict = hashlib.sha256(json.dumps([writer, msg], sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Action(
        key=action_key(FAMILY, f"ticket:{ticket}", f"note:{which}:{verdict}"),
        family=FAMILY,
        kind="ticket_note",
        params={"ticket_id": ticket, "msg": msg},
        client_id=writer,
        subject=key,
        # A VERIFIED note stands only while its grant does, and while WHMCS shows neither side Closed.
        guard={
            "ticket_exists": ticket,
            **(while_active({"id": which[6:]}) if which.startswith("grant:") else {}),
            **(parties or {}),
        },
    )
