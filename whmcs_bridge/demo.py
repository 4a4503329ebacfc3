"""`whmcs-bridge demo`: the sandbox on a free loopback port, a real bridge config pointed at it, the seed stories narrated."""

from __future__ import annotations

import base64
import importlib
import secrets
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType

import requests

from whmcs_bridge.config.load import load_config
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.sandbox.server import RunningSandbox
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi

Echo = Callable[[str], None]


def stories() -> list[ModuleType]:
    """Each registered family's demo module (families/<name>/demo.py), found by name: its CONFIG section,
    the seed it observes (SEED, SCENARIO, observe) and the story it plays (PLAYED, play)."""
    return [importlib.import_module(f"{spec.package}.demo") for spec in FAMILIES]

CONFIG_TEMPLATE = """\
# Written by `whmcs-bridge demo`: a bridge configuration pointed at the bundled sandbox.
whmcs:
  url: {url}
  identifier: ${{WHMCS_API_IDENTIFIER}}
  secret: ${{WHMCS_API_SECRET}}
  timeout_s: 10
receiver:
  listen: 127.0.0.1:0
  secret: ${{WHMCS_BRIDGE_WEBHOOK_SECRET}}
state:
  path: state.db
poll:
  every: 1m
"""

def write_config(folder: Path, url: str, identifier: str, secret: str) -> Path:
    """A config file and its .env, as an operator would write them."""
    folder.mkdir(parents=True, exist_ok=True)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    (folder / ".env").write_text(
        f"WHMCS_API_IDENTIFIER={identifier}\nWHMCS_API_SECRET={secret}\nWHMCS_BRIDGE_WEBHOOK_SECRET={webhook_secret}\n",
        encoding="utf-8",
    )
    (folder / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    path = folder / "whmcs-bridge.yaml"
    sections = "".join(story.CONFIG for story in stories())
    path.write_text(CONFIG_TEMPLATE.format(url=url) + sections, encoding="utf-8")
    return path


def run_demo(workdir: Path | None, echo: Echo) -> None:
    identifier, secret = "demo-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="whmcs-bridge-demo-") as tmp, RunningSandbox(identifier, secret) as sandbox:
        folder = workdir or Path(tmp)
        config = load_config(write_config(folder, sandbox.url, identifier, secret))
        echo("whmcs-bridge demo")
        echo(f"  sandbox WHMCS:  {sandbox.url} (includes/api.php over real HTTP)")
        echo(f"  bridge config:  {config.source} (valid)")
        api = WhmcsApi.from_config(config)
        with Database(config.state.path) as db:
            for story in stories():
                summary = requests.post(
                    f"{sandbox.url}_sandbox/scenario", json={"name": story.SCENARIO}, timeout=30
                ).json()
                echo("")
                echo(f"== {story.SEED} (scenario {story.SCENARIO}, WHMCS date {summary['today']}) ==")
                story.observe(api, db, config, echo, date.fromisoformat(summary["today"]))
            played = [config.state.path]
            for story in stories():
                echo("")
                echo(f"== {story.PLAYED} ==")
                played.append(story.play(config, sandbox.url, echo))
            chains = []
            for path in played:
                with Database(path) as story_db:
                    chains.append(f"{path.name} {audit.verify(story_db)}")
        echo("")
        echo(f"Audit chains verified intact (entries): {', '.join(chains)}.")


