"""The collections dossier: what a collections agency or a court needs about one client's debt, as a sealed
folder that can be checked later without the bridge (`escalations export`, `escalations verify-dossier`).

    collections-dossier.html   the readable page: parties, invoices, payments, notices, measures, staff decisions
    collections-dossier.json   the same facts for machines
    manifest.json              both files' SHA-256 and the audit chain's head, signed (manifest.sig) with the
                               bridge's key (public-key.pem beside it; evidence/folder.py)

Facts come from WHMCS at export time (the debtor's identity, every invoice the case was ever about with its
lines and payments, the email log's record of each notice, the tickets) and from the bridge's store (what it
did, when, approved by whom; letters, promises, holds): only what happened. A step that never ran is shown as
not run, whatever staff decided about it. The history stays after the client paid."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from whmcs_bridge import readable
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError, WhmcsApiError
from whmcs_bridge.evidence import folder
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.families.escalation.dossier_page import NOT_CLAIMS, render_html
from whmcs_bridge.families.escalation.staff import case, staff_locale
from whmcs_bridge.families.escalation.steps import FAMILY
from whmcs_bridge.store import audit, outbox
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import SYSTEM_NAME, WhmcsApi, not_found
from whmcs_bridge.whmcs.records import ClientDetails, Invoice

FORMAT = "whmcs-bridge-collections-dossier/1"
PAGE, DATA = "collections-dossier.html", "collections-dossier.json"
SERVICE_KINDS = ("module_command", "suspend", "unsuspend", "terminate", "invoice_status")
MARKER = re.compile(r"\s*\[wb-[0-9a-f]{20}\]")
# An action's key as the executor's messages quote it ("the step it would undo (wb-...)"): internal.
KEY = re.compile(r"\s*\(?\[?wb-[0-9a-f]{20}\]?\)?")
GUARD = re.compile(r"^guard \w+: ")
COMMANDS = {
    "promise": "recorded a promise to pay",
    "hold": "held the ladder",
    "resume": "resumed the ladder",
    "letter": "recorded a registered letter",
    "skip_stage": "skipped a stage",
    "close": "closed the ladder",
}


# --- gathering the facts ------------------------------------------------------------------------


def gather(config: Config, db: Database, api: WhmcsApi, client_id: int, now: datetime) -> dict[str, Any]:
    """Every fact of the dossier, from the case in the store and from WHMCS as it is now."""
    state = case(db, client_id)
    try:
        details = api.client_details(client_id)
    except WhmcsApiError as exc:
        raise BridgeError(f"WHMCS did not give client {client_id}'s details ({exc}); try the export again") from None
    currency = details.currency_code or (state.get("context") or {}).get("currency") or ""
    invoices = [invoice_facts(api, invoice_id, due, currency) for invoice_id, due in invoice_ids(state)]
    entries = outbox.entries(db, family=FAMILY, client_id=client_id)
    stage_of = {key: s["name"] for s in all_stages(state) for key in s.get("actions", [])}
    payments = sorted((p for i in invoices for p in i["payments"]), key=lambda p: (p["date"] or "", p["invoice"]))
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(timespec="seconds"),
        "timezone": config.zone_name,
        "creditor": creditor(config),
        "debtor": debtor(config, details),
        "summary": totals(invoices, state, currency),
        "invoices": invoices,
        "payments": payments,
        "notices": notices(config, api, client_id, details, entries, stage_of) + letters(state, details),
        "measures": measures(config, entries, stage_of),
        "stages": [stage_row(s) for s in all_stages(state)],
        "promises": promises(state),
        "holds": holds(state),
        "staff_decisions": decisions(config, db, client_id, entries),
    }


def all_stages(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for h in state.get("history") or [] for s in h.get("stages", [])] + (state.get("stages") or [])


def invoice_ids(state: dict[str, Any]) -> list[tuple[int, str | None]]:
    """Every invoice the case was ever about, in every episode (kept after they are paid), with the due date
    the ladder counted from; older cases without that record: the invoices their timeline names."""
    counted: dict[int, str | None] = {}
    for episode in state.get("history") or []:
        for key, due in (episode.get("invoices") or {}).items():
            counted.setdefault(int(key), due)
    for key, due in (state.get("owed_ever") or {}).items():
        counted.setdefault(int(key), due)
    for key, item in (state.get("invoices") or {}).items():
        counted.setdefault(int(key), item.get("due"))
    for entry in state.get("timeline") or []:
        invoice = (entry.get("detail") or {}).get("invoice")
        if isinstance(invoice, int) and entry.get("what") == "invoice overdue":
            counted.setdefault(invoice, None)
    return sorted(counted.items())


def invoice_facts(api: WhmcsApi, invoice_id: int, counted_from: str | None, currency: str) -> dict[str, Any]:
    """One invoice as WHMCS gives it now (DD:api-reference/getinvoice.md: `invoicenum` is the sequential
    number, distinct from the id and empty when numbering is off; `balance` what is left to pay; its
    transactions the payments on it). GetInvoice names no currency: the client's is used."""
    try:
        invoice = api.invoice(invoice_id)
    except WhmcsApiError as exc:
        if not not_found(exc):
            raise BridgeError(f"WHMCS did not give invoice {invoice_id} ({exc}); try the export again") from None
        return {
            "id": invoice_id,
            "number": "",
            "status": "deleted in WHMCS",
            "lines": [],
            "payments": [],
            "currency": currency,
            "owed": "0.00",
        }
    paid = sum((t.amountin - t.amountout for t in invoice.transactions), Decimal("0"))
    balance = invoice.balance if invoice.balance is not None else invoice.total - paid
    due = invoice.duedate.isoformat() if invoice.duedate else None
    return {
        "id": invoice.id,
        "number": invoice.invoicenum,
        "issued": invoice.date.isoformat() if invoice.date else None,
        "due": due,
        "counted_from": counted_from if counted_from and counted_from != due else None,
        "status": invoice.status,
        "date_paid": invoice.datepaid.isoformat(sep=" ") if invoice.datepaid else None,
        "currency": invoice.currencycode or currency,
        "lines": [{"description": item.description, "amount": f"{item.amount:.2f}"} for item in invoice.items],
        "subtotal": f"{invoice.subtotal:.2f}",
        "tax": f"{invoice.tax:.2f}",
        "credit": f"{invoice.credit:.2f}",
        "total": f"{invoice.total:.2f}",
        "paid": f"{paid:.2f}",
        "balance": f"{balance:.2f}",
        # What is claimed on it: the balance of an open invoice (Unpaid, Collections); a cancelled one is
        # not a claim (its debt moved to what replaced it), whatever balance WHMCS still shows for it.
        "owed": f"{balance:.2f}" if invoice.is_open else "0.00",
        "payments": [payment(invoice, t) for t in invoice.transactions],
    }


