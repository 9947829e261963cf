"""Command jobs: answer each `/swarm` comment once (review, council, issue, ask, describe, learn, ...)."""

from __future__ import annotations

import time
from typing import Any

from swarm_core.council import NEEDS_MODEL, council_to_dict, council_to_markdown
from swarm_core.errors import GitHubError, ModelSelectionError
from swarm_core.github.client import GitHubClient
from swarm_core.github.commands import ALLOWED, HELP, Command, parse_command
from swarm_core.github.conversation_job import answer_question, describe_pull_request
from swarm_core.github.issue_job import analyze_issue
from swarm_core.github.learning_job import learn_command, listed_learnings
from swarm_core.github.pr_changeset import repo_config
from swarm_core.github.replies import reply_once
from swarm_core.github.review_job import STATE_NS, review_pull_request
from swarm_core.github.services import Services, gh, record_document, within_budget
from swarm_core.lanes.context import untrusted
from swarm_core.store.queue import Job

__all__ = ["ALLOWED", "run_command"]

_NEEDS_MODEL = (
    "`--trace` (a proposed patch) and the reproduction test need a model; this analysis is the "
    "deterministic intake and localization."
)


async def _reply(
    services: Services, client: GitHubClient, repo: str, number: int, comment_id: Any, text: str
) -> int:
    """Answer a command once: a retried job finds its earlier answer by marker (swarm's own only)."""
    return await reply_once(services, client, repo, number, comment_id, text)


async def run_command(job: Job, services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """Answer a `/swarm` command: the author must have write access (asked of GitHub, not the payload)."""
    command = parse_command(str(payload.get("body") or ""))
    if command is None:
        return {"skipped": "no command"}
    client = services.clients(payload.get("installation_id"))
    repo, number, author = str(payload["repo"]), int(payload["number"]), str(payload.get("author") or "")
    comment_id = payload.get("comment_id")
    if command.name == "ask" and not command.error:
        return await answer_question(job, services, payload, command.text)  # read access is enough
    permission = await gh(client.permission, repo, author)
    if permission not in ALLOWED:
        await _reply(
            services,
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
            await gh(
                client.post,
                f"/repos/{repo}/issues/comments/{comment_id}/reactions",
                {"content": "eyes"},
                "reacting",
            )
        except GitHubError:
            pass  # a missing reaction is cosmetic; the command still runs
    if command.error or command.name == "help":
        prefix = f"{command.error}.\n\n" if command.error else ""
        await _reply(services, client, repo, number, comment_id, prefix + HELP)
        return {"command": "help", "error": command.error}
    if command.name in ("pause", "resume"):
        await services.state.set(
            STATE_NS, job.key, "paused" if command.name == "pause" else "active", created_by=author
        )
        text = (
            "Automatic reviews of this pull request are paused; `/swarm resume` turns them back on."
            if command.name == "pause"
            else "Automatic reviews of this pull request are back on."
        )
        await _reply(services, client, repo, number, comment_id, text)
        return {"command": command.name}
    if command.name == "council":
        return await _council(services, client, payload, command.text, job)
    if command.name in ("learn", "learnings"):
        return await _learning(services, client, payload, command)
    if command.name == "describe" and payload.get("is_pr"):
        return await describe_pull_request(job, services, payload, explicit=True)
    if command.name == "issue":
        trace = "--trace" in command.flags
        result = await analyze_issue(
            job, services, payload, explicit=True, trace=trace, repro="--no-repro" not in command.flags
        )
        if trace and not result.get("model"):
            await _reply(services, client, repo, number, comment_id, _NEEDS_MODEL)
        return {"command": "issue", **result}
    if not payload.get("is_pr"):
        await _reply(
            services,
            client,
            repo,
            number,
            comment_id,
            f"`/swarm {command.name}` works on pull requests only.",
        )
        return {"command": command.name, "skipped": "not a pull request"}
    overrides: dict[str, Any] = {}
    if "--council" in command.flags:
        overrides["llm"] = {"council": True}
    if command.text:
        # From a person with write access: their instruction for this review (still quoted to models).
        overrides["instructions"] = [{"path": "**", "text": command.text}]
    full = "--full" in command.flags  # else only what changed since the last reviewed head
    result = await review_pull_request(
        job, services, {**payload, "rerun": True, "full": full}, explicit=True, overrides=overrides
    )
    return {"command": command.name, **result}


async def _learning(
    services: Services, client: GitHubClient, payload: dict[str, Any], command: Command
) -> dict[str, Any]:
    """`/swarm learn <text>` stores a learning; `/swarm learnings` lists the repository's."""
    repo, number, comment_id = str(payload["repo"]), int(payload["number"]), payload.get("comment_id")
    if command.name == "learn":
        text, result = await learn_command(services, payload, command)
    else:
        text, result = await listed_learnings(services, payload)
    await _reply(services, client, repo, number, comment_id, text)
    return {"command": command.name, **result}


async def _council(
    services: Services, client: GitHubClient, payload: dict[str, Any], question: str, job: Job
) -> dict[str, Any]:
    """`/swarm council <question>`: the members' judgement, posted once as a reply."""
    repo, number, comment_id = str(payload["repo"]), int(payload["number"]), payload.get("comment_id")
    if services.council is None:
        await _reply(services, client, repo, number, comment_id, NEEDS_MODEL)
        return {"command": "council", "skipped": "no model"}
    _, meta = await gh(client.request, "GET", f"/repos/{repo}", what=f"reading {repo}")
    config, _problem = await gh(repo_config, client, repo, str((meta or {}).get("default_branch") or "main"))
    _, issue = await gh(
        client.request, "GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}"
    )
    kind = "pr" if payload.get("is_pr") else "open"
    context = untrusted("thread", f"{issue.get('title') or ''}\n\n{issue.get('body') or ''}")
    config, _, spent = await within_budget(services, payload, config, job)
    if spent:
        await _reply(services, client, repo, number, comment_id, spent)
        return {"command": "council", "skipped": "the installation's model budget is spent"}
    started = time.perf_counter()
    try:
        result = await services.council(config, question, context, kind)
    except ModelSelectionError as exc:
        await _reply(services, client, repo, number, comment_id, str(exc))
        return {"command": "council", "skipped": str(exc)}
    await record_document(
        services,
        "council",
        payload,
        result.verdict or "failed",
        time.perf_counter() - started,
        council_to_dict(result),
        result.exchanges,
    )
    await _reply(services, client, repo, number, comment_id, council_to_markdown(result))
    return {"command": "council", "verdict": result.verdict, "members": len(result.members)}
