"""Issue 16, eleventh break round: what a delegation does is decided on what WHMCS holds when it is done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, SelfServiceWorld
from tests.test_delegation_e2e import World, grant_agency


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """As the daemon runs it: the consent pages read WHMCS."""
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def later(world: BridgeWorld, minutes: int, passes: int = 6) -> None:
    """Passes of the bridge at a moment after now: what waits for a retry (an outage's backoff) runs then."""
    moment = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    world.sandbox.control("hooks")
    for _ in range(passes):
        world.run("tick", "--at", moment)


def password_link(world: BridgeWorld, owner: int) -> str:
    told = next(e for e in world.emails(owner) if e["subject"].startswith("Pixelwerk Agency is no longer your"))
    found = re.search(r'href="([^"]+/consent/[^"]+)"', told["message"])
    assert found, told["message"]
    return found.group(1)


@pytest.mark.parametrize("moved_first", [False, True])
def test_the_former_owners_password_link_changes_nothing_on_a_service_moved_to_another_client(
    world: SelfServiceWorld, moved_first: bool
):
    """F1b (c18_password_link_late.py, c19_revoke_after_move.py): the site was sold, staff moved service 120 from
    Cabinet Martin (12) to Garage Leroy (13); Cabinet Martin's revocation email still offered "change the password
    now", and its click changed Garage Leroy's password (ModuleChangePw 120, the welcome email to client 13)."""
    grant_id = grant_agency(world, owner=12, service=120).output.split()[0]  # type: ignore[arg-type]
    world.settle()
    if moved_first:
        world.sandbox.control("move", {"service": 120, "client": 13})
    world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency")
    world.settle()
    link = password_link(world, 12)
    world.sandbox.control("move", {"service": 120, "client": 13})
    before = world.sandbox.rows("services", id=120)[0]["password"]
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    assert "no longer in your account" in answer.text and "password was not changed" in answer.text, answer.text
    world.settle()
    assert [c for c in world.sandbox.calls() if c["action"] == "ModuleChangePw"] == []
    assert world.sandbox.rows("services", id=120)[0]["password"] == before
    assert not [c for c in world.sandbox.calls() if c["action"] == "SendEmail" and c["params"].get("id") == "120"]
    shown = world.run("delegations", "show", grant_id).output
    assert "service #120 is no longer the owner's in WHMCS: its password was not changed" in shown, shown


def test_the_password_change_is_read_again_before_it_runs(sandbox: Sandbox, tmp_path: Path):
    """The same, the move made after the click (or a page that could not read WHMCS): the change itself reads who
    holds the service just before it runs."""
    sandbox.load("agency")
    world = World(sandbox, tmp_path)  # its consent page does not read WHMCS
    try:
        world.run("tick")
        grant_id = grant_agency(world, owner=12, service=120).output.split()[0]
        world.settle()
        world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency")
        world.settle()
        link = password_link(world, 12)
        assert requests.post(link, data={"decision": "accept"}, timeout=5).status_code == 200
        sandbox.control("move", {"service": 120, "client": 13})
        world.settle()
        assert [c for c in sandbox.calls() if c["action"] == "ModuleChangePw"] == []
        assert not [c for c in sandbox.calls() if c["action"] == "SendEmail" and c["params"].get("id") == "120"]
    finally:
        world.close()


def test_the_owner_paying_while_the_agencys_renewal_invoice_waits_for_whmcs_leaves_no_invoice_to_pay(
    world: SelfServiceWorld,
):
    """F1 (c5_revoke_during_invoice.py ownerpays, OUTAGE=3): WHMCS refused the agency's CreateInvoice for a while;
    the owner paid its own invoice meanwhile; the retried CreateInvoice then billed the agency for a period the owner
    had paid: invoice #8 Unpaid, nobody told."""
    from tests.test_delegation_renewal_e2e import agency_invoices, owner_invoice, pay

    invoice = owner_invoice(world)  # type: ignore[arg-type]
    out = grant_agency(world).output  # type: ignore[arg-type]
    grant_id = out.split()[0]
    world.settle()
    world.sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["CreateInvoice"]})
    world.run("delegations", "renew", grant_id, "--by", "lena")
    world.settle(4)
    assert agency_invoices(world) == []  # type: ignore[arg-type]
    pay(world, invoice["id"], "OWNER-1")  # type: ignore[arg-type]
    world.settle(2)
    world.sandbox.control("faults", {"status": 503, "count": 0})
    later(world, 30)
    assert [c for c in world.sandbox.calls() if c["action"] == "CreateInvoice" and c.get("outcome") == "success"] == []
    left = [i for i in agency_invoices(world) if i["status"] != "Cancelled"]  # type: ignore[arg-type]
    assert left == [], left
    assert "owner paid" in world.run("delegations", "show", grant_id).output


