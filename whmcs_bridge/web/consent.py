"""One-time consent pages: GET shows what is asked with Accept / Decline; POST records the decision once
(time, IP address and user agent into the audit chain) and hands it to the rules as an inbox event.
Unknown, expired or used links show a clear page and change nothing."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl

from babel import Locale

from whmcs_bridge import clock as wallclock
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.delegation.grants import new_grant_subjects
from whmcs_bridge.families.ownership.case import FINAL, OPEN
from whmcs_bridge.families.ownership.live_links import takes_answers
from whmcs_bridge.messages import load
from whmcs_bridge.messages.catalogue import FALLBACK, Catalogue
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.pasted import masked
from whmcs_bridge.store import audit, consent, holds, inbox, states
from whmcs_bridge.store.consent import ConsentLink
from whmcs_bridge.store.db import Database
from whmcs_bridge.web.selfservice import PURPOSES as SELF_SERVICE
from whmcs_bridge.web.selfservice import Refusal, SelfService

StartResponse = Callable[..., Any]
PREFIX = "/consent/"
EVENTS = {
    "delegation": "DelegationCommand",
    "delegation-copies": "DelegationCommand",  # the owner may also choose full copies (access details)
    "delegation-accept": "DelegationCommand",
    "password-change": "DelegationCommand",
    "ownership-holder": "OwnershipCommand",
    "ownership-requester": "OwnershipCommand",
}
HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the URL: never leak it onwards
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    ("Vary", "Accept-Language"),
]
STYLE = "body{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222;line-height:1.5}button{font-size:1em;padding:.5em 1.2em;margin-right:1em}textarea{width:100%}"
STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    410: "410 Gone",
    503: "503 Service Unavailable",
}
GRANT_CONSENTS = ("delegation", "delegation-copies", "delegation-accept")  # answers that would activate a grant
# Answers that act on the grant's services or domains: WHMCS is read first (not_held); a former owner's password
# change never reaches a service staff moved to another client since.
HELD_READ = (*GRANT_CONSENTS, "password-change")
OWNERSHIP_LINKS = ("ownership-holder", "ownership-requester")
TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)


def page(body: str, lang: str) -> bytes:
    """A whole page around a rendered `page` message; its <h1> is the page's title too."""
    found = TITLE.search(body)
    title = re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""
    return f"<!doctype html><html lang={html.escape(lang.replace('_', '-'))}><head><meta charset=utf-8><meta name=viewport content='width=device-width'><title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>\n".encode()


class _NoNames:
    """The consent pages name no WHMCS record (the summary was written when the email was sent)."""

    def client(self, client_id: int) -> Named:
        return Named(f"#{client_id}", client_id)

    def service(self, service_id: int) -> Named:
        return Named(f"#{service_id}", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named(f"#{domain_id}", domain_id)


def browser_locale(header: str, catalogue: Catalogue) -> str:
    """The best of the catalogue's languages for a browser's Accept-Language (for a link we do not know,
    so no email's language); the configured default when none fits."""
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in header.split(",") if part.strip()]
    found = Locale.negotiate(wanted[:10], catalogue.languages(), sep="_") if wanted else None
    return str(found) if found else catalogue.default_locale


# Purposes whose page offers a third answer: accept with full copies, access details included (issue 16:
# the credential choice belongs to the owner, per grant, within what the delegate's role allows).
WITH_COPIES = {"delegation-copies"}


