"""Review jobs: review one pull request and publish the result, or re-run a check suite's reviews."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig, merge
from swarm_core.errors import DiffError, GitHubForbidden, GitHubValidation
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.commands import ALLOWED
from swarm_core.github.events import pr_key
from swarm_core.github.failed_job import close_superseded_check_runs, note_check_run
from swarm_core.github.increment import Increment, find_increment
from swarm_core.github.learning_job import (
    ResolvedThread,
    capture_resolutions,
    learnings_for_review,
    poll_reactions,
    record_uses,
)
from swarm_core.github.markers import Markers
from swarm_core.github.pr_changeset import change_from_pr, repo_config
from swarm_core.github.publisher import Publisher
from swarm_core.github.recheck import fixed_by_full_review, review_increment
from swarm_core.github.services import Services, gh, within_budget
from swarm_core.github.stored_review import (
    Reviewed,
    last_reviewed,
    load_review,
    remember_review,
    remember_reviewed,
    review_key,
    run_review,
)
from swarm_core.github.threads import resolve_fixed, resolved_by_people, swarms_threads
from swarm_core.lanes import LLM_DISABLED_NOTE
from swarm_core.logs import bind
from swarm_core.models import Finding, Review
from swarm_core.store.queue import Job

__all__ = ["STATE_NS", "rerun_suite", "review_pull_request"]

STATE_NS = "pr-state"  # pause/resume per pull request, set by `/swarm pause`


async def _paused(services: Services, key: str) -> bool:
    entry = await services.state.get(STATE_NS, key)
    return bool(entry and entry.value == "paused")


async def review_pull_request(
    job: Job,
    services: Services,
    payload: dict[str, Any],
    *,
    explicit: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Review one pull request and publish the result (idempotently)."""
    client = services.clients(payload.get("installation_id"))
    repo, number = str(payload["repo"]), int(payload["number"])
    pr: PullRequest = await gh(client.pull_request, repo, number)
    rerun = explicit or bool(payload.get("rerun"))
    if pr.state != "open":
        return {"skipped": f"pull request is {pr.state}"}
    wanted = str(payload.get("head_sha") or "")
    if wanted and wanted != pr.head_sha and not rerun:
        return {"skipped": "stale: the pull request has a newer head; its own job reviews it"}
    config, problem = await gh(repo_config, client, repo, pr.default_branch)
    if overrides:
        if "instructions" in overrides:  # add to the repository's instructions, never replace them
            own = [i.model_dump() for i in config.instructions]
            overrides = {**overrides, "instructions": own + list(overrides["instructions"])}
        config = merge(config, overrides)
    if not rerun:
        if not config.review.auto:
            return {"skipped": "review.auto is off in the repository config"}
        if pr.draft and not config.review.drafts:
            return {"skipped": "draft pull request (review.drafts is off)"}
        if (pr.author_type == "Bot" or pr.author.endswith("[bot]")) and not config.review.bots:
            return {"skipped": "opened by a bot (review.bots is off)"}
        if await _paused(services, job.key):
            return {"skipped": "automatic reviews are paused (/swarm resume)"}
    markers = await gh(services.markers) if services.markers is not None else None
    publisher = Publisher(client, config, markers=markers)
    check = await gh(publisher.start, pr, rerun=rerun)
    await note_check_run(services, job, pr, check[0])
    await close_superseded_check_runs(services, client, pr, check[0])
    if services.queue.superseded(job.id, job.key):
        await gh(
            publisher.close_check, pr, check[0], "skipped", "Superseded", "A newer push is being reviewed."
        )
        return {"skipped": "superseded by a newer push", "check_run_id": check[0]}
    # The team's 👎 since the last event count from the next review on (GitHub sends no webhook for them).
    captured = await poll_reactions(services, client, pr, payload.get("installation_id"))
    key = review_key(pr, config, job_id=job.id if rerun else None)
    review = await load_review(services, key)
    last = await last_reviewed(services, pr)
    if review is None:
        try:
            change = await gh(change_from_pr, client, pr, config)
        except DiffError as exc:
            await gh(
                publisher.close_check,
                pr,
                check[0],
                "neutral",
                "Not reviewed",
                f"swarm could not review this diff: {exc}",
            )
            return {"skipped": f"diff not reviewable: {exc}", "check_run_id": check[0]}
        installation = payload.get("installation_id")
        change = replace(change, learnings=await learnings_for_review(services, installation, repo))
        # The head before this one, whose open findings this review re-checks.
        since = last if last is not None and last.head != pr.head_sha else None
        previous_run = since.run_id if since is not None else (last.previous_run if last else "")
        previous = await run_review(services, previous_run)
        # A push is reviewed from the last reviewed head; `--full` and "Re-run" review it all.
        full = bool(payload.get("full")) or (rerun and not explicit)
        increment = None
        if since is not None and previous is not None and not full:
            increment = await gh(find_increment, client, pr, since.head, change)
        review, run_id = await _review(services, job, payload, config, change, problem, increment, previous)
        pr_files = frozenset(fd.path for fd in change.diff.files)
        await record_uses(services, [use.learning_id for use in review.learned])
        mode = f"incremental ({increment.how})" if increment is not None else "full"
        # Stored before anything is posted: a retry publishes this one, with no model call.
        await remember_review(services, key, run_id)
        await remember_reviewed(services, pr, Reviewed(pr.head_sha, run_id, previous_run, mode))
    else:  # a retry: the same review, re-checked against the same earlier head
        same = last is not None and last.head == pr.head_sha
        previous = await run_review(services, last.previous_run) if same and last else None
        mode = last.mode if same and last else "full"
        pr_files = frozenset(f.path for f in previous.findings) if previous else frozenset()
    bind(run_id=review.run_id)  # a failure from here on is logged with the stored run it belongs to
    result = await gh(publisher.publish, pr, review, check, mode=mode)
    # After a whole review a model finding is fixed only when its file left the pull request
    # (a retry, which has no diff, counts every file as still there).
    whole = not mode.startswith("incremental")
    fixed = fixed_by_full_review(previous, review, pr_files if whole else None) if previous else ()
    threads, dismissed = (
        await _threads(services, client, markers, pr, review, fixed, payload.get("installation_id"))
        if last is not None  # before the first review of a pull request swarm has no thread in it
        else ({}, [])
    )
    return {
        "run_id": review.run_id,
        "verdict": review.verdict.value,
        "mode": mode,
        "check_run_id": result.check_run_id,
        "review_id": result.review_id,
        "summary_comment_id": result.summary_comment_id,
        "inline_posted": result.inline_posted,
        "inline_already": result.inline_already,
        "resolved": len(result.resolved),
        "fallback": result.fallback,
        "learnings_captured": [lr.id for lr in (*captured, *dismissed)],
        "learnings_applied": len(review.learned),
        "suppressed_by_learnings": sum(use.action == "suppressed" for use in review.learned),
        **threads,
    }


