"""`swarm action`: act on the workflow's event with the same engine and publisher as the App.

- pull_request / pull_request_target (or workflow_dispatch with a PR number): review the
  pull request through the API (never by running code from the PR head) and publish a
  check run, a review and the sticky summary, idempotently across re-runs;
- issue_comment: the App's `/swarm` commands, with the same write-access check (read
  access for `/swarm ask` on a private repository);
- pull_request_review_comment: `/swarm ask` on a diff line, and replies in swarm's threads;
- issues: issue analysis (not available in this version: said in the summary).

It always writes the job summary, step outputs, up to 10 error and 10 warning annotations
and the SARIF file. A token that cannot write (fork pull requests, Dependabot, restricted
permissions) is detected by GitHub's 403 on the first write: then nothing that needs write
is attempted, the summary says so, and the job does not fail for that reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from action.env import ActionEnv
from action.mutation import mutation_gate
from action.outputs import annotation_commands, counts_json, write_outputs, write_summary
from swarm_core import (
    ConfigError,
    Engine,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    Lane,
    Redactor,
    Review,
    SqlMemory,
    SwarmConfig,
    build_engine,
    configure_logging,
    decode_text,
    load_config,
    merge,
    parse_config,
)
from swarm_core.github import (
    GitHubClient,
    Markers,
    Publisher,
    PublishResult,
    PullRequest,
    Services,
    analyze_issue,
    change_from_pr,
    describe_pull_request,
    handle_job,
    installation_id,
    key_from_secret,
    pr_key,
    repo_config,
    review_comment,
)
from swarm_core.mutation import gate_fails
from swarm_core.render import render_summary, to_sarif
from swarm_core.store import SqlRunStore, open_store, sqlite_url
from swarm_core.store.queue import Job, JobQueue

__all__ = ["ActionResult", "run_action"]

log = logging.getLogger("swarm.action")

READ_ONLY_NOTE = (
    "This run's token cannot write to the pull request (a fork, Dependabot, or restricted "
    "`permissions:`), so swarm published the job summary, annotations and SARIF only."
)


@dataclass
class ActionResult:
    """What the run did, for the exit code and the tests."""

    exit_code: int
    review: Review | None = None
    published: PublishResult | None = None
    read_only: bool = False
    notes: list[str] = field(default_factory=list)


def _event(env: ActionEnv) -> dict[str, Any]:
    try:
        data = json.loads(env.event_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"GITHUB_EVENT_PATH {env.event_path}: no such file") from None  # nothing to add
    except (OSError, ValueError) as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {env.event_path}: not a JSON event payload ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"GITHUB_EVENT_PATH {env.event_path}: the payload must be a JSON object")
    return data


def _client(env: ActionEnv) -> GitHubClient:
    if env.token is None:
        raise ConfigError(
            "no GitHub token: pass `github-token` (default `${{ github.token }}`) or set GITHUB_TOKEN"
        )
    # Everything the Action writes to GitHub passes one redactor: the token, the marker key, the
    # provider keys and the configured model URLs.
    redactor = Redactor(sorted(env.secrets()), env.keys.internal_urls())
    return GitHubClient.for_token(env.token.get_secret_value(), env.api_url, redactor=redactor)


def _config(env: ActionEnv, client: GitHubClient, pr: PullRequest) -> tuple[SwarmConfig, str | None]:
    """The repository config from the base repository's default branch, read through the API.

    The workspace is the pull request's checkout: a config read from it would let the PR's
    author set its own thresholds and lanes. Only the `config-from-workspace` input, set by
    the workflow's owner, allows it (DESIGN §7).
    """
    if not env.config:
        return repo_config(client, pr.repo, pr.default_branch)
    where = PurePosixPath(env.config)
    if not where.is_absolute() and ".." not in where.parts:
        data = client.file(pr.repo, str(where), pr.default_branch)
        if data is not None:
            return parse_config(decode_text(data), f"{env.config}@{pr.default_branch}"), None
    if not env.config_from_workspace:
        raise ConfigError(
            f"input config: {env.config} is not a file on {pr.default_branch} of {pr.repo}; the config is "
            "read from the default branch only, because the workspace holds the pull request's copy. "
            "Commit it to the default branch, or set `config-from-workspace: true` to trust the "
            "workspace copy (a pull request can then change its own review settings)"
        )
    local = (env.workspace or Path()) / env.config
    if not local.is_file():
        raise ConfigError(
            f"input config: {env.config} is neither on {pr.default_branch} nor in the workspace"
        )
    log.warning("input config: %s read from the workspace (config-from-workspace is true)", env.config)
    return load_config(local), None


def _overrides(env: ActionEnv) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if env.fail_on:
        out["fail_on"] = env.fail_on
    if env.lanes:
        known = {lane.value for lane in Lane}
        unknown = sorted(set(env.lanes) - known)
        if unknown:
            raise ConfigError(
                f"input lanes: unknown lane {unknown[0]!r}; lanes are {', '.join(sorted(known))}"
            )
        out["lanes"] = {lane.value: lane.value in env.lanes for lane in Lane}
    return out


def _engine(env: ActionEnv) -> Engine:
    # No swarm memory for the lanes: a run's memory would not outlive the job anyway.
    return build_engine(env.keys, model=env.model)


def _markers(env: ActionEnv) -> Markers:
    """Markers signed with SWARM_MARKER_KEY (not secret without it), trusted from swarm's account only."""
    key = env.marker_key.get_secret_value() if env.marker_key is not None else ""
    return Markers(key_from_secret(key), env.bot_login)


