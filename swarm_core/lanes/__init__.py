"""The six review lanes: what each looks at, and how analyzer findings are handed to them.

What the models read lives in `lanes.context`, what they must answer in `lanes.schema`, and
the prompts are data files in swarm_core/prompts. A lane's run (model pass, reviewer,
critic) is the lanes stage's: `swarm_core.stages.lane`.
"""

from __future__ import annotations

from collections.abc import Iterable

from swarm_core.config import SwarmConfig
from swarm_core.models import Finding, Lane, LaneResult, LaneStatus

__all__ = ["LANE_FOCUS", "LLM_DISABLED_NOTE", "assign"]

LANE_FOCUS: dict[Lane, str] = {
    Lane.CORRECTNESS: ("logic, null handling, async ordering, races, off-by-one, error paths, compatibility"),
    Lane.SECURITY: (
        "injection, authz/authn, SSRF, path traversal, secrets, unsafe deserialisation, prompt injection"
    ),
    Lane.DEPENDENCIES: "manifest and lockfile drift, version bumps, breaking APIs, runtime needs, licences",
    Lane.DOCS_INTENT: "what the PR says vs what the code does, docs and changelog drift, linked-issue claims",
    Lane.TESTS: "missing or weak tests for changed behaviour, tautological assertions, flakiness",
    Lane.PERFORMANCE_ARCHITECTURE: "complexity, hot paths, leaks, coupling, global state",
}

LLM_DISABLED_NOTE = (
    "LLM lanes were skipped: no model is configured, so each lane reported its deterministic "
    "analyzers' findings only. Turn model review on with SWARM_MODEL "
    "(for example openai/gpt-4.1-mini) and the provider's key (OPENAI_API_KEY), "
    "or with models.mode in .github/swarm.yml."
)


def assign(findings: Iterable[Finding], config: SwarmConfig) -> list[LaneResult]:
    """Hand each finding to the lane that owns it; a disabled lane keeps none.

    With no model configured every enabled lane is DETERMINISTIC: it reports exactly the
    analyzer findings it owns.
    """
    by_lane: dict[Lane, list[Finding]] = {lane: [] for lane in Lane}
    for f in findings:
        by_lane[f.lane].append(f)
    results = []
    for lane in Lane:
        if not config.lanes.enabled(lane):
            dropped = len(by_lane[lane])
            note = (
                f"disabled in config ({dropped} analyzer finding(s) not reported)"
                if dropped
                else "disabled in config"
            )
            results.append(LaneResult(lane, LaneStatus.DISABLED, note=note))
            continue
        results.append(
            LaneResult(lane, LaneStatus.DETERMINISTIC, tuple(by_lane[lane]), note=LANE_FOCUS[lane])
        )
    return results
