"""The configuration schema (SPEC §5.2): the YAML file's sections as frozen dataclasses, and loading it.

Reading and validation are generic (config/reader.py): every error names FILE:LINE, the key path, what
was expected and what was found. Each rule family declares its own section (families/<name>/config.py); `Config` has a field per family.
Only `load_config` touches the file system.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from dotenv import dotenv_values

from whmcs_bridge import permissions
from whmcs_bridge.config.reader import Duration, Secret, _positive, _Reader, check, some_time, staff_names
from whmcs_bridge.errors import ConfigError, EnvironmentProblem
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.escalation.config import EscalationSection
from whmcs_bridge.families.ownership.config import OwnershipSection
from whmcs_bridge.messages.catalogue import locale_of

# --- field checks: return an "expected ..." phrase when the value is wrong, else None ---------------


def _http_url(value: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        return "an http:// or https:// URL such as https://billing.example.com/"
    return None


def _listen_address(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return "HOST:PORT such as 127.0.0.1:8787 (port 0 picks a free port)"
    return None


def _time_zone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        expected = "an IANA time zone name such as Europe/Paris, America/New_York or UTC"
        meant = _zone_meant(value)
        return f"{expected} (did you mean '{meant}'?)" if meant else expected
    return None


def _zone_meant(value: str) -> str | None:
    """The zone a wrong name probably means: the same name cased otherwise (zone names are file names, and
    case counts), else a close spelling."""
    by_lower = {name.lower(): name for name in available_timezones()}
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.85)
    return by_lower[close[0]] if close else None


def _address_or_network(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "an IP address or network such as 127.0.0.1, ::1 or 10.0.0.0/8"
    return None


def _webhook_secret(value: str) -> str | None:
    body = value.removeprefix("whsec_")
    try:
        raw = base64.b64decode(body, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if not value.startswith("whsec_") or len(raw) < 24:
        return "a Standard Webhooks secret: whsec_ followed by base64 of at least 24 random bytes"
    return None


def _admin_username(value: str) -> str | None:
    if not value.strip():
        return "the username of an existing WHMCS admin (remove the key to reply as the system)"
    return None


def _gateway_name(value: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9_]+", value):
        return (
            "a payment gateway's system name such as banktransfer or paypal (lowercase, as GetPaymentMethods lists it)"
        )
    return None


# --- the sections -------------------------------------------------------------------------------


def _key_fingerprint(value: str) -> str | None:
    if not re.fullmatch(r"SHA256:[0-9a-f]{64}", value):
        return "SHA256: and 64 lowercase hex digits, as `whmcs-bridge audit key` prints it"
    return None


@dataclass(frozen=True, kw_only=True)
class WhmcsSection:
    url: str = check(_http_url)
    identifier: Secret
    secret: Secret
    access_key: Secret | None = None
    timeout_s: float = check(_positive, 20.0)
    connect_timeout_s: float = check(_positive, 5.0)
    verify_tls: bool = True
    max_attempts: int = check(_positive, 5)
    page_size: int = check(_positive, 250)
    # The WHMCS admin the bridge's ticket replies are made as (AddTicketReply `adminusername`); None:
    # replies go out as the system, under the name "whmcs-bridge" and safety.staff_email.
    reply_admin: str | None = check(_admin_username, None)
    # The gateway payments the bridge records are booked under (AddInvoicePayment `gateway`, a delegate's
    # renewal settling the owner's invoice): the system name of a gateway active in WHMCS.
    payment_gateway: str = check(_gateway_name, "banktransfer")
    # An action WHMCS could not take (down, an error page, no answer in time) waits this long, then
    # twice that after each further failure, up to retry_max; it is never parked for it.
    retry_first: Duration = check(some_time, Duration(minutes=1))
    retry_max: Duration = check(some_time, Duration(hours=1))
    # A write WHMCS did not answer (a timeout, a restart mid-call) may still complete there: PHP finishes a
    # request after its client left, and time spent waiting on mail, the database or a registrar does not count
    # against its time limit. Its effect is looked for, and the write sent again only if absent, this long
    # after it began (never sooner than twice timeout_s).
    settle_after: Duration = check(some_time, Duration(minutes=5))

    @property
    def api_url(self) -> str:
        return self.url.rstrip("/") + "/includes/api.php"


@dataclass(frozen=True, kw_only=True)
class ReceiverSection:
    listen: str = check(_listen_address, "127.0.0.1:8787")
    # Where clients reach the daemon's pages (consent links), e.g. through a reverse proxy:
    # https://billing.example.com/bridge. Without it, no consent link can be sent.
    public_url: str | None = check(_http_url, None)
    secret: Secret = check(lambda s: _webhook_secret(s.reveal()))
    # Secrets still accepted while the PHP hook is switched to a new one (rotation).
    previous_secrets: list[Secret] = check(lambda s: _webhook_secret(s.reveal()), factory=list, each=True)
    max_body_kib: int = check(_positive, 256)
    tolerance: Duration = Duration(minutes=5)
    # Reverse proxies whose X-Forwarded-For is believed (the address a consent decision records).
    trusted_proxies: list[str] = check(_address_or_network, factory=list, each=True)

    @property
    def all_secrets(self) -> list[str]:
        return [self.secret.reveal()] + [s.reveal() for s in self.previous_secrets]

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True, kw_only=True)
class StateSection:
    path: Path
    # /healthz says "degraded" when the state folder's disk has less than this free.
    min_free_mb: int = check(_positive, 100)
    # The signing key's fingerprint as `whmcs-bridge audit key` prints it: pinned here, in a file the daemon's
    # user cannot rewrite, `audit verify` refuses a chain signed with any other key (a key file swapped beside
    # the database and the chain re-signed with it). Unset: such a swap would not be detected locally.
    key_fingerprint: str | None = check(_key_fingerprint, None)


@dataclass(frozen=True, kw_only=True)
class PollSection:
    enabled: bool = True
    every: Duration = check(some_time, Duration(minutes=5))
    # How often the open invoices are re-read in full (the backstop for changes no hint reported).
    sweep_every: Duration = Duration(hours=6)
    # After a failed poll the next waits `every`, then twice that, and so on up to this.
    max_backoff: Duration = check(some_time, Duration(hours=1))


@dataclass(frozen=True, kw_only=True)
class SafetySection:
    # The circuit breaker: destructive actions (suspend, terminate, collections...) that ran in the
    # last hour plus those due now may not exceed this; past it, all of them wait for staff.
    max_destructive_per_hour: int = check(_positive, 10)
    # Where the bridge opens tickets to staff (breaker tripped, approvals waiting), and as whom.
    staff_department_id: int | None = None
    staff_email: str | None = None
    # /healthz says "degraded" while an action has waited for staff approval longer than this.
    approval_alert_after: Duration = Duration(days=1)


def _language(value: str) -> str | None:
    if locale_of(value) is None:
        return "a WHMCS language name (english, french, dutch, indonesian, ...) or a language code (en, fr, nl, id)"
    return None


@dataclass(frozen=True, kw_only=True)
class MessageText:
    subject: str | None = None  # emails and tickets
    body: str


@dataclass(frozen=True, kw_only=True)
class MessagesSection:
    # A client is written to in the language of its WHMCS profile; when the profile names none, WHMCS's
    # default language, which the API does not tell: say it here.
    default_language: str = check(_language, "english")
    # Ticket notes, client notes and tickets to staff.
    staff_language: str = check(_language, "english")
    # Your own wording, per message id and language, over the shipped one (`whmcs-bridge messages list`,
    # `whmcs-bridge messages preview ID --lang fr`). Templates are Jinja2; see the README.
    templates: dict[str, dict[str, MessageText]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LoggingSection:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True, kw_only=True)
class Config:
    whmcs: WhmcsSection
    receiver: ReceiverSection
    state: StateSection
    # The IANA zone of destructive hours, business days, deadlines, the dates in notices and the dates
    # written into WHMCS (WHMCS's own zone: its dates are its server's wall clock); stored
    # instants stay UTC. Unset: the machine's zone (load_config fills it in; `check` shows it).
    timezone: str | None = check(_time_zone, None)
    poll: PollSection = field(default_factory=PollSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    safety: SafetySection = field(default_factory=SafetySection)
    delegation: DelegationSection = field(default_factory=DelegationSection)
    escalation: EscalationSection = field(default_factory=EscalationSection)
    ownership: OwnershipSection = field(default_factory=OwnershipSection)
    # Who may decide (approve, reject, record an answer): the names `--by` must give, compared without
    # case. Shared by the families; a family's own `staff:` list (ownership.staff) replaces it there.
    staff: list[str] = check(staff_names, factory=list)
    messages: MessagesSection = field(default_factory=MessagesSection)
    source: Path = field(default=Path("<memory>"), metadata={"internal": True})
    machine_timezone: str = field(default="UTC", metadata={"internal": True})

    def problem(self) -> tuple[str, str] | None:
        """What no case could get through across sections: an ownership policy asking for more approvals
        than the staff who may give them; ownership without the poll. A staff note in a case's ticket thread (it
        may report the holder's objection by phone) is known only by reading the ticket (the TicketAddNote hook
        names no note, DD:hooks-reference/ticket.md), and the holder's silence and the writes after an approval
        wait for a read of WHMCS's tickets made after them: without the poll, none comes (fifteenth round M1)."""
        found = self.ownership.staff_problem(list(self.staff))
        if found:
            return (f"ownership.{found[0]}", found[1])
        if self.ownership.enabled and not self.poll.enabled:
            return (
                "poll.enabled",
                "true while ownership is enabled (a case reads its ticket threads, staff's notes included, "
                "through the poll, and waits for it before concluding silence or writing)",
            )
        return None

    @property
    def zone_name(self) -> str:
        return self.timezone or self.machine_timezone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration; raise ConfigError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except PermissionError:
        raise permissions.denied(path, "read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc})") from None
    env_file = path.parent / ".env"
    merged: dict[str, str] = {}
    if env_file.is_file():
        merged.update(read_env_file(env_file))
    merged.update(os.environ if environ is None else environ)
    config = parse_config(text, path, merged, env_file if env_file.is_file() else None)
    return config if config.timezone else dataclasses.replace(config, machine_timezone=machine_zone())


