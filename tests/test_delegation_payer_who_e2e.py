"""Who placed an order, as WHMCS says it at the time of the order, decides whether the agency pays for it
(`delegation.order_invoice_to: payer`): the owner's own user ordering is the owner's order, even when she is also
invited on the agency's account; a user staff removed from the agency's account is no longer the agency's. Against
the sandbox, the real receiver and the CLI (tenth break round H2, H3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_payer_e2e import world_with

LENA, MARIE = "lena@pixelwerk.agency", "marie@boulangerie-dupont.fr"  # the agency's owner user; client 11's
LUC = "luc@garage-leroy.fr"  # client 13's owner user, here also the agency's employee


@pytest.fixture
def payer(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    w = world_with(sandbox, tmp_path, "payer")
    yield w
    w.close()


def user(sandbox: Sandbox, email: str) -> int:
    return int(next(u for u in sandbox.post("GetUsers", search=email).json()["users"] if u["email"] == email)["id"])


def administrative_on_11(world: BridgeWorld) -> None:
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--whole-client", "--role", "administrative",
        "--by", "alice", "--basis", "signed mandate",
    )  # fmt: skip
    world.settle()


def ordered(world: BridgeWorld, user_id: int, domain: str) -> dict[str, Any]:
    """A client-area order in client 11's name by that user; what became of it once the bridge saw it."""
    made = world.sandbox.control("checkout", {"client_id": 11, "user_id": user_id, "pid": 3, "domain": domain})
    world.settle(6)
    order = int(made["OrderID"])
    [row] = world.sandbox.rows("orders", id=order)
    return {
        "agency": [i for i in world.sandbox.rows("invoices", client_id=10) if f"Order #{order}" in i["notes"]],
        "owner_invoice": world.sandbox.rows("invoices", id=row["invoice_id"])[0]["status"],
        "granted": f"o{order}-10" in world.run("delegations", "list").output,
    }


def test_the_owners_own_user_ordering_is_the_owners_order_though_she_is_invited_on_the_agencys_account(
    payer: BridgeWorld,
):
    """Marie owns client 11's account (its owner user, GetClientsDetails `users` `is_owner`,
    DD:api-reference/getclientsdetails.md) and the agency invited her on its account: her own order is hers, not
    the agency's to pay, and gives the agency no technical grant. The agency's own user's order still is."""
    sandbox = payer.sandbox
    marie, lena = user(sandbox, MARIE), user(sandbox, LENA)
    sandbox.control("access", {"user": marie, "client": 10})
    sandbox.control("access", {"user": lena, "client": 11})
    administrative_on_11(payer)
    hers = ordered(payer, marie, "marie-own.fr")
    assert hers == {"agency": [], "owner_invoice": "Unpaid", "granted": False}, hers
    agencys = ordered(payer, lena, "lena-for-marie.fr")
    assert agencys["owner_invoice"] == "Cancelled" and agencys["granted"], agencys
    assert [i["total"] for i in agencys["agency"]] == ["21.90"], agencys


def test_a_user_removed_from_the_agencys_account_no_longer_orders_at_the_agencys_expense(payer: BridgeWorld):
    """Luc worked for the agency: staff had invited his user on the agency's account and on client 11's, and the
    grant read him among the agency's users when it was made. Staff then removed him from the agency's account in
    WHMCS. His order in client 11's name is read against the agency's users at the time of the order
    (GetClientsDetails `users`): it is client 11's, the agency is not invoiced and gets no grant."""
    sandbox = payer.sandbox
    luc = user(sandbox, LUC)
    sandbox.control("access", {"user": luc, "client": 10})
    sandbox.control("access", {"user": luc, "client": 11})
    administrative_on_11(payer)
    [admin] = [g for g in json.loads(payer.run("delegations", "list", "--json").output) if g["owner"] == 11]
    assert luc in admin["delegate_users"], admin  # read at grant time, when he was the agency's
    sandbox.control("access", {"user": luc, "client": 10, "remove": True})
    gone = ordered(payer, luc, "luc-after.fr")
    assert gone == {"agency": [], "owner_invoice": "Unpaid", "granted": False}, gone
