"""What every command shares: the context (config path, logging), one-line user errors, the state database
for read-only commands, and instants given on the command line."""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config, load_config
from whmcs_bridge.errors import (
    BridgeError,
    EnvironmentProblem,
    StoreError,
    WhmcsApiError,
    WhmcsProtocolError,
    WhmcsUnavailableError,
)
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.messages import load as catalogue
from whmcs_bridge.messages.catalogue import Catalogue
from whmcs_bridge.readable import safe
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi
from whmcs_bridge.whmcs.client import WhmcsClient

F = TypeVar("F", bound=Callable[..., Any])
# A WHMCS or bridge id: a positive number that fits the store (SQLite's 64-bit integers); anything else
# is a usage error naming the option, never a traceback.
ID = click.IntRange(1, 2**63 - 1)
log = logging.getLogger("whmcs_bridge.cli")


class Words(click.ParamType):
    """Text that must say something: who acts, on what basis, why. Blank (what `--by "$STAFF"` gives with the
    variable unset) is a usage error naming the option; the text is kept stripped. Every text is one line: a line
    break or a tab would make it read as two lines of a history (twenty-first round L2, M3)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text:
            self.fail("must not be empty", param, ctx)
        hidden = next((c for c in text if unicodedata.category(c) in HIDDEN or (c.isspace() and c != " ")), None)
        if hidden is not None:
            self.fail(
                f"holds U+{ord(hidden):04X} ({unicodedata.name(hidden, 'a control character')}), an invisible "
                "control, zero-width, line-separator, look-alike space or text-direction character that would change "
                "how the name or text reads in the history and the audit chain: type it plainly, on one line, with "
                "ordinary spaces",
                param,
                ctx,
            )
        return text


# The Unicode categories no name or reason shown to staff may hold: controls (a newline forges a second history entry,
# U+009B is a terminal's escape), format characters (a zero-width space makes "al\u200bice" read "alice", a
# right-to-left override another name: twentieth and twenty-first break rounds), line and paragraph separators; and
# any space but the ordinary one ("alice\u00a0smith" reads "alice smith" and is another actor: twenty-second round).
HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp"))

WORDS = Words()
ONE_LINE = WORDS


class Reference(click.ParamType):
    """An id the bridge gave (a case's): one that holds an invisible character (a zero-width space, a control, a
    text-direction mark pasted with it from a chat or a web page) is refused naming it, not looked up and reported
    missing (twenty-first round L2); the id is not changed behind staff's back."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        # Bytes that are not UTF-8 (surrogates, Cs) are refused as such after parsing (refuse_undecodable).
        hidden = next((c for c in text if unicodedata.category(c)[0] in "CZ" and unicodedata.category(c) != "Cs"), None)
        if hidden is not None:
            shown = "".join(c if c != hidden else "" for c in text)
            self.fail(
                f"holds U+{ord(hidden):04X} ({unicodedata.name(hidden, 'a control character')}), an invisible "
                f"character pasted with it: type the id plainly ({shown!r} without it)",
                param,
                ctx,
            )
        return text


CASE_ID = Reference()


class OnceCommand(click.Command):
    """A command whose one-value options are given once: `--requester A --requester B` is a usage error
    naming the option, not the last value kept without a word (so are `--ok --reject`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        seen: set[str | None] = set()
        for param in order:
            if not isinstance(param, click.Option) or param.multiple or param.count:
                continue
            if (not param.is_flag or param.secondary_opts) and param.name in seen:
                names = " / ".join([*param.opts, *param.secondary_opts])
                raise click.UsageError(f"{names} is given twice: give it once", ctx)
            seen.add(param.name)
        rest = super().parse_args(ctx, args)
        refuse_undecodable(ctx)
        return rest


class Group(click.Group):
    """Every group of the command line: its commands are OnceCommands, its subgroups Groups."""

    command_class = OnceCommand
    group_class = type

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        refuse_undecodable(ctx)
        return rest


def refuse_undecodable(ctx: click.Context) -> None:
    """Text arguments are text: bytes that are not UTF-8 (Python keeps them as lone surrogates) are a usage error
    naming the argument, not a traceback from wherever they would be stored (twentieth break round M3). A file's
    path is the system's bytes, not text staff typed: a file copied from a share with a Latin-1 name is read as
    named (twenty-first round L1); where its name is kept, it is kept escaped (evidence.files.shown_name)."""
    for param in ctx.command.params:
        if isinstance(param.type, click.Path):
            continue
        value = ctx.params.get(param.name or "")
        for arg in value if isinstance(value, tuple | list) else (value,):
            if isinstance(arg, str) and not _is_utf8(arg):
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")[:60]
                raise click.UsageError(f'the argument "{shown}" is not UTF-8 text: type it again', ctx)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self.verbose = 0
        self.log_format: str | None = None
        self._catalogue: Catalogue | None = None

    @property
    def catalogue(self) -> Catalogue:
        """The message catalogue with the configuration's templates (read with the configuration)."""
        if self._catalogue is None:
            self._catalogue = catalogue.for_config(self.config())
        return self._catalogue

    def resolved_path(self) -> Path:
        if self.config_path:
            return Path(self.config_path)
        if os.environ.get("WHMCS_BRIDGE_CONFIG"):
            return Path(os.environ["WHMCS_BRIDGE_CONFIG"])
        return Path("whmcs-bridge.yaml")

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.resolved_path())
            self._catalogue = catalogue.for_config(self._config)  # the templates are configuration too
            setup_logging(self.verbose, self.log_format or self._config.logging.format, self._config.logging.level)
        return self._config