def machine_zone() -> str:
    """The machine's IANA zone: $TZ, /etc/timezone, or where /etc/localtime points; else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    except OSError:
        pass
    for name in candidates:
        if name and _time_zone(name) is None:
            return name
    return "UTC"


def read_env_file(env_file: Path) -> dict[str, str]:
    """The secrets of the .env file; refused when every local user may read it."""
    mode = env_file.stat().st_mode
    if mode & 0o007:
        raise EnvironmentProblem(
            f"{env_file} can be read by every user of this machine (mode {mode & 0o777:04o}) and it holds the "
            f"WHMCS and webhook secrets; make it private: chmod 600 {env_file}"
        )
    try:
        values = dotenv_values(env_file)
    except PermissionError:
        raise permissions.denied(env_file, "read") from None
    return {k: v for k, v in values.items() if v is not None}


def parse_config(text: str, path: Path, environ: Mapping[str, str], env_file: Path | None = None) -> Config:
    """Parse configuration text (pure: no file or environment access)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"{path}:{line}: the file is not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the file is not valid YAML: {exc}") from None
    if root is None:
        raise ConfigError(f"{path}:1: the file is empty; expected the sections whmcs, receiver and state")
    reader = _Reader(path, environ, env_file)
    config = reader.read_document(root, Config)
    return dataclasses.replace(config, source=path)
