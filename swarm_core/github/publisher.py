"""The idempotent publisher (DESIGN §4): one check run per head SHA, one review, one sticky summary.

Every posted item carries a finding's fingerprint in a signed marker (`markers.py`), and
the publisher reads what is already on the pull request before it writes:

- a finding already on the PR is not posted again (a retried job, a redelivered webhook,
  a new push), wherever swarm put it: an inline comment, a review's body (the overflow
  past `review.max_inline_comments`, or every finding after a 422), or the summary. A
  post that GitHub carried out but answered with an error (a 502 after the review was
  created) is found the same way on the retry. Only markers swarm's own account wrote,
  with a valid MAC, count;
- the summary comment is found by its hidden marker and edited in place; it remembers
  the fingerprints it reported, so findings a new push fixed are listed as resolved;
- the check run for the head SHA is reused (annotations are appended only once), except
  on an explicit re-run, which gets a new check run as GitHub expects (RULES 19).

A comment is posted inline only where the diff model says the line is commentable, so
GitHub never answers 422 for a line outside the diff; if it still refuses the review,
the review is posted again with every finding in its body.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from swarm_core.config import SwarmConfig
from swarm_core.errors import GitHubValidation
from swarm_core.github.client import GitHubClient, PullRequest
from swarm_core.github.markers import Markers
from swarm_core.models import Finding, Review, Severity, Side
from swarm_core.mutation.report import gate_fails
from swarm_core.redact import Redactor
from swarm_core.render.markdown import (
    GITHUB_BODY_LIMIT,
    SUMMARY_MARKER,
    fingerprint_marker,
    render_inline_comment,
    render_summary,
)
from swarm_core.render.sanitize import sanitize

__all__ = ["CHECK_NAME", "CHECK_TEXT_LIMIT", "PublishResult", "Publisher", "conclusion_for"]

CHECK_NAME = "swarm"
CHECK_TEXT_LIMIT = 65_535
ANNOTATION_BATCH = 50
_HISTORY = 20  # heads the summary's history keeps
_STATE = re.compile(r"<!-- swarm:state=(\{.*?\}) -->", re.S)
_LEVEL = {
    Severity.CRITICAL: "failure",
    Severity.HIGH: "failure",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
}
_TRUNCATED = (
    "\n\n… truncated to fit GitHub's limit; the full report is in the sticky summary and `swarm runs show`."
)


@dataclass
class PublishResult:
    """What the publisher did."""

    check_run_id: int | None = None
    review_id: int | None = None
    summary_comment_id: int | None = None
    inline_posted: int = 0
    inline_already: int = 0
    resolved: list[str] = field(default_factory=list)
    fallback: str = ""


def conclusion_for(review: Review, config: SwarmConfig) -> str:
    """failure when a confirmed finding reaches `fail_on`, or the mutation gate's FAIL holds; else success."""
    return "failure" if review.fails(config.fail_threshold) or gate_fails(review, config) else "success"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED


def _annotation(f: Finding) -> dict[str, Any] | None:
    if f.line is None or f.side is not Side.RIGHT:
        return None
    return {
        "path": f.path,
        "start_line": f.line,
        "end_line": f.last_line or f.line,
        "annotation_level": _LEVEL[f.severity],
        "title": _clip(f"{f.severity.value.upper()} {f.rule}: {f.title}", 255),
        "message": _clip(f.message or f.title, 60_000),
    }


def _comment(f: Finding, pr: PullRequest, markers: Markers) -> dict[str, Any]:
    # The signed marker replaces the plain one, after clipping, so a long comment keeps it.
    text = render_inline_comment(f, repo=pr.repo).removesuffix(fingerprint_marker(f)).rstrip()
    marker = markers.marker(pr.repo, pr.number, f.fingerprint)
    body = _clip(text, GITHUB_BODY_LIMIT - 64 - len(marker)) + "\n\n" + marker
    out: dict[str, Any] = {"path": f.path, "line": f.last_line or f.line, "side": f.side.value, "body": body}
    if f.end_line is not None and f.line is not None and f.end_line != f.line:
        out["start_line"] = f.line
        out["start_side"] = f.side.value
    return out


