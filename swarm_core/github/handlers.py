"""What a worker does with a job: review a pull request, re-run a check suite, or answer a `/swarm` command.

Dependencies come in as `Services` (a GitHub client per installation, the store, the
queue, the engine's review/council/spec, and a small state store for pause/resume), so
the same handlers serve the App's workers, the Action and the tests. GitHub calls block
and run in threads.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from swarm_core.budget import Budget
from swarm_core.config import SwarmConfig, merge
from swarm_core.council import NEEDS_MODEL, council_to_dict, council_to_markdown
from swarm_core.engine import Councillor, Reviewer, Specifier
from swarm_core.errors import DiffError, GitHubError, ModelSelectionError
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.commands import HELP, parse_command
from swarm_core.github.events import pr_key
from swarm_core.github.pr_changeset import change_from_pr, repo_config
from swarm_core.github.publisher import Publisher
from swarm_core.issue.checkout import checkout
from swarm_core.issue.index import RepoIndex
from swarm_core.issue.localize import localize
from swarm_core.issue.report import ISSUE_MARKER, issue_to_markdown
from swarm_core.issue.symptoms import parse_issue
from swarm_core.lanes import LLM_DISABLED_NOTE
from swarm_core.lanes.context import untrusted
from swarm_core.logs import bind
from swarm_core.memory import MemoryBackend
from swarm_core.models import Exchange
from swarm_core.store.queue import Job, JobQueue
from swarm_core.store.runs import SqlRunStore

__all__ = ["ALLOWED", "ClientFor", "Services", "analyze_issue", "handle_job"]

ALLOWED = frozenset({"admin", "maintain", "write"})
_STATE_NS = "pr-state"
_NEEDS_MODEL = (
    "`--trace` (a proposed patch) and the reproduction test need a model; this analysis is the "
    "deterministic intake and localization."
)


class ClientFor(Protocol):
    """The GitHub client of an installation (the Action has one token: it ignores the id)."""

    def __call__(self, installation_id: int | None) -> GitHubClient:
        """A client acting as the installation."""
        ...


@dataclass(frozen=True)
class Services:
    """What the handlers need, injected."""

    clients: ClientFor
    store: SqlRunStore
    queue: JobQueue
    review: Reviewer  # called with models=False when the installation's budget is spent
    state: MemoryBackend
    cache_dir: Path | None = None  # repository checkouts for issue analysis (default: a temp dir)
    council: Councillor | None = None
    specify: Specifier | None = None  # None: issue analysis is the deterministic part only
    budget: Budget | None = None  # per installation, over a rolling window (SWARM_INSTALLATION_BUDGET_USD)
    # The clients made so far, by installation: the App reads their rate limits for /metrics.
    client_cache: Mapping[int, GitHubClient] = field(default_factory=dict)


async def _within_budget(
    services: Services, payload: dict[str, Any], config: SwarmConfig
) -> tuple[SwarmConfig, str | None, str | None]:
    """Model work for the payload's installation under its budget.

    Returns:
        The config with its run cost cap lowered to what is left, a note when it was
        lowered, and, when nothing is left, why no model may be called (else None).
    """
    installation_id = payload.get("installation_id")
    if services.budget is None or installation_id is None:
        return config, None, None
    since = services.budget.since(time.time())
    spent = await asyncio.to_thread(services.store.spent_by_installation, int(installation_id), since)
    allowance = services.budget.allowance(spent)
    if allowance.exhausted:
        return config, None, allowance.spent_note
    capped, cap_note = allowance.cap(config)
    return capped, cap_note, None


async def _record(
    services: Services,
    kind: str,
    payload: dict[str, Any],
    status: str,
    duration_s: float,
    document: dict[str, Any],
    exchanges: tuple[Exchange, ...],
) -> str | None:
    """Store a council's or an issue analysis's model calls, so they count in cost and budget."""
    if not exchanges:
        return None
    repo, number = str(payload["repo"]), int(payload["number"])
    inst = payload.get("installation_id")
    return await asyncio.to_thread(
        services.store.save_document,
        kind,
        source=f"{repo}#{number}",
        status=status,
        duration_s=duration_s,
        document=document,
        exchanges=exchanges,
        counts={},
        repo=repo,
        installation_id=int(inst) if inst is not None else None,
    )


async def _gh(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def handle_job(job: Job, services: Services) -> dict[str, Any]:
    """Run one job (review, command, issue, or suite: a check suite's re-run); returns what
    happened (stored as the job's result).

    Raises:
        GitHubError, SwarmError: the job failed (the worker decides whether to retry).
        ValueError: an unknown job kind (never retried).
    """
    if job.kind == "review":
        return await review_pull_request(job, services, job.payload)
    if job.kind == "command":
        return await run_command(job, services, job.payload)
    if job.kind == "issue":
        return await analyze_issue(job, services, job.payload)
    if job.kind == "suite":
        return await rerun_suite(services, job.payload)
    raise ValueError(f"unknown job kind {job.kind!r}")


async def _paused(services: Services, key: str) -> bool:
    entry = await services.state.get(_STATE_NS, key)
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
    pr: PullRequest = await _gh(client.pull_request, repo, number)
    rerun = explicit or bool(payload.get("rerun"))
    if pr.state != "open":
        return {"skipped": f"pull request is {pr.state}"}
    wanted = str(payload.get("head_sha") or "")
    if wanted and wanted != pr.head_sha and not rerun:
        return {"skipped": "stale: the pull request has a newer head; its own job reviews it"}
    config, problem = await _gh(repo_config, client, repo, pr.default_branch)
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
    publisher = Publisher(client, config)
    check = await _gh(publisher.start, pr, rerun=rerun)
    if services.queue.superseded(job.id, job.key):
        await _gh(
            publisher.close_check, pr, check[0], "neutral", "Superseded", "A newer push is being reviewed."
        )
        return {"skipped": "superseded by a newer push", "check_run_id": check[0]}
    try:
        change = await _gh(change_from_pr, client, pr, config)
    except DiffError as exc:
        await _gh(
            publisher.close_check,
            pr,
            check[0],
            "neutral",
            "Not reviewed",
            f"swarm could not review this diff: {exc}",
        )
        return {"skipped": f"diff not reviewable: {exc}", "check_run_id": check[0]}
    installation = payload.get("installation_id")
    config, cap_note, spent = await _within_budget(services, payload, config)
    notes: list[str] = []
    if spent:
        review = await services.review(config, change, models=False)
        # Not "no model is configured": say why the model lanes did not run.
        review = replace(review, notes=tuple(n for n in review.notes if n != LLM_DISABLED_NOTE))
        notes.append(spent)
    else:
        review = await services.review(config, change)
        if cap_note and review.usage.calls:
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
    bind(run_id=run_id)  # a failure from here on is logged with the stored run it belongs to
    review = review.with_run_id(run_id)
    result = await _gh(publisher.publish, pr, review, check)
    return {
        "run_id": run_id,
        "verdict": review.verdict.value,
        "check_run_id": result.check_run_id,
        "review_id": result.review_id,
        "summary_comment_id": result.summary_comment_id,
        "inline_posted": result.inline_posted,
        "inline_already": result.inline_already,
        "resolved": len(result.resolved),
        "fallback": result.fallback,
    }


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


def _reply_marker(comment_id: Any) -> str:
    return f"<!-- swarm:reply={comment_id} -->"


async def _reply(client: GitHubClient, repo: str, number: int, comment_id: Any, text: str) -> int:
    """Answer a command once: a retried job finds its earlier answer by marker."""
    marker = _reply_marker(comment_id)
    for c in await _gh(lambda: list(client.paginate(f"/repos/{repo}/issues/{number}/comments"))):
        if marker in str(c.get("body") or ""):
            return int(c["id"])
    data = await _gh(
        client.post, f"/repos/{repo}/issues/{number}/comments", {"body": f"{text}\n\n{marker}"}, "replying"
    )
    return int(data["id"])


async def run_command(job: Job, services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """Answer a `/swarm` command: the author must have write access (asked of GitHub, not the payload)."""
    command = parse_command(str(payload.get("body") or ""))
    if command is None:
        return {"skipped": "no command"}
    client = services.clients(payload.get("installation_id"))
    repo, number, author = str(payload["repo"]), int(payload["number"]), str(payload.get("author") or "")
    comment_id = payload.get("comment_id")
    permission = await _gh(client.permission, repo, author)
    if permission not in ALLOWED:
        await _reply(
            client,
            repo,
            number,
            comment_id,
            f"@{author} thanks! Only people with write access to this repository can run swarm commands "
            f"(your access: {permission}).",
        )
        return {"refused": author, "permission": permission}
    if comment_id is not None:
        try:
            await _gh(
                client.post,
                f"/repos/{repo}/issues/comments/{comment_id}/reactions",
                {"content": "eyes"},
                "reacting",
            )
        except GitHubError:
            pass  # a missing reaction is cosmetic; the command still runs
    if command.error or command.name == "help":
        prefix = f"{command.error}.\n\n" if command.error else ""
        await _reply(client, repo, number, comment_id, prefix + HELP)
        return {"command": "help", "error": command.error}
    if command.name in ("pause", "resume"):
        await services.state.set(
            _STATE_NS, job.key, "paused" if command.name == "pause" else "active", created_by=author
        )
        text = (
            "Automatic reviews of this pull request are paused; `/swarm resume` turns them back on."
            if command.name == "pause"
            else "Automatic reviews of this pull request are back on."
        )
        await _reply(client, repo, number, comment_id, text)
        return {"command": command.name}
    if command.name == "council":
        return await _council(services, client, payload, command.text, job)
    if command.name == "issue":
        trace = "--trace" in command.flags
        result = await analyze_issue(
            job, services, payload, explicit=True, trace=trace, repro="--no-repro" not in command.flags
        )
        if trace and not result.get("model"):
            await _reply(client, repo, number, comment_id, _NEEDS_MODEL)
        return {"command": "issue", **result}
    if not payload.get("is_pr"):
        await _reply(client, repo, number, comment_id, "`/swarm pr-review` works on pull requests only.")
        return {"command": command.name, "skipped": "not a pull request"}
    overrides: dict[str, Any] = {}
    if "--council" in command.flags:
        overrides["llm"] = {"council": True}
    if command.text:
        # From a person with write access: their instruction for this review (still quoted to models).
        overrides["instructions"] = [{"path": "**", "text": command.text}]
    result = await review_pull_request(
        job, services, {**payload, "rerun": True}, explicit=True, overrides=overrides
    )
    return {"command": command.name, **result}


async def analyze_issue(
    job: Job,
    services: Services,
    payload: dict[str, Any],
    *,
    explicit: bool = False,
    trace: bool = False,
    repro: bool = True,
) -> dict[str, Any]:
    """Analyse an issue at the default branch and post (or edit) one sticky issue comment."""
    client = services.clients(payload.get("installation_id"))
    repo, number = str(payload["repo"]), int(payload["number"])
    _, meta = await _gh(client.request, "GET", f"/repos/{repo}", what=f"reading {repo}")
    branch = str((meta or {}).get("default_branch") or "main")
    config, _problem = await _gh(repo_config, client, repo, branch)
    if not explicit and not config.issues.auto_analyze:
        return {"skipped": "issues.auto_analyze is off in the repository config"}
    _, issue = await _gh(
        client.request, "GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}"
    )
    comments = [
        str(c.get("body") or "")
        for c in await _gh(lambda: list(client.paginate(f"/repos/{repo}/issues/{number}/comments", limit=30)))
        if "<!-- swarm:" not in str(c.get("body") or "")
    ]
    cache = services.cache_dir or Path(tempfile.gettempdir()) / "swarm-checkouts"
    root, sha = await _gh(checkout, client, repo, branch, cache)
    index = await asyncio.to_thread(RepoIndex.from_directory, root)
    title, body = str(issue.get("title") or ""), str(issue.get("body") or "")
    intake = parse_issue(title, body, tuple(comments))
    full = "\n".join((title, body, *comments))
    loc = localize(intake, full, index)
    spec, note = None, None
    if services.specify is not None:
        config, _, spent = await _within_budget(services, payload, config)
        if spent:
            note = f"{spent} This is the deterministic intake and localization only."
        else:
            started = time.perf_counter()
            spec = await services.specify(intake, full, loc, index, config, trace, repro)
            if spec is not None:
                await _record(
                    services,
                    "issue",
                    payload,
                    "failed" if spec.error else "ok",
                    time.perf_counter() - started,
                    {"model": spec.model, "error": spec.error},
                    spec.exchanges,
                )
    text = issue_to_markdown(intake, loc, ref=sha, spec=spec, note=note)
    existing = None
    for c in await _gh(lambda: list(client.paginate(f"/repos/{repo}/issues/{number}/comments"))):
        if ISSUE_MARKER in str(c.get("body") or "") and str((c.get("user") or {}).get("type", "")) == "Bot":
            existing = c
            break
    if existing is None:
        data = await _gh(
            client.post, f"/repos/{repo}/issues/{number}/comments", {"body": text}, "posting the analysis"
        )
        comment_id = int(data["id"])
    else:
        comment_id = int(existing["id"])
        if existing.get("body") != text:
            await _gh(
                client.patch,
                f"/repos/{repo}/issues/comments/{comment_id}",
                {"body": text},
                "updating the analysis",
            )
    return {
        "issue": number,
        "commit": sha,
        "comment_id": comment_id,
        "top_files": [f.path for f in loc.files[:5]],
        "model": spec.model if spec is not None else None,
    }


async def _council(
    services: Services, client: GitHubClient, payload: dict[str, Any], question: str, job: Job
) -> dict[str, Any]:
    """`/swarm council <question>`: the members' judgement, posted once as a reply."""
    repo, number, comment_id = str(payload["repo"]), int(payload["number"]), payload.get("comment_id")
    if services.council is None:
        await _reply(client, repo, number, comment_id, NEEDS_MODEL)
        return {"command": "council", "skipped": "no model"}
    _, meta = await _gh(client.request, "GET", f"/repos/{repo}", what=f"reading {repo}")
    config, _problem = await _gh(repo_config, client, repo, str((meta or {}).get("default_branch") or "main"))
    _, issue = await _gh(
        client.request, "GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}"
    )
    kind = "pr" if payload.get("is_pr") else "open"
    context = untrusted("thread", f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}")
    config, _, spent = await _within_budget(services, payload, config)
    if spent:
        await _reply(client, repo, number, comment_id, spent)
        return {"command": "council", "skipped": "the installation's model budget is spent"}
    started = time.perf_counter()
    try:
        result = await services.council(config, question, context, kind)
    except ModelSelectionError as exc:
        await _reply(client, repo, number, comment_id, str(exc))
        return {"command": "council", "skipped": str(exc)}
    await _record(
        services,
        "council",
        payload,
        result.verdict or "failed",
        time.perf_counter() - started,
        council_to_dict(result),
        result.exchanges,
    )
    await _reply(client, repo, number, comment_id, council_to_markdown(result))
    return {"command": "council", "verdict": result.verdict, "members": len(result.members)}
