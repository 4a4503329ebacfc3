"""The demo's seed 002 story: a web agency orders for its end client, becomes technical contact, gets
the welcome email as a notice, is recognised by support, renews for the client, and is revoked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from whmcs_bridge.config.load import Config
from whmcs_bridge.demo_stage import Stage
from whmcs_bridge.families.delegation import staff as dg
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
    stage = Stage(config, sandbox_url, state="agency-state.db", scenario="agency")
    try:
        stage.settle(1)  # the first poll records where WHMCS stands
        last_mail = max((e["id"] for e in stage.rows("emails")), default=0)
        technical, service_id = mandate_and_order(stage, echo)
        welcome_and_support(stage, echo, service_id, last_mail)
        if technical is None:
            echo("  (no technical grant was made: the rest of the story needs it)")
            return stage.config.state.path
        renewal(stage, echo, technical, service_id)
        revocation(stage, echo, technical, last_mail)
    finally:
        stage.close()
    return stage.config.state.path


def mails_to(stage: Stage, client: int, since: int) -> list[dict[str, Any]]:
    return [e for e in stage.rows("emails", client_id=client) if e["id"] > since]


def mandate_and_order(stage: Stage, echo: Echo) -> tuple[str | None, int]:
    """Staff record the mandate; the agency's user orders in the client's name and becomes technical contact."""
    agency, agency_user = stage.scenario["agency_client_id"], stage.scenario["agency_user_id"]
    echo(
        "Pixelwerk Agency (client #10) builds sites for its clients; Cabinet Martin Avocats (client #12) owns its own account."
    )
    admin = dg.new_grant(
        stage.config,
        stage.bridge.db,
        owner=12,
        delegate=agency,
        role="administrative",
        items=[{"kind": "client", "id": 12}],
        by="demo-staff",
        basis="mandate signed by Claire Martin",
        expires=None,
        now=datetime.now(UTC),
        api=WhmcsApi.from_config(stage.config),
    )
    stage.settle()
    echo(f"  staff record the signed mandate: the agency is administrative contact of client #12 (grant {admin})")
    order = stage.control(
        "checkout", {"client_id": 12, "user_id": agency_user, "pid": 3, "domain": "martin-avocats.fr"}
    )
    stage.settle()
    auto = [g for g in dg.grants(stage.bridge.db, owner=12, delegate=agency) if g["role"] == "technical"]
    echo(
        f"  Lena (the agency's user) orders hosting and martin-avocats.fr in client #12's name (order {order['OrderNumber']}):"
    )
    for g in auto:
        echo(
            f"     the agency becomes technical contact automatically (grant {g['id']}: {dg.granted(g).removeprefix('automatically: ')})"
        )
    return (auto[0]["id"] if auto else None), int(order["ServiceIDs"][0])


def welcome_and_support(stage: Stage, echo: Echo, service_id: int, last_mail: int) -> None:
    """The welcome email reaches the agency as a notice; support sees who may speak for the site."""
    agency = stage.scenario["agency_client_id"]
    stage.api("SendEmail", id=service_id, messagename="Hosting Account Welcome Email")
    stage.settle()
    password = stage.rows("services", id=service_id)[0]["password"]
    for mail in mails_to(stage, agency, last_mail):
        if mail["subject"].startswith(("[Copy]", "[Notice]")):  # a copy, or the access notice in its place
            leaked = bool(password) and password in mail["message"]
            echo(
                f"  WHMCS sends the owner the welcome email; the agency gets {mail['subject']!r}: {'the credentials' if leaked else 'a notice that the owner has the access details, not the password'}"
            )
    ticket = stage.api(
        "OpenTicket",
        deptid=1,
        clientid=agency,
        subject="DNS for martin-avocats.fr",
        message="Please point martin-avocats.fr to our staging server.",
    )
    stage.settle(4)
    for note in stage.rows("ticket_notes", ticket_id=int(ticket["id"])):
        echo(f"  the agency asks support about martin-avocats.fr; staff see a note: {verdict(note['message'])}")
    stranger = stage.api(
        "OpenTicket",
        deptid=1,
        clientid=13,
        subject="Access to martin-avocats.fr",
        message="Send me the FTP login of martin-avocats.fr",
    )
    stage.settle(4)
    for note in stage.rows("ticket_notes", ticket_id=int(stranger["id"])):
        echo(f"  a garage (client #13) asks about the same site; staff see: {verdict(note['message'])}")


def verdict(note: str) -> str:
    """The note's verdict on what the ticket names (from VERIFIED or WARNING on), shortened for the story."""
    found = re.search(r"(VERIFIED|WARNING|written by).*", note)
    text = found.group(0) if found else note.strip()
    return text if len(text) <= 110 else text[:110] + "..."


def renewal(stage: Stage, echo: Echo, technical: str, service_id: int) -> None:
    """The agency renews one service for its client: it is invoiced that line alone, pays, and the service is
    renewed once while the owner's invoice keeps its other items."""
    agency = stage.scenario["agency_client_id"]
    dg.renew(stage.config, stage.bridge.db, technical, by="Lena Vogel", service=service_id, now=datetime.now(UTC))
    stage.settle(4)
    agency_invoice = next(
        (i for i in stage.rows("invoices", client_id=agency) if "Delegated renewal" in i["notes"]), None
    )
    if agency_invoice is None:
        return
    echo(
        f"  Lena renews the hosting for her client: invoice #{agency_invoice['id']} ({agency_invoice['total']}) goes to the agency, not the owner"
    )
    # The owner's invoice that bills the service (the agency's notes name it in the agency's language).
    owner = stage.rows("services", id=service_id)[0]["client_id"]
    billing = [
        i["id"]
        for i in stage.rows("invoices", client_id=owner)
        if i["status"] == "Unpaid"
        and any(
            it["type"] == "Hosting" and it["relid"] == service_id
            for it in stage.rows("invoice_items", invoice_id=i["id"])
        )
    ]
    stage.control(
        "act",
        {"action": "AddInvoicePayment", "invoiceid": agency_invoice["id"], "transid": "CARD-DEMO", "gateway": "stripe"},
    )
    stage.settle(4)
    service = stage.rows("services", id=service_id)[0]
    owner_invoice = stage.rows("invoices", id=billing[0])[0] if billing else None
    if owner_invoice and not any(
        i["relid"] == service_id for i in stage.rows("invoice_items", invoice_id=owner_invoice["id"])
    ):
        echo(
            f"  the agency pays; the service is renewed once (next due {service['nextduedate']}) and its line comes off "
            f"the owner's invoice #{owner_invoice['id']}, which keeps its other items ({owner_invoice['total']})"
        )


def revocation(stage: Stage, echo: Echo, technical: str, last_mail: int) -> None:
    """The owner ends the link: copies and support authority stop; the stranger never got anything."""
    agency = stage.scenario["agency_client_id"]
    dg.revoke(
        stage.config,
        stage.bridge.db,
        technical,
        by="owner",
        reason="Cabinet Martin changed agency",
        now=datetime.now(UTC),
    )
    stage.settle()
    told = [e["subject"] for e in mails_to(stage, agency, last_mail) if "ended" in e["subject"]]
    echo(
        f"  months later the owner revokes the link: copies and support authority stop at once; the agency is told ({told[0] if told else 'email'})."
    )
    sent_13 = mails_to(stage, 13, last_mail)
    echo(f"  Nothing about the site was ever sent to client #13 ({len(sent_13)} emails).")


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
        placed_by = users.get(order.requestor_id) if order.requestor_id is not None else None
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
