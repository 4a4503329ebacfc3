"""Process-wide counters and their Prometheus text rendering (no client library needed for a handful of series)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable


class Counter:
    def __init__(self, name: str, help_text: str, label: str | None = None) -> None:
        self.name = name
        self.help = help_text
        self.label = label
        self._values: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, label_value: str = "", amount: float = 1.0) -> None:
        with self._lock:
            self._values[label_value] += amount

    def value(self, label_value: str = "") -> float:
        with self._lock:
            return self._values.get(label_value, 0.0)

    def samples(self) -> list[tuple[str, float]]:
        with self._lock:
            return sorted(self._values.items())


Gauges = Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]


class Registry:
    """Counters kept in memory plus gauges computed at scrape time (backlog figures read from the store)."""

    def __init__(self) -> None:
        self.counters: dict[str, Counter] = {}
        self.gauge_sources: list[Gauges] = []

    def counter(self, name: str, help_text: str, label: str | None = None) -> Counter:
        if name not in self.counters:
            self.counters[name] = Counter(name, help_text, label)
        return self.counters[name]

    def render(self) -> str:
        lines: list[str] = []
        for counter in self.counters.values():
            lines.append(f"# HELP {counter.name} {counter.help}")
            lines.append(f"# TYPE {counter.name} counter")
            samples = counter.samples() or [("", 0.0)]
            for label_value, value in samples:
                labels = f'{{{counter.label}="{_escape(label_value)}"}}' if counter.label and label_value else ""
                lines.append(f"{counter.name}{labels} {_number(value)}")
        seen: set[str] = set()
        for source in self.gauge_sources:
            for name, help_text, label_map, value in source():
                if name not in seen:
                    lines.append(f"# HELP {name} {help_text}")
                    lines.append(f"# TYPE {name} gauge")
                    seen.add(name)
                rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(label_map.items()))
                lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """Every digit: a Unix time is ten (`%g` keeps six: 41 minutes out)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
