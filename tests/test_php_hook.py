"""The real PHP hook under php-cli: every hook point signs and sends a correct event with secrets stripped,
and events spool while the daemon is down, then arrive oldest first with their original ids."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import WEBHOOK_SECRET, needs
from tests.test_cli import write_config
from whmcs_bridge.cli import app as cli
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.store import inbox
from whmcs_bridge.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "hooks" / "whmcs_bridge.php"
HARNESS = ROOT / "tests" / "php" / "harness.php"

pytestmark = needs("php", install="apt-get install php-cli php-curl")

SECRETS = [
    "hunter2-password",
    "srv-root-pass",
    "WHM-ACCESS-HASH-XYZ",
    "TOTP-SECRET-ABC",
    "4111111111111111",
    "old-pass",
    "new-pass",
]
MODULE_PARAMS = {
    "serviceid": 101,
    "userid": 1,
    "pid": 1,
    "serverid": 3,
    "domain": "snelhost.nl",
    "username": "snelhost",
    "password": "hunter2-password",
    "producttype": "reselleraccount",
    "moduletype": "cpanel",
    "serverusername": "root",
    "serverpassword": "srv-root-pass",
    "serveraccesshash": "WHM-ACCESS-HASH-XYZ",
    "serverip": "192.0.2.10",
    "customfields": {"Hosted domains": "64"},
    "configoptions": {},
    "clientsdetails": {"firstname": "Hans", "password": "hunter2-password"},
}
FIRED: list[dict[str, Any]] = [
    {"hook": "InvoicePaid", "vars": {"invoiceid": 1234, "invoice": {"secret": "object"}}},
    {"hook": "InvoiceUnpaid", "vars": {"invoiceid": 1235}},
    {"hook": "InvoiceCreated", "vars": {"source": "autogen", "user": "system", "invoiceid": 1236, "status": "Unpaid"}},
    {"hook": "InvoiceCancelled", "vars": {"invoiceid": 1237}},
    {"hook": "InvoicePaymentReminder", "vars": {"invoiceid": 1238, "type": "secondoverdue"}},
    {"hook": "AddInvoiceLateFee", "vars": {"invoiceid": 1239}},
    {"hook": "AfterModuleSuspend", "vars": {"params": MODULE_PARAMS}},
    {"hook": "AfterModuleUnsuspend", "vars": {"params": MODULE_PARAMS}},
    {"hook": "AfterModuleTerminate", "vars": {"params": MODULE_PARAMS}},
    {
        "hook": "ClientAdd",
        "vars": {
            "client_id": 7,
            "user_id": 9,
            "firstname": "Ana",
            "lastname": "B",
            "email": "ana@example.com",
            "password": "hunter2-password",
        },
    },
    {
        "hook": "ClientEdit",
        "vars": {
            "userid": 7,
            "email": "ana@new.example",
            "authdata": "TOTP-SECRET-ABC",
            "olddata": {"email": "ana@example.com", "authdata": "TOTP-SECRET-ABC"},
        },
    },
    {
        "hook": "ContactAdd",
        "vars": {
            "userid": 7,
            "contactid": 3,
            "email": "c@example.com",
            "productemails": 1,
            "password": "hunter2-password",
        },
    },
    {
        "hook": "ContactEdit",
        "vars": {"userid": 7, "contactid": 3, "email": "c2@example.com", "olddata": {"email": "c@example.com"}},
    },
    {
        "hook": "UserAdd",
        "vars": {
            "user_id": 9,
            "firstname": "Ana",
            "lastname": "B",
            "email": "ana@example.com",
            "password": "hunter2-password",
        },
    },
    {"hook": "AcceptOrder", "vars": {"orderid": 55}},
    {
        "hook": "AfterShoppingCartCheckout",
        "vars": {
            "OrderID": 55,
            "OrderNumber": "7264919934",
            "ServiceIDs": [121],
            "DomainIDs": [121],
            "AddonIDs": [],
            "RenewalIDs": [],
            "InvoiceID": 77,
            "TotalDue": "21.90",
            "PaymentMethod": "banktransfer",
            "CardNumber": "4111111111111111",
        },
    },
    {
        "hook": "TicketOpen",
        "vars": {
            "ticketid": 1,
            "ticketmask": "480037",
            "userid": 10,
            "deptid": 1,
            "deptname": "Support",
            "subject": "cPanel password",
            "message": "please reset",
            "priority": "Medium",
        },
    },
    {
        "hook": "TicketUserReply",
        "vars": {
            "ticketid": 1,
            "replyid": 2,
            "userid": 10,
            "deptid": 1,
            "deptname": "Support",
            "subject": "cPanel password",
            "message": "any news?",
            "priority": "Medium",
            "status": "Customer-Reply",
        },
    },
    {
        "hook": "TicketAddNote",
        "vars": {"ticketid": 1, "message": "Budi phoned: he objects", "adminid": 3, "attachments": "scan.pdf"},
    },
    {"hook": "ServiceEdit", "vars": {"userid": 1, "serviceid": 101}},
    {
        "hook": "EmailPreLog",
        "vars": {
            "userid": 11,
            "date": "2026-11-22 10:00:00",
            "to": "marie@boulangerie-dupont.fr",
            "cc": "",
            "bcc": "",
            "subject": "New Account Information",
            "message": "<p>Welcome</p>",
            "attachments": [["x.pdf", "BASE64"]],
        },
    },
    {"hook": "DailyCronJob", "vars": {}},
    {"hook": "AfterCronJob", "vars": {}},
]


class Daemon:
    """The real receiver on a loopback port (the PHP hook's counterpart)."""

    def __init__(self, tmp: Path, port: int = 0) -> None:
        self.db_path = tmp / "state.db"
        self.receiver = Receiver(self.db_path, [WEBHOOK_SECRET])
        self.server = serve(self.receiver, "127.0.0.1", port)
        self.port = int(self.server.effective_port)
        run_in_thread(self.server)

    def events(self) -> list[dict[str, Any]]:
        with Database(self.db_path, migrate=False) as db:
            return [{"id": e.event_id, **json.loads(e.body)} for e in inbox.entries(db)]

    def close(self) -> None:
        stop(self.server)
        self.receiver.close()


def fire_capturing(
    port: int, spool: Path, events: list[dict[str, Any]], hooks: Sequence[Path] = (HOOK,), **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **extra,
        "WHMCS_BRIDGE_HOOK_FILE": os.pathsep.join(str(h) for h in hooks),
        "WHMCS_BRIDGE_URL": f"http://127.0.0.1:{port}/hooks/whmcs",
        "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WHMCS_BRIDGE_SPOOL_DIR": str(spool),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["php", str(HARNESS)], input=json.dumps(events), capture_output=True, text=True, env=env, timeout=120
    )


def fire(port: int, spool: Path, events: list[dict[str, Any]], hooks: Sequence[Path] = (HOOK,)) -> dict[str, Any]:
    result = fire_capturing(port, spool, events, hooks)
    assert result.returncode == 0, result.stderr
    assert "Fatal" not in result.stderr and "Warning" not in result.stderr, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path)
    yield running
    running.close()


