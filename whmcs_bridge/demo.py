"""`whmcs-bridge demo`: the sandbox on a free loopback port, a real bridge config pointed at it, the seed stories narrated."""

from __future__ import annotations

import base64
import re
import secrets
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import requests

from whmcs_bridge.config import Config, load_config
from whmcs_bridge.demo_agency import play as play_agency
from whmcs_bridge.demo_ladder import play
from whmcs_bridge.demo_ownership import play as play_ownership
from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

Echo = Callable[[str], None]

CONFIG_TEMPLATE = """\
# Written by `whmcs-bridge demo`: a bridge configuration pointed at the bundled sandbox.
whmcs:
  url: {url}
  identifier: ${{WHMCS_API_IDENTIFIER}}
  secret: ${{WHMCS_API_SECRET}}
  timeout_s: 10
receiver:
  listen: 127.0.0.1:0
  secret: ${{WHMCS_BRIDGE_WEBHOOK_SECRET}}
state:
  path: state.db
poll:
  every: 1m
"""

DOWNSTREAM_FIELDS = {"Hosted domains": "domains", "Hosted users": "users", "Sub-resellers": "sub-resellers"}


def write_config(folder: Path, url: str, identifier: str, secret: str) -> Path:
    """A config file and its .env, as an operator would write them."""
    folder.mkdir(parents=True, exist_ok=True)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    (folder / ".env").write_text(
        f"WHMCS_API_IDENTIFIER={identifier}\nWHMCS_API_SECRET={secret}\nWHMCS_BRIDGE_WEBHOOK_SECRET={webhook_secret}\n",
        encoding="utf-8",
    )
    path = folder / "whmcs-bridge.yaml"
    from whmcs_bridge.demo_ladder import LADDER_YAML
    from whmcs_bridge.demo_ownership import OWNERSHIP_YAML

    path.write_text(
        CONFIG_TEMPLATE.format(url=url) + LADDER_YAML + "delegation:\n  enabled: true\n" + OWNERSHIP_YAML,
        encoding="utf-8",
    )
    return path


def run_demo(workdir: Path | None, echo: Echo) -> None:
    identifier, secret = "demo-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="whmcs-bridge-demo-") as tmp, RunningSandbox(identifier, secret) as sandbox:
        folder = workdir or Path(tmp)
        config = load_config(write_config(folder, sandbox.url, identifier, secret))
        echo("whmcs-bridge demo")
        echo(f"  sandbox WHMCS:  {sandbox.url} (includes/api.php over real HTTP)")
        echo(f"  bridge config:  {config.source} (valid)")
        client = WhmcsClient.from_config(config.whmcs)
        api = WhmcsApi(client)
        with Database(config.state.path) as db:
            for title, scenario, story in (
                ("Seed 001: a reseller who stopped paying", "reseller-overdue", reseller_story),
                ("Seed 002: a web agency and its end clients", "agency", agency_story),
                ("Seed 000: a company asks for its vendor's domain", "vendor-dispute", vendor_story),
            ):
                summary = requests.post(f"{sandbox.url}_sandbox/scenario", json={"name": scenario}, timeout=30).json()
                echo("")
                echo(f"== {title} (scenario {scenario}, WHMCS date {summary['today']}) ==")
                story(api, db, config, echo, date.fromisoformat(summary["today"]))
            echo("")
            echo("== Seed 001, played: the overdue ladder day by day, the WHMCS clock moving forward ==")
            play(config, sandbox.url, echo)
            echo("")
            echo("== Seed 002, played: a web agency and its client, with per-service delegation ==")
            play_agency(config, sandbox.url, echo)
            echo("")
            echo("== Seed 000, played: a company claims its vendor's domain and hosting ==")
            play_ownership(config, sandbox.url, echo)
            chains = []
            for path in (
                config.state.path,
                config.state.path.with_name("ladder-state.db"),
                config.state.path.with_name("agency-state.db"),
                config.state.path.with_name("ownership-state.db"),
            ):
                with Database(path) as story_db:
                    chains.append(f"{path.name} {audit.verify(story_db)}")
        echo("")
        echo(f"Audit chains verified intact (entries): {', '.join(chains)}.")


