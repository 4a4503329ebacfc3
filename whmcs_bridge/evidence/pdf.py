"""A PDF copy of a dossier's summary page, printed from the same HTML by headless Chromium (a maintained
renderer the consent-page tests already use); without Chromium on the machine there is no PDF, said so."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger("whmcs_bridge.evidence")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180


def browser() -> str | None:
    """The first Chromium on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def render(page: str) -> bytes | None:
    """`page` (a self-contained HTML document: no script, nothing fetched) printed to PDF; None, logged, if
    no Chromium is installed or it failed."""
    program = browser()
    if program is None:
        log.warning("no PDF copy of the summary: install Chromium (%s) to have one", ", ".join(BROWSERS))
        return None
    with tempfile.TemporaryDirectory(prefix="whmcs-bridge-pdf-") as folder:
        source, target = Path(folder) / "summary.html", Path(folder) / "summary.pdf"
        source.write_text(page, encoding="utf-8")
        command = [
            program,
            "--headless",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder}/profile",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to start as root with its sandbox
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("no PDF copy of the summary: %s failed (%s)", program, exc)
            return None
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            log.warning("no PDF copy of the summary: %s exited %s (%s)", program, done.returncode, tail[0])
            return None
        return target.read_bytes()
