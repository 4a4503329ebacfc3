"""An ownership case's dossier: a self-contained folder that can be checked later, without the bridge.

    summary.html     parties, grounds, policy, timeline, evidence with hashes, answers, approvals, execution
    manifest.json    the case, every file's SHA-256, the links, the actions, and a seal per section
    evidence/        the evidence files, named by item number and kind (never by the sender's file name)
    audit.jsonl      the case's rows of the audit chain, each with its hash and its predecessor's

`verify` recomputes every hash and names what changed; given the live store it also checks that the
audit rows are the chain's own and that the export was recorded there."""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.ownership.policies import requirements
from whmcs_bridge.families.ownership.staff import StaffView, evidence_path
from whmcs_bridge.families.ownership.staff import case as load_case
from whmcs_bridge.store import audit, consent, outbox
from whmcs_bridge.store.db import Database

FORMAT = "whmcs-bridge-ownership-dossier/1"
SECTIONS = ("case", "files", "links", "actions", "audit")
EXT = {"pdf": "pdf", "png": "png", "jpeg": "jpg", "text": "txt", "eml": "eml"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(value: Any) -> str:
    return hashlib.sha256(audit.canonical(value).encode("utf-8")).hexdigest()


def case_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    return audit.raw_rows(db, case_id=case_id, subject=f"ownership:{case_id}")


def export(config: Config, db: Database, case_id: str, out: Path, *, now: datetime) -> dict[str, Any]:
    case = load_case(db, case_id)
    if out.exists() and any(out.iterdir()):
        raise BridgeError(f"{out} is not empty: a dossier is written to a new folder")
    files = copy_evidence(config, case, out)
    links = link_rows(db, case_id)
    actions = action_rows(db, case_id)
    rows = case_rows(db, case_id)
    (out / "audit.jsonl").write_text("".join(audit.canonical(r) + "\n" for r in rows), encoding="utf-8")
    files["audit.jsonl"] = sha256_file(out / "audit.jsonl")
    page = summary_html(StaffView(config), case, links, actions, rows, files)
    (out / "summary.html").write_text(page, encoding="utf-8")
    files["summary.html"] = sha256_file(out / "summary.html")
    head = audit.head(db)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": now.isoformat(timespec="seconds"),
        "case": case,
        "files": files,
        "links": links,
        "actions": actions,
        "audit": {
            "file": "audit.jsonl",
            "rows": len(rows),
            "chain_head": {"id": head[0], "hash": head[1]} if head else None,
        },
    }
    manifest["seals"] = {name: seal(manifest[name]) for name in SECTIONS}
    manifest["seal"] = seal(manifest["seals"])
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    audit.append(
        db,
        "ownership.dossier_exported",
        actor="staff",
        case_id=case_id,
        client_id=case["holder"].get("client"),
        detail={"seal": manifest["seal"], "files": len(files), "audit_rows": len(rows)},
        at=now.isoformat(timespec="seconds"),
    )
    return manifest


def copy_evidence(config: Config, case: dict[str, Any], out: Path) -> dict[str, str]:
    """Each evidence item from the store into evidence/ (named by number and kind), checked against
    its hash first; the files' hashes by name."""
    (out / "evidence").mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for item in case.get("evidence", []):
        source = evidence_path(config, item["sha256"])
        if not source.is_file():
            raise BridgeError(f"evidence item {item['item']} ({item['sha256'][:12]}) is missing from {source.parent}")
        if sha256_file(source) != item["sha256"]:
            raise BridgeError(f"evidence item {item['item']}: the stored file {source} no longer matches its hash")
        name = f"evidence/{item['item']:02d}-{item['kind']}.{EXT.get(item.get('media_type') or '', 'bin')}"
        shutil.copyfile(source, out / name)
        files[name] = item["sha256"]
    return files


def link_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    """The case's one-time links: when sent, when used, the answer and from where."""
    return [
        {k: getattr(link, k) for k in ("id", "purpose", "created_at", "expires_at", "used_at", "decision", "ip", "user_agent")}
        for link in consent.for_subject(db, case_id, "ownership-")
    ]


def action_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    """The case's actions in the outbox: what ran, when, approved by whom, with which error."""
    return [
        {
            "key": entry.key,
            "kind": entry.kind,
            "status": entry.status,
            "created_at": entry.created_at,
            "finished_at": entry.finished_at,
            "decided_by": entry.decided_by,
            "error": entry.error,
        }
        for entry in outbox.entries(db, subject=f"ownership:{case_id}")
    ]


