"""The sandbox's Smarty: WHMCS parses an email's subject and message as Smarty templates
(DD:api-reference/sendemail.md: `{$custommerge}` in `custommessage`; "Sending Failed ... Email template
contains no body content after processing (typically a Smarty error)"), and `customvars` supplies the
variables, as base64 of a serialized PHP array (the page's example) or as an array (its parameter table).

Only what the bridge may meet is understood: `{$name}`, `{literal}...{/literal}`, `{ldelim}`, `{rdelim}`
and `{* comments *}`. Every other `{` fails, including `{ color: red }` (Smarty 3's auto_literal would let
a brace followed by a space through) and `{if ...}` (real Smarty knows it): stricter than WHMCS on
purpose, so a bridge that passes here does not depend on either.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

VARIABLE = re.compile(r"\$(\w+)")


class SmartyError(ValueError):
    """The template does not compile: WHMCS answers "Sending Failed"."""


class CustomVarsError(ValueError):
    """`customvars` is neither an array nor base64 of a serialized array."""


def render(template: str, variables: Mapping[str, str]) -> str:
    """The template with its variables substituted (an unknown variable is empty, as in Smarty); a value
    is inserted as it is, never parsed again."""
    out: list[str] = []
    at = 0
    while (start := template.find("{", at)) >= 0:
        out.append(template[at:start])
        text, at = _tag(template, start, variables)
        out.append(text)
    out.append(template[at:])
    return "".join(out)


def _tag(template: str, start: int, variables: Mapping[str, str]) -> tuple[str, int]:
    """What the tag opening at `start` renders to, and where the text after it starts."""
    for opening, closing in (("{*", "*}"), ("{literal}", "{/literal}")):
        if template.startswith(opening, start):
            end = template.find(closing, start + len(opening))
            if end < 0:
                raise SmartyError(f"{opening} at {start} is never closed by {closing}")
            inner = template[start + len(opening) : end]
            return ("" if opening == "{*" else inner), end + len(closing)
    end = template.find("}", start)
    if end < 0:
        raise SmartyError(f"the brace at {start} is never closed")
    tag = template[start + 1 : end]
    if tag in ("ldelim", "rdelim"):
        return ("{" if tag == "ldelim" else "}"), end + 1
    variable = VARIABLE.fullmatch(tag)
    if variable is None:
        raise SmartyError(f"{{{tag[:40]}}} at {start} is not a variable")
    return str(variables.get(variable.group(1), "")), end + 1


def custom_vars(form: Mapping[str, str]) -> dict[str, str]:
    """The `customvars` of a request: `customvars[name]=value` fields, or one base64 serialized array."""
    prefix = "customvars["
    fields = {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k.endswith("]")}
    if fields:
        return fields
    encoded = form.get("customvars", "")
    if not encoded:
        return {}
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise CustomVarsError("not base64") from None
    return unserialize_array(raw)


def unserialize_array(raw: bytes) -> dict[str, str]:
    """PHP's unserialize() of a flat array of scalars (`a:N:{key;value;...}`); lengths count bytes."""
    match = re.match(rb"a:(\d+):\{", raw)
    if match is None:
        raise CustomVarsError("not a serialized array")
    at, out = match.end(), {}
    for _ in range(int(match.group(1))):
        key, at = _scalar(raw, at)
        value, at = _scalar(raw, at)
        out[key] = value
    if raw[at:] != b"}":
        raise CustomVarsError("trailing data after the array")
    return out


def _scalar(raw: bytes, at: int) -> tuple[str, int]:
    string = re.compile(rb's:(\d+):"').match(raw, at)
    if string:
        begin = string.end()
        end = begin + int(string.group(1))
        if raw[end : end + 2] != b'";':
            raise CustomVarsError("a string's length does not match")
        try:
            return raw[begin:end].decode("utf-8"), end + 2
        except UnicodeDecodeError:
            raise CustomVarsError("a string is not UTF-8") from None
    number = re.compile(rb"([idb]):(-?[0-9.]+);").match(raw, at)
    if number:
        return number.group(2).decode(), number.end()
    if raw[at : at + 2] == b"N;":
        return "", at + 2
    raise CustomVarsError(f"no scalar at byte {at}")