def payment(invoice: Invoice, t: Any) -> dict[str, Any]:
    amount = t.amountin - t.amountout
    return {
        "invoice": invoice.id,
        "invoice_number": invoice.invoicenum,
        "date": t.date.isoformat(sep=" ") if t.date else None,
        "amount": f"{amount:.2f}",
        "method": t.gateway,
        "reference": t.transid,
        "whmcs_transaction_id": t.id,
    }


def creditor(config: Config) -> dict[str, Any]:
    c = config.escalation.dossier.creditor
    return {
        "name": c.name,
        "address": list(c.address),
        "registration": c.registration,
        "vat": c.vat,
        "email": c.email,
        "phone": c.phone,
    }


def debtor(config: Config, d: ClientDetails) -> dict[str, Any]:
    """The debtor as WHMCS holds it now (DD:api-reference/getclientsdetails.md): company, the person,
    postal address, Tax ID, and the custom fields the configuration names for its registration and VAT."""
    spec = config.escalation.dossier
    post = d.postal
    town = " ".join(x for x in (post.get("postcode"), post.get("city")) if x)
    address = [
        x for x in (post.get("address1"), post.get("address2"), town, post.get("state"), post.get("country")) if x
    ]
    phone = post.get("phone") or ""
    return {
        "whmcs_client_id": d.id,
        "company": d.companyname,
        "contact": f"{d.firstname} {d.lastname}".strip(),
        "address": address,
        "email": d.email,
        "phone": phone,
        "registration": d.customfields.get(spec.registration_field, "") if spec.registration_field else "",
        "vat": d.customfields.get(spec.vat_field, "") if spec.vat_field else d.tax_id,
    }


def totals(invoices: list[dict[str, Any]], state: dict[str, Any], currency: str) -> dict[str, Any]:
    def add(field: str) -> str:
        claims = [i for i in invoices if i.get("status") not in NOT_CLAIMS]
        return f"{sum((Decimal(i.get(field) or '0') for i in claims), Decimal('0')):.2f}"

    open_case = bool(state.get("stages") or state.get("invoices"))
    closed = [h.get("closed") for h in state.get("history") or [] if h.get("closed")]
    return {
        "currency": currency,
        "invoiced": add("total"),
        "paid": add("paid"),
        "outstanding": add("owed"),
        "case": "open" if open_case else (f"closed on {closed[-1]}" if closed else "no ladder reached"),
    }


