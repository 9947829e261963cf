"""What a worker does with a job: review a pull request, re-run a check suite, or answer a `/swarm` command.

Each kind of job lives in its own module (`review_job`, `command_job`, `issue_job`); this
one dispatches by kind and keeps the names the faces import.
"""

from __future__ import annotations

from typing import Any

from swarm_core.github.command_job import ALLOWED, run_command
from swarm_core.github.conversation_job import answer_reply, describe_pull_request
from swarm_core.github.failed_job import conclude_failed_job
from swarm_core.github.issue_job import analyze_issue
from swarm_core.github.learning_job import capture_reply, reply_job_fields
from swarm_core.github.review_job import rerun_suite, review_pull_request
from swarm_core.github.services import ClientFor, Services, release_budget
from swarm_core.store.queue import Job

__all__ = [
    "ALLOWED",
    "ClientFor",
    "Services",
    "analyze_issue",
    "answer_reply",
    "conclude_failed_job",
    "describe_pull_request",
    "handle_job",
    "run_command",
]


async def handle_job(job: Job, services: Services) -> dict[str, Any]:
    """Run one job (review, command, reply: in a review thread, issue, or suite: a check suite's
    re-run); returns what happened (stored as the job's result).

    Raises:
        GitHubError, SwarmError: the job failed (the worker decides whether to retry).
        ValueError: an unknown job kind (never retried).
    """
    try:
        if job.kind == "review":
            result = await review_pull_request(job, services, job.payload)
            if job.payload.get("trigger") == "pull_request.opened":  # review.describe: auto
                result["describe"] = await describe_pull_request(job, services, job.payload, explicit=False)
            return result
        if job.kind == "command":
            return await run_command(job, services, job.payload)
        if job.kind == "reply":
            # Learned first, whether or not an answer follows (no model, a spent budget): both
            # steps are once-only, so a retry after either fails repeats nothing.
            learning = await capture_reply(services, reply_job_fields(job.payload))
            return {**await answer_reply(job, services, job.payload), "learning": learning}
        if job.kind == "issue":
            return await analyze_issue(job, services, job.payload)
        if job.kind == "suite":
            return await rerun_suite(services, job.payload)
        raise ValueError(f"unknown job kind {job.kind!r}")
    finally:
        # The run is stored by now (its spend counts) or it failed: either way the hold goes.
        await release_budget(services, job)
