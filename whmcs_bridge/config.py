"""YAML configuration -> frozen dataclasses; every error names FILE:LINE, the key path, what was expected and found.

The loader is generic: a section is a frozen dataclass, and each field's type annotation says how
its YAML value is read (str, int, float, bool, Duration, Secret, Literal[...], X | None, list[X],
dict[str, X] or another section). Later rule families extend the configuration by declaring
dataclasses, not by writing parsing code. Only `load_config` touches the file system.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from whmcs_bridge.errors import ConfigError


class Duration(timedelta):
    """A span of time written as `30s`, `5m`, `1h30m`, `2d` or `1w` (or a whole number of seconds)."""

    _UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    _PATTERN = re.compile(r"(\d+)\s*([smhdw])")

    @classmethod
    def parse(cls, text: str) -> Duration:
        compact = text.strip().lower()
        if compact.isdigit():
            return cls(seconds=int(compact))
        parts = cls._PATTERN.findall(compact)
        if not parts or cls._PATTERN.sub("", compact).strip():
            raise ValueError(text)
        return cls(seconds=sum(int(n) * cls._UNITS[u] for n, u in parts))

    def __str__(self) -> str:
        seconds = int(self.total_seconds())
        out = ""
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            if seconds >= size:
                out += f"{seconds // size}{unit}"
                seconds %= size
        return out or "0s"


@dataclass(frozen=True)
class Secret:
    """A value read from the environment; never printed (repr and str show only the variable name)."""

    variable: str
    value: str = field(repr=False, compare=False)

    def reveal(self) -> str:
        return self.value

    def __str__(self) -> str:
        return f"${{{self.variable}}}"


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


def _webhook_secret(value: str) -> str | None:
    body = value.removeprefix("whsec_")
    try:
        raw = base64.b64decode(body, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if not value.startswith("whsec_") or len(raw) < 24:
        return "a Standard Webhooks secret: whsec_ followed by base64 of at least 24 random bytes"
    return None


def _positive(value: float) -> str | None:
    return None if value > 0 else "a number greater than 0"


def check(
    fn: Callable[[Any], str | None],
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    each: bool = False,
    doc: str = "",
) -> Any:
    """A dataclass field with a validation function (and optionally a default or default factory).

    With `each=True` the field is a list and the function checks every item (errors name the item).
    """
    metadata = {"check": fn, "doc": doc, "each": each}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --- the sections -------------------------------------------------------------------------------


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

    @property
    def api_url(self) -> str:
        return self.url.rstrip("/") + "/includes/api.php"


@dataclass(frozen=True, kw_only=True)
class ReceiverSection:
    listen: str = check(_listen_address, "127.0.0.1:8787")
    secret: Secret = check(lambda s: _webhook_secret(s.reveal()))
    # Secrets still accepted while the PHP hook is switched to a new one (rotation).
    previous_secrets: list[Secret] = check(lambda s: _webhook_secret(s.reveal()), factory=list, each=True)
    max_body_kib: int = check(_positive, 256)
    tolerance: Duration = Duration(minutes=5)

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


@dataclass(frozen=True, kw_only=True)
class PollSection:
    enabled: bool = True
    every: Duration = Duration(minutes=5)
    # How often the open invoices are re-read in full (the backstop for changes no hint reported).
    sweep_every: Duration = Duration(hours=6)


@dataclass(frozen=True, kw_only=True)
class SafetySection:
    # The circuit breaker: destructive actions (suspend, terminate, collections...) that ran in the
    # last hour plus those due now may not exceed this; past it, all of them wait for staff.
    max_destructive_per_hour: int = check(_positive, 10)
    # Where the bridge opens tickets to staff (breaker tripped, approvals waiting), and as whom.
    staff_department_id: int | None = None
    staff_email: str | None = None


@dataclass(frozen=True, kw_only=True)
class LoggingSection:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


EmailCategory = Literal["product", "domain", "invoice", "support", "general"]


@dataclass(frozen=True, kw_only=True)
class RoleRights:
    copy_emails: list[EmailCategory] = field(default_factory=list)
    welcome_email: Literal["copy", "notice", "none"] = "notice"
    support_authority: bool = False
    renew: bool = False
    order_for_owner: bool = False


def _default_roles() -> dict[str, RoleRights]:
    return {
        "technical": RoleRights(copy_emails=["product", "domain"], support_authority=True, renew=True),
        "administrative": RoleRights(order_for_owner=True),
    }


@dataclass(frozen=True, kw_only=True)
class DelegationSection:
    enabled: bool = False
    roles: dict[str, RoleRights] = field(default_factory=_default_roles)
    default_expiry: Duration | None = None


# --- escalation (SPEC §4.2) -------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _hours_range(value: str) -> str | None:
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", value)
    if not match or not (
        0 <= int(match[1]) < 24 and 0 <= int(match[3]) <= 24 and int(match[2]) < 60 and int(match[4]) < 60
    ):
        return "a time range such as 09:00-17:00"
    if (int(match[1]), int(match[2])) >= (int(match[3]), int(match[4])):
        return "a time range whose start is before its end, such as 09:00-17:00"
    return None


@dataclass(frozen=True, kw_only=True)
class EmailSpec:
    # Either a WHMCS client email template by name, or a custom subject and HTML body. Merge fields:
    # {client_name} {company} {amount_due} {invoice_count} {oldest_due} {days_overdue} {deadline}
    # {stage} {services}
    template: str | None = None
    subject: str | None = None
    body: str | None = None

    def problem(self) -> str | None:
        if bool(self.template) == bool(self.subject and self.body):
            return "either `template`, or both `subject` and `body`"
        return None


@dataclass(frozen=True, kw_only=True)
class TicketSpec:
    department_id: int
    subject: str
    body: str
    priority: Literal["Low", "Medium", "High"] = "Medium"


@dataclass(frozen=True, kw_only=True)
class ModuleCommandSpec:
    # A custom module function (ModuleCustom), e.g. lock the reseller's panel. It must be idempotent:
    # after a crash the bridge cannot tell whether it ran, and runs it again.
    function: str
    inverse: str | None = None  # run when the client is current again
    destructive: bool = True


@dataclass(frozen=True, kw_only=True)
class SuspendSpec:
    # A neutral reason: the public landing page must not state the debt.
    reason: str = "Administrative reasons"


@dataclass(frozen=True, kw_only=True)
class StageAction:
    """Exactly one of these per action."""

    email: EmailSpec | None = None
    ticket: TicketSpec | None = None  # to the client, in its name
    note: str | None = None  # a client note in WHMCS
    staff_task: TicketSpec | None = None  # a ticket to staff, e.g. send a registered letter
    module_command: ModuleCommandSpec | None = None
    suspend: SuspendSpec | None = None
    invoice_status: Literal["Collections"] | None = None
    terminate: bool | None = None

    KINDS = ("email", "ticket", "note", "staff_task", "module_command", "suspend", "invoice_status", "terminate")

    @property
    def kind(self) -> str:
        return next(k for k in self.KINDS if getattr(self, k) not in (None, False))

    def problem(self) -> str | None:
        chosen = [k for k in self.KINDS if getattr(self, k) not in (None, False)]
        return None if len(chosen) == 1 else "exactly one of " + ", ".join(self.KINDS)


@dataclass(frozen=True, kw_only=True)
class Stage:
    name: str
    # Due this many days after the oldest unpaid invoice's due date, or after the previous stage.
    after_days: int
    counted_from: Literal["due", "previous"] = "previous"
    business_days: bool = False
    # The deadline announced in this stage's notices ({deadline}), in days of the same kind.
    deadline_days: int | None = None
    # Staff approval before the stage's actions run: never, always, or when the downstream impact
    # is above the policy's approval_impact_threshold.
    approval: Literal["never", "always", "impact"] = "never"
    actions: list[StageAction]


@dataclass(frozen=True, kw_only=True)
class CustomFieldMatch:
    id: int
    equals: str


@dataclass(frozen=True, kw_only=True)
class Selector:
    # A client is in scope when one of its services matches a product id or product group name, or
    # the client itself matches a client group or custom field. Empty lists match nothing.
    product_ids: list[int] = field(default_factory=list)
    product_groups: list[str] = field(default_factory=list)
    client_groups: list[int] = field(default_factory=list)
    client_custom_field: CustomFieldMatch | None = None


@dataclass(frozen=True, kw_only=True)
class Impact:
    # How many of the client's own customers a cut would hit: the sum of these service custom
    # fields (e.g. hosted domains and users), a constant, or unknown when both are empty.
    custom_fields: list[str] = field(default_factory=list)
    constant: int | None = None


@dataclass(frozen=True, kw_only=True)
class Policy:
    name: str
    match: Selector
    impact: Impact = field(default_factory=Impact)
    approval_impact_threshold: int = 50
    ladder: list[Stage]

    def problem(self) -> str | None:
        names = [s.name for s in self.ladder]
        if not names:
            return "a ladder with at least one stage"
        if len(set(names)) != len(names):
            return "stage names that are all different"
        if self.ladder[0].counted_from != "due":
            return "a first stage counted from the due date (counted_from: due)"
        return None


@dataclass(frozen=True, kw_only=True)
class EscalationGuards:
    # Destructive actions (suspend, module commands marked destructive, collections, terminate)
    # run only on these days and hours (the bridge's local time), and at least this many days apart.
    destructive_days: list[Weekday] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    destructive_hours: str = check(_hours_range, "09:00-17:00")
    min_days_between_destructive: int = 1


@dataclass(frozen=True, kw_only=True)
class EscalationSection:
    enabled: bool = False
    # Days that are not business days (besides weekends).
    holidays: list[date] = field(default_factory=list)
    guards: EscalationGuards = field(default_factory=EscalationGuards)
    # Sent when the client is current again and every reversible action has been undone.
    restored_email: EmailSpec = field(
        default_factory=lambda: EmailSpec(
            subject="Your services are fully restored",
            body="<p>Dear {client_name},</p><p>We have received your payment. Your services are fully restored.</p>",
        )
    )
    # Where staff tasks and approval requests go when a stage names no department.
    staff_department_id: int = 1
    # First matching policy wins.
    policies: list[Policy] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class OwnershipSection:
    enabled: bool = False


@dataclass(frozen=True, kw_only=True)
class Config:
    whmcs: WhmcsSection
    receiver: ReceiverSection
    state: StateSection
    poll: PollSection = field(default_factory=PollSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    safety: SafetySection = field(default_factory=SafetySection)
    delegation: DelegationSection = field(default_factory=DelegationSection)
    escalation: EscalationSection = field(default_factory=EscalationSection)
    ownership: OwnershipSection = field(default_factory=OwnershipSection)
    source: Path = field(default=Path("<memory>"), metadata={"internal": True})


# --- the generic reader -------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$")


class _Reader:
    def __init__(self, path: Path, environ: Mapping[str, str], env_file: Path | None) -> None:
        self.path = path
        self.environ = environ
        self.env_file = env_file

    def fail(self, node: yaml.Node, key_path: str, expected: str, found: str) -> ConfigError:
        line = node.start_mark.line + 1
        return ConfigError(f"{self.path}:{line}: {key_path}: expected {expected}, found {found}")

    @staticmethod
    def describe(node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        if node.tag == "tag:yaml.org,2002:null":
            return "nothing"
        text = str(node.value)
        return repr(text if len(text) <= 60 else text[:57] + "...")

    def substitute(self, node: yaml.ScalarNode, key_path: str) -> str:
        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "$"
            if name not in self.environ:
                where = "the environment"
                if self.env_file is not None:
                    where += f" or {self.env_file}"
                raise self.fail(node, key_path, f"environment variable {name} to be set (in {where})", "it unset")
            return self.environ[name]

        return _VAR.sub(repl, str(node.value))

    def read(self, node: yaml.Node, hint: Any, key_path: str) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            if type(None) in args and node.tag == "tag:yaml.org,2002:null":
                return None
            return self.read(node, options[0], key_path)
        if dataclasses.is_dataclass(hint) and hint is not Secret:
            return self.read_section(node, typing.cast(type, hint), key_path)
        if origin is list:
            if not isinstance(node, yaml.SequenceNode):
                raise self.fail(node, key_path, "a list", self.describe(node))
            return [self.read(item, args[0], f"{key_path}[{i}]") for i, item in enumerate(node.value)]
        if origin is dict:
            if not isinstance(node, yaml.MappingNode):
                raise self.fail(node, key_path, "a mapping", self.describe(node))
            return {str(k.value): self.read(v, args[1], f"{key_path}.{k.value}") for k, v in node.value}
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key_path, self.expected_phrase(hint), self.describe(node))
        return self.read_scalar(node, hint, key_path)

    @staticmethod
    def expected_phrase(hint: Any) -> str:
        if typing.get_origin(hint) is Literal:
            return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
        return {
            str: "a string",
            int: "a whole number",
            float: "a number",
            bool: "true or false",
            Duration: "a duration such as 30s, 5m, 1h or 2d",
            Secret: "a ${VARIABLE} reference to an environment variable",
            Path: "a file path",
            date: "a date such as 2026-12-25",
        }.get(hint, str(hint))

    def read_scalar(self, node: yaml.ScalarNode, hint: Any, key_path: str) -> Any:
        expected = self.expected_phrase(hint)
        found = self.describe(node)
        if node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, key_path, expected, "nothing")
        raw = str(node.value)
        if hint is Secret:
            match = _VAR.fullmatch(raw.strip())
            if not match or match.group(1) is None:
                raise self.fail(node, key_path, expected + " (secrets never live in the YAML)", "a literal value")
            return Secret(match.group(1), self.substitute(node, key_path))
        text = self.substitute(node, key_path)
        if typing.get_origin(hint) is Literal:
            if text not in typing.get_args(hint):
                raise self.fail(node, key_path, expected, found)
            return text
        if hint is bool:
            lowered = text.lower()
            if lowered in ("true", "yes", "on"):
                return True
            if lowered in ("false", "no", "off"):
                return False
            raise self.fail(node, key_path, expected, found)
        if hint is int:
            if not re.fullmatch(r"-?\d+", text):
                raise self.fail(node, key_path, expected, found)
            return int(text)
        if hint is float:
            try:
                return float(text)
            except ValueError:
                raise self.fail(node, key_path, expected, found) from None
        if hint is Duration:
            try:
                return Duration.parse(text)
            except ValueError:
                raise self.fail(node, key_path, expected, found) from None
        if hint is date:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise self.fail(node, key_path, "a date such as 2026-12-25", found) from None
        if hint is Path:
            path = Path(text).expanduser()
            return path if path.is_absolute() else (self.path.parent / path)
        if hint is str:
            return text
        raise TypeError(f"config field type {hint!r} is not supported")  # a programming error

    def read_section(self, node: yaml.Node, cls: type, key_path: str) -> Any:
        label = key_path or "the top level"
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, label, "a mapping", self.describe(node))
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        seen: dict[str, yaml.Node] = {}
        values: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            child = f"{key_path}.{name}" if key_path else name
            if name in seen:
                raise self.fail(key_node, child, "each key once", "it repeated")
            seen[name] = value_node
            if name not in fields:
                close = difflib.get_close_matches(name, list(fields), n=1)
                hint_text = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(key_node, child, "one of " + ", ".join(fields) + hint_text, "unknown key")
            value = self.read(value_node, hints[name], child)
            checker = fields[name].metadata.get("check")
            if checker and fields[name].metadata.get("each") and isinstance(value_node, yaml.SequenceNode):
                for i, (item, item_node) in enumerate(zip(value, value_node.value, strict=True)):
                    problem = checker(item)
                    if problem:
                        raise self.fail(item_node, f"{child}[{i}]", problem, self.describe(item_node))
            elif checker and value is not None:
                problem = checker(value)
                if problem:
                    raise self.fail(value_node, child, problem, self.describe(value_node))
            values[name] = value
        for name, f in fields.items():
            if name in values:
                continue
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                child = f"{key_path}.{name}" if key_path else name
                raise self.fail(node, child, "this key (it is required)", "it missing")
        section = cls(**values)
        # A section may check itself as a whole (e.g. "exactly one of ..."): `problem()` returns the
        # "expected ..." phrase, or None.
        problem = section.problem() if hasattr(section, "problem") else None
        if problem:
            raise self.fail(node, label, problem, "; ".join(sorted(seen)) or "an empty mapping")
        return section


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration; raise ConfigError naming file and line."""
    import os

    from dotenv import dotenv_values

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc})") from None
    env_file = path.parent / ".env"
    merged: dict[str, str] = {}
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return parse_config(text, path, merged, env_file if env_file.is_file() else None)


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
    config = reader.read_section(root, Config, "")
    return dataclasses.replace(config, source=path)