# --- what the bridge did ------------------------------------------------------------------------


class _Text(HTMLParser):
    """An email's HTML as the words its reader sees: paragraphs and line breaks kept, styles dropped."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def plain(text: str, is_html: bool) -> str:
    """A message's text without markup and without the bridge's key (an internal mark for exactly-once)."""
    if is_html:
        parser = _Text()
        parser.feed(text)
        text = "".join(parser.parts)
    text = MARKER.sub("", text)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def when(config: Config, instant: str | None) -> str | None:
    """A stored UTC instant as the configured zone's wall clock, to the minute."""
    if not instant:
        return None
    moment = datetime.fromisoformat(instant)
    return (
        moment.astimezone(config.zone).strftime("%Y-%m-%d %H:%M")
        if moment.tzinfo
        else moment.strftime("%Y-%m-%d %H:%M")
    )


def notices(
    config: Config,
    api: WhmcsApi,
    client_id: int,
    details: ClientDetails,
    entries: list[outbox.OutboxEntry],
    stage_of: dict[str, str],
) -> list[dict[str, Any]]:
    """The emails and tickets sent to the client (done, never planned ones), each with WHMCS's record of it:
    the email log's recipient, date and text (DD:api-reference/getemails.md), the ticket's number and opening
    message (DD:api-reference/getticket.md). Staff's tickets and the client's admin notes are not notices."""
    sent = [e for e in entries if e.status == "done" and e.kind in ("email", "ticket") and to_client(e)]
    logged = {e.id: e for e in api.emails(client_id)} if any(e.kind == "email" for e in sent) else {}
    out = []
    for entry in sent:
        result, p = entry.result or {}, entry.params
        row: dict[str, Any] = {
            "stage": stage_of.get(entry.key, "when the case closed"),
            "channel": entry.kind,
            "sent_at": when(config, entry.finished_at),
            "recipient": f"{details.firstname} {details.lastname} <{details.email}>".strip(),
            "subject": str(p.get("subject") or p.get("template") or ""),
            "language": p.get("lang"),
            "text": plain(str(p.get("html") or p.get("message") or ""), entry.kind == "email"),
        }
        if entry.kind == "email":
            log = logged.get(int(result.get("email_id") or 0))
            row["proof"] = {"email_log_id": log.id if log else None}
            if log is not None:  # WHMCS's record of what was sent: it says who received it, when, and what
                row.update(recipient=log.to, subject=log.subject, text=plain(log.message, True))
                row["sent_at"] = log.date.strftime("%Y-%m-%d %H:%M") if log.date else row["sent_at"]
            elif p.get("template"):
                row["text"] = f"WHMCS email template {p['template']!r} (its text is WHMCS's, not logged by the bridge)"
        else:
            row["proof"] = {"ticket_id": result.get("ticket_id"), "ticket_number": result.get("tid")}
            row.update(ticket_facts(api, int(result.get("ticket_id") or 0)))
        out.append(row)
    return out


def to_client(entry: outbox.OutboxEntry) -> bool:
    """An email, or a ticket opened in the client's name (a ticket to staff is opened by the bridge itself)."""
    return entry.kind == "email" or (bool(entry.params.get("client_id")) and entry.params.get("name") != SYSTEM_NAME)


def ticket_facts(api: WhmcsApi, ticket_id: int) -> dict[str, Any]:
    if not ticket_id:
        return {}
    try:
        ticket = api.ticket(ticket_id)
    except WhmcsApiError as exc:
        if not_found(exc):
            return {"proof_note": "the ticket was deleted in WHMCS"}
        raise BridgeError(f"WHMCS did not give ticket {ticket_id} ({exc}); try the export again") from None
    facts: dict[str, Any] = {"subject": ticket.subject}
    if ticket.replies:
        facts["text"] = plain(ticket.replies[0].message, False)
    if ticket.date:
        facts["sent_at"] = ticket.date.strftime("%Y-%m-%d %H:%M")
    return facts


def letters(state: dict[str, Any], details: ClientDetails) -> list[dict[str, Any]]:
    """Registered letters staff recorded: tracking number and delivery date (the proof the post gives)."""
    kept = [x for h in state.get("history") or [] for x in h.get("letters", [])] + (state.get("letters") or [])
    post = details.postal
    address = ", ".join(
        x for x in (post.get("address1"), post.get("postcode"), post.get("city"), post.get("country")) if x
    )
    return [
        {
            "stage": "registered letter",
            "channel": "registered letter",
            "sent_at": x.get("at"),
            "recipient": f"{details.companyname or details.firstname + ' ' + details.lastname}, {address}".strip(", "),
            "subject": "",
            "text": "",
            "recorded_by": x.get("by"),
            "proof": {"tracking_number": x.get("tracking"), "delivered": x.get("delivered")},
        }
        for x in kept
    ]


