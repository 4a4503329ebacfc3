"""What a family's demo story plays on: the sandbox, a bridge with its own state database, and (for
stories with webhooks or one-time links) the receiver with the sandbox's hooks pointed at it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from whmcs_bridge.config.load import Config
from whmcs_bridge.daemon import Bridge
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.intake.serving import run_in_thread, stop

Echo = Callable[[str], None]


class Stage:
    def __init__(self, config: Config, sandbox_url: str, *, state: str, scenario: str, links: bool = False) -> None:
        """Load `scenario` in the sandbox, give the story its own state database (`state`, beside the
        demo's: the sandbox reuses WHMCS ids across scenarios, which a real WHMCS never does), start the
        receiver, and, with `links`, make the one-time links point at it."""
        self.sandbox_url = sandbox_url
        config = dataclasses.replace(
            config, state=dataclasses.replace(config.state, path=config.state.path.with_name(state))
        )
        requests.post(f"{sandbox_url}_sandbox/clock", json={"reset": True}, timeout=10)
        self.scenario: dict[str, Any] = requests.post(
            f"{sandbox_url}_sandbox/scenario", json={"name": scenario}, timeout=30
        ).json()
        self.receiver = Receiver(config.state.path, config.receiver.all_secrets)
        self.server = serve(self.receiver, "127.0.0.1", 0)
        run_in_thread(self.server)
        self.public = f"http://127.0.0.1:{self.server.effective_port}"
        if links:
            config = dataclasses.replace(config, receiver=dataclasses.replace(config.receiver, public_url=self.public))
        self.config = config
        self.bridge = Bridge(config)
        self.control("hooks", {"url": f"{self.public}/hooks/whmcs", "secret": config.receiver.secret.reveal()})

    def control(self, name: str, body: dict[str, Any]) -> Any:
        """A call to the sandbox's control API (what staff or WHMCS itself would do)."""
        return requests.post(f"{self.sandbox_url}_sandbox/{name}", json=body, timeout=30).json()

    def api(self, action: str, **params: Any) -> dict[str, Any]:
        """A call to the WHMCS API, as another WHMCS user would make it."""
        data = {
            "action": action,
            "identifier": self.config.whmcs.identifier.reveal(),
            "secret": self.config.whmcs.secret.reveal(),
            "responsetype": "json",
            **params,
        }
        answer: dict[str, Any] = requests.post(f"{self.sandbox_url}includes/api.php", data=data, timeout=10).json()
        return answer

    def rows(self, table: str, **where: int) -> list[dict[str, Any]]:
        """Rows of one sandbox table (what WHMCS holds now)."""
        query = "&".join(f"{k}={v}" for k, v in where.items())
        found: list[dict[str, Any]] = requests.get(
            f"{self.sandbox_url}_sandbox/query?table={table}&{query}", timeout=10
        ).json()["rows"]
        return found

    def settle(self, passes: int = 3, at: datetime | None = None) -> None:
        """Let pending hook deliveries land, then run the bridge's passes."""
        requests.get(f"{self.sandbox_url}_sandbox/hooks", timeout=30)
        for _ in range(passes):
            self.bridge.run_once(at or datetime.now(UTC), poll=True)

    def close(self) -> None:
        self.control("hooks", {"url": None, "secret": None})
        stop(self.server)
        self.receiver.close()
        self.bridge.close()
