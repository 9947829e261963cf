"""Configuration: the `.github/swarm.yml` schema, loading with precise errors, and pure merging.

One frozen `SwarmConfig` is built once and passed explicitly; overrides (command-line
flags, an operator's defaults) produce a new object through `merge`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pathspec
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from swarm_core.changeset import DEFAULT_MAX_FILE_BYTES
from swarm_core.diff import DEFAULT_MAX_DIFF_BYTES
from swarm_core.errors import ConfigError
from swarm_core.models import Lane, Severity

__all__ = [
    "CONFIG_PATH",
    "AnalyzersConfig",
    "GuardrailsConfig",
    "Instruction",
    "LlmConfig",
    "ModelsConfig",
    "RoutingRule",
    "SwarmConfig",
    "load_config",
    "merge",
    "parse_config",
    "paths_match",
]

CONFIG_PATH = ".github/swarm.yml"

_STRICT = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Section(BaseModel):
    model_config = _STRICT


class Toggle(_Section):
    """An analyzer that can only be switched on or off."""

    enabled: bool = True


class SastConfig(Toggle):
    """Bandit always (for Python); semgrep when installed and given rules."""

    semgrep_rules: tuple[str, ...] = Field(
        default=(), description="semgrep --config values: rule files, directories or registry ids"
    )
    bandit_skip: tuple[str, ...] = Field(
        default=("B404",),
        description="bandit test ids to skip (B404 flags every subprocess import)",
    )


class ComplexityConfig(Toggle):
    """Flag functions whose cyclomatic complexity grows past a threshold."""

    threshold: int = Field(default=10, ge=1)
    step: int = Field(
        default=5, ge=1, description="report a function already past the threshold when it grows by this much"
    )


class SecretsConfig(Toggle):
    """detect-secrets over added lines."""

    exclude: tuple[str, ...] = Field(
        default=(
            "**/package-lock.json",
            "**/yarn.lock",
            "**/pnpm-lock.yaml",
            "**/poetry.lock",
            "**/uv.lock",
            "**/Cargo.lock",
            "**/go.sum",
            "**/*.svg",
            "**/*.min.js",
        ),
        description="globs of files never scanned for secrets",
    )


class AnalyzersConfig(_Section):
    """Settings of the deterministic analyzers."""

    timeout_seconds: float = Field(default=120.0, gt=0)
    syntax: Toggle = Toggle()
    placeholders: Toggle = Toggle()
    secrets: SecretsConfig = SecretsConfig()
    sast: SastConfig = SastConfig()
    lint: Toggle = Toggle()
    dependencies: Toggle = Toggle()
    tests: Toggle = Toggle()
    docs: Toggle = Toggle()
    complexity: ComplexityConfig = ComplexityConfig()
    regression: Toggle = Toggle()


class LanesConfig(_Section):
    """Which of the six lanes run."""

    correctness: bool = True
    security: bool = True
    dependencies: bool = True
    docs_intent: bool = Field(default=True, alias="docs-intent")
    tests: bool = True
    performance_architecture: bool = Field(default=True, alias="performance-architecture")

    def enabled(self, lane: Lane) -> bool:
        """True when the lane is switched on."""
        return bool(getattr(self, lane.value.replace("-", "_")))


class PathsConfig(_Section):
    """Which changed files are reviewed: gitignore-style patterns (see `paths_match`)."""

    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = (
        "**/node_modules/**",
        "**/vendor/**",
        "**/dist/**",
        "**/*.min.js",
        "**/*.min.css",
    )


class Instruction(_Section):
    """Extra review instructions for files matching a glob (read by the LLM lanes)."""

    path: str
    text: str = Field(min_length=1)


class LimitsConfig(_Section):
    """Size limits that keep a review fast and bounded."""

    max_diff_bytes: int = Field(default=DEFAULT_MAX_DIFF_BYTES, gt=0)
    max_files: int = Field(default=3000, gt=0)
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)


class ReviewConfig(_Section):
    """How findings are published, and which pull requests the App reviews by itself."""

    max_inline_comments: int = Field(default=30, ge=0)
    auto: bool = Field(default=True, description="review pull requests on open and on every push")
    drafts: bool = Field(default=False, description="also review draft pull requests automatically")
    bots: bool = Field(default=False, description="also review pull requests opened by bots")


RouterMode = Literal["cost", "quality", "balanced", "speed"]


class CouncilMember(_Section):
    """One council member: a name, a role (its lens) and optionally its own model."""

    name: str = Field(min_length=1, max_length=40)
    role: str = Field(min_length=1, max_length=600)
    model: str | None = None


DEFAULT_COUNCIL = (
    CouncilMember(name="advocate", role="Make the strongest honest case FOR the proposal or change."),
    CouncilMember(
        name="challenger", role="Find what is wrong, risky or missing; argue AGAINST unless it holds."
    ),
    CouncilMember(
        name="domain-expert",
        role="Judge it as a senior engineer of this codebase: correctness, maintainability, operations.",
    ),
)


class CouncilConfig(_Section):
    """The council (`/swarm council`): members answer alone, disagreements get one rebuttal round."""

    members: tuple[CouncilMember, ...] = DEFAULT_COUNCIL
    moderator: str | None = Field(
        default=None, description="model of the moderator (default: the default model)"
    )
    disagreement: float = Field(
        default=0.4, ge=0, le=1, description="confidence spread that also counts as disagreement"
    )


class AgentConfig(_Section):
    """An agent: a role, a backend, a model (or router mode), a tool whitelist and limits."""

    name: str = Field(min_length=1, max_length=60, pattern=r"^[\w.-]+$")
    role: str = Field(min_length=1, max_length=4000, description="the system prompt")
    backend: Literal["llm", "opencode"] = "llm"
    model: str | None = None
    mode: RouterMode | None = None
    tools: tuple[str, ...] = Field(
        default=(), description="tools the agent may use (opencode); empty: read-only"
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=4096, ge=64)
    min_quality: int | None = Field(default=None, ge=0, le=100)
    timeout_seconds: float = Field(default=300.0, gt=0)


class IssuesConfig(_Section):
    """Issue analysis (`/swarm issue`)."""

    auto_analyze: bool = Field(default=False, description="analyse every new issue automatically")


Privacy = Literal["low", "medium", "high"]


class RuleWhen(_Section):
    """A routing rule's condition: every key given must match."""

    task: str | None = None
    lane: str | None = None
    privacy: Privacy | None = None


