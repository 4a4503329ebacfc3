"""Issue 16, twenty-first round: what the twentieth round left open, each seen failing first."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import SelfServiceWorld
from tests.test_delegation_break12 import consent_link, world  # noqa: F401  (the fixture)
from tests.test_delegation_e2e import grant_agency
from tests.test_delegation_rules import NOW, RULES, event, granted, shown
from whmcs_bridge.families.delegation.rules import decide_all
from whmcs_bridge.model import Decision, Hold
from whmcs_bridge.store import holds
from whmcs_bridge.store.db import Database

SERVICE = {"kind": "service", "id": 110, "name": "boulangerie-dupont.fr"}
DOMAIN = {"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"}


@pytest.mark.parametrize(
    ("subject", "whole"), [("service:110", False), ("client:11", True), ("service:110", True)]
)
def test_an_acceptance_while_an_ownership_case_holds_the_service_activates_nothing(
    world: SelfServiceWorld, subject: str, whole: bool  # noqa: F811
):
    """Twentieth round, left open: the agency asked to become the technical contact of service 110; before the
    owner clicked "accept", an ownership dispute froze the service (or the owner's whole account). Staff could not
    grant it now (`delegations grant` refuses a held subject), yet the owner's click activated the grant: the
    acceptance is checked against the holds when it comes, as staff's grant is when it is made (a whole-account
    grant against each service and domain WHMCS shows in the account)."""
    extra = ("--whole-client",) if whole else ()
    grant_id = grant_agency(
        world, "--request", *extra, service=None if whole else 110, by="lena", basis="we build their new site"  # type: ignore[arg-type]
    ).output.split()[0]
    world.settle()
    link = consent_link(world, 11)
    with Database(world.config.parent / "state.db") as db, db.atomic():  # as the ownership family writes it
        holds.replace(db, "ownership", "case:o1", [Hold(subject, "ownership case o1 is disputed")])
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    assert "An ownership procedure concerns" in answer.text and "nothing was activated" in answer.text, answer.text
    world.settle()
    shown = world.run("delegations", "show", grant_id).output
    assert "void" in shown and "ownership case o1 is disputed" in shown, shown
    activated = [e for e in world.emails(10) + world.emails(11) if "is now" in e["subject"]]
    assert activated == [], activated


def moved(grant: dict[str, Any], *subjects: dict[str, Any]) -> Decision:
    data = {"holder": 11, "case": "own-1", "subjects": list(subjects)}
    return decide_all({"grant:g1": grant}, event("OwnershipChanged", **data), NOW, RULES)["grant:g1"]


def told(decision: Decision) -> tuple[dict[int, tuple[str, str]], dict[int, str]]:
    emails = {a.client_id: shown(a) for a in decision.actions if a.kind == "email"}
    notes = {a.client_id: shown(a)[1] for a in decision.actions if a.kind == "client_note"}
    return emails, notes  # type: ignore[return-value]


def test_a_grant_ended_by_an_ownership_change_is_not_said_to_be_revoked_or_withdrawn():
    """Twentieth round, left open: a grant an ownership case ended (in part or whole) was worded as staff's revocation
    ("Delegation g1 revoked", "has been withdrawn"), as if the agency had been removed for cause. It ended because
    what it covers changed holder, and every text says so."""
    part = moved(granted(items=[SERVICE, DOMAIN]), DOMAIN)
    whole = moved(granted(items=[SERVICE, DOMAIN]), SERVICE, DOMAIN)
    for decision in (part, whole):
        emails, notes = told(decision)
        texts = [notes[10], notes[11], emails[10][1]]
        assert not [t for t in texts if "revoked" in t or "withdrawn" in t], texts
        assert "changed holder" in emails[10][1] and "own-1" in notes[10], (emails[10], notes[10])
        assert "ended" in notes[11] and "ended" in notes[10], notes


def test_a_grant_whose_every_item_changed_holder_offers_the_former_owner_no_password_change():
    """Twentieth round, left open: a grant all of whose services moved to another client ended with the usual offer
    of a password change for them, to their former owner (the page then refused it: not theirs any more). The
    ownership case hands the new holder its own access; the former owner is offered nothing for what it no longer
    holds."""
    emails, _ = told(moved(granted(items=[SERVICE, DOMAIN]), SERVICE, DOMAIN))
    assert "password" not in emails[11][1], emails[11][1]
    assert not [a for a in moved(granted(items=[SERVICE]), SERVICE).actions if a.params.get("consent")]
