"""`delegations` commands whose command line is wrong exit 2 with one sentence naming what is wrong (README "Exit
codes"), as an unknown client or service id in `grant` does: a grant id that names no grant, a service a grant
does not cover, a grant naming nothing to cover. A grant id pasted with spaces around it is the grant. A valid
request the bridge refuses still exits 1 (thirteenth break round F12). Against the sandbox and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import BridgeWorld, Sandbox
from tests.test_ownership_e2e import ownership_section
from whmcs_bridge.cli import app as cli


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def invoke(world: BridgeWorld, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["--config", str(world.config), *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, str(result.stderr)


def test_wrong_grant_ids_and_options_are_usage_errors_and_refusals_stay_refusals(world: BridgeWorld):
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    world.settle()
    grant_id = out.split()[0]
    wrong = [
        (("delegations", "show", "gnosuch"), "there is no grant gnosuch"),
        (("delegations", "revoke", "gnosuch", "--by", "alice", "--reason", "r"), "there is no grant gnosuch"),
        (("delegations", "withdraw", "gnosuch", "--by", "alice", "--reason", "r"), "there is no grant gnosuch"),
        (("delegations", "renew", "gnosuch", "--by", "lena"), "there is no grant gnosuch"),
        (("delegations", "renew", grant_id, "--service", "120", "--by", "lena"), "covers no service 120"),
        (("delegations", "renew", grant_id, "--domain", "11", "--by", "lena"), "covers no domain 11"),
        (
            ("delegations", "grant", "--owner", "11", "--delegate", "13", "--by", "x", "--basis", "b"),
            "name what the grant covers: --service ID, --domain ID or --whole-client",
        ),
    ]
    for args, said in wrong:
        code, err = invoke(world, *args)
        assert code == 2 and said in err and len(err.strip().splitlines()) == 1, (args, code, err)
    # Pasted with a space around it: the grant itself.
    assert f"Grant {grant_id}" in world.run("delegations", "show", f" {grant_id} ").output
    world.run("delegations", "renew", f"{grant_id} ", "--by", "lena")
    world.settle(4)
    # A valid request refused (a renewal of the same service is open; a grant that is no pending request): exit 1.
    code, err = invoke(world, "delegations", "renew", grant_id, "--by", "lena")
    assert code == 1 and "renewal 1 of service #110 is open" in err, err
    code, err = invoke(world, "delegations", "withdraw", grant_id, "--by", "lena", "--reason", "r")
    assert code == 1 and "only a pending request can be withdrawn" in err, err
    world.run("delegations", "revoke", f"  {grant_id}", "--by", "alice", "--reason", "owner asked")
    assert f"{grant_id} revoked" in world.run("delegations", "list").output


def test_unknown_case_and_action_ids_of_the_other_commands_are_usage_errors(sandbox: Sandbox, tmp_path: Path):
    """The same for the other families' ids and the approvals' (left after F12): an ownership case, an escalation
    case or an action that does not exist exit 2, in one sentence naming it."""
    sandbox.load("agency")
    world = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n" + ownership_section())
    try:
        world.run("tick")
        wrong = [
            (("ownership", "show", "onosuch"), "there is no ownership case onosuch"),
            (("ownership", "approve", "onosuch", "--by", "alice"), "there is no ownership case onosuch"),
            (("approvals", "approve", "99999", "--by", "alice"), "there is no action 99999"),
            (("approvals", "reject", "99999", "--by", "alice", "--reason", "r"), "there is no action 99999"),
        ]
        for args, said in wrong:
            code, err = invoke(world, *args)
            assert code == 2 and said in err and len(err.strip().splitlines()) == 1, (args, code, err)
    finally:
        world.close()