def test_every_hook_point_arrives_signed_and_clean(daemon: Daemon, tmp_path: Path):
    result = fire(daemon.port, tmp_path / "spool", FIRED)
    required = {e["hook"] for e in FIRED}
    assert required <= set(result["registered"])
    events = daemon.events()  # the receiver verified every signature before storing
    assert [e["type"] for e in events] == [e["hook"] for e in FIRED]
    assert all(
        e["id"].startswith("msg_") and e["source"] == {"whmcs_url": "https://billing.example.com/", "hook_version": 2}
        for e in events
    )
    everything = json.dumps(events)
    for secret in SECRETS:
        assert secret not in everything
    by_type = {e["type"]: e["data"] for e in events}
    assert by_type["InvoicePaid"] == {"invoiceid": 1234}
    assert by_type["AfterModuleSuspend"]["params"] == {
        "serviceid": 101,
        "userid": 1,
        "pid": 1,
        "serverid": 3,
        "domain": "snelhost.nl",
        "username": "snelhost",
        "producttype": "reselleraccount",
        "moduletype": "cpanel",
        "customfields": {"Hosted domains": "64"},
        "configoptions": [],
    }
    assert by_type["ClientEdit"] == {"userid": 7, "email": "ana@new.example", "olddata": {"email": "ana@example.com"}}
    assert by_type["AfterShoppingCartCheckout"]["ServiceIDs"] == [121]
    assert (
        "attachments" not in by_type["EmailPreLog"]
        and subject_of(by_type["EmailPreLog"]) == kept_subject("New Account Information")  # a custom email
    )
    assert by_type["TicketAddNote"] == {"ticketid": 1, "message": "Budi phoned: he objects", "adminid": 3}
    assert by_type["DailyCronJob"] == {}
    assert not list((tmp_path / "spool").glob("*.json"))