class Publisher:
    """Publishes one review of one pull request. Blocking (GitHub calls): run it in a thread."""

    def __init__(
        self,
        client: GitHubClient,
        config: SwarmConfig,
        *,
        check_name: str = CHECK_NAME,
        redactor: Redactor | None = None,
        markers: Markers | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.check_name = check_name
        # Without a key (tests, tools that know no secret), markers are trusted from any bot.
        self.markers = markers if markers is not None else Markers(b"")
        # Everything posted passes this one redactor (with no configuration it still removes
        # credential-shaped strings a provider may have echoed into a lane's note).
        self.redactor = redactor if redactor is not None else Redactor()

    # check run ------------------------------------------------------------------------
    def check_runs(self, repo: str, head_sha: str) -> list[dict[str, Any]]:
        """swarm's check runs on a commit, as GitHub lists them."""
        _, data = self.client.request(
            "GET",
            f"/repos/{repo}/commits/{head_sha}/check-runs",
            params={"check_name": self.check_name, "per_page": 100},
            what="listing check runs",
        )
        return [r for r in (data or {}).get("check_runs", []) if r.get("name") == self.check_name]

    def start(self, pr: PullRequest, *, rerun: bool = False) -> tuple[int, bool]:
        """The check run for the head SHA, set to in_progress: (id, annotations already posted)."""
        runs = self.check_runs(pr.repo, pr.head_sha)
        if runs and not rerun:
            newest = max(runs, key=lambda r: int(r["id"]))
            annotated = int((newest.get("output") or {}).get("annotations_count") or 0) > 0
            self.client.patch(
                f"/repos/{pr.repo}/check-runs/{newest['id']}",
                {"status": "in_progress"},
                "updating the check run",
            )
            return int(newest["id"]), annotated
        created = self.client.post(
            f"/repos/{pr.repo}/check-runs",
            {
                "name": self.check_name,
                "head_sha": pr.head_sha,
                "status": "in_progress",
                "external_id": f"{pr.repo}#{pr.number}",
                "output": {"title": "Reviewing…", "summary": "swarm is reviewing this change."},
            },
            "creating the check run",
        )
        return int(created["id"]), False

    def finish_check(self, pr: PullRequest, check_id: int, review: Review, *, annotated: bool) -> None:
        """Annotations in batches of 50 (appended by GitHub), then the conclusion."""
        review = self.redactor.review(review)
        counts = review.counts()
        title = (
            f"{review.verdict.value}: " + ", ".join(f"{n} {sev}" for sev, n in counts.items() if n)
            if any(counts.values())
            else f"{review.verdict.value}: no findings"
        )
        summary = _clip(render_summary(review), CHECK_TEXT_LIMIT)
        notes = "\n".join(f"- {n}" for n in review.notes)
        text = _clip(notes, CHECK_TEXT_LIMIT) if notes else None
        annotations = [] if annotated else [a for a in map(_annotation, review.confirmed()) if a is not None]
        path = f"/repos/{pr.repo}/check-runs/{check_id}"
        for start in range(0, len(annotations), ANNOTATION_BATCH):
            batch = annotations[start : start + ANNOTATION_BATCH]
            partial = {"title": title[:255], "summary": summary, "annotations": batch}
            self.client.patch(path, {"output": partial}, "adding check run annotations")
        output: dict[str, Any] = {"title": title[:255], "summary": summary}
        if text:
            output["text"] = text
        self.client.patch(
            path,
            {
                "status": "completed",
                "conclusion": conclusion_for(review, self.config),
                "completed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "output": output,
            },
            "completing the check run",
        )

    def close_check(self, pr: PullRequest, check_id: int, conclusion: str, title: str, summary: str) -> None:
        """Complete a check run without a review (superseded, skipped, failed)."""
        title, summary = self.redactor.text(title), self.redactor.text(summary)
        self.client.patch(
            f"/repos/{pr.repo}/check-runs/{check_id}",
            {
                "status": "completed",
                "conclusion": conclusion,
                "completed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "output": {"title": title[:255], "summary": _clip(summary, CHECK_TEXT_LIMIT)},
            },
            "completing the check run",
        )

    # review -----------------------------------------------------------------------------
    def posted_fingerprints(self, pr: PullRequest) -> set[str]:
        """Fingerprints swarm already posted on the pull request: in its inline comments, its
        reviews' bodies and its summary (only its own account's, validly signed markers)."""
        comments = self.client.paginate(
            f"/repos/{pr.repo}/pulls/{pr.number}/comments", what="listing review comments"
        )
        found = self.markers.read(pr.repo, pr.number, comments)
        reviews = self.client.paginate(f"/repos/{pr.repo}/pulls/{pr.number}/reviews", what="listing reviews")
        found |= self.markers.read(pr.repo, pr.number, reviews)
        _, summary = self.find_summary(pr)
        return found | set(_summary_state(summary))

    def post_review(self, pr: PullRequest, review: Review, result: PublishResult) -> None:
        """One review with the new inline comments (capped), the rest listed in its body."""
        review = self.redactor.review(review)
        already = self.posted_fingerprints(pr)
        fresh = [f for f in review.confirmed() if f.anchored and f.fingerprint not in already]
        result.inline_already = sum(1 for f in review.confirmed() if f.anchored and f.fingerprint in already)
        cap = self.config.review.max_inline_comments
        inline, overflow = fresh[:cap], fresh[cap:]
        if not inline and not overflow:
            return
        body = self._review_body(pr, review, len(inline), overflow)
        payload: dict[str, Any] = {
            "commit_id": pr.head_sha,
            "event": "COMMENT",
            "body": body,
            "comments": [_comment(f, pr, self.markers) for f in inline],
        }
        try:
            data = self.client.post(
                f"/repos/{pr.repo}/pulls/{pr.number}/reviews", payload, "posting the review"
            )
        except GitHubValidation as exc:
            # GitHub refused a comment position; never lose the findings: all go in the body.
            result.fallback = f"inline comments refused ({exc}); posted in the review body"
            payload = {
                "commit_id": pr.head_sha,
                "event": "COMMENT",
                "body": self._review_body(pr, review, 0, fresh),
            }
            data = self.client.post(
                f"/repos/{pr.repo}/pulls/{pr.number}/reviews", payload, "posting the review"
            )
            inline, overflow = [], fresh
        result.review_id = int(data.get("id") or 0) or None
        result.inline_posted = len(inline)

    def _review_body(self, pr: PullRequest, review: Review, inline: int, overflow: Sequence[Finding]) -> str:
        parts = [
            f"🐝 **swarm**: {review.verdict.value} — {inline} inline comment(s); "
            "the summary comment has the full report."
        ]
        if overflow:
            parts += ["", f"{len(overflow)} more finding(s), not posted inline:", ""]
            for f in overflow:
                title = _escape(sanitize(f.title, repo=review.repo, limit=300))
                marker = self.markers.marker(pr.repo, pr.number, f.fingerprint)
                parts.append(f"- `{f.location()}` [{f.severity.value}] {title} {marker}")
        return _clip("\n".join(parts), GITHUB_BODY_LIMIT - 64)

    # sticky summary -----------------------------------------------------------------------
    def find_summary(self, pr: PullRequest) -> tuple[int | None, str]:
        """swarm's sticky summary comment on the PR: (id, body), or (None, "")."""
        for c in self.client.paginate(
            f"/repos/{pr.repo}/issues/{pr.number}/comments", what="listing comments"
        ):
            body = str(c.get("body") or "")
            if SUMMARY_MARKER in body and self.markers.own(c):
                return int(c["id"]), body
        return None, ""

    def upsert_summary(
        self, pr: PullRequest, review: Review, result: PublishResult, mode: str = "full"
    ) -> None:
        """Edit the sticky summary in place (or create it), listing findings fixed since last time
        and the review history (each head reviewed, how, and what it added and resolved)."""
        review = self.redactor.review(review)
        comment_id, old = self.find_summary(pr)
        previous = _summary_state(old)
        # Titles are sanitized here too: a resolved one is shown again in a later summary.
        current = {
            f.fingerprint: sanitize(f"{f.location()} {f.title}", repo=pr.repo)[:120]
            for f in review.confirmed()
        }
        resolved = [desc for fp, desc in previous.items() if fp not in current]
        result.resolved = resolved
        extra = ""
        if resolved:
            rows = "\n".join(f"- ✅ ~~{_escape(sanitize(desc, repo=pr.repo))}~~" for desc in resolved[:50])
            extra = f"\n\n**Resolved since the last review** ({len(resolved)}):\n{rows}"
        history = _summary_history(old)
        if not history or history[-1].get("head") != pr.head_sha[:12]:  # a retry keeps its first entry
            added = sum(1 for fp in current if fp not in previous)
            history.append(
                {"head": pr.head_sha[:12], "mode": mode[:40], "added": added, "resolved": len(resolved)}
            )
        extra += _history_table(history[-_HISTORY:])
        state = json.dumps(
            {"fps": dict(list(current.items())[:300]), "history": history[-_HISTORY:]},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        state_marker = f"\n<!-- swarm:state={state.replace('-->', '—>')} -->"
        budget = GITHUB_BODY_LIMIT - len(state_marker) - len(extra) - 256
        body = render_summary(review, max_chars=budget) + extra + state_marker
        if comment_id is None:
            data = self.client.post(
                f"/repos/{pr.repo}/issues/{pr.number}/comments", {"body": body}, "posting the summary"
            )
            result.summary_comment_id = int(data["id"])
        else:
            if old != body:
                self.client.patch(
                    f"/repos/{pr.repo}/issues/comments/{comment_id}", {"body": body}, "updating the summary"
                )
            result.summary_comment_id = comment_id

    # all of it ---------------------------------------------------------------------------
    def publish(
        self, pr: PullRequest, review: Review, check: tuple[int, bool] | None, *, mode: str = "full"
    ) -> PublishResult:
        """Review, sticky summary, then the check run's conclusion (last: it is what CI waits on).

        `mode` is how this head was reviewed ("full", "incremental (compare)", ...), for the history.
        """
        result = PublishResult(check_run_id=check[0] if check else None)
        self.post_review(pr, review, result)
        self.upsert_summary(pr, review, result, mode)
        if check is not None:
            self.finish_check(pr, check[0], review, annotated=check[1])
        return result


def _summary_state(body: str) -> dict[str, str]:
    """The fingerprints (and their descriptions) a summary comment says it reported."""
    m = _STATE.search(body)
    if not m:
        return {}
    try:
        return {str(k): str(v) for k, v in dict(json.loads(m.group(1)).get("fps", {})).items()}
    except (ValueError, AttributeError, TypeError):
        return {}


def _summary_history(body: str) -> list[dict[str, Any]]:
    """The review history a summary comment keeps: per head reviewed, how, what it added and resolved."""
    m = _STATE.search(body)
    try:
        rows = list(json.loads(m.group(1)).get("history", [])) if m else []
    except (ValueError, AttributeError, TypeError):
        return []
    return [r for r in rows if isinstance(r, dict)]


def _history_table(history: Sequence[dict[str, Any]]) -> str:
    if len(history) < 2:
        return ""
    rows = "\n".join(
        f"| `{_escape(str(h.get('head', '')))[:12]}` | {_escape(str(h.get('mode', '')))} "
        f"| {int(h.get('added') or 0)} | {int(h.get('resolved') or 0)} |"
        for h in history
    )
    return f"\n\n**Review history**\n\n| head | review | new findings | resolved |\n|---|---|---|---|\n{rows}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
