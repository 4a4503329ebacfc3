"""Reading a file staff give as evidence: a regular file of its own, never the bridge's own secrets.

A link (`call-notes.txt` -> signing-key.pem), a device (/dev/zero), a FIFO, a file of the bridge (its
configuration, .env, state database, signing key or evidence store) by its path or as the same file under
another name (a hard link), the system's password hashes, and any file holding one of the bridge's secrets
or a PEM private key (a copy of the key, a forwarded .env) is refused with one sentence: what is attached is
copied into dossiers that leave the machine. The sentence names the secret's variable, never its value."""

from __future__ import annotations

import base64
import dataclasses
import email
import os
import quopri
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from whmcs_bridge.config.load import Config, read_env_file
from whmcs_bridge.config.reader import Secret
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence import keys

# Readable by root only, and never a document: /etc/shadow attached by a command run as root (a break test).
SYSTEM = tuple(Path(p) for p in ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"))
# Any PEM private key: PKCS#8 (encrypted or not), RSA, EC, DSA, OpenSSH, PGP.
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
# A shorter value (a .env flag such as "true") would refuse ordinary documents; WHMCS's API credentials are
# 32 characters, a Standard Webhooks secret more, a line of a PEM key body 64.
SHORTEST = 12


def read(
    path: Path, *, limit: int, limit_name: str, private: Iterable[Path], secrets: Iterable[tuple[str, bytes]] = ()
) -> tuple[str, bytes]:
    """(file name, content) of the regular file at `path`, at most `limit` bytes; `private`: the bridge's own
    files and folders (a folder covers what is inside it); `secrets`: (what it is, value) pairs that no
    evidence may contain (`bridge_secrets`)."""
    if path.is_symlink():
        raise BridgeError(f"{path} is a symbolic link: give the file itself")
    real = path.resolve()
    private = [own.resolve() for own in private]
    for own in private:
        if real == own or own in real.parents:
            raise BridgeError(f"{path} is the bridge's own file ({own}): it is never evidence")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BridgeError(f"{path} is not a regular file: give a document")
        _refuse_same_file(path, info, private)
        if info.st_size > limit:
            raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while read
        raise BridgeError(f"{path} is larger than {limit // 1048576} MB ({limit_name})")
    refuse_secrets(str(path), data, secrets)
    return path.name, data


def _refuse_same_file(path: Path, info: os.stat_result, private: list[Path]) -> None:
    """The bridge's own files and the system's password hashes by identity (device and inode), which a hard
    link shares under any name and any folder."""
    known_files = [(p, "the bridge's own file") for p in private] + [(p, "the system's password hashes") for p in SYSTEM]
    for own, why in known_files:
        try:
            known = own.stat()
        except OSError:
            continue
        if (known.st_dev, known.st_ino) == (info.st_dev, info.st_ino):
            same = "" if path.resolve() == own else ", the same file under another name"
            raise BridgeError(f"{path} is {why} ({own}{same}): it is never evidence")


def refuse_secrets(where: str, data: bytes, secrets: Iterable[tuple[str, bytes]]) -> None:
    """One sentence when `data` holds a PEM private key or one of `secrets` (named by what it is, not shown), as
    written or however the file encodes it (readable_forms; a secret in base64 anywhere, too)."""
    forms = list(readable_forms(data))
    if any(PRIVATE_KEY.search(form) for form in forms):
        raise BridgeError(
            f"{where} holds a PEM private key: a private key is never evidence (the dossier leaves the machine)"
        )
    for what, value in secrets:
        if len(value) >= SHORTEST and any(v in form for form in forms for v in (value, *base64_forms(value))):
            raise BridgeError(
                f"{where} contains one of the bridge's secrets ({what}): the bridge's secrets are never evidence "
                "(the dossier leaves the machine)"
            )


# A PDF's compressed stream (FlateDecode, the usual text encoding; eighteenth break round HIGH 1).
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
SPACES = re.compile(rb"\s+")
LARGEST_INFLATED = 64 * 1048576  # a stream that inflates past this is a bomb, not a document: read that far


def readable_forms(data: bytes) -> Iterator[bytes]:
    """The file as written, and as a reader would see its text: each PDF stream inflated, each part of an email
    decoded (base64, quoted-printable), and each of these without its spaces and line breaks (a value wrapped over
    two lines, quoted-printable's soft breaks)."""
    plain = [data, quopri.decodestring(data), *_pdf_streams(data), *_email_parts(data)]
    for form in plain:
        yield form
        yield SPACES.sub(b"", form.replace(b"=\r\n", b"").replace(b"=\n", b""))


def _pdf_streams(data: bytes) -> Iterator[bytes]:
    if not data.startswith(b"%PDF"):
        return
    for found in PDF_STREAM.finditer(data):
        try:
            yield zlib.decompressobj().decompress(found.group(1), LARGEST_INFLATED)
        except zlib.error:
            continue


def _email_parts(data: bytes) -> Iterator[bytes]:
    if b"Content-Transfer-Encoding" not in data[:65536] and b"content-transfer-encoding" not in data[:65536].lower():
        return
    for part in email.message_from_bytes(data).walk():
        payload = part.get_payload(decode=True) if not part.is_multipart() else None
        if isinstance(payload, bytes):
            yield payload


def base64_forms(value: bytes) -> list[bytes]:
    """What `value` looks like inside any base64 text, whatever its offset there: its three encodings, each without
    the characters that depend on its neighbours."""
    out = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value)
        start = (pad * 4 + 2) // 3 + (1 if pad else 0)  # the characters mixing the padding's bits
        end = len(encoded) - (4 if (pad + len(value)) % 3 else 0)  # and the last group's, mixing what follows
        out.append(encoded[start:end].rstrip(b"="))
    return [o for o in out if len(o) >= SHORTEST]


def bridge_secrets(config: Config) -> list[tuple[str, bytes]]:
    """What no evidence may contain: every secret of the configuration (the WHMCS API identifier and secret,
    the webhook secrets), every value of the .env beside it, and each line of the signing key's PEM body (a
    copy without its BEGIN line)."""
    found = [(f"the value of {s.variable}", s.reveal().encode()) for s in _secrets_in(config)]
    env_file = config.source.parent / ".env"
    if env_file.is_file():
        values = read_env_file(env_file).items()
        found += [(f"the value of {name} in {env_file}", value.encode()) for name, value in values]
    try:
        pem = keys.key_path(config.state.path).read_bytes()
    except OSError:  # no key here (yet), or not readable by this user: nothing of it to look for
        pem = b""
    body = [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith(b"-----")]
    found += [("a line of the bridge's signing key", line) for line in body]
    return found


def _secrets_in(value: Any) -> Iterator[Secret]:
    if isinstance(value, Secret):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _secrets_in(getattr(value, field.name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
