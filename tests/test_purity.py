"""Pure modules stay pure: no network, database, CLI or clock imports (a pure core in a thin shell).

The list is derived, not written by hand: the pure core below, plus every module of every registered
family except its shell (families.SHELL: cli, demo, staff, staff_view, evidence_store, dossier, resync). A new family is checked without
anyone remembering to add it. A pure module may import only other pure modules of the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from whmcs_bridge.families import FAMILIES, SHELL

PACKAGE = Path(__file__).resolve().parents[1] / "whmcs_bridge"
CORE = [
    "model.py",
    "names.py",
    "pasted.py",
    "errors.py",
    "permissions.py",
    "metrics.py",
    "config/__init__.py",
    "config/reader.py",
    "config/load.py",
    "intake/signing.py",
    "intake/facts.py",
    "whmcs/normalize.py",
    "whmcs/normalize_values.py",
    "whmcs/normalize_clients.py",
    "whmcs/normalize_billing.py",
    "whmcs/normalize_support.py",
    "whmcs/records.py",
    "whmcs/templates.py",
    "whmcs/whois.py",
    "families/__init__.py",
    "families/spec.py",
    "messages/__init__.py",
    "messages/spec.py",
    "messages/render.py",
    "messages/catalogue.py",
    "messages/core/__init__.py",
    "messages/core/messages.py",
    "readable.py",
]
FORBIDDEN = {"requests", "sqlite3", "click", "socket", "time", "urllib3", "http", "waitress", "random", "secrets", "uuid"}


def family_modules() -> list[str]:
    found = []
    for spec in FAMILIES:
        folder = PACKAGE.joinpath(*spec.package.split(".")[1:])
        found += [str(p.relative_to(PACKAGE)) for p in sorted(folder.rglob("*.py")) if p.stem not in SHELL]
    return found


PURE = CORE + family_modules()


def module_name(path: str) -> str:
    dotted = "whmcs_bridge." + path.removesuffix(".py").replace("/", ".")
    return dotted.removesuffix(".__init__")


PURE_NAMES = {module_name(p) for p in PURE}


def imports(path: str) -> list[tuple[str, list[str]]]:
    tree = ast.parse((PACKAGE / path).read_text())
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_every_family_has_rules_checked():
    for spec in FAMILIES:
        assert module_name(spec.package.replace("whmcs_bridge.", "").replace(".", "/") + "/rules.py") in PURE_NAMES


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports(module: str):
    for name, names in imports(module):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{module} imports {name}"
        if top != "whmcs_bridge":
            continue
        if name == "whmcs_bridge.clock":
            assert "utcnow" not in names, f"{module} reads the clock (utcnow): take `now` as a parameter"
            continue
        if name == "whmcs_bridge":  # from whmcs_bridge import x
            targets = [f"whmcs_bridge.{n}" for n in names]
        else:
            targets = [name if name in PURE_NAMES else f"{name}.{n}" for n in names] or [name]
        for target in targets:
            assert target in PURE_NAMES, (
                f"{module} imports {target}, which is not pure (it may do I/O)"
            )
    source = (PACKAGE / module).read_text()
    for clock in (".now(", ".today(", "utcnow("):
        assert clock not in source, f"{module} reads the clock ({clock})"


def test_no_family_imports_another():
    for spec in FAMILIES:
        folder = PACKAGE.joinpath(*spec.package.split(".")[1:])
        others = [s.package for s in FAMILIES if s is not spec]
        for path in folder.rglob("*.py"):
            for name, names in imports(str(path.relative_to(PACKAGE))):
                full = [name] + [f"{name}.{n}" for n in names]
                crossing = [o for o in others if any(f == o or f.startswith(o + ".") for f in full)]
                assert not crossing, f"{path.relative_to(PACKAGE)} imports {crossing}: families talk through events"


SQL = re.compile(r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)|\b(conn|cursor|connection)\.execute")


def test_only_the_store_speaks_sql():
    """The store owns its tables: no SQL string outside whmcs_bridge/store/ (the sandbox is a WHMCS
    emulator with a database of its own), and tests reach under the store only through conftest.sql()."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("store", "sandbox"):
            continue
        offenders += [f"{relative}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if SQL.search(line)]
    tests = PACKAGE.parent / "tests"
    for path in sorted(tests.glob("*.py")) + sorted((PACKAGE.parent / "bench").glob("*.py")):
        # test_audit_tamper.py plays a forger who edits the state file with plain SQLite, without the bridge.
        if path.name in ("conftest.py", "test_purity.py", "test_audit_tamper.py"):
            continue
        offenders += [
            f"{path.relative_to(PACKAGE.parent)}:{n}"
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(r"\b(conn|cursor|connection)\.execute", line)
        ]
    assert not offenders, "SQL outside the store:\n" + "\n".join(offenders)
