"""Token-budgeted chunking: never splits a hunk, respects the budget, reports what it left out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm_core.chunking import chunk_diff, estimate_tokens
from swarm_core.diff import parse_diff


def make_diff(sizes: list[list[int]]) -> str:
    """One file per entry; each hunk adds `n` lines of 40 characters, hunks 100 lines apart."""
    out = []
    for i, hunks in enumerate(sizes):
        out.append(f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n")
        start = 1
        for n in hunks:
            out.append(f"@@ -{start},0 +{start},{n} @@\n" + "".join(f"+{'x' * 39}\n" for _ in range(n)))
            start += 100
    return "".join(out)


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(
        st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=4), min_size=1, max_size=6
    ),
    budget=st.integers(min_value=50, max_value=2000),
)
def test_every_hunk_is_whole_in_one_chunk_or_reported(sizes, budget):
    diff = parse_diff(make_diff(sizes))
    plan = chunk_diff(diff, budget)
    placed = [(path, h.header) for c in plan.chunks for path, hunks in c.files for h in hunks]
    omitted = [(o.path, o.hunk) for o in plan.omitted]
    every = [(f.path, h.header) for f in diff.files for h in f.hunks]
    assert sorted(placed + omitted) == sorted(every)  # nothing lost, nothing twice
    assert len(set(placed)) == len(placed)
    for chunk in plan.chunks:
        assert chunk.tokens <= budget
        assert estimate_tokens(chunk.text()) <= budget + 16 * len(chunk.files)
    for o in plan.omitted:
        assert o.reason == "hunk larger than the token budget" and o.tokens > budget - 16


def test_max_chunks_and_binary_files_are_reported():
    text = (
        make_diff([[10], [10], [10]])
        + "diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n"
    )
    plan = chunk_diff(parse_diff(text), budget_tokens=150, max_chunks=2)
    assert len(plan.chunks) == 2
    assert [(o.path, o.reason) for o in plan.omitted] == [
        ("f2.py", "over the chunk limit"),
        ("img.png", "binary file"),
    ]
    assert plan.omitted_paths == ("f2.py", "img.png")


def test_hunks_of_one_file_share_a_chunk_when_they_fit():
    plan = chunk_diff(parse_diff(make_diff([[3, 3, 3]])), budget_tokens=10_000)
    (chunk,) = plan.chunks
    ((path, hunks),) = chunk.files
    assert path == "f0.py" and len(hunks) == 3 and plan.omitted == ()


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        chunk_diff(parse_diff(make_diff([[1]])), 0)