def event_data(link: ConsentLink, answer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What the rules see of an answer: a consent command about the link's grant or case."""
    return {
        "command": "consent",
        "purpose": link.purpose,
        "grant": link.subject,
        "case": link.subject,
        "decision": answer["decision"],
        "user_agent": answer["user_agent"],
        "reason": answer["reason"],
        "ip": answer["ip"],
        "at": now.isoformat(timespec="seconds"),
        **({"not_held": answer["not_held"]} if answer.get("not_held") else {}),
        **({"late": answer["late"]} if answer.get("late") else {}),
        **({"holder_users": answer["holder_users"]} if "holder_users" in answer else {}),
        **({"holder_owner": answer["holder_owner"]} if answer.get("holder_owner") else {}),
    }


# What a page's form may weigh: its 500-character reason in any script (a Thai or Chinese character is 3 bytes of
# UTF-8 and 9 once form-encoded: 4.5 KB) with its other fields. A form cut short would lose the fields after the
# reason (the answer itself: thirteenth round HIGH 4).
FORM_BYTES = 16 * 1024


def read_form(environ: dict[str, Any]) -> dict[str, str]:
    """The fields a page posted (at most FORM_BYTES of them). A field sent twice with two values (a hand-made
    `decision=accept&decision=decline`: no page sends it) is sent as empty, so that it is refused as missing rather
    than the last value taken for the answer (seventeenth break round LOW)."""
    try:
        length = min(max(int(environ.get("CONTENT_LENGTH") or 0), 0), FORM_BYTES)
    except ValueError:
        length = 0
    fields: dict[str, str] = {}
    # An empty value counts (`service=110&service=` is two values, not one: twenty-first break round L4).
    for name, value in parse_qsl(environ["wsgi.input"].read(length).decode("utf-8", "replace"), keep_blank_values=True):
        fields[name] = value if fields.get(name, value) == value else ""
    return fields


class ConsentPages:
    def __init__(
        self,
        db: Callable[[], Database],
        *,
        clock: Callable[[], datetime] = lambda: wallclock.wall(),
        on_decision: Callable[[], None] | None = None,
        catalogue: Catalogue | None = None,
        zone: tzinfo = UTC,
        may_renew: Callable[[str], bool] | None = None,
        whmcs_url: str | None = None,
        read_service: Callable[[int], Any] | None = None,
        read_domain: Callable[[int], Any] | None = None,
        read_owned: Callable[[int], list[dict[str, Any]]] | None = None,
        read_client_status: Callable[[int], str] | None = None,
        read_client_exists: Callable[[int], bool] | None = None,
        read_account: Callable[[int], list[str]] | None = None,
        read_users: Callable[[int], list[str]] | None = None,
        read_owner: Callable[[int], int] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.on_decision = on_decision
        self.catalogue = catalogue or load.shipped()
        self.zone = zone
        self.read_service, self.read_domain = read_service, read_domain
        self.read_client_status = read_client_status  # GetClientsDetails `status` of one client
        self.read_account = read_account  # every service and domain in a client's account (whmcs.api.account_items)
        self.read_users = read_users  # the addresses of a client's account's users (whmcs.api.account_user_emails)
        self.read_owner = read_owner  # a client's account's owner user (GetClientsDetails `owner_user_id`)
        # WHMCS's client-area invoice page (viewinvoice.php, where the ClientAreaPageViewInvoice hook of
        # DD:hooks-reference/client-area-interface.md runs): the client logs in there and pays.
        base = (whmcs_url or "").rstrip("/")
        self.self_service = SelfService(
            db,
            self.catalogue,
            zone,
            may_renew=may_renew or (lambda role: role == "technical"),  # the default roles' rights
            pay_link=lambda invoice: f"{base}/viewinvoice.php?id={invoice}" if base else "",
            read_service=read_service,  # the delegate's page shows WHMCS's status and next due date now
            read_domain=read_domain,
            read_owned=read_owned,  # a whole-account contact's page lists the owner's services and domains now
            read_client_exists=read_client_exists,  # an access ended: is the other side still there to be emailed
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        token = environ.get("PATH_INFO", "")[len(PREFIX) :]
        method = environ.get("REQUEST_METHOD", "GET")
        link = self.find(token)
        if link is None:
            lang = browser_locale(environ.get("HTTP_ACCEPT_LANGUAGE", ""), self.catalogue)
            return self.reply(start_response, 404, self.text("consent.invalid", lang))
        lang = link.lang or FALLBACK  # a link made before its language was kept has an English summary
        gone = self.gone(link)
        if gone:
            return self.reply(start_response, 410, gone)
        if method not in ("GET", "POST"):
            return self.reply(start_response, 405, self.text("consent.not_allowed", lang))
        if link.purpose in SELF_SERVICE:
            return self.self_serve(environ, start_response, link, method)
        if method == "GET":
            return self.reply(start_response, 200, self.form(link))
        return self.decide(environ, start_response, link)

    def self_serve(
        self, environ: dict[str, Any], start_response: StartResponse, link: ConsentLink, method: str
    ) -> Iterable[bytes]:
        """A delegation self-service page: shown until one click uses the link."""
        lang = link.lang or FALLBACK
        if method == "GET":
            return self.reply(start_response, 200, self.self_service.page(link))
        form, answer = self.posted(environ)
        refused = self.self_service.refusal(link, form, self.clock())
        if refused and refused.case == "bad_field":  # a changed form: said, audited, the link left as it was
            self.self_service.tampered(link, answer, refused, self.clock())
        elif refused and not self.self_service.refuse(link, form, answer, refused, self.clock()):
            fresh = consent.get(self.db(), link.id) or link
            return self.reply(start_response, 410, self.gone(fresh) or self.text("consent.invalid", lang))
        if refused:
            said = self.self_service.said(refused.case, refused.fields, lang)
            return self.reply(
                start_response, 400, self.text("delegation.page_done", lang, what="", grant="", refused=said)
            )
        done = self.self_service.act(link, form, answer, self.clock())
        if isinstance(done, Refusal):  # the same renewal asked a moment ago through another link
            said = self.self_service.said(done.case, done.fields, lang)
            return self.reply(
                start_response, 400, self.text("delegation.page_done", lang, what="", grant="", refused=said)
            )
        if not done:
            fresh = consent.get(self.db(), link.id) or link
            return self.reply(start_response, 410, self.gone(fresh) or self.text("consent.invalid", lang))
        if self.on_decision:
            self.on_decision()
        alone = "yes" if form["do"] == "revoke" and self.self_service.other_side_gone(link, form["grant"]) else None
        return self.reply(
            start_response,
            200,
            self.text("delegation.page_done", lang, what=form["do"], grant=form["grant"], refused="", alone=alone),
        )

    @staticmethod
    def posted(environ: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """The form a page posted (read_form), and who posted it."""
        form = read_form(environ)
        answer = {
            "ip": environ.get("REMOTE_ADDR", ""),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", "")[:200],
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:300],
        }
        return form, answer

    def text(self, message_id: str, lang: str, **data: Any) -> tuple[str, str]:
        """A page message in the reader's language: (its language, its HTML)."""
        made = self.catalogue.render(message_id, data, Reader(lang, None, self.zone), _NoNames())
        return made.lang, made.body

    def choice(self, link: ConsentLink, decision: str) -> str:
        """How the page words an answer for the link's purpose ("I consent", "Accepter"), as plain text."""
        return html.unescape(
            self.text("consent.choice", link.lang or FALLBACK, purpose=link.purpose, decision=decision)[1]
        ).strip()

    def find(self, token: str) -> ConsentLink | None:
        """The link a well-formed token opens; None for a malformed or unknown one."""
        if not token or len(token) > 100 or not token.replace("-", "").replace("_", "").isalnum():
            return None
        return consent.by_token_hash(self.db(), hashlib.sha256(token.encode()).hexdigest())

    def gone(self, link: ConsentLink) -> tuple[str, str] | None:
        lang = link.lang or FALLBACK
        if link.used_at and link.purpose in SELF_SERVICE:  # what a self-service link was used for, and when
            return self.text("delegation.page_used", lang, **self.self_service.used(link))
        if link.used_at:
            return self.text("consent.used", lang, choice=self.choice(link, link.decision or ""), used_at=link.used_at)
        if not takes_answers(self.db(), link, self.clock()):  # past its deadline, and no late answer taken
            return self.text("consent.expired", lang, expires=link.expires_at)
        if link.purpose in ("delegation", "delegation-copies", "delegation-accept"):
            # A request withdrawn or lapsed meanwhile (or answered through the other side's link) is not
            # waiting any more: the link does nothing, and says so.
            grant = states.get(self.db(), "delegation", f"grant:{link.subject}")
            if grant is not None and grant.get("status") != "pending":
                status = grant.get("status") if grant.get("status") in ("withdrawn", "lapsed") else "answered"
                if status == "withdrawn" and grant.get("declined_by") == "delegate":  # confirm: both, not a withdrawal
                    status = "declined"
                return self.text("consent.request_over", lang, status=status)
        if link.purpose in OWNERSHIP_LINKS:
            return self.case_over(link)
        return None

    def expired(self, link: ConsentLink) -> bool:
        return datetime.fromisoformat(link.expires_at) <= self.clock()

    def standing(self, link: ConsentLink) -> str:
        """What the holder's page says before and after an answer that no longer decides the case by itself:
        "late" (past its deadline), "disputed" (its objection stands: break round 14 L2), or "" for none."""
        if link.purpose != "ownership-holder":
            return ""
        if self.expired(link):
            return "late"
        case = states.get(self.db(), "ownership", f"case:{link.subject}") or {}
        return "disputed" if case.get("status") == "disputed" else ""

    def case_over(self, link: ConsentLink) -> tuple[str, str] | None:
        """An ownership case that is over (completed, rejected, cancelled) asks nothing any more: its link says the
        request is closed, read when the page is shown and when it is answered, and whether a newer case on one of
        its subjects is open (a holder who kept the first email answered a cancelled case while the reopened one
        ended "no answer": issue 17, twelfth round H3)."""
        db = self.db()
        key = f"case:{link.subject}"
        case = states.get(db, "ownership", key)
        if case is None or case.get("status") not in FINAL:
            return None
        refs = [f"{s['kind']}:{s['id']}" for s in case.get("subjects") or []]
        others = [states.get(db, "ownership", k) for k in states.keys_for_refs(db, "ownership", refs) if k != key]
        newer = any(o and o.get("status") in OPEN and o.get("status") != "draft" for o in others)
        return self.text("ownership.page_closed", link.lang or FALLBACK, status=case["status"], newer=int(newer))

    def form(self, link: ConsentLink, retry: bool = False) -> tuple[str, str]:
        standing = self.standing(link)
        if standing:  # said first: what an answer given now does
            lang, note = self.text("ownership.page_standing", link.lang or FALLBACK, standing=standing, done=0,
                                   deadline=link.expires_at, choice="")  # fmt: skip
            lang, form = self.plain_form(link, retry)
            return lang, note + form
        return self.plain_form(link, retry)

    def plain_form(self, link: ConsentLink, retry: bool = False) -> tuple[str, str]:
        return self.text(
            "consent.form",
            link.lang or FALLBACK,
            summary=link.summary,
            expires=link.expires_at,
            accept=self.choice(link, "accept"),
            decline=self.choice(link, "decline"),
            copies=self.choice(link, "accept-copies") if link.purpose in WITH_COPIES else "",
            retry="yes" if retry else "",
        )

    def decide(self, environ: dict[str, Any], start_response: StartResponse, link: ConsentLink) -> Iterable[bytes]:
        form = read_form(environ)
        decision = form.get("decision")
        if decision not in ("accept", "decline") and not (decision == "accept-copies" and link.purpose in WITH_COPIES):
            return self.reply(start_response, 400, self.form(link, retry=True))
        answer: dict[str, Any] = {
            "decision": decision,
            "ip": environ.get("REMOTE_ADDR", ""),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", "")[:200],
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:300],
            # A code or password typed into the reason is never kept nor told to the other party (pasted.py).
            "reason": masked(form.get("reason", "")[:500]),
        }
        standing = self.standing(link)  # read before the answer changes it
        if standing == "late":
            answer["late"] = "yes"
        try:
            moved = self.not_held(link) if decision != "decline" and link.purpose in HELD_READ else []
            reads = self.holder_reads(link) if decision == "accept" else {}
        except BridgeError:  # WHMCS not read: nothing is recorded, the link still works
            said = self.text(
                "delegation.consent_not_held", link.lang or FALLBACK, kind="", id="", reader="unread", side=""
            )
            return self.reply(start_response, 503, said)
        if moved:  # the rules hear what WHMCS showed, and do not activate the grant (lifecycle.void)
            answer["not_held"] = moved
        answer.update(reads)
        if not self.record(link, answer, self.clock()):  # someone was faster with the same link, or it just expired
            fresh = consent.get(self.db(), link.id) or link
            gone = self.gone(fresh)
            return self.reply(start_response, 410, gone or self.text("consent.invalid", link.lang or FALLBACK))
        if self.on_decision:
            self.on_decision()
        if moved:
            reader = {"delegation-accept": "delegate", "password-change": "password"}.get(link.purpose, "owner")
            first = moved[0]
            said = self.text(
                "delegation.consent_not_held",
                link.lang or FALLBACK,
                kind=first["kind"],
                id=first["id"],
                reader=reader,
                side=first.get("side", ""),
            )
            return self.reply(start_response, 409, said)
        if standing:  # kept for staff: the page says so, not that the answer decided anything
            said = self.text("ownership.page_standing", link.lang or FALLBACK, standing=standing, done=1,
                             deadline=link.expires_at, choice=self.choice(link, decision))  # fmt: skip
            return self.reply(start_response, 200, said)
        return self.reply(
            start_response, 200, self.text("consent.thanks", link.lang or FALLBACK, choice=self.choice(link, decision))
        )

    def not_held(self, link: ConsentLink) -> list[dict[str, Any]]:
        """What WHMCS shows now that forbids the answer, read when it comes: the grant's owner or delegate Closed
        (GetClientsDetails `status`, DD:api-reference/getclientsdetails.md), for an answer that would activate the
        grant, as a grant is refused on or to a closed account when it is made ({"kind": "client", "id", "side"});
        and the grant's services and domains no longer under its owner (GetClientsProducts / GetClientsDomains
        `userid`, DD:api-reference/getclientsproducts.md): staff may have moved one since the request ({"kind",
        "id", "holder"}); first, an acceptance after the request's last day ({"kind": "expired", "id": the day}).
        Empty when nothing is, or WHMCS is not read here (no reader given)."""
        grant = states.get(self.db(), "delegation", f"grant:{link.subject}")
        if grant is None:
            return []
        out = self.held(link, grant)
        expires = grant.get("expires")
        if link.purpose in GRANT_CONSENTS and expires and datetime.fromisoformat(str(expires)) <= self.clock():
            # The request's last day has passed: it would start after it ended (lifecycle.past_last_day).
            out.insert(0, {"kind": "expired", "id": str(expires)[:10]})
        if link.purpose in GRANT_CONSENTS and self.read_client_status is not None:
            for side in ("delegate", "owner"):
                if self.read_client_status(int(grant[side])) == "Closed":
                    out.append({"kind": "client", "id": int(grant[side]), "side": side})
        for item in grant.get("items") or []:
            if link.purpose == "password-change" and item["kind"] != "service":
                continue  # only a service's password changes
            read = {"service": self.read_service, "domain": self.read_domain}.get(item["kind"])
            if read is None:
                continue
            found = read(int(item["id"]))
            holder = found.client_id if found is not None else None
            if holder != int(grant["owner"]):
                out.append({"kind": item["kind"], "id": int(item["id"]), "holder": holder})
        return out

    def holder_users(self, link: ConsentLink) -> list[str] | None:
        """For a holder's consent in an ownership case: the addresses of the holder's account's users now, read when
        the answer comes (GetClientsDetails `users`, DD:api-reference/getclientsdetails.md). Such a user reads the
        account's email history, where the holder's link is: one of the requester's, invited since the case opened,
        could give the holder's consent (twenty-fifth break round, ownership HIGH 4; shared.users_of_both).
        None when not read (another link, or WHMCS not read here)."""
        if link.purpose != "ownership-holder" or self.read_users is None:
            return None
        case = states.get(self.db(), "ownership", f"case:{link.subject}")
        holder = (case or {}).get("holder", {}).get("client")
        return sorted(self.read_users(int(holder))) if holder else None

    def holder_reads(self, link: ConsentLink) -> dict[str, Any]:
        """What WHMCS shows of the holder's account when its consent comes, as the answer carries it: its users
        (holder_users) and its owner (holder_owner), each left out when not read."""
        users, owner = self.holder_users(link), self.holder_owner(link)
        return {**({"holder_users": users} if users is not None else {}), **({"holder_owner": owner} if owner else {})}

    def holder_owner(self, link: ConsentLink) -> int | None:
        """For a holder's consent in an ownership case: the holder's account's owner user now, read when the answer
        comes (GetClientsDetails `owner_user_id`, DD:api-reference/getclientsdetails.md). WHMCS's "Make Owner" since
        the opening gives another person the account and its email history, where the holder's link is: the rules
        hold such a consent for staff (flow.new_holder_owners; twenty-fifth break round, ownership MEDIUM 10), before
        the watch's next read has seen the change. None when not read."""
        if link.purpose != "ownership-holder" or self.read_owner is None:
            return None
        case = states.get(self.db(), "ownership", f"case:{link.subject}")
        holder = (case or {}).get("holder", {}).get("client")
        return (self.read_owner(int(holder)) or None) if holder else None

    def held(self, link: ConsentLink, grant: dict[str, Any]) -> list[dict[str, Any]]:
        """The hold another family put since the request on what the answer would act on (an ownership dispute, the
        lock after a completed change: store/holds), as staff's grant is refused on it when made (delegation/staff.py):
        an acceptance, on each item, the owner's account, and for a whole-account grant each service and domain WHMCS
        shows in the account now; a password change, on each service ({"kind": "hold", "id": subject, "reason"})."""
        owner, items = int(grant["owner"]), grant.get("items") or []
        if link.purpose == "password-change":
            subjects = [f"service:{int(i['id'])}" for i in items if i["kind"] == "service"]
        elif link.purpose in GRANT_CONSENTS:
            subjects = new_grant_subjects(items, owner)
            if "client" in {i["kind"] for i in items} and self.read_account is not None:
                subjects += self.read_account(owner)
        else:
            return []
        now = self.clock()
        return [
            {"kind": "hold", "id": subject, "reason": reason}
            for subject in dict.fromkeys(subjects)
            if (reason := holds.refusal(self.db(), [subject], now))
        ]

    def record(self, link: ConsentLink, answer: dict[str, str], now: datetime) -> bool:
        """Claim the link with this answer, audit it and hand it to the rules, all or nothing; False if too late."""
        db = self.db()
        with db.atomic():
            if not consent.claim(
                db, link.id, decision=answer["decision"], ip=answer["ip"], user_agent=answer["user_agent"], now=now,
                late=bool(answer.get("late")),
            ):  # fmt: skip
                return False
            audit.append(
                db,
                "consent.decided",
                actor="link-holder",
                subject=f"{link.purpose}:{link.subject}",
                case_id=link.subject if link.purpose.startswith("ownership") else None,
                detail={"purpose": link.purpose, "subject": link.subject, **answer, "link": link.id},
                at=now.isoformat(timespec="seconds"),
            )
            inbox.add(
                db,
                event_id=f"consent:{uuid.uuid4().hex}",
                type=EVENTS[link.purpose],
                source="cli",
                body={
                    "type": EVENTS[link.purpose],
                    "occurred_at": now.isoformat(),
                    "data": event_data(link, answer, now),
                },
                received_at=now.isoformat(),
                occurred_at=now.isoformat(),
            )
        return True

    @staticmethod
    def reply(start_response: StartResponse, status: int, text: tuple[str, str]) -> list[bytes]:
        lang, body = text
        data = page(body, lang)
        start_response(
            STATUS[status], [*HEADERS, ("Content-Length", str(len(data))), ("Content-Language", lang.replace("_", "-"))]
        )
        return [data]
