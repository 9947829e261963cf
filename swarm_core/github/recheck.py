"""An incremental review: the increment's new findings plus the open findings the new head still has.

The review of a new head is built from three cheap parts instead of a whole review:

- the increment (the hunks the new commits touched) reviewed by the analyzers and the
  model lanes: only its findings on lines the new commits changed are new;
- the analyzers run again over the files of open deterministic findings that changed: an
  open finding they no longer report, by fingerprint or by rule at its moved site, is fixed;
- for an open model finding whose site the push touched, only the lane that raised it is
  asked again, on the hunk now at that site; without a model it stays open.

An open finding whose site did not change is carried over, its lines moved with the file.
The result is a whole review of the new head: every open finding, so the publisher never
posts one twice and the summary lists them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig, merge
from swarm_core.github.increment import Increment, narrow
from swarm_core.models import AnalyzerStatus, Finding, Lane, LaneStatus, Review, Usage
from swarm_core.stages.learnings import apply_learnings
from swarm_core.stages.verdict import verdict_for
from swarm_core.stages.verify import anchor

__all__ = ["Rechecked", "ReviewRun", "fixed_by_full_review", "is_model", "rechecked_by", "review_increment"]

ReviewRun = Callable[[SwarmConfig, ChangeSet, bool], Awaitable[Review]]
_CONTEXT_FILES = 40  # files of the whole pull request named to the lanes of an increment
_SITE_SLACK = 2  # lines either side of a moved site where the same rule still counts as the same finding


@dataclass(frozen=True)
class Rechecked:
    """The merged review of the new head, and the open findings re-checked as fixed."""

    review: Review
    fixed: tuple[Finding, ...]
    new: tuple[Finding, ...]


def is_model(f: Finding) -> bool:
    """Whether a model lane raised the finding (else a deterministic analyzer did)."""
    return f.source.startswith("model:")


def rechecked_by(f: Finding, review: Review) -> bool:
    """Whether whoever raised `f` ran to the end in `review`: its lane, or its analyzer (a failed or
    skipped analyzer re-checked nothing)."""
    if is_model(f):
        return any(lr.lane is f.lane and lr.status is LaneStatus.OK for lr in review.lanes)
    return any(a.name == f.source and a.status is AnalyzerStatus.OK for a in review.analyzers)


def _same(
    f: Finding,
    site: int | None,
    found: Iterable[Finding],
    *,
    lane_only: bool = False,
    others: frozenset[str] = frozenset(),
) -> Finding | None:
    """The finding in `found` that is `f` at its moved site: same fingerprint, or same rule close
    by (but not another open finding that moved next to it: that one is itself, not `f`)."""
    found = [g for g in found if g.path == f.path]
    for g in found:
        if g.fingerprint == f.fingerprint:
            return g
    for g in found:
        if g.fingerprint in others and g.fingerprint != f.fingerprint:
            continue
        same_kind = g.lane is f.lane and g.category == f.category if lane_only else g.rule == f.rule
        if same_kind and (site is None or (g.line is not None and abs(g.line - site) <= _SITE_SLACK)):
            return g
    return None


def _moved(f: Finding, inc: Increment, change: ChangeSet, at: Finding | None = None) -> Finding:
    """`f` with its lines where they are at the new head (or where `at` found it), re-anchored."""
    lm = inc.maps.get(f.path)
    if at is not None:
        f = replace(f, line=at.line, end_line=at.end_line)
    elif lm is not None and f.line is not None:
        end = lm.site(f.end_line) if f.end_line is not None else None
        f = replace(f, line=lm.site(f.line), end_line=end)
    return anchor(f, change.diff)


def _sites(findings: Sequence[Finding], inc: Increment) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for f in findings:
        lm = inc.maps.get(f.path)
        site = lm.site(f.line) if lm is not None and f.line is not None else f.line
        out.setdefault(f.path, set()).update(range((site or 1) - _SITE_SLACK, (site or 1) + _SITE_SLACK + 1))
    return out


async def review_increment(
    run: ReviewRun, config: SwarmConfig, change: ChangeSet, inc: Increment, previous: Review
) -> Rechecked:
    """Review the increment and re-check the open findings of `previous` (the last reviewed head's)."""
    note = (
        f"Incremental review of the commits since {inc.old_head[:7]} ({inc.how}): "
        f"{sum(map(len, inc.lines.values()))} changed line(s) in {len(inc.lines)} file(s); "
        "the rest of the pull request was reviewed before. `/swarm pr-review --full` reviews it all again."
    )
    runs: list[Review] = []
    fresh = (
        await run(config, _with_context(narrow(change, inc.lines, note), change, inc), True)
        if inc.lines
        else None
    )
    runs += [fresh] if fresh is not None else []

    still: list[Finding] = []
    known = frozenset(f.fingerprint for f in previous.findings)
    # A file the push took out of the pull request (reverted to its base) takes its findings with it.
    fixed = [f for f in previous.findings if change.diff.file(f.path) is None]
    open_ = [f for f in previous.findings if change.diff.file(f.path) is not None]
    det = [f for f in open_ if not is_model(f) and f.path in inc.maps]
    if det:
        files = {f.path: () for f in det if change.diff.file(f.path) is not None}
        recheck = await run(config, narrow(change, files), False) if files else None
        runs += [recheck] if recheck is not None else []
        for f in det:
            lm = inc.maps[f.path]
            site = lm.site(f.line) if f.line is not None else None
            g = _same(f, site, recheck.findings if recheck else (), others=known)
            if g is None and (recheck is None or rechecked_by(f, recheck)):
                fixed.append(f)  # gone, or its file is no longer part of the pull request
            else:
                still.append(_moved(f, inc, change, g))
    touched = [f for f in open_ if is_model(f) and inc.touched(f.path, f.line, f.last_line)]
    sites = narrow(change, _sites(touched, inc))
    if not sites.diff.files:  # no site is in the pull request's diff any more: nothing to ask on
        touched = []
    if touched:
        lanes = {f.lane for f in touched}
        only = merge(config, {"lanes": {lane.value: lane in lanes for lane in Lane}})
        asked = await run(only, sites, True)
        runs.append(asked)
        for f in touched:
            lm = inc.maps[f.path]
            site = lm.site(f.line) if f.line is not None else None
            g = _same(f, site, asked.findings, lane_only=True, others=known)
            if not rechecked_by(f, asked) or g is not None:  # no model to ask: it stays open
                still.append(_moved(f, inc, change, g))
            else:
                fixed.append(f)
    rechecked = {id(f) for f in (*det, *touched)}
    still += [_moved(f, inc, change) for f in open_ if id(f) not in rechecked]

    new = [
        g
        for g in (fresh.findings if fresh is not None else ())
        if g.fingerprint not in known
        and _in_increment(g, inc)
        and _same(g, g.line, still, lane_only=is_model(g)) is None
    ]
    findings = sorted((*still, *new), key=lambda f: (-f.severity.rank, f.path, f.line or 0, f.rule))
    # The team's learnings cover what was carried over too (a learning taught since the last
    # head), and a finding a learning silenced was not fixed: its thread is not resolved.
    applied = apply_learnings(findings, change.learnings)
    learned = (*(u for r in runs for u in r.learned), *(u for u in applied.uses if u.action == "suppressed"))
    silenced = {u.fingerprint for u in learned if u.action == "suppressed"}
    findings = [f for f in findings if f.fingerprint not in silenced]
    fixed = [f for f in fixed if f.fingerprint not in silenced]
    base = fresh or (runs[0] if runs else replace(previous, exchanges=(), notes=change.notes))
    usage = sum((r.usage for r in runs), Usage())
    review = replace(
        base,
        source=change.label,
        base=change.base,
        head=change.head,
        verdict=verdict_for(findings),
        findings=tuple(findings),
        lanes=tuple(lr for r in runs for lr in r.lanes),
        analyzers=tuple(a for r in runs for a in r.analyzers),
        usage=usage,
        exchanges=tuple(x for r in runs for x in r.exchanges),
        learned=tuple(dict.fromkeys(learned)),
        notes=(*base.notes, note) if note not in base.notes else base.notes,
        run_id=None,
        title=change.title,
        repo=change.repo,
    )
    return Rechecked(review, tuple(fixed), tuple(new))


def _with_context(part: ChangeSet, change: ChangeSet, inc: Increment) -> ChangeSet:
    """The narrowed change, its description telling the lanes what the whole pull request changes
    (one line per file: cheap context for the part they read)."""
    files = ", ".join(
        f"{fd.path} (+{fd.additions} -{fd.deletions})" for fd in change.diff.files[:_CONTEXT_FILES]
    )
    more = (
        f" and {len(change.diff.files) - _CONTEXT_FILES} more"
        if len(change.diff.files) > _CONTEXT_FILES
        else ""
    )
    context = (
        f"[swarm: this review covers the commits since {inc.old_head[:7]}; the rest was reviewed before. "
        f"The whole pull request changes {files}{more}.]"
    )
    return replace(part, description=f"{change.description}\n\n{context}".strip())


def _in_increment(f: Finding, inc: Increment) -> bool:
    lines = inc.lines.get(f.path, frozenset())
    if f.line is None:
        return bool(lines)
    return any(n in lines for n in range(f.line, (f.last_line or f.line) + 1))


def fixed_by_full_review(
    previous: Review, review: Review, files: frozenset[str] | None = None
) -> tuple[Finding, ...]:
    """The open findings of `previous` the review of the new head no longer has.

    A finding counts only when whoever raised it ran in `review`: a review without models (no
    provider, the budget spent) or with its analyzer failed re-checked nothing of it.
    """
    now = {f.fingerprint for f in review.findings}
    silenced = {u.fingerprint for u in review.learned if u.action == "suppressed"}
    return tuple(
        f
        for f in previous.confirmed()
        if f.fingerprint not in now
        and f.fingerprint not in silenced
        and rechecked_by(f, review)
        # A whole second reading by a model does not repeat the first word for word: there
        # (`files`: the pull request's files now) a model finding counts as fixed only when its
        # file left the pull request. An incremental review re-asked the lane at the site (None).
        and (files is None or not is_model(f) or f.path not in files)
    )
