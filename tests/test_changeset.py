"""Sources: local git ranges, patches, file contents from git objects, and bad input."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm_core.changeset import apply_hunks, from_git, from_patch
from swarm_core.diff import parse_diff
from swarm_core.errors import DiffError, SourceError
from swarm_core.models import Side
from tests.conftest import git


def test_default_base_is_merge_base_with_default_branch(make_repo):
    repo = make_repo()
    base = repo.commit({"a.py": "x = 1\n"})
    repo.branch("feature")
    head = repo.commit({"a.py": "x = 2\n", "b.py": "y = 1\n"})
    git(repo.path, "checkout", "-q", "main")
    repo.commit({"c.py": "z = 1\n"})  # main moves on; the review must not include c.py
    git(repo.path, "checkout", "-q", "feature")
    change = from_git(repo.path)
    assert change.base == base and change.head == head
    assert sorted(f.path for f in change.diff.files) == ["a.py", "b.py"]
    assert change.contents.read("a.py", Side.LEFT) == b"x = 1\n"
    assert change.contents.read("a.py", Side.RIGHT) == b"x = 2\n"
    assert change.contents.read("b.py", Side.LEFT) is None


def test_contents_come_from_git_not_the_working_tree(make_repo):
    repo = make_repo()
    repo.commit({"a.py": "one\n"})
    repo.commit({"a.py": "two\n"})
    (repo.path / "a.py").write_text("uncommitted\n")
    change = from_git(repo.path, "HEAD~1", "HEAD")
    assert change.contents.read("a.py", Side.RIGHT) == b"two\n"
    assert change.contents.exists("a.py", Side.LEFT) is True
    assert change.contents.read("missing.py", Side.RIGHT) is None


def test_renamed_file_base_is_read_from_old_path(make_repo):
    repo = make_repo()
    body = "".join(f"row {i}\n" for i in range(30))
    repo.commit({"old/name.py": body})
    repo.commit({"old/name.py": None, "new/name.py": body + "row 30\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    (fd,) = change.diff.files
    assert fd.old_path == "old/name.py"
    assert change.contents.read("new/name.py", Side.LEFT) == body.encode()


def test_head_on_default_branch_says_nothing_to_compare(make_repo):
    repo = make_repo()
    repo.commit({"a": "1\n"})
    change = from_git(repo.path)
    assert change.diff.is_empty
    assert any("nothing to compare" in n for n in change.notes)


def test_not_a_git_repository(tmp_path):
    with pytest.raises(SourceError, match="not a git repository"):
        from_git(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(SourceError, match="no such directory"):
        from_git(tmp_path / "nope")


def test_unknown_ref(make_repo):
    repo = make_repo()
    repo.commit({"a": "1\n"})
    with pytest.raises(SourceError, match=r"unknown ref 'nope'"):
        from_git(repo.path, base="nope")


def test_no_default_branch(make_repo):
    repo = make_repo()
    repo.commit({"a": "1\n"})
    git(repo.path, "branch", "-m", "main", "wip")
    with pytest.raises(SourceError, match="default branch"):
        from_git(repo.path)


def test_patch_with_repo_rebuilds_head(make_repo):
    repo = make_repo()
    repo.commit({"m.py": "a = 1\nb = 2\nc = 3\n"})
    repo.write({"m.py": "a = 1\nb = 20\nc = 3\nd = 4\n"})
    patch = git(repo.path, "diff").encode()
    git(repo.path, "checkout", "--", "m.py")
    change = from_patch(patch, "p.diff", repo_path=repo.path)
    assert change.contents.read("m.py", Side.RIGHT) == b"a = 1\nb = 20\nc = 3\nd = 4\n"
    assert change.contents.read("m.py", Side.LEFT) == b"a = 1\nb = 2\nc = 3\n"
    assert change.notes == ()


def test_patch_without_repo_has_new_files_only():
    patch = (
        "diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    change = from_patch(patch.encode(), "p")
    assert change.contents.read("n.py", Side.RIGHT) == b"a\nb\n"
    assert change.contents.read("m.py", Side.RIGHT) is None
    assert change.contents.exists("n.py", Side.LEFT) is False
    assert change.contents.exists("elsewhere.py", Side.RIGHT) is None
    assert any("--repo" in n for n in change.notes)


def test_patch_that_does_not_apply_gives_no_head(make_repo):
    repo = make_repo()
    repo.commit({"m.py": "totally\ndifferent\n"})
    patch = b"diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x\n+y\n"
    change = from_patch(patch, "p", repo_path=repo.path)
    assert change.contents.read("m.py", Side.RIGHT) is None


def test_binary_garbage_patch_is_a_diff_error():
    with pytest.raises(DiffError):
        from_patch(bytes(range(256)) * 4, "bin")


_lines = st.lists(st.sampled_from(["a", "b", "c", "", "x", "  y"]), max_size=30)


@settings(max_examples=150, deadline=None)
@given(old=_lines, new=_lines, context=st.integers(min_value=0, max_value=3))
def test_apply_hunks_reproduces_the_new_file(old, new, context):
    old_text = "".join(ln + "\n" for ln in old)
    new_text = "".join(ln + "\n" for ln in new)
    body = "".join(
        difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), "a/f", "b/f", n=context)
    )
    if not body:
        return
    (fd,) = parse_diff("diff --git a/f b/f\n" + body).files
    assert apply_hunks(old_text.encode(), fd) == new_text.encode()


def test_files_over_the_size_limit_are_not_read(make_repo):
    repo = make_repo()
    repo.commit({"small.py": "x = 1\n", "big.py": "y = 1\n"})
    repo.commit({"small.py": "x = 2\n", "big.py": "y = 2\n" + "#" * 100 + "\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD", max_file_bytes=50)
    assert change.contents.read("small.py", Side.RIGHT) == b"x = 2\n"
    assert change.contents.read("big.py", Side.RIGHT) is None
    assert change.contents.read("big.py", Side.LEFT) == b"y = 1\n"


def test_git_diff_uses_githubs_context_whatever_the_users_config(make_repo):
    repo = make_repo()
    lines = [f"line_{i} = {i}\n" for i in range(40)]
    repo.commit({"m.py": "".join(lines), "old.py": "a = 1\n" * 20})
    lines[20] = "line_20 = 'changed'\n"
    repo.commit({"m.py": "".join(lines), "old.py": None, "new.py": "a = 1\n" * 20})
    # A user's settings that would move hunk edges or rename files differently than GitHub.
    for key, value in (("diff.context", "10"), ("diff.noprefix", "true"), ("diff.renames", "false")):
        git(repo.path, "config", key, value)
    change = from_git(repo.path, "HEAD~1", "HEAD")
    (hunk,) = change.diff.file("m.py").hunks
    assert (hunk.source_start, hunk.source_length, hunk.target_length) == (18, 7, 7)
    assert [f.path for f in change.diff.files] == ["m.py", "new.py"]
    assert change.diff.file("new.py").old_path == "old.py"
