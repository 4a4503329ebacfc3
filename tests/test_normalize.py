"""The normalisation layer: every documented quirk, and every documented example response."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from whmcs_bridge.whmcs import normalize as n

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))

# Which parser applies to the items of each list action, and to whole single-record answers.
LIST_PARSERS = {
    "GetClients": ("clients", "client", n.client_summary),
    "GetContacts": ("contacts", "contact", n.contact),
    "GetUsers": ("users", None, n.user),
    "GetClientsProducts": ("products", "product", n.service),
    "GetInvoices": ("invoices", "invoice", n.invoice),
    "GetEmails": ("emails", "email", n.email),
    "GetTickets": ("tickets", "ticket", n.ticket),
    "GetOrders": ("orders", "order", n.order),
    "GetActivityLog": ("activity", "entry", n.activity_entry),
    "GetClientsDomains": ("domains", "domain", n.domain),
}
RECORD_PARSERS = {
    "GetClientsDetails": n.client_details,
    "GetInvoice": n.invoice,
    "GetTicket": n.ticket,
    "DomainGetWhoisInfo": n.whois_info,
}


def test_the_examples_are_there():
    assert len(EXAMPLE_FILES) >= 162, f"expected the 162 documented examples in {EXAMPLES}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_documented_example_parses(path: Path):
    raw = json.loads(path.read_text())
    data = n.generic(raw)
    assert not any("[" in key for key in data), "flattened keys are rebuilt"
    action = path.stem
    if action in LIST_PARSERS:
        plural, singular, parser = LIST_PARSERS[action]
        page = n.page(raw, plural, singular)
        assert page.items, f"{action} example has items"
        records = [parser(item) for item in page.items]
        assert all(getattr(r, "id", 1) for r in records)
    elif action in RECORD_PARSERS:
        RECORD_PARSERS[action](raw)
    else:
        # Every other action: its nested lists normalise without error.
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                n.as_list(value, key.rstrip("s"))


def test_flattened_example_is_unflattened():
    raw = json.loads((EXAMPLES / "GetClientsDomains.json").read_text())
    page = n.page(raw, "domains", "domain")
    assert page.total == 2 and page.returned == 2
    domains = [n.domain(d) for d in page.items]
    assert [d.domainname for d in domains] == ["whmcs.rocks", "whmcs.info"]
    assert domains[0].id == 1 and domains[0].client_id == 1
    assert domains[0].recurringamount == Decimal("12.95")
    assert domains[0].expirydate == date(2017, 1, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (12, 12), ("12.0", 12), (12.0, 12), ("", None), (None, None), ("abc", None), (" 7 ", 7)],
)
def test_ids_and_counts(value, expected):
    assert n.to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "inner", "expected"),
    [
        ("", "invoice", []),
        (None, "invoice", []),
        ({}, "invoice", []),
        ([], "invoice", []),
        ([[]], None, []),
        ({"invoice": []}, "invoice", []),
        ({"invoice": [{"id": 1}, {"id": 2}]}, "invoice", [{"id": 1}, {"id": 2}]),
        ({"invoice": {"id": 1}}, "invoice", [{"id": 1}]),  # a single object where a list belongs
        ({"0": {"id": 1}, "1": {"id": 2}}, None, [{"id": 1}, {"id": 2}]),  # numeric keys
        ([{"id": 1}, []], None, [{"id": 1}]),
    ],
)
def test_list_shapes(value, inner, expected):
    assert n.as_list(value, inner) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0000-00-00", None),
        ("0000-00-00 00:00:00", None),
        ("", None),
        (None, None),
        ("2016-01-08", date(2016, 1, 8)),
        ("2016-01-08 14:06:34", date(2016, 1, 8)),
        ("garbage", None),
    ],
)
def test_dates(value, expected):
    assert n.to_date(value) == expected


def test_datetimes():
    assert n.to_datetime("2016-01-08 14:06:34") == datetime(2016, 1, 8, 14, 6, 34)
    assert n.to_datetime("0000-00-00 00:00:00") is None
    assert n.to_datetime("2016-01-08") == datetime(2016, 1, 8)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15.95", Decimal("15.95")),
        (15.95, Decimal("15.95")),
        ("$2645.80 USD", Decimal("2645.80")),
        ("€1,234.50 EUR", Decimal("1234.50")),
        ("", None),
        (None, None),
        ("-3.00", Decimal("-3.00")),
    ],
)
def test_money_is_decimal(value, expected):
    assert n.to_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("on", True),
        (True, True),
        (1, True),
        ("true", True),
        ("0", False),
        ("", False),
        ("off", False),
        (None, False),
        (False, False),
        (0, False),
    ],
)
def test_booleans(value, expected):
    assert n.to_bool(value) is expected


def test_invoice_with_empty_transactions_string():
    raw = json.loads((EXAMPLES / "GetInvoice.json").read_text())
    invoice = n.invoice(raw)
    assert invoice.id == 1 and invoice.client_id == 2361
    assert invoice.transactions == []
    assert invoice.datepaid is None
    assert invoice.balance == Decimal("15.95")
    assert invoice.items[0].relid == 1 and invoice.items[0].type == "Hosting"


def test_service_drops_the_password_and_reads_overrides():
    raw = json.loads((EXAMPLES / "GetClientsProducts.json").read_text())
    services = [n.service(p) for p in n.page(raw, "products", "product").items]
    assert services[0].id == 1 and services[0].client_id == 1
    assert not hasattr(services[0], "password")
    assert services[0].override_suspend_until is None
    assert services[1].configoptions == {"Sample Config Option": "Selected option value"}
    assert n.page(raw, "products", "product").total == 2  # "2" as a string


def test_ticket_replies_notes_and_service_reference():
    raw = json.loads((EXAMPLES / "GetTicket.json").read_text())
    ticket = n.ticket(raw)
    assert ticket.id == 1 and len(ticket.replies) == 3 and len(ticket.notes) == 1
    assert ticket.replies[1].requestor_type == "Operator"
    assert n.ticket({**raw, "service": "S12"}).service_ref == ("service", 12)
    assert n.ticket({**raw, "service": "D3"}).service_ref == ("domain", 3)


def test_client_details_users_and_custom_fields():
    raw = json.loads((EXAMPLES / "GetClientsDetails.json").read_text())
    client = n.client_details(raw)
    assert client.id == 1 and client.owner_user_id == 1
    assert client.users[0].is_owner is True
    assert client.customfields == {1: "Custom Field Value"}
    assert client.email_preferences["invoice"] is True
    assert n.to_decimal(client.stats["overdueinvoicesbalance"]) == Decimal("2645.80")


def test_whois_block_that_is_not_quite_json():
    raw = json.loads((EXAMPLES / "DomainGetWhoisInfo.json").read_text())
    info = n.whois_info(raw)
    registrant = info.contacts["Registrant"]
    assert registrant["First_Name"] == "Test"
    assert registrant["Country"] == "GB"  # written as "Country":GB in the docs' example
    assert registrant["Organisation_Name"] == ""


def test_activity_log_without_numreturned():
    raw = json.loads((EXAMPLES / "GetActivityLog.json").read_text())
    page = n.page(raw, "activity", "entry")
    assert page.returned == 2 and page.total == 2
    assert n.activity_entry(page.items[0]).admin_id == 1


def test_users_flat_list():
    raw = json.loads((EXAMPLES / "GetUsers.json").read_text())
    user = n.user(n.page(raw, "users", None).items[0])
    assert user.clients[0].client_id == 1 and user.clients[0].is_owner
