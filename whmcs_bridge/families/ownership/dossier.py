"""An ownership case's dossier: a sealed folder (evidence.folder) that anyone can check later, offline,
with the bridge's public key alone.

    summary.html     parties, grounds, policy, timeline, evidence with hashes, answers, approvals, execution
    summary.pdf      the same page as PDF (evidence.pdf), when a renderer is installed
    manifest.json    the case, every file's SHA-256, the links, the actions, the audit segment's bounds and
                     anchors; signed (manifest.sig) with the bridge's key, whose fingerprint it names
    evidence/        the evidence files, named by item number and kind (never by the sender's file name)
    audit.jsonl      the contiguous audit segment from the case's first to its last row, between two
                     checkpoints signed with the key (the rows of other subjects recorded meanwhile included)
    public-key.pem   a copy of the public key, for convenience: check with a copy obtained from the bridge

`verify` names what failed; given the live store it also checks that the audit rows are the chain's own
and that the export was recorded there."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_bridge import readable
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError, WhmcsApiError, WhmcsProtocolError, WhmcsUnavailableError
from whmcs_bridge.evidence import anchor, bounded, folder, pdf
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.families.ownership import integrity
from whmcs_bridge.families.ownership.case import checked_by
from whmcs_bridge.families.ownership.evidence_store import evidence_path
from whmcs_bridge.families.ownership.integrity import ATTACHED, STAFF_COMMAND, recorded_problems, unopened  # noqa: F401  (named here by the tests)
from whmcs_bridge.families.ownership.policies import requirements
from whmcs_bridge.families.ownership.staff import case as load_case
from whmcs_bridge.families.ownership.staff_view import StaffView
from whmcs_bridge.families.ownership.tables_check import table_problems
from whmcs_bridge.store import audit, consent, inbox, outbox
from whmcs_bridge.store.db import Database

FORMAT = "whmcs-bridge-ownership-dossier/2"
UNSIGNED_FORMAT = "whmcs-bridge-ownership-dossier/1"  # before dossiers were signed: not verifiable offline
EXT = {"pdf": "pdf", "png": "png", "jpeg": "jpg", "text": "txt", "eml": "eml"}
EXPORTED = "ownership.dossier_exported"

log = logging.getLogger("whmcs_bridge.ownership")
sha256_file = folder.sha256_file


def case_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    return audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}")


def is_case_row(row: dict[str, Any], case_id: str) -> bool:
    return row.get("case_id") == case_id or row.get("subject") == f"ownership:{case_id}"


def export(
    config: Config, db: Database, case_id: str, out: Path, *, now: datetime, api: anchor.ActivityLog | None = None
) -> folder.Sealed:
    """Write the sealed dossier of a case into the new folder `out`, then record the export (its seal) in
    the audit chain. With `api`, unless an anchor already covers the case's last row (the daemon's, after
    its last decision), the chain's head is first anchored in WHMCS's activity log, so that the segment's
    closing checkpoint carries an anchor id (WHMCS unreachable: the dossier is written without)."""
    with db.snapshot():  # the state, its rows, links, actions and undecided events at one instant (live_problems)
        case = load_case(db, case_id)
        rows = case_rows(db, case_id)
        links, actions = link_rows(db, case_id), action_rows(db, case_id)  # not keyed either: checked below
        waiting = inbox.about_entries(db, "OwnershipCommand", "case", case_id)
        parked = inbox.about_entries(db, "OwnershipCommand", "case", case_id, "parked")
    if db.signer is None:
        raise db.refused or BridgeError(f"there is no signing key beside {db.path}: a dossier cannot be signed here")
    audit.check_extendable(db)  # a chain cut or edited without the key: nothing is signed over it, a dossier neither
    if waiting:  # its row is in the chain, not yet its fact in the state: the dossier would not verify
        raise BridgeError(
            f"case {case_id} has an answer or a staff command the rules have not decided yet: export it after "
            "the daemon's next pass (or `whmcs-bridge tick`)"
        )
    if parked:  # likewise, until staff retry it (not a restore from a backup: integrity.parked_sentence)
        raise BridgeError(f"{integrity.parked_sentence(case_id, parked[0])}; export it once the retried event is decided")
    edited = unopened(db, rows)
    if not rows and not edited:
        raise BridgeError(f"case {case_id} has no rows in the audit chain: nothing to seal")
    edited += recorded_problems(case, rows) + table_problems(links, actions, rows)
    if edited:
        raise BridgeError(
            f"case {case_id} cannot be exported: its state in the database was edited outside the bridge "
            f"({edited[0]}); restore the state from a backup and check the chain with `whmcs-bridge audit verify`"
        )
    if api is not None and audit.anchored_from(db, rows[-1]["id"]) is None:
        try:
            anchor.anchor(db, api, now, "dossier")
        except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
            log.warning("case %s: the dossier is written without a fresh WHMCS anchor: %s", case_id, exc)
    segment = audit.segment(db, rows[0]["id"], rows[-1]["id"], at=now.isoformat(timespec="seconds"))
    with folder.FolderWriter(out) as writer:
        copy_evidence(config, case, writer)
        restores = restored_since(db, rows[0]["id"])
        page = summary_html(
            StaffView(config), case, links, actions, segment, db.signer.fingerprint, writer.files, restores
        )
        writer.add_text("summary.html", page)
        made = pdf.render(page)
        if made is not None:
            writer.add_bytes("summary.pdf", made)
        sealed = writer.seal(
            format=FORMAT,
            key=db.signer,
            exported_at=now.isoformat(timespec="seconds"),
            sections={"case": case, "links": links, "actions": actions},
            segment=segment,
            own_rows=[row["id"] for row in segment.rows if is_case_row(row, case_id)],
        )
    audit.append(
        db,
        EXPORTED,
        actor="staff",
        case_id=case_id,
        client_id=case["holder"].get("client"),
        detail={"seal": sealed.seal, "files": len(sealed.manifest["files"]), "audit_rows": len(segment.rows)},
        at=now.isoformat(timespec="seconds"),
    )
    return sealed


def restored_since(db: Database, first_row: int) -> list[audit.AuditEntry]:
    """The rollbacks staff acknowledged after the case's first row (`audit acknowledge-rollback`): the state
    was restored from a backup while the case was open, and what was recorded after that backup is lost."""
    return [entry for entry in audit.entries(db, action=anchor.ACKNOWLEDGED) if entry.id > first_row]


def copy_evidence(config: Config, case: dict[str, Any], writer: folder.FolderWriter) -> None:
    """Each evidence item from the store into evidence/ (named by number and kind), checked against its
    hash; 0600 whatever the stored copy's mode."""
    for item in case.get("evidence", []):
        source = evidence_path(config, item["sha256"])
        if not source.is_file():
            raise BridgeError(f"evidence item {item['item']} ({item['sha256'][:12]}) is missing from {source.parent}")
        name = f"evidence/{item['item']:02d}-{item['kind']}.{EXT.get(item.get('media_type') or '', 'bin')}"
        writer.add_copy(name, source, item["sha256"])