JSON_LIST = "Print one JSON array of objects ([] when there are none)."
JSON_OBJECT = "Print one JSON object."


def echo_json(value: Any) -> None:
    """`--json`: one JSON document (an array for a list, an object for a status), never nothing."""
    click.echo(json.dumps(value, sort_keys=True, default=str))


def disabled_note(config: Config, family: str) -> str | None:
    """A list of a disabled family says so, rather than looking empty."""
    if getattr(config, family).enabled:
        return None
    return f"{family} is not enabled ({family}.enabled in {config.source}): nothing runs for it"


def note_if_disabled(config: Config, family: str) -> None:
    """A family's list or show command says on stderr when the family is off (what it shows is old news)."""
    note = disabled_note(config, family)
    if note:
        click.echo(note, err=True)


def echo_list(config: Config, family: str, rows: list[Any], as_json: bool, line: Callable[[Any], str], empty: str) -> None:
    """A family's list command: says when the family is off, then the rows as JSON or a line each."""
    note_if_disabled(config, family)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(line(row))
    if not rows:
        click.echo(empty)


def fail(exc: BridgeError, as_json: bool = False) -> NoReturn:
    """One sentence on stderr and the error's exit code; with `--json`, also the error as one JSON object
    on stdout (what the command would have told, where it got that far: `BridgeError.detail`)."""
    if as_json:
        echo_json({**exc.detail, "error": str(exc), "exit_code": exc.exit_code})
    # An error may name what a hostile party made (a file name in a forged dossier): never a terminal's escape codes.
    click.echo(f"error: {safe(str(exc))}", err=True)
    sys.exit(exc.exit_code)


def user_errors(fn: F) -> F:
    """Turn BridgeError into one line on stderr and its exit code; no traceback for user errors. A command
    run with --json prints its error as JSON too, so a script reading stdout always gets one document."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except BridgeError as exc:
            fail(exc, as_json)
        except click.ClickException as exc:  # a bad value found by the command itself (an --at): click says it
            if as_json:
                echo_json({"error": exc.format_message(), "exit_code": exc.exit_code})
            raise
        except sqlite3.OperationalError as exc:  # the disk filled, or the file turned read-only, mid-command
            if not any(sign in str(exc) for sign in ("disk is full", "disk I/O", "readonly")):
                raise
            why = f"the state database cannot be written ({exc}): free space on its disk, or check its permissions"
            fail(EnvironmentProblem(why), as_json)

    return wrapper  # type: ignore[return-value]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(verbose: int, log_format: str = "text", level_name: str | None = None) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    if level_name and not verbose:
        level = getattr(logging, level_name.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def parse_at(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date and time such as 2026-11-22T10:00:00Z") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not 1970 <= moment.year <= 9000:  # the rules add months to it: 9999-12-31 would overflow
        raise click.BadParameter(f"{value} is outside the years 1970 to 9000")
    return moment


@contextmanager
def open_state(config: Config, *, changes: bool = False, **options: Any) -> Iterator[Database]:
    """The existing state database with the configuration's key pin: a key file that is not the pinned key
    signs nothing (what would append to the audit chain is refused), and a command that only read says so.
    `changes`: a staff command that changes the state is refused before it writes anything while the database
    is behind the anchors WHMCS holds (restored from an older backup, not yet acknowledged), as the daemon's
    passes are: what it would record or undo may already have been decided otherwise (an objection lost with
    the rollback). WHMCS unreachable: the command goes on, and nothing it queues is sent before the daemon's
    pass has compared."""
    with Database(existing_state(config), pin=keys.pin_of(config), **options) as db:
        if changes:
            compare_with_anchors(config, db)
        yield db
        if db.refused is not None:
            click.echo(f"warning: {db.refused}", err=True)


def compare_with_anchors(config: Config, db: Database) -> None:
    """The daemon's check (evidence.anchor.refuse_if_rolled_back: RolledBack, exit 3), with one attempt: a
    staff command is not kept waiting by retries while WHMCS is down."""
    client = WhmcsClient.from_config(config.whmcs)
    client.max_attempts = 1
    try:
        anchor.refuse_if_rolled_back(db, WhmcsApi.from_config(config, client))
    except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
        log.info("the audit chain is not compared with its anchors in WHMCS now: %s", exc)


def existing_state(config: Config) -> Path:
    """The state database for read-only commands: never create an empty one by mistake."""
    path = config.state.path
    if not path.is_file():
        raise StoreError(f"there is no state database at {path} (state.path in {config.source})")
    return path
