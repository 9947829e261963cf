"""The model router (the seed's ModelRouter): picks a model per task by cost, quality or speed, with a reason.

The price/quality/speed table is a data file (swarm_core/data/models.yml) that an operator
can override. Selection order for a lane: a matching rule, a fixed model for the lane,
the router's pick when a mode is set, then the default model. Every selection carries a
one-line reason and a fallback chain used when a provider call fails.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from swarm_core.config import ModelsConfig
from swarm_core.errors import ConfigError, ModelSelectionError
from swarm_core.models import Lane, Usage

__all__ = [
    "LANE_TASKS",
    "MODE_WEIGHTS",
    "ModelInfo",
    "ModelTable",
    "Router",
    "Selection",
    "load_table",
]

# The task type each lane's work is judged as (the table's quality columns).
LANE_TASKS: dict[str, str] = {
    Lane.CORRECTNESS.value: "code-review",
    Lane.SECURITY.value: "security",
    Lane.DEPENDENCIES.value: "code-review",
    Lane.DOCS_INTENT.value: "docs",
    Lane.TESTS.value: "testing",
    Lane.PERFORMANCE_ARCHITECTURE.value: "architecture",
    "reviewer": "reasoning",
    "critic": "reasoning",
    "coordinator": "reasoning",
}

# (cost, quality, speed) weights per mode.
MODE_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "cost": (0.7, 0.25, 0.05),
    "quality": (0.1, 0.85, 0.05),
    "balanced": (0.4, 0.45, 0.15),
    "speed": (0.15, 0.25, 0.6),
}

_DEFAULT_QUALITY = 50
_QUALITY_STEP = 4.0  # score points lost per quality point below the best candidate


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One row of the model table; prices are USD per million tokens."""

    name: str
    input: float
    output: float
    cached: float
    context: int
    tokens_per_s: float
    quality: dict[str, int] = field(default_factory=dict)
    local: bool = False

    @property
    def provider(self) -> str:
        """The part of the name before the first slash."""
        return self.name.partition("/")[0]

    def quality_for(self, task: str) -> int:
        """Quality for a task type, 50 when the table says nothing."""
        return self.quality.get(task, _DEFAULT_QUALITY)

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """USD for a call; cached input tokens are billed at the cached price."""
        fresh = max(0, input_tokens - cached_tokens)
        return (fresh * self.input + cached_tokens * self.cached + output_tokens * self.output) / 1e6


@dataclass(frozen=True)
class ModelTable:
    """Models by name."""

    models: dict[str, ModelInfo]

    def get(self, name: str) -> ModelInfo | None:
        """A model's row, or None when the table does not know it."""
        return self.models.get(name)

    def price(self, name: str, usage: Usage) -> float:
        """What a call cost at the table's prices; 0.0 for a model not in the table."""
        info = self.models.get(name)
        if info is None:
            return 0.0
        return info.cost(usage.input_tokens, usage.output_tokens, usage.cached_tokens)


def _row(name: str, raw: Any, origin: str) -> ModelInfo:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: {name}: expected a mapping of price, context and quality")
    try:
        quality = {str(k): int(v) for k, v in dict(raw.get("quality") or {}).items()}
        return ModelInfo(
            name=name,
            input=float(raw["input"]),
            output=float(raw["output"]),
            cached=float(raw.get("cached", raw["input"])),
            context=int(raw.get("context", 128_000)),
            tokens_per_s=float(raw.get("tokens_per_s", 50)),
            quality=quality,
            local=bool(raw.get("local", False)),
        )
    except KeyError as exc:
        raise ConfigError(f"{origin}: {name}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: {name}: {exc}") from None