def link_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    """The case's one-time links: when sent, when used, the answer and from where."""
    return [
        {
            k: getattr(link, k)
            for k in ("id", "purpose", "created_at", "expires_at", "used_at", "decision", "ip", "user_agent")
        }
        for link in consent.for_subject(db, case_id, "ownership-")
    ]


def action_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    """The case's actions in the outbox: what ran, when, approved by whom, with which error. A step WHMCS
    answered without doing it (the registrar module refused the transfer lock: its `outcome`) is not "done"."""
    rows = []
    for entry in outbox.entries(db, subject=f"ownership:{case_id}"):
        refused = ((entry.result or {}).get("outcome") or {}).get("refused") if entry.status == "done" else None
        rows.append(
            {
                "key": entry.key,
                "kind": entry.kind,
                "status": "refused by the registrar" if refused else entry.status,
                "created_at": entry.created_at,
                "finished_at": entry.finished_at,
                "decided_by": entry.decided_by,
                "error": refused or entry.error,
            }
        )
    return rows


def verify(
    path: Path, key: PublicKey, db: Database | None = None, *, older: Sequence[PublicKey] = ()
) -> dict[str, Any]:
    """Check a dossier offline against `key` (evidence.folder.inspect; `older`: the public halves of keys
    replaced with `audit key --new`, for a segment that spans the replacement) and the case's facts against its
    audit rows; raise EvidenceError naming each problem. With the live store, also check the audit rows
    against the chain and that this export was recorded."""
    try:
        found = folder.inspect(path, FORMAT, key, older)
    except BridgeError:
        if UNSIGNED_FORMAT in _manifest_text(path):
            raise BridgeError(
                f"{path} is an unsigned dossier ({UNSIGNED_FORMAT}, written before dossiers were signed): it cannot "
                "be verified offline; export the case again"
            ) from None
        raise
    case = found.manifest.get("case")
    case = case if isinstance(case, dict) else {}
    part = found.manifest.get("audit")
    if not isinstance(part, dict):
        found.problems.append("manifest.json: no audit segment")
        part = {}
    own = (
        {n for n in part.get("own_rows") or [] if isinstance(n, int)}
        if isinstance(part.get("own_rows"), list)
        else set()
    )
    try:
        found.problems += case_problems(case, found.manifest.get("files") or {}, found.rows, own)
        mine = [row for row in found.rows if row["id"] in own and is_case_row(row, str(case.get("id")))]
        found.problems += table_problems(found.manifest.get("links"), found.manifest.get("actions"), mine)
    except (TypeError, AttributeError, KeyError, ValueError):  # a forger's shapes: already unsigned
        found.problems.append("manifest.json: the case section is not what the bridge writes")
    if db is not None and not found.problems:
        found.problems += live_problems(db, found.rows, found.seal)
    found.raise_problems()
    return found.manifest


