"""The demo's seed 000 story: a company asks for the domain and hosting its vendor registered; the case
collects its documents, the vendor answers through a one-time link, staff approve, the bridge does
what the API allows and lists the rest, staff move the subjects, the case completes and locks, and
its dossier is exported and verified."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from whmcs_bridge.config.load import Config
from whmcs_bridge.daemon import Bridge
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.families.ownership import staff as own
from whmcs_bridge.families.ownership.rules import missing_evidence
from whmcs_bridge.intake.receiver import Receiver, run_in_thread, serve
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
ID_CARD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 48  # a stand-in for the director's ID scan
CONTRACT = b"%PDF-1.4\n% Website contract between PT Maju Makmur and Kreatif Studio, 2023\n%%EOF\n"


def play(config: Config, sandbox_url: str, echo: Echo) -> Path:
    """Play the story against the sandbox; return the state database it used."""
    config = dataclasses.replace(
        config, state=dataclasses.replace(config.state, path=config.state.path.with_name("ownership-state.db"))
    )
    requests.post(f"{sandbox_url}_sandbox/clock", json={"reset": True}, timeout=10)
    scenario = requests.post(f"{sandbox_url}_sandbox/scenario", json={"name": "vendor-dispute"}, timeout=30).json()
    receiver = Receiver(config.state.path, config.receiver.all_secrets)
    server = serve(receiver, "127.0.0.1", 0)
    run_in_thread(server)
    public = f"http://127.0.0.1:{server.effective_port}"  # where the one-time links point
    config = dataclasses.replace(config, receiver=dataclasses.replace(config.receiver, public_url=public))
    bridge = Bridge(config)
    requests.post(
        f"{sandbox_url}_sandbox/hooks",
        json={"url": f"{public}/hooks/whmcs", "secret": config.receiver.secret.reveal()},
        timeout=10,
    )
    vendor, company = scenario["vendor_client_id"], scenario["company_client_id"]

    def rows(table: str, **where: int) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in where.items())
        found: list[dict[str, Any]] = requests.get(
            f"{sandbox_url}_sandbox/query?table={table}&{query}", timeout=10
        ).json()["rows"]
        return found

    def settle(at: datetime | None = None, passes: int = 3) -> None:
        requests.get(f"{sandbox_url}_sandbox/hooks", timeout=30)
        for _ in range(passes):
            bridge.run_once(at or datetime.now(UTC), poll=True)

    def link(client: int) -> str:
        mail = [e for e in rows("emails", client_id=client) if "/consent/" in e["message"]][-1]
        found = re.search(r'href="([^"]+)"', mail["message"])
        assert found, "the email carries the one-time link"
        return found.group(1)

    try:
        settle(passes=1)
        echo(
            "PT Maju Makmur (client #21, account 3 days old) writes: 'Full access to majumakmur.co.id'. The domain and"
        )
        echo("its hosting are held by Kreatif Studio (client #20), the vendor that built the site.")
        case = own.open_case(
            config,
            bridge.db,
            bridge.api,
            subjects=[f"domain:{scenario['domain_id']}", f"service:{scenario['service_id']}"],
            requester=f"client:{company}",
            grounds="vendor",
            by="demo-staff",
            note="ticket #1: the company asks for full control",
            now=datetime.now(UTC),
        )
        case_id = case["id"]
        echo(f"  staff open case {case_id}; the policies that apply:")
        for subject in case["subjects"]:
            policy = case["policies"][subject["policy"]]
            echo(
                f"     {subject['name']} ({subject['kind']}): {subject['policy']}, holder consent {policy['consent']}, {policy['approvals']} approval(s)"
            )
        echo(f"  documents needed: {'; '.join(missing_evidence(case, datetime.now(UTC)))}")
        settle()
        answer = requests.post(
            link(company), data={"decision": "accept"}, headers={"User-Agent": "demo-browser"}, timeout=10
        )
        echo(f"  the company confirms its request through its one-time link (HTTP {answer.status_code})")
        now = datetime.now(UTC)
        name, letter = own.ticket_attachment(bridge.api, scenario["ticket_id"], 0)
        documents = [
            (letter, name, "letterhead-letter", "ticket"),
            (REGISTRY, "ahu-extract.txt", "registry-extract", "email"),
            (ID_CARD, "ktp-siti.png", "signatory-id", "upload"),
            (CONTRACT, "contract.pdf", "vendor-contract", "post"),
        ]
        for data, filename, kind, via in documents:
            item = own.attach(
                config,
                bridge.db,
                case_id,
                data,
                name=filename,
                kind=kind,
                sender="PT Maju Makmur",
                via=via,
                dated=now.date().isoformat(),
                ticket=scenario["ticket_id"] if via == "ticket" else None,
                by="demo-staff",
                now=now,
            )
            own.submit(
                config,
                bridge.db,
                case_id,
                {"command": "check", "item": item["item"], "ok": True, "note": "original seen"},
                by="demo-staff",
                now=now,
            )
            echo(f"  evidence {item['item']}: {kind} via {via}, sha256 {item['sha256'][:16]}..., checked")
        case = own.case(bridge.db, case_id)
        echo(f"  documents complete: the vendor is notified by email and ticket, answer due {case['deadline'][:10]}")
        settle()
        answer = requests.post(
            link(vendor),
            data={"decision": "accept", "reason": "Agreed. The site's code is theirs; we keep the commission."},
            headers={"User-Agent": "demo-browser"},
            timeout=10,
        )
        echo(
            f"  Kreatif Studio consents through its one-time link (HTTP {answer.status_code}); time and address recorded"
        )
        settle()
        for who in ("demo-staff", "demo-supervisor"):
            case = own.submit(
                config,
                bridge.db,
                case_id,
                {"command": "approve", "note": "documents and consent in order"},
                by=who,
                now=datetime.now(UTC),
            )
        echo(f"  two staff approve; the case is {case['status']}. Side effects, listed first:")
        for line in case["side_effects"]:
            echo(f"     - {line}")
        settle()
        whois = json.loads(rows("domains", id=scenario["domain_id"])[0]["whois"])["Registrant"]
        echo(
            f"  done through the API: the WHOIS registrant is now {whois['Organisation_Name']} ({whois['Email']}), the hosting password is changed, and delegations on them end"
        )
        echo("  staff get a ticket with the checklist of what only the admin area can do:")
        for line in case["checklist"]:
            echo(f"     [ ] {line}")
        for body in (
            {"service": scenario["service_id"], "client": company},
            {"domain": scenario["domain_id"], "client": company},
        ):
            requests.post(f"{sandbox_url}_sandbox/move", json=body, timeout=10)
        settle(datetime.now(UTC) + timedelta(hours=2))
        case = own.case(bridge.db, case_id)
        echo(
            f"  staff move both in WHMCS; the bridge's next check sees it: case {case['status']}, locked until {case['lock_until'][:10]}"
        )
        try:
            own.open_case(
                config,
                bridge.db,
                bridge.api,
                subjects=[f"service:{scenario['service_id']}"],
                requester=f"client:{vendor}",
                grounds="vendor",
                by="demo-staff",
                note="",
                now=datetime.now(UTC),
            )
        except BridgeError as exc:
            echo(f"  a new claim on the hosting is refused: {exc}")
        out = config.state.path.with_name(f"dossier-{case_id}")
        shutil.rmtree(out, ignore_errors=True)  # a demo run again in the same --workdir
        manifest = dossier.export(config, bridge.db, case_id, out, now=datetime.now(UTC))
        dossier.verify(out, bridge.db)
        echo(
            f"  dossier exported to {out.name}/ ({len(manifest['files'])} files) and verified: seal {manifest['seal'][:16]}..."
        )
    finally:
        requests.post(f"{sandbox_url}_sandbox/hooks", json={"url": None, "secret": None}, timeout=10)
        server.close()
        bridge.close()
    return config.state.path


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
