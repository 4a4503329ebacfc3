"""Sealed folders: write one (0700 folder, 0600 files, a manifest of every file's SHA-256, the audit segment
with the signed checkpoints that bound it, signed with the bridge's key) and check one offline against a
public key, naming every problem found."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from whmcs_bridge.errors import BridgeError, EnvironmentProblem
from whmcs_bridge.evidence.bounded import (
    LARGEST_AUDIT,
    LARGEST_MANIFEST,
    LARGEST_SIGNATURE,
    Refused,
    read_inside,
    sha256_inside,
)
from whmcs_bridge.evidence.keys import ALGORITHM, PublicKey, SigningKey
from whmcs_bridge.store import audit

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public-key.pem"
AUDIT_FILE = "audit.jsonl"
RESERVED = ("format", "exported_at", "signed_by", "files", "audit")
ROW_FIELDS = ("id", "at", "actor", "action", "client_id", "case_id", "subject", "detail")
# The hidden folder a FolderWriter writes in (`.NAME.` + tempfile.mkdtemp's eight characters + `.partial`).
PARTIAL = re.compile(r"\..+\.[a-z0-9_]{8}\.partial")
log = logging.getLogger("whmcs_bridge.evidence")


class EvidenceError(BridgeError):
    """A sealed folder does not verify; `problems` lists each thing found, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the dossier does not verify:\n  " + "\n  ".join(problems))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def unsafe_name(name: str) -> str | None:
    """Why `name` may not name a file of a sealed folder (absolute, `..`, empty parts, backslashes), or None."""
    if not isinstance(name, str) or not name:
        return "an empty name"
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("~") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path, outside the dossier's folder"
    if "\\" in name or "\0" in name:
        return "not a plain relative path"
    if any(part in ("..", ".", "") for part in name.split("/")):
        return "a path that leaves or escapes the dossier's folder"
    return None