def _manifest_text(path: Path) -> str:
    """The folder's manifest.json as text, "" when it is not a regular file inside the folder (bounded.read_inside)."""
    try:
        return bounded.read_inside(path, folder.MANIFEST, bounded.LARGEST_MANIFEST).decode("utf-8", "replace")
    except BridgeError:
        return ""


def case_problems(case: dict[str, Any], files: dict[str, str], rows: list[dict[str, Any]], own: set[int]) -> list[str]:
    """The segment's rows of this case all listed as its own, and the case's evidence and answers against
    the files and the audit rows that recorded them."""
    case_id = str(case.get("id"))
    problems = [
        f"audit.jsonl: row {row['id']} ({row['action']}) is the case's but not listed as its own"
        for row in rows
        if is_case_row(row, case_id) and row["id"] not in own
    ]
    problems += [
        f"audit.jsonl: row {row['id']} ({row['action']}) is listed as the case's but is not"
        for row in rows
        if row["id"] in own and not is_case_row(row, case_id)
    ]
    mine = [row for row in rows if row["id"] in own and is_case_row(row, case_id)]
    by_hash = set(files.values())
    problems += [
        f"evidence item {item.get('item')}: no file with its SHA-256 in the dossier"
        for item in case.get("evidence", [])
        if item.get("sha256") not in by_hash
    ]
    return problems + recorded_problems(case, mine)


def live_problems(db: Database, rows: list[dict[str, Any]], seal: str) -> list[str]:
    """The dossier's audit rows against the live chain, and the live chain's record of this export."""
    problems = []
    for row in rows:
        if audit.hash_of(db, row["id"]) != row["hash"]:
            problems.append(f"audit row {row['id']}: not the same as in the live audit chain")
    if not audit.recorded(db, EXPORTED, f'"seal":"{seal}"'):
        problems.append("the live audit chain has no record of exporting this dossier (its seal is unknown)")
    return problems