def describe(kind: str, params: dict[str, Any]) -> str:
    """A step on a service or an invoice in words ("lock reseller panel", "suspend")."""
    if kind == "module_command":
        return str(params.get("function") or "module command").replace("_", " ")
    if kind == "invoice_status":
        return f"invoice status set to {params.get('status')}"
    return kind.replace("_", " ")


def step_words(entry: outbox.OutboxEntry) -> str:
    """A step in words: a notice by its subject (or the message it was to write), a measure by what it does."""
    if entry.kind in SERVICE_KINDS:
        return describe(entry.kind, entry.params)
    return f"{entry.kind.replace('_', ' ')}: {readable.action(entry.params)}"


def outcome(entry: outbox.OutboxEntry) -> str:
    """How a step ended, in words: done, or why it did not run (it never says done for what did not run)."""
    if entry.status == "done":
        return "done"
    why = KEY.sub("", GUARD.sub("", entry.error or "")).strip()
    words = {
        "cancelled": "not run: cancelled",
        "rejected": "not run: rejected",
        "awaiting_approval": "not run yet: waiting for staff approval",
        "planned": "not run yet: planned",
        "in_flight": "not run yet: being run",
        "parked": "not run: stopped for staff",
    }.get(entry.status, f"not run ({entry.status})")
    return f"{words} ({why})" if why and entry.status != "awaiting_approval" else words


def measures(config: Config, entries: list[outbox.OutboxEntry], stage_of: dict[str, str]) -> list[dict[str, Any]]:
    """Every step on the client's services and invoices: planned when, done when (or why not), approved by."""
    return [
        {
            "stage": stage_of.get(e.key, "undone when the client paid"),
            "what": describe(e.kind, e.params),
            "service": e.params.get("service_id"),
            "invoice": e.params.get("invoice_id"),
            "planned_at": when(config, e.created_at),
            "done_at": when(config, e.finished_at) if e.status == "done" else None,
            "approved_by": e.decided_by if e.needs_approval and e.decided_by and e.status != "rejected" else None,
            "rejected_by": e.decided_by if e.status == "rejected" else None,
            "outcome": outcome(e),
        }
        for e in entries
        if e.kind in SERVICE_KINDS and not never_needed(e)
    ]


def never_needed(entry: outbox.OutboxEntry) -> bool:
    """An undoing step cancelled because the step it would undo never ran: nothing happened either way."""
    return entry.status == "cancelled" and (entry.error or "").startswith("guard action_done:")


def stage_row(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": s["name"],
        "reached": s.get("at"),
        "done": s.get("done_at"),
        "approval_required": bool(s.get("approval")),
        "skipped_by": (s.get("skipped") or {}).get("by"),
        "rejected_by": (s.get("rejected") or {}).get("by"),
        "letter_delivered": s.get("delivered"),
    }


