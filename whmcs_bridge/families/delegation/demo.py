"""The demo's seed 002 story: a web agency orders for its end client, becomes technical contact, gets
the welcome email as a notice, is recognised by support, renews for the client, and is revoked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import requests

from whmcs_bridge.config.load import Config
from whmcs_bridge.daemon import Bridge
from whmcs_bridge.families.delegation import staff as dg
from whmcs_bridge.intake.receiver import Receiver, run_in_thread, serve
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

Echo = Callable[[str], None]
CONFIG = """\
delegation:
  enabled: true
"""
SEED = "Seed 002: a web agency and its end clients"
SCENARIO = "agency"
PLAYED = "Seed 002, played: a web agency and its client, with per-service delegation"


def play(config: Config, sandbox_url: str, echo: Echo) -> Path:
    """Play the story against the sandbox; return the state database it used."""
    # Its own state: the sandbox reloads a scenario and reuses WHMCS ids, which a real WHMCS never does.
    config = dataclasses.replace(
        config, state=dataclasses.replace(config.state, path=config.state.path.with_name("agency-state.db"))
    )
    requests.post(f"{sandbox_url}_sandbox/clock", json={"reset": True}, timeout=10)
    scenario = requests.post(f"{sandbox_url}_sandbox/scenario", json={"name": "agency"}, timeout=30).json()
    agency, agency_user = scenario["agency_client_id"], scenario["agency_user_id"]
    bridge = Bridge(config)
    receiver = Receiver(config.state.path, config.receiver.all_secrets)
    server = serve(receiver, "127.0.0.1", 0)
    run_in_thread(server)
    requests.post(
        f"{sandbox_url}_sandbox/hooks",
        json={
            "url": f"http://127.0.0.1:{server.effective_port}/hooks/whmcs",
            "secret": config.receiver.secret.reveal(),
        },
        timeout=10,
    )

    def api(action: str, **params: Any) -> dict[str, Any]:
        data = {
            "action": action,
            "identifier": config.whmcs.identifier.reveal(),
            "secret": config.whmcs.secret.reveal(),
            "responsetype": "json",
            **params,
        }
        answer: dict[str, Any] = requests.post(f"{sandbox_url}includes/api.php", data=data, timeout=10).json()
        return answer

    def rows(table: str, **where: int) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in where.items())
        result: list[dict[str, Any]] = requests.get(
            f"{sandbox_url}_sandbox/query?table={table}&{query}", timeout=10
        ).json()["rows"]
        return result

    def settle(passes: int = 3) -> None:
        requests.get(f"{sandbox_url}_sandbox/hooks", timeout=30)  # pending hook deliveries land first
        for _ in range(passes):
            bridge.run_once(datetime.now(UTC), poll=True)

    def mails_to(client: int, since: int) -> list[dict[str, Any]]:
        return [e for e in rows("emails", client_id=client) if e["id"] > since]

    try:
        settle(1)  # the first poll records where WHMCS stands
        last_mail = max((e["id"] for e in rows("emails")), default=0)
        echo(
            "Pixelwerk Agency (client #10) builds sites for its clients; Cabinet Martin Avocats (client #12) owns its own account."
        )
        admin = dg.new_grant(
            config,
            bridge.db,
            owner=12,
            delegate=agency,
            role="administrative",
            items=[{"kind": "client", "id": 12}],
            by="demo-staff",
            basis="mandate signed by Claire Martin",
            expires=None,
            now=datetime.now(UTC),
        )
        settle()
        echo(f"  staff record the signed mandate: the agency is administrative contact of client #12 (grant {admin})")
        order = requests.post(
            f"{sandbox_url}_sandbox/checkout",
            json={"client_id": 12, "user_id": agency_user, "pid": 3, "domain": "martin-avocats.fr"},
            timeout=10,
        ).json()
        settle()
        auto = [g for g in dg.grants(bridge.db, owner=12, delegate=agency) if g["role"] == "technical"]
        echo(
            f"  Lena (the agency's user) orders hosting and martin-avocats.fr in client #12's name (order {order['OrderNumber']}):"
        )
        for g in auto:
            echo(f"     the agency becomes technical contact automatically (grant {g['id']}: {g['basis']})")
        service_id = order["ServiceIDs"][0]
        api(
            "SendEmail",
            id=service_id,
            customtype="product",
            customsubject="New Account Information",
            custommessage="<p>Your hosting for martin-avocats.fr is ready. Username: martinav Password: Q8-vault-7</p>",
        )
        settle()
        for mail in mails_to(agency, last_mail):
            if mail["subject"].startswith("[Copy]"):
                leaked = "Q8-vault-7" in mail["message"]
                echo(
                    f"  WHMCS sends the owner the welcome email; the agency gets {mail['subject']!r}: {'the credentials' if leaked else 'a notice that the owner has the access details, not the password'}"
                )
        ticket = api(
            "OpenTicket",
            deptid=1,
            clientid=agency,
            subject="DNS for martin-avocats.fr",
            message="Please point martin-avocats.fr to our staging server.",
        )
        settle(4)
        for note in rows("ticket_notes", ticket_id=int(ticket["id"])):
            first = note["message"].splitlines()[1] if "\n" in note["message"] else note["message"]
            echo(f"  the agency asks support about martin-avocats.fr; staff see a note: {first.strip('- ')[:110]}...")
        stranger = api(
            "OpenTicket",
            deptid=1,
            clientid=13,
            subject="Access to martin-avocats.fr",
            message="Send me the FTP login of martin-avocats.fr",
        )
        settle(4)
        for note in rows("ticket_notes", ticket_id=int(stranger["id"])):
            echo(
                f"  a garage (client #13) asks about the same site; staff see: {note['message'].splitlines()[1].strip('- ')[:110]}..."
            )
        if not auto:
            echo("  (no technical grant was made: the rest of the story needs it)")
            return config.state.path
        technical = auto[0]["id"]
        dg.renew(config, bridge.db, technical, by="Lena Vogel", service=service_id, now=datetime.now(UTC))
        settle(4)
        agency_invoice = next(
            (i for i in rows("invoices", client_id=agency) if "Delegated renewal" in i["notes"]), None
        )
        if agency_invoice:
            echo(
                f"  Lena renews the hosting for her client: invoice #{agency_invoice['id']} ({agency_invoice['total']}) goes to the agency, not the owner"
            )
            requests.post(
                f"{sandbox_url}_sandbox/act",
                json={
                    "action": "AddInvoicePayment",
                    "invoiceid": agency_invoice["id"],
                    "transid": "CARD-DEMO",
                    "gateway": "stripe",
                },
                timeout=10,
            )
            settle(4)
            owner_invoice = next(
                (
                    i
                    for i in rows("invoices", client_id=12)
                    if i["status"] == "Paid" and re.search("delegate", str(rows("transactions", invoice_id=i["id"])))
                ),
                None,
            )
            if owner_invoice:
                echo(
                    f"  the agency pays; the owner's invoice #{owner_invoice['id']} is settled once, and WHMCS renews the service as usual"
                )
        dg.revoke(
            config, bridge.db, technical, by="owner", reason="Cabinet Martin changed agency", now=datetime.now(UTC)
        )
        settle()
        told = [e["subject"] for e in mails_to(agency, last_mail) if "ended" in e["subject"]]
        echo(
            f"  months later the owner revokes the link: copies and support authority stop at once; the agency is told ({told[0] if told else 'email'})."
        )
        sent_13 = [e for e in mails_to(13, last_mail)]
        echo(f"  Nothing about the site was ever sent to client #13 ({len(sent_13)} emails).")
    finally:
        requests.post(f"{sandbox_url}_sandbox/hooks", json={"url": None, "secret": None}, timeout=10)
        server.close()
        bridge.close()
    return config.state.path


def observe(api: WhmcsApi, db: Database, config: Config, echo: Echo, today: date) -> None:
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
