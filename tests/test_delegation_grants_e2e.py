"""A grant's lifecycle, the leftovers of the issue-16 break test: a request that lapses after one side of
two confirmed, a withdrawn request's link when full copies were offered, an expiry in the past, one of two
grants of a delegate ending, a staff grant over a pending request, the owner as its own delegate, a service
named twice. The agency scenario, the real receiver and consent pages, the CLI as staff run it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BridgeWorld, Sandbox
from whmcs_bridge.cli import app as cli


@pytest.fixture
def worlds(sandbox: Sandbox, tmp_path: Path) -> Iterator[list[BridgeWorld]]:
    made: list[BridgeWorld] = []
    yield made
    for world in made:
        world.close()


def world_with(sandbox: Sandbox, tmp: Path, worlds: list[BridgeWorld], extra: str = "") -> BridgeWorld:
    sandbox.load("agency")
    world = BridgeWorld(sandbox, tmp, "delegation:\n  enabled: true\n" + extra)
    worlds.append(world)
    world.run("tick")
    return world


def grant(world: BridgeWorld, *extra: str) -> str:
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--by", "alice", "--basis", "owner's email",
        *(extra or ("--service", "110")),
    ).output  # fmt: skip
    return out.split()[0]


def refused(world: BridgeWorld, *args: str) -> Any:
    return world.runner.invoke(cli.main, ["--config", str(world.config), "delegations", "grant", *args])


def link_in(world: BridgeWorld, client: int, subject: str) -> str:
    mail = next(e for e in world.emails(client) if e["subject"].startswith(subject))
    found = re.search(r'href="([^"]+/consent/[^"]+)"', mail["message"])
    assert found
    return found.group(1)


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


def test_a_lapse_after_only_the_owner_accepted_tells_each_side_what_happened(sandbox: Sandbox, tmp_path: Path, worlds):
    """confirm: both; the owner accepted, the delegate never did: the delegate is not told "the owner did not
    answer", and the owner hears the arrangement did not start because the agency did not confirm."""
    world = world_with(sandbox, tmp_path, worlds, "  confirm: both\n")
    grant_id = grant(world)
    world.settle()
    owner = link_in(world, 11, "Your consent is needed")
    assert requests.post(owner, data={"decision": "accept"}, timeout=5).status_code == 200
    world.settle()
    world.run("tick", "--at", at(8))
    world.run("tick", "--at", at(8))
    assert f"{grant_id} lapsed" in world.run("delegations", "list", "--owner", "11").output
    to_agency = [e for e in world.emails(10) if "got no answer" in e["subject"] or "did not start" in e["subject"]]
    assert len(to_agency) == 1, [e["subject"] for e in world.emails(10)]
    assert "did not answer" not in to_agency[0]["message"]
    assert "you did not confirm" in to_agency[0]["message"].lower()
    to_owner = [e for e in world.emails(11) if "did not start" in e["subject"]]
    assert len(to_owner) == 1 and "Pixelwerk Agency did not confirm" in to_owner[0]["message"]
    notes = [n["note"] for n in sandbox.rows("client_notes", client_id=11) if f"request {grant_id} lapsed" in n["note"]]
    assert len(notes) == 1 and "the delegate did not confirm" in notes[0] and "owner did not answer" not in notes[0]


def test_a_withdrawn_requests_owner_link_is_gone_when_full_copies_were_offered(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    """The role allows full copies, so the owner's link offers them (purpose delegation-copies): withdrawn, it is
    gone (410) like a used or expired link, and the request stays withdrawn. The page says the request was
    withdrawn (nineteenth round, L1: it said the link was not valid and to check it was copied whole)."""
    world = world_with(sandbox, tmp_path, worlds, "  roles:\n    technical:\n      welcome_email: copy\n")
    grant_id = grant(world, "--request", "--service", "110")
    world.settle()
    link = link_in(world, 11, "Your consent is needed")
    world.run("delegations", "withdraw", grant_id, "--by", "lena", "--reason", "client changed its mind")
    world.settle()
    assert requests.get(link, timeout=5).status_code == 410
    late = requests.post(link, data={"decision": "accept-copies"}, timeout=5)
    assert late.status_code == 410 and "This request is closed" in late.text and "It was withdrawn" in late.text
    world.settle()
    assert f"{grant_id} withdrawn" in world.run("delegations", "list", "--owner", "11").output


def test_an_expiry_today_means_the_end_of_today(sandbox: Sandbox, tmp_path: Path, worlds):
    """Issue-16 break test, low finding: `--expires <today>` was refused as in the past (the day's midnight): a
    day given means the end of that day, in the configured zone; the grant ends on the first pass after it."""
    world = world_with(sandbox, tmp_path, worlds)
    today = datetime.now(UTC).date()
    grant_id = grant(world, "--service", "110", "--expires", today.isoformat())
    world.settle()
    listed = world.run("delegations", "list").output
    assert f"{grant_id} active" in listed and f"expires {today.isoformat()}" in listed, listed
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=5)
    world.run("tick", "--at", tomorrow.isoformat(timespec="seconds"))
    world.run("tick", "--at", tomorrow.isoformat(timespec="seconds"))
    assert f"{grant_id} expired" in world.run("delegations", "list").output


