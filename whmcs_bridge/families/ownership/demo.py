"""The demo's seed 000 story: a company asks for the domain and hosting its vendor registered; the case
collects its documents, the vendor answers through a one-time link, staff approve, the bridge does
what the API allows and lists the rest, staff move the subjects, the case completes and locks, and
its dossier is exported and verified."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

from whmcs_bridge.config.load import Config
from whmcs_bridge.demo_stage import Stage
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.families.ownership import staff as own
from whmcs_bridge.families.ownership.whmcs_reads import ticket_attachment
from whmcs_bridge.sandbox.documents import text_pdf
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

Echo = Callable[[str], None]
SEED = "Seed 000: a company asks for its vendor's domain"
SCENARIO = "vendor-dispute"
PLAYED = "Seed 000, played: a company claims its vendor's domain and hosting"

# The demo's policies: the two situations of seed 000 (config.example.yaml carries them too).
CONFIG = """\
ownership:
  enabled: true
  department_id: 1
  staff: [demo-staff, demo-supervisor]
  policies:
    company-brand-domain:
      subjects: [domain]
      requester: company
      grounds: [vendor, brand, ex-employee]
      evidence:
        - kind: letterhead-letter
        - kind: registry-extract
          max_age_days: 90
        - kind: signatory-id
      consent: notice
      window: 14d
      lock: 60d
    vendor-hosting:
      subjects: [service]
      holder: company
      grounds: [vendor, brand]
      evidence:
        - kind: letterhead-letter
        - kind: vendor-contract
      consent: required
      without_consent: backup-only
      window: 14d
      approvals: 2
      lock: 60d
      vendor_commission: true