def _pr_number(env: ActionEnv, event: dict[str, Any]) -> int | None:
    if env.pr is not None:
        return env.pr
    pr = event.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        return int(pr["number"])
    inputs = event.get("inputs")
    if isinstance(inputs, dict) and str(inputs.get("pr") or "").isdigit():
        return int(inputs["pr"])
    return None


def _publish(
    env: ActionEnv, client: GitHubClient, pr: PullRequest, review: Review, config: SwarmConfig
) -> tuple[PublishResult, bool]:
    """Publish what `post` asks for; a 403 means a read-only token: stop writing, say so."""
    publisher = Publisher(client, config, markers=_markers(env))
    result = PublishResult()
    try:
        check = publisher.start(pr) if "check" in env.post else None
        if check is not None:
            result.check_run_id = check[0]
        if "review" in env.post:
            publisher.post_review(pr, review, result)
        if "summary" in env.post:
            publisher.upsert_summary(pr, review, result)
        if check is not None:
            publisher.finish_check(pr, check[0], review, annotated=check[1])
    except (GitHubForbidden, GitHubNotFound) as exc:
        # 403 "Resource not accessible by integration"; 404 where a read-only token cannot see the endpoint.
        log.warning("publishing to %s#%s stopped: %s", pr.repo, pr.number, exc, exc_info=exc)
        result.fallback = str(exc)
        return result, True
    return result, False


def _review_pr(env: ActionEnv, event: dict[str, Any], out: TextIO) -> ActionResult:
    number = _pr_number(env, event)
    if number is None:
        raise ConfigError(f"event {env.event_name}: no pull request to review (give the `pr` input)")
    repo = env.repository or str((event.get("repository") or {}).get("full_name") or "")
    client = _client(env)
    pr = client.pull_request(repo, number)
    config, problem = _config(env, client, pr)
    overrides = _overrides(env)
    if overrides:
        config = merge(config, overrides)
    change = change_from_pr(client, pr, config)
    review = asyncio.run(_engine(env).review(config, change))
    review, gate, gate_note = mutation_gate(env, config, change, review)
    notes = [f"The repository config was ignored: {problem}"] if problem else []
    notes += [gate_note] if gate_note else []
    published, read_only = _publish(env, client, pr, review, config)
    if read_only:
        notes.append(READ_ONLY_NOTE)
    result = _finish(env, review, published, read_only, notes, out, repo=repo, number=number, extra=gate)
    result.exit_code = 1 if review.fails(config.fail_threshold) or gate_fails(review, config) else 0
    if event.get("action") == "opened" and not read_only and config.review.describe == "auto":
        _describe(env, client, {"installation_id": None, "repo": repo, "number": number, "is_pr": True})
    return result


def _describe(env: ActionEnv, client: GitHubClient, payload: dict[str, Any]) -> None:
    """`review.describe: auto`: the walkthrough of a newly opened pull request, as the App posts it."""
    temp = env.runner_temp or Path()
    store = open_store(sqlite_url(temp / f"swarm-{uuid.uuid4().hex[:8]}"))
    key = pr_key(payload["repo"], payload["number"])
    try:
        job = Job(uuid.uuid4().hex, "describe", key, None, payload, "running", 1, 1, "action")
        asyncio.run(describe_pull_request(job, _services(env, client, store, temp), payload, explicit=False))
    finally:
        store.close()