def verify(folder: Path, db: Database | None = None) -> dict[str, Any]:
    """Recompute every hash; raise BridgeError naming each thing that changed. With the live store,
    also check the audit rows against the chain and that this export was recorded."""
    manifest = read_manifest(folder)
    files: dict[str, str] = manifest.get("files") or {}
    problems = seal_problems(manifest) + file_problems(folder, files)
    rows = read_rows(folder / "audit.jsonl", problems)
    problems += case_problems(manifest.get("case") or {}, files, rows)
    if db is not None and not problems:
        problems += live_problems(db, rows, manifest)
    if problems:
        raise BridgeError("the dossier does not verify:\n  " + "\n  ".join(problems))
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BridgeError(f"{folder}: no manifest.json, not a dossier") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeError(f"{folder}/manifest.json is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BridgeError(f"{folder}/manifest.json is not a {FORMAT} manifest")
    return manifest


def seal_problems(manifest: dict[str, Any]) -> list[str]:
    """Each section of the manifest against its seal, and the seals against theirs."""
    seals = manifest.get("seals") or {}
    problems = [
        f"manifest.json: the `{name}` section was edited (its seal does not match)"
        for name in SECTIONS
        if seal(manifest.get(name)) != seals.get(name)
    ]
    if seal(seals) != manifest.get("seal"):
        problems.append("manifest.json: the seals themselves were edited")
    return problems


def file_problems(folder: Path, files: dict[str, str]) -> list[str]:
    """Every listed file against its hash, then every file in the folder that is not listed."""
    problems = []
    for name, expected in sorted(files.items()):
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            problems.append(f"{name}: missing")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{name}: changed (SHA-256 {actual[:16]}…, the manifest says {expected[:16]}…)")
    listed = set(files) | {"manifest.json"}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not in the manifest (added)")
    return problems


def case_problems(case: dict[str, Any], files: dict[str, str], rows: list[dict[str, Any]]) -> list[str]:
    """The case's evidence and answers against the files and the audit rows that recorded them."""
    problems = []
    by_hash = set(files.values())
    attached = {r["detail"].get("sha256") for r in rows if r["action"] == "staff.OwnershipCommand.attach"}
    for item in case.get("evidence", []):
        if item.get("sha256") not in by_hash:
            problems.append(f"evidence item {item.get('item')}: no file with its SHA-256 in the dossier")
        if item.get("sha256") not in attached:
            problems.append(f"evidence item {item.get('item')}: its SHA-256 is not in the audit chain (entry edited)")
    decided = {(r["detail"].get("decision"), r["detail"].get("ip")) for r in rows if r["action"] == "consent.decided"}
    for answer in case.get("answers", []):
        if (answer.get("decision"), answer.get("ip")) not in decided:
            problems.append(
                f"the {answer.get('party')}'s answer of {answer.get('at')}: not in the audit chain (entry edited)"
            )
    return problems


def live_problems(db: Database, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> list[str]:
    """The dossier's audit rows against the live chain, and the live chain's record of this export."""
    problems = []
    for row in rows:
        if audit.hash_of(db, row["id"]) != row["hash"]:
            problems.append(f"audit row {row['id']}: not the same as in the live audit chain")
    if not audit.recorded(db, "ownership.dossier_exported", f'"seal":"{manifest.get("seal")}"'):
        problems.append("the live audit chain has no record of exporting this dossier (its seal is unknown)")
    return problems


def read_rows(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    """The audit rows, each re-hashed from its content and its predecessor's hash."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    last = 0
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(text)
            content = {k: row[k] for k in ("id", "at", "actor", "action", "client_id", "case_id", "subject", "detail")}
        except (ValueError, KeyError, TypeError):
            problems.append(f"audit.jsonl line {number}: not an audit row")
            continue
        if audit.row_hash(row.get("prev_hash", ""), content) != row.get("hash"):
            problems.append(
                f"audit.jsonl line {number} (row {row['id']}, {row['action']}): edited (its hash does not match)"
            )
        if row["id"] <= last:
            problems.append(f"audit.jsonl line {number}: rows out of order")
        last = row["id"]
        rows.append(row)
    return rows


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
    rows: list[dict[str, Any]],
    files: dict[str, str],
) -> str:
    """The dossier's readable page: names as the case recorded them, instants to the minute in the
    configured zone, staff's checklist as their ticket words it (the manifest keeps the raw records)."""
    zone = f"When ({view.config.zone_name})"
    parts = [
        *_parties_html(view, case),
        *_policy_html(case),
        "<h2>Timeline</h2>",
        _table(
            [zone, "What", "By", "Why"],
            [[view.when(h["at"]), h["what"], h["by"], h["why"]] for h in case.get("history", [])],
        ),
        *_evidence_html(view, case),
        *_answers_html(view, case, links),
        *_recorded_html(view, case),
        "<h2>Approvals</h2>",
        _table(["By", zone, "Note"], [[a["by"], view.when(a["at"]), a.get("note")] for a in case.get("approvals", [])]),
        *_execution_html(view, case, actions),
        f"<h2>Integrity</h2><p>{len(rows)} audit-chain rows in audit.jsonl. Check this folder with <code>whmcs-bridge ownership verify-dossier DIR</code>.</p>",
        _table(["File", "SHA-256"], [[k, v] for k, v in sorted(files.items())]),
    ]
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top;font-size:.9em}td:last-child{word-break:break-all}"
    head = f"<meta charset=utf-8><title>Ownership case {html.escape(case['id'])}</title><style>{style}</style>"
    lang = html.escape(view.reader.locale.replace("_", "-"))
    return f"<!doctype html><html lang={lang}><head>{head}</head><body>{''.join(parts)}</body></html>\n"


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
        f"<p>Response window {need.get('window_s', 0) // 86400} days; {need.get('approvals', 0)} approval(s); lock {need.get('lock_s', 0) // 86400} days.</p>",
    ]


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
                    e.get("via"),
                    view.day(e.get("dated")),
                    view.when(e["received"]),
                    e["status"],
                    ", ".join(c["by"] for c in e.get("checks", [])),
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
                    r.get("party"),
                    r.get("ticket"),
                    r.get("reply"),
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
                [s.get("name"), "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in s["registrant_before"].items() if v)]
                for s in case["subjects"]
                if "registrant_before" in s
            ],
        ),
    ]
