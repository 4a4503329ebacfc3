"""WHMCS's values as it sends them, made plain: ids and counts as ints or numeric strings, money as a string or a
formatted amount, `0000-00-00` dates, booleans as `"1"`, `"on"` or `""`, lists in every empty or wrapped form, and
flattened NVP keys (the quirks whmcs/normalize.py lists). Every parser of normalize_*.py reads through these."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Raw = Mapping[str, Any]

_FLAT_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
_TRUE = {"1", "true", "on", "yes", "y"}
_MONEY = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


# Answers whose numeric keys mean something: GetTLDPricing's prices are keyed by number of years ("1",
# "2", ... DD:api-reference/gettldpricing.md), and a TLD may price some years only: never a list there.
KEYED_BY_NUMBER = frozenset({"GetTLDPricing"})


def unflatten(raw: Raw | list[Any], keep_numeric_keys: bool = False) -> dict[str, Any]:
    """Turn flattened `a[b][0][c]` keys (the NVP form some docs print) into nested dicts and lists.

    Keys are stripped (GetProject's example has `"projectinfo[notes] "`); an answer that is a bare
    list (GetRegistrars' example is `[]`) becomes `{"items": [...]}`.
    """
    if not isinstance(raw, Mapping):
        return {"items": list(raw)} if raw else {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        key = key.strip() if isinstance(key, str) else key
        match = _FLAT_KEY.match(key) if isinstance(key, str) else None
        if not match:
            out[key] = value
            continue
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node: dict[str, Any] = out
        for part in parts[:-1]:  # digit keys stay dict keys here; _digits_to_lists makes them lists
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a plain key and a flattened one collide: keep the plain one
                break
            node = child
        else:
            node[parts[-1]] = value
    return out if keep_numeric_keys else _digits_to_lists(out)


def _digits_to_lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _digits_to_lists(v) for k, v in node.items()}
        if node and all(isinstance(k, str) and k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    if isinstance(node, list):
        return [_digits_to_lists(v) for v in node]
    return node


def to_int(value: Any) -> int | None:
    """`"12"`, `12`, `12.0` -> 12; `""`, None, `"abc"` -> None."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.0*", text):
        return int(float(text))
    return None


def to_str(value: Any) -> str:
    return "" if value is None else str(value)


def to_bool(value: Any) -> bool:
    """WHMCS booleans: `true`, `1`, `"1"`, `"on"`, `"yes"` are true; `""`, `"0"`, `"off"`, null are false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return to_str(value).strip().lower() in _TRUE


def to_decimal(value: Any) -> Decimal | None:
    """Money as Decimal: `"15.95"`, `15.95`, `"$2,645.80 USD"`; empty -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    match = _MONEY.search(str(value))
    if not match:
        return None
    try:
        return Decimal(match.group(0).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return None


def to_money(value: Any) -> Decimal:
    return to_decimal(value) or Decimal("0.00")


def to_date(value: Any) -> date | None:
    """`2016-01-01` or `2016-01-01 10:00:00` -> date; `0000-00-00`, `""`, null -> None."""
    text = to_str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def to_datetime(value: Any) -> datetime | None:
    """WHMCS datetimes are naive local time of the WHMCS server; `0000-00-00 00:00:00` -> None."""
    text = to_str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return datetime.fromisoformat(text.replace("T", " ")[:19])
    except ValueError:
        day = to_date(text)
        return datetime(day.year, day.month, day.day) if day else None


def as_list(value: Any, inner: str | None = None) -> list[dict[str, Any]]:
    """Every empty or wrapped list form -> a plain list of dicts.

    Accepts `""`, None, `{}`, `[]`, `[[]]`, `{inner: [...]}`, `{inner: {...}}` (single object),
    `{"0": {...}, "1": {...}}` (numeric keys), and a bare object.
    """
    if value is None or value == "" or value == {} or value == []:
        return []
    if isinstance(value, dict):
        if inner is not None and inner in value:
            return as_list(value[inner])
        if value and all(isinstance(k, str) and k.isdigit() for k in value):
            return as_list([value[k] for k in sorted(value, key=int)])
        return [dict(value)]
    if isinstance(value, list):
        items: list[dict[str, Any]] = []
        for item in value:
            if isinstance(item, dict) and item:
                items.append(dict(item))
            elif isinstance(item, list):
                items.extend(as_list(item))
        return items
    return []


def ids(value: Any) -> int:
    """A required id: 0 when WHMCS sends nothing usable (WHMCS itself uses 0 for 'none')."""
    return to_int(value) or 0