def _finish(
    env: ActionEnv,
    review: Review,
    published: PublishResult | None,
    read_only: bool,
    notes: list[str],
    out: TextIO,
    *,
    repo: str,
    number: int,
    extra: str = "",
) -> ActionResult:
    summary = render_summary(review)
    if notes:
        summary += "\n\n" + "\n\n".join(f"> ℹ️ {n}" for n in notes)
    if extra:
        summary += "\n\n" + extra
    write_summary(env.step_summary, summary)
    for line in annotation_commands(review):
        print(line, file=out)
    sarif_path = env.sarif_file or (env.runner_temp or Path()) / "swarm.sarif"
    sarif_path.parent.mkdir(parents=True, exist_ok=True)
    sarif_path.write_text(json.dumps(to_sarif(review), indent=2), encoding="utf-8")
    counts = review.counts()
    review_url = ""
    if published is not None and published.review_id:
        review_url = f"{env.server_url}/{repo}/pull/{number}#pullrequestreview-{published.review_id}"
    write_outputs(
        env.output,
        {
            "verdict": review.verdict.value,
            "findings": str(len(review.confirmed())),
            "critical": str(counts["critical"]),
            "high": str(counts["high"]),
            "counts": counts_json(review),
            "sarif-file": str(sarif_path),
            "review-url": review_url,
        },
    )
    return ActionResult(0, review, published, read_only, notes)


def _services(env: ActionEnv, client: GitHubClient, store: SqlRunStore, temp: Path) -> Services:
    """The job services of one workflow run: its token's client, a throwaway store, swarm's markers."""
    engine = _engine(env)
    return Services(
        clients=lambda _inst: client,
        store=store,
        queue=JobQueue(store.engine),
        review=engine.review,
        state=SqlMemory(store.engine),
        council=engine.council,
        specify=engine.specify,
        ask=engine.ask,
        describe=engine.describe,
        cache_dir=temp / "swarm-checkouts",
        markers=lambda: _markers(env),
    )


def _command(env: ActionEnv, event: dict[str, Any], out: TextIO) -> ActionResult:
    raw_comment, raw_issue = event.get("comment"), event.get("issue")
    comment: dict[str, Any] = raw_comment if isinstance(raw_comment, dict) else {}
    issue: dict[str, Any] = raw_issue if isinstance(raw_issue, dict) else {}
    if event.get("action") != "created" or not comment:
        write_summary(env.step_summary, "swarm: nothing to do for this comment event.")
        return ActionResult(0)
    user: dict[str, Any] = comment["user"] if isinstance(comment.get("user"), dict) else {}
    if user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]"):  # never loop on a bot
        write_summary(env.step_summary, "swarm: nothing to do for this comment (ignored: comment by a bot).")
        return ActionResult(0)
    client = _client(env)
    temp = env.runner_temp or Path()
    store = open_store(sqlite_url(temp / f"swarm-{uuid.uuid4().hex[:8]}"))
    try:
        services = _services(env, client, store, temp)
        repo = env.repository or str((event.get("repository") or {}).get("full_name") or "")
        number = int(issue.get("number") or (event.get("pull_request") or {}).get("number") or 0)
        kind, payload = (
            "command",
            {
                "installation_id": installation_id(event),
                "repo": repo,
                "number": number,
                "is_pr": "pull_request" in issue,
                "comment_id": comment.get("id"),
                "author": str((comment.get("user") or {}).get("login", "")),
                "body": str(comment.get("body") or ""),
            },
        )
        if env.event_name == "pull_request_review_comment":
            # On a diff line: a `/swarm` command there, or a reply in one of swarm's threads.
            routed = review_comment("created", repo, installation_id(event), event)
            if routed.job is None:
                write_summary(env.step_summary, f"swarm: nothing to do for this comment ({routed.outcome}).")
                return ActionResult(0)
            kind, _key, payload, _supersede = routed.job
        job = Job(uuid.uuid4().hex, kind, pr_key(repo, number), None, payload, "running", 1, 1, "action")
        try:
            result = asyncio.run(handle_job(job, services))
        except (GitHubForbidden, GitHubNotFound) as exc:
            log.warning("answering the command on %s#%s stopped: %s", repo, number, exc, exc_info=exc)
            write_summary(env.step_summary, f"swarm could not answer the command: {exc}\n\n{READ_ONLY_NOTE}")
            return ActionResult(0, read_only=True, notes=[READ_ONLY_NOTE])
    finally:
        store.close()
    write_summary(env.step_summary, f"swarm ran the comment command: `{json.dumps(result)[:2000]}`")
    return ActionResult(0, notes=[json.dumps(result)])


