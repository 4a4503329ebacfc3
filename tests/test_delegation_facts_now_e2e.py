"""Facts over memory for grants (issue 16, ninth break round): what a grant does is decided from what WHMCS says
now, not from what the bridge saw when it was made: a paid renewal of a service staff moved to another client
renews nothing (H5); a renewal applied to a service WHMCS shows suspended tells staff, not the owner, that it is
still suspended (H4); a consent accepted after staff moved the service activates nothing (M1); a closed client
neither receives nor gives a grant, and a grant whose side WHMCS shows closed stops acting (M2). The agency
scenario, the real receiver and consent pages, the CLI as staff run it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_grants_e2e import link_in, refused
from tests.test_delegation_renewal_e2e import World, asked, due, next_month, owner_invoice, pay, staff_tasks


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def test_a_paid_renewal_of_a_service_moved_to_another_client_renews_nothing(world: World):
    """H5: the agency is invoiced the renewal of owner 11's service 110; staff move 110 to client 12; the agency
    pays. Nothing is renewed, owner 11's invoice is left as it is, owner 11 is not told it was renewed; one staff
    task says the agency paid for a service that now belongs to client #12; the agency is told it was not renewed,
    and the grant's show says WHMCS has the service under another client."""
    sandbox = world.sandbox
    invoice = owner_invoice(world)
    before = due(world)
    grant_id, invoices = asked(world)
    sandbox.control("move", {"service": 110, "client": 12})
    world.settle()
    mails = len(world.emails(11)), len(world.emails(12))
    pay(world, invoices[0]["id"], "CARD-H5")
    world.settle(4)
    assert due(world) == before
    assert sandbox.rows("invoices", id=invoice["id"])[0]["status"] == "Unpaid"
    assert [i["amount"] for i in sandbox.rows("invoice_items", invoice_id=invoice["id"])] == ["14.95"]
    assert not any("renewed until" in n["note"] for n in sandbox.rows("client_notes"))
    assert (len(world.emails(11)), len(world.emails(12))) == mails
    [task] = staff_tasks(world, 10)
    assert "belongs to client #12" in task["note"] and "14.95" in task["note"], task["note"]
    told = [e for e in world.emails(10) if f"#{invoices[0]['id']}" in e["subject"]]
    assert len(told) == 1 and "no longer" in told[0]["message"], [e["subject"] for e in world.emails(10)]
    shown = world.run("delegations", "show", grant_id).output
    assert "renewal 1: service #110, needs staff" in shown, shown
    assert "service #110 belongs to client #12 in WHMCS now" in shown, shown


@pytest.fixture
def paged(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """A world whose consent pages read WHMCS, as the daemon's do."""
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def test_a_consent_given_after_the_service_moved_activates_nothing(paged: SelfServiceWorld):
    """M1: the agency asks for owner 11's service 110; staff move 110 to client 12; owner 11 accepts through its
    link. WHMCS is read when the answer comes: the grant is not activated, the page says why in one sentence,
    staff (a note on the owner's account) and the agency are told, and nothing of client 12's reaches the agency."""
    world, sandbox = paged, paged.sandbox
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "lena",
        "--basis", "we build the site", "--request",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    link = link_in(world, 11, "Your consent is needed")
    sandbox.control("move", {"service": 110, "client": 12})
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    # The owner reads it in its language, and not who holds it now (another client).
    assert "Service #110 is no longer in your account" in answer.text and "#12" not in answer.text, answer.text
    world.settle()
    shown = world.run("delegations", "show", grant_id).output
    assert "status:    void" in shown and "active" not in shown.split("history:")[0], shown
    assert not any("now your" in e["subject"] or "is now" in e["subject"] for e in world.emails(11))
    told = [e for e in world.emails(10) if grant_id in e["message"] and "not" in e["subject"]]
    assert len(told) == 1 and "no longer" in told[0]["message"], [e["subject"] for e in world.emails(10)]
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=11) if grant_id in n["note"]]
    assert any("service #110 belongs to client #12" in n for n in notes), notes
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    assert not any(e["subject"].startswith("[Copy]") for e in world.emails(10))


