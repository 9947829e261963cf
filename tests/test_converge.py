"""Reviews that converge: incremental review of a push, fixed findings' threads resolved, the fake's threads."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from swarm_core.changeset import ChangeSet
from swarm_core.config import SwarmConfig
from swarm_core.errors import GitHubForbidden, GitHubNotFound
from swarm_core.github.commands import parse_command
from swarm_core.github.increment import Increment, find_increment, line_map
from swarm_core.github.pr_changeset import change_from_pr
from swarm_core.github.recheck import fixed_by_full_review, review_increment
from swarm_core.github.threads import RESOLVE, review_threads
from swarm_core.models import (
    AnalyzerReport,
    AnalyzerStatus,
    Finding,
    Lane,
    LaneResult,
    LaneStatus,
    Review,
    Severity,
    Usage,
    Verdict,
)
from tests.fakes.github import FakeGitHub, Pull, unified_diff
from tests.rig import REPO, Rig, fake_fixture, rig_fixture  # noqa: F401 (the fixtures fake, rig)

HEADER = "import subprocess\n\n\n"


def func(n: int, *, fixed: bool = False) -> str:
    """A function with a shell-injection finding (or its fix): each n is a distinct finding."""
    if fixed:
        return f"def _run_{n}(name):\n    return ['tool{n}', 'go', name]\n\n\n"
    return f"def _run_{n}(name):\n    return subprocess.call('tool{n} go ' + name, shell=True)\n\n\n"


def source(planted: list[int], fixed: list[int] = (), top: str = "") -> str:  # type: ignore[assignment]
    return HEADER + top + "".join(func(n, fixed=n in fixed) for n in sorted({*planted, *fixed}))


def open_pull(fake: FakeGitHub, files: dict[str, str], number: int = 7) -> Pull:
    base = {"README.md": "hello\n"}
    head = {**base, **files}
    pull = Pull(number, "Add tools", "Runs tools.", unified_diff(base, head), base, head)
    return fake.add_pull(REPO, pull)


def swarm_roots(fake: FakeGitHub) -> list[dict[str, object]]:
    return [
        c for c in fake.review_comments if "in_reply_to_id" not in c and c["user"]["login"] == fake.bot_login
    ]


def fp_of(comment: dict[str, object]) -> str:
    return re.findall(r"swarm:fp=(\w+):", str(comment["body"]))[0]


def fixed_replies(fake: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in fake.review_comments if "Fixed in" in str(c["body"])]


# incremental review ---------------------------------------------------------------------


def test_a_push_is_reviewed_from_the_last_head_and_nothing_is_posted_twice(
    rig: Rig, fake: FakeGitHub
) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    first = rig.review(7)
    assert first["mode"] == "full" and first["inline_posted"] == 2
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([2, 3], fixed=[1])})
    second = rig.review(7)
    assert second["mode"] == "incremental (compare)"
    assert second["inline_posted"] == 1 and second["threads_resolved"] == 1
    fps = [fp_of(c) for c in swarm_roots(fake)]
    assert len(fps) == len(set(fps)) == 3  # run_3 was added once; run_2 never again
    new = swarm_roots(fake)[-1]
    assert "tool3" in fake.pulls[(REPO, 7)].head_files["tools.py"].split("\n")[int(str(new["line"])) - 1]
    (reply,) = fixed_replies(fake)
    fixed_root = fake.thread_of(int(str(reply["in_reply_to_id"])))
    assert fixed_root["isResolved"] and fixed_root["resolvedBy"] == {"login": fake.bot_login}
    assert fake.pulls[(REPO, 7)].head_sha[:12] in str(reply["body"])
    # the same head again (a redelivery) posts, replies and resolves nothing more
    again = rig.review(7)
    assert again["inline_posted"] == 0 and len(fixed_replies(fake)) == 1
    (summary,) = [c for c in fake.issue_comments if "swarm:summary" in c["body"]]
    assert "**Review history**" in summary["body"]
    heads = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (\d+) \| (\d+) \|$", summary["body"], re.M)
    assert [(m.strip(), int(a), int(r)) for _h, m, a, r in heads] == [
        ("full", 3, 0),  # two inline, and the file-level "no test change"
        ("incremental (compare)", 1, 1),
    ]


def test_a_force_push_is_reviewed_by_range_diff(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    old = fake.pulls[(REPO, 7)].head_sha
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([1, 2, 4])}, force=True)
    result = rig.review(7)
    assert result["mode"] == "incremental (range-diff)" and result["inline_posted"] == 1
    assert "tool4" in str(swarm_roots(fake)[-1]["body"]) or len(swarm_roots(fake)) == 3
    change = change_from_pr(rig.client, rig.client.pull_request(REPO, 7), SwarmConfig())
    inc = find_increment(rig.client, rig.client.pull_request(REPO, 7), old, change)
    assert inc.how == "range-diff" and set(inc.lines) == {"tools.py"}
    head = fake.pulls[(REPO, 7)].head_files["tools.py"].split("\n")
    assert {head[n - 1] for n in inc.lines["tools.py"]} >= {"def _run_4(name):"}


def test_lines_the_base_branch_brought_in_are_not_the_increment(rig: Rig, fake: FakeGitHub) -> None:
    pull = open_pull(fake, {"tools.py": source([1])})
    rig.review(7)
    old = pull.head_sha
    main = {"README.md": "hello\n", "vendor.py": source([9])}  # main gained a file with a problem
    pr = fake.push(REPO, 7, {**main, "tools.py": source([1, 5])}, base_files=main)
    client_pr = rig.client.pull_request(REPO, 7)
    inc = find_increment(rig.client, client_pr, old, change_from_pr(rig.client, client_pr, SwarmConfig()))
    assert inc.how == "compare" and set(inc.lines) == {"tools.py"} and "vendor.py" not in inc.maps
    result = rig.review(7)
    assert result["inline_posted"] == 1 and "vendor.py" not in str([c["path"] for c in swarm_roots(fake)])
    assert pr.head_sha == client_pr.head_sha


def test_swarm_pr_review_full_reviews_everything_and_still_posts_nothing_twice(
    rig: Rig, fake: FakeGitHub
) -> None:
    assert parse_command("/swarm pr-review --full").flags == frozenset({"--full"})  # type: ignore[union-attr]
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([1, 2, 3])})
    result = rig.command(7, "/swarm pr-review --full")
    assert result["mode"] == "full" and result["inline_posted"] == 1 and result["inline_already"] == 2
    plain = rig.command(7, "/swarm pr-review")  # same head as last reviewed: a whole review again
    assert plain["mode"] == "full" and plain["inline_posted"] == 0


# resolution -------------------------------------------------------------------------------


def test_a_finding_that_only_moved_stays_open_and_is_not_posted_again(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    top = "LIMIT = 3\nNAME = 'x'\n\n\n"
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([1, 2], top=top)})
    result = rig.review(7)
    assert result["inline_posted"] == 0 and "threads_resolved" not in result
    assert fixed_replies(fake) == [] and not any(fake.thread_of(int(str(c["id"])))["isOutdated"] for c in [])
    assert all(not fake.thread_of(int(str(c["id"])))["isResolved"] for c in swarm_roots(fake))


def test_a_human_reply_keeps_the_thread_open_and_a_human_thread_is_never_touched(
    rig: Rig, fake: FakeGitHub
) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    one, two = swarm_roots(fake)
    fake.add_review_reply(REPO, 7, int(str(one["id"])), "Fixing this in the next push.", "author")
    fake.add_review_comment(
        REPO, 7, "Why not shlex? <!-- swarm:fp=" + fp_of(two) + ":0 -->", "author", "tools.py"
    )
    human = fake.review_comments[-1]
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([], fixed=[1, 2])})
    result = rig.review(7)
    assert result["threads_resolved"] == 1 and result["threads_left_open"] == 1
    assert fake.thread_of(int(str(one["id"])))["isResolved"] is False  # replied to, left open
    assert len(fixed_replies(fake)) == 2
    assert fake.thread_of(int(str(two["id"])))["isResolved"] is True
    assert fake.thread_of(int(str(human["id"])))["isResolved"] is False
    assert all(c.get("in_reply_to_id") != human["id"] for c in fake.review_comments)


def test_a_thread_already_resolved_stays_resolved_without_a_reply(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1])})
    rig.review(7)
    (root,) = swarm_roots(fake)
    fake.resolve_thread(f"PRRT_{root['id']}", "maintainer")
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([], fixed=[1])})
    result = rig.review(7)
    assert result["threads_already_resolved"] == 1 and fixed_replies(fake) == []
    assert fake.thread_of(int(str(root["id"])))["resolvedBy"] == {"login": "maintainer"}
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([6], fixed=[1])})
    rig.review(7)
    assert fake.thread_of(int(str(root["id"])))["isResolved"]  # a later push never reopens it


def _finding(lane: Lane, source: str, line: int, fp: str, rule: str = "r1") -> Finding:
    return Finding(
        "a.py", line, Severity.HIGH, lane, "bug", rule, "A bug", source=source, fingerprint=fp, anchored=True
    )


def _review(
    findings: tuple[Finding, ...],
    lanes: tuple[LaneResult, ...] = (),
    analyzers: tuple[AnalyzerReport, ...] = (),
) -> Review:
    return Review("x", None, "h", Verdict.REQUEST_CHANGES, findings, analyzers, lanes, 1, 1, 0, usage=Usage())


def test_a_finding_is_resolved_only_when_its_lane_or_analyzer_ran_again() -> None:
    model = _finding(Lane.CORRECTNESS, "model:gpt", 3, "f1")
    det = _finding(Lane.SECURITY, "semgrep", 5, "f2")
    previous = _review((model, det))
    semgrep_ok = (AnalyzerReport("semgrep", AnalyzerStatus.OK),)
    ran = _review((), (LaneResult(Lane.CORRECTNESS, LaneStatus.OK),), semgrep_ok)
    no_model = _review((), (LaneResult(Lane.CORRECTNESS, LaneStatus.DISABLED),), semgrep_ok)
    semgrep_failed = _review((), (), (AnalyzerReport("semgrep", AnalyzerStatus.TIMEOUT, reason="timed out"),))
    assert fixed_by_full_review(previous, ran) == (model, det)
    assert fixed_by_full_review(previous, no_model) == (det,)
    assert fixed_by_full_review(previous, semgrep_failed) == ()
    assert fixed_by_full_review(
        previous, _review((det,), (LaneResult(Lane.CORRECTNESS, LaneStatus.OK),))
    ) == (model,)


def test_an_incremental_recheck_asks_only_the_lane_that_raised_a_touched_model_finding() -> None:
    from swarm_core.changeset import PatchContents

    old, new = b"a = 1\nb = bad()\nc = 3\n", b"a = 1\nb = good()\nc = 3\n"
    diff_text = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,3 @@\n a = 1\n+b = good()\n+c = 3\n"
    )
    from swarm_core.diff import parse_diff

    diff = parse_diff(diff_text)
    change = ChangeSet(diff=diff, contents=PatchContents({"a.py": b"a = 1\n"}, diff), label="x", head="h2")
    lm = line_map(old, new)
    inc = Increment("h1", "h2", "compare", {"a.py": lm}, {"a.py": frozenset(lm.changed)})
    model = _finding(Lane.CORRECTNESS, "model:gpt", 2, "f1")
    asked: list[tuple[set[str], bool]] = []
    described: list[str] = []

    def runner(status: LaneStatus, still: bool):  # type: ignore[no-untyped-def]
        async def run(config: SwarmConfig, part: ChangeSet, models: bool) -> Review:
            on = {lane.value for lane in Lane if config.lanes.enabled(lane)}
            asked.append((on, models))
            described.append(part.description)
            found = (
                (_finding(Lane.CORRECTNESS, "model:gpt", 2, "zz"),) if still and on == {"correctness"} else ()
            )
            return _review(found, (LaneResult(Lane.CORRECTNESS, status),))

        return run

    fixed = asyncio.run(
        review_increment(runner(LaneStatus.OK, False), SwarmConfig(), change, inc, _review((model,)))
    )
    assert [f.fingerprint for f in fixed.fixed] == ["f1"] and ({"correctness"}, True) in asked
    assert (
        "[swarm: this review covers the commits since h1" in described[0] and "a.py (+2 -0)" in described[0]
    )
    kept = asyncio.run(
        review_increment(runner(LaneStatus.OK, True), SwarmConfig(), change, inc, _review((model,)))
    )
    assert kept.fixed == () and [f.fingerprint for f in kept.review.findings] == ["f1"]
    alone = asyncio.run(
        review_increment(runner(LaneStatus.DISABLED, False), SwarmConfig(), change, inc, _review((model,)))
    )
    assert alone.fixed == () and [f.fingerprint for f in alone.review.findings] == ["f1"]  # no model: open


# the fake's GraphQL threads and reactions ---------------------------------------------------


def test_the_fake_enforces_who_may_resolve_a_thread(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1])})
    rig.review(7)
    fake.add_review_comment(REPO, 7, "a person's remark", "author", "tools.py")
    human = fake.review_comments[-1]
    pr = rig.client.pull_request(REPO, 7)
    threads = {t["id"]: t for t in review_threads(rig.client, pr)}
    assert set(threads) == {f"PRRT_{c['id']}" for c in [*swarm_roots(fake), human]}
    assert all(
        n["author"]["login"] != fake.bot_login for t in threads.values() for n in t["comments"]["nodes"]
    )
    with pytest.raises(GitHubForbidden, match="not accessible"):
        rig.client.graphql(RESOLVE, {"threadId": f"PRRT_{human['id']}"}, "resolving")
    with pytest.raises(GitHubNotFound):
        rig.client.graphql(RESOLVE, {"threadId": "PRRT_1"}, "resolving")
    own = f"PRRT_{swarm_roots(fake)[0]['id']}"
    for _ in range(2):  # resolving a resolved thread is a no-op
        data = rig.client.graphql(RESOLVE, {"threadId": own}, "resolving")
        assert data == {"resolveReviewThread": {"thread": {"id": own, "isResolved": True}}}
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": "import os\n" + source([1])})
    after = {t["id"]: t for t in review_threads(rig.client, pr)}
    assert after[own]["isResolved"] and after[own]["isOutdated"]
    assert not after[f"PRRT_{human['id']}"]["isResolved"]


def test_reactions_on_review_comments(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1])})
    rig.review(7)
    cid = swarm_roots(fake)[0]["id"]
    fake.add_review_reaction(int(str(cid)), "-1", "author")
    path = f"/repos/{REPO}/pulls/comments/{cid}/reactions"
    first = rig.client.post(path, {"content": "eyes"}, "reacting")
    again = rig.client.post(path, {"content": "eyes"}, "reacting")
    assert first == again and first["content"] == "eyes"
    listed = list(rig.client.paginate(path))
    assert [(r["content"], r["user"]["login"]) for r in listed] == [
        ("-1", "author"),
        ("eyes", fake.bot_login),
    ]
    with pytest.raises(GitHubNotFound):
        rig.client.post(f"/repos/{REPO}/pulls/comments/1/reactions", {"content": "-1"}, "reacting")


# the increment's parts --------------------------------------------------------------------


def test_line_map_keeps_moved_lines_and_sends_changed_ones_to_their_replacement() -> None:
    lm = line_map(b"a\nb\nc\nd\n", b"top\na\nB\nc\nd\n")
    assert dict(lm.kept) == {1: 2, 3: 4, 4: 5, 5: 6} and dict(lm.near) == {2: 3}
    assert lm.changed == frozenset({1, 3}) and lm.site(2) == 3 and lm.site(4) == 5


def test_narrow_keeps_only_the_diff_lines_near_the_increment() -> None:
    from swarm_core.changeset import PatchContents
    from swarm_core.diff import parse_diff
    from swarm_core.github.increment import CONTEXT_LINES, narrow

    body = (
        "".join(f" l{i}\n" for i in range(1, 15))
        + "-l15\n+L15\n+L15b\n"
        + "".join(f" l{i}\n" for i in range(16, 41))
    )
    diff = parse_diff("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,40 +1,41 @@\n" + body)
    change = ChangeSet(diff=diff, contents=PatchContents(diff), label="x")
    (fd,) = narrow(change, {"a.py": {16}}).diff.files
    (hunk,) = fd.hunks
    assert (hunk.target_start, hunk.target_length) == (16 - CONTEXT_LINES, 2 * CONTEXT_LINES + 1)
    assert fd.added == frozenset({15, 16}) and all(fd.can_comment(n) for n in range(8, 25))
    added = parse_diff(unified_diff({}, {"new.py": "".join(f"x{i} = {i}\n" for i in range(1, 61))}))
    (new,) = narrow(
        ChangeSet(diff=added, contents=PatchContents(added), label="y"), {"new.py": {30, 31}}
    ).diff.files
    assert new.added == frozenset(range(30 - CONTEXT_LINES, 31 + CONTEXT_LINES + 1))
    assert narrow(change, {"other.py": {1}}).diff.files == ()
    assert narrow(change, {"a.py": ()}).diff.files[0].hunks == diff.files[0].hunks  # no lines: every hunk


def test_an_unknown_old_head_is_reviewed_by_range_diff(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1])})
    pr = rig.client.pull_request(REPO, 7)
    change = change_from_pr(rig.client, pr, SwarmConfig())
    inc = find_increment(rig.client, pr, "0" * 40, change)  # compare answers 404: the head is gone
    assert inc.how == "range-diff" and inc.lines == {"tools.py": change.diff.files[-1].added}


def test_graphql_errors_are_typed_and_a_refused_resolution_loses_nothing(rig: Rig, fake: FakeGitHub) -> None:
    from swarm_core.errors import GitHubUnavailable, GitHubValidation

    with pytest.raises(GitHubValidation, match="reviewThreads"):
        rig.client.graphql("query { viewer { login } }", {}, "asking")
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([2], fixed=[1])})
    fake.fail("POST", r"^/graphql$", 502)
    with pytest.raises(GitHubUnavailable):  # a 5xx fails the job: the queue retries it
        rig.review(7)
    result = rig.review(7)  # the retry publishes the stored review and resolves the thread
    assert result["threads_resolved"] == 1 and result["inline_posted"] == 0 and len(fixed_replies(fake)) == 1


def test_a_token_that_may_not_use_graphql_reports_it_and_keeps_the_review(rig: Rig, fake: FakeGitHub) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    fake.push(REPO, 7, {"README.md": "hello\n", "tools.py": source([2, 3], fixed=[1])})
    fake.fail("POST", r"^/graphql$", 403)
    result = rig.review(7)
    assert "403" in result["threads_error"] and result["inline_posted"] == 1
    assert not any(fake.thread_of(int(str(c["id"])))["isResolved"] for c in swarm_roots(fake))


def test_a_model_finding_is_resolved_after_its_lane_is_asked_again(fake: FakeGitHub, tmp_path: Path) -> None:
    from tests.fakes.llm import FakeLLM, Recorded, Reply, lane_reply

    bug = "    return items[len(items)]"
    head: dict[str, str] = {}

    def correctness(req: Recorded) -> Reply:
        lines = head.get("tools.py", "").split("\n")
        if bug not in req.prompt or bug not in lines:
            return lane_reply()
        found = {
            "path": "tools.py",
            "line": lines.index(bug) + 1,
            "severity": "high",
            "category": "correctness",
        }
        return lane_reply(
            {**found, "title": "Index out of range", "evidence": bug.strip(), "confidence": 0.9}
        )

    with FakeLLM() as llm:
        llm.default("lane", "correctness", correctness)
        rig = Rig(fake, tmp_path, llm)
        head.update({"tools.py": source([1], top=f"def _last(items):\n{bug}\n\n\n")})
        open_pull(fake, head)
        rig.review(7)
        assert any("Index out of range" in str(c["body"]) for c in swarm_roots(fake))
        lanes_before = len(llm.calls("lane"))
        head.update(
            {
                "README.md": "hello\n",
                "tools.py": source([1], top="def _last(items):\n    return items[-1]\n\n\n"),
            }
        )
        fake.push(REPO, 7, dict(head))
        result = rig.review(7)
        rig.close()
    asked_again = [r.lane for r in llm.calls("lane")[lanes_before:]]
    assert asked_again.count("correctness") == 2 and len(asked_again) == 7  # the increment's six, then one
    assert result["threads_resolved"] == 1 and result["inline_posted"] == 0
    (reply,) = fixed_replies(fake)
    assert "its lane" in str(reply["body"])


def test_a_push_that_changes_nothing_of_the_pull_request_costs_nothing_and_keeps_every_finding(
    rig: Rig, fake: FakeGitHub
) -> None:
    open_pull(fake, {"tools.py": source([1, 2])})
    rig.review(7)
    main = {"README.md": "hello\n", "NOTES.md": "from main\n"}  # a merge of the base branch only
    fake.push(REPO, 7, {**main, "tools.py": source([1, 2])}, base_files=main)
    result = rig.review(7)
    stored = rig.store.get_run(result["run_id"]).review
    assert result["mode"] == "incremental (compare)" and result["inline_posted"] == 0
    assert stored.usage.calls == 0 and len(stored.confirmed()) == 3 and "threads_resolved" not in result
    (note,) = [n for n in stored.notes if n.startswith("Incremental review")]
    assert "0 changed line(s) in 0 file(s)" in note