def test_daemon_down_events_spool_then_arrive_in_order_with_original_ids(tmp_path: Path):
    port = free_port()  # nothing listens here yet
    spool = tmp_path / "spool"
    first = [{"hook": "InvoicePaid", "vars": {"invoiceid": n}} for n in (1, 2, 3)]
    fire(port, spool, first)
    files = sorted(p.name for p in spool.glob("*.json"))
    assert len(files) == 3
    spooled_ids = [name.split("-", 2)[2].removesuffix(".json") for name in files]
    assert (spool.stat().st_mode & 0o777) == 0o700
    daemon = Daemon(tmp_path, port)
    try:
        fire(port, spool, [{"hook": "AfterCronJob", "vars": {}}])
        events = daemon.events()
    finally:
        daemon.close()
    assert [e["data"].get("invoiceid") for e in events] == [1, 2, 3, None]
    assert [e["id"] for e in events[:3]] == spooled_ids
    assert events[3]["type"] == "AfterCronJob"
    assert not list(spool.glob("*.json"))


def test_a_newer_event_waits_behind_the_spool(tmp_path: Path):
    port = free_port()
    spool = tmp_path / "spool"
    fire(port, spool, [{"hook": "InvoicePaid", "vars": {"invoiceid": 1}}])
    daemon = Daemon(tmp_path, port)
    try:
        fire(port, spool, [{"hook": "InvoicePaid", "vars": {"invoiceid": 2}}])
        events = daemon.events()
    finally:
        daemon.close()
    assert [e["data"]["invoiceid"] for e in events] == [1, 2]


def test_a_daemon_that_never_answers_costs_about_the_budget(tmp_path: Path):
    """A listener that accepts but never replies: the hook gives up at its budget and spools instead of hanging WHMCS."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        fire(silent.getsockname()[1], tmp_path / "spool", [{"hook": "TicketOpen", "vars": {"ticketid": 1}}])
    assert len(list((tmp_path / "spool").glob("*.json"))) == 1  # gave up after its 2 s budget, did not hang


def test_an_event_too_large_is_trimmed_not_dropped(daemon: Daemon, tmp_path: Path):
    """A 300 KB email (a pasted log, an inline image) would be refused by the daemon: its message is cut,
    with a marker saying so, and the event arrives. (A templated email: a custom message's body is never
    stored at all, issue 16.)"""
    result = fire(daemon.port, tmp_path / "spool", [WELCOME_SEND, logged(11, "big", "x" * 300_000)])
    assert result["registered"]
    [event] = daemon.events()
    assert event["data"]["subject"] == "big"
    assert event["data"]["message"].endswith("[whmcs-bridge: message cut, 300000 bytes in all]")
    assert 100_000 < len(event["data"]["message"]) < 200_000
    assert not list((tmp_path / "spool").glob("*.json"))


def test_a_spool_folder_someone_else_made_is_refused(daemon: Daemon, tmp_path: Path):
    """A folder another local user created (here: open to all, 0777) with a planted event in it: the hook
    neither reads nor writes it, and says so in WHMCS's activity log; the real event still arrives."""
    spool = tmp_path / "planted"
    spool.mkdir()
    spool.chmod(0o777)
    planted = b'{"type": "InvoicePaid", "data": {"invoiceid": 666}}'
    (spool / "0000000000.000000-000001-msg_planted.json").write_bytes(planted)
    result = fire_capturing(daemon.port, spool, [{"hook": "InvoicePaid", "vars": {"invoiceid": 1}}])
    assert result.returncode == 0, result.stderr
    assert [e["data"]["invoiceid"] for e in daemon.events()] == [1]
    assert "activity: whmcs-bridge: the spool folder" in result.stderr and "refused" in result.stderr
    daemon.close()  # and while the daemon is down, nothing is written into it
    down = fire_capturing(daemon.port, spool, [{"hook": "InvoicePaid", "vars": {"invoiceid": 2}}])
    assert down.returncode == 0 and [p.name for p in spool.iterdir()] == ["0000000000.000000-000001-msg_planted.json"]
    assert "cannot spool event" in down.stderr


