"""Issue 16, twenty-first round: what the twentieth round left open, each seen failing first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox, SelfServiceWorld, staff_login
from tests.test_delegation_break11 import password_link
from tests.test_delegation_break12 import consent_link, world  # noqa: F401  (the fixture)
from tests.test_delegation_confirm_e2e import consent_link as confirm_link
from tests.test_delegation_confirm_e2e import grant as confirm_grant
from tests.test_delegation_confirm_e2e import world_with as confirm_world
from tests.test_delegation_e2e import grant_agency
from tests.test_delegation_identity_e2e import grant as identity_grant
from tests.test_delegation_identity_e2e import world_with
from tests.test_delegation_pages_break12 import grant
from tests.test_delegation_rules import NOW, RULES, event, granted, shown
from tests.test_delegation_selfservice_e2e import last_link, text
from whmcs_bridge.cli import app as cli
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


def hold(world: SelfServiceWorld, subject: str) -> None:  # noqa: F811
    """A hold as the ownership family writes it for a disputed case (store/holds)."""
    with Database(world.config.parent / "state.db") as db, db.atomic():
        holds.replace(db, "ownership", "case:o1", [Hold(subject, "ownership case o1 on it is disputed")])


def test_a_renewal_of_a_held_item_is_refused_on_the_page_and_by_staff(world: SelfServiceWorld):  # noqa: F811
    """Twenty-first round H2: a dispute held service 110; `delegations renew` was refused, but the renew button on the
    delegate's page gave "Renewal requested" and an invoice of 14.95 to the agency; and staff's renewal of an item of a
    whole-account grant looked at the grant's own subject (the account) only. Both look at the item renewed."""
    item_grant = grant(world, "--service", "110")
    link = last_link(world, 10)
    hold(world, "service:110")
    calls = len(world.sandbox.calls())
    click = requests.post(link, data={"do": "renew", "grant": item_grant, "service": "110"}, timeout=10)
    assert click.status_code == 400 and "An ownership procedure concerns service #110" in text(click), text(click)
    assert "o1" not in text(click)  # the delegate is not told the case
    world.settle()
    assert [c for c in world.sandbox.calls(calls) if c["action"] == "CreateInvoice"] == []
    world.run("delegations", "revoke", item_grant, "--by", "alice", "--reason", "moved to the account grant")
    with Database(world.config.parent / "state.db") as db, db.atomic():
        holds.replace(db, "ownership", "case:o1", [])  # resolved: staff grant the whole account, then a new dispute
    whole = grant(world, "--whole-client")
    hold(world, "service:110")
    refused = world.runner.invoke(
        cli.main, ["--config", str(world.config), "delegations", "renew", whole, "--service", "110", "--by", "alice"]
    )
    assert refused.exit_code == 1 and "ownership case o1 on it is disputed" in refused.output, refused.output


def test_a_partial_end_tells_the_delegate_what_stays():
    """Twenty-first round L3: a domain moved and the grant stayed for the hosting of the same name; the agency read
    "Your access to boulangerie-dupont.fr has ended" and nothing of the hosting: it thought the whole site gone."""
    emails, _ = told(moved(granted(items=[SERVICE, DOMAIN]), DOMAIN))
    assert "Your access to Business (boulangerie-dupont.fr) is unchanged" in emails[10][1], emails[10][1]
    emails, _ = told(moved(granted(items=[SERVICE, DOMAIN]), SERVICE, DOMAIN))
    assert "unchanged" not in emails[10][1]


def test_a_whole_account_that_changed_holder_offers_no_password_change_and_says_so():
    """Twenty-first round M4: client 11's whole account changed holder; the whole-account grant ended, and the former
    owner was offered a password change by reply (staff acting on it would change the new holder's password), and
    the agency read "part of the account has changed holder"."""
    whole = granted(items=[{"kind": "client", "id": 11}])
    emails, _ = told(moved(whole, {"kind": "client", "id": 11}))
    assert "password" not in emails[11][1], emails[11][1]
    assert "the account has changed holder" in emails[10][1], emails[10][1]
    emails, _ = told(moved(granted(items=[{"kind": "client", "id": 11}]), DOMAIN))  # one item of the account moved
    assert "password" in emails[11][1] and "part of the account has changed holder" in emails[10][1]


