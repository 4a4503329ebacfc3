"""The bridge's signing key: an Ed25519 key pair (the `cryptography` library) kept in a file named beside,
never inside, the state database (a 0600 file there, or a link to a 0440 file another user owns); its public
half and fingerprint are what a reader needs to check."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from whmcs_bridge.errors import BridgeError, EnvironmentProblem

KEY_FILE = "signing-key.pem"
ALGORITHM = "ed25519"


class KeyProblem(EnvironmentProblem):
    """The key file is unreadable, malformed, or readable by others."""


def key_path(state_path: Path) -> Path:
    """Where the key of the database at `state_path` lives: its folder, as signing-key.pem."""
    return state_path.parent / KEY_FILE


# A PEM public key is a few hundred bytes; a file far larger (or a device) is not one.
LARGEST_PEM = 65536


@dataclass(frozen=True)
class PublicKey:
    """The half that checks: give it (its PEM) to whoever must verify a dossier or the audit chain."""

    key: Ed25519PublicKey

    @classmethod
    def from_pem(cls, data: bytes, source: str = "the public key") -> PublicKey:
        if b"PRIVATE KEY-----" in data:
            # Whoever holds it could sign what they check: verifiers get the public half only.
            raise BridgeError(
                f"{source} is a private key, not a public one: never hand it to a verifier; give the public half "
                "(`whmcs-bridge audit key --out FILE` writes it)"
            )
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise BridgeError(f"{source} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BridgeError(f"{source} is not an {ALGORITHM} key (whmcs-bridge signs with {ALGORITHM})")
        return cls(key)

    @classmethod
    def from_file(cls, path: Path) -> PublicKey:
        try:
            # O_NONBLOCK: a FIFO given as the key is named, not waited on (twenty-third round)
            with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise BridgeError(f"{path} is not a public key file (not a regular file)")
                data = handle.read(LARGEST_PEM + 1)
            if len(data) > LARGEST_PEM:
                raise BridgeError(f"{path} is not a public key file (larger than {LARGEST_PEM} bytes)")
            return cls.from_pem(data, str(path))
        except FileNotFoundError:
            raise BridgeError(f"{path}: no such public key file") from None
        except OSError as exc:
            raise EnvironmentProblem(f"cannot read {path}: {exc.strerror or exc}") from None

    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @cached_property
    def fingerprint(self) -> str:
        """`SHA256:` and the hex SHA-256 of the raw 32-byte public key."""
        return "SHA256:" + hashlib.sha256(self.raw()).hexdigest()

    def verifies(self, signature: str, data: bytes) -> bool:
        """Whether `signature` (base64, as `SigningKey.sign` writes it) is this key's over `data`."""
        try:
            self.key.verify(base64.b64decode(signature, validate=True), data)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """The private half; only the bridge's own processes load it."""

    key: Ed25519PrivateKey
    path: Path | None = None

    @cached_property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    @cached_property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.key.sign(data)).decode("ascii")

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())


def missing(state_path: Path) -> KeyProblem:
    """The one sentence for a command that would sign and finds no key beside the database."""
    path = key_path(state_path.resolve())
    return KeyProblem(
        f"the signing key {path} is missing: restore signing-key.pem from your backup into {path.parent} "
        "(mode 0600), or, if it is lost for good, make a new one on purpose with `whmcs-bridge audit key --new "
        "--by NAME` (recorded in the chain); nothing is signed without it"
    )


def missing_beside_signed(path: Path, state_path: Path, signed_by: str | None) -> KeyProblem:
    """The one sentence for a key missing beside a chain that was signed: restore it, never a new one by itself."""
    by = f" with {signed_by}" if signed_by else ""
    return KeyProblem(
        f"the signing key {path} is missing and the audit chain of {state_path} was signed{by}: restore "
        f"signing-key.pem from your backup into {path.parent} (mode 0600), or, if it is lost for good, make a new "
        "one on purpose with `whmcs-bridge audit key --new --by NAME` (recorded in the chain); the bridge makes no "
        "new key by itself for a chain that was signed"
    )


