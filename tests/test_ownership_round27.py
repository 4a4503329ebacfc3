"""Twenty-sixth break round (ownership), fixed in round 27: a whole account handed over keeps its hosting panels'
passwords (HIGH 2); the holder's mail on the claimed domain (LOW 13); company placeholders in more words (LOW 14);
invisible characters inside a live holder link (LOW 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from tests.test_ownership_execution import actions
from tests.test_ownership_execution_round25 import first_message, staff_tickets
from tests.test_ownership_round23 import executing_whole_account, owner_of
from tests.test_ownership_round25 import consented_case, review_text
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.links import refuse_live_links


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def passwords(world: World) -> list[tuple[str, str]]:
    """The new passwords and welcome emails WHMCS was asked for, by service."""
    return [
        (c["action"], str(c["params"].get("serviceid") or c["params"].get("id")))
        for c in world.sandbox.calls()
        if c["action"] == "ModuleChangePw" or c["params"].get("messagename")
    ]


def test_a_whole_account_handed_over_gives_its_hosting_a_new_password_once_its_profile_email_is_the_new_holders(
    world: World,
):
    """HIGH 2: "Make Owner" to the requester's login, and the account's hosting #201 kept the vendor's panel password;
    no checklist line said so. Each hosting service of the account gets a new password and the welcome email, held
    while the account's profile email is still the vendor's, and the case completes only after it."""
    case_id = executing_whole_account(world, profile="")  # the vendor's address still
    checklist = next(t for t in staff_tickets(world, case_id) if t["subject"].endswith("execute the hand-over"))
    said = first_message(world, checklist)
    assert "new control-panel password" in said and "profile email" in said, said
    before = [t["id"] for t in staff_tickets(world, case_id)]
    world.sandbox.control("access", {"user": owner_of(world, 21), "client": 20, "owner": True})
    world.later(hours=2)
    world.later(hours=2)
    assert passwords(world) == []  # the welcome email would reach the vendor's address
    case = world.case(case_id)
    assert case["status"] == "executing", case["history"][-3:]
    raised = [first_message(world, t) for t in staff_tickets(world, case_id) if t["id"] not in before]
    assert any("budi@kreatifstudio.id" in m and "service #201" in m for m in raised), raised
    assert (
        "new password sent by the welcome email of service #201 in client #20"
        in world.run("ownership", "show", case_id).output
    )
    # Staff give the account the company's address, then let the held step run.
    changed = world.sandbox.post("UpdateClient", clientid=20, email="siti@majumakmur.co.id")
    assert changed.json()["result"] == "success", changed.text
    [held] = [a for a in actions(world, "credential_change") if a.status == "parked"]
    world.run("approvals", "approve", str(held.id), "--by", "alice")
    world.settle()
    world.later(hours=3)
    assert passwords(world) == [("ModuleChangePw", "201"), ("SendEmail", "201")]
    assert world.case(case_id)["status"] == "completed", world.case(case_id)["history"][-3:]


def test_the_holders_address_on_the_claimed_domain_is_flagged_to_the_reviewers(world: World):
    """LOW 13: the ex-employee's address is on the very domain the case claims (andi@majumakmur.co.id), the company
    writes from a free-mail address: the review said nothing, though the holder's link went to a mailbox on the
    domain that moves (and the requester gets the holder's mail with it)."""
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 20, "email": "andi@majumakmur.co.id"})
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 21, "email": "ptmajumakmur@gmail.com"})
    case_id = consented_case(world)
    before = review_text(world, case_id).split("May move")[0]
    assert "andi@majumakmur.co.id is on majumakmur.co.id, a domain this case moves" in before, before


@pytest.mark.parametrize(
    "placeholder",
    ["Pribadi", "Perorangan", "Tidak ada", "N/A.", "NA", "-none-", "Personal", "Individu", "néant", "Geen", "n.v.t."],
)
def test_more_placeholder_company_names_are_no_company(placeholder: str):
    """LOW 14: what sign-ups type in WHMCS's optional Company Name field when they have none, in the bridge's four
    languages, punctuation and case aside: no company, so no company policy."""
    from whmcs_bridge.families.ownership.policies import company_name, party_kind

    assert company_name(placeholder) == "" and party_kind({"company": placeholder}) == "person"
    assert company_name("PT Pribadi Sejahtera") == "PT Pribadi Sejahtera"


def test_a_personal_company_name_does_not_choose_the_company_policy(world: World):
    world.sandbox.control("act", {"action": "UpdateClient", "clientid": 21, "companyname": "Pribadi"})
    out = world.run(
        "ownership", "open", "--subject", "domain:20", "--requester", "client:21", "--grounds", "vendor",
        "--by", "alice",
    ).output  # fmt: skip
    case = world.case(out.split()[0])
    assert case["requester"]["company"] == "" and "company-brand-domain" not in case["policies"], case["policies"]


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "&#8203;", "&shy;"])
def test_a_live_link_with_an_invisible_character_in_its_token_is_found(invisible: str):
    """LOW 15: a zero-width space (HTML-to-text converters, so that long links wrap) or a soft hyphen inside the
    token: the reader sees the link whole, and the check did not."""
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    link = f"https://bridge.example/consent/{token[:10]}{invisible}{token[10:]}"
    for data in (f"Your answer: {link}\n".encode(), f"Your answer: {link}\n".encode("utf-16")):
        with pytest.raises(BridgeError, match="live one-time link"):
            refuse_live_links("evidence", data, lambda found: found == token)
        refuse_live_links("evidence", data, lambda found: False)  # used or expired: taken


def test_a_forwarded_link_with_a_zero_width_space_is_refused_as_evidence(world: World):
    case_id = open_and_document(world, "domain:20")
    base, token = world.link(20, "Ownership request").split("/consent/")
    hidden = f"{base}/consent/{token[:12]}\u200b{token[12:]}"
    data = f"Forwarded for the record.\nYour answer: {hidden}\nRegards, Budi\n".encode()
    args = [case_id, world.file("zwsp.txt", data), "--kind", "other", "--from", "holder", "--via", "email"]
    assert "live one-time link" in world.fail("ownership", "attach", *args, "--by", "alice")
