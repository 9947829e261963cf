"""Prometheus text metrics without a dependency: counters and a few gauges, per process."""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Metrics"]


class Metrics:
    """Thread-safe counters and gauges, rendered in the Prometheus exposition format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def count(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        with self._lock:
            self._counters[(name, tuple(sorted(labels.items())))] += value

    def gauge(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        with self._lock:
            self._gauges[(name, tuple(sorted(labels.items())))] = value

    def render(self) -> str:
        """The exposition text."""
        lines: list[str] = []
        with self._lock:
            counters = dict(self._counters)
            gauges = dict(self._gauges)
        for kind, series in (("counter", counters), ("gauge", gauges)):
            names = sorted({n for n, _ in series})
            for name in names:
                lines.append(f"# TYPE swarm_{name} {kind}")
                for (n, labels), value in sorted(series.items()):
                    if n == name:
                        label = ",".join(f'{k}="{_quote(v)}"' for k, v in labels)
                        lines.append(
                            f"swarm_{name}{{{label}}} {value:g}" if label else f"swarm_{name} {value:g}"
                        )
        return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
