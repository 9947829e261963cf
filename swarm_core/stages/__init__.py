"""The review pipeline's stages, one module each, in the order a change passes through them.

`select` (the diff: which files are read) → `analyze` (deterministic analyzers) → `lanes`
(hand findings to the six lanes, plan and fan out) → `lane` (one lane: model pass, checks,
reviewer, critic) → `verify` (anchor, de-duplicate, filter, fingerprint) → `verdict`.
`swarm_core.orchestrator` calls them in that order. No stage imports the orchestrator or
another stage, except `lanes`, which runs `lane` once per lane.
"""