def _issue(env: ActionEnv, event: dict[str, Any], *, explicit: bool) -> ActionResult:
    """Issue analysis on `issues` events: when `mode: issue` is set, or the config's issues.auto_analyze."""
    raw = event.get("issue")
    issue: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if not issue.get("number"):
        raise ConfigError(f"event {env.event_name}: no issue in the payload")
    client = _client(env)
    temp = env.runner_temp or Path()
    store = open_store(sqlite_url(temp / f"swarm-{uuid.uuid4().hex[:8]}"))
    try:
        services = _services(env, client, store, temp)
        repo = env.repository or str((event.get("repository") or {}).get("full_name") or "")
        payload = {"installation_id": None, "repo": repo, "number": int(issue["number"])}
        job = Job(
            uuid.uuid4().hex,
            "issue",
            pr_key(repo, int(issue["number"])),
            None,
            payload,
            "running",
            1,
            1,
            "action",
        )
        try:
            result = asyncio.run(analyze_issue(job, services, payload, explicit=explicit))
        except (GitHubForbidden, GitHubNotFound) as exc:
            log.warning("posting the issue analysis on %s stopped: %s", repo, exc, exc_info=exc)
            write_summary(
                env.step_summary, f"swarm could not post the issue analysis: {exc}\n\n{READ_ONLY_NOTE}"
            )
            return ActionResult(0, read_only=True, notes=[READ_ONLY_NOTE])
    finally:
        store.close()
    if "skipped" in result:
        write_summary(env.step_summary, f"swarm: issue analysis skipped ({result['skipped']}).")
    else:
        files = ", ".join(f"`{p}`" for p in result.get("top_files", []))
        write_summary(env.step_summary, f"swarm analysed issue #{result['issue']}: most likely {files}.")
    return ActionResult(0, notes=[json.dumps(result)])


def run_action(env: ActionEnv, *, out: TextIO = sys.stdout) -> ActionResult:
    """Act on the event. Raises ConfigError for what the workflow author must fix.

    Logging is set up here, from what `ActionEnv` read (SWARM_LOG_FORMAT), with the token
    and provider keys redacted. A failure other than a ConfigError is logged once with
    its traceback before it reaches the caller, which prints one line.
    """
    configure_logging(env.log_format, secrets=env.secrets())
    try:
        return _run(env, out)
    except ConfigError:
        raise  # the workflow author's to fix: the caller says what, without a traceback
    except Exception:  # boundary: the Action's main
        log.exception("swarm action failed on %s", env.event_name or "an unknown event")
        raise


def _run(env: ActionEnv, out: TextIO) -> ActionResult:
    started = time.perf_counter()
    event = _event(env)
    name = env.event_name
    mode = env.mode
    if mode == "auto":
        mode = {
            "pull_request": "review",
            "pull_request_target": "review",
            "workflow_dispatch": "review",
            "issue_comment": "command",
            "pull_request_review_comment": "command",
            "issues": "issue",
        }.get(name, "")
    if not mode:
        raise ConfigError(
            f"event {name!r} is not supported: use pull_request, pull_request_target, issue_comment, "
            "pull_request_review_comment, issues or workflow_dispatch (or set the `mode` input)"
        )
    if mode == "command":
        result = _command(env, event, out)
    elif mode == "issue":
        result = _issue(env, event, explicit=env.mode == "issue")
    elif mode == "council":
        write_summary(
            env.step_summary, "swarm: `council` mode is not available in this version of swarm yet."
        )
        result = ActionResult(0, notes=["council mode is not available yet"])
    else:
        try:
            result = _review_pr(env, event, out)
        except GitHubError as exc:
            raise ConfigError(f"GitHub refused the review: {exc}") from exc
    print(f"swarm action: done in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return result
