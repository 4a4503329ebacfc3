"""How staff read a case on their screens (show, the dossier): the case as `ownership show` prints it
(case_lines); names as the case recorded them, instants and dates in the staff language and the configured zone,
their to-do list as their ticket words it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date

from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config
from whmcs_bridge.families.ownership import seen
from whmcs_bridge.families.ownership import staff as own
from whmcs_bridge.families.ownership.case import FINAL, checked_by
from whmcs_bridge.families.ownership.execution import step_words
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    case_fields,
    checklist_fields,
    classify_command,
    msg_ref,
    reply_arg,
)
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.model import action_key
from whmcs_bridge.store import outbox
from whmcs_bridge.store.db import Database


@dataclass(frozen=True)
class CaseNames:
    """Names as the case recorded them when it opened (a screen or a dossier calls no WHMCS)."""

    case: dict[str, Any]

    def client(self, client_id: int) -> Named:
        for party in (self.case["holder"], self.case["requester"]):
            if party.get("client") == client_id:
                return Named(party.get("company") or party.get("name") or f"client #{client_id}", client_id)
        return Named(f"client #{client_id}", client_id)

    def service(self, service_id: int) -> Named:
        return self._subject("service", service_id)

    def domain(self, domain_id: int) -> Named:
        return self._subject("domain", domain_id)

    def _subject(self, kind: str, record_id: int) -> Named:
        for s in self.case["subjects"]:
            if s["kind"] == kind and int(s["id"]) == record_id:
                return Named(s.get("name") or f"{kind} #{record_id}", record_id)
        return Named(f"{kind} #{record_id}", record_id)


@dataclass(frozen=True)
class StaffView:
    """The staff language, the configured zone and the configured catalogue, for one screen."""

    config: Config

    @property
    def reader(self) -> Reader:
        return Reader(load.for_config(self.config).staff_locale, None, self.config.zone)

    def when(self, instant: str | None) -> str:
        """An instant to the minute, in the configured zone ("25 Nov 2026, 22:45")."""
        return own.when(self.config, instant)

    def why(self, entry: dict[str, Any]) -> str:
        """A timeline line's reason, with the instant it ends on (`until`) in the configured zone."""
        return f"{entry['why']} {self.when(entry['until'])}" if entry.get("until") else str(entry["why"])

    def day(self, instant: str | None) -> str:
        """A date in words ("9 December 2026")."""
        if not instant:
            return "-"
        return format_date(date.fromisoformat(instant[:10]), format="long", locale=self.reader.locale)

    def checklist(self, case: dict[str, Any], moved: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
        """The side effects and what staff have to do in WHMCS's admin area, as their ticket says them, less
        the moves of `moved` (refs WHMCS shows with the new holder)."""
        if not case.get("policies") or not any(s.get("hand_over") for s in case["subjects"]):
            return [], []
        catalogue = load.for_config(self.config)
        approved_by = ", ".join(a["by"] for a in case.get("approvals", []))
        fields = checklist_fields(case)
        for key in ("move_services", "move_domains", "move_clients"):
            fields[key] = [r for r in fields[key] if str(r) not in moved]
        data = {**case_fields(case), **fields, "approved_by": approved_by}
        text = catalogue.render("ownership.staff_checklist", data, self.reader, CaseNames(case)).body
        lines = [line.strip() for line in text.splitlines()]
        return [x[2:] for x in lines if x.startswith("- ")], [x for x in lines if x.startswith("[ ]")]


def case_lines(
    view: StaffView, c: dict[str, Any], steps: list[str] | None = None, now_seen: list[seen.Seen] | str = ""
) -> list[str]:
    """The case as fields in words: names as recorded, instants to the minute in the configured zone; with
    `now_seen`, what WHMCS shows now of the steps still to do (or why it could not be read)."""
    out = [f"Ownership case {c['id']}: {c['status']}"]
    field = "  {:<14}{}".format  # "Locked until:" and "Still needed:" (13) keep a space before their value
    out.append(field("Subjects:", ", ".join(f"{s['kind']} #{s['id']} {s.get('name') or ''}".strip() for s in c["subjects"])))
    for role in ("holder", "requester"):
        party = c[role]
        contact = ", ".join(x for x in (f"client #{party['client']}" if party.get("client") else "", party.get("email")) if x)
        out.append(field(f"{role.title()}:", f"{party.get('company') or party.get('name') or '-'} ({contact})"))
    out.append(field("Grounds:", (c.get("grounds") or "not given yet") + (f"; {c['note']}" if c.get("note") else "")))
    out.append(field("Opened:", view.when(c.get("opened"))))
    if c["status"] == "notified":
        out.append(field("Answer due:", view.day(c["deadline"])))
    if c.get("lock_until"):
        out.append(field("Locked until:", view.day(c["lock_until"]) + (" (ended)" if c.get("lock_ended") else "")))
    elif c["status"] == "completed":
        out.append(field("Lock:", "none: nothing changed hands"))
    if c["status"] == "collecting":
        missing = own.missing_evidence(c, utcnow())
        if missing:
            out.append(field("Still needed:", "; ".join(missing)))
        if not c.get("requester_confirmed"):
            out.append(field("", "waiting for the requester to confirm through its link"))
    out += _section("Evidence", [_evidence_line(view, e) for e in c.get("evidence", [])])
    out += _section(
        "Answers",
        [
            f"{a['party']} {'consented' if a['decision'] == 'accept' else 'objected'} on {view.when(a.get('at'))} "
            f"from {a.get('ip') or '-'} ({a.get('user_agent') or 'browser unknown'}){': ' + a['reason'] if a.get('reason') else ''}"
            for a in c.get("answers", [])
        ],
    )
    out += _section("Recorded answers", [recorded_line(view, a) for a in c.get("recorded_answers", [])])
    out += _section("Thread replies", [reply_line(view, c, r) for r in c.get("replies", [])])
    out += _section(
        "Approvals",
        [f"{a['by']} on {view.when(a['at'])}{': ' + a['note'] if a.get('note') else ''}" for a in c.get("approvals", [])],
    )
    done = [x for x in now_seen if x.done] if isinstance(now_seen, list) else []
    # Off staff's to-do list: the moves WHMCS shows done now, and those the case's last read saw with the new holder.
    seen_moved = {f"{s['kind']}:{s['id']}" for s in c["subjects"] if s.get("moved_to") and s.get("owner_now") == s["moved_to"]}
    moved = frozenset(x.subject for x in done if x.step == "move") | seen_moved
    out += _section("To do in WHMCS", view.checklist(c, moved)[1] if c["status"] == "executing" else [])
    out += _section("Execution steps", steps or [])
    out += _section("Done in WHMCS, read now", [_seen_line(c, x) for x in done])
    out += _section("Left in WHMCS for staff to undo", c.get("left_in_whmcs") or [])
    if isinstance(now_seen, str) and now_seen:
        out.append(f"  {now_seen}")
    out += _section(
        "Timeline",
        [f"{view.when(h['at'])}  {h['what']} by {h['by']}{': ' + view.why(h) if h['why'] else ''}" for h in c.get("history", [])],
    )
    return out


def _seen_line(c: dict[str, Any], x: seen.Seen) -> str:
    words = "registrant update" if x.step == "registrant" else "move"
    return (
        f"[x] {words} of {x.subject.replace(':', ' #')}: {x.read}; record it with `ownership record-step "
        f"{c['id']} --step {x.step} --subject {x.subject} --by NAME`"
    )


def recorded_line(view: StaffView, a: dict[str, Any]) -> str:
    """An answer staff recorded: what, how it came, who recorded it (and as which system user), when."""
    what = "consented" if a["answer"] == "consent" else "objected"
    evidence = f"; evidence item {a['evidence']}" if a.get("evidence") else ""
    return (
        f"{a['party']} {what} by {a['via']}, recorded by {a['by']} (system user {a.get('os_user') or '-'}) on "
        f"{view.when(a['at'])}{evidence}{': ' + a['note'] if a.get('note') else ''}"
    )


def reply_line(view: StaffView, c: dict[str, Any], r: dict[str, Any]) -> str:
    """A message in the case's threads, and how staff classified it, or the command that does (fifteenth round M2:
    a note's `--reply 12:n3` was nowhere on screen)."""
    verdict = {
        "consent": "classified as consent",
        "object": "classified as an objection",
        "unrelated": "classified as unrelated (not about the case)",
    }.get(str(r.get("classified")), f"NOT CLASSIFIED YET ({classify_command(c['id'], r)})")
    if not r.get("classified") and c.get("status") in FINAL:  # nothing waits on it any more: no command to run
        verdict = f"not classified (the case is {c['status']})"
    text = " ".join(str(r.get("message") or "").split())
    if r.get("thread_gone"):  # incoming.thread_gone: no words to show, and none may be taken as silence
        text = "the thread was deleted in WHMCS before the bridge read all of it: what was written there is unknown"
    who = r["party"] if r["party"] != "other" else f"{r.get('writer') or 'someone'} (neither party)"
    where = f"{msg_ref(r)}"
    return f"{who} in {where} on {view.when(r.get('date') or r.get('seen'))}, {verdict}: {text[:300]}{files_of(c, r)}"


SHOWN_NAME = re.compile(r"[^\w.\- ]")  # a sender's file name is only shown (staff.attach)


def files_of(c: dict[str, Any], r: dict[str, Any]) -> str:
    """The files a message carries (GetTicket lists them per message), with their index and the command that takes
    one as evidence (twenty-first round L4: show never said a reply carried a document)."""
    listed = r.get("attachments") or []
    if not listed:
        return ""
    names = ", ".join(f"{a['index']}: {re.sub(SHOWN_NAME, '_', str(a['name']))[:120]}" for a in listed)
    return (
        f" [{len(listed)} attachment{'s' if len(listed) > 1 else ''}: {names}; take one with ownership attach {c['id']} "
        f"--ticket {reply_arg(r)} --index N --kind KIND --from {r['party'] if r['party'] != 'other' else 'WHO'} --by NAME]"
    )


def _section(title: str, lines: list[str]) -> list[str]:
    """A titled list, one line per item: a line break in what a party wrote (a link's reason) cannot make a line
    of its own that reads like the case's ("  Approvals: alice, bob")."""
    return [f"  {title}:", *(f"    {re.sub(LINE_BREAKS, ' ', x)}" for x in lines)] if lines else []


LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _evidence_line(view: StaffView, e: dict[str, Any]) -> str:
    checked = checked_by(e)
    return (
        f"{e['item']}. {e['kind']}, {e['status']}{' (checked by ' + checked + ')' if checked else ''}: {e['name']} "
        f"from {e['from']} via {e['via']}{' (' + e['source'] + ')' if e.get('source') else ''}, "
        f"received {view.when(e['received'])}"
        f"{', dated ' + view.day(e['dated']) if e.get('dated') else ''}; SHA-256 {e['sha256']}"
    )


def execution_steps(config: Config, db: Database, c: dict[str, Any]) -> list[str]:
    """Each execution step and how it stands: as the case heard it ended, or, not ended yet, as the outbox
    holds it now (a parked step names the action staff approve or reject)."""
    lines = []
    for purpose, entry in c.get("steps", {}).items():
        status = entry["status"]
        row = outbox.by_key(db, action_key(FAMILY, f"case:{c['id']}", purpose)) if status == "planned" else None
        if row is not None and row.status in outbox.WAITING:
            why = row.error or "it needs approval"
            status = f"{row.status} ({why}): whmcs-bridge approvals approve|reject {row.id}"
        elif row is not None and row.status == "in_flight":
            status = own.running(config, db, row)
        if entry.get("by_hand"):
            status = f"done by hand by {entry['by_hand']['by']} (WHMCS showed {entry['by_hand']['seen']})"
        if status == "refused":  # nothing set in WHMCS: staff's to-do list says what to do by hand
            status = (
                f"refused by the registrar ({entry.get('refused')}): set it by hand in WHMCS's admin area, or "
                "accept it where the registry has no transfer lock"
            )
        lines.append(f"{step_words(entry)}: {status}")
    return lines