@cache
def _packaged() -> dict[str, Any]:
    text = resources.files("swarm_core.data").joinpath("models.yml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def load_table(override_text: str | None = None, origin: str = "models file") -> ModelTable:
    """The packaged table, with an operator's YAML entries replacing (or `null` removing) rows.

    Raises:
        ConfigError: the override is not valid YAML or a row is malformed.
    """
    raw: dict[str, Any] = dict(_packaged())
    if override_text:
        try:
            extra = yaml.safe_load(override_text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{origin}: invalid YAML: {exc}") from None
        if extra is not None and not isinstance(extra, Mapping):
            raise ConfigError(f"{origin}: expected a mapping of model names")
        for key, value in (extra or {}).items():
            if value is None:
                raw.pop(str(key), None)
            else:
                raw[str(key)] = value
    return ModelTable({name: _row(name, row, origin) for name, row in raw.items()})


@dataclass(frozen=True, slots=True)
class Selection:
    """The model chosen for a task, why, and what to try if it fails."""

    model: str
    reason: str
    estimated_cost: float
    quality: int
    fallbacks: tuple[str, ...] = ()

    @property
    def chain(self) -> tuple[str, ...]:
        """The model then its fallbacks, without repeats."""
        return tuple(dict.fromkeys((self.model, *self.fallbacks)))


class Router:
    """Chooses models. Pure: no I/O; `available` says which providers have keys.

    Args:
        table: the model table.
        policy: the `models:` config section.
        available: provider name → True when it can be called.
        default: the default model (SWARM_MODEL, or `models.default`).
    """

    def __init__(
        self,
        table: ModelTable,
        policy: ModelsConfig,
        available: Callable[[str], bool],
        default: str | None = None,
    ) -> None:
        self.table = table
        self.policy = policy
        self.available = available
        self.default = default or policy.default

    @property
    def enabled(self) -> bool:
        """True when any model could be chosen: a default, a mode, a per-lane model or a rule."""
        return bool(self.default or self.policy.mode or self.policy.lanes or self.policy.rules)

    def _rule(self, task: str, lane: str) -> tuple[str, str] | None:
        for rule in self.policy.rules:
            w = rule.when
            if w.task is not None and w.task != task:
                continue
            if w.lane is not None and w.lane != lane:
                continue
            if w.privacy is not None and w.privacy != self.policy.privacy:
                continue
            return rule.model, rule.reason or f"rule for {w.model_dump(exclude_none=True)}"
        return None

    def _estimate(self, name: str, est_in: int, est_out: int) -> float:
        info = self.table.get(name)
        return info.cost(est_in, est_out) if info else 0.0

    def candidates(self) -> list[ModelInfo]:
        """Table models whose provider can be called (only local ones under privacy: high)."""
        out = [m for m in self.table.models.values() if self.available(m.provider)]
        if self.policy.privacy == "high":
            out = [m for m in out if m.local]
        return out

    def rank(self, task: str, est_in: int, est_out: int, mode: str) -> list[tuple[float, ModelInfo, float]]:
        """(score, model, estimated cost) for viable candidates, best first (the seed's scoring).

        Each dimension scores 0-100 relative to the other candidates, so that a mode's
        weights mean what they say: cost 100 for the cheapest, minus 50 per tenfold price;
        quality 100 for the best, minus 4 per point below it; speed is tokens/s capped at 100.
        """
        pool = []
        for m in self.candidates():
            cost = m.cost(est_in, est_out)
            if self.policy.max_cost_per_task is not None and cost > self.policy.max_cost_per_task:
                continue
            if self.policy.min_quality is not None and m.quality_for(task) < self.policy.min_quality:
                continue
            if est_in + est_out > m.context:
                continue
            pool.append((m, cost))
        if not pool:
            return []
        cheapest = min(c for _, c in pool)
        best_quality = max(m.quality_for(task) for m, _ in pool)
        w_cost, w_quality, w_speed = MODE_WEIGHTS[mode]
        scored = []
        for m, cost in pool:
            ratio = (cost / cheapest) if cheapest > 0 else (1.0 if cost == 0 else math.inf)
            cost_score = max(0.0, 100.0 - 50.0 * math.log10(ratio)) if ratio != math.inf else 0.0
            speed_score = min(100.0, m.tokens_per_s)
            quality_score = max(0.0, 100.0 - _QUALITY_STEP * (best_quality - m.quality_for(task)))
            total = w_cost * cost_score + w_quality * quality_score + w_speed * speed_score
            scored.append((total, m, cost))
        scored.sort(key=lambda t: (-t[0], t[2], t[1].name))
        return scored

    def select(
        self, lane: str, est_in: int = 8000, est_out: int = 1000, *, mode: str | None = None
    ) -> Selection:
        """The model for one task (a lane, "reviewer", "critic" or "coordinator").

        Raises:
            ModelSelectionError: no model is configured, or none meets the constraints.
        """
        task = LANE_TASKS.get(lane, "code-review")
        fallbacks = tuple(self.policy.fallback)
        fixed = self._rule(task, lane)
        if fixed is not None:
            model, why = fixed
            return self._fixed(model, why, task, est_in, est_out, fallbacks)
        roles = {
            "reviewer": self.policy.reviewer,
            "critic": self.policy.critic,
            "coordinator": self.policy.coordinator,
        }
        if lane in self.policy.lanes:
            return self._fixed(
                self.policy.lanes[lane], f"models.lanes.{lane}", task, est_in, est_out, fallbacks
            )
        if roles.get(lane):
            return self._fixed(str(roles[lane]), f"models.{lane}", task, est_in, est_out, fallbacks)
        mode = mode or self.policy.mode
        if mode is not None:
            ranked = self.rank(task, est_in, est_out, mode)
            if ranked:
                score, best, cost = ranked[0]
                rest = tuple(m.name for _, m, _ in ranked[1:3])
                reason = (
                    f"{mode} mode: best score {score:.0f} for {task} "
                    f"(quality {best.quality_for(task)}, ~${cost:.4f}, {best.tokens_per_s:g} tok/s)"
                    f" of {len(ranked)} candidate(s)"
                )
                return Selection(best.name, reason, cost, best.quality_for(task), (*fallbacks, *rest))
            if self.default is None:
                raise ModelSelectionError(self._why_none(task, mode))
        if self.default is not None:
            return self._fixed(
                self.default,
                "the default model (SWARM_MODEL / models.default)",
                task,
                est_in,
                est_out,
                fallbacks,
            )
        raise ModelSelectionError(
            "no model configured: set SWARM_MODEL (for example openai/gpt-4.1-mini) or models.mode"
        )

    def select_lanes(
        self, lanes: Sequence[str], est_in: int = 8000, est_out: int = 1000, *, margin: float | None = None
    ) -> dict[str, Selection | ModelSelectionError]:
        """Every lane's model at once, with cache affinity.

        Providers cache a prompt prefix per model, and the lanes of a review share a long
        prefix (the diff). So among lanes the router picks by mode, those whose scores put
        one model within `margin` points (default `models.cache_affinity`) of their best all
        get that model: one cache serves them. Lanes fixed by a rule or by config are left
        alone. An error is returned in place, for the lane to report.
        """
        out: dict[str, Selection | ModelSelectionError] = {}
        for lane in lanes:
            try:
                out[lane] = self.select(lane, est_in, est_out)
            except ModelSelectionError as exc:
                out[lane] = exc
        mode = self.policy.mode
        margin = self.policy.cache_affinity if margin is None else margin
        if mode is None or margin <= 0:
            return out
        near: dict[str, dict[str, float]] = {}
        for lane in lanes:
            chosen = out[lane]
            if not isinstance(chosen, Selection) or not chosen.reason.startswith(f"{mode} mode"):
                continue
            ranked = self.rank(LANE_TASKS.get(lane, "code-review"), est_in, est_out, mode)
            best = ranked[0][0]
            near[lane] = {m.name: score for score, m, _ in ranked if score >= best - margin}
        if len(near) < 2:
            return out
        votes = Counter(name for scores in near.values() for name in scores)
        # Most lanes first; then the model most lanes chose anyway (fewest changes); then score.
        already = Counter(sel.model for lane in near if isinstance(sel := out[lane], Selection))
        shared = max(
            votes,
            key=lambda name: (votes[name], already[name], sum(s.get(name, 0.0) for s in near.values())),
        )
        if votes[shared] < 2:
            return out
        for lane, scores in near.items():
            chosen = out[lane]
            if shared not in scores or not isinstance(chosen, Selection) or chosen.model == shared:
                continue
            info = self.table.models[shared]
            task = LANE_TASKS.get(lane, "code-review")
            gap = max(scores.values()) - scores[shared]
            reason = (
                f"{mode} mode: {shared} is within {gap:.0f} point(s) of the best for {task} and "
                f"shares the cached prompt prefix with {votes[shared] - 1} other lane(s)"
            )
            rest = tuple(m for m in (chosen.model, *chosen.fallbacks) if m != shared)
            out[lane] = Selection(shared, reason, info.cost(est_in, est_out), info.quality_for(task), rest)
        return out

    def _fixed(
        self, model: str, why: str, task: str, est_in: int, est_out: int, fallbacks: tuple[str, ...]
    ) -> Selection:
        info = self.table.get(model)
        quality = info.quality_for(task) if info else _DEFAULT_QUALITY
        priced = "" if info else " (not in the price table: cost counted as $0)"
        return Selection(model, f"{why}{priced}", self._estimate(model, est_in, est_out), quality, fallbacks)

    def _why_none(self, task: str, mode: str) -> str:
        have = self.candidates()
        if not have:
            scope = "local models" if self.policy.privacy == "high" else "models"
            return f"{mode} mode found no {scope} whose provider has a key set; set OPENAI_API_KEY or similar"
        limits = []
        if self.policy.max_cost_per_task is not None:
            limits.append(f"max_cost_per_task ${self.policy.max_cost_per_task}")
        if self.policy.min_quality is not None:
            limits.append(f"min_quality {self.policy.min_quality}")
        return f"no model meets {' and '.join(limits) or 'the context size'} for {task}"