def test_a_renewal_invoice_whmcs_made_after_the_owner_paid_is_cancelled_and_the_agency_told():
    """F1, the in-flight form: the CreateInvoice answered too late was found in WHMCS after the owner had paid; the
    invoice it made is recorded on the renewal, then cancelled (the agency told), not left open. Found paid by the
    agency already: staff's refund task, as for any payment after the owner's."""
    from whmcs_bridge.families.delegation import renewal as r

    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    grant = {
        "id": "g1", "owner": 11, "delegate": 10, "status": "active", "history": [], "role": "technical",
        "items": [{"kind": "service", "id": 110, "name": "boulangerie-dupont.fr"}],
        "renewals": [{
            "n": 1, "service": 110, "status": "owner paid", "owner_invoice": 2, "amount": "14.95",
            "due": "2026-12-22", "until": "2027-01-22",
        }],
    }  # fmt: skip
    made = r.renewal_step(grant, "RenewalInvoiceCreated", {"n": 1, "invoice_id": 8}, now)
    kinds = [(a.kind, a.params.get("status") or a.params.get("msg", {}).get("id")) for a in made.actions]
    assert ("invoice_status", "Cancelled") in kinds and ("email", "delegation.renewal_owner_paid") in kinds, kinds
    [cancel] = [a for a in made.actions if a.kind == "invoice_status"]
    state = made.state or {}
    paid = {"action_key": cancel.key, "status": "cancelled", "closed_invoice": 8, "invoice_status": "Paid"}
    found = r.cancel_found_paid(state, paid, now)
    assert found is not None
    notes = [a for a in found.actions if a.kind == "client_note"]
    assert [n.params["msg"]["id"] for n in notes] == ["delegation.renewal_paid_twice_note"], found.actions


def test_the_owner_paying_while_the_agencys_order_invoice_waits_for_whmcs_leaves_no_invoice_to_pay(
    sandbox: Sandbox, tmp_path: Path
):
    """F1 (c16_payer_outage.py): payer mode, CreateInvoice of the agency's order invoice refused for a while, the
    owner paid its order invoice meanwhile: the agency was then invoiced 21.90 for an order its client had paid."""
    from tests.test_delegation_payer_e2e import agency_invoices, order_seen, pay, world_with

    world = world_with(sandbox, tmp_path, "payer")
    try:
        [order] = sandbox.rows("orders", id=1)
        sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["CreateInvoice"]})
        order_seen(world, tmp_path)
        assert agency_invoices(world) == []
        pay(world, order["invoice_id"], "OWNER-1")
        world.settle(2)
        sandbox.control("faults", {"status": 503, "count": 0})
        later(world, 30)
        left = [i for i in agency_invoices(world) if i["status"] != "Cancelled"]
        assert left == [], left
    finally:
        world.close()


@pytest.mark.parametrize(
    "args",
    [
        ("grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "", "--basis", "email"),
        ("grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis", "  "),
        ("revoke", "g0000000", "--by", "alice", "--reason", ""),
    ],
)
def test_a_blank_who_basis_or_reason_is_a_usage_error(world: SelfServiceWorld, args: tuple[str, ...]):
    """F4 (c9_empty_names.py): `--by "$STAFF"` with the variable unset granted, renewed and revoked with exit 0; the
    history then read "by : contract" and "revoked by bob" with no reason."""
    from click.testing import CliRunner

    from whmcs_bridge.cli import app

    result = CliRunner().invoke(app.main, ["--config", str(world.config), "delegations", *args])
    assert result.exit_code == 2 and "must not be empty" in result.output, result.output
    assert "Traceback" not in result.output