async def _threads(
    services: Services,
    client: GitHubClient,
    markers: Markers | None,
    pr: PullRequest,
    review: Review,
    fixed: tuple[Finding, ...],
    installation: Any,
) -> tuple[dict[str, Any], list[Any]]:
    """swarm's review threads after a review of a later head, listed once for both uses.

    The threads of fixed findings are answered and resolved (a refusal is reported, not
    raised); threads someone with write access resolved while their finding is still reported
    (no change at the site) are learned from.
    """
    if markers is None or not (fixed or review.findings):
        return {}, []
    try:
        listed = await gh(swarms_threads, client, markers, pr)
        outcome = await gh(resolve_fixed, client, markers, pr, fixed, pr.head_sha, listed)
    except (GitHubForbidden, GitHubValidation) as exc:  # retrying would be refused again
        return {"threads_error": str(exc)}, []
    result = (
        {
            "threads_resolved": len(outcome.resolved),
            "threads_left_open": len(outcome.left_open),
            "threads_already_resolved": len(outcome.already),
        }
        if fixed
        else {}
    )
    dismissed = resolved_by_people(markers, pr, review.findings, listed)
    people = [(c, who) for c, who in dismissed if await gh(client.permission, pr.repo, who) in ALLOWED]
    url = f"https://github.com/{pr.repo}/pull/{pr.number}#discussion_r"
    resolved = [ResolvedThread(c, "User", False, f"{url}{c['id']}") for c, _ in people]
    learned = list(await capture_resolutions(services, pr, installation, resolved)) if resolved else []
    return result, learned


async def _review(
    services: Services,
    job: Job,
    payload: dict[str, Any],
    config: SwarmConfig,
    change: ChangeSet,
    problem: str | None,
    increment: Increment | None = None,
    previous: Review | None = None,
) -> tuple[Review, str]:
    """Review the change (or its increment since `previous`) within the installation's budget and
    store it: (the review, its run id)."""
    installation = payload.get("installation_id")
    config, cap_note, spent = await within_budget(services, payload, config, job)

    async def run(cfg: SwarmConfig, part: ChangeSet, models: bool) -> Review:
        out = await services.review(cfg, part, models=models and not spent)
        if spent:  # not "no model is configured": say why the model lanes did not run
            out = replace(out, notes=tuple(n for n in out.notes if n != LLM_DISABLED_NOTE))
        return out

    if increment is not None and previous is not None:
        review = (await review_increment(run, config, change, increment, previous)).review
    else:
        review = await run(config, change, True)
    notes: list[str] = []
    if spent:
        notes.append(spent)
    elif cap_note and review.usage.calls:
        notes.append(cap_note)
    if problem:
        notes.append(f"The repository config was ignored: {problem}")
    if notes:
        review = replace(review, notes=(*review.notes, *notes))
    run_id = await asyncio.to_thread(
        services.store.save_review,
        review,
        installation_id=int(installation) if installation is not None else None,
    )
    return review.with_run_id(run_id), run_id


async def rerun_suite(services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """ "Re-run all checks" on a suite: one review job per pull request, at the suite's head commit.

    Each review goes through the queue under its pull request's key, so it supersedes an
    older queued review and never runs beside another job of the same pull request.
    """
    repo, head_sha = str(payload["repo"]), str(payload.get("head_sha") or "")
    installation = payload.get("installation_id")
    jobs = []
    for number in payload.get("numbers") or ():
        review = {
            "installation_id": installation,
            "repo": repo,
            "number": int(number),
            "head_sha": head_sha,
            "trigger": str(payload.get("trigger") or "check_suite.rerequested"),
            "draft": False,
            "bot": False,
            "rerun": True,
        }
        if payload.get("delivery"):
            review["delivery"] = payload["delivery"]
        jobs.append(
            await asyncio.to_thread(
                services.queue.enqueue,
                "review",
                pr_key(repo, int(number)),
                review,
                installation_id=int(installation) if installation is not None else None,
                supersede=True,
            )
        )
    return {"head_sha": head_sha, "reviews": jobs}