# --- the readable summary -------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c if c is not None else ''))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def summary_html(
    view: StaffView,
    case: dict[str, Any],
    links: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    segment: audit.Segment,
    fingerprint: str,
    files: dict[str, str],
    restores: list[audit.AuditEntry],
) -> str:
    """The dossier's readable page: names as the case recorded them, instants to the minute in the
    configured zone, staff's checklist as their ticket words it (the manifest keeps the raw records)."""
    zone = f"When ({view.config.zone_name})"
    anchors = sorted({p.anchor_id for p in (segment.opening, *segment.inner, segment.closing) if p and p.anchor_id})
    sealed = (
        f"<p><small>Signed dossier: key <code>{html.escape(fingerprint)}</code>; audit-chain rows "
        f"{(segment.opening.count if segment.opening else 0) + 1} to {segment.closing.count}; WHMCS activity-log "
        f"anchor(s) {', '.join(map(str, anchors)) or 'none yet'}. See Integrity, at the end.</small></p>"
    )
    title, *parties = _parties_html(view, case)
    parts = [
        title,
        sealed,
        *_restores_html(view, restores),
        *parties,
        *_policy_html(case),
        "<h2>Timeline</h2>",
        _table(
            [zone, "What", "By", "Why"],
            [[view.when(h["at"]), h["what"], h["by"], view.why(h)] for h in case.get("history", [])],
        ),
        *_evidence_html(view, case),
        *_answers_html(view, case, links),
        *_recorded_html(view, case),
        "<h2>Approvals</h2>",
        _table(["By", zone, "Note"], [[a["by"], view.when(a["at"]), a.get("note")] for a in case.get("approvals", [])]),
        *_execution_html(view, case, actions),
        *_integrity_html(segment, fingerprint, files),
    ]
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top;font-size:.9em}td:last-child{word-break:break-all}"
    head = f"<meta charset=utf-8><title>Ownership case {html.escape(case['id'])}</title><style>{style}</style>"
    lang = html.escape(view.reader.locale.replace("_", "-"))
    # Names and words from WHMCS or a party, as `show` prints them: no terminal escapes for `cat` to obey.
    return readable.safe(f"<!doctype html><html lang={lang}><head>{head}</head><body>{''.join(parts)}</body></html>\n")


def _restores_html(view: StaffView, restores: list[audit.AuditEntry]) -> list[str]:
    """Each restore from a backup staff acknowledged while the case was open: the rows WHMCS's anchors reached
    beyond this database's (an answer, an objection, a decision recorded after the backup) are not here."""
    if not restores:
        return []
    lines = []
    for entry in restores:
        here = int(entry.detail.get("rows_here") or 0)
        reached = max((int(count) for count, _ in entry.detail.get("anchors", [])), default=here)
        lines.append(
            f"<p><strong>The bridge's state was restored from a backup while this case was open</strong>: "
            f"rollback acknowledged by {html.escape(str(entry.detail.get('by') or entry.actor))} on "
            f"{html.escape(view.when(entry.at))} (audit row {entry.id}). The restored database stopped at audit row "
            f"{here}; the chain anchored in WHMCS's activity log went to row {reached}: what was recorded in rows "
            f"{here + 1} to {reached} (answers, objections, decisions, steps) is lost and is not in this dossier; "
            f"WHMCS's tickets and client notes of the case show what it was. Note: "
            f"{html.escape(str(entry.detail.get('note') or '-'))}.</p>"
        )
    return ["<h2>Restored from a backup</h2>", *lines]


