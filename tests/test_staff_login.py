"""Who is at the keyboard (issue 17, from the second break test): the login recorded beside a staff name,
which two-person decisions compare, comes from what the process cannot make up, never from SUDO_USER."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REAL_CALLER
from whmcs_bridge import staff
from whmcs_bridge.permissions import user_name


def test_sudo_user_set_by_hand_is_not_a_login(monkeypatch: pytest.MonkeyPatch):
    """`SUDO_USER=bob whmcs-bridge ownership approve ... --by bob` made one person a second approver."""
    monkeypatch.setattr(staff, "caller", REAL_CALLER)
    monkeypatch.setenv("SUDO_USER", "bob")
    monkeypatch.setenv("SUDO_UID", str(os.getuid() + 4242))
    assert "bob" not in staff.os_user()
    with open("/proc/self/loginuid") as handle:
        signed_in = int(handle.read().strip())
    expected = None if signed_in == staff.NO_LOGIN else user_name(signed_in)
    assert staff.caller() == expected


def test_a_fresh_process_with_a_forged_sudo_user_records_only_itself():
    """The same in a new interpreter, as the CLI runs: nothing but the process's own user (and the kernel's
    login, if any) is recorded."""
    env = {**os.environ, "SUDO_USER": "mallory", "SUDO_UID": "4242"}
    shown = subprocess.run(
        [sys.executable, "-c", "from whmcs_bridge import staff; print(staff.os_user())"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert "mallory" not in shown and shown.startswith(user_name())
