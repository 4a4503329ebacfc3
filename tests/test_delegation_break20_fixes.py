"""Fixes for the twentieth break round of contact delegation (issue 16): a digest more often than daily keeps every
digest, an ownership change ends exactly the grants' items it moved, a reminder queued during an outage is not sent
after the grant ended, and the access notice says it is a notice. Against the sandbox through the real receiver where
the fault is end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox, sql
from tests.test_delegation_identity_e2e import grant, world_with
from tests.test_delegation_rules import NOW, RULES, copy_of, event, granted, shown, state_of
from whmcs_bridge.config.reader import Duration
from whmcs_bridge.families.delegation import digest as digest_module
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.copies import COPY_MARK
from whmcs_bridge.families.delegation.ending import covers
from whmcs_bridge.families.delegation.grants import DIGEST
from whmcs_bridge.families.delegation.rules import decide_all
from whmcs_bridge.store.db import Database

DIGEST_SUBJECT = "What Pixelwerk Agency did on your behalf"


def at(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def grant_state(tmp: Path, grant_id: str) -> dict[str, Any]:
    with Database(tmp / "state.db") as db:
        [row] = sql(db, "SELECT state FROM family_state WHERE family = 'delegation' AND key = ?", f"grant:{grant_id}")
    return dict(json.loads(row["state"]))


# --- H2: a digest more often than daily -------------------------------------------------------------------------


def test_an_hourly_digest_sends_every_digest_of_the_same_day(sandbox: Sandbox, tmp_path: Path, worlds):
    world = world_with(sandbox, tmp_path, worlds, "  digest_every: 1h\n")
    grant_id = grant(world, "--service", "110").output.split()[0]
    world.settle()
    # Two digests an hour apart: on the same UTC date unless the test runs just before midnight.
    start = datetime.now(UTC)
    sent = ["Service Suspension Notification", "Service Unsuspension Notification"]
    for n, template in enumerate(sent, start=1):
        sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": template})
        world.settle()
        world.run("tick", "--at", at(start + timedelta(minutes=65 * n)))
        world.run("tick", "--at", at(start + timedelta(minutes=65 * n + 1)))
    digests = [e["message"] for e in world.emails(11) if e["subject"] == DIGEST_SUBJECT]
    assert len(digests) == 2, digests
    assert sent[0] in digests[0] and sent[1] in digests[1] and sent[0] not in digests[1]
    assert grant_state(tmp_path, grant_id).get("activity") == []  # cleared only because a digest carried it


def test_the_same_digest_tick_decided_twice_makes_the_same_action():
    """The engine may decide one Tick twice after a crash: the same state and the same event give the same key,
    and the next digest (its state saved) a new one, on the same day."""
    rules = DelegationSection(enabled=True, digest_every=Duration(hours=1))

    def fresh() -> dict[str, dict[str, Any]]:
        entry = {"at": "2026-11-28T09:00:00+00:00", "what": "copy", "email": "Service Suspension Notification"}
        return {"grant:g1": {"id": "g1", "owner": 11, "delegate": 10, "role": "technical", "items": [],
                             "activity": [entry]}}  # fmt: skip

    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    first = digest_module.digest(fresh(), {}, now, rules)
    again = digest_module.digest(fresh(), {}, now + timedelta(seconds=30), rules)
    [key] = [a.key for a in first[DIGEST].actions]
    assert [a.key for a in again[DIGEST].actions] == [key]
    saved, timer = first["grant:g1"].state, first[DIGEST].state
    assert saved is not None and timer is not None and saved["activity"] == []
    saved["activity"] = [{"at": "2026-11-28T10:30:00+00:00", "what": "ticket"}]
    later = digest_module.digest({"grant:g1": saved}, timer, now + timedelta(hours=1), rules)
    [next_key] = [a.key for a in later[DIGEST].actions]
    assert next_key != key


# --- L: an expiry reminder queued during an outage -------------------------------------------------------------------


def test_an_expiry_reminder_queued_during_an_outage_is_not_sent_once_the_grant_is_revoked(
    sandbox: Sandbox, tmp_path: Path, worlds
):
    world = world_with(sandbox, tmp_path, worlds)
    sandbox.control("faults", {"status": 503, "count": 1000, "actions": ["SendEmail"]})
    last_day = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")  # within the 7 days' reminder
    grant_id = grant(world, "--service", "110", "--expires", last_day).output.split()[0]
    world.settle()
    with Database(tmp_path / "state.db") as db:
        waiting = "kind = 'email' AND status != 'done' AND params LIKE '%expiry_reminder%'"
        queued = sql(db, f"SELECT action_key FROM outbox WHERE {waiting}")
    assert len(queued) == 2  # the owner's and the delegate's, both waiting for WHMCS
    world.run("delegations", "revoke", grant_id, "--by", "owner", "--reason", "ended early")
    sandbox.control("faults", {"count": 0})
    later = datetime.now(UTC) + timedelta(hours=2)
    for hours in (0, 1, 2):
        world.run("tick", "--at", at(later + timedelta(hours=hours)))
    subjects = [e["subject"] for client in (10, 11) for e in world.emails(client)]
    assert not [s for s in subjects if s.startswith("Your technical contact arrangement for")], subjects
    assert any("no longer" in s for s in subjects)  # the revocation itself was told
    with Database(tmp_path / "state.db") as db:
        rows = [sql(db, "SELECT status, error FROM outbox WHERE action_key = ?", q["action_key"])[0] for q in queued]
    assert all(r["status"] == "cancelled" and f"grant {grant_id} is revoked" in r["error"] for r in rows), rows


# --- L: the access notice says it is a notice -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr", "nl", "id"])
def test_the_access_notice_says_it_is_a_notice_and_is_never_copied_again(lang: str):
    """Sent instead of a welcome email's copy, without the credentials: its subject says notice, as the other notices'
    do, never copy, in each language; the copy mark it carries (not its subject) keeps it from being copied again."""
    secret = "<p>Domain: boulangerie-dupont.fr Username: boulange Password: s3cret</p>"
    (notice,) = copy_of(granted(), "New Account Information", secret, template="Hosting Account Welcome Email")
    # The other notice (a template the role names under `notice`), with the same fields.
    other = replace(notice, params={"msg": {**notice.params["msg"], "id": "delegation.email_notice"}})
    (copy,) = copy_of(granted(), "SSL certificate renewed", "<p>renewed</p>")
    subject, text = shown(notice, lang)
    notice_mark, copy_mark = shown(other, lang)[0].split("] ")[0], shown(copy, lang)[0].split("] ")[0]
    assert notice_mark != copy_mark and "s3cret" not in text
    assert subject == f"{notice_mark}] Hosting Account Welcome Email"
    # The delegate's own email logged by WHMCS (a delegate that is itself an owner with a grant): never copied.
    assert COPY_MARK in text and copy_of(granted(), subject, text, template=None) == []
    assert copy_of(granted(), subject, text, template="Hosting Account Welcome Email") == []


# --- M2: an ownership change ends exactly what moved ------------------------------------------------------------------

HOSTING = {"kind": "service", "id": 110, "name": "boulangerie-dupont.fr"}
DOMAIN_MOVED = {"holder": 11, "case": "own-1", "subjects": [{"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"}]}


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([HOSTING], False),  # a hosting and a domain of the same name are different subjects (issue 16, Build 1)
        ([{**HOSTING, "name": "Boulangerie-Dupont.fr"}], False),
        ([{**HOSTING, "name": "dupont.fr"}], False),
        ([{"kind": "domain", "id": 12, "name": "boulangerie-dupont.fr"}], False),  # another domain, its name alike
        ([{"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"}], True),
        ([HOSTING, {"kind": "domain", "id": 11}], True),
    ],
)
def test_an_ownership_change_covers_a_grant_by_kind_and_id_only(items: list[dict[str, Any]], expected: bool):
    assert covers({"status": "active", "owner": 11, "items": items}, DOMAIN_MOVED) is expected


def moved(grant: dict[str, Any], *subjects: dict[str, Any]) -> dict[str, Any]:
    data = {"holder": 11, "case": "own-1", "subjects": list(subjects)}
    return decide_all({"grant:g1": grant}, event("OwnershipChanged", **data), NOW, RULES)


def test_a_domain_moved_ends_only_that_item_of_a_grant_and_both_sides_are_told():
    grant = granted(items=[{"kind": "service", "id": 110}, {"kind": "domain", "id": 11}])
    decision = moved(grant, {"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"})["grant:g1"]
    state = state_of(decision)
    assert state["status"] == "active" and [(i["kind"], i["id"]) for i in state["items"]] == [("service", 110)]
    assert "domain:11" in str(state["history"][-1]) and "own-1" in str(state["history"][-1])
    emails = {a.client_id: shown(a) for a in decision.actions if a.kind == "email"}
    notes = {a.client_id: shown(a)[1] for a in decision.actions if a.kind == "client_note"}
    assert set(emails) == {10, 11} and set(notes) == {10, 11}
    owner_subject, owner_text = emails[11]
    assert owner_subject == "Pixelwerk Agency is no longer your technical contact for boulangerie-dupont.fr"
    assert "remains your technical contact for Business (boulangerie-dupont.fr)" in owner_text
    assert "password" not in owner_text  # what moved is no longer the owner's: no password change offered
    assert emails[10][0] == "Your access to boulangerie-dupont.fr has ended"
    assert "ownership case own-1" in notes[11] and "Business" not in notes[11]
    # The grant's copies and notes keep running for the hosting: nothing of the grant itself was ended.
    assert not [a for a in decision.actions if a.kind == "invoice_status"]


def test_an_ownership_change_moving_all_a_grants_items_ends_the_grant():
    grant = granted(items=[{"kind": "service", "id": 110}, {"kind": "domain", "id": 11}])
    both = moved(grant, {"kind": "service", "id": 110}, {"kind": "domain", "id": 11})["grant:g1"]
    assert state_of(both)["status"] == "revoked"
    assert moved(granted(), {"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"}) == {}