class RoutingRule(_Section):
    """Send matching work to a fixed model."""

    when: RuleWhen
    model: str
    reason: str = ""


class ModelsConfig(_Section):
    """Which model each lane uses (the router, DESIGN §2).

    A lane's model is the first of: a matching rule, `lanes.<lane>`, the router's pick
    when `mode` is set, then `default` (SWARM_MODEL overrides `default`).
    """

    default: str | None = Field(default=None, description="provider/model for every lane")
    mode: RouterMode | None = Field(default=None, description="route each task by cost/quality/speed")
    lanes: dict[str, str] = Field(default_factory=dict, description="a fixed model per lane")
    reviewer: str | None = Field(default=None, description="model of the reviewer pass (default: the lane's)")
    critic: str | None = Field(
        default=None, description="model of the critic pass; a different model gives a real second opinion"
    )
    coordinator: str | None = None
    fallback: tuple[str, ...] = Field(default=(), description="models tried in order when a call fails")
    max_cost_per_task: float | None = Field(default=None, gt=0)
    min_quality: int | None = Field(default=None, ge=0, le=100)
    privacy: Privacy = Field(default="low", description="high: only models that run locally")
    cache_affinity: float = Field(
        default=5.0,
        ge=0.0,
        le=100.0,
        description="routed lanes share one model when it scores within this many points of "
        "their best, so one prompt cache serves them (0: off)",
    )
    rules: tuple[RoutingRule, ...] = ()

    @field_validator("lanes")
    @classmethod
    def _known_lanes(cls, value: dict[str, str]) -> dict[str, str]:
        known = {lane.value for lane in Lane}
        for key in value:
            if key not in known:
                raise ValueError(f"unknown lane {key!r}; lanes are {', '.join(sorted(known))}")
        return value


class GuardrailsConfig(_Section):
    """Per-run limits on model use; a limit hit publishes what finished and says what was cut."""

    max_calls: int = Field(default=80, ge=1)
    max_tokens: int = Field(default=2_000_000, ge=1)
    max_cost_usd: float = Field(default=2.0, gt=0)
    max_wall_seconds: float = Field(default=900.0, gt=0)
    lane_timeout_seconds: float = Field(default=300.0, gt=0)
    call_timeout_seconds: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=1, description="attempts per call, backoff 1 s x 2^n between them")
    backoff_seconds: float = Field(default=1.0, ge=0)
    transient_budget: int = Field(default=10, ge=0, description="429/503/529 retries allowed per run")
    breaker_threshold: int = Field(
        default=3, ge=1, description="consecutive failed calls that stop the run's model work"
    )


