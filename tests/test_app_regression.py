"""The regression guard in the App: GitHub's GraphQL blame and commit endpoint, through the fake GitHub."""

from __future__ import annotations

import re
from typing import Any

import pytest

from swarm_core.errors import GitHubNotFound
from swarm_core.github.history import GitHubHistory
from swarm_core.history import Blamed, CommitSummary
from tests.fakes.github import FakeGitHub, Pull, unified_diff
from tests.rig import REPO, Rig, fake_fixture, rig_fixture  # noqa: F401 (the fixtures fake, rig)

BUGGY = "def ratio(a, b):\n    return a / b\n"
FIXED = "def ratio(a, b):\n    if b == 0:\n        return 0.0\n    return a / b\n"
FIX = "Fix ZeroDivisionError in ratio() for empty input"


def revert_of_a_fix(fake: FakeGitHub) -> str:
    """History: ratio() added, then fixed with a test; pull request 7 puts the unguarded division back.

    Returns the fix's SHA.
    """
    first = fake.add_commit(
        REPO, {"calc.py": BUGGY, "tests/test_calc.py": "def test_ratio():\n    assert True\n"}, "Add ratio"
    )
    tests = "def test_ratio():\n    assert True\n\n\ndef test_zero():\n    assert ratio(1, 0) == 0.0\n"
    fixed = {"calc.py": FIXED, "tests/test_calc.py": tests}
    fix = fake.add_commit(REPO, fixed, FIX, parent=first)
    head = {**fixed, "calc.py": BUGGY}
    pull = Pull(7, "Simplify ratio", "Less code.", unified_diff(fixed, head), fixed, head, base_sha=fix)
    fake.add_pull(REPO, pull)
    return fix


def summary(fake: FakeGitHub) -> str:
    """The body of swarm's summary comment on pull request 7."""
    (body,) = [c["body"] for c in fake.comments_on(7) if "<!-- swarm:summary -->" in c["body"]]
    return str(body)


def regression_row(fake: FakeGitHub) -> str:
    """The regression guard's row of the summary's analyzer table."""
    (row,) = [ln for ln in summary(fake).splitlines() if ln.startswith("| regression |")]
    return row


def test_the_app_flags_a_pull_request_that_reverts_a_fix_with_the_commit_link(
    fake: FakeGitHub, rig: Rig
) -> None:
    fix = revert_of_a_fix(fake)
    rig.review(7)
    comments = [c for c in fake.review_comments if c["pull"] == 7 and "undoes part of" in c["body"]]
    assert [(c["path"], c["side"], c.get("start_line"), c["line"]) for c in comments] == [
        ("calc.py", "LEFT", 2, 3)
    ]
    body = comments[0]["body"]
    assert f"This change undoes part of {fix[:10]} '{FIX}'" in body
    assert f"https://github.com/{REPO}/commit/{fix}" in body
    # One blame query for the one file, one commit read (the fix), nothing more.
    blames = [
        r for r in fake.requests if r.path == "/graphql" and "blame(" in str((r.body or {}).get("query"))
    ]
    assert [(r.body["variables"]["path"], r.body["variables"]["sha"]) for r in blames] == [("calc.py", fix)]
    commits = re.compile(rf"/repos/{REPO}/commits/[0-9a-f]{{40}}$")
    assert [r.path for r in fake.requests if commits.match(r.path)] == [f"/repos/{REPO}/commits/{fix}"]


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "said"),
    [
        (
            "POST",
            "/graphql",
            200,
            {
                "data": None,
                "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}],
            },
            "blame of calc.py",
        ),
        ("GET", "/commits/[0-9a-f]{40}$", 404, None, "commit "),
        ("GET", "/commits/[0-9a-f]{40}$", 500, None, "commit "),
    ],
    ids=["graphql-error", "commit-404", "commit-500"],
)
def test_history_github_will_not_give_is_skipped_with_a_note_and_the_review_still_posted(
    fake: FakeGitHub, rig: Rig, method: str, path: str, status: int, body: Any, said: str
) -> None:
    revert_of_a_fix(fake)
    fake.fail(method, path, status, body=body, times=5)
    result = rig.review(7)
    assert result["verdict"] == "APPROVE_WITH_NOTES"  # the review finished and was posted
    assert "undoes part of" not in summary(fake)
    assert not any("undoes part of" in c["body"] for c in fake.review_comments)
    assert "| regression | ok | 0 |" in regression_row(fake)
    assert "history not read for 1 file(s) or commit(s), skipped: " + said in regression_row(fake)


