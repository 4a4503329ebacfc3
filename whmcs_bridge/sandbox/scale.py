"""The `scale` scenario: a deterministic, generated WHMCS of any size (for benchmarks)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from whmcs_bridge.sandbox.catalogue import products
from whmcs_bridge.sandbox.state import SandboxState


def scale(sb: SandboxState, clients: int = 100_000) -> dict[str, Any]:
    """A deterministic WHMCS of `clients` clients, one service and about ten invoices each (for benchmarks)."""
    products(sb)
    rng = random.Random(20261122)
    today = sb.today()
    day = [(today + timedelta(days=d)).isoformat() for d in range(-400, 40)]
    client_rows, user_rows, link_rows, service_rows, invoice_rows, item_rows = [], [], [], [], [], []
    invoice_id = 0
    for cid in range(1, clients + 1):
        user_rows.append((cid, f"First{cid}", f"Last{cid}", f"client{cid}@example.net", day[0] + " 10:00:00"))
        client_rows.append(
            (
                cid,
                f"First{cid}",
                f"Last{cid}",
                f"Company {cid}" if cid % 3 == 0 else "",
                f"client{cid}@example.net",
                day[0],
                cid,
                2 if cid % 5 == 0 else 0,
            )
        )
        link_rows.append((cid, cid, 1))
        pid = 1 if cid % 50 == 0 else (2 if cid % 97 == 0 else 3)
        service_rows.append((cid, cid, pid, day[0], f"site{cid}.example", "Active", day[420], "9.95", "9.95"))
        n_invoices = 8 + rng.randrange(5)
        late_payer = rng.random() < 0.05
        for k in range(n_invoices):
            invoice_id += 1
            due = 400 - 30 * (n_invoices - k) + 20
            due = max(0, min(due, len(day) - 1))
            status = "Paid"
            datepaid = day[due] + " 09:00:00"
            if late_payer and k >= n_invoices - 3:
                status, datepaid = "Unpaid", "0000-00-00 00:00:00"
            elif rng.random() < 0.01:
                status, datepaid = "Cancelled", "0000-00-00 00:00:00"
            invoice_rows.append(
                (
                    invoice_id,
                    cid,
                    day[max(0, due - 7)],
                    day[due],
                    datepaid,
                    "9.95",
                    "9.95",
                    status,
                    day[max(0, due - 7)] + " 00:05:00",
                    day[max(0, due - 7)] + " 00:05:00",
                )
            )
            item_rows.append((invoice_id, "Hosting", cid, "Starter (monthly)", "9.95"))
    db = sb.db
    db.executemany("INSERT INTO users (id, firstname, lastname, email, datecreated) VALUES (?, ?, ?, ?, ?)", user_rows)
    db.executemany(
        "INSERT INTO clients (id, firstname, lastname, companyname, email, datecreated, owner_user_id, groupid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        client_rows,
    )
    db.executemany("INSERT INTO user_clients (user_id, client_id, is_owner) VALUES (?, ?, ?)", link_rows)
    db.executemany(
        "INSERT INTO services (id, client_id, pid, regdate, domain, status, nextduedate, firstpaymentamount, recurringamount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        service_rows,
    )
    db.executemany(
        "INSERT INTO invoices (id, client_id, date, duedate, datepaid, subtotal, total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        invoice_rows,
    )
    db.executemany(
        "INSERT INTO invoice_items (invoice_id, type, relid, description, amount) VALUES (?, ?, ?, ?, ?)", item_rows
    )
    return {"clients": clients, "invoices": invoice_id}