def _integrity_html(segment: audit.Segment, fingerprint: str, files: dict[str, str]) -> list[str]:
    """How to check the folder, with which key, and what binds it to the audit chain and to WHMCS."""
    points = [p for p in (segment.opening, *segment.inner, segment.closing) if p is not None]
    start = segment.opening.count if segment.opening else 0
    return [
        "<h2>Integrity</h2>",
        f"<p>Signed with the key <code>{html.escape(fingerprint)}</code> (manifest.sig). audit.jsonl holds the "
        f"audit chain's rows {start + 1} to {segment.closing.count} without a gap, between checkpoints signed "
        "with the same key (or, before a key replacement the rows record, with the replaced key: give its public "
        "half too, with a second --public-key). Check this folder with the bridge's public key, obtained from the "
        "bridge (<code>whmcs-bridge audit key</code>), not from the folder: "
        "<code>whmcs-bridge ownership verify-dossier DIR --public-key KEY.pem</code>.</p>",
        _table(
            ["Checkpoint", "Rows", "Head", "WHMCS activity-log entry"],
            [[p.reason, p.count, p.hash, _anchor_cell(p.anchor_id)] for p in points],
        ),
        _table(["File", "SHA-256"], [[k, v] for k, v in sorted(files.items())]),
    ]


def _anchor_cell(anchor_id: int | None) -> str:
    if anchor_id is None:
        return "not anchored"
    return str(anchor_id) if anchor_id else "written (its id was not found back)"


def _party(party: dict[str, Any]) -> str:
    name = party.get("company") or party.get("name") or "-"
    return f"{name} (client #{party['client']})" if party.get("client") else name


def _parties_html(view: StaffView, case: dict[str, Any]) -> list[str]:
    subjects = ", ".join(f"{s['kind']} #{s['id']} {s.get('name') or ''}".strip() for s in case["subjects"])
    return [
        f"<h1>Ownership case {html.escape(case['id'])}: {html.escape(case['status'])}</h1>",
        f"<p>Subjects: {html.escape(subjects)}. Opened {html.escape(view.when(case.get('opened')))}.</p>",
        _table(
            ["", "Party", "Email"],
            [
                ["Holder", _party(case["holder"]), case["holder"].get("email")],
                ["Requester", _party(case["requester"]), case["requester"].get("email")],
            ],
        ),
        f"<p>Grounds: {html.escape(case.get('grounds') or '')}. {html.escape(case.get('note') or '')}</p>",
    ]


def _policy_html(case: dict[str, Any]) -> list[str]:
    need = requirements(case) if case.get("policies") else {}
    return [
        "<h2>Policy</h2>",
        _table(
            ["Subject", "Policy", "Consent", "Hand-over"],
            [
                [
                    s["kind"] + " #" + str(s["id"]) + " " + (s.get("name") or ""),
                    s.get("policy"),
                    case.get("policies", {}).get(s.get("policy"), {}).get("consent"),
                    s.get("hand_over"),
                ]
                for s in case["subjects"]
            ],
        ),
        f"<p>{_window(case, need)}; {need.get('approvals', 0)} approval(s); {_lock(case, need)}.</p>",
    ]


def _window(case: dict[str, Any], need: dict[str, Any]) -> str:
    """The holder's response window, unless no policy asks the holder (consent: none)."""
    if all(p.get("consent") == "none" for p in case.get("policies", {}).values()):
        return "No response window: the holder is not asked (consent: none), the checked documents decide"
    return f"Response window {need.get('window_s', 0) // 86400} days"


def _lock(case: dict[str, Any], need: dict[str, Any]) -> str:
    """The lock after completion; none once a completed case moved nothing (a backup-only hand-over)."""
    if case.get("status") == "completed" and not case.get("lock_until"):
        return "no lock: nothing changed hands"
    return f"lock {need.get('lock_s', 0) // 86400} days"


def evidence_via(e: dict[str, Any]) -> Any:
    """How an item came, with the ticket message it was taken from and who WHMCS says wrote it."""
    if e.get("source"):
        return f"{e.get('via')} ({e['source']})"
    return f"{e.get('via')} (ticket #{e.get('message') or e['ticket']})" if e.get("ticket") else e.get("via")


