"""The real PHP hook under php-cli: every hook point signs and sends a correct event with secrets stripped,
and events spool while the daemon is down, then arrive oldest first with their original ids."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import WEBHOOK_SECRET, needs
from tests.test_cli import write_config
from whmcs_bridge.cli import app as cli
from whmcs_bridge.intake.receiver import Receiver, run_in_thread, serve
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
        self.server = serve(Receiver(self.db_path, [WEBHOOK_SECRET]), "127.0.0.1", port)
        self.port = int(self.server.effective_port)
        run_in_thread(self.server)

    def events(self) -> list[dict[str, Any]]:
        with Database(self.db_path, migrate=False) as db:
            return [{"id": e.event_id, **json.loads(e.body)} for e in inbox.entries(db)]

    def close(self) -> None:
        self.server.close()


def fire_capturing(
    port: int, spool: Path, events: list[dict[str, Any]], **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **extra,
        "WHMCS_BRIDGE_HOOK_FILE": str(HOOK),
        "WHMCS_BRIDGE_URL": f"http://127.0.0.1:{port}/hooks/whmcs",
        "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WHMCS_BRIDGE_SPOOL_DIR": str(spool),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["php", str(HARNESS)], input=json.dumps(events), capture_output=True, text=True, env=env, timeout=120
    )


def fire(port: int, spool: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    result = fire_capturing(port, spool, events)
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
        e["id"].startswith("msg_") and e["source"] == {"whmcs_url": "https://billing.example.com/", "hook_version": 1}
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
        "attachments" not in by_type["EmailPreLog"] and by_type["EmailPreLog"]["subject"] == "New Account Information"
    )
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
    with a marker saying so, and the event arrives."""
    result = fire(
        daemon.port, tmp_path / "spool", [{"hook": "EmailPreLog", "vars": {"message": "x" * 300_000, "subject": "big"}}]
    )
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
