"""The executor's table of action kinds (executor/kinds.py) against the names the pure rules plan with
(model.KINDS, model.DESTRUCTIVE_KINDS): one row per kind, no more, and rows that say consistent things."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.test_escalation_rules import started
from whmcs_bridge.executor.kinds import ACTION_KINDS, action_kind
from whmcs_bridge.model import DESTRUCTIVE_KINDS, KINDS, Action


def test_every_kind_has_exactly_one_row():
    assert set(ACTION_KINDS) == KINDS
    assert all(row.name == name for name, row in ACTION_KINDS.items())


def test_destructive_defaults_are_known_kinds():
    assert DESTRUCTIVE_KINDS <= KINDS
    assert {row.name for row in ACTION_KINDS.values() if row.destructive} == DESTRUCTIVE_KINDS


def test_an_unknown_kind_is_refused_when_planned_and_when_run():
    with pytest.raises(ValueError, match="unknown action kind 'reboot'"):
        Action(key="wb-1", family="test", kind="reboot", params={})
    with pytest.raises(ValueError, match="no runner for action kind reboot"):
        action_kind("reboot")  # an outbox row written by another version


def test_reads_change_nothing():
    for row in ACTION_KINDS.values():
        if row.read_only:
            assert row.repeat_safe and row.observer is None and not row.destructive and row.inverse is None


def test_what_is_neither_observable_nor_repeated():
    """After an interruption, a kind whose effect cannot be read back is run again. A password change too (issue
    17, fifth break test: parked after a kill -9, it left the new holder with a password changed and never sent):
    set again and sent again by the welcome email, the new holder has working credentials. A client note
    (WHMCS's API has no way to list them) is known by its trace line in the activity log, and without it counts
    as done, unconfirmed, never repeated."""
    unknowable = {row.name for row in ACTION_KINDS.values() if row.observer is None and not row.repeat_safe}
    assert unknowable == set()
    assert {row.name for row in ACTION_KINDS.values() if row.assume_ran} == {"client_note"}


def test_an_inverse_is_a_kind():
    inverses = {row.name: row.inverse for row in ACTION_KINDS.values() if row.inverse}
    assert inverses == {"suspend": "unsuspend", "module_command": "module_command"}
    assert set(inverses.values()) <= KINDS


def test_the_escalation_ladder_undoes_each_step_with_its_inverse():
    """The pure rules cannot read the executor's table: this holds them to it."""
    story = started()
    for month, day in ((11, 30), (12, 9), (12, 17), (12, 22), (12, 23)):  # up to the mail-off stage
        story.tick(datetime(2026, month, day, 10, tzinfo=UTC))
    planned = {a.key: a for a in story.actions}
    undo = story.feed("InvoicePaid", {"invoiceid": 11}, datetime(2026, 12, 24, 10, tzinfo=UTC))
    # (the restored email's guard names every step it speaks of: a list)
    steps = [(planned[a.guard["action_done"]], a) for a in undo if isinstance(a.guard.get("action_done"), str)]
    assert {(step.kind, a.kind) for step, a in steps} == {
        ("suspend", "unsuspend"),
        ("module_command", "module_command"),
    }
    for step, reverse in steps:
        assert reverse.kind == ACTION_KINDS[step.kind].inverse
