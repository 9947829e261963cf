"""A job that failed for good still ends its check run: with the reason and what to do, never "in progress".

A review job notes its check run (`note_check_run`) as soon as it has one. When the worker
gives the job up (no such pull request any more, a refusal, or its last attempt used up),
it calls `conclude_failed_job`, which completes that run if it is still open. A required
check left "in progress" would block the merge with no word of why.

The conclusion is the operator's choice (SWARM_CHECK_ON_FAILURE): `neutral` (the default)
lets the pull request merge without swarm's verdict; `failure` blocks it until a re-run
succeeds.
"""

from __future__ import annotations

from typing import Any

from swarm_core.config import SwarmConfig
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.publisher import Publisher
from swarm_core.github.services import Services, gh
from swarm_core.store.queue import Job

__all__ = ["CHECK_RUN_NS", "close_superseded_check_runs", "conclude_failed_job", "note_check_run"]

CHECK_RUN_NS = "job-check-run"
PR_CHECK_RUNS_NS = "pr-check-runs"  # per pull request: the heads reviewed and their runs
_KEEP_S = 7 * 86_400.0  # far past any job's retries
_WHAT_TO_DO = (
    "What to do: re-run this check from the Checks tab, or comment `/swarm pr-review`. If it fails "
    "again, the App's operator finds the job and its error with `swarm runs` and in the App's log."
)


async def note_check_run(services: Services, job: Job, pr: PullRequest, check_run_id: int) -> None:
    """Remember the job's check run, so a failure for good can close it."""
    value = {"repo": pr.repo, "number": pr.number, "head_sha": pr.head_sha, "check_run_id": check_run_id}
    await services.state.set(CHECK_RUN_NS, job.id, value, ttl=_KEEP_S)


async def conclude_failed_job(job: Job, services: Services, reason: str) -> dict[str, Any] | None:
    """Complete the failed job's check run, if it has one still open; returns what was done.

    Raises:
        GitHubError: GitHub refused the update (the worker logs it; the job stays failed).
    """
    entry = await services.state.get(CHECK_RUN_NS, job.id)
    if entry is None or not isinstance(entry.value, dict):
        return None  # the job failed before it made a check run
    noted: dict[str, Any] = entry.value
    client = services.clients(job.payload.get("installation_id"))
    repo, head_sha, check_id = str(noted["repo"]), str(noted["head_sha"]), int(noted["check_run_id"])
    if not await _open(client, repo, head_sha, check_id):
        return None  # finished meanwhile (a later job reused it), or gone
    pr = PullRequest(repo, int(noted["number"]), "", "", head_sha, "", False, "", "", "", "")
    attempts = f"{job.attempts} attempt" + ("" if job.attempts == 1 else "s")
    summary = f"swarm gave up on this review after {attempts}: {reason}\n\n{_WHAT_TO_DO}"
    conclusion = services.check_on_failure
    publisher = Publisher(client, SwarmConfig())  # closing a run reads no repository config
    await gh(publisher.close_check, pr, check_id, conclusion, "swarm could not finish this review", summary)
    await services.state.delete(CHECK_RUN_NS, job.id)
    return {"check_run_id": check_id, "conclusion": conclusion}


async def close_superseded_check_runs(
    services: Services, client: GitHubClient, pr: PullRequest, check_run_id: int
) -> list[int]:
    """Close, as skipped, the runs of older heads of this pull request that are still open.

    A review whose worker died, and whose job a newer push then superseded while it waited
    for its lease, never runs again: without this its check run would say "in progress" for
    ever. The review of the newest head closes it. Returns the runs closed.

    Raises:
        GitHubError: GitHub refused a read or an update (the worker logs it; the job is retried).
    """
    key = f"{pr.repo}#{pr.number}"
    entry = await services.state.get(PR_CHECK_RUNS_NS, key)
    noted = list(entry.value) if entry is not None and isinstance(entry.value, list) else []
    closed: list[int] = []
    for old in noted:
        sha, old_id = str(old.get("head_sha") or ""), int(old.get("check_run_id") or 0)
        if sha == pr.head_sha or not old_id or not await _open(client, pr.repo, sha, old_id):
            continue
        publisher = Publisher(client, SwarmConfig())  # closing a run reads no repository config
        summary = f"A newer push ({pr.head_sha[:7]}) is reviewed instead; this review did not finish."
        await gh(publisher.close_check, pr, old_id, "skipped", "Superseded", summary)
        closed.append(old_id)
    await services.state.set(
        PR_CHECK_RUNS_NS, key, [{"head_sha": pr.head_sha, "check_run_id": check_run_id}], ttl=_KEEP_S
    )
    return closed


async def _open(client: GitHubClient, repo: str, head_sha: str, check_id: int) -> bool:
    """Whether swarm's run `check_id` on `head_sha` exists and has not completed."""
    runs = await gh(Publisher(client, SwarmConfig()).check_runs, repo, head_sha)
    run = next((r for r in runs if int(r.get("id") or 0) == check_id), None)
    return run is not None and run.get("status") != "completed"
