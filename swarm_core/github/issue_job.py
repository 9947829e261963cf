"""Issue jobs: analyse an issue at the default branch and keep one sticky analysis comment."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from swarm_core.github.pr_changeset import repo_config
from swarm_core.github.replies import sticky_comment
from swarm_core.github.services import Services, gh, record_document, within_budget
from swarm_core.issue.checkout import checkout
from swarm_core.issue.index import RepoIndex
from swarm_core.issue.localize import localize
from swarm_core.issue.report import ISSUE_MARKER, issue_to_markdown
from swarm_core.issue.symptoms import parse_issue
from swarm_core.store.queue import Job

__all__ = ["analyze_issue"]


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
    _, meta = await gh(client.request, "GET", f"/repos/{repo}", what=f"reading {repo}")
    branch = str((meta or {}).get("default_branch") or "main")
    config, _problem = await gh(repo_config, client, repo, branch)
    if not explicit and not config.issues.auto_analyze:
        return {"skipped": "issues.auto_analyze is off in the repository config"}
    _, issue = await gh(
        client.request, "GET", f"/repos/{repo}/issues/{number}", what=f"reading {repo}#{number}"
    )
    comments = [
        str(c.get("body") or "")
        for c in await gh(lambda: list(client.paginate(f"/repos/{repo}/issues/{number}/comments", limit=30)))
        if "<!-- swarm:" not in str(c.get("body") or "")
    ]
    cache = services.cache_dir or Path(tempfile.gettempdir()) / "swarm-checkouts"
    root, sha = await gh(checkout, client, repo, branch, cache)
    index = await asyncio.to_thread(RepoIndex.from_directory, root)
    title, body = str(issue.get("title") or ""), str(issue.get("body") or "")
    intake = parse_issue(title, body, tuple(comments))
    full = "\n".join((title, body, *comments))
    loc = localize(intake, full, index)
    spec, note = None, None
    if services.specify is not None:
        config, _, spent = await within_budget(services, payload, config, job)
        if spent:
            note = f"{spent} This is the deterministic intake and localization only."
        else:
            started = time.perf_counter()
            spec = await services.specify(intake, full, loc, index, config, trace, repro)
            if spec is not None:
                await record_document(
                    services,
                    "issue",
                    payload,
                    "failed" if spec.error else "ok",
                    time.perf_counter() - started,
                    {"model": spec.model, "error": spec.error},
                    spec.exchanges,
                )
    text = issue_to_markdown(intake, loc, ref=sha, spec=spec, note=note)
    comment_id = await sticky_comment(services, client, repo, number, ISSUE_MARKER, text, "the analysis")
    return {
        "issue": number,
        "commit": sha,
        "comment_id": comment_id,
        "top_files": [f.path for f in loc.files[:5]],
        "model": spec.model if spec is not None else None,
    }