@pytest.mark.parametrize(
    ("closed", "covers", "sentence"),
    [
        (11, ["--owner", "11", "--delegate", "10", "--domain", "11"], "client #11 (the owner) is Closed in WHMCS"),
        (13, ["--owner", "12", "--delegate", "13", "--service", "120"], "client #13 (the delegate) is Closed in WHMCS"),
        (
            11,
            ["--owner", "11", "--delegate", "10", "--service", "110", "--request"],
            "client #11 (the owner) is Closed",
        ),
    ],
)
def test_a_grant_on_or_to_a_closed_client_is_refused(world: World, closed: int, covers: list[str], sentence: str):
    """M2: WHMCS shows the owner or the delegate Closed (UpdateClient status=Closed, DD:api-reference/updateclient.md):
    the grant or request is refused with one sentence naming which client, as the other grant-time checks are
    (exit 2), and nothing is recorded or sent."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": closed, "status": "Closed"})
    before = len(world.sandbox.calls())
    result = refused(world, *covers, "--by", "alice", "--basis", "contract")
    assert result.exit_code == 2, result.output
    assert sentence in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    world.settle()
    assert [c["action"] for c in world.sandbox.calls(before) if not c["action"].startswith("Get")] == []
    assert "no grants" in world.run("delegations", "list").output


def test_a_renewal_of_a_suspended_service_tells_staff_it_is_still_suspended(world: World):
    """H4: WHMCS suspended service 110 for non-payment (ModuleSuspend, DD:api-reference/modulesuspend.md); the
    agency renews it and pays. The renewal is applied (next due date on, the owner's line off), but the owner's
    invoice was cancelled, not paid, so WHMCS's unsuspension on payment never runs, and the bridge does not lift a
    suspension it cannot tell from staff's own: the service stays suspended, one staff task names WHMCS's reason and
    says the agency's payment renewed it, and the owner's email does not say the service is back."""
    sandbox = world.sandbox
    sandbox.control("act", {"action": "ModuleSuspend", "serviceid": 110, "suspendreason": "Overdue on Payment"})
    before = due(world)
    _, invoices = asked(world)
    pay(world, invoices[0]["id"], "CARD-H4")
    world.settle(4)
    assert due(world) == next_month(before)
    service = sandbox.rows("services", id=110)[0]
    assert service["status"] == "Suspended"
    assert "ModuleUnsuspend" not in [c["action"] for c in sandbox.calls()]
    tasks = [n["note"] for n in staff_tasks(world, 11) if "suspended" in n["note"]]
    assert len(tasks) == 1 and "Overdue on Payment" in tasks[0] and "14.95" in tasks[0], tasks
    [told] = [e for e in world.emails(11) if "renewal" in e["subject"]]
    assert "still suspended" in told["message"], told["message"]


def test_a_grant_whose_delegate_is_closed_in_whmcs_stops_acting(world: World):
    """M2: the agency (delegate 10) closes its WHMCS account while its grant on owner 11's service is active. WHMCS
    is read when the grant would act: no copy of the owner's email, no VERIFIED note on the closed agency's ticket,
    and its [renew] sends no renewal page link (nor invoices anything); staff are told once (a note on the owner's
    account), and the grant's show says which side WHMCS shows Closed."""
    sandbox = world.sandbox
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "contract",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    sandbox.control("act", {"action": "UpdateClient", "clientid": 10, "status": "Closed"})
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Suspension Notification"})
    world.settle()
    ticket = sandbox.control(
        "act",
        {
            "action": "OpenTicket", "clientid": 10, "deptid": 1, "subject": "boulangerie-dupont.fr",
            "message": "please restart the hosting [renew service 110]", "serviceid": 110,
        },
    )  # fmt: skip
    world.settle(4)
    assert not any(e["subject"].startswith("[Copy]") for e in world.emails(10))
    notes = [n.get("message") or n.get("note") or "" for n in sandbox.rows("ticket_notes")]
    assert not any("VERIFIED" in n for n in notes), notes
    assert [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in (i["notes"] or "")] == []
    told = [n["note"] for n in sandbox.rows("client_notes", client_id=11) if "Closed" in n["note"]]
    assert len(told) == 1 and grant_id in told[0] and "client #10" in told[0], told
    assert ticket  # the ticket was opened (its note, if any, is not VERIFIED)
    shown = world.run("delegations", "show", grant_id).output
    assert "the delegate, client #10, is Closed in WHMCS now" in shown, shown
    assert "renewal 1" not in shown, shown
    assert not [e for e in world.emails(10) if "/consent/" in e["message"] and "[renew]" in e["subject"]]
