"""Where a planned message becomes text (executor/texts.py), against the sandbox over real HTTP: the
reader's WHMCS language, names as WHMCS gives them when the action runs, values escaped, the text kept
with the action across retries, a message this version does not know parked with a sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import Sandbox
from tests.test_executor import action, plan, status
from whmcs_bridge.executor.loop import Executor
from whmcs_bridge.executor.texts import Texts
from whmcs_bridge.messages import load
from whmcs_bridge.model import Action, message
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LADDER = {
    "client": 1,
    "amount_due": "944.70",
    "invoice_count": 11,
    "oldest_due": "2026-07-01",
    "days_overdue": 145,
    "deadline": "2026-12-16",
    "stage": "final-notice",
    "services": ["service:101"],
}


def executor(db: Database, api: WhmcsApi) -> Executor:
    return Executor(db, api, texts=Texts(load.shipped(), ZoneInfo("Europe/Amsterdam")))


def final_notice(purpose: str = "final") -> Action:
    return action("email", purpose, {"related_id": 1, "type": "general", "msg": message("escalation.final_notice", **LADDER)})


def test_a_notice_is_written_in_the_clients_language_with_its_name_now(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    # Staff rename the reseller after the ladder planned the notice: the notice names it as WHMCS does now.
    sandbox.control("act", {"action": "UpdateClient", "clientid": 1, "companyname": "SnelHost B.V."})
    notice = final_notice()
    plan(db, notice)
    assert executor(db, api).run_once(NOW).done == [notice.key]
    [sent] = [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert "SnelHost B.V." in sent["message"] and "€\xa0944,70" in sent["message"]
    assert "16 december 2026" in sent["message"]
    kept = status(db, notice.key).params
    assert kept["lang"] == "nl" and kept["subject"] == sent["subject"]


def test_a_client_without_a_language_reads_the_default_and_staff_read_theirs(
    sandbox: Sandbox, db: Database, api: WhmcsApi
):
    sandbox.load("reseller-overdue")
    sandbox.control("act", {"action": "UpdateClient", "clientid": 1, "language": ""})
    catalogue = load.shipped()
    french = type(catalogue)(catalogue.specs, catalogue.templates, default_locale="fr", staff_locale="id")
    notice = final_notice()
    note = action("client_note", "note", {"msg": message("escalation.reminder_note", **LADDER)})
    plan(db, notice, note)
    Executor(db, api, texts=Texts(french, UTC)).run_once(NOW)
    assert status(db, notice.key).params["subject"].startswith("Mise en demeure")
    assert status(db, note.key).params["text"].startswith("Pengingat tunggakan dikirim")


def test_a_hostile_company_name_from_whmcs_is_escaped_in_the_email(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    hostile = 'ACME<a href="https://evil.example/phish">x</a><img src="https://evil.example/t.gif">{$smarty.now}'
    sandbox.control("act", {"action": "UpdateClient", "clientid": 1, "companyname": hostile})
    notice = final_notice()
    plan(db, notice)
    assert executor(db, api).run_once(NOW).done == [notice.key]
    [sent] = [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert "<a href" not in sent["message"] and "<img" not in sent["message"]
    assert "ACME&lt;a href=&#34;https://evil.example/phish&#34;&gt;" in sent["message"]
    assert "{$smarty.now}" in sent["message"]  # WHMCS's Smarty did not run it either


def test_a_retry_sends_the_text_of_the_first_try(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    notice = final_notice()
    plan(db, notice)
    sandbox.control("faults", {"status": 503, "count": 100, "actions": ["SendEmail"]})
    run = executor(db, api)
    run.run_once(NOW)
    first = status(db, notice.key).params
    sandbox.control("faults", {"count": 0})
    sandbox.control("act", {"action": "UpdateClient", "clientid": 1, "companyname": "Renamed Meanwhile"})
    run.run_once(NOW + timedelta(hours=2))
    assert status(db, notice.key).status == "done"
    sent = [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert len(sent) == 1 and sent[0]["subject"] == first["subject"] and "Renamed Meanwhile" not in sent[0]["message"]


def test_a_message_this_version_does_not_know_parks_with_a_sentence(sandbox: Sandbox, db: Database, api: WhmcsApi):
    sandbox.load("reseller-overdue")
    unknown = action("email", "future", {"related_id": 1, "type": "general", "msg": message("escalation.from_the_future")})
    plan(db, unknown)
    report = executor(db, api).run_once(NOW)
    assert report.parked == [unknown.key]
    assert "asks for message 'escalation.from_the_future', which this version has not" in (status(db, unknown.key).error or "")
    assert not [c for c in sandbox.calls() if c["action"] == "SendEmail"]


def test_a_ticket_opened_in_a_clients_name_says_it_is_ours_in_the_clients_language(
    sandbox: Sandbox, db: Database, api: WhmcsApi
):
    sandbox.load("reseller-overdue")
    ticket = action("ticket", "final-ticket", {"deptid": 2, "client_id": 1, "msg": message("escalation.final_notice_ticket", **LADDER)})
    staff = action(
        "ticket",
        "letter",
        {"deptid": 2, "client_id": None, "name": "whmcs-bridge", "email": "robot@example.com", "notify": False,
         "msg": message("escalation.registered_letter", **LADDER)},
    )  # fmt: skip
    plan(db, ticket, staff)
    assert executor(db, api).run_once(NOW).done == [ticket.key, staff.key]
    first = sandbox.rows("ticket_replies", ticket_id=(status(db, ticket.key).result or {})["ticket_id"])[0]
    assert first["message"].startswith("Dit ticket is door ons team voor u geopend")
    task = sandbox.rows("ticket_replies", ticket_id=(status(db, staff.key).result or {})["ticket_id"])[0]
    assert task["message"].startswith("Send the final notice to SnelHost V.O.F. (client #1)")


def test_a_failed_read_of_the_client_delays_the_notice_it_never_sends_it_in_the_wrong_language(
    sandbox: Sandbox, db: Database, api: WhmcsApi
):
    """Found by the break test: one WHMCS error while the message was written sent the Dutch reseller an
    English notice to "client #1" without a currency, and kept that text for every retry."""
    sandbox.load("reseller-overdue")
    notice = final_notice()
    plan(db, notice)
    sandbox.control(
        "faults",
        {"status": 200, "count": 1, "actions": ["GetClientsDetails"], "message": "Database error: Lock wait timeout exceeded"},
    )
    run = executor(db, api)
    run.run_once(NOW)
    assert not [e for e in sandbox.rows("emails", client_id=1) if "Reminder" in e["subject"] or "Final" in e["subject"]]
    assert status(db, notice.key).status != "done" and "lang" not in status(db, notice.key).params
    sandbox.control("faults", {"count": 0})
    run.run_once(NOW + timedelta(hours=2))
    [sent] = [e for e in sandbox.rows("emails", client_id=1) if e["subject"].startswith("Ingebrekestelling")]
    assert "SnelHost V.O.F." in sent["message"] and "client #1" not in sent["message"]