def _evidence_html(view: StaffView, case: dict[str, Any]) -> list[str]:
    return [
        "<h2>Evidence</h2>",
        _table(
            ["Item", "Kind", "From", "Via", "Dated", "Received", "Status", "Checked by", "SHA-256"],
            [
                [
                    e["item"],
                    e["kind"],
                    e.get("from"),
                    evidence_via(e),
                    view.day(e.get("dated")),
                    view.when(e["received"]),
                    e["status"],
                    checked_by(e),
                    e["sha256"],
                ]
                for e in case.get("evidence", [])
            ],
        ),
    ]


def _answers_html(view: StaffView, case: dict[str, Any], links: list[dict[str, Any]]) -> list[str]:
    zone = f"When ({view.config.zone_name})"
    return [
        "<h2>Answers through one-time links</h2>",
        _table(
            ["Party", "Answer", zone, "Address", "Browser", "Reason"],
            [
                [
                    a.get("party"),
                    "consented" if a.get("decision") == "accept" else "objected or declined",
                    view.when(a.get("at")),
                    a.get("ip"),
                    a.get("user_agent"),
                    a.get("reason"),
                ]
                for a in case.get("answers", [])
            ],
        ),
        _table(
            ["Link", "Purpose", "Sent", "Expires", "Used"],
            [
                [x["id"], x["purpose"], view.when(x["created_at"]), view.when(x["expires_at"]), view.when(x["used_at"])]
                for x in links
            ],
        ),
    ]


def _recorded_html(view: StaffView, case: dict[str, Any]) -> list[str]:
    """Answers staff recorded (received by ticket, email, post or phone) and the parties' replies in
    their ticket threads, with how staff classified each."""
    zone = f"When ({view.config.zone_name})"
    return [
        "<h2>Answers recorded by staff</h2>",
        _table(
            ["Party", "Answer", "Via", "Recorded by", "System user", zone, "Evidence item", "Note"],
            [
                [
                    a.get("party"),
                    "consented" if a.get("answer") == "consent" else "objected",
                    a.get("via"),
                    a.get("by"),
                    a.get("os_user"),
                    view.when(a.get("at")),
                    a.get("evidence"),
                    a.get("note"),
                ]
                for a in case.get("recorded_answers", [])
            ],
        ),
        "<h2>Replies in the case's ticket threads</h2>",
        _table(
            ["Party", "Ticket", "Reply", zone, "Classified", "Message"],
            [
                [
                    r.get("party") if r.get("party") != "other" else f"{r.get('writer') or '?'} (neither party)",
                    r.get("ticket"),
                    "the whole thread, gone from WHMCS" if r.get("thread_gone") else r.get("reply"),
                    view.when(r.get("date") or r.get("seen")),
                    r.get("classified") or "not yet",
                    r.get("message"),
                ]
                for r in case.get("replies", [])
            ],
        ),
    ]


def _execution_html(view: StaffView, case: dict[str, Any], actions: list[dict[str, Any]]) -> list[str]:
    """The side effects, staff's checklist, the actions run, and the registrant each domain had."""
    effects, todo = view.checklist(case) if case.get("status") in ("executing", "completed") else ([], [])
    return [
        "<h2>Execution</h2>",
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in effects) + "</ul>",
        "<p>Checklist for staff:</p><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in todo) + "</ul>",
        _table(
            ["Action", "Kind", "Status", f"Done ({view.config.zone_name})", "Approved by", "Error"],
            [
                [a["key"], a["kind"], a["status"], view.when(a["finished_at"]), a["decided_by"], a["error"]]
                for a in actions
            ],
        ),
        "<h2>Registrant before the change</h2>",
        _table(
            ["Domain", "Registrant"],
            [
                [
                    s.get("name"),
                    "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in s["registrant_before"].items() if v),
                ]
                for s in case["subjects"]
                if "registrant_before" in s
            ],
        ),
    ]