def load(path: Path) -> SigningKey | None:
    """The key at `path` (a link is followed), None if there is none; refused if others may read it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
    # Group read is how the recommended layout (0440, owned by root, group of the bridge's user) lets the
    # bridge read a key it cannot rewrite; on a file the bridge's own user owns it only lets others read it.
    mode, owned = info.st_mode, info.st_uid == os.geteuid()
    if mode & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP) or (owned and mode & stat.S_IRGRP):
        raise EnvironmentProblem(
            f"the signing key {path} may be read by others (mode {stat.S_IMODE(mode):04o}): run `chmod 600 {path}`, "
            "or give it to root with the bridge's group and mode 0440 (README, \"Tamper evidence\")"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(f"{path} is not a PEM private key; restore it from your backup of the key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{path} is not an {ALGORITHM} key")
    return SigningKey(key, path)


def exposure(path: Path, state_path: Path) -> str | None:
    """Why the key file at `path` is within reach of whoever can edit the state database at `state_path`:
    a key the bridge's own user may rewrite (it owns the file, or its group or others may write it), or one
    lying in the database's folder with the database's owner, lets that user re-sign an edited chain. None
    when the key is laid out as the README recommends, or when there is no key yet."""
    try:
        real = path.resolve()
        key = real.stat()
        database = state_path.resolve()
        db_owner = database.stat().st_uid if database.exists() else os.geteuid()
    except OSError:
        return None
    problems = []
    if key.st_uid == os.geteuid():
        problems.append(f"it is owned by the user the bridge runs as (uid {key.st_uid}), who may rewrite it")
    elif key.st_mode & stat.S_IWOTH or (key.st_mode & stat.S_IWGRP and key.st_gid in os.getgroups()):
        problems.append(f"the bridge's user may write it (mode {stat.S_IMODE(key.st_mode):04o})")
    if real.parent == database.parent and key.st_uid == db_owner:
        problems.append(f"it lies beside the state database {database} with the same owner (uid {db_owner})")
    if not problems:
        return None
    return (
        f"the signing key {real} is within reach of whoever can edit the state database: {'; '.join(problems)}; "
        "such a user can re-sign an edited audit chain (only the anchors in WHMCS would tell). Give the key to "
        f"another user, readable by the bridge only: `install -o root -g whmcs-bridge -m 0440 {real} "
        f"/etc/whmcs-bridge/{KEY_FILE}` then `ln -sf /etc/whmcs-bridge/{KEY_FILE} {path}` (README, \"Tamper evidence\")"
    )


def pin_problem(fingerprint: str, pinned: str | None, config: Path) -> str | None:
    """Why a key is not the one the configuration pins (`state.key_fingerprint`), None when it is or when
    nothing is pinned. The configuration is root's file: a key swapped in the database's folder, with the
    chain re-signed with it, vouches for itself everywhere but here."""
    if pinned is None or fingerprint == pinned:
        return None
    return (
        f"{fingerprint}, not the key pinned in the configuration ({pinned}, state.key_fingerprint "
        f"in {config}): the signing key was replaced and the chain re-signed with it, or the key was replaced on "
        "purpose (`audit key --new`, recorded in the chain) and the pin not updated; restore the pinned key and "
        "the state from backups and compare with `audit verify --against-whmcs`"
    )


@dataclass(frozen=True)
class KeyPin:
    """`state.key_fingerprint` (None when nothing is pinned) and the configuration file that sets it: what a
    loaded key must be to sign, and where to pin the key the chain was signed with."""

    fingerprint: str | None
    config: Path


def pin_of(config: Any) -> KeyPin:
    """The configuration's pin (its fingerprint None when nothing is pinned)."""
    return KeyPin(config.state.key_fingerprint, config.source)


def verifying_key(config: Any) -> PublicKey | None:
    """The public half of the key beside the configured state database, for checking a dossier when no key is
    given; None when there is none. A key file that is not the pinned key vouches for nothing: refused."""
    path = key_path(config.state.path)
    signer = load(path)
    if signer is None:
        return None
    pin = pin_of(config)
    if pin.fingerprint is not None and signer.fingerprint != pin.fingerprint:
        raise KeyProblem(
            f"the key beside the state database, {path}, is {signer.fingerprint}, not the key pinned in the "
            f"configuration ({pin.fingerprint}, state.key_fingerprint in {pin.config}): a dossier is verified only "
            "with the pinned key; give its public key with --public-key FILE"
        )
    return signer.public


def not_pinned(path: Path, fingerprint: str, pinned: str, config: Path) -> KeyProblem:
    """The one sentence for a key file that is not the pinned key: nothing is signed with it (issue 17, H1)."""
    return KeyProblem(
        f"the signing key {path} is {fingerprint}, not the key pinned in the configuration ({pinned}, "
        f"state.key_fingerprint in {config}): nothing is signed with it; put the pinned key back from your "
        "backup, or, if the key was replaced on purpose with `whmcs-bridge audit key --new`, set "
        f"state.key_fingerprint to {fingerprint}"
    )


def refusal(path: Path, fingerprint: str, signed_by: str | None, pin: KeyPin | None) -> KeyProblem | None:
    """Why the key file at `path` (`fingerprint`) may not sign this chain, None when it may: it must be the pinned
    key, if one is pinned, and the key the chain was last signed with (`signed_by`), pinned or not: a key file
    swapped beside an unpinned chain signs nothing either, rather than becoming the chain's signer (issue 17, H1)."""
    pinned = pin.fingerprint if pin else None
    config = pin.config if pin else None
    if pinned is not None and fingerprint != pinned:
        return not_pinned(path, fingerprint, pinned, config or Path("the configuration"))
    if signed_by is None or signed_by == fingerprint:
        return None
    if pinned is not None:  # the pinned key is in place, the log names another: signing would vouch for its rows
        return KeyProblem(
            f"the audit log was last signed with {signed_by}, not with {pinned}, the key pinned in the configuration "
            f"(state.key_fingerprint in {config}) that the signing key {path} is: nothing is signed with it, which "
            "would vouch for rows another key signed; restore the state database from a backup made before that "
            "key signed and compare with `audit verify --against-whmcs`"
        )
    return not_the_log_signer(path, fingerprint, signed_by, config)


