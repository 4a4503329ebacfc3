"""`plan --at`'s header with routine reads folded (twenty-second break round, ownership LOW): the header counted the
hourly owner reads as events, timers and planned actions ("1,445 action(s) planned" above four lines), so the figure
staff read first said nothing about what the bridge would do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_ownership_e2e import World, open_and_document, vendor_world


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_the_header_counts_what_the_lines_show(world: World):
    open_and_document(world, "domain:20")  # its window ends, reminders and the review: planned lines
    world.run("ownership", "open", "--subject", "service:201", "--requester", "client:21", "--grounds", "vendor", "--by", "alice")
    world.settle()
    far = (datetime.now(UTC) + timedelta(days=60)).isoformat(timespec="seconds")
    lines = json.loads(world.run("plan", "--at", far, "--json").output)
    planned = [line for line in lines if line["what"] == "planned"]
    reads = sum(line["count"] for line in lines if line["what"] == "routine")
    assert planned and reads > 500, lines
    shown = world.run("plan", "--at", far).output
    [header] = [line for line in shown.splitlines() if line.startswith("preview at ") or line.startswith("plan at ")]
    [count] = re.findall(r"([\d,]+) action\(s\) planned", header)
    assert int(count.replace(",", "")) == len(planned), header
    assert f"{reads:,} routine read(s)" in header, header
    [events] = re.findall(r"([\d,]+) event\(s\)", header)
    [timers] = re.findall(r"([\d,]+) timer\(s\)", header)
    assert int(events.replace(",", "")) < reads and int(timers.replace(",", "")) < reads, header