def test_an_acceptance_is_checked_against_a_hold_on_any_item_of_the_account_whatever_its_status(
    world: SelfServiceWorld,  # noqa: F811
):
    """Twenty-first round M2: the account's domain 11 was Pending Transfer and held; staff's whole-account grant was
    refused ("holds domain #11"), but the owner's acceptance of a whole-account request activated it: the page read
    only the Active and Suspended items its renewal list shows. It reads every item, as staff's check does."""
    grant_id = grant_agency(
        world, "--request", "--whole-client", service=None, by="lena", basis="we build their new site"  # type: ignore[arg-type]
    ).output.split()[0]
    world.settle()
    link = consent_link(world, 11)
    world.sandbox.post("UpdateClientDomain", domainid=11, status="Pending Transfer")
    hold(world, "domain:11")
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409 and "An ownership procedure concerns" in answer.text, answer.text
    world.settle()
    assert "void" in world.run("delegations", "show", grant_id).output


def test_a_former_owners_password_change_waits_for_no_hold_on_the_service(world: SelfServiceWorld):  # noqa: F811
    """Twenty-first round M5: the grant ended, a dispute then held service 110, and the former owner's click on its
    password-change link changed the password of the service in dispute. Nothing changes on a held subject."""
    grant_id = grant_agency(world).output.split()[0]  # type: ignore[arg-type]
    world.settle()
    world.run("delegations", "revoke", grant_id, "--by", "alice", "--reason", "changed agency")
    world.settle()
    link = password_link(world, 11)
    hold(world, "service:110")
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409, answer.text
    assert "An ownership procedure concerns this service, so its password was not changed" in answer.text
    world.settle()
    assert [c for c in world.sandbox.calls() if c["action"] == "ModuleChangePw"] == []
    shown = world.run("delegations", "show", grant_id).output
    assert "service #110 is held by an ownership case: its password was not changed" in shown, shown


def test_another_member_of_staff_asking_the_same_grant_with_an_end_hears_it_has_none(
    sandbox: Sandbox, tmp_path: Path, worlds: list[BridgeWorld]
):
    """Twenty-first round (second tester) L2: bob asked for alice's grant with `--expires`; he was told it "already
    gives exactly this", and could believe the agency's access ends on his date. The end is said whoever asks."""
    made = world_with(sandbox, tmp_path, worlds)
    first = identity_grant(made, "--service", "110").output.split()[0]
    end = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    again = made.runner.invoke(
        cli.main,
        ["--config", str(made.config), "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110",
         "--by", "bob", "--basis", "owner's email", "--expires", end],
        env=staff_login(["--by", "bob"]),
    )  # fmt: skip
    said = again.output
    assert again.exit_code == 1 and f"no new grant: {first}" in said and "has no end" in said, said
    assert "by alice" in said and "nothing was recorded by bob" in said, said


def test_a_service_two_grants_cover_is_listed_and_counted_once_on_the_delegates_page(
    world: SelfServiceWorld,  # noqa: F811
):
    """Twenty-first round (second tester) L3: a technical and an administrative grant on hosting 110 for the agency
    made its page say "2 services" and list the hosting twice, once with the renew button."""
    grant(world, "--service", "110")
    grant(world, "--service", "110", role="administrative")
    page = requests.get(last_link(world, 10), timeout=10)
    shown = text(page)
    assert shown.count("(#110) Owner:") == 1 and "Pixelwerk Agency: one service." in shown, shown
    assert 'name=service value="110"' in page.text  # the technical grant's renew button


def test_with_both_confirming_the_owner_hears_when_the_delegates_confirmation_activates_nothing(
    sandbox: Sandbox, tmp_path: Path
):
    """Twenty-first round L1: with `delegation.confirm: both`, the owner accepted, a dispute then held the service,
    and the delegate's confirmation was void: only the delegate heard it; the owner, who had said yes, was never
    told the agency does not act for it."""
    both = confirm_world(sandbox, tmp_path, "both")
    grant_id = confirm_grant(both)
    both.settle()
    owner = confirm_link(both, 11, "Your consent is needed")
    delegate = confirm_link(both, 10, "Please confirm: you become the technical contact")
    assert requests.post(owner, data={"decision": "accept"}, timeout=5).status_code == 200
    both.settle()
    with Database(both.config.parent / "state.db") as db, db.atomic():
        holds.replace(db, "ownership", "case:o1", [Hold("service:110", "ownership case o1 on it is disputed")])
    assert requests.post(delegate, data={"decision": "accept"}, timeout=5).status_code == 409
    both.settle()
    assert "void" in both.run("delegations", "show", grant_id).output
    [told] = [e for e in both.emails(11) if e["subject"] == "Pixelwerk Agency did not become your technical contact"]
    assert "an ownership procedure concerned part of it" in told["message"], told["message"]