def not_the_signer(path: Path, fingerprint: str, signer: str, pinned: str | None, config: Path) -> str:
    """The one sentence for a signing key that is not the one the audit log's head was signed with (the key
    file replaced, the chain left as it was): a key problem, not rows tampered with, so no row is blamed. It
    never recommends a key other than the pinned one (issue 17, H1)."""
    if pinned is not None and fingerprint == pinned:  # the pinned key is in place; the log names another
        return (
            f"audit chain NOT verified: its head is signed with {signer}, not {pinned}, the key pinned in the "
            f"configuration (state.key_fingerprint in {config}), which the signing key {path} is, so no row was "
            "checked: rows were signed with a key that is not the pinned one; do not put that key back: restore "
            "the state database from a backup made before it signed and compare with `audit verify --against-whmcs`"
        )
    if pinned is not None:
        also = " and the key the audit log was signed with" if signer == pinned else f" (the log names {signer})"
        expected = f"{pinned}, the key pinned in the configuration (state.key_fingerprint in {config}){also}"
        put_back = f"the pinned key ({pinned})"
    else:
        expected = f"{signer}, the key the audit log was signed with"
        put_back = f"the key the log was signed with ({signer})"
    return (
        f"audit chain NOT verified: the signing key {path} is {fingerprint}, not {expected}, so no row was "
        f"checked: the key file was replaced; put {put_back} back from your backup, or check with its public "
        "half (--public-key FILE)"
    )


def not_the_log_signer(path: Path, fingerprint: str, signer: str, config: Path | None) -> KeyProblem:
    """The one sentence for a key file that is not the key the audit log was last signed with, nothing pinned:
    nothing is signed with it, and the log's key is the one to put back and pin, never the file's (issue 17, M1
    and H1)."""
    where = f"in {config}" if config else "in the configuration"
    return KeyProblem(
        f"the signing key {path} is {fingerprint}, not {signer}, the key the audit log was signed with: nothing is "
        "signed with it; the key file was replaced: put the key the log was signed with back from your backup, "
        f"then pin that one: `key_fingerprint: {signer}` under `state:` {where}"
    )


@dataclass(frozen=True)
class ChainSigner:
    """What the state database says of its signer: the key its head names, and whether it was ever signed."""

    state: Path
    signed_by: str | None
    signed: bool


@dataclass(frozen=True)
class PinReport:
    """`check`'s view of the signing key beside the database against the pin: its fingerprint, and a warning
    (unpinned, or unreadable by whoever runs the check) or an error (another key than the pinned one)."""

    fingerprint: str | None = None
    warning: str | None = None
    error: BridgeError | None = None


def pin_report(path: Path, pinned: str | None, config: Path, chain: ChainSigner | None = None) -> PinReport:
    """The key at `path` against `state.key_fingerprint` and against the key the audit log's head names
    (`chain`, when there is a state database); nothing to say before the first start made it."""
    signed_by = chain.signed_by if chain else None
    try:
        key = load(path)
    except EnvironmentProblem as exc:
        return PinReport(warning=f"the signing key was not compared with state.key_fingerprint: {exc}")
    if key is None:
        signed = chain is not None and chain.signed
        return PinReport(error=missing_beside_signed(path, chain.state, signed_by) if chain and signed else None)
    fingerprint = key.fingerprint
    if pinned is not None and fingerprint != pinned:
        return PinReport(fingerprint, error=not_pinned(path, fingerprint, pinned, config))
    if signed_by is not None and signed_by != fingerprint:
        if pinned is not None:  # the pinned key is in place, the log names another: never recommend that one
            return PinReport(fingerprint, error=KeyProblem(not_the_signer(path, fingerprint, signed_by, pinned, config)))
        return PinReport(fingerprint, error=not_the_log_signer(path, fingerprint, signed_by, config))
    if pinned is None:
        return PinReport(
            fingerprint,
            warning=f"the signing key {path} ({fingerprint}) is not pinned, so a key swapped beside the database "
            f"would go unnoticed: add `key_fingerprint: {fingerprint}` under `state:` in {config}",
        )
    return PinReport(fingerprint)


def unpinned(fingerprint: str, config: Path) -> str:
    """The plain sentence for a chain whose key nothing pins, and how to pin it."""
    return (
        "no key is pinned in the configuration: a replaced key (with the chain re-signed) would not be detected "
        f"by this check; pin it by adding `key_fingerprint: {fingerprint}` under `state:` in {config} (a file the "
        "bridge's user cannot rewrite), or check with --public-key FILE kept away from this machine or "
        "--against-whmcs"
    )


def load_or_create(path: Path) -> tuple[SigningKey, bool]:
    """The key at `path`, made (0600, written whole before it takes its name) if there is none yet;
    and whether it was made now. Two processes racing here end with the same key."""
    existing = load(path)
    if existing is not None:
        return existing, False
    made = SigningKey.generate()
    pem = made.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process made one meanwhile: theirs is kept
        except FileExistsError:
            pass
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create the signing key {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
    kept = load(path)
    assert kept is not None
    return kept, kept.public.raw() == made.public.raw()