def test_an_expiry_in_the_past_is_refused_with_a_sentence(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    args = ["--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis", "x"]
    result = refused(world, *args, "--expires", yesterday)
    assert result.exit_code == 2, result.output
    assert f"--expires {yesterday} is in the past" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no grants" in world.run("delegations", "list").output


def test_ending_one_of_two_grants_names_what_ended_and_what_stays(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    hosting = grant(world, "--service", "110")
    grant(world, "--domain", "11")
    world.settle()
    world.run("delegations", "revoke", hosting, "--by", "alice", "--reason", "site delivered")
    world.settle()
    [ended] = [e for e in world.emails(11) if "is no longer your" in e["subject"]]
    assert ended["subject"].endswith("technical contact for Business (boulangerie-dupont.fr)"), ended["subject"]
    stays = ended["message"].split("remains your technical contact for")
    assert len(stays) == 2 and "boulangerie-dupont.fr" in stays[1] and "Business" not in stays[1], ended["message"]


def test_a_staff_grant_over_a_pending_request_supersedes_it(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    request = grant(world, "--request", "--service", "110")
    world.settle()
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's phone call",
    ).output  # fmt: skip
    staff_grant = out.split()[0]
    assert staff_grant != request and out.startswith(f"{staff_grant} active:"), out
    assert f"request {request} withdrawn: grant {staff_grant} supersedes it" in out
    world.settle()
    listed = world.run("delegations", "list", "--owner", "11").output
    assert f"{request} withdrawn" in listed and f"{staff_grant} active" in listed
    told = [e for e in world.emails(10) if "replaced" in e["subject"]]
    assert len(told) == 1 and staff_grant in told[0]["message"], [e["subject"] for e in world.emails(10)]
    assert not any("was withdrawn" in e["subject"] for e in world.emails(11))  # the owner just gave it


def test_the_owner_as_its_own_delegate_is_a_usage_error(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    result = refused(world, "--owner", "11", "--delegate", "11", "--service", "110", "--by", "a", "--basis", "x")
    assert result.exit_code == 2, result.output
    assert "cannot be its own delegate" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_service_named_twice_is_stored_once(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds)
    grant_id = grant(world, "--service", "110", "--service", "110")
    shown = world.run("delegations", "show", grant_id, "--json").output
    assert shown.count('"id": 110') == 1, shown


@pytest.mark.parametrize("item", [["--service", "110"], ["--domain", "11"]])
def test_whole_client_with_a_service_or_domain_is_refused(sandbox: Sandbox, tmp_path: Path, worlds, item):
    """Tenth break round, M5: `--whole-client --service 110` became a grant on the whole account (the service
    staff typed dropped): staff meant one of the two, so the mix is refused in one sentence and nothing is sent."""
    world = world_with(sandbox, tmp_path, worlds)
    before = len(sandbox.calls())
    args = ["--owner", "11", "--delegate", "10", "--whole-client", *item, "--by", "alice", "--basis", "x"]
    result = refused(world, *args)
    assert result.exit_code == 2, result.output
    assert "--whole-client" in result.stderr and item[0] in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no grants" in world.run("delegations", "list").output
    world.settle()
    assert not [c for c in sandbox.calls()[before:] if c["action"] in ("SendEmail", "AddClientNote")]


def test_a_second_staff_granting_the_same_thing_is_told_who_granted_it(sandbox: Sandbox, tmp_path: Path, worlds):
    """Tenth break round, L3: bob granting what alice just granted got alice's grant, exit 0, his name and basis
    recorded nowhere. He is told in one sentence that alice's grant already gives it (its id), and nothing is
    recorded in his name; the same staff running the same command twice still gets its grant back, exit 0."""
    world = world_with(sandbox, tmp_path, worlds)
    alices = grant(world, "--service", "110")
    assert grant(world, "--service", "110") == alices  # alice's command run twice
    args = ["--owner", "11", "--delegate", "10", "--service", "110", "--by", "bob", "--basis", "owner's email"]
    result = refused(world, *args)
    assert result.exit_code == 1, result.output
    assert alices in result.stderr and "by alice" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    listed = world.run("delegations", "list").output
    assert listed.count(" active") == 1 and "bob" not in listed, listed


def test_a_requester_without_an_active_grant_is_not_offered_its_services_page(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    """Tenth break round, L2: a delegate whose request waits (or lapsed) was offered "see the services you are
    contact for, and renew them with one click", a page listing nothing. Only a delegate holding the active grant
    is offered it."""
    world = world_with(sandbox, tmp_path, worlds)
    grant(world, "--request", "--service", "110")
    world.settle()
    offer = "See the services you are contact for"
    waiting = world.emails(10)
    assert waiting and not [e["subject"] for e in waiting if offer in e["message"]], waiting
    grant(world, "--service", "110")  # staff grant it: the request is superseded, the grant active
    world.settle()
    welcome = [e for e in world.emails(10) if e["subject"].startswith("You are now the technical contact")]
    assert len(welcome) == 1 and offer in welcome[0]["message"], [e["subject"] for e in world.emails(10)]
