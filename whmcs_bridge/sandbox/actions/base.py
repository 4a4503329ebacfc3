"""What every emulated action shares: parameters, error answers, hook events, money and paging."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from whmcs_bridge.sandbox.state import SandboxState

INVOICE_STATUSES = ("Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending")
ZERO_DATETIME = "0000-00-00 00:00:00"


class ApiFail(Exception):
    """An error answer: `{"result": "error", "message": ...}` (or `status` for the actions that use it)."""

    def __init__(self, message: str, key: str = "result") -> None:
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass
class Hook:
    """A hook event the sandbox's emulated PHP hook sends after a state change."""

    type: str
    data: dict[str, Any]


@dataclass
class Params:
    values: dict[str, str]
    hooks: list[Hook] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return self.values.get(key, "") != ""

    def text(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def num(self, key: str, default: int = 0) -> int:
        text = self.values.get(key, "").strip()
        return int(text) if re.fullmatch(r"-?\d+", text) else default

    def flag(self, key: str) -> bool:
        return self.values.get(key, "").strip().lower() in ("1", "true", "on", "yes")

    def money(self, key: str) -> Decimal | None:
        try:
            return Decimal(self.values[key]) if self.has(key) else None
        except InvalidOperation:
            raise ApiFail(f"Invalid amount for {key}") from None

    def given(self, *keys: str) -> dict[str, str]:
        """The named parameters that the request carries (empty strings included: they clear a field)."""
        return {key: self.values[key] for key in keys if key in self.values}

    def sub(self, prefix: str) -> dict[str, str]:
        """`prefix[a]=1&prefix[b]=0` -> {"a": "1", "b": "0"}."""
        out = {}
        for key, value in self.values.items():
            match = re.fullmatch(re.escape(prefix) + r"\[([^\]]*)\]", key)
            if match:
                out[match.group(1)] = value
        return out

    def paging(self) -> tuple[int, int]:
        start = max(0, self.num("limitstart", 0))
        num = self.num("limitnum", 25)
        return start, (25 if num <= 0 else num)


@dataclass
class Where:
    """A WHERE clause built from request parameters: a parameter that is given filters on its column."""

    clauses: list[str] = field(default_factory=lambda: ["1=1"])
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *args: Any) -> None:
        self.clauses.append(clause)
        self.args.extend(args)

    def ids(self, p: Params, **columns: str) -> None:
        for param, column in columns.items():
            if p.has(param):
                self.add(f"{column} = ?", p.num(param))

    def texts(self, p: Params, **columns: str) -> None:
        for param, column in columns.items():
            if p.has(param):
                self.add(f"{column} = ?", p.text(param))

    def contains(self, p: Params, **columns: str) -> None:
        for param, column in columns.items():
            if p.has(param):
                self.add(f"{column} LIKE ?", f"%{p.text(param)}%")

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses)


def money(value: Any) -> str:
    return f"{Decimal(str(value or '0')):.2f}"


def listing(
    sb: SandboxState, p: Params, base_sql: str, args: list[Any], order: str = "id ASC"
) -> tuple[int, int, list[Any]]:
    start, num = p.paging()
    total = sb.scalar(f"SELECT COUNT(*) FROM ({base_sql})", args)
    rows = sb.all(f"{base_sql} ORDER BY {order} LIMIT ? OFFSET ?", [*args, num, start])
    return int(total), start, rows