class LlmConfig(_Section):
    """How the model lanes run."""

    mode: Literal["parallel", "sequential", "hierarchical"] = "parallel"
    council: bool = Field(default=False, description="adversarial lanes: assume the change is wrong")
    reviewer: bool = Field(default=True, description="reviewer pass over every model finding")
    critic: bool = Field(default=True, description="critic pass over HIGH and CRITICAL model findings")
    chunk_tokens: int = Field(default=48_000, ge=1000, description="diff tokens per chunk sent to a lane")
    max_chunks: int = Field(default=8, ge=1)
    max_output_tokens: int = Field(default=4096, ge=256)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    memory_ttl_seconds: int = Field(default=86_400, ge=1)
    agents_md: bool = Field(default=True, description="read AGENTS.md from the repo as instructions")
    limits: GuardrailsConfig = GuardrailsConfig()


class SwarmConfig(_Section):
    """The whole configuration of a review."""

    version: Literal[1] = 1
    lanes: LanesConfig = LanesConfig()
    paths: PathsConfig = PathsConfig()
    instructions: tuple[Instruction, ...] = ()
    severity_threshold: Severity = Field(
        default=Severity.LOW, description="findings below this severity are not reported"
    )
    fail_on: str = Field(
        default="never", description="exit 1 / failing check when a finding is at or above this, or never"
    )
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    analyzers: AnalyzersConfig = AnalyzersConfig()
    limits: LimitsConfig = LimitsConfig()
    review: ReviewConfig = ReviewConfig()
    models: ModelsConfig = ModelsConfig()
    llm: LlmConfig = LlmConfig()
    issues: IssuesConfig = IssuesConfig()
    council: CouncilConfig = CouncilConfig()
    agents: tuple[AgentConfig, ...] = ()
    opencode_url: str = Field(default="http://127.0.0.1:4096", description="where `opencode serve` listens")

    @field_validator("severity_threshold", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("fail_on", mode="before")
    @classmethod
    def _fail_on(cls, value: object) -> str:
        text = str(value).strip().lower()
        if text != "never" and text not in {s.value for s in Severity}:
            raise ValueError("must be one of critical, high, medium, low or never")
        return text

    @property
    def fail_threshold(self) -> Severity | None:
        """The severity that fails the run, or None for `never`."""
        return None if self.fail_on == "never" else Severity(self.fail_on)

    def includes(self, path: str) -> bool:
        """True when a changed path is reviewed under `paths`."""
        return paths_match(self.paths.include, path) and not paths_match(self.paths.exclude, path)

    def instructions_for(self, path: str) -> tuple[str, ...]:
        """The per-path instructions that apply to a file."""
        return tuple(i.text for i in self.instructions if paths_match((i.path,), path))


@cache
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # Brackets stay literal: route files such as `app/[slug]/page.tsx` (Next.js, SvelteKit)
    # are far more common in path filters than character classes, and were literal before.
    escaped = [p.replace("[", r"\[").replace("]", r"\]") for p in patterns]
    return pathspec.GitIgnoreSpec.from_lines(escaped)


def paths_match(patterns: Sequence[str], path: str) -> bool:
    """True when a repository path matches a list of gitignore-style patterns.

    The patterns read as in a `.gitignore`: `*` stays within a directory, `**` crosses
    directories, a pattern without a slash matches a name at any depth, one ending in `/`
    matches everything under that directory, a leading `/` anchors at the root, and a later
    `!pattern` takes back what an earlier one matched (the last match wins). Brackets are
    literal, unlike git's.

    Args:
        patterns: the patterns, in order.
        path: a slash-separated path relative to the repository root.

    Returns:
        Whether the last pattern that matches the path is not a negation.
    """
    return _spec(tuple(patterns)).match_file(path)


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if str(key.value) == str(part) or str(key.value).replace("-", "_") == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


def parse_config(text: str, origin: str = CONFIG_PATH) -> SwarmConfig:
    """Parse and validate YAML config text.

    Raises:
        ConfigError: invalid YAML or schema; one line per problem: `origin:line: key: what`.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}:1: the config must be a mapping of keys, not {type(data).__name__}")
    try:
        return SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, root, origin)) from None


def _explain(exc: ValidationError, root: yaml.Node | None, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Union members add their type name to the location; keep only real keys.
        loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("literal[", "enum[")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f"{origin}:{line}" if line is not None else origin
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `swarm config check --help`)"
        lines.append(f"{where}: {key}: {msg}")
    return "\n".join(dict.fromkeys(lines))


def load_config(path: str | Path | None) -> SwarmConfig:
    """Load a config file; None or a missing default file gives the defaults.

    Raises:
        ConfigError: the file cannot be read or is invalid.
    """
    if path is None:
        return SwarmConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, str(p))


def merge(config: SwarmConfig, overrides: Mapping[str, Any]) -> SwarmConfig:
    """A new config with `overrides` (nested mappings) applied; the input is unchanged.

    Raises:
        ConfigError: the result is invalid.
    """
    data = _deep_merge(config.model_dump(by_alias=True), overrides)
    try:
        return SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, None, "override")) from None


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
