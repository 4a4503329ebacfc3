"""The repository needs nothing beside it: no tracked file reads a folder outside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]

# A path that leaves the checkout: the steering folder beside it, a parent of the repository root
# joined with a name, or an absolute path of a developer's machine.
OUTSIDE = re.compile(
    r"""\.\./shared|parent\s*/\s*["']shared["']|shared/(reference|seeds|hooks)/|(DOMAIN|SPEC|STYLE)\.md"""
    r"""|parents\[[2-9]\]|\.parent\.parent\.parent|/work/(main|shared)"""
)


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked source archive): nothing tracked to check")
    return [ROOT / name for name in listed.split("\0") if name]


def test_no_tracked_file_refers_outside_the_repository():
    this = Path(__file__).resolve()
    offenders = []
    for path in tracked_files():
        if path.resolve() == this or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "files refer to paths outside the repository:\n" + "\n".join(offenders)


def test_the_documented_examples_are_the_projects_own():
    assert EXAMPLES.is_relative_to(ROOT)
    assert len(list(EXAMPLES.glob("*.json"))) == 162
