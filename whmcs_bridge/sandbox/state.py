"""The sandbox's WHMCS data: an in-memory SQLite database shaped like WHMCS's own tables, and its clock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from whmcs_bridge.sandbox.orders import Orders, seed_from_env

SCHEMA = """
CREATE TABLE clients (
    id INTEGER PRIMARY KEY, uuid TEXT, firstname TEXT, lastname TEXT, companyname TEXT DEFAULT '',
    email TEXT, address1 TEXT DEFAULT '', city TEXT DEFAULT '', state TEXT DEFAULT '',
    postcode TEXT DEFAULT '', country TEXT DEFAULT 'NL', phonenumber TEXT DEFAULT '',
    groupid INTEGER DEFAULT 0, status TEXT DEFAULT 'Active', datecreated TEXT,
    credit TEXT DEFAULT '0.00', notes TEXT DEFAULT '', currency_code TEXT DEFAULT 'EUR',
    language TEXT DEFAULT '', latefeeoveride INTEGER DEFAULT 0, overideduenotices INTEGER DEFAULT 0,
    email_prefs TEXT DEFAULT '111111', owner_user_id INTEGER DEFAULT 0, tax_id TEXT DEFAULT ''
);
CREATE INDEX clients_email ON clients (email);
CREATE TABLE client_customfields (client_id INTEGER, field_id INTEGER, value TEXT, PRIMARY KEY (client_id, field_id));
CREATE TABLE client_notes (id INTEGER PRIMARY KEY, client_id INTEGER, note TEXT, sticky INTEGER, created TEXT);
CREATE TABLE users (id INTEGER PRIMARY KEY, firstname TEXT, lastname TEXT, email TEXT UNIQUE, datecreated TEXT);
CREATE TABLE user_clients (user_id INTEGER, client_id INTEGER, is_owner INTEGER, PRIMARY KEY (user_id, client_id));
CREATE INDEX user_clients_client ON user_clients (client_id);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY, client_id INTEGER, firstname TEXT, lastname TEXT, companyname TEXT DEFAULT '',
    email TEXT, address1 TEXT DEFAULT '', address2 TEXT DEFAULT '', city TEXT DEFAULT '', state TEXT DEFAULT '',
    postcode TEXT DEFAULT '', country TEXT DEFAULT '', phonenumber TEXT DEFAULT '',
    generalemails INTEGER DEFAULT 0, productemails INTEGER DEFAULT 0, domainemails INTEGER DEFAULT 0,
    invoiceemails INTEGER DEFAULT 0, supportemails INTEGER DEFAULT 0, affiliateemails INTEGER DEFAULT 0,
    created_at TEXT, updated_at TEXT
);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, groupname TEXT, type TEXT, module TEXT);
CREATE TABLE services (
    id INTEGER PRIMARY KEY, client_id INTEGER, order_id INTEGER DEFAULT 0, pid INTEGER, regdate TEXT,
    domain TEXT DEFAULT '', status TEXT DEFAULT 'Active', nextduedate TEXT, billingcycle TEXT DEFAULT 'Monthly',
    firstpaymentamount TEXT DEFAULT '0.00', recurringamount TEXT DEFAULT '0.00',
    paymentmethod TEXT DEFAULT 'banktransfer', serverid INTEGER DEFAULT 1, username TEXT DEFAULT '',
    password TEXT DEFAULT '', suspensionreason TEXT DEFAULT '', overideautosuspend INTEGER DEFAULT 0,
    overidesuspenduntil TEXT DEFAULT '0000-00-00', notes TEXT DEFAULT '', lastupdate TEXT DEFAULT '0000-00-00 00:00:00'
);
CREATE INDEX services_client ON services (client_id);
CREATE TABLE service_customfields (service_id INTEGER, field_id INTEGER, name TEXT, value TEXT, PRIMARY KEY (service_id, field_id));
CREATE TABLE module_commands (id INTEGER PRIMARY KEY, service_id INTEGER, command TEXT, at TEXT);
CREATE TABLE domains (
    id INTEGER PRIMARY KEY, client_id INTEGER, order_id INTEGER DEFAULT 0, regtype TEXT DEFAULT 'Register',
    domainname TEXT, registrar TEXT DEFAULT 'openprovider', regperiod INTEGER DEFAULT 1, regdate TEXT,
    expirydate TEXT, nextduedate TEXT, status TEXT DEFAULT 'Active', recurringamount TEXT DEFAULT '9.95',
    donotrenew INTEGER DEFAULT 0, idprotection INTEGER DEFAULT 0, notes TEXT DEFAULT '', whois TEXT DEFAULT '{}',
    locked INTEGER DEFAULT 0
);
CREATE INDEX domains_client ON domains (client_id);
CREATE TABLE registrar_renewals (id INTEGER PRIMARY KEY, domain_id INTEGER, years INTEGER, at TEXT);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY, client_id INTEGER, invoicenum TEXT DEFAULT '', date TEXT, duedate TEXT,
    datepaid TEXT DEFAULT '0000-00-00 00:00:00', date_cancelled TEXT DEFAULT '0000-00-00 00:00:00',
    subtotal TEXT, credit TEXT DEFAULT '0.00', tax TEXT DEFAULT '0.00', total TEXT,
    status TEXT DEFAULT 'Unpaid', paymentmethod TEXT DEFAULT 'banktransfer', notes TEXT DEFAULT '',
    created_at TEXT, updated_at TEXT
);
CREATE INDEX invoices_client ON invoices (client_id, id);
CREATE INDEX invoices_status ON invoices (status, id);
CREATE TABLE invoice_items (id INTEGER PRIMARY KEY, invoice_id INTEGER, type TEXT, relid INTEGER, description TEXT, amount TEXT, taxed INTEGER DEFAULT 0);
CREATE INDEX invoice_items_invoice ON invoice_items (invoice_id);
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY, invoice_id INTEGER, client_id INTEGER, gateway TEXT, transid TEXT, date TEXT,
    amountin TEXT, fees TEXT DEFAULT '0.00', description TEXT DEFAULT 'Invoice Payment'
);
CREATE INDEX transactions_invoice ON transactions (invoice_id);
CREATE TABLE emails (id INTEGER PRIMARY KEY, client_id INTEGER, subject TEXT, message TEXT, date TEXT, to_addr TEXT, cc TEXT DEFAULT '', bcc TEXT DEFAULT '');
CREATE TABLE email_templates (name TEXT PRIMARY KEY, type TEXT, subject TEXT, message TEXT);
CREATE INDEX emails_client ON emails (client_id, id);
CREATE TABLE departments (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY, tid TEXT, c TEXT, deptid INTEGER, client_id INTEGER, contact_id INTEGER DEFAULT 0,
    requestor_user_id INTEGER DEFAULT 0, name TEXT DEFAULT '', email TEXT DEFAULT '', subject TEXT,
    status TEXT DEFAULT 'Open', priority TEXT DEFAULT 'Medium', date TEXT, lastreply TEXT, flag INTEGER DEFAULT 0,
    service TEXT DEFAULT ''
);
CREATE INDEX tickets_client ON tickets (client_id, id);
CREATE TABLE ticket_replies (
    id INTEGER PRIMARY KEY, ticket_id INTEGER, client_id INTEGER, contact_id INTEGER DEFAULT 0,
    requestor_user_id INTEGER DEFAULT 0, name TEXT DEFAULT '', email TEXT DEFAULT '', admin TEXT DEFAULT '',
    date TEXT, message TEXT
);
CREATE TABLE ticket_attachments (
    ticket_id INTEGER, idx INTEGER, filename TEXT, data BLOB, part TEXT DEFAULT 'ticket', part_id INTEGER DEFAULT 0
);
CREATE TABLE ticket_notes (id INTEGER PRIMARY KEY, ticket_id INTEGER, admin TEXT, date TEXT, message TEXT);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, ordernum TEXT, client_id INTEGER, contact_id INTEGER DEFAULT 0,
    requestor_id INTEGER DEFAULT 0, admin_requestor_id INTEGER DEFAULT 0, date TEXT, amount TEXT,
    invoice_id INTEGER DEFAULT 0, status TEXT DEFAULT 'Pending', paymentmethod TEXT DEFAULT 'banktransfer',
    ipaddress TEXT DEFAULT '127.0.0.1', notes TEXT DEFAULT ''
);
CREATE TABLE order_lines (order_id INTEGER, type TEXT, relid INTEGER, amount TEXT, billingcycle TEXT);
CREATE TABLE activity (
    id INTEGER PRIMARY KEY, client_id INTEGER DEFAULT 0, user_id INTEGER DEFAULT 0, admin_id INTEGER DEFAULT 0,
    date TEXT, description TEXT, username TEXT DEFAULT '', ipaddress TEXT DEFAULT ''
);
"""

EMAIL_CATEGORIES = ("general", "invoice", "support", "product", "domain", "affiliate")


class SandboxState:
    """All of the emulated WHMCS. Every access goes through `lock` (waitress serves from threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.db = self._fresh()
        self.clock_offset = timedelta(0)
        self.frozen_at: datetime | None = None
        self.scenario = "empty"
        self.orders = Orders.from_seed(seed_from_env())  # the list orders the docs leave unstated

    @staticmethod
    def _fresh() -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.executescript(SCHEMA)
        db.execute("INSERT INTO departments (id, name) VALUES (1, 'Support'), (2, 'Billing'), (3, 'Abuse')")
        return db

    def reset(self) -> None:
        with self.lock:
            self.db.close()
            self.db = self._fresh()

    # --- the clock: the WHMCS server's local time, movable by the control endpoint ------------

    def now(self) -> datetime:
        base = self.frozen_at or datetime.now(UTC).replace(tzinfo=None)
        return (base + self.clock_offset).replace(microsecond=0)

    def today(self) -> date:
        return self.now().date()

    def stamp(self) -> str:
        return self.now().strftime("%Y-%m-%d %H:%M:%S")

    # --- small SQL helpers --------------------------------------------------------------------

    def one(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(sql, tuple(args)).fetchone()
        return row

    def all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, tuple(args)).fetchall()

    def scalar(self, sql: str, args: Iterable[Any] = ()) -> Any:
        row = self.db.execute(sql, tuple(args)).fetchone()
        return row[0] if row else None

    def insert(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))
        return int(cur.lastrowid or 0)

    def update(self, table: str, row_id: int, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*values.values(), row_id))

    def log(self, description: str, client_id: int = 0, username: str = "API") -> None:
        self.insert(
            "activity",
            client_id=client_id,
            admin_id=1,
            date=self.stamp(),
            description=description,
            username=username,
            ipaddress="127.0.0.1",
        )