def two_reverted_fixes(fake: FakeGitHub) -> None:
    """Pull request 7 reverting two fixes, each in a file of its own (calc.py, div.py)."""
    fix = revert_of_a_fix(fake)
    pull = fake.pulls[(REPO, 7)]
    other = {
        **pull.base_files,
        "div.py": "def half(a):\n    if a is None:\n        return 0\n    return a / 2\n",
    }
    second = fake.add_commit(REPO, other, "Fix a crash in half() on None", parent=fix)
    head = {**other, "calc.py": BUGGY, "div.py": "def half(a):\n    return a / 2\n"}
    fake.pulls.clear()
    fake.add_pull(REPO, Pull(7, "Simplify", "", unified_diff(other, head), other, head, base_sha=second))


@pytest.mark.parametrize(
    ("cap", "note"),
    [
        ("max_commits", "looked up 1 commits (the cap); 1 more that wrote deleted lines were not checked"),
        ("max_files", "blamed 1 files (the cap); 1 more with deleted lines were not checked"),
    ],
)
def test_history_past_the_api_caps_is_named_in_the_notes(
    fake: FakeGitHub, rig: Rig, monkeypatch: pytest.MonkeyPatch, cap: str, note: str
) -> None:
    # Two reverted fixes in two files: a cap of one commit, or of one blamed file, reads only the first.
    two_reverted_fixes(fake)
    monkeypatch.setattr(GitHubHistory, cap, 1)
    rig.review(7)
    assert sum("undoes part of" in c["body"] for c in fake.review_comments) == 1
    assert note in regression_row(fake)
    blames = [
        r for r in fake.requests if r.path == "/graphql" and "blame(" in str((r.body or {}).get("query"))
    ]
    assert len(blames) == (1 if cap == "max_files" else 2)


def test_a_rate_limit_stops_the_history_reads_and_says_so(fake: FakeGitHub, rig: Rig) -> None:
    revert_of_a_fix(fake)
    # The client's rule for a rate-limited POST: three attempts, each after the wait asked for
    # (a second at least); then the guard stops asking and says so.
    fake.fail("POST", "/graphql", 429, headers={"retry-after": "0"}, times=3)
    result = rig.review(7)
    assert result["verdict"] == "APPROVE_WITH_NOTES"
    assert "stopped reading history: " in regression_row(fake)
    assert not [r for r in fake.requests if re.search(r"/commits/[0-9a-f]{40}$", r.path)]
    assert [r.status for r in fake.requests if r.path == "/graphql"] == [429, 429, 429]


def test_github_history_answers_only_the_lines_asked_and_refuses_what_it_cannot_show(
    fake: FakeGitHub, rig: Rig
) -> None:
    fix = revert_of_a_fix(fake)
    history = GitHubHistory(rig.client, REPO)
    first = fake.parents[fix]
    assert history.blame(fix, "calc.py", [1, 2, 3]) == {
        1: Blamed(first, "calc.py"),
        2: Blamed(fix, "calc.py"),
        3: Blamed(fix, "calc.py"),
    }
    assert history.summary(fix) == CommitSummary(FIX, "", ("calc.py", "tests/test_calc.py"))
    assert history.diff(fix, "calc.py").startswith(
        b"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@"
    )
    with pytest.raises(GitHubNotFound, match=re.escape("shows no patch of README.md")):
        history.diff(fix, "README.md")  # a file the commit did not touch
    with pytest.raises(GitHubNotFound, match=re.escape("no blame of calc.py")):
        history.blame("0" * 40, "calc.py", [1])  # GitHub answers a null object for an unknown commit
    with pytest.raises(GitHubNotFound, match=re.escape("Could not resolve file for path 'gone.py'")):
        history.blame(fix, "gone.py", [1])
    commit_reads = [r for r in fake.requests if r.path == f"/repos/{REPO}/commits/{fix}"]
    assert len(commit_reads) == 1  # summary and both diffs share one read


def test_a_graphql_rate_limit_answered_with_200_stops_the_history_reads(fake: FakeGitHub, rig: Rig) -> None:
    revert_of_a_fix(fake)
    # GitHub's GraphQL rate limit is a 200 with a RATE_LIMITED error, not a 403 or 429.
    limited = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    fake.fail("POST", "/graphql", 200, body=limited, headers={"retry-after": "0"}, times=1)
    result = rig.review(7)
    assert result["verdict"] == "APPROVE_WITH_NOTES"
    row = regression_row(fake)
    assert "stopped reading history: GitHub refused the blame of calc.py" in row
    assert "history not read for" not in row
    assert not [r for r in fake.requests if re.search(r"/commits/[0-9a-f]{40}$", r.path)]