"""
REGISTRY = b"Ministry of Law (AHU) company registry extract: PT Maju Makmur, director Siti Rahmawati.\n"
# A stand-in for the director's ID scan: a whole one-pixel PNG (evidence refuses a file cut short).
ID_CARD = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
CONTRACT = text_pdf(["Website contract between PT Maju Makmur and Kreatif Studio, 2023"])


def play(config: Config, sandbox_url: str, echo: Echo) -> Path:
    """Play the story against the sandbox; return the state database it used."""
    stage = Stage(config, sandbox_url, state="ownership-state.db", scenario="vendor-dispute", links=True)
    try:
        stage.settle(passes=1)
        case_id = open_the_case(stage, echo)
        collect_documents(stage, echo, case_id)
        answer_and_approve(stage, echo, case_id)
        move_and_lock(stage, echo, case_id)
        export_the_dossier(stage, echo, case_id)
    finally:
        stage.close()
    return stage.config.state.path


def link(stage: Stage, client: int) -> str:
    """The one-time link in the last email the client received."""
    mail = [e for e in stage.rows("emails", client_id=client) if "/consent/" in e["message"]][-1]
    found = re.search(r'href="([^"]+)"', mail["message"])
    assert found, "the email carries the one-time link"
    return found.group(1)


def open_the_case(stage: Stage, echo: Echo) -> str:
    """Staff open the case; the company confirms its request through its link."""
    scenario = stage.scenario
    echo("PT Maju Makmur (client #21, account 3 days old) writes: 'Full access to majumakmur.co.id'. The domain and")
    echo("its hosting are held by Kreatif Studio (client #20), the vendor that built the site.")
    case = own.open_case(
        stage.config,
        stage.bridge.db,
        stage.bridge.api,
        subjects=[f"domain:{scenario['domain_id']}", f"service:{scenario['service_id']}"],
        requester=f"client:{scenario['company_client_id']}",
        grounds="vendor",
        by="demo-staff",
        note="ticket #1: the company asks for full control",
        now=datetime.now(UTC),
    )
    echo(f"  staff open case {case['id']}; the policies that apply:")
    for subject in case["subjects"]:
        policy = case["policies"][subject["policy"]]
        echo(
            f"     {subject['name']} ({subject['kind']}): {subject['policy']}, holder consent {policy['consent']}, {policy['approvals']} approval(s)"
        )
    echo(f"  documents needed: {'; '.join(own.missing_evidence(case, datetime.now(UTC)))}")
    stage.settle()
    answer = requests.post(
        link(stage, scenario["company_client_id"]),
        data={"decision": "accept"},
        headers={"User-Agent": "demo-browser"},
        timeout=10,
    )
    echo(f"  the company confirms its request through its one-time link (HTTP {answer.status_code})")
    return str(case["id"])


def collect_documents(stage: Stage, echo: Echo, case_id: str) -> None:
    """Four documents arrive by four channels, the letter taken from the ticket; staff check each."""
    now = datetime.now(UTC)
    ticket_id = stage.scenario["ticket_id"]
    name, letter = ticket_attachment(stage.bridge.api, ticket_id, None, 0)
    documents = [
        (letter, name, "letterhead-letter", "ticket"),
        (REGISTRY, "ahu-extract.txt", "registry-extract", "email"),
        (ID_CARD, "ktp-siti.png", "signatory-id", "upload"),
        (CONTRACT, "contract.pdf", "vendor-contract", "post"),
    ]
    for data, filename, kind, via in documents:
        item = own.attach(
            stage.config,
            stage.bridge.db,
            case_id,
            data,
            name=filename,
            kind=kind,
            sender="PT Maju Makmur",
            via=via,
            dated=now.date().isoformat(),
            ticket=ticket_id if via == "ticket" else None,
            by="demo-staff",
            now=now,
        )
        own.submit(
            stage.config,
            stage.bridge.db,
            case_id,
            {"command": "check", "item": item["item"], "ok": True, "note": "original seen"},
            by="demo-staff",
            now=now,
        )
        echo(f"  evidence {item['item']}: {kind} via {via}, sha256 {item['sha256'][:16]}..., checked")
    case = own.case(stage.bridge.db, case_id)
    echo(f"  documents complete: the vendor is notified by email and ticket, answer due {case['deadline'][:10]}")


def answer_and_approve(stage: Stage, echo: Echo, case_id: str) -> None:
    """The vendor consents through its link; two staff approve; the API does its part."""
    stage.settle()
    answer = requests.post(
        link(stage, stage.scenario["vendor_client_id"]),
        data={"decision": "accept", "reason": "Agreed. The site's code is theirs; we keep the commission."},
        headers={"User-Agent": "demo-browser"},
        timeout=10,
    )
    echo(f"  Kreatif Studio consents through its one-time link (HTTP {answer.status_code}); time and address recorded")
    stage.settle()
    for who in ("demo-staff", "demo-supervisor"):
        case = own.submit(
            stage.config,
            stage.bridge.db,
            case_id,
            {"command": "approve", "note": "documents and consent in order"},
            by=who,
            now=datetime.now(UTC),
            os_user=f"{who} (demo)",  # two people, each at their own login
        )
    stage.settle()
    # The daemon's next poll, a moment later: the writes wait for WHMCS's tickets read after the approval (a poll
    # stamped in the approval's second may have read before it).
    stage.settle(passes=2, at=datetime.now(UTC) + timedelta(seconds=1))
    checklist = staff_ticket(stage, case_id, "execute the hand-over")
    echo(f"  two staff approve; the case is {case['status']}. Side effects, as staff's ticket lists them:")
    for line in checklist.splitlines():
        if line.startswith("- "):
            echo(f"     {line}")
    whois = json.loads(stage.rows("domains", id=stage.scenario["domain_id"])[0]["whois"])["Registrant"]
    echo(
        f"  done through the API: the WHOIS registrant is now {whois['Organisation_Name']} ({whois['Email']}), the transfer lock is on, and delegations on them end"
    )
    echo("  staff get a ticket with the checklist of what only the admin area can do:")
    for line in checklist.splitlines():
        if line.startswith("[ ]"):
            echo(f"     {line}")


def staff_ticket(stage: Stage, case_id: str, ending: str) -> str:
    """The first message of staff's ticket about the case whose subject ends so, as WHMCS keeps it."""
    ticket = next(t for t in stage.rows("tickets") if case_id in t["subject"] and t["subject"].endswith(ending))
    return str(stage.rows("ticket_replies", ticket_id=ticket["id"])[0]["message"])


