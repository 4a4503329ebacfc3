"""The generic configuration reader: YAML nodes -> frozen dataclasses, errors as FILE:LINE: key.path: expected X, found Y.

A section is a frozen dataclass; each field's type annotation says how its YAML value is read (str,
int, float, bool, date, Path, Duration, Secret, Literal[...], X | None, list[X], dict[str, X] or
another section). `check()` attaches a validation function to a field; a section's `problem()`
method checks it as a whole. Pure: the text and the environment are parameters.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from whmcs_bridge.errors import ConfigError


class NotExpected(ValueError):
    """A value of the right type that is still refused, with what was expected of it."""

    def __init__(self, text: str, expected: str) -> None:
        super().__init__(text)
        self.expected = expected


class Duration(timedelta):
    """A span of time written with its unit: `30s`, `5m`, `1h30m`, `2d` or `1w`; `0` alone needs none.

    A bare number is refused: `default_expiry: 90` means days to whoever wrote it and seconds to a parser."""

    _UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    # No span the bridge waits for is longer (a lock, an expiry, a window); past it is a typo, and far past it a
    # date the calendar cannot hold.
    LONGEST_DAYS = 3650
    _PATTERN = re.compile(r"(\d+)\s*([smhdw])")

    @classmethod
    def parse(cls, text: str) -> Duration:
        compact = text.strip().lower()
        if compact == "0":
            return cls(0)
        parts = cls._PATTERN.findall(compact)
        if not parts or cls._PATTERN.sub("", compact).strip():
            raise ValueError(text)
        seconds = sum(int(n) * cls._UNITS[u] for n, u in parts)
        if seconds > cls.LONGEST_DAYS * 86400:
            raise NotExpected(text, f"a duration of at most 10 years ({cls.LONGEST_DAYS}d)")
        return cls(seconds=seconds)

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


def _positive(value: float) -> str | None:
    return None if value > 0 else "a number greater than 0"


def some_time(value: Duration) -> str | None:
    """A span that is not zero: a zero retry or poll interval is a hot loop, a zero link lifetime or expiry
    ends what it starts."""
    return None if value.total_seconds() > 0 else "a duration greater than 0 (e.g. 30s, 5m)"


def staff_names(names: list[str]) -> str | tuple[str, str] | None:
    """A `staff:` list: names without surrounding spaces, each once (compared without case, as `--by` is)."""
    if any(not n.strip() or n != n.strip() for n in names):
        return "names without surrounding spaces"
    hidden = next((n for n in names if any(unicodedata.category(c) in ("Cf", "Cc", "Co", "Cn") for c in n)), None)
    if hidden is not None:
        return "names without invisible characters", repr(hidden)
    # Two names a reader cannot tell apart ("alice" and "аlice" with a Cyrillic а) would read as one person twice
    # in a case's approvals: each name's letters come from one alphabet.
    mixed = next((n for n in names if len({_script(c) for c in n if c.isalpha()}) > 1), None)
    if mixed is not None:
        return "names in one alphabet each (a letter of another that looks the same reads as another person)", repr(
            mixed
        )
    folded = [name_key(n) for n in names]
    again = next((n for i, n in enumerate(names) if folded[i] in folded[:i]), None)
    if again is not None:
        return "each member of staff once (names are compared without case)", f"{again!r} twice"
    return None


def name_key(name: str) -> str:
    """A staff name as two readers would tell it apart: without case, width or marks over its letters ("ALİCE", with
    Turkish dotted I, is "alice": twentieth break round L10)."""
    parts = unicodedata.normalize("NFKD", name.strip())
    return "".join(c for c in parts if unicodedata.category(c) != "Mn").casefold()


def _script(letter: str) -> str:
    """A letter's alphabet, as its Unicode name begins (LATIN, CYRILLIC, GREEK, ...)."""
    script = unicodedata.name(letter, "UNKNOWN").split(" ", 1)[0]
    return "CJK" if script in ("HIRAGANA", "KATAKANA", "HANGUL") else script  # written together in one name


def a_word(word: str) -> str | None:
    """A word looked for in a text: an empty one is found in every text."""
    return None if word.strip() else "a word (an empty one is in every text)"


