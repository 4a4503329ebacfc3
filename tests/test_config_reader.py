"""The generic configuration reader on a small section of its own: every scalar type, accepted and
refused, and the errors of a section (repeated, unknown, missing keys, field checks, problem())."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from whmcs_bridge.config.reader import Duration, Secret, _Reader, check
from whmcs_bridge.errors import ConfigError

FILE = Path("/etc/bridge/bridge.yaml")


def _short(value: str) -> str | None:
    return None if len(value) <= 3 else "at most 3 characters"


@dataclasses.dataclass(frozen=True)
class Inner:
    level: int = 1


@dataclasses.dataclass(frozen=True)
class Section:
    name: str
    flag: bool = False
    count: int = 0
    ratio: float = 0.0
    every: Duration = Duration(seconds=60)
    day: date | None = None
    where: Path | None = None
    mode: Literal["a", "b"] = "a"
    token: Secret | None = None
    tags: list[str] = check(_short, factory=list, each=True)
    code: str | None = check(_short, None)
    inner: Inner = dataclasses.field(default_factory=Inner)
    limits: dict[str, int] = dataclasses.field(default_factory=dict)

    def problem(self) -> str | None:
        return "count below 100" if self.count >= 100 else None


@dataclasses.dataclass(frozen=True)
class Odd:
    value: complex


def read(text: str, cls: type = Section, environ: dict[str, str] | None = None) -> Any:
    node = yaml.compose(text)
    assert node is not None, "a test document is never empty"
    return _Reader(FILE, environ or {"TOKEN": "s3cret"}, None).read_document(node, cls)


def test_every_scalar_type():
    section = read(
        "name: x\nflag: yes\ncount: -12\nratio: 0.5\nevery: 1h30m\nday: 2026-12-25\nwhere: data/x.db\nmode: b\n"
        "token: ${TOKEN}\ntags: [a, bb]\ncode: abc\ninner: {level: 3}\nlimits: {x: 1}\n"
    )
    assert section == Section(
        name="x",
        flag=True,
        count=-12,
        ratio=0.5,
        every=Duration(seconds=5400),
        day=date(2026, 12, 25),
        where=Path("/etc/bridge/data/x.db"),
        mode="b",
        token=Secret("TOKEN", "s3cret"),
        tags=["a", "bb"],
        code="abc",
        inner=Inner(3),
        limits={"x": 1},
    )
    assert section.token.reveal() == "s3cret"
    assert read("name: x\nflag: off\nwhere: /abs/y\nday: null\n") == Section(name="x", where=Path("/abs/y"))
    assert read("name: 'a $$ b'\nevery: 90s\n") == Section(name="a $ b", every=Duration(seconds=90))


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nflag: maybe\n", ":2: flag: expected true or false, found 'maybe'"),
        ("name: x\ncount: 1.5\n", ":2: count: expected a whole number, found '1.5'"),
        ("name: x\nratio: half\n", ":2: ratio: expected a number, found 'half'"),
        ("name: x\nevery: soon\n", ":2: every: expected a duration with its unit, such as 30s, 5m, 1h or 2d, found 'soon'"),
        ("name: x\nday: 25/12\n", ":2: day: expected a date such as 2026-12-25, found '25/12'"),
        ("name: x\nmode: c\n", ":2: mode: expected one of 'a', 'b', found 'c'"),
        ("name: x\nmode:\n", ":2: mode: expected one of 'a', 'b', found nothing"),
        ("name:\n", ":1: name: expected a string, found nothing"),
        (
            "name: x\ntoken: s3cret\n",
            ":2: token: expected a ${VARIABLE} reference to an environment variable (secrets never live in the YAML), found a literal value",
        ),
        (
            "name: x\ntoken: ${MISSING}\n",
            ":2: token: expected environment variable MISSING to be set (in the environment), found it unset",
        ),
        ("name: ${MISSING}\n", ":1: name: expected environment variable MISSING to be set"),
        ("name: x\ncount: [1]\n", ":2: count: expected a whole number, found a list"),
        ("name: x\ntags: a\n", ":2: tags: expected a list, found 'a'"),
        ("name: x\nlimits: [1]\n", ":2: limits: expected a mapping, found a list"),
        ("name: x\ninner: 3\n", ":2: inner: expected a mapping, found '3'"),
        (
            "name: x\ninner: {levle: 3}\n",
            ":2: inner.levle: expected one of level (did you mean 'level'?), found unknown key",
        ),
        ("name: x\nzzz: 1\n", ":2: zzz: expected one of name, flag, count"),
        ("name: x\nname: y\n", ":2: name: expected each key once, found it repeated"),
        ("flag: true\n", ":1: name: expected this key (it is required), found it missing"),
        ("name: x\ntags: [a, long]\n", ":2: tags[1]: expected at most 3 characters, found 'long'"),
        ("name: x\ncode: long\n", ":2: code: expected at most 3 characters, found 'long'"),
        ("name: x\ncount: 100\nflag: no\n", ":1: the top level: expected count below 100, found count; flag; name"),
        ("[1]\n", ":1: the top level: expected a mapping, found a list"),
    ],
)
def test_errors_name_the_line_key_and_what_was_found(text: str, message: str):
    with pytest.raises(ConfigError) as caught:
        read(text)
    assert str(caught.value).startswith(str(FILE) + message), str(caught.value)


def test_an_unsupported_field_type_is_a_programming_error():
    with pytest.raises(TypeError, match="not supported"):
        read("value: 1\n", Odd)