def test_install_hook_fills_in_url_and_secret(tmp_path: Path):
    daemon = Daemon(tmp_path)
    try:
        whmcs = tmp_path / "whmcs"
        (whmcs / "includes" / "hooks").mkdir(parents=True)
        config = write_config(tmp_path)
        url = f"http://127.0.0.1:{daemon.port}/hooks/whmcs"
        result = CliRunner().invoke(
            cli.main,
            [
                "--config",
                str(config),
                "install-hook",
                "--whmcs-root",
                str(whmcs),
                "--url",
                url,
                "--spool-dir",
                str(tmp_path / "spool"),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.stderr
        installed = whmcs / "includes" / "hooks" / "whmcs_bridge.php"
        assert (installed.stat().st_mode & 0o777) == 0o640
        text = installed.read_text()
        assert (
            WEBHOOK_SECRET in text
            and url in text
            and "__WHMCS_BRIDGE" not in text.split("function whmcs_bridge_allowed")[0].split("spool_dir")[0]
        )
        env = {
            "WHMCS_BRIDGE_HOOK_FILE": str(installed),
            "PATH": "/usr/bin:/bin",
        }  # no URL or secret from the environment
        run = subprocess.run(
            ["php", str(HARNESS)],
            input=json.dumps([{"hook": "InvoicePaid", "vars": {"invoiceid": 9}}]),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert [e["data"] for e in daemon.events()] == [{"invoiceid": 9}]
    finally:
        daemon.close()


def test_install_hook_refuses_a_folder_that_is_not_whmcs(tmp_path: Path):
    result = CliRunner().invoke(
        cli.main,
        ["--config", str(write_config(tmp_path)), "install-hook", "--whmcs-root", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "does not look like a WHMCS installation" in result.stderr


def test_the_spool_is_bounded(tmp_path: Path):
    """A daemon down for long cannot fill WHMCS's disk: past the limit the oldest events are dropped,
    each drop logged in WHMCS's activity log."""
    spool = tmp_path / "spool"
    events = [{"hook": "InvoicePaid", "vars": {"invoiceid": n}} for n in range(1, 6)]
    result = fire_capturing(free_port(), spool, events, WHMCS_BRIDGE_SPOOL_MAX_FILES="3")
    assert result.returncode == 0, result.stderr
    kept = sorted(spool.glob("*.json"))
    assert [json.loads(p.read_text())["data"]["invoiceid"] for p in kept] == [3, 4, 5]
    assert result.stderr.count("spool full or too old: dropped event") == 2


# --- EmailPreSend paired with EmailPreLog; a second copy of the file ----------------------------------

ROOT_PASS = "Root-Pass-9x!"
WELCOME_SEND = {
    "hook": "EmailPreSend",
    "vars": {
        "messagename": "Dedicated/VPS Server Welcome Email",
        "relid": 110,
        # WHMCS's merge fields carry the credentials the template prints: they never leave WHMCS.
        "mergefields": {"client_id": 11, "service_password": ROOT_PASS, "client_password": "hunter2-password"},
    },
}


def logged(userid: int, subject: str, message: str) -> dict[str, Any]:
    return {
        "hook": "EmailPreLog",
        "vars": {
            "userid": userid,
            "date": "2026-11-25 10:00:00",
            "to": "marie@boulangerie-dupont.fr",
            "cc": "",
            "bcc": "",
            "subject": subject,
            "message": message,
            "attachments": [],
        },
    }


def test_emailpresend_gives_emailprelog_its_template_name_and_related_id(daemon: Daemon, tmp_path: Path):
    """EmailPreSend has the template name and related id (hooks-reference/everything-else.md), EmailPreLog
    the rendered message: the one event carries both, and nothing of the merge fields."""
    result = fire(
        daemon.port,
        tmp_path / "spool",
        [WELCOME_SEND, logged(11, "New Dedicated Server Information", f"<p>Root pass: {ROOT_PASS}</p>")],
    )
    assert "EmailPreSend" in result["registered"]
    assert result["returned"] == [None, None]  # no merge fields added, nothing aborted
    [event] = daemon.events()  # EmailPreSend is kept for the request, not sent on its own
    assert event["type"] == "EmailPreLog"
    assert event["data"]["messagename"] == "Dedicated/VPS Server Welcome Email" and event["data"]["relid"] == 110
    assert "mergefields" not in event["data"] and "hunter2-password" not in json.dumps(event)
    assert "client_id" not in event["data"]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))  # the database file and its WAL
    assert b"Dedicated/VPS Server Welcome Email" in stored
    assert b"hunter2-password" not in stored and b"mergefields" not in stored and b"client_password" not in stored


def test_each_email_of_a_request_gets_its_own_template_or_none(daemon: Daemon, tmp_path: Path):
    """Two templated emails in one request (a cron run), then an email no EmailPreSend announced, then an
    EmailPreSend for another client whose email was never logged (a hook aborted it): each EmailPreLog
    carries only the template that announced it."""
    fire(
        daemon.port,
        tmp_path / "spool",
        [
            WELCOME_SEND,
            logged(11, "New Dedicated Server Information", "<p>server</p>"),
            {
                "hook": "EmailPreSend",
                "vars": {"messagename": "Invoice Created", "relid": 501, "mergefields": {"client_id": 11}},
            },
            logged(11, "Customer Invoice", "<p>invoice</p>"),
            logged(11, "A message from staff", "<p>custom</p>"),
            {
                "hook": "EmailPreSend",
                "vars": {
                    "messagename": "Hosting Account Welcome Email",
                    "relid": 120,
                    "mergefields": {"client_id": 12},
                },
            },
            logged(11, "Another custom message", "<p>custom</p>"),
        ],
    )
    assert names(daemon) == [
        ("New Dedicated Server Information", "Dedicated/VPS Server Welcome Email", 110),
        ("Customer Invoice", "Invoice Created", 501),
        (kept_subject("A message from staff"), None, None),
        (kept_subject("Another custom message"), None, None),
    ]


def announced(template: str, relid: int, client_id: int) -> dict[str, Any]:
    return {
        "hook": "EmailPreSend",
        "vars": {"messagename": template, "relid": relid, "mergefields": {"client_id": client_id}},
    }


def names(daemon: Daemon) -> list[tuple[str, Any, Any]]:
    return [(subject_of(e["data"]), e["data"].get("messagename"), e["data"].get("relid")) for e in daemon.events()]


def kept_subject(subject: str) -> str:
    """What the inbox keeps of the subject of an email no template names (a custom message): its SHA-256 only,
    as of its body (store/inbox.py without_message; break round 17)."""
    return "sha256:" + hashlib.sha256(subject.encode()).hexdigest()


def subject_of(data: dict[str, Any]) -> str:
    """An email event's subject as stored: the text while the rules may still need it, else its hash."""
    return str(data["subject"]) if data.get("subject") else "sha256:" + str(data["subject_sha256"])


@pytest.mark.parametrize("order", ["in announcement order", "nested"])
def test_two_announcements_pending_for_one_client_name_neither_email(daemon: Daemon, tmp_path: Path, order: str):
    """Found by the issue-13 break test: EmailPreSend A (a root-password welcome email), EmailPreSend B
    ("Invoice Created"), then both EmailPreLogs: A went out as "Invoice Created" and B had no name. When a
    second announcement for a client comes while one is still pending, the hook cannot tell which log is
    which: no name on either (the bridge never copies an email without one), and none on that client's
    later emails of the request either (a log may still be late)."""
    server = logged(11, "New Dedicated Server Information", f"<p>Root pass: {ROOT_PASS}</p>")
    invoice = logged(11, "Customer Invoice", "<p>invoice</p>")
    first, second = (server, invoice) if order == "in announcement order" else (invoice, server)
    fire(
        daemon.port,
        tmp_path / "spool",
        [
            WELCOME_SEND,
            announced("Invoice Created", 501, 11),
            first,
            second,
            announced("Service Suspension Notification", 110, 11),
            logged(11, "Service Suspended", "<p>suspended</p>"),
        ],
    )
    assert sorted(names(daemon)) == sorted(
        [
            (kept_subject("Customer Invoice"), None, None),
            (kept_subject("New Dedicated Server Information"), None, None),
            (kept_subject("Service Suspended"), None, None),
        ]
    )


def test_announcements_for_two_clients_keep_their_own_names(daemon: Daemon, tmp_path: Path):
    """Announced for client 12, then for client 11, then logged in that order: the client tells them apart;
    a client whose pairing was doubtful does not make another client's doubtful."""
    fire(
        daemon.port,
        tmp_path / "spool",
        [
            announced("Hosting Account Welcome Email", 120, 12),
            announced("Invoice Created", 501, 11),
            logged(12, "New Account Information", "<p>welcome</p>"),
            logged(11, "Customer Invoice", "<p>invoice</p>"),
            announced("Invoice Created", 502, 11),
            announced("Invoice Created", 503, 11),
            announced("Invoice Created", 601, 12),
            logged(11, "Customer Invoice", "<p>invoice 502</p>"),
            logged(11, "Customer Invoice", "<p>invoice 503</p>"),
            logged(12, "Customer Invoice", "<p>invoice 601</p>"),
        ],
    )
    assert names(daemon) == [
        ("New Account Information", "Hosting Account Welcome Email", 120),
        ("Customer Invoice", "Invoice Created", 501),
        (kept_subject("Customer Invoice"), None, None),
        (kept_subject("Customer Invoice"), None, None),
        ("Customer Invoice", "Invoice Created", 601),
    ]


def test_an_announcement_for_no_known_client_makes_every_pairing_doubtful(daemon: Daemon, tmp_path: Path):
    """Merge fields without a client id could be any client's: with another announcement pending, no
    email of the request can be paired for sure."""
    fire(
        daemon.port,
        tmp_path / "spool",
        [
            {"hook": "EmailPreSend", "vars": {"messagename": "Some Template", "relid": 7, "mergefields": {}}},
            announced("Invoice Created", 501, 11),
            logged(11, "Customer Invoice", "<p>invoice</p>"),
            logged(12, "Something", "<p>something</p>"),
        ],
    )
    assert names(daemon) == [(kept_subject("Customer Invoice"), None, None), (kept_subject("Something"), None, None)]


def test_merge_fields_are_not_spooled_either(tmp_path: Path):
    spool = tmp_path / "spool"
    fire(free_port(), spool, [WELCOME_SEND, logged(11, "New Dedicated Server Information", "<p>server</p>")])
    [spooled] = [p.read_text() for p in spool.glob("*.json")]
    assert '"messagename":"Dedicated/VPS Server Welcome Email"' in spooled
    assert ROOT_PASS not in spooled and "hunter2-password" not in spooled and "mergefields" not in spooled


OLD_UNGUARDED = """<?php
function whmcs_bridge_config() { return array(); }
function whmcs_bridge_emit($hook, $vars) { }
const WHMCS_BRIDGE_HOOK_VERSION = 1;
"""


@pytest.mark.parametrize("first", ["this file", "an older unguarded copy"])
def test_a_second_copy_in_includes_hooks_is_harmless(daemon: Daemon, tmp_path: Path, first: str):
    """WHMCS includes every file of includes/hooks: a second copy (a backup named .php, an older
    version) was a fatal "Cannot redeclare" on every page. The copy loaded second does nothing, so
    each event is also sent once."""
    hooks = tmp_path / "includes" / "hooks"
    hooks.mkdir(parents=True)
    copy = hooks / "whmcs_bridge_backup.php"
    if first == "this file":
        copy.write_text(HOOK.read_text())
        files = [HOOK, copy]
    else:
        copy.write_text(OLD_UNGUARDED)
        files = [copy, HOOK]
    single = fire(daemon.port, tmp_path / "spool1", [], [HOOK])
    result = fire(daemon.port, tmp_path / "spool2", [{"hook": "InvoicePaid", "vars": {"invoiceid": 7}}], files)
    if first == "this file":
        assert result["functions"] == single["functions"]  # hooks registered once, not twice
        assert [e["data"] for e in daemon.events()] == [{"invoiceid": 7}]
    else:
        assert result["functions"] == 0  # the older copy wins the names; this one stands aside


def test_every_function_of_the_hook_is_guarded():
    """A function declared at the file's top level is declared when PHP compiles the file, before any
    check runs: each must sit inside `if (!function_exists(...))`."""
    source = HOOK.read_text()
    declared = re.findall(r"^([ \t]*)function (whmcs_bridge_\w+)\(", source, re.MULTILINE)
    assert declared
    for indent, name in declared:
        assert indent, f"{name} is declared at the top level"
        assert f"if (!function_exists('{name}')) {{" in source, f"{name} is not guarded"