class FolderWriter:
    """A new sealed folder being written: 0700 folders, 0600 files, each file's SHA-256 noted.

    It is written in a hidden folder beside `out` and becomes `out` only once sealed: an export that fails
    half-way (used as a context manager) leaves nothing that could be filed as the dossier. The writer holds a
    lock on that folder while it lives; one killed (kill -9) leaves it unlocked, with copies of the evidence, and
    the next writer in the same parent folder removes it and says so (twenty-first round L3)."""

    def __init__(self, out: Path) -> None:
        try:  # a name too long for the file system is an OSError from the first look (twentieth break round M4)
            if out.exists() and (not out.is_dir() or any(out.iterdir())):
                raise BridgeError(f"{out} is not an empty folder: a dossier is written to a new folder")
            for missing in reversed([p for p in (out.parent, *out.parent.parents) if not p.exists()]):
                missing.mkdir(mode=0o700)  # folders it makes are private too (twentieth break round L8)
            remove_leftovers(out.parent)
            work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))  # 0700
            self._lock = _locked(work)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot create {out}: {exc.strerror or exc}") from None
        self.out = out
        self.folder = work
        self.files: dict[str, str] = {}

    def __enter__(self) -> FolderWriter:
        return self

    def __exit__(self, *_: object) -> None:
        """Not sealed (an error on the way): what was written goes."""
        if self.folder != self.out:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _publish(self) -> None:
        """The written folder becomes `out` (an empty folder given as `out` is replaced)."""
        try:
            if self.out.is_dir():
                self.out.rmdir()
            os.rename(self.folder, self.out)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot create {self.out}: {exc.strerror or exc}") from None
        self.folder = self.out

    def _target(self, name: str) -> Path:
        problem = unsafe_name(name)
        if problem:
            raise BridgeError(f"{name!r} cannot name a file of a dossier: {problem}")
        target = self.folder / name
        parent = self.folder
        for part in PurePosixPath(name).parts[:-1]:
            parent = parent / part
            if not parent.exists():
                parent.mkdir(mode=0o700)
                os.chmod(parent, 0o700)
        return target

    def add_bytes(self, name: str, data: bytes) -> str:
        """Write `name` (0600, new) and note its SHA-256, which is returned."""
        target = self._target(name)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write {self.out / name}: {exc.strerror or exc}") from None
        self.files[name] = hashlib.sha256(data).hexdigest()
        return self.files[name]

    def add_text(self, name: str, text: str) -> str:
        return self.add_bytes(name, text.encode("utf-8"))

    def add_copy(self, name: str, source: Path, sha256: str | None = None) -> str:
        """Copy `source` to `name` (0600, whatever the source's mode), checking it against `sha256` if given."""
        target = self._target(name)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle, source.open("rb") as src:
                shutil.copyfileobj(src, handle)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot copy {source} to {self.out / name}: {exc.strerror or exc}") from None
        digest = sha256_file(target)
        if sha256 is not None and digest != sha256:
            target.unlink()
            raise BridgeError(f"{source} no longer matches its SHA-256 {sha256[:12]}…: not copied into the dossier")
        self.files[name] = digest
        return digest

    def seal(
        self,
        *,
        format: str,
        key: SigningKey,
        exported_at: str,
        sections: dict[str, Any],
        segment: audit.Segment | None = None,
        own_rows: list[int] | None = None,
    ) -> Sealed:
        """Write the audit segment (audit.jsonl), the public key, manifest.json and its signature
        (manifest.sig). `sections` are the family's own parts of the manifest; `own_rows` the ids of the
        segment's rows that belong to the case (the rest are the chain's rows recorded in between)."""
        clash = sorted(set(sections) & set(RESERVED))
        if clash:
            raise BridgeError(f"a dossier's own sections may not be named {', '.join(clash)}")
        audit_part: dict[str, Any] | None = None
        if segment is not None:
            self.add_text(AUDIT_FILE, "".join(audit.canonical(row) + "\n" for row in segment.rows))
            audit_part = segment_part(segment, own_rows or [])
        self.add_text(PUBLIC_KEY, key.public.pem())
        manifest: dict[str, Any] = {
            "format": format,
            "exported_at": exported_at,
            "signed_by": {"algorithm": ALGORITHM, "fingerprint": key.fingerprint},
            "files": dict(sorted(self.files.items())),
            "audit": audit_part,
            **sections,
        }
        text = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        signature = key.sign(text)
        self.add_bytes(MANIFEST, text)
        self.add_text(SIGNATURE, signature + "\n")
        self._publish()
        return Sealed(self.folder, manifest, hashlib.sha256(text).hexdigest(), signature)


def _locked(folder: Path) -> int | None:
    """An open descriptor of `folder` holding an exclusive lock on it (released when it is closed, or the process
    dies); None if `folder` is locked already."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def remove_leftovers(parent: Path) -> None:
    """Remove what exports killed on their way left in `parent`: this user's folders named as a FolderWriter names
    its own (PARTIAL) that no living writer holds locked. One line says which."""
    removed = []
    for entry in os.scandir(parent):
        if not PARTIAL.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_uid != os.getuid():
            continue
        fd = _locked(Path(entry.path))
        if fd is None:  # an export writing now
            continue
        try:
            shutil.rmtree(entry.path)
        finally:
            os.close(fd)
        removed.append(entry.name)
    if removed:
        log.warning(
            "removed %s in %s: left by an export that was interrupted (copies of evidence, never a dossier)",
            ", ".join(sorted(removed)),
            parent,
        )


def segment_part(segment: audit.Segment, own_rows: list[int]) -> dict[str, Any]:
    """The manifest's `audit` section: where the segment runs, its bounds, and the anchors within it."""
    start = segment.opening.count if segment.opening else 0
    return {
        "file": AUDIT_FILE,
        "from": start + 1,
        "to": segment.closing.count,
        "rows": len(segment.rows),
        "own_rows": sorted(own_rows),
        "opening": segment.opening.as_dict() if segment.opening else None,
        "closing": segment.closing.as_dict(),
        "anchors": sorted(
            {
                point.anchor_id
                for point in (segment.opening, segment.closing, *segment.inner)
                if point is not None and point.anchor_id  # 0: written, its id not found back
            }
        ),
        "checkpoints": [point.as_dict() for point in segment.inner],
    }


