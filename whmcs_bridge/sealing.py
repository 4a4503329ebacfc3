"""Sealed folders: a manifest.json with every file's SHA-256 and a seal per manifest section, so a dossier
can be checked later, away from the bridge, and anything changed, added or removed is named (the scheme of
the ownership dossier, shared so that no family imports another)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from whmcs_bridge.errors import BridgeError
from whmcs_bridge.store.audit import canonical

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(value: Any) -> str:
    """The SHA-256 of a value's canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """A data file of a sealed folder: indented, keys sorted, text as it is (not escaped to ASCII)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def write_manifest(folder: Path, manifest: dict[str, Any], sections: Sequence[str]) -> dict[str, Any]:
    """Seal each section, then the seals, and write manifest.json; the manifest as written."""
    manifest["seals"] = {name: seal(manifest.get(name)) for name in sections}
    manifest["seal"] = seal(manifest["seals"])
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path, format_name: str) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BridgeError(f"{folder}: no {MANIFEST}, not a dossier") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeError(f"{folder}/{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        raise BridgeError(f"{folder}/{MANIFEST} is not a {format_name} manifest")
    return manifest


def seal_problems(manifest: dict[str, Any], sections: Sequence[str]) -> list[str]:
    """Each section of the manifest against its seal, and the seals against theirs."""
    seals = manifest.get("seals") or {}
    problems = [
        f"{MANIFEST}: the `{name}` section was edited (its seal does not match)"
        for name in sections
        if seal(manifest.get(name)) != seals.get(name)
    ]
    if seal(seals) != manifest.get("seal"):
        problems.append(f"{MANIFEST}: the seals themselves were edited")
    return problems


def file_problems(folder: Path, files: dict[str, str]) -> list[str]:
    """Every listed file against its hash, then every file in the folder that is not listed."""
    problems = []
    for name, expected in sorted(files.items()):
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            problems.append(f"{name}: missing")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{name}: changed (SHA-256 {actual[:16]}…, the manifest says {expected[:16]}…)")
    listed = set(files) | {MANIFEST}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not in the manifest (added)")
    return problems