def check(
    fn: Callable[[Any], str | tuple[str, str] | None],
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    each: bool = False,
    doc: str = "",
) -> Any:
    """A dataclass field with a validation function (and optionally a default or default factory).

    With `each=True` the field is a list and the function checks every item (errors name the item). The function
    returns what was expected, or (what was expected, what was found) when the value's own words would not say it.
    """
    metadata = {"check": fn, "doc": doc, "each": each}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --- the generic reader -------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$")


MAX_REPORTED = 20  # errors listed at once; past that, how many more


class _SectionFailed(Exception):
    """A section could not be built because of errors already recorded in the reader."""


class _Reader:
    def __init__(self, path: Path, environ: Mapping[str, str], env_file: Path | None) -> None:
        self.path = path
        self.environ = environ
        self.env_file = env_file
        self.errors: list[ConfigError] = []

    def read_document(self, root: yaml.Node, cls: type) -> Any:
        """The whole file as `cls`; every mistake found (up to MAX_REPORTED) is raised at once."""
        try:
            document = self.read_section(root, cls, "")
        except ConfigError as exc:
            self.errors.append(exc)
        except _SectionFailed:
            pass
        if not self.errors:
            return document
        if len(self.errors) == 1:
            raise self.errors[0]
        shown = [str(e) for e in self.errors[:MAX_REPORTED]]
        more = len(self.errors) - len(shown)
        raise ConfigError(
            f"{len(self.errors)} mistakes in {self.path}:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )

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
            return self.read_dict(node, args[1], key_path)
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key_path, self.expected_phrase(hint), self.describe(node))
        return self.read_scalar(node, hint, key_path)

    def read_dict(self, node: yaml.MappingNode, hint: Any, key_path: str) -> dict[str, Any]:
        """A mapping of names (policies, roles, templates) to values: each name once, not empty, without
        surrounding spaces (a YAML mapping that repeats a key would otherwise keep only its last value)."""
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if key_node.tag != "tag:yaml.org,2002:null" else ""
            if not name.strip() or name != name.strip():
                expected = "names that are not empty and have no surrounding spaces"
                raise self.fail(key_node, key_path, expected, repr(name))
            if name in out:
                raise self.fail(key_node, f"{key_path}.{name}", "each name once", "it repeated")
            out[name] = self.read(value_node, hint, f"{key_path}.{name}")
        return out

    @staticmethod
    def expected_phrase(hint: Any) -> str:
        if typing.get_origin(hint) is Literal:
            return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
        return {
            str: "a string",
            int: "a whole number",
            float: "a number",
            bool: "true or false",
            Duration: "a duration with its unit, such as 30s, 5m, 1h or 2d",
            Secret: "a ${VARIABLE} reference to an environment variable",
            Path: "a file path",
            date: "a date such as 2026-12-25",
        }.get(hint, str(hint))

    def read_scalar(self, node: yaml.ScalarNode, hint: Any, key_path: str) -> Any:
        expected = self.expected_phrase(hint)
        if node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, key_path, expected, "nothing")
        if hint is Secret:
            return self.read_secret(node, key_path)
        text = self.substitute(node, key_path)
        if hint is Path:
            path = Path(text).expanduser()
            return path if path.is_absolute() else (self.path.parent / path)
        if typing.get_origin(hint) is Literal:
            parse: Callable[[str], Any] | None = functools.partial(_one_of, typing.get_args(hint))
        else:
            parse = SCALARS.get(hint)
        if parse is None:
            raise TypeError(f"config field type {hint!r} is not supported")  # a programming error
        try:
            return parse(text)
        except NotExpected as exc:
            raise self.fail(node, key_path, exc.expected, self.describe(node)) from None
        except ValueError:
            raise self.fail(node, key_path, expected, self.describe(node)) from None

    def read_secret(self, node: yaml.ScalarNode, key_path: str) -> Secret:
        """A whole `${VARIABLE}` reference, read from the environment: a literal value is refused."""
        match = _VAR.fullmatch(str(node.value).strip())
        if not match or match.group(1) is None:
            expected = self.expected_phrase(Secret) + " (secrets never live in the YAML)"
            raise self.fail(node, key_path, expected, "a literal value")
        return Secret(match.group(1), self.substitute(node, key_path))

    def read_section(self, node: yaml.Node, cls: type, key_path: str) -> Any:
        label = key_path or "the top level"
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, label, "a mapping", self.describe(node))
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        values, failed = self.read_fields(node, cls, fields, key_path)
        for name, f in fields.items():
            missing = name not in values and name not in failed
            if missing and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.errors.append(self.fail(node, _child(key_path, name), "this key (it is required)", "it missing"))
                failed.add(name)
        if failed:
            raise _SectionFailed
        section = cls(**values)
        # A section may check itself as a whole (e.g. "exactly one of ..."): `problem()` returns the
        # "expected ..." phrase, or None.
        problem = section.problem() if hasattr(section, "problem") else None
        if isinstance(problem, tuple):  # (a key path inside the section, the expected phrase): that node's line
            inner, expected = problem
            at = _node_at(node, inner) or node
            raise self.fail(at, _child(key_path, inner), expected, self.describe(at))
        if problem:
            raise self.fail(node, label, problem, "; ".join(sorted(values)) or "an empty mapping")
        return section

    def read_fields(
        self, node: yaml.MappingNode, cls: type, fields: dict[str, dataclasses.Field[Any]], key_path: str
    ) -> tuple[dict[str, Any], set[str]]:
        """The mapping's values by field name, each read by its type and checked, and the names that
        failed (their errors recorded: reading goes on, to report every mistake at once); a repeated or
        unknown key is an error."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for key_node, value_node in node.value:
            name = str(key_node.value)
            try:
                values[name] = self.read_field(key_node, value_node, name in values or name in failed, fields, hints, key_path)
            except ConfigError as exc:
                self.errors.append(exc)
                failed.add(name)
                # A misspelt key is one mistake, not two: its "did you mean" is not also reported missing.
                failed.update(difflib.get_close_matches(name, list(fields), n=1) if name not in fields else [])
            except _SectionFailed:
                failed.add(name)
        return {k: v for k, v in values.items() if k not in failed}, failed

    def read_field(
        self,
        key_node: yaml.Node,
        value_node: yaml.Node,
        seen: bool,
        fields: dict[str, dataclasses.Field[Any]],
        hints: dict[str, Any],
        key_path: str,
    ) -> Any:
        name = str(key_node.value)
        child = _child(key_path, name)
        if seen:
            raise self.fail(key_node, child, "each key once", "it repeated")
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint_text = f" (did you mean '{close[0]}'?)" if close else ""
            raise self.fail(key_node, child, "one of " + ", ".join(fields) + hint_text, "unknown key")
        value = self.read(value_node, hints[name], child)
        self.check_value(fields[name], value, value_node, child)
        return value

    def check_value(self, f: dataclasses.Field[Any], value: Any, node: yaml.Node, key_path: str) -> None:
        """Run the field's check (see `check()`): on the value, or on each item of a list."""
        checker = f.metadata.get("check")
        if checker and f.metadata.get("each") and isinstance(node, yaml.SequenceNode):
            bad = [
                self.fail(item_node, f"{key_path}[{i}]", problem, self.describe(item_node))
                for i, (item, item_node) in enumerate(zip(value, node.value, strict=True))
                if (problem := checker(item))
            ]
            if bad:  # every bad item is a mistake of its own
                self.errors.extend(bad[:-1])
                raise bad[-1]
        elif checker and value is not None:
            problem = checker(value)
            if isinstance(problem, tuple):
                raise self.fail(node, key_path, *problem)
            if problem:
                raise self.fail(node, key_path, problem, self.describe(node))


def _node_at(node: yaml.Node, path: str) -> yaml.Node | None:
    """The YAML node a key path names below `node` ("roles.technical.templates.copy[1]"), or None."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("[") and isinstance(node, yaml.SequenceNode):
            index = int(part[1:-1])
            if index >= len(node.value):
                return None
            node = node.value[index]
        elif isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if str(k.value) == part), None)
            if found is None:
                return None
            node = found
        else:
            return None
    return node


def _child(key_path: str, name: str) -> str:
    return f"{key_path}.{name}" if key_path else name


def _one_of(allowed: tuple[Any, ...], text: str) -> str:
    if text not in allowed:
        raise ValueError(text)
    return text


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    raise ValueError(text)


def _int(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(text)
    return int(text)


# How a scalar's text becomes a value of each plain type (ValueError: not one).
SCALARS: dict[Any, Callable[[str], Any]] = {
    str: str,
    bool: _bool,
    int: _int,
    float: float,
    Duration: Duration.parse,
    date: date.fromisoformat,
}
