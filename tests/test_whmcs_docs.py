"""The bridge calls WHMCS as its developer documentation says, and the sandbox holds it to that (issue 13)."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import EXAMPLES, Sandbox, sql
from tests.test_cli import write_config
from tests.test_config import ENV, LADDER
from tests.test_delegation_rules import NOW as DAY
from tests.test_delegation_rules import RULES as DELEGATION
from tests.test_delegation_rules import administrative, body, event
from tests.test_escalation_rules import MONDAY, Story
from tests.test_escalation_rules import RULES as ESCALATION
from tests.test_executor import NOW, action, plan
from tests.test_ownership_e2e import World as OwnershipWorld
from tests.test_ownership_e2e import open_and_document
from whmcs_bridge.cli import app as cli
from whmcs_bridge.config.load import load_config
from whmcs_bridge.engine import Engine
from whmcs_bridge.errors import ConfigError
from whmcs_bridge.executor.loop import Executor
from whmcs_bridge.families.delegation.rules import decide_all
from whmcs_bridge.families.escalation.config import EmailSpec, EscalationSection
from whmcs_bridge.families.ownership.policies import registrant
from whmcs_bridge.families.ownership.whmcs_reads import client_party
from whmcs_bridge.model import Decision, Event, State
from whmcs_bridge.probe import orders_lack_requestor
from whmcs_bridge.sandbox.server import READ_TABLES
from whmcs_bridge.store import inbox, outbox, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs import normalize as n
from whmcs_bridge.whmcs.api import NEEDED_ACTIONS, WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient
from whmcs_bridge.whmcs.whois import contacts_xml, with_holder


def last_call(sandbox: Sandbox, action: str) -> dict[str, str]:
    calls = [c for c in sandbox.calls() if c["action"] == action]
    assert calls, f"no {action} call reached the sandbox"
    params: dict[str, str] = calls[-1]["params"]
    return params


# --- ModuleCustom: `serviceid` (DD:api-reference/modulecustom.md; `accountid` before 7.7) -------------


def test_module_custom_sends_the_documented_serviceid(sandbox: Sandbox, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    api.module_command(101, "lock_reseller")
    params = last_call(sandbox, "ModuleCustom")
    assert params.get("serviceid") == "101" and "accountid" not in params
    assert [r["command"] for r in sandbox.rows("module_commands", service_id=101)] == ["lock_reseller"]


def test_sandbox_module_custom_follows_the_page(sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    assert sandbox.post("ModuleCustom", serviceid=101, func_name="a").json()["result"] == "success"
    assert sandbox.post("ModuleCustom", accountid=101, func_name="b").json()["result"] == "success"
    assert sandbox.post("ModuleCustom", func_name="c").json()["message"] == "Service ID is required"
    assert sandbox.post("ModuleCustom", serviceid=999, func_name="d").json()["message"] == "Service ID not found"


# --- the minimal API role: exactly the actions the code calls ---------------------------------------

ROOT = Path(__file__).resolve().parent.parent
API_SOURCE = ROOT / "whmcs_bridge" / "whmcs" / "api.py"


def actions_in_api_module() -> dict[str, set[str]]:
    """Each WhmcsApi method -> the WHMCS actions it calls (`self.client.call("X"` / `.iterate("X"`)."""
    tree = ast.parse(API_SOURCE.read_text())
    found: dict[str, set[str]] = {}
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "WhmcsApi"):
        for method in (m for m in cls.body if isinstance(m, ast.FunctionDef)):
            for call in (c for c in ast.walk(method) if isinstance(c, ast.Call)):
                func = call.func
                if isinstance(func, ast.Attribute) and func.attr in ("call", "iterate") and call.args:
                    first = call.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found.setdefault(method.name, set()).add(first.value)
    return found


def test_the_code_reaches_whmcs_only_through_the_api_module():
    outside = []
    for path in (ROOT / "whmcs_bridge").rglob("*.py"):
        if "sandbox" in path.parts or path == API_SOURCE or path.name in ("client.py", "probe.py"):
            continue
        if re.search(r"\.(call|iterate)\(\s*\"[A-Z]", path.read_text()):
            outside.append(str(path))
    assert outside == []


def test_needed_actions_are_exactly_what_the_bridge_calls():
    by_method = actions_in_api_module()
    bridge = "\n".join(
        p.read_text() for p in (ROOT / "whmcs_bridge").rglob("*.py") if "sandbox" not in p.parts and p != API_SOURCE
    )
    uncalled = sorted(m for m in by_method if not m.startswith("_") and not re.search(rf"\.{m}\(", bridge))
    assert uncalled == [], "WhmcsApi methods nothing calls (remove them, and their actions from the role)"
    called = set().union(*by_method.values())
    assert set(NEEDED_ACTIONS) == called
    assert len(NEEDED_ACTIONS) == len(set(NEEDED_ACTIONS))


def test_readme_role_lists_exactly_the_needed_actions():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Minimal WHMCS API role", 1)[1].split("\n#", 1)[0]
    listed = set(re.findall(r"\b(?:Get|Add|Update|Module|Create|Send|Open|Log|Domain|Accept|Delete)[A-Za-z]+\b", section))
    assert listed == set(NEEDED_ACTIONS)


# --- check --online: the probes change nothing -------------------------------------------------------

WATCHED = sorted(READ_TABLES)  # every table the sandbox lets tests read


def test_check_online_changes_nothing_in_whmcs(tmp_path: Path, sandbox: Sandbox):
    sandbox.load("reseller-overdue")
    before = {table: sandbox.rows(table) for table in WATCHED}
    config = write_config(tmp_path, sandbox.url)
    result = CliRunner().invoke(cli.main, ["--config", str(config), "check", "--online"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {c["action"] for c in sandbox.calls()} == set(NEEDED_ACTIONS)
    assert {table: sandbox.rows(table) for table in WATCHED} == before


# --- AddTicketReply: `adminusername` only when one is configured (DD:api-reference/addticketreply.md) --


def test_ticket_reply_goes_out_as_the_system_by_default(sandbox: Sandbox, client: WhmcsClient):
    sandbox.load("agency")
    api = WhmcsApi(client, reply_from=("Billing robot", "robot@example.com"))
    api.add_ticket_reply(1, "Your case moved on")
    params = last_call(sandbox, "AddTicketReply")
    assert "adminusername" not in params
    assert (params["name"], params["email"]) == ("Billing robot", "robot@example.com")
    reply = sandbox.rows("ticket_replies", ticket_id=1)[-1]
    assert reply["admin"] == "" and reply["name"] == "Billing robot"


def test_ticket_reply_as_the_configured_admin(sandbox: Sandbox, client: WhmcsClient):
    sandbox.load("agency")
    WhmcsApi(client, reply_admin="ann.staff").add_ticket_reply(1, "Your case moved on")
    params = last_call(sandbox, "AddTicketReply")
    assert params["adminusername"] == "ann.staff" and "name" not in params
    assert sandbox.rows("ticket_replies", ticket_id=1)[-1]["admin"] == "ann.staff"


def test_sandbox_reply_needs_an_admin_a_client_or_a_name_and_email(sandbox: Sandbox):
    sandbox.load("agency")
    answer = sandbox.post("AddTicketReply", ticketid=1, message="Hello").json()
    assert answer == {"result": "error", "message": "Name and email address are required if not a client"}
    assert sandbox.post("AddTicketReply", ticketid=1, message="Hi", clientid=11).json()["result"] == "success"


def test_reply_admin_is_configurable(tmp_path: Path):
    base = write_config(tmp_path).read_text()
    config = load_config(write_config(tmp_path, extra=""), environ={})
    assert config.whmcs.reply_admin is None
    (tmp_path / "bridge.yaml").write_text(
        base.replace("  max_attempts: 1\n", "  max_attempts: 1\n  reply_admin: ann.staff\n")
    )
    assert load_config(tmp_path / "bridge.yaml").whmcs.reply_admin == "ann.staff"
    (tmp_path / "bridge.yaml").write_text(base.replace("  max_attempts: 1\n", "  max_attempts: 1\n  reply_admin: ''\n"))
    with pytest.raises(ConfigError, match=r"bridge.yaml:\d+: whmcs.reply_admin: expected"):
        load_config(tmp_path / "bridge.yaml")


# --- AddInvoicePayment: `date` required, a gateway WHMCS has, reconciled through GetTransactions ------
# (DD:api-reference/addinvoicepayment.md, gettransactions.md, getpaymentmethods.md)


def test_payment_carries_the_date_and_a_gateway_whmcs_has(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    settle = action("settle_invoice", "settle", {"invoice_id": 1})
    plan(db, settle)
    assert Executor(db, api).run_once(NOW).done == [settle.key]
    params = last_call(sandbox, "AddInvoicePayment")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", params["date"])
    assert params["gateway"] == "banktransfer" and params["transid"] == settle.key
    assert [t["gateway"] for t in sandbox.rows("transactions", invoice_id=1)] == ["banktransfer"]


def test_the_payment_date_is_in_whmcs_time_not_utc(sandbox: Sandbox, db: Database, client: WhmcsClient):
    """WHMCS's dates are its server's wall clock; `timezone:` says which: 23:30 UTC is already the next
    day in Jakarta (found by an independent break test: payments were dated in UTC)."""
    sandbox.load("reseller-overdue")
    settle = action("settle_invoice", "settle", {"invoice_id": 1})
    plan(db, settle)
    before = datetime.now(ZoneInfo("Asia/Jakarta")).replace(microsecond=0, tzinfo=None)
    Executor(db, WhmcsApi(client, zone=ZoneInfo("Asia/Jakarta"))).run_once(NOW)
    after = datetime.now(ZoneInfo("Asia/Jakarta")).replace(microsecond=0, tzinfo=None)
    sent = datetime.strptime(last_call(sandbox, "AddInvoicePayment")["date"], "%Y-%m-%d %H:%M:%S")
    assert before <= sent <= after


def test_a_gateway_whmcs_does_not_have_parks_the_payment(sandbox: Sandbox, db: Database, client: WhmcsClient):
    sandbox.load("reseller-overdue")
    settle = action("settle_invoice", "settle", {"invoice_id": 1, "gateway": "delegate-renewal"})
    plan(db, settle)
    report = Executor(db, WhmcsApi(client, payment_gateway="stripe_sepa")).run_once(NOW)
    assert report.parked == [settle.key]
    entry = outbox.by_key(db, settle.key)
    error = entry.error if entry else None
    assert error is not None
    assert "stripe_sepa" in error and "whmcs.payment_gateway" in error and "banktransfer" in error
    assert all(c["action"] != "AddInvoicePayment" for c in sandbox.calls())


def test_a_payment_made_before_a_crash_is_found_by_its_transaction_id(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    settle = action("settle_invoice", "settle", {"invoice_id": 3})
    plan(db, settle)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")  # the call went out, the process died
    sandbox.post(
        "AddInvoicePayment", invoiceid=3, transid=settle.key, gateway="banktransfer", date="2026-11-22 10:00:00"
    )
    since = len(sandbox.calls())
    assert Executor(db, api).run_once(NOW).reconciled == [settle.key]
    reads = [c for c in sandbox.calls(since) if c["action"] in ("GetTransactions", "GetInvoice")]
    assert [(c["action"], c["params"].get("transid")) for c in reads] == [("GetTransactions", settle.key)]
    assert len(sandbox.rows("transactions", invoice_id=3)) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gateway": "banktransfer"}, "date is required"),
        ({"gateway": "banktransfer", "date": "22/11/2026"}, "Invalid Date Format"),
        (
            {"gateway": "delegate-renewal", "date": "2026-11-22 10:00:00"},
            "Invalid Payment Method. Valid options include ",
        ),
    ],
)
def test_sandbox_payment_follows_the_page(sandbox: Sandbox, params: dict[str, str], message: str):
    sandbox.load("reseller-overdue")
    answer = sandbox.post("AddInvoicePayment", invoiceid=1, transid="T-1", **params).json()
    assert answer["result"] == "error" and answer["message"].startswith(message)
    assert sandbox.rows("transactions", invoice_id=1) == []


def test_sandbox_lists_payment_methods_and_transactions(sandbox: Sandbox, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    assert "banktransfer" in api.payment_methods()
    sandbox.post("AddInvoicePayment", invoiceid=1, transid="T-1", gateway="paypal", date="2026-11-22 10:00:00")
    [found] = api.transactions(transid="T-1")
    assert (found.invoice_id, found.gateway) == (1, "paypal")
    documented = json.loads((EXAMPLES / "GetTransactions.json").read_text())["transactions"]["transaction"][0]
    [item] = sandbox.post("GetTransactions", transid="T-1").json()["transactions"]["transaction"]
    assert set(item) == set(documented)
    assert api.transactions(transid="T-2") == []


def test_payment_gateway_is_validated_in_the_config(tmp_path: Path):
    base = write_config(tmp_path).read_text()
    assert load_config(tmp_path / "bridge.yaml").whmcs.payment_gateway == "banktransfer"
    (tmp_path / "bridge.yaml").write_text(
        base.replace("  max_attempts: 1\n", "  max_attempts: 1\n  payment_gateway: Bank Transfer\n")
    )
    with pytest.raises(ConfigError, match=r"bridge.yaml:\d+: whmcs.payment_gateway: expected .*system name"):
        load_config(tmp_path / "bridge.yaml")


def test_check_online_names_a_gateway_whmcs_does_not_have(tmp_path: Path, sandbox: Sandbox):
    config = write_config(tmp_path, sandbox.url)
    config.write_text(
        config.read_text().replace("  max_attempts: 1\n", "  max_attempts: 1\n  payment_gateway: stripe_sepa\n")
    )
    result = CliRunner().invoke(cli.main, ["--config", str(config), "check", "--online"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "whmcs.payment_gateway" in result.stderr and "stripe_sepa" in result.stderr


# --- DomainUpdateWhoisInfo: the whole block, the holder in place (DD:api-reference/domainupdatewhoisinfo.md) --

OUTSIDE = {"client": None, "company": "PT Maju Makmur", "email": "legal@majumakmur.co.id"}


def registrant_of(sandbox: Sandbox, domain: int) -> dict[str, str]:
    block: dict[str, str] = json.loads(sandbox.rows("domains", id=domain)[0]["whois"])["Registrant"]
    return block


def test_a_registrar_with_other_field_names_keeps_every_field(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("vendor-dispute")
    before = registrant_of(sandbox, 21)  # Name, Company, Address1-3, Zip, Tel_Country_Code, Telephone...
    holder = registrant(client_party(api, 21))
    update = action("registrant_update", "whois-21", {"domain_id": 21, "holder": holder})
    plan(db, update)
    assert Executor(db, api).run_once(NOW).done == [update.key]
    after = registrant_of(sandbox, 21)
    assert list(after) == list(before)
    assert after == {
        **before,
        "Name": "Siti Rahmawati",
        "Company": "PT Maju Makmur",
        "Email": "siti.rahmawati@majumakmur.co.id",
        "Address1": "Jl. Jenderal Sudirman 45",
        "Address2": "",
        "City": "Jakarta",
        "State": "DKI Jakarta",
        "Zip": "10210",
        "Tel_Country_Code": "62",
        "Telephone": "215550199",
    }


def test_an_outside_requester_gets_a_name_and_the_rest_is_kept(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("vendor-dispute")
    before = registrant_of(sandbox, 20)
    update = action("registrant_update", "whois-20", {"domain_id": 20, "holder": registrant(OUTSIDE)})
    plan(db, update)
    assert Executor(db, api).run_once(NOW).done == [update.key]
    after = registrant_of(sandbox, 20)
    assert after["First_Name"] and after["Last_Name"] and after["Organisation_Name"] == "PT Maju Makmur"
    assert after["Email"] == "legal@majumakmur.co.id"
    assert {k: v for k, v in after.items() if k.startswith(("Address", "City", "Postcode", "Phone"))} == {
        k: v for k, v in before.items() if k.startswith(("Address", "City", "Postcode", "Phone"))
    }


def test_a_whois_update_made_before_a_crash_is_not_sent_again(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("vendor-dispute")
    update = action("registrant_update", "whois-20", {"domain_id": 20, "holder": registrant(OUTSIDE)})
    plan(db, update)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")
    contacts = api.whois(20).contacts
    api.update_whois(20, contacts_xml({"Registrant": with_holder(contacts["Registrant"], registrant(OUTSIDE))}))
    since = len(sandbox.calls())
    assert Executor(db, api).run_once(NOW).reconciled == [update.key]
    assert all(c["action"] != "DomainUpdateWhoisInfo" for c in sandbox.calls(since))


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        # WHMCS's own field names for many registrars, with spaces
        (
            {"First Name": "Budi", "Last Name": "Santoso", "Company Name": "K", "Email Address": "b@k.id", "Fax": "1"},
            # the previous holder's fax is emptied too (seventeenth break round, issue 17 H2)
            {"First Name": "PT Maju Makmur", "Last Name": "PT Maju Makmur", "Company Name": "PT Maju Makmur", "Fax": ""},
        ),
        # a field the bridge does not know is kept as it was
        ({"Name": "Budi Santoso", "Nexus_Category": "C11", "Email": "b@k.id"}, {"Name": "PT Maju Makmur"}),
        # the previous holder's job title is not the new holder's (DD:api-reference/domaingetwhoisinfo.md
        # Job_Title; from the third issue-17 break test: "Owner" of the vendor stayed)
        (
            {"First_Name": "Budi", "Last_Name": "Santoso", "Job_Title": "Owner", "Email": "b@k.id"},
            {"First_Name": "PT Maju Makmur", "Last_Name": "PT Maju Makmur", "Job_Title": ""},
        ),
    ],
)
def test_holder_in_place_under_any_spelling(block: dict[str, str], expected: dict[str, str]):
    out = with_holder(block, registrant(OUTSIDE))
    assert list(out) == list(block)
    assert out == {**block, **expected, **{k: "legal@majumakmur.co.id" for k in block if "Email" in k}}
    assert "<First_Name>" in contacts_xml({"Registrant": out}) or "First Name" not in block


# --- SendEmail with a template: the related id of the template's type (DD:api-reference/sendemail.md) --


def ladder_with_first_email(spec: EmailSpec) -> EscalationSection:
    policy = ESCALATION.policies[0]
    stage = policy.ladder[0]
    first = dataclasses.replace(stage.actions[0], email=spec)
    stage = dataclasses.replace(stage, actions=type(stage.actions)([first, *stage.actions[1:]]))
    policy = dataclasses.replace(policy, ladder=type(policy.ladder)([stage, *policy.ladder[1:]]))
    return dataclasses.replace(ESCALATION, policies=type(ESCALATION.policies)([policy, *ESCALATION.policies[1:]]))


@pytest.mark.parametrize(
    ("template_type", "related"),
    [("general", [1]), ("invoice", [11]), ("product", [101, 102]), ("domain", [7])],
)
def test_a_template_goes_to_the_record_of_its_type(template_type: str, related: list[int]):
    spec = EmailSpec(template="Some Template", template_type=template_type)  # type: ignore[arg-type]
    story = Story(rules=ladder_with_first_email(spec))
    story.extra = {"domains": [{"id": 7, "name": "snelhost.nl"}]}
    story.account[12] = {"due": "2026-11-19", "total": "49.95", "balance": "49.95", "status": "Unpaid"}
    story.overdue(11, date(2026, 11, 18), MONDAY)  # due first: the one an invoice template is about
    emails = [a for a in story.actions if a.kind == "email"]
    assert [a.params["related_id"] for a in emails] == related
    assert all(a.params["template"] == "Some Template" for a in emails)
    assert len({a.key for a in emails}) == len(emails)


def test_a_template_with_no_record_of_its_type_becomes_a_staff_task():
    story = Story(rules=ladder_with_first_email(EmailSpec(template="Domain Renewal Notice", template_type="domain")))
    story.overdue(11, date(2026, 11, 18), MONDAY)
    story.context(MONDAY)  # the client has no domains
    assert not [a for a in story.actions if a.kind == "email"]
    [note] = [a for a in story.actions if a.kind == "client_note"]
    assert note.params["msg"] == {
        "id": "escalation.template_without_record",
        "data": {"template": "Domain Renewal Notice", "template_type": "domain"},
    }


def test_a_template_needs_its_type_in_the_config(tmp_path: Path):
    text = LADDER.replace("email: {message: escalation.reminder}", "email: {template: Invoice Payment Reminder}")
    path = tmp_path / "bridge.yaml"
    path.write_text(text)
    with pytest.raises(
        ConfigError,
        match=r"bridge.yaml:18: escalation.policies\[0\].ladder\[0\].actions\[0\].email: expected `template_type`",
    ):
        load_config(path, environ=ENV)
    path.write_text(text.replace("Invoice Payment Reminder}", "Invoice Payment Reminder, template_type: invoice}"))
    assert load_config(path, environ=ENV).escalation.policies[0].ladder[0].actions[0].email.template_type == "invoice"  # type: ignore[union-attr]


def test_sandbox_sends_a_template_only_about_a_record_of_its_type(sandbox: Sandbox):
    sandbox.load("agency")
    invoice = sandbox.rows("invoices", client_id=11)[0]["id"]
    client_not_invoice = next(c["id"] for c in sandbox.rows("clients") if not sandbox.rows("invoices", id=c["id"]))
    reminder = {"messagename": "Invoice Payment Reminder"}
    assert sandbox.post("SendEmail", id=client_not_invoice, **reminder).json()["message"].startswith("Sending Failed")
    assert sandbox.post("SendEmail", id=invoice, **reminder).json()["result"] == "success"
    assert sandbox.post("SendEmail", **reminder).json()["message"] == "A related ID is required"


# --- CreateInvoice: no marker in what the client sees (DD:api-reference/createinvoice.md `notes`) ---------

LINES = [["Renewal of boulangerie-dupont.fr for client #10", "14.95"]]
NOTES = "Delegated renewal 1, grant g1: paying this invoice settles invoice #42 of client #10."


def test_an_invoice_carries_no_marker_the_client_would_see(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("agency")
    create = action("create_invoice", "renewal", {"client_id": 11, "lines": LINES, "notes": NOTES})
    plan(db, create)
    assert Executor(db, api).run_once(NOW).done == [create.key]
    params = last_call(sandbox, "CreateInvoice")
    assert params["notes"] == NOTES and not any(create.key in value for value in params.values())


def test_an_invoice_made_before_a_crash_is_found_by_its_notes_and_lines(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("agency")
    # An invoice with the same notes but other lines is not the one.
    sandbox.post("CreateInvoice", userid=11, notes=NOTES, itemdescription1="Something else", itemamount1="1.00")
    create = action("create_invoice", "renewal", {"client_id": 11, "lines": LINES, "notes": NOTES})
    plan(db, create)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")
    made = sandbox.post(
        "CreateInvoice", userid=11, notes=NOTES, itemdescription1=LINES[0][0], itemamount1=LINES[0][1]
    ).json()["invoiceid"]
    since = len(sandbox.calls())
    report = Executor(db, api).run_once(NOW)
    assert report.reconciled == [create.key]
    entry = outbox.by_key(db, create.key)
    # Found, with what WHMCS shows of it now (a payment made before the bridge knew the invoice is acted on).
    found = {"invoice_id": int(made), "invoice_status": "Unpaid", "invoice_paid": "0.00"}
    assert entry is not None and entry.result == found
    assert all(c["action"] != "CreateInvoice" for c in sandbox.calls(since))


def test_a_taxed_line_made_before_a_crash_is_found_taxed(sandbox: Sandbox, db: Database, api: WhmcsApi):
    """A line taxed as asked (CreateInvoice `itemtaxedx`, DD:api-reference/createinvoice.md) is part of what
    recognises the invoice: the same notes and text untaxed are another invoice."""
    sandbox.load("agency")
    taxed = [[LINES[0][0], LINES[0][1], True]]
    create = action("create_invoice", "renewal", {"client_id": 11, "lines": taxed, "notes": NOTES})
    plan(db, create)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")
    made = sandbox.post(
        "CreateInvoice", userid=11, notes=NOTES, itemdescription1=LINES[0][0], itemamount1=LINES[0][1], itemtaxed1=1
    ).json()["invoiceid"]
    # Made after it, the same notes and text untaxed: not the one.
    sandbox.post("CreateInvoice", userid=11, notes=NOTES, itemdescription1=LINES[0][0], itemamount1=LINES[0][1])
    since = len(sandbox.calls())
    assert Executor(db, api).run_once(NOW).reconciled == [create.key]
    entry = outbox.by_key(db, create.key)
    # Found, with what WHMCS shows of it now (a payment made before the bridge knew the invoice is acted on).
    found = {"invoice_id": int(made), "invoice_status": "Unpaid", "invoice_paid": "0.00"}
    assert entry is not None and entry.result == found
    assert all(c["action"] != "CreateInvoice" for c in sandbox.calls(since))


def test_an_invoice_without_notes_is_not_guessed_after_a_crash(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("agency")
    create = action("create_invoice", "bare", {"client_id": 11, "lines": LINES})
    plan(db, create)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")
    assert Executor(db, api).run_once(NOW).parked == [create.key]
    assert all(c["action"] != "CreateInvoice" for c in sandbox.calls())


# --- GetOrders `requestor_id`: undocumented meaning, absent on older 8.x (DD:api-reference/getorders.md) ---


def documented_order() -> dict[str, Any]:
    answer = json.loads((EXAMPLES / "GetOrders.json").read_text())
    return dict(n.as_list(n.unflatten(answer)["orders"], "order")[0])


def test_an_absent_requestor_id_is_none_not_zero():
    with_it = documented_order()
    assert n.order(with_it).requestor_id == 1
    without = {k: v for k, v in with_it.items() if k != "requestor_id"}
    assert n.order(without).requestor_id is None
    assert orders_lack_requestor([without]) and not orders_lack_requestor([with_it]) and not orders_lack_requestor([])


ORDER = {"orderid": 1, "userid": 12, "lines": [{"type": "product", "relid": 121, "domain": "martin-notaires.fr"}]}


def test_an_order_without_requestor_for_an_owner_with_an_administrative_contact_goes_to_staff():
    admin = administrative([5])
    decisions = decide_all({"grant:a1": admin}, event("OrderPlaced", **ORDER, requestor_id=None), DAY, DELEGATION)
    [flag] = decisions["grant:a1"].actions
    assert flag.kind == "client_note" and flag.params["sticky"] and flag.params["client_id"] == 12
    text = body(flag)
    assert "requestor_id" in text and "delegations grant --owner 12 --delegate 10" in text
    assert not any(key.startswith("grant:o") for key in decisions)  # nothing granted on a guess
    # With the field, nothing granted nor flagged yet: the agency's users (and the owner's owner user) are read
    # from WHMCS for the order, whoever placed it, and that answer decides (test_delegation_rules).
    for requestor in (5, 99):
        placed = decide_all({"grant:a1": admin}, event("OrderPlaced", **ORDER, requestor_id=requestor), DAY, DELEGATION)
        assert not any(key.startswith("grant:o") for key in placed)
        assert [a.kind for d in placed.values() for a in d.actions] == ["refresh_client"]


# --- OpenTicket: the bridge's own tickets are recognised as its own (DD:api-reference/openticket.md) -----

KEY_AT_END = re.compile(r"\[(wb-[0-9a-f]{20})\]\s*$")


def test_the_bridges_own_tickets_are_not_taken_for_a_clients(sandbox: Sandbox, tmp_path: Path):
    sandbox.load("vendor-dispute")
    world = OwnershipWorld(sandbox, tmp_path)
    try:
        world.run("tick")
        open_and_document(world, "domain:20")
        # A client's own ticket quoting the bridge's words is still the client's.
        quoted = f"About majumakmur.co.id, you wrote: Ownership request [{'wb-' + '0' * 20}] - please call me"
        client_ticket = int(
            sandbox.post("OpenTicket", deptid=1, clientid=21, subject="Question", message=quoted).json()["id"]
        )
        world.settle()
        own = {
            t["id"]
            for t in sandbox.rows("tickets")
            if KEY_AT_END.search(sandbox.rows("ticket_replies", ticket_id=t["id"])[0]["message"])
        }
        assert own, "the case opened tickets (threads with the parties, staff's)"
        assert [note for t in own for note in sandbox.rows("ticket_notes", ticket_id=t)] == []
        with Database(tmp_path / "state.db") as db:
            asked = [e for e in outbox.entries(db) if e.kind == "resolve_ticket"]
        assert {int(e.params["ticket_id"]) for e in asked} & own == set()
        assert client_ticket in {int(e.params["ticket_id"]) for e in asked}
    finally:
        world.close()


class TicketWatcher:
    """A family that keeps a state per ticket it is told about (what a client's ticket starts)."""

    name = "watcher"
    tracks_client_services = False

    def route(self, event: Event) -> list[str]:
        return [str(event.data["ticketid"])] if event.type in ("TicketOpen", "TicketUserReply") else []

    def refs(self, event: Event) -> list[str]:
        return []

    def decide(self, states: Mapping[str, State], event: Event, now: datetime) -> dict[str, Decision]:
        return {key: Decision(state={"seen": event.type}) for key in states}


def test_a_polled_ticket_without_message_is_known_by_the_id_the_bridge_recorded(db: Database):
    opened = action("ticket", "notice", {"deptid": 1, "subject": "Notice", "message": "Hello"})
    reply = action("ticket_reply", "thread", {"ticket_id": 7, "message": "Update"})
    plan(db, opened, reply)
    sql(db, "UPDATE outbox SET status = 'done', result = ? WHERE action_key = ?", '{"ticket_id": 7}', opened.key)
    events = {
        "poll-7": ("TicketOpen", {"ticketid": 7, "subject": "Notice"}),  # the poller's: no message
        "poll-8": ("TicketOpen", {"ticketid": 8, "subject": "Question"}),
        "hook-7": ("TicketUserReply", {"ticketid": 7, "userid": 0, "message": f"Update\n\n[{reply.key}]"}),
        "hook-9": ("TicketUserReply", {"ticketid": 9, "userid": 21, "message": f"Update\n\n[{reply.key}]"}),
    }
    with db.atomic():
        for event_id, (kind, data) in events.items():
            inbox.add(
                db, event_id=event_id, type=kind, source="poll", body={"type": kind, "data": data}, received_at=NOW
            )
    Engine(db, [TicketWatcher()]).run_once(NOW)
    assert {key for key, _ in states.items(db, "watcher")} == {"8", "9"}  # 7 is the bridge's; 9 a client quoting it


def test_a_ticket_opened_for_a_client_says_who_wrote_it(sandbox: Sandbox, api: WhmcsApi):
    sandbox.load("agency")
    ours = "Opened by our team for you."
    ticket_id, _ = api.open_ticket(deptid=1, subject="Your renewal", message="It is done.", client_id=11, preface=ours)
    first = sandbox.rows("ticket_replies", ticket_id=ticket_id)[0]
    assert first["client_id"] == 11  # WHMCS files the client as the writer...
    assert first["message"].startswith(ours) and first["message"].endswith("It is done.")  # ...we say it is ours
    staff_id, _ = api.open_ticket(
        deptid=1, subject="Task", message="Do it.", name="whmcs-bridge", email="r@x.org", preface=ours
    )
    assert sandbox.rows("ticket_replies", ticket_id=staff_id)[0]["message"] == "Do it."


# --- trying to break it -------------------------------------------------------------------------------


def test_no_whois_read_no_whois_write(sandbox: Sandbox, db: Database, api: WhmcsApi):
    """The registrar does not answer the read: nothing is sent (a partial block would wipe fields)."""
    sandbox.load("vendor-dispute")
    before = registrant_of(sandbox, 20)
    update = action("registrant_update", "whois-20", {"domain_id": 20, "holder": registrant(OUTSIDE)})
    plan(db, update)
    sandbox.control("faults", {"status": 503, "count": 5, "actions": ["DomainGetWhoisInfo"]})
    report = Executor(db, api).run_once(NOW)
    assert report.retrying == [update.key]
    assert all(c["action"] != "DomainUpdateWhoisInfo" for c in sandbox.calls())
    assert registrant_of(sandbox, 20) == before


def test_a_row_planned_before_the_change_keeps_every_field_too(sandbox: Sandbox, db: Database, api: WhmcsApi):
    """An outbox row from the previous version carries `xml` and `expect` (registrar spelling) only."""
    sandbox.load("vendor-dispute")
    before = registrant_of(sandbox, 21)
    expect = {"First_Name": "Siti", "Last_Name": "Rahmawati", "Organisation_Name": "PT Maju Makmur", "Email": "s@m.id"}
    old = action("registrant_update", "whois-21", {"domain_id": 21, "xml": "<contactdetails/>", "expect": expect})
    plan(db, old)
    assert Executor(db, api).run_once(NOW).done == [old.key]
    after = registrant_of(sandbox, 21)
    assert list(after) == list(before)
    assert (after["Company"], after["Email"], after["Zip"]) == ("PT Maju Makmur", "s@m.id", before["Zip"])


def test_a_template_of_a_type_the_ladder_cannot_relate_is_refused(tmp_path: Path):
    text = LADDER.replace(
        "email: {message: escalation.reminder}", "email: {template: Support Reply, template_type: support}"
    )
    path = tmp_path / "bridge.yaml"
    path.write_text(text)
    with pytest.raises(
        ConfigError,
        match=r"bridge.yaml:18: .*template_type: expected one of 'general', 'invoice', 'product', 'domain', found 'support'",
    ):
        load_config(path, environ=ENV)


def test_a_payment_with_the_same_transid_on_another_invoice_is_not_this_one(
    sandbox: Sandbox, db: Database, api: WhmcsApi
):
    sandbox.load("reseller-overdue")
    settle = action("settle_invoice", "settle", {"invoice_id": 3})
    plan(db, settle)
    sql(db, "UPDATE outbox SET status = 'in_flight', attempts = 1")
    sandbox.post(
        "AddInvoicePayment", invoiceid=4, transid=settle.key, gateway="banktransfer", date="2026-11-22 10:00:00"
    )
    assert Executor(db, api).run_once(NOW).done == [settle.key]  # not found on invoice 3: paid now, once
    assert len(sandbox.rows("transactions", invoice_id=3)) == 1


def test_sandbox_domain_renew_follows_the_page(sandbox: Sandbox):
    """DD:api-reference/domainrenew.md: the registrar is sent the renewal (by `domainid` or `domain`, for
    `regperiod` years, else the stored period); "Domain Not Found" otherwise. The page does not say WHMCS moves
    the domain's dates, so the sandbox does not (the bridge moves the next due date with UpdateClientDomain)."""
    sandbox.load("agency")
    [before] = sandbox.rows("domains", id=11)
    assert sandbox.post("DomainRenew", domainid=11).json()["result"] == "success"
    assert sandbox.post("DomainRenew", domain="boulangerie-dupont.fr", regperiod=2).json()["result"] == "success"
    assert [r["years"] for r in sandbox.rows("registrar_renewals", domain_id=11)] == [before["regperiod"], 2]
    [after] = sandbox.rows("domains", id=11)
    assert (after["nextduedate"], after["expirydate"]) == (before["nextduedate"], before["expirydate"])
    assert sandbox.post("DomainRenew", domainid=999).json()["message"] == "Domain Not Found"
    assert sandbox.post("UpdateClientDomain", domainid=999, nextduedate="2030-01-01").json()["message"] == (
        "Domain ID Not Found"
    )