def promises(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Each promise to pay from the case's timeline (it spans every episode): made, amount, date, outcome."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in state.get("timeline") or []:
        detail = entry.get("detail") or {}
        what = entry.get("what")
        if what not in ("promise to pay", "promise kept", "promise broken"):
            continue
        key = (detail.get("made"), detail.get("until"), detail.get("amount"))
        promise = out.setdefault(
            key,
            {
                "made": detail.get("made"),
                "by": detail.get("by"),
                "amount": detail.get("amount"),
                "until": detail.get("until"),
                "owed_when_made": detail.get("owed_when_made"),
                "note": detail.get("note") or "",
                "outcome": "open",
            },
        )
        if what == "promise kept":
            promise["outcome"], promise["on"] = "kept", detail.get("kept") or entry["at"][:10]
        elif what == "promise broken":
            promise["outcome"], promise["on"] = "broken", entry["at"][:10]
    return list(out.values())


def holds(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Each time the ladder was held, by whom and why, and when it went on."""
    out: list[dict[str, Any]] = []
    for entry in state.get("timeline") or []:
        what, detail = str(entry.get("what")), entry.get("detail") or {}
        if what == "ladder held":
            out.append({"at": entry["at"], "by": detail.get("by"), "reason": detail.get("reason")})
        elif what.startswith("ladder held: staff changed a service"):
            reason = f"service {detail.get('service')} set to {detail.get('status')} by hand in WHMCS"
            out.append({"at": entry["at"], "by": "staff (in WHMCS)", "reason": reason})
        elif what.startswith("ladder held: invoices cancelled"):
            reason = f"invoice(s) {', '.join(map(str, detail.get('invoices') or []))} cancelled, not paid"
            out.append({"at": entry["at"], "by": "whmcs-bridge", "reason": reason})
        elif what.startswith("ladder resumed") and out and "resumed_at" not in out[-1]:
            out[-1].update(resumed_at=entry["at"], resumed_by=detail.get("by") or "whmcs-bridge")
    return out


def decisions(config: Config, db: Database, client_id: int, entries: list[outbox.OutboxEntry]) -> list[dict[str, Any]]:
    """Staff's decisions about this client from the audit chain: approvals and rejections of steps (named
    by what they do), promises, holds, letters, skipped stages, closing."""
    by_id = {e.id: e for e in entries}
    out = []
    for row in audit.entries(db, client_id=client_id):
        if not row.action.startswith("staff."):
            continue
        detail = row.detail or {}
        who = row.actor.removeprefix("staff:")
        if row.action in ("staff.approved", "staff.rejected"):
            step = by_id.get(int(detail.get("action") or 0))
            about = step_words(step) if step else "a step"
            target = readable.target(step.params) if step and step.kind in SERVICE_KINDS else ""
            decision = row.action.removeprefix("staff.")
            note = str(detail.get("reason") or "")
            out.append(
                {
                    "at": when(config, row.at),
                    "who": who,
                    "decision": decision,
                    "about": f"{about} {target}".strip(),
                    "note": note,
                }
            )
        elif row.action.startswith("staff.EscalationCommand."):
            command = row.action.rsplit(".", 1)[1]
            out.append(
                {
                    "at": when(config, row.at),
                    "who": who,
                    "decision": COMMANDS.get(command, command.replace("_", " ")),
                    "about": command_words(detail),
                    "note": str(detail.get("note") or detail.get("reason") or ""),
                }
            )
    return out


def command_words(detail: dict[str, Any]) -> str:
    if detail.get("command") == "promise":
        return f"{detail.get('amount')} by {detail.get('until')}"
    if detail.get("command") == "letter":
        delivered = f", delivered {detail['delivered']}" if detail.get("delivered") else ""
        return f"tracking number {detail.get('tracking')}{delivered}"
    return ""


# --- writing and checking the folder --------------------------------------------------------------


def export(config: Config, db: Database, api: WhmcsApi, client_id: int, out: Path, *, now: datetime) -> folder.Sealed:
    """Write the dossier into a new folder, signed with the bridge's key (evidence/folder.py), and record
    its seal in the audit chain. The folder carries no segment of the audit chain: the chain's rows between
    two checkpoints are every client's, and this dossier goes to a third party about one client; the
    manifest names the chain's signed head instead, which `verify-dossier --against-state` checks."""
    if db.signer is None:
        raise db.refused or BridgeError(f"no signing key beside {db.path}: the dossier cannot be signed on this copy of the state")
    audit.check_extendable(db)  # a chain cut or edited without the key: nothing is signed over it, a dossier neither
    data = gather(config, db, api, client_id, now)
    with folder.FolderWriter(out) as writer:
        writer.add_text(DATA, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        writer.add_text(PAGE, render_html(data, staff_locale(config)))
        head = audit.head(db)
        name = data["debtor"].get("company") or data["debtor"].get("contact")
        sealed = writer.seal(
            format=FORMAT,
            key=db.signer,
            exported_at=data["generated_at"],
            sections={
                "dossier": {"client": client_id, "debtor": name},
                "chain_head": {"id": head[0], "hash": head[1]} if head else None,
            },
        )
    audit.append(
        db,
        "escalation.dossier_exported",
        actor="staff",
        client_id=client_id,
        detail={"seal": sealed.seal, "files": sorted(sealed.manifest["files"])},
        at=now.isoformat(timespec="seconds"),
    )
    return sealed


def verify(where: Path, key: PublicKey, db: Database | None = None) -> folder.Inspection:
    """Check the signature with `key`, every file's SHA-256 and what was added; raise naming each problem.
    With the live store, also that the audit chain recorded this export and holds the head it names."""
    found = folder.inspect(where, FORMAT, key)
    if db is not None and not found.problems:
        head = found.manifest.get("chain_head") or {}
        if head and audit.hash_of(db, int(head.get("id") or 0)) != head.get("hash"):
            found.problems.append("the audit-chain head the dossier names is not the live chain's")
        if not audit.recorded(db, "escalation.dossier_exported", f'"seal":"{found.seal}"'):
            found.problems.append("the live audit chain has no record of exporting this dossier (its seal is unknown)")
    found.raise_problems()
    return found