@dataclass(frozen=True)
class Sealed:
    """A written folder: its manifest, the SHA-256 of manifest.json (its seal) and the signature."""

    folder: Path
    manifest: dict[str, Any]
    seal: str
    signature: str


@dataclass
class Inspection:
    """What a check of a folder found: the manifest, the audit rows (parsed), and the problems."""

    folder: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seal: str = ""

    def raise_problems(self) -> None:
        if self.problems:
            raise EvidenceError(self.problems)


def parsed(text: str) -> Any:
    """JSON read from a sealed folder, where a forger chose every byte: nested past Python's recursion limit
    ("[[[[..."), it raises ValueError as any other broken JSON does, not a RecursionError crashing the command."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_manifest(folder: Path, formats: tuple[str, ...]) -> tuple[dict[str, Any], bytes]:
    try:
        text = read_inside(folder, MANIFEST, LARGEST_MANIFEST)
    except Refused as exc:
        if str(exc) == f"{MANIFEST}: missing":
            raise BridgeError(f"{folder}: no {MANIFEST}, not a dossier") from None
        raise BridgeError(f"{folder}/{exc}") from None
    try:
        manifest = parsed(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeError(f"{folder}/{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in formats:
        raise BridgeError(f"{folder}/{MANIFEST} is not a {' or '.join(formats)} manifest")
    return manifest, text


def inspect(
    folder: Path, formats: str | tuple[str, ...], key: PublicKey, older: Sequence[PublicKey] = ()
) -> Inspection:
    """Check a sealed folder offline against `key`: the signature over manifest.json, every named path
    (refused, never read, if it leaves the folder), every file's SHA-256, files not in the manifest, and
    the audit segment (each row's hash, contiguity, the signed checkpoints that bound it). `older` are the
    public halves of keys replaced with `audit key --new`: a segment spanning the replacement carries
    checkpoints the replaced key signed, each checked with the given key of its fingerprint."""
    formats = (formats,) if isinstance(formats, str) else formats
    manifest, text = read_manifest(folder, formats)
    found = Inspection(folder, manifest, seal=hashlib.sha256(text).hexdigest())
    given = Given({k.fingerprint: k for k in (key, *older)}, key)
    signed = signature_problems(folder, manifest, text, given.signer_of(manifest))
    found.problems += signed
    given = dataclasses.replace(given, vouched=not signed)
    files = manifest.get("files")
    if not isinstance(files, dict):
        found.problems.append(f"{MANIFEST}: no `files` section")
        files = {}
    found.problems += file_problems(folder, files)
    part = manifest.get("audit")
    if part is not None:
        found.rows = segment_problems(folder, part, files, given, found.problems)
    return found


def verify(folder: Path, formats: str | tuple[str, ...], key: PublicKey, older: Sequence[PublicKey] = ()) -> Inspection:
    """inspect(), raising EvidenceError if anything was found."""
    found = inspect(folder, formats, key, older)
    found.raise_problems()
    return found


def signature_problems(folder: Path, manifest: dict[str, Any], text: bytes, key: PublicKey) -> list[str]:
    signed_by = manifest.get("signed_by")
    fingerprint = signed_by.get("fingerprint") if isinstance(signed_by, dict) else None
    try:
        signature = read_inside(folder, SIGNATURE, LARGEST_SIGNATURE).decode("ascii").strip()
    except Refused as exc:
        if str(exc) == f"{SIGNATURE}: missing":
            return [f"{SIGNATURE}: missing or unreadable: the dossier is not signed"]
        raise BridgeError(f"{folder}/{exc}") from None
    except UnicodeDecodeError:
        return [f"{SIGNATURE}: missing or unreadable: the dossier is not signed"]
    if fingerprint != key.fingerprint:
        return [f"{MANIFEST}: signed with the key {fingerprint}, not with the given key {key.fingerprint}"]
    if not key.verifies(signature, text):
        return [f"{MANIFEST}: changed since it was signed (its signature does not verify with {key.fingerprint})"]
    return []


def listed_problem(folder: Path, name: Any, expected: Any) -> str | None:
    """What is wrong with one file the manifest lists (a name leaving the folder is refused unread), or None."""
    problem = unsafe_name(name)
    if problem:
        return f"{MANIFEST} names {name!r}: {problem} (refused, not read)"
    try:
        actual = sha256_inside(folder, name)
    except Refused as exc:
        return str(exc)
    if actual != expected:
        return f"{name}: changed (SHA-256 {actual[:16]}…, the manifest says {str(expected)[:16]}…)"
    return None


def file_problems(folder: Path, files: dict[str, Any]) -> list[str]:
    """Every listed file against its hash (a name leaving the folder is refused unread), then anything in the
    folder that is not listed (a file, link, FIFO or device, or a folder no listed file lies in)."""
    problems = [
        problem
        for name, expected in sorted(files.items(), key=lambda item: str(item[0]))
        if (problem := listed_problem(folder, name, expected))
    ]
    listed = set(files) | {MANIFEST, SIGNATURE}
    parents = {p.as_posix() for name in listed for p in PurePosixPath(str(name)).parents}  # "." included
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if (
                rel not in parents | listed and PurePosixPath(rel).parent.as_posix() in parents
            ):  # named once, at its top
                problems.append(f"{rel}: a folder not in the manifest (added)")
        elif rel not in listed:  # a file, a link, a FIFO, a device: whatever it is, never opened
            problems.append(f"{rel}: not in the manifest (added)")
    return problems


@dataclass(frozen=True)
class Given:
    """The public keys a reader gave, by fingerprint; `first` is the one named when none fits."""

    keys: dict[str, PublicKey]
    first: PublicKey
    vouched: bool = False  # the manifest (which lists the checkpoints) verifies with a given key

    def signer_of(self, manifest: dict[str, Any]) -> PublicKey:
        """The given key the manifest names as its signer (the first given if it names none of them)."""
        signed_by = manifest.get("signed_by")
        fingerprint = signed_by.get("fingerprint") if isinstance(signed_by, dict) else None
        return self.keys.get(fingerprint, self.first) if isinstance(fingerprint, str) else self.first

    def checkpoint_problem(self, point: audit.Checkpoint, replaced: dict[str, int]) -> str | None:
        """Why a checkpoint does not verify with the given key of its fingerprint, naming a key the segment
        records as replaced (`replaced`: fingerprint -> its KEY_REPLACED row) so the reader knows what to add."""
        key = self.keys.get(point.fingerprint, self.first)
        if point.verifies(key):
            return None
        problem = f"the audit checkpoint at row {point.count}: not signed with {key.fingerprint}"
        if point.fingerprint in self.keys:
            return problem
        if point.fingerprint in replaced:
            return problem + (
                f"; it is signed with {point.fingerprint}, which audit row {replaced[point.fingerprint]} records as "
                "replaced (`audit key --new`): give that key's public half too with another --public-key FILE"
            )
        if self.vouched:  # the given key signed the manifest that lists it: the key before a replacement, likely
            return problem + (
                f"; it is signed with {point.fingerprint}: if that is a key replaced with `audit key --new`, give its "
                "public half too (your own copy of it, not one from the folder) with another --public-key FILE"
            )
        return problem


def replaced_in(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The fingerprints the segment's key replacements (audit.KEY_REPLACED rows) record as replaced, each with
    its row."""
    found: dict[str, int] = {}
    for row in rows:
        detail = row.get("detail")
        if row.get("action") == audit.KEY_REPLACED and isinstance(detail, dict):
            old = detail.get("old_fingerprints")
            for fingerprint in old if isinstance(old, list) else []:
                found.setdefault(str(fingerprint), int(row["id"]))
    return found


def segment_problems(
    folder: Path, part: Any, files: dict[str, Any], given: Given, problems: list[str]
) -> list[dict[str, Any]]:
    """The audit segment: every row re-hashed, contiguous from `from` to `to`, linking the opening
    checkpoint's hash to the closing one's, both (and those between) signed with a given key."""
    if not isinstance(part, dict) or part.get("file") != AUDIT_FILE or AUDIT_FILE not in files:
        problems.append(f"{MANIFEST}: the `audit` section does not name {AUDIT_FILE}")
        return []
    rows = read_rows(folder, problems)
    closing = audit.Checkpoint.from_dict(part.get("closing"))
    opening = audit.Checkpoint.from_dict(part.get("opening")) if part.get("opening") is not None else None
    listed = part.get("checkpoints") or []
    inner = [audit.Checkpoint.from_dict(p) for p in listed] if isinstance(listed, list) else [None]
    own = part.get("own_rows") or []
    if closing is None or (part.get("opening") is not None and opening is None) or None in inner:
        problems.append(f"{MANIFEST}: the audit segment's checkpoints are unreadable")
        return rows
    if not isinstance(own, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in own):
        problems.append(f"{MANIFEST}: the audit segment's own rows are not a list of row numbers")
        own = []
    replaced = replaced_in(rows)
    for point in (opening, closing, *inner):
        problem = given.checkpoint_problem(point, replaced) if point is not None else None
        if problem:
            problems.append(problem)
    assert closing is not None
    by_id = link_problems(rows, opening, closing, problems)
    for point in (closing, *inner):
        if point is not None and point.count in by_id and by_id[point.count] != point.hash:
            problems.append(f"{AUDIT_FILE}: row {point.count} is not the row its signed checkpoint names")
    start = opening.count if opening else 0
    for number in own:
        if number not in by_id or number <= start:
            problems.append(f"{AUDIT_FILE}: the case's row {number} is not in the segment")
    return rows


def link_problems(
    rows: list[dict[str, Any]], opening: audit.Checkpoint | None, closing: audit.Checkpoint, problems: list[str]
) -> dict[int, str]:
    """Rows contiguous and linked from the opening checkpoint's hash to the closing one's row; each
    row's hash by id."""
    start = opening.count if opening else 0
    prev, expected = (opening.hash if opening else audit.GENESIS), start + 1
    by_id: dict[int, str] = {start: prev}
    for row in rows:
        if row["id"] != expected:
            problems.append(f"{AUDIT_FILE}: row {expected} is missing (the segment is not contiguous)")
        elif row.get("prev_hash") != prev:
            problems.append(f"{AUDIT_FILE}: row {row['id']} does not link to row {expected - 1}")
        prev, expected = row.get("hash", ""), row["id"] + 1
        by_id[row["id"]] = prev
    if expected - 1 != closing.count:
        problems.append(
            f"{AUDIT_FILE}: the segment ends at row {expected - 1}, its closing checkpoint at row {closing.count}"
        )
    return by_id


def read_rows(folder: Path, problems: list[str]) -> list[dict[str, Any]]:
    """The audit rows of the folder's audit.jsonl, each re-hashed from its content and its predecessor's hash."""
    rows: list[dict[str, Any]] = []
    try:
        lines = read_inside(folder, AUDIT_FILE, LARGEST_AUDIT).decode("utf-8").splitlines()
    except Refused as exc:  # named once: the file's own check (listed_problem) may have named it already
        if str(exc) not in problems:
            problems.append(str(exc))
        return rows
    except UnicodeDecodeError:
        return rows
    for number, text in enumerate(lines, start=1):
        try:
            row = parsed(text)
            content = {k: row[k] for k in ROW_FIELDS}
            if not isinstance(row["id"], int) or isinstance(row["id"], bool) or not isinstance(row["detail"], dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            problems.append(f"{AUDIT_FILE} line {number}: not an audit row")
            continue
        if audit.row_hash(str(row.get("prev_hash", "")), content) != row.get("hash"):
            problems.append(
                f"{AUDIT_FILE} line {number} (row {row['id']}, {row['action']}): edited (its hash does not match)"
            )
        rows.append(row)
    return rows


def private_mode_problems(folder: Path) -> list[str]:
    """Folders not 0700 or files not 0600 in a written dossier (for tests and `export`'s own check)."""
    problems = []
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            problems.append(f"{path}: mode {mode:04o}, not {want:04o}")
    return problems