def move_and_lock(stage: Stage, echo: Echo, case_id: str) -> None:
    """Staff move both subjects in WHMCS; the bridge sees it, completes and locks; a new claim is refused."""
    scenario, company = stage.scenario, stage.scenario["company_client_id"]
    stage.control("move", {"service": scenario["service_id"], "client": company})
    stage.control("move", {"domain": scenario["domain_id"], "client": company})
    # The check sees both moved, the hosting gets its new password, and the read of WHMCS after it completes the case.
    stage.settle(passes=5, at=datetime.now(UTC) + timedelta(hours=2))
    case = own.case(stage.bridge.db, case_id)
    echo("  staff move both in WHMCS; the bridge's next check sees it: the hosting is the company's now, its password")
    echo("  is changed and WHMCS's welcome email sends the company the access")
    echo(
        f"  WHMCS read again after every step: case {case['status']}, locked until {str(case.get('lock_until'))[:10]}"
    )
    try:
        own.open_case(
            stage.config,
            stage.bridge.db,
            stage.bridge.api,
            subjects=[f"service:{scenario['service_id']}"],
            requester=f"client:{scenario['vendor_client_id']}",
            grounds="vendor",
            by="demo-staff",
            note="",
            now=datetime.now(UTC),
        )
    except BridgeError as exc:
        echo(f"  a new claim on the hosting is refused: {exc}")


def export_the_dossier(stage: Stage, echo: Echo, case_id: str) -> None:
    out = stage.config.state.path.with_name(f"dossier-{case_id}")
    shutil.rmtree(out, ignore_errors=True)  # a demo run again in the same --workdir
    db = stage.bridge.db
    sealed = dossier.export(stage.config, db, case_id, out, now=datetime.now(UTC), api=stage.bridge.api)
    assert db.signer is not None  # export refuses without one
    dossier.verify(out, db.signer.public, db)
    echo(
        f"  dossier exported to {out.name}/ ({len(sealed.manifest['files'])} files), signed with "
        f"{db.signer.fingerprint[:23]}... and verified: seal {sealed.seal[:16]}..."
    )


def observe(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
    holders: dict[str, tuple[int, int]] = {}
    for summary in api.clients():
        for domain in api.domains(client_id=summary.id):
            holders[domain.domainname.lower()] = (summary.id, domain.id)
    for ticket in api.tickets():
        requester = api.client_details(ticket.client_id)
        echo(
            f"  ticket #{ticket.tid} from {requester.display_name} (client #{requester.id}, account {((today - requester_created(api, requester.id)).days)} days old): {ticket.subject!r}"
        )
        for name, (holder_id, domain_id) in holders.items():
            if name in ticket.subject.lower():
                holder = api.client_details(holder_id)
                whois = api.whois(domain_id).contacts.get("Registrant", {})
                echo(
                    f"     {name} is held by {holder.display_name} (client #{holder_id}); WHOIS registrant: {whois.get('Organisation_Name') or whois.get('First_Name', '?')}"
                )
                echo(
                    f"     services of the holder on that name: {[s.name for s in api.services(client_id=holder_id) if s.domain == name]}"
                )
                audit.append(
                    db,
                    "demo.observed_ownership_request",
                    actor="demo",
                    client_id=requester.id,
                    subject=f"domain:{domain_id}",
                    detail={"holder": holder_id, "ticket": ticket.id},
                )


def requester_created(api: WhmcsApi, client_id: int) -> date:
    for summary in api.clients():
        if summary.id == client_id and summary.datecreated:
            return summary.datecreated
    return date.today()
