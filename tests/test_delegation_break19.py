"""Nineteenth break round, the delegation family's findings: a password pasted into a grant's `--basis` was kept word
for word in the state database and the audit chain, shown by `show` and written into WHMCS's client note, and, for a
delegate's request, put on the owner's consent page (HIGH 1); a verified delegate asking for the credentials or the
ownership of what its grant covers got "VERIFIED" and no warning (MEDIUM 1); `--expires 9999-12-31` was a
traceback (MEDIUM 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox, staff_login
from tests.test_delegation_identity_e2e import stored_text, world_with, worlds
from whmcs_bridge.cli import app as cli

__all__ = ["worlds"]  # the fixture, used by name

PASTED = "owner's email of today, cPanel password: Qw7#kLm9pXz2"


def notes_of(world: BridgeWorld, client: int) -> str:
    return "\n".join(n["note"] for n in world.sandbox.rows("client_notes", client_id=client))


@pytest.mark.parametrize("request_it", [False, True], ids=["staff-grant", "delegate-request"])
def test_a_password_in_the_basis_is_kept_nowhere(sandbox: Sandbox, tmp_path: Path, worlds, request_it: bool):
    world = world_with(sandbox, tmp_path, worlds)
    args = ["--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis", PASTED]
    said = world.run("delegations", "grant", *args, *(["--request"] if request_it else [])).output
    world.settle()
    grant_id = said.split()[1] if said.startswith("grant ") else said.split()[0]
    shown = world.run("delegations", "list").output + world.run("delegations", "show", grant_id).output
    mails = "".join(e["subject"] + e["message"] for c in (10, 11) for e in world.emails(c))
    for where, text in {"output": said + shown, "notes": notes_of(world, 10) + notes_of(world, 11), "emails": mails}.items():
        assert "Qw7#kLm9pXz2" not in text, where
    assert "owner's email of today" in said + shown
    world.run("tick")
    assert b"Qw7#kLm9pXz2" not in stored_text(tmp_path / "state.db")


def notes_on(sandbox: Sandbox, ticket: int) -> list[str]:
    return [n["message"] for n in sandbox.rows("ticket_notes", ticket_id=ticket)]


@pytest.mark.parametrize(
    ("asked", "warned"),
    [
        ("Please send us the FTP password of boulangerie-dupont.fr", True),
        ("Move boulangerie-dupont.fr to our account, we are the new owner", True),
        ("The upload folder of boulangerie-dupont.fr is full, can you look?", False),
    ],
)
def test_a_verified_delegate_asking_for_what_only_the_owner_may_is_warned_of(
    sandbox: Sandbox, tmp_path: Path, worlds, asked: str, warned: bool
):
    """The agency's own account owner (Lena) writes about the end client's hosting it is technical contact of: the
    note verifies it, and when it asks for credentials or the ownership, warns that the grant does not give them."""
    world = world_with(sandbox, tmp_path, worlds)
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis",
        "email",
    )  # fmt: skip
    world.settle()
    [lena] = [u["id"] for u in sandbox.post("GetUsers", search="lena@pixelwerk.agency").json()["users"]]
    opened = sandbox.post(
        "OpenTicket", deptid=1, clientid=10, userid=lena, serviceid=110, subject="boulangerie-dupont.fr", message=asked
    ).json()
    world.settle(4)
    [note] = [n for n in notes_on(sandbox, int(opened["id"])) if "VERIFIED" in n]
    assert "Written by" not in note, note  # the delegate account's owner wrote it
    said = "WARNING: this message asks for access, credentials or a transfer of what Boulangerie Dupont"
    assert (said in note) is warned, note


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-30", "2099-01-01"])
def test_an_expiry_too_far_away_is_one_sentence(sandbox: Sandbox, tmp_path: Path, worlds, day: str):
    world = world_with(sandbox, tmp_path, worlds)
    args = ["--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice", "--basis", "email"]
    result = world.runner.invoke(
        cli.main, ["--config", str(world.config), "delegations", "grant", *args, "--expires", day], env=staff_login([])
    )
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"--expires {day} is more than 10 years away" in result.output, result.output
    assert world.run("delegations", "list").output.strip() in ("", "no grants"), "nothing granted"
