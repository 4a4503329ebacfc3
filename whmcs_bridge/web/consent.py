"""One-time consent pages: GET shows what is asked with Accept / Decline; POST records the decision once
(time, IP address and user agent into the audit chain) and hands it to the rules as an inbox event.
Unknown, expired or used links show a clear page and change nothing."""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from whmcs_bridge.store import audit, consent, inbox
from whmcs_bridge.store.consent import ConsentLink
from whmcs_bridge.store.db import Database

StartResponse = Callable[..., Any]
PREFIX = "/consent/"
EVENTS = {
    "delegation": "DelegationCommand",
    "password-change": "DelegationCommand",
    "ownership-holder": "OwnershipCommand",
    "ownership-requester": "OwnershipCommand",
}
# The two answers each purpose offers (accept, decline), as the page words them.
CHOICES = {
    "ownership-holder": ("I consent", "I object"),
    "ownership-requester": ("Yes, I made this request", "No, this was not me"),
}
DEFAULT_CHOICES = ("Accept", "Decline")
HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the URL: never leak it onwards
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
]
STYLE = "body{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222;line-height:1.5}button{font-size:1em;padding:.5em 1.2em;margin-right:1em}textarea{width:100%}"
STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 405: "405 Method Not Allowed", 410: "410 Gone"}


def page(title: str, body: str) -> bytes:
    return f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'><title>{html.escape(title)}</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n".encode()


def event_data(link: ConsentLink, answer: dict[str, str], now: datetime) -> dict[str, str]:
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
    }


class ConsentPages:
    def __init__(
        self,
        db: Callable[[], Database],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_decision: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.on_decision = on_decision

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        token = environ.get("PATH_INFO", "")[len(PREFIX) :]
        method = environ.get("REQUEST_METHOD", "GET")
        link = self.find(token)
        if link is None:
            return self.reply(
                start_response,
                404,
                "This link is not valid",
                "<p>Check that you copied the whole link from the email.</p>",
            )
        gone = self.gone(link)
        if gone:
            return self.reply(start_response, 410, *gone)
        if method == "GET":
            return self.reply(start_response, 200, "Your decision is needed", self.form(link))
        if method != "POST":
            return self.reply(start_response, 405, "Not allowed", "<p>Use the link from the email.</p>")
        return self.decide(environ, start_response, link)

    def find(self, token: str) -> ConsentLink | None:
        """The link a well-formed token opens; None for a malformed or unknown one."""
        if not token or len(token) > 100 or not token.replace("-", "").replace("_", "").isalnum():
            return None
        return consent.by_token_hash(self.db(), hashlib.sha256(token.encode()).hexdigest())

    def gone(self, link: ConsentLink) -> tuple[str, str] | None:
        if link.used_at:
            return (
                "This link was already used",
                f"<p>Your decision (<strong>{html.escape(link.decision or '')}</strong>) was recorded on {html.escape(link.used_at[:16].replace('T', ' '))} UTC. Nothing else is needed.</p>",
            )
        if datetime.fromisoformat(link.expires_at) <= self.clock():
            return (
                "This link has expired",
                f"<p>It was valid until {html.escape(link.expires_at[:16].replace('T', ' '))} UTC. Contact us if you still want to answer.</p>",
            )
        return None

    @staticmethod
    def form(link: ConsentLink) -> str:
        yes, no = (html.escape(c) for c in CHOICES.get(link.purpose, DEFAULT_CHOICES))
        return (
            f"<p>{html.escape(link.summary)}</p>"
            f"<p>This link works once and expires on {html.escape(link.expires_at[:10])}.</p>"
            "<form method=post><p><label>Comment or reason (optional)<br><textarea name=reason rows=3 maxlength=500></textarea></label></p>"
            f"<button type=submit name=decision value=accept>{yes}</button><button type=submit name=decision value=decline>{no}</button></form>"
        )

    def decide(self, environ: dict[str, Any], start_response: StartResponse, link: ConsentLink) -> Iterable[bytes]:
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), 4096)
        except ValueError:
            length = 0
        form = dict(parse_qsl(environ["wsgi.input"].read(length).decode("utf-8", "replace")))
        decision = form.get("decision")
        if decision not in ("accept", "decline"):
            return self.reply(
                start_response, 400, "Please choose", "<p>Use one of the two buttons.</p>" + self.form(link)
            )
        answer = {
            "decision": decision,
            "ip": environ.get("REMOTE_ADDR", ""),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", "")[:200],
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:300],
            "reason": form.get("reason", "")[:500],
        }
        if not self.record(link, answer, self.clock()):  # someone was faster with the same link, or it just expired
            fresh = consent.get(self.db(), link.id)
            gone = self.gone(fresh) if fresh else None
            return self.reply(start_response, 410, *(gone or ("This link was already used", "")))
        if self.on_decision:
            self.on_decision()
        word = CHOICES.get(link.purpose, ("accepted", "declined"))[0 if decision == "accept" else 1]
        return self.reply(
            start_response,
            200,
            "Thank you",
            f"<p>Your answer (<strong>{html.escape(word)}</strong>) is recorded; you may close this page.</p>",
        )

    def record(self, link: ConsentLink, answer: dict[str, str], now: datetime) -> bool:
        """Claim the link with this answer, audit it and hand it to the rules, all or nothing; False if too late."""
        db = self.db()
        with db.atomic():
            if not consent.claim(
                db, link.id, decision=answer["decision"], ip=answer["ip"], user_agent=answer["user_agent"], now=now
            ):
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
    def reply(start_response: StartResponse, status: int, title: str, body: str) -> list[bytes]:
        data = page(title, body)
        start_response(STATUS[status], [*HEADERS, ("Content-Length", str(len(data)))])
        return [data]
