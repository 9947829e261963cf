"""The diff model: parsing real git output, edge cases, and GitHub's commentable lines."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm_core.diff import FileStatus, parse_diff
from swarm_core.errors import DiffError
from swarm_core.models import Side
from tests.conftest import git


def test_modified_file_line_maps(make_repo):
    repo = make_repo()
    repo.commit({"a.py": "".join(f"line{i}\n" for i in range(1, 21))})
    lines = [f"line{i}\n" for i in range(1, 21)]
    lines[4] = "changed5\n"  # line 5 modified
    del lines[14]  # old line 15 deleted
    repo.commit({"a.py": "".join(lines)})
    diff = parse_diff(git(repo.path, "diff", "HEAD~1", "HEAD"))
    (fd,) = diff.files
    assert fd.path == "a.py" and fd.status == FileStatus.MODIFIED
    assert fd.added == {5}
    assert fd.removed == {5, 15}
    # Two hunks with 3 lines of context: new-file lines 2..8 and 12..17.
    assert fd.commentable_lines(Side.RIGHT) == frozenset(range(2, 9)) | frozenset(range(12, 18))
    assert fd.commentable_lines(Side.LEFT) == {5, 15}
    assert fd.commentable(Side.RIGHT, 8) and not fd.commentable(Side.RIGHT, 9)
    assert not fd.commentable(Side.LEFT, 6)  # a context line is RIGHT only
    # Multi-line comments must stay within one hunk.
    assert fd.can_comment(8, Side.RIGHT, start_line=2)
    assert not fd.can_comment(12, Side.RIGHT, start_line=8)
    assert not fd.can_comment(2, Side.RIGHT, start_line=8)


def test_added_deleted_renamed_binary_and_mode(make_repo):
    repo = make_repo()
    repo.commit(
        {"old.txt": "a\nb\nc\nd\ne\n", "gone.txt": "x\n", "img.bin": b"\x00\x01\x02", "run.sh": "echo\n"}
    )
    (repo.path / "run.sh").chmod(0o755)
    repo.write(
        {"old.txt": None, "new.txt": "a\nb\nc\nd\ne\nf\n", "gone.txt": None, "img.bin": b"\x00\xff\x02\x03"}
    )
    repo.write({"fresh.py": "print('hi')\n"})
    git(repo.path, "add", "-A")
    diff = parse_diff(git(repo.path, "diff", "--cached", "-M", "HEAD"))
    by = {f.path: f for f in diff.files}
    assert by["new.txt"].status == FileStatus.RENAMED and by["new.txt"].old_path == "old.txt"
    assert by["new.txt"].added == {6}
    assert by["gone.txt"].status == FileStatus.DELETED and by["gone.txt"].removed == {1}
    assert by["img.bin"].binary and by["img.bin"].hunks == ()
    assert by["fresh.py"].status == FileStatus.ADDED and by["fresh.py"].added == {1}
    assert by["run.sh"].mode_changed and by["run.sh"].new_mode == "100755"
    assert not by["gone.txt"].commentable(Side.RIGHT, 1) and by["gone.txt"].commentable(Side.LEFT, 1)


def test_no_newline_at_end_of_file_is_not_a_line():
    text = (
        "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )
    (fd,) = parse_diff(text).files
    assert fd.added == {2} and fd.removed == {2}
    assert fd.hunks[0].lines == (" a", "-b", "+c")


def test_crlf_and_non_utf8_bytes_survive():
    data = (
        b"diff --git a/w.txt b/w.txt\r\n--- a/w.txt\r\n+++ b/w.txt\r\n@@ -1 +1,2 @@\r\n caf\xe9\r\n+line\r\n"
    )
    (fd,) = parse_diff(data).files
    assert fd.added == {2}
    assert fd.hunks[0].lines[0].startswith(" caf\ufffd")


def test_form_feed_does_not_split_lines():
    text = "diff --git a/L b/L\n--- a/L\n+++ b/L\n@@ -1,2 +1,2 @@\n \fpage\n-x\n+y\n"
    (fd,) = parse_diff(text).files
    assert fd.added == {2} and fd.hunks[0].lines == (" \fpage", "-x", "+y")


def test_empty_and_whitespace_diffs_have_no_files():
    assert parse_diff(b"").is_empty
    assert parse_diff("  \n\n").files == ()


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("hello world\nthis is not a diff\n", "not a unified diff"),
        ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n", "corrupt diff"),
    ],
)
def test_garbage_and_truncated_diffs_raise_one_line_errors(data, needle):
    with pytest.raises(DiffError) as info:
        parse_diff(data)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_size_limit():
    with pytest.raises(DiffError, match="over the 0 MB limit"):
        parse_diff(b"x" * 101, max_bytes=100)


def test_format_patch_mail_headers_are_skipped(make_repo):
    repo = make_repo()
    repo.commit({"a.txt": "1\n"})
    repo.commit({"a.txt": "1\n2\n"}, message="add two")
    mail = git(repo.path, "format-patch", "-1", "--stdout")
    (fd,) = parse_diff(mail).files
    assert fd.path == "a.txt" and fd.added == {2}


def test_plain_diff_u_output():
    text = "--- a.txt\t2024-01-01\n+++ b.txt\t2024-01-02\n@@ -1 +1 @@\n-x\n+y\n"
    (fd,) = parse_diff(text).files
    assert fd.added == {1} and fd.removed == {1}


# -- properties ------------------------------------------------------------------------------
_lines = st.lists(st.sampled_from(["a", "b", "c", "d", "", "x = 1", "}"]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(old=_lines, new=_lines, context=st.integers(min_value=0, max_value=4))
def test_line_maps_match_the_files(old, new, context):
    old_text = [ln + "\n" for ln in old]
    new_text = [ln + "\n" for ln in new]
    body = list(difflib.unified_diff(old_text, new_text, "a/f.txt", "b/f.txt", n=context))
    if not body:
        return
    (fd,) = parse_diff("diff --git a/f.txt b/f.txt\n" + "".join(body)).files
    for hunk in fd.hunks:
        for dl in hunk.iter_lines():
            if dl.target_no is not None:
                assert new[dl.target_no - 1] == dl.text  # RIGHT numbers point into the new file
                assert fd.commentable(Side.RIGHT, dl.target_no)
            if dl.source_no is not None:
                assert old[dl.source_no - 1] == dl.text  # LEFT numbers point into the old file
            if dl.kind == "-":
                assert fd.commentable(Side.LEFT, dl.source_no or 0)
    right = fd.commentable_lines(Side.RIGHT)
    in_hunks = {dl.target_no for h in fd.hunks for dl in h.iter_lines() if dl.target_no is not None}
    assert right == in_hunks  # exactly the added and context lines, nothing else
    assert fd.commentable_lines(Side.LEFT) == {
        dl.source_no for h in fd.hunks for dl in h.iter_lines() if dl.kind == "-"
    }
    assert all(not fd.commentable(Side.RIGHT, n) for n in range(1, len(new) + 2) if n not in right)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_parser_never_crashes_on_arbitrary_bytes(data):
    try:
        parse_diff(data)
    except DiffError as exc:
        assert str(exc)
