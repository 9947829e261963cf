"""Configuration: one frozen `SwarmConfig`, built once and passed explicitly.

_schema    SwarmConfig and its sections (the `.github/swarm.yml` schema)
_parsing   YAML text or a file to a SwarmConfig, with `origin:line: key: what` errors;
           `merge`, the pure way overrides (flags, an operator's defaults) make a new one
_paths     gitignore-style path filters (`paths_match`)
_mutation  the `mutation:` section (the Action's opt-in mutation gate)
"""

from __future__ import annotations

from swarm_core.config._mutation import MutationConfig, MutationPathsConfig
from swarm_core.config._parsing import CONFIG_PATH, load_config, merge, parse_config
from swarm_core.config._paths import paths_match
from swarm_core.config._schema import (
    DEFAULT_COUNCIL,
    AgentConfig,
    AnalyzersConfig,
    ComplexityConfig,
    CouncilConfig,
    CouncilMember,
    GuardrailsConfig,
    Instruction,
    IssuesConfig,
    LanesConfig,
    LimitsConfig,
    LlmConfig,
    ModelsConfig,
    PathsConfig,
    Privacy,
    ReviewConfig,
    RouterMode,
    RoutingRule,
    RuleWhen,
    SastConfig,
    SecretsConfig,
    SwarmConfig,
    Toggle,
    VulnerabilitiesConfig,
)

__all__ = [
    "CONFIG_PATH",
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
    "MutationConfig",
    "MutationPathsConfig",
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
    "load_config",
    "merge",
    "parse_config",
    "paths_match",
]
