"""The configuration's schema: `SwarmConfig` and its sections, frozen and strict (unknown keys fail)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm_core.changeset import DEFAULT_MAX_FILE_BYTES
from swarm_core.config._mutation import MutationConfig
from swarm_core.config._paths import paths_match
from swarm_core.diff import DEFAULT_MAX_DIFF_BYTES
from swarm_core.models import Lane, Severity

__all__ = [
    "DEFAULT_COUNCIL",
    "AgentConfig",
    "AnalyzersConfig",
    "ComplexityConfig",
    "CouncilConfig",
    "CouncilMember",
    "GuardrailsConfig",
    "Instruction",
    "IssuesConfig",
    "LanesConfig",
    "LimitsConfig",
    "LlmConfig",
    "ModelsConfig",
    "PathsConfig",
    "Privacy",
    "ReviewConfig",
    "RouterMode",
    "RoutingRule",
    "RuleWhen",
    "SastConfig",
    "SecretsConfig",
    "SwarmConfig",
    "Toggle",
    "VulnerabilitiesConfig",
]

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
    """Flag functions whose cyclomatic complexity grows past the project's limit."""

    threshold: int | None = Field(
        default=None,
        ge=1,
        description="the limit; unset: the project's own (ruff's C901 max-complexity, flake8's), "
        "and no report when it sets none",
    )
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


class VulnerabilitiesConfig(Toggle):
    """Known vulnerabilities (OSV) of the package versions a change adds or bumps."""

    url: str = Field(
        default="https://api.osv.dev", description="the OSV API root: api.osv.dev or a mirror of it"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="limit for each OSV request")
    retries: int = Field(default=3, ge=1, le=10, description="attempts per request on 429, 5xx or no answer")
    cache_ttl_seconds: int = Field(
        default=86_400, ge=0, description="how long an answer per package version is reused (0: never)"
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class AnalyzersConfig(_Section):
    """Settings of the deterministic analyzers."""

    timeout_seconds: float = Field(default=120.0, gt=0)
    syntax: Toggle = Toggle()
    placeholders: Toggle = Toggle()
    secrets: SecretsConfig = SecretsConfig()
    sast: SastConfig = SastConfig()
    lint: Toggle = Toggle()
    dependencies: Toggle = Toggle()
    vulnerabilities: VulnerabilitiesConfig = VulnerabilitiesConfig()
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
    describe: Literal["auto", "off", "command"] = Field(
        default="command",
        description="walkthrough comment: on open (auto), on `/swarm describe` only (command), never (off)",
    )
    describe_edit_body: bool = Field(
        default=False, description="put the walkthrough in the PR description when its author left it empty"
    )

    @field_validator("describe", mode="before")
    @classmethod
    def _bare_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false


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
    mutation: MutationConfig = MutationConfig()

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
