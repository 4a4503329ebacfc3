"""Pure modules stay pure: no network, database, CLI or clock imports (a pure core in a thin shell)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "whmcs_bridge"
PURE = [
    "config.py",
    "configload.py",
    "config_escalation.py",
    "intake/signing.py",
    "intake/facts.py",
    "whmcs/normalize.py",
    "whmcs/records.py",
    "metrics.py",
    "actions.py",
    "rules/escalation.py",
    "rules/calendar.py",
    "rules/ladder.py",
    "rules/delegation.py",
    "rules/grants.py",
    "rules/renewal.py",
    "rules/messages.py",
]
FORBIDDEN = {"requests", "sqlite3", "click", "socket", "time", "urllib3", "http", "waitress", "random"}


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports(module: str):
    tree = ast.parse((PACKAGE / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{module} imports {imported & FORBIDDEN}"
    source = (PACKAGE / module).read_text()
    for clock in (".now(", ".today(", "utcnow("):
        assert clock not in source, f"{module} reads the clock ({clock})"