def reseller_story(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
    overdue: dict[int, list] = defaultdict(list)
    for invoice in api.invoices(status="Overdue"):
        overdue[invoice.client_id].append(invoice)
    grand_total = Decimal("0")
    clients = list(api.clients())
    echo(f"{len(clients)} clients in WHMCS")
    for summary in clients:
        invoices = overdue.get(summary.id, [])
        name = summary.companyname or f"{summary.firstname} {summary.lastname}"
        if not invoices:
            echo(f"  #{summary.id} {name}: nothing overdue")
            continue
        total = sum((i.total for i in invoices), Decimal("0"))
        grand_total += total
        oldest = min(i.duedate for i in invoices if i.duedate)
        echo(
            f"  #{summary.id} {name}: {len(invoices)} overdue invoices, EUR {total} overdue, oldest due {oldest} ({(today - oldest).days} days)"
        )
        impact: dict[str, int] = defaultdict(int)
        services = list(api.services(client_id=summary.id))
        for service in services:
            for field, label in DOWNSTREAM_FIELDS.items():
                impact[label] += int(service.customfields.get(field, "0") or 0)
        described = ", ".join(f"{impact[label]} {label}" for label in DOWNSTREAM_FIELDS.values())
        echo(f"     downstream on {len(services)} services: {described} (their customers are never contacted)")
        audit.append(
            db,
            "demo.observed_overdue",
            actor="demo",
            client_id=summary.id,
            detail={"invoices": len(invoices), "total": str(total), "oldest_due": oldest.isoformat()},
        )
    echo(f"Overdue across WHMCS: EUR {grand_total}")


def agency_story(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
    owners: dict[int, str] = {}
    domains: dict[str, tuple[int, str]] = {}
    for summary in api.clients():
        details = api.client_details(summary.id)
        owners[summary.id] = details.display_name
        for service in api.services(client_id=summary.id):
            if service.domain:
                domains[service.domain.lower()] = (summary.id, service.name)
    users = {u.id: u for u in api.users()}
    for order in api.orders():
        placed_by = users.get(order.requestor_id)
        owner_link = next((c for c in placed_by.clients if c.client_id == order.client_id), None) if placed_by else None
        role = "the account owner" if owner_link and owner_link.is_owner else "not the owner"
        home = [owners.get(c.client_id, "?") for c in placed_by.clients if c.is_owner] if placed_by else []
        who = f"{placed_by.firstname} {placed_by.lastname}" if placed_by else f"user {order.requestor_id}"
        echo(
            f"  order {order.ordernum} for {owners.get(order.client_id)} was placed by {who} ({role}; owner of {', '.join(home) or 'no account'})"
        )
        for line in order.lines:
            echo(f"     {line.type}: {line.product} {line.domain}")
    for ticket in api.tickets():
        full = api.ticket(ticket.id)
        text = f"{full.subject} {' '.join(r.message for r in full.replies)}".lower()
        named = sorted({d for d in domains if re.search(rf"\b{re.escape(d)}\b", text)})
        opener = full.replies[0] if full.replies else None  # GetTicket carries the requestor on each reply
        who = f"{opener.requestor_name}, {opener.requestor_type}" if opener else "unknown"
        echo(f"  ticket #{full.tid} from {owners.get(full.client_id)} ({who}): {full.subject!r}")
        for domain_name in named:
            owner_id, product = domains[domain_name]
            relation = (
                "its own service"
                if owner_id == full.client_id
                else f"a service of {owners.get(owner_id)} (client #{owner_id})"
            )
            echo(f"     names {domain_name}: {product}, {relation}")
        audit.append(
            db,
            "demo.observed_ticket",
            actor="demo",
            client_id=full.client_id,
            subject=f"ticket:{full.id}",
            detail={"names": named},
        )


def vendor_story(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
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
