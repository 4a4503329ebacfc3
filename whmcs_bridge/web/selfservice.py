"""Contact delegation's self-service pages, behind the same one-time, expiring links as the consent pages
(every notice and copy carries one): the owner sees who acts on what, since when, and ends an access with
one click; the delegate sees the services and domains it is contact for (status and next due date read from WHMCS when
the page is shown, never the bridge's memory of them; one staff moved to another client is said to be no longer in
the owner's account, on both pages) and asks for a renewal with one click, its invoice and WHMCS's pay link shown.
A click uses the link, done or refused: it is recorded (time, IP address, user agent, and why a refused one was
refused) in the audit chain; a click that is done is handed to the rules as the
same command staff would give. A used link's page says when, and what for."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from whmcs_bridge import staff
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.delegation import renewal_scope
from whmcs_bridge.families.delegation.grants import FAMILY
from whmcs_bridge.messages.catalogue import FALLBACK, Catalogue
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.store import audit, consent, holds, inbox, states
from whmcs_bridge.store.consent import ConsentLink
from whmcs_bridge.store.db import Database

if TYPE_CHECKING:
    from whmcs_bridge.whmcs.api import WhmcsApi

PURPOSES = {"delegation-owner": "owner", "delegation-delegate": "delegate"}
LIVE = ("active", "pending")
ACTIONS = ("revoke", "renew")
# What a link was used for, as its record keeps it: "renew g1a2b3c", or "refused renew g1a2b3c [open kind=service
# id=110 n=1 invoice=8 status=invoiced]: why" (the refusal's case and fields, which its page says in the reader's
# language, then the same in English for the audit chain; a record made before the case was kept has none).
USED = re.compile(
    r"(?P<refused>refused )?(?P<what>\S+) (?P<grant>\S+)(?: \[(?P<case>[^\]]*)\])?(?:: (?P<why>.*))?", re.DOTALL
)


@dataclass(frozen=True)
class Refusal:
    """Why a click is not done: its case and fields (delegation.page_refused, in the reader's language) and the
    same as one English sentence (the audit chain's)."""

    case: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)

    def kept(self) -> str:
        """The case and fields as the link's record keeps them: "open kind=service id=110"."""
        return " ".join([self.case, *(f"{k}={quote(v, safe='')}" for k, v in self.fields.items())])


FORM_ID = re.compile(r"[1-9][0-9]{0,17}")  # no id is 0, and none is written with a leading 0


def form_id(value: str | None) -> int | None:
    """A service's or domain's id as the page's form sends it: ASCII digits, no more than an id can have (str.isdigit
    also takes "²", which int() refuses, and int() refuses 4,300 digits: twentieth break round M1), never 0 (no item,
    once read as "the grant's first": twenty-first round M1); else None."""
    return int(value) if value and FORM_ID.fullmatch(value) else None


def changed(field_name: str, value: str) -> Refusal:
    """A form the page did not offer (a field changed in the POST: outside tester L1): refused naming the field, and
    the link is not used (SelfService.tampered)."""
    shown = value[:40]
    return Refusal("bad_field", f"The form sent {field_name} {shown!r}, which this page did not offer.",
                   {"field": field_name, "value": shown})  # fmt: skip


def kept_refusal(case: str) -> tuple[str, dict[str, str]]:
    """A refusal's case and fields back from the link's record (Refusal.kept)."""
    name, *pairs = case.split()
    return name, {k: unquote(v) for k, _, v in (p.partition("=") for p in pairs)}


log = logging.getLogger("whmcs_bridge.selfservice")


def owned(api: WhmcsApi, client_id: int) -> list[dict[str, Any]]:
    """A client's services (Active or Suspended, what a renewal renews) and active domains as WHMCS lists them now
    (GetClientsProducts and GetClientsDomains with `clientid`, DD:api-reference/getclientsproducts.md,
    getclientsdomains.md): what a whole-account contact may ask to renew on its page; and its domains past their
    expiry date that our staff may still save (renewal_scope.EXPIRED_DOMAIN), shown with their status."""
    items: list[dict[str, Any]] = [
        {
            "kind": "service",
            "id": s.id,
            "name": s.domain or s.name,
            "status": s.status,
            "due": s.nextduedate.isoformat() if s.nextduedate else None,
            "live": True,
        }
        for s in api.services(client_id=client_id)
        if s.status in ("Active", "Suspended")
    ]
    items += [
        {
            "kind": "domain",
            "id": d.id,
            "name": d.domainname,
            "status": d.status,
            "due": d.nextduedate.isoformat() if d.nextduedate else None,
            "live": True,
        }
        for d in api.domains(client_id=client_id)
        if d.status == "Active" or d.status in renewal_scope.EXPIRED_DOMAIN
    ]
    return items


class _Plain:
    """The pages name records by the names the grants keep (WHMCS's, as last read): no call from here."""

    def client(self, client_id: int) -> Named:
        return Named(f"#{client_id}", client_id)

    def service(self, service_id: int) -> Named:
        return Named(f"#{service_id}", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named(f"#{domain_id}", domain_id)


def whole(grant: dict[str, Any]) -> bool:
    """Whether the grant covers the owner's whole account (the page says so in its language)."""
    return any(i["kind"] == "client" for i in grant.get("items") or [])


def covers(grant: dict[str, Any]) -> str:
    """What a grant on named services and domains covers, by the names it keeps; a name two items share (a hosting
    and a domain of one name are two things) is followed by each one's id."""
    items = list({(i["kind"], i["id"]): i for i in grant.get("items") or []}.values())
    names = [str(i.get("name") or f"{i['kind']} #{i['id']}") for i in items]
    return ", ".join(n if names.count(n) == 1 else f"{n} (#{i['id']})" for n, i in zip(names, items, strict=True))


class SelfService:
    def __init__(
        self,
        db: Callable[[], Database],
        catalogue: Catalogue,
        zone: tzinfo,
        *,
        may_renew: Callable[[str], bool],
        pay_link: Callable[[int], str],
        read_service: Callable[[int], Any] | None = None,
        read_domain: Callable[[int], Any] | None = None,
        read_owned: Callable[[int], list[dict[str, Any]]] | None = None,
        read_client_exists: Callable[[int], bool] | None = None,
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.zone = zone
        self.may_renew = may_renew  # a role's right to renew (delegation.roles.ROLE.renew)
        self.pay_link = pay_link  # WHMCS's client-area page of an invoice
        self.read_service = read_service  # GetClientsProducts of one service (WhmcsApi.service), read per page
        self.read_domain = read_domain  # GetClientsDomains of one domain, read per page
        # The owner's services and domains now (GetClientsProducts / GetClientsDomains with its clientid), for a
        # grant on the whole account: [{"kind", "id", "name", "status", "due", "live": True}].
        self.read_owned = read_owned
        self.read_client_exists = read_client_exists  # GetClientsDetails: False once staff deleted the client

    def text(self, message_id: str, lang: str, *, currency: str | None = None, **data: Any) -> str:
        """A page's text in `lang`; its amounts in `currency` (the invoice's) when known."""
        return self.catalogue.render(message_id, data, Reader(lang, currency, self.zone), _Plain()).body

    def grants(self, link: ConsentLink) -> list[dict[str, Any]]:
        """The link holder's grants the link shows: all of them, or (a link in a copy of one owner's email, its
        scope "owner:11") those with that owner only."""
        side = PURPOSES[link.purpose]
        owner = link.scope.removeprefix("owner:") if link.scope else None
        return [
            g
            for g in staff.states_of(self.db(), FAMILY, "grant:")
            if str(g.get(side)) == link.subject and (owner is None or str(g.get("owner")) == owner)
        ]

    def page(self, link: ConsentLink) -> tuple[str, str]:
        lang = link.lang or FALLBACK
        grants = self.grants(link)
        if PURPOSES[link.purpose] == "owner":
            return lang, self.owner_page(link, grants, lang)
        return lang, self.delegate_page(link, grants, lang)

    def owner_page(self, link: ConsentLink, grants: list[dict[str, Any]], lang: str) -> str:
        shown = [g for g in grants if g.get("status") in LIVE or g.get("ended")]
        name = next((g.get("owner_name") for g in grants if g.get("owner_name")), None) or f"#{link.subject}"
        live = [g for g in shown if g.get("status") in LIVE]
        away = {g["id"]: self.moved_away(g) for g in live if not whole(g)}
        rows = [
            self.text(
                "delegation.page_owner_row",
                lang,
                delegate=g.get("delegate_name") or f"#{g['delegate']}",
                covers=covers(g),
                moved=", ".join(f"{i.get('name') or i['kind']} (#{i['id']})" for i in away.get(g["id"]) or []),
                moved_many="yes" if len(away.get(g["id"]) or []) > 1 else None,
                whole="yes" if whole(g) else None,
                role=g["role"],
                since=g["since"],
                status=g["status"],
                expires=g.get("expires"),
                grant=g["id"],
            )
            for g in live + [g for g in shown if g not in live]
        ]
        head = self.text("delegation.page_owner", lang, owner=name, grants=len(live), expires=link.expires_at)
        return head + "".join(rows)

    def delegate_page(self, link: ConsentLink, grants: list[dict[str, Any]], lang: str) -> str:
        name = next((g.get("delegate_name") for g in grants if g.get("delegate_name")), None) or f"#{link.subject}"
        # One row per service or domain, however many of the delegate's grants cover it: the one that may renew it
        # if any does (a technical and an administrative grant on one hosting list it once, counted once).
        rows: dict[tuple[Any, str, int], tuple[bool, bool, str]] = {}
        for g in (g for g in grants if g.get("status") == "active"):
            for item in self.items(g):
                key = (g["owner"], item["kind"], int(item["id"]))
                made = self.delegate_row(g, item, lang)
                if key not in rows or (made[1] and not rows[key][1]):
                    rows[key] = made
        # The heading counts what the delegate is contact for now: not an item staff moved to another client.
        held = sum(1 for away, _, _ in rows.values() if not away)
        head = self.text("delegation.page_delegate", lang, delegate=name, services=held, expires=link.expires_at)
        return head + "".join(text for _, _, text in rows.values())

    def delegate_row(self, g: dict[str, Any], item: dict[str, Any], lang: str) -> tuple[bool, bool, str]:
        """One item's row on the delegate's page: (moved away, may renew, text)."""
        live = item.get("live")  # read from WHMCS just now (a whole-account grant's), else read it here
        status, due, away = (item["status"], item["due"], False) if live else self.in_whmcs(g, item)
        if away:  # another client's now: its status and dates are not the owner's, nothing to renew
            status = due = None
        mine = (item["kind"], item["id"])
        last = next((r for r in reversed(g.get("renewals") or []) if renewal_scope.item_of(r) == mine), None)
        invoice = last.get("delegate_invoice") if last else None
        may_renew = (
            not away
            and self.may_renew(g["role"])
            and renewal_scope.renewable_now(item["kind"], status)
            and renewal_scope.open_renewal(g, item["id"], item["kind"]) is None
        )
        text = self.text(
            "delegation.page_delegate_row",
            lang,
            currency=last.get("currency") if last else None,
            owner=g.get("owner_name") or f"#{g['owner']}",
            service=item.get("name") or f"#{item['id']}",
            id=str(item["id"]),
            kind=item["kind"],
            status=status,
            due=due,
            grant=g["id"],
            moved="yes" if away else "",
            may_renew="yes" if may_renew else "",
            expired="yes" if renewal_scope.expired_domain(item["kind"], status) else "",
            renewal=last["status"] if last else "",
            invoice=str(invoice) if invoice else "",
            amount=last.get("amount") if last else "",
            pay_link=self.pay_link(invoice) if invoice else "",
        )
        return bool(away), bool(may_renew), text

    def items(self, grant: dict[str, Any]) -> list[dict[str, Any]]:
        """What the delegate may ask to renew through a grant: its listed services and domains, or, for a grant on
        the owner's whole account, the owner's services and domains as WHMCS lists them now (none when WHMCS
        cannot be read)."""
        if not renewal_scope.whole_account(grant):
            return [i for i in grant.get("items") or [] if i["kind"] in renewal_scope.RENEWABLE]
        if self.read_owned is None:
            return []
        try:
            return self.read_owned(int(grant["owner"]))
        except BridgeError as exc:
            log.warning("self-service page: client %s's services not read from WHMCS: %s", grant["owner"], exc)
            return []

    def in_whmcs(self, grant: dict[str, Any], item: dict[str, Any]) -> tuple[str | None, str | None, bool]:
        """A service's (or domain's) status and next due date as WHMCS has them now (a renewal, staff or the
        owner's payment may have moved the date since the bridge last read it), and whether it is no longer in the
        owner's account (staff moved it to another client, or WHMCS has it no more); unknown (None, None, False)
        when WHMCS cannot be read."""
        read, found = self.whmcs_record(item["kind"], int(item["id"]))
        if not read:
            return None, None, False
        if found is None or found.client_id != int(grant["owner"]):
            return None, None, True
        due = found.nextduedate.isoformat() if found.nextduedate else None
        return str(found.status), due, False

    def whmcs_record(self, kind: str, item_id: int) -> tuple[bool, Any]:
        """(read, record): WHMCS's service or domain now (GetClientsProducts / GetClientsDomains, whose `userid` /
        client id says who holds it: DD:api-reference/getclientsproducts.md, getclientsdomains.md), None when
        WHMCS has none; read False when WHMCS could not be read (or no reader was given)."""
        reader = self.read_domain if kind == "domain" else self.read_service
        if reader is None:
            return False, None
        try:
            return True, reader(item_id)
        except BridgeError as exc:
            log.warning("self-service page: %s %s not read from WHMCS: %s", kind, item_id, exc)
            return False, None

    def moved_away(self, grant: dict[str, Any]) -> list[dict[str, Any]]:
        """The grant's services and domains WHMCS no longer has in the owner's account (one read each; none when
        WHMCS cannot be read), for the owner's page."""
        out = []
        for item in grant.get("items") or []:
            if item["kind"] not in renewal_scope.RENEWABLE:
                continue
            read, found = self.whmcs_record(item["kind"], int(item["id"]))
            if read and (found is None or found.client_id != int(grant["owner"])):
                out.append(item)
        return out

    def other_side_gone(self, link: ConsentLink, grant_id: str) -> bool:
        """Whether WHMCS no longer has the grant's other side (staff deleted the client), so the end is emailed to
        the link holder alone (the other side's note and email are cancelled: ending.end); False when unknown."""
        grant = next((g for g in self.grants(link) if g["id"] == grant_id), None)
        if grant is None or self.read_client_exists is None:
            return False
        other = "delegate" if PURPOSES[link.purpose] == "owner" else "owner"
        try:
            return not self.read_client_exists(int(grant[other]))
        except BridgeError as exc:
            log.warning("self-service page: client %s not read from WHMCS: %s", grant[other], exc)
            return False

    def used(self, link: ConsentLink) -> dict[str, str]:
        """A used link's page fields (delegation.page_used): when, what for, or why it was refused (in the link's
        language when its record keeps the refusal's case)."""
        found = USED.fullmatch(link.decision or "")
        if found is None:
            return {"what": "", "grant": "", "used_at": link.used_at or "", "refused": ""}
        refused = ""
        if found["refused"]:
            refused = self.said(*kept_refusal(found["case"]), link.lang or FALLBACK) if found["case"] else found["why"]
        return {"what": found["what"], "grant": found["grant"], "used_at": link.used_at or "", "refused": refused or ""}

    def said(self, case: str, fields: dict[str, str], lang: str) -> str:
        """A refusal in the reader's language, as plain text (the page escapes it)."""
        return self.text("delegation.page_refused", lang, why=case, **fields).strip()

    def refusal(self, link: ConsentLink, form: dict[str, str], now: datetime) -> Refusal | None:
        """Why the click cannot be done, or None: the grant must be the link holder's (and within the link's scope)
        and active, and a renewal must be allowed, of an item WHMCS shows in the owner's account now, that no ownership
        case holds (store/holds), and not already open."""
        what, grant_id = form.get("do"), form.get("grant", "")
        grant = next((g for g in self.grants(link) if g["id"] == grant_id), None)
        if what not in ACTIONS:
            return changed("do", form.get("do", ""))
        if grant is None:
            return changed("grant", grant_id)
        if grant.get("status") != "active":
            return Refusal("ended", f"This access ({grant_id}) is no longer active.", {"grant": grant_id})
        if what == "revoke" and PURPOSES[link.purpose] != "owner":
            return Refusal("owner_only", "Only the owner can end this access here.")
        if what == "renew":
            return self.renew_refusal(link, grant, form, now)
        return None

    def renew_refusal(
        self, link: ConsentLink, grant: dict[str, Any], form: dict[str, str], now: datetime
    ) -> Refusal | None:
        """Why a renew click cannot be done (refusal), or None."""
        if PURPOSES[link.purpose] != "delegate" or not self.may_renew(grant["role"]):
            # The page showed no renew button (the owner's page, or a role that may not renew): a changed form,
            # refused without using the link (seventeenth break round L2).
            return changed("do", "renew")
        for name in ("service", "domain"):  # sent twice with two values, a field reads "" (read_form): changed too
            if name in form and form_id(form[name]) is None:
                return changed(name, form[name])
        if "service" in form and "domain" in form:  # the page's form names one item: both is no choice
            return changed("domain", form["domain"])
        try:
            kind, item = renewal_scope.wanted_item(grant, form.get("service"), form.get("domain"))
        except ValueError:
            asked = "domain" if form.get("domain") else "service"
            if form.get(asked):  # an item the page did not offer: the form was changed
                return changed(asked, form[asked])
            return Refusal("not_covered", "Choose on the page the service or domain to renew.", {"kind": asked})
        read, found = self.whmcs_record(kind, item)
        if read and (found is None or found.client_id != int(grant["owner"])):  # WHMCS decides, not the page
            owner = str(grant.get("owner_name") or f"#{grant['owner']}")
            why = f"{kind.capitalize()} #{item} is no longer in the account of {owner}."
            return Refusal("moved", why, {"kind": kind, "id": str(item), "owner": owner})
        held = holds.refusal(self.db(), [f"{kind}:{item}"], now)
        if held:  # an ownership dispute or lock: nothing changes on it, a renewal invoiced to the delegate neither
            return Refusal("held", held, {"kind": kind, "id": str(item)})
        current = renewal_scope.open_renewal(grant, item, kind)
        if current is None:
            return None
        fields = {
            "kind": kind,
            "id": str(item),
            "n": str(current["n"]),
            "invoice": str(current.get("delegate_invoice") or ""),
            "status": str(current["status"]),
        }
        return Refusal("open", str(renewal_scope.refusal(grant, item, kind)), fields)

    def asked_meanwhile(self, db: Database, link: ConsentLink, form: dict[str, str]) -> Refusal | None:
        """Why a renew click the page allowed is not recorded after all, read in the click's own transaction: the
        same item's renewal was asked meanwhile (another page link, another tab, a moment ago) and waits for the
        rules, or was opened since (outside tester M3: two tabs both said "recorded"). None when it is the first."""
        grant = states.get(db, FAMILY, f"grant:{form['grant']}")
        if grant is None or grant.get("status") != "active":
            return None  # the rules refuse it with their own sentence
        try:
            kind, item = renewal_scope.wanted_item(grant, form.get("service"), form.get("domain"))
        except ValueError:
            return None
        waiting = [
            e.event().data
            for e in inbox.about_entries(db, "DelegationCommand", kind, item)
            if e.event().data.get("command") == "renew"
        ]
        if waiting or renewal_scope.open_renewal(grant, item, kind) is not None:
            why = f"The renewal of {kind} #{item} was already asked for, from another page."
            return Refusal("asked", why, {"kind": kind, "id": str(item)})
        return None

    def act(
        self, link: ConsentLink, form: dict[str, str], answer: dict[str, str], now: datetime
    ) -> bool | Refusal:
        """Use the link for the click, audit it and hand the command to the rules, all or nothing; False if the
        link was used or expired meanwhile. A renewal asked meanwhile through another link (asked_meanwhile) is
        a refused click instead, returned, in the same transaction: one click records one renewal."""
        side = PURPOSES[link.purpose]
        decision = f"{form['do']} {form['grant']}"
        data: dict[str, Any] = {
            "command": form["do"],
            "grant": form["grant"],
            "by": f"{side} (self-service page)",
            "reason": f"ended by the {side} on the self-service page",
            "ip": answer["ip"],
        }
        if side == "owner":  # the rules then see the owner's other grants: the email says what stays
            data["owner"] = int(link.subject)
        if form["do"] == "renew":
            data["service"], data["domain"] = form_id(form.get("service")), form_id(form.get("domain"))
            # The rules then see the owner's other grants: another delegate's renewal of the same item refuses it.
            owner = next((g["owner"] for g in self.grants(link) if g["id"] == form["grant"]), None)
            if owner is not None:
                data["owner"] = int(owner)
        db = self.db()
        with db.atomic():  # BEGIN IMMEDIATE: two clicks' checks and records run one after the other
            late = self.asked_meanwhile(db, link, form) if form["do"] == "renew" else None
            if late is not None:
                return late if self.refuse(link, form, answer, late, now) else False
            if not consent.claim(
                db, link.id, decision=decision, ip=answer["ip"], user_agent=answer["user_agent"], now=now
            ):
                return False
            at = now.isoformat(timespec="seconds")
            audit.append(
                db,
                "selfservice.used",
                actor="link-holder",
                subject=f"{link.purpose}:{link.subject}",
                detail={
                    "purpose": link.purpose,
                    "subject": link.subject,
                    "decision": decision,
                    **answer,
                    "link": link.id,
                },
                at=at,
            )
            inbox.add(
                db,
                event_id=f"selfservice:{uuid.uuid4().hex}",
                type="DelegationCommand",
                source="cli",
                body={"type": "DelegationCommand", "occurred_at": now.isoformat(), "data": data},
                received_at=now.isoformat(),
                occurred_at=now.isoformat(),
            )
        return True

    def tampered(self, link: ConsentLink, answer: dict[str, str], why: Refusal, now: datetime) -> None:
        """A form the page did not offer (`changed`): recorded in the audit chain, the link left unused (the page
        the holder was shown still works; what was sent did not come from it)."""
        db = self.db()
        with db.atomic():
            audit.append(
                db,
                "selfservice.changed_form",
                actor="link-holder",
                subject=f"{link.purpose}:{link.subject}",
                detail={"purpose": link.purpose, "subject": link.subject, "refused": why.text, **answer, "link": link.id},
                at=now.isoformat(timespec="seconds"),
            )

    def refuse(
        self, link: ConsentLink, form: dict[str, str], answer: dict[str, str], why: Refusal, now: datetime
    ) -> bool:
        """A refused click uses the link too (a one-time link is not a form to try again): recorded, with why,
        in the audit chain; nothing reaches the rules. False if the link was used or expired meanwhile."""
        what = form.get("do") if form.get("do") in ACTIONS else "-"
        grant = form.get("grant", "")
        grant = grant if grant.isalnum() and len(grant) <= 40 else "-"
        decision = f"refused {what} {grant} [{why.kept()}]: {why.text}"
        db = self.db()
        with db.atomic():
            if not consent.claim(
                db, link.id, decision=decision, ip=answer["ip"], user_agent=answer["user_agent"], now=now
            ):
                return False
            audit.append(
                db,
                "selfservice.refused",
                actor="link-holder",
                subject=f"{link.purpose}:{link.subject}",
                detail={
                    "purpose": link.purpose,
                    "subject": link.subject,
                    "decision": decision,
                    "refused": why.text,
                    **answer,
                    "link": link.id,
                },
                at=now.isoformat(timespec="seconds"),
            )
        return True
