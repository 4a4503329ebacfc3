"""`install-hook`: put hooks/whmcs_bridge.php into WHMCS's includes/hooks/ with the URL and secret filled in."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError

HOOK_NAME = "whmcs_bridge.php"


def hook_source() -> Path:
    """The hook file: in a source checkout (hooks/), or where `pip install` put it (share/whmcs-bridge/hooks/)."""
    candidates = [
        Path(__file__).resolve().parents[1] / "hooks" / HOOK_NAME,
        Path(sys.prefix) / "share" / "whmcs-bridge" / "hooks" / HOOK_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BridgeError(
        f"cannot find {HOOK_NAME} (looked in {', '.join(str(c.parent) for c in candidates)}); reinstall whmcs-bridge"
    )


def php_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def default_url(config: Config) -> str:
    host = config.receiver.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{config.receiver.port}/hooks/whmcs"


def install_hook(config: Config, whmcs_root: Path, *, url: str | None = None, spool_dir: str | None = None) -> Path:
    hooks_dir = whmcs_root / "includes" / "hooks"
    if not hooks_dir.is_dir():
        raise BridgeError(f"{whmcs_root} does not look like a WHMCS installation: {hooks_dir} is not a folder")
    if config.receiver.port == 0 and not url:
        raise BridgeError("receiver.listen uses port 0 (any free port); give the hook a fixed address with --url")
    text = hook_source().read_text(encoding="utf-8")
    filled = {
        "__WHMCS_BRIDGE_URL__": url or default_url(config),
        "__WHMCS_BRIDGE_SECRET__": config.receiver.secret.reveal(),
    }
    if spool_dir:
        filled["__WHMCS_BRIDGE_SPOOL_DIR__"] = spool_dir
    for placeholder, value in filled.items():
        text = text.replace(f"'{placeholder}'", f"'{php_string(value)}'")
    target = hooks_dir / HOOK_NAME
    temporary = hooks_dir / f".{HOOK_NAME}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)  # it holds the webhook secret
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        raise BridgeError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
