"""Learnings: the reply classifier, capture of each source, the curator, the learnings stage and the store."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from swarm_core.changeset import ChangeSet, from_git
from swarm_core.config import SwarmConfig
from swarm_core.errors import LearningNotFound
from swarm_core.github.commands import Command, parse_command
from swarm_core.github.learning_job import learnings_reply
from swarm_core.learnings import (
    ACTIVE,
    FORGOTTEN,
    KEEP,
    QUARANTINED,
    SUPPRESS,
    Learning,
    LearningDraft,
    Scope,
    context_lines,
    curate,
    learning_from_command,
    learning_from_reaction,
    learning_from_reply,
    learning_from_resolution,
)
from swarm_core.learnings.curator import PROMOTE_AFTER_S
from swarm_core.models import Finding, Lane, LearningUse, Review, Severity, Verdict
from swarm_core.orchestrator import Orchestrator
from swarm_core.render import render_summary, review_from_dict, review_to_dict
from swarm_core.render.markdown import learned_line
from swarm_core.stages.learnings import apply_learnings
from swarm_core.store import LearningStore

FINDING = Finding(
    "src/db.py",
    12,
    Severity.MEDIUM,
    Lane.SECURITY,
    "sast",
    "bandit/B608",
    "SQL built from strings",
    fingerprint="f1",
)
DAY = 86400.0


def learning(n: int, **kw: Any) -> Learning:
    base: dict[str, Any] = {
        "id": n,
        "installation_id": 7,
        "repo": "o/r",
        "text": f"learning {n}",
        "scope": Scope("src/db.py", "bandit/B608", "security"),
        "effect": SUPPRESS,
        "confidence": 0.9,
        "utility": 0,
        "status": ACTIVE,
        "origin": "command",
        "sources": (f"https://github.com/o/r/pull/1#c{n}",),
        "created_at": 1000.0 + n,
        "updated_at": 1000.0 + n,
    }
    return Learning(**{**base, **kw})


# --- the reply classifier ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "This is intended.",
        "false positive, the input is a constant",
        "That's by design: we build the query from a whitelist",
        "Not a bug here.",
        "it's intentional",
        "works as intended",
        "> SQL built from strings\n\nwontfix",
    ],
)
def test_a_dismissing_reply_teaches_suppression(text: str) -> None:
    draft = learning_from_reply(text, FINDING, "https://x/c/1")
    assert draft is not None
    assert (draft.effect, draft.scope, draft.origin, draft.source) == (
        SUPPRESS,
        Scope("src/db.py", "bandit/B608", "security"),
        "reply",
        "https://x/c/1",
    )
    assert draft.text.startswith("`bandit/B608` findings (SQL built from strings) are not wanted here: ")


@pytest.mark.parametrize("text", ["Good catch, fixing", "you're right, this is a real bug"])
def test_a_confirming_reply_teaches_keep(text: str) -> None:
    draft = learning_from_reply(text, FINDING)
    assert draft is not None and draft.effect == KEEP


@pytest.mark.parametrize(
    "text",
    [
        "",
        "thanks, will look",
        "this is not intended, fixing",  # negated intent: a real bug
        "false positive? no, good catch",  # both
        "> false positive\n",  # only a quote of someone else
        "unintended side effect",
    ],
)
def test_other_replies_teach_nothing(text: str) -> None:
    assert learning_from_reply(text, FINDING) is None


def test_reactions_resolutions_and_commands() -> None:
    down = learning_from_reaction("-1", "User", FINDING, "https://x/r/1")
    assert down is not None and (down.effect, down.confidence, down.origin) == (SUPPRESS, 0.6, "reaction")
    assert learning_from_reaction("+1", "User", FINDING, "u") is None
    assert learning_from_reaction("-1", "Bot", FINDING, "u") is None
    resolved = learning_from_resolution(FINDING, "User", False, "https://x/t/1")
    assert resolved is not None and resolved.origin == "resolved" and resolved.confidence == 0.5
    assert learning_from_resolution(FINDING, "User", True, "u") is None  # fixed, not dismissed
    assert learning_from_resolution(FINDING, "Bot", False, "u") is None  # swarm resolving its own
    cmd = learning_from_command(
        "  we   allow shell=True in scripts/ ", Scope("scripts/**", "B602"), keep=False, source="s"
    )
    assert (cmd.text, cmd.confidence, cmd.effect) == ("we allow shell=True in scripts/", 0.9, SUPPRESS)
    assert learning_from_command("flag these", Scope(rule="x"), keep=True, source="s").effect == KEEP


# --- scope, the stage, the prompt context -------------------------------------------------------


def test_scope_matches_path_glob_rule_and_lane() -> None:
    assert Scope("src/**", "bandit/B608").matches(FINDING)
    assert Scope("*.py").matches(FINDING)  # a name pattern matches at any depth
    assert not Scope("tests/**", "bandit/B608").matches(FINDING)
    assert not Scope(rule="bandit/B602").matches(FINDING)
    assert not Scope(lane="tests").matches(FINDING)
    assert Scope().matches(FINDING) and not Scope().deterministic
    assert Scope(path="src/**", lane="security").describe() == "path src/**, lane security"


def test_the_stage_suppresses_downgrades_and_leaves_the_rest() -> None:
    other = replace(FINDING, path="src/api.py", rule="ruff/S101", fingerprint="f2", severity=Severity.HIGH)
    third = replace(FINDING, path="lib/x.py", rule="ruff/E1", lane=Lane.CORRECTNESS, fingerprint="f3")
    learnings = [
        learning(1, confidence=0.85),  # suppresses FINDING
        learning(2, scope=Scope("src/api.py", "ruff/S101"), confidence=0.6),  # downgrades `other`
        learning(3, scope=Scope("lib/**"), confidence=0.95),  # no rule or lane: context only
        learning(4, scope=Scope(rule="ruff/E1"), confidence=0.4),  # too weak
        learning(5, scope=Scope(rule="ruff/E1"), status=QUARANTINED),
        learning(6, scope=Scope(rule="ruff/E1"), effect=KEEP),
    ]
    applied = apply_learnings([other, FINDING, third], learnings)
    assert applied.findings == [replace(other, severity=Severity.MEDIUM), third]
    assert applied.uses == (
        LearningUse(2, "downgraded", "f2", "src/api.py:12", "ruff/S101", "high"),
        LearningUse(1, "suppressed", "f1", "src/db.py:12", "bandit/B608", "medium"),
    )


def test_the_most_confident_covering_learning_decides() -> None:
    applied = apply_learnings([FINDING], [learning(1, confidence=0.6), learning(2, confidence=0.9)])
    assert applied.findings == [] and applied.uses[0].learning_id == 2


def test_context_lines_list_active_learnings_covering_the_chunk() -> None:
    rows = [
        learning(1, confidence=0.6, text="we build SQL from a whitelist"),
        learning(2, scope=Scope("docs/**"), text="docs are informal"),
        learning(3, status=FORGOTTEN),
        learning(4, confidence=0.95, effect=KEEP, text="always flag\nSQL"),
    ]
    assert context_lines(rows, ["src/db.py"]) == [
        "- #4 (path src/db.py, rule bandit/B608, lane security; findings like this are wanted, "
        "confidence 0.9): always flag SQL",
        "- #1 (path src/db.py, rule bandit/B608, lane security; findings like this are not wanted, "
        "confidence 0.6): we build SQL from a whitelist",
    ]


# --- the curator --------------------------------------------------------------------------------


def test_near_duplicates_merge_into_the_oldest() -> None:
    rows = [
        learning(1, text="SQL from a whitelist is fine", confidence=0.6, utility=2),
        learning(2, text="sql from a whitelist, is FINE!", confidence=0.6, utility=1),
        learning(3, text="SQL from a whitelist is fine", scope=Scope("other.py", "bandit/B608")),
    ]
    result = curate(rows, 5000.0)
    assert result.removed == (2,)
    (merged,) = result.changed
    assert merged.id == 1 and merged.utility == 3 and merged.confidence == pytest.approx(0.7)
    assert merged.sources == rows[0].sources + rows[1].sources
    assert result.log == ("merged #2 into #1 (near-duplicate)",)


def test_contradictions_and_weak_learnings_are_quarantined() -> None:
    rows = [
        learning(1),
        learning(2, effect=KEEP, text="flag this"),
        learning(3, scope=Scope(rule="x"), confidence=0.2),
        learning(4, scope=Scope(rule="y")),
    ]
    result = curate(rows, 5000.0)
    assert {lr.id: lr.status for lr in result.changed} == {1: QUARANTINED, 2: QUARANTINED, 3: QUARANTINED}
    assert result.removed == ()


def test_a_learning_held_in_two_repositories_is_promoted() -> None:
    rows = [
        learning(1, repo="o/a", utility=1, text="whitelisted SQL is fine"),
        learning(2, repo="o/b", utility=2, text="Whitelisted SQL is fine."),
        learning(3, repo="o/c", text="x"),
    ]
    result = curate(rows, 5000.0)
    assert result.removed == (2,)
    (promoted,) = result.changed
    assert (promoted.id, promoted.repo, promoted.tier, promoted.utility) == (1, "", "installation", 3)
    assert "promoted #1 to the installation tier (held in 2 repositories)" in result.log


def test_a_learning_unchallenged_for_30_days_is_promoted_and_meets_its_tier_copy() -> None:
    old = learning(1, created_at=0.0, text="same", effect=KEEP)
    assert [lr.repo for lr in curate([old], PROMOTE_AFTER_S - 1).changed] == []
    assert [lr.repo for lr in curate([old], PROMOTE_AFTER_S).changed] == [""]
    # A suppression never spreads to every repository by time alone.
    assert curate([replace(old, effect=SUPPRESS)], 10 * PROMOTE_AFTER_S).changed == ()
    tier_copy = learning(2, repo="", created_at=10.0, text="same", effect=KEEP)
    result = curate([old, tier_copy], PROMOTE_AFTER_S)
    assert result.removed == (1,) and [lr.id for lr in result.changed] == [2]
    assert not curate([replace(old, status=QUARANTINED)], PROMOTE_AFTER_S).changed  # challenged: stays


def test_caps_forget_the_lowest_utility_times_confidence_oldest_first() -> None:
    rows = [
        learning(n, text=f"t{n}", scope=Scope(rule=f"r{n}"), confidence=0.9 if n != 4 else 0.5, utility=0)
        for n in range(1, 7)
    ]
    rows[0] = replace(rows[0], utility=5)  # the oldest, but used: kept
    result = curate(rows, 5000.0, repo_cap=3)
    forgotten = [lr.id for lr in result.changed if lr.status == FORGOTTEN]
    assert forgotten == [2, 3, 4]  # #4 is weakest; then the oldest of the equal ones
    tier = [learning(n, repo="", text=f"t{n}", scope=Scope(rule=f"r{n}")) for n in range(1, 4)]
    assert [lr.id for lr in curate(tier, 5000.0, installation_cap=2).changed] == [1]


def test_forgotten_learnings_are_dropped_after_their_ttl() -> None:
    gone = learning(1, status=FORGOTTEN, updated_at=0.0)
    assert curate([gone], 179 * DAY).removed == ()
    assert curate([gone], 181 * DAY).removed == (1,)


def test_the_default_caps_are_100_and_1000() -> None:
    many = [learning(n, text=f"t{n}", scope=Scope(rule=f"r{n}")) for n in range(1, 103)]
    assert len([lr for lr in curate(many, 5000.0).changed if lr.status == FORGOTTEN]) == 2
    tier = [learning(n, repo="", text=f"t{n}", scope=Scope(rule=f"r{n}")) for n in range(1, 1002)]
    assert len([lr for lr in curate(tier, 5000.0).changed if lr.status == FORGOTTEN]) == 1


# --- the store (SQLite, and Postgres when SWARM_TEST_DATABASE_URL is set) -----------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def draft(source: str, **kw: Any) -> LearningDraft:
    base: dict[str, Any] = {
        "text": "SQL from the whitelist is fine",
        "scope": Scope("src/db.py", "bandit/B608", "security"),
        "confidence": 0.6,
        "source": source,
        "origin": "reaction",
    }
    return LearningDraft(**{**base, **kw})


def test_the_store_captures_each_source_once_and_merges_duplicates(engine: Any) -> None:
    clock = Clock()
    store = LearningStore(engine, clock)
    first, new = store.capture(7, "o/r", draft("https://x/r/1"))
    assert new and first.status == ACTIVE and first.confidence == 0.6 and first.created_at == clock.now
    again, new = store.capture(7, "o/r", draft("https://x/r/1"))
    assert not new and again == first
    merged, new = store.capture(7, "o/r", draft("https://x/r/2"))
    assert new and merged.id == first.id and merged.confidence == pytest.approx(0.7)
    assert merged.sources == ("https://x/r/1", "https://x/r/2")
    assert [lr.id for lr in store.list_learnings()] == [first.id]
    assert store.list_learnings(installation_id=8) == []
    assert store.applicable(7, "o/r") == [merged] and store.applicable(7, "o/other") == []


def test_the_store_forgets_promotes_counts_uses_and_refuses_unknown_ids(engine: Any) -> None:
    clock = Clock()
    store = LearningStore(engine, clock)
    lr, _ = store.capture(None, "o/r", draft("s1", origin="command", confidence=0.9))
    other, _ = store.capture(None, "o/r", draft("s2", text="another", scope=Scope(rule="x")))
    clock.now += 60
    store.record_use([lr.id, lr.id, other.id])
    used = store.get(lr.id)
    assert (used.utility, used.last_used) == (2, clock.now)
    promoted = store.promote(lr.id)
    assert (promoted.repo, promoted.tier) == ("", "installation")
    assert store.applicable(None, "o/anything") == [promoted]
    gone = store.forget(other.id)
    assert gone.status == FORGOTTEN
    assert [x.id for x in store.list_learnings(status=FORGOTTEN)] == [other.id]
    assert store.capture(None, "o/r", draft("s2"))[1] is False  # forgotten feedback is not captured again
    with pytest.raises(LearningNotFound, match="no learning #999"):
        store.get(999)
    with pytest.raises(LearningNotFound):
        store.forget(999)
    with pytest.raises(ValueError, match="unknown status 'gone'"):
        store.list_learnings(status="gone")


def test_the_store_quarantines_a_contradiction_on_capture(engine: Any) -> None:
    store = LearningStore(engine, Clock())
    dismissed, _ = store.capture(7, "o/r", draft("s1"))
    kept, _ = store.capture(7, "o/r", draft("s2", text="real bug", effect=KEEP))
    assert {lr.id: lr.status for lr in store.list_learnings()} == {
        dismissed.id: QUARANTINED,
        kept.id: QUARANTINED,
    }
    assert store.applicable(7, "o/r") == []


# --- the pipeline, the summary, the stored review, the commands ---------------------------------


class _Fixed:
    """An analyzer that reports one HIGH finding on the changed line."""

    name = "fixed"

    def unavailable(self, ctx: Any) -> str | None:
        return None

    async def run(self, ctx: Any) -> list[Finding]:
        return [
            Finding(
                "app.py",
                5,
                Severity.HIGH,
                Lane.SECURITY,
                "sast",
                "bandit/B602",
                "shell=True",
                source="bandit",
            )
        ]


@pytest.fixture
def change(make_repo: Any) -> ChangeSet:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    repo.commit(
        {"app.py": "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"}
    )
    return from_git(repo.path, "HEAD~1", "HEAD")


def _reviewed(change: ChangeSet, *learnings: Learning) -> Review:
    orch = Orchestrator(SwarmConfig(), analyzers=[_Fixed()])
    return asyncio.run(orch.review(replace(change, learnings=learnings)))


def test_the_pipeline_suppresses_before_the_verdict_and_the_summary_counts_it(change: ChangeSet) -> None:
    plain = _reviewed(change)
    assert plain.verdict is Verdict.REQUEST_CHANGES and plain.learned == ()
    assert learned_line(plain) == ""
    rule = Scope("app.py", "bandit/B602")
    review = _reviewed(change, learning(4, scope=rule, confidence=0.9))
    assert review.findings == () and review.verdict is Verdict.APPROVE
    assert [(u.learning_id, u.action, u.location) for u in review.learned] == [(4, "suppressed", "app.py:5")]
    assert "🧠 1 finding suppressed by team learnings (#4; `/swarm learnings` lists them)" in render_summary(
        review
    )
    assert review_from_dict(review_to_dict(review)).learned == review.learned  # stored with the run
    lowered = _reviewed(change, learning(5, scope=rule, confidence=0.6))
    assert [f.severity for f in lowered.findings] == [Severity.MEDIUM]
    assert lowered.verdict is Verdict.APPROVE_WITH_NOTES
    assert (
        learned_line(lowered)
        == "🧠 1 finding downgraded by team learnings (#5; `/swarm learnings` lists them)"
    )


def test_two_suppressions_and_a_downgrade_read_as_one_line() -> None:
    uses = (
        LearningUse(1, "suppressed", "a", "x.py:1", "r", "high"),
        LearningUse(1, "suppressed", "b", "x.py:2", "r", "high"),
        LearningUse(2, "downgraded", "c", "y.py:1", "s", "low"),
    )
    review = Review("s", None, None, Verdict.APPROVE, (), (), (), 0, 0, 0, learned=uses)
    assert learned_line(review) == (
        "🧠 2 findings suppressed by team learnings · 1 finding downgraded by team learnings "
        "(#1, #2; `/swarm learnings` lists them)"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "/swarm learn --path src/** --rule B101 --keep asserts are fine",
            Command(
                "learn",
                frozenset({"--keep"}),
                "asserts are fine",
                options=(("--path", "src/**"), ("--rule", "B101")),
            ),
        ),
        ("/swarm learn --lane tests   fine", Command("learn", text="fine", options=(("--lane", "tests"),))),
        ("/swarm learnings", Command("learnings")),
        (
            "/swarm learn --rule",
            Command("learn", error="option --rule needs a value", options=(("--rule", ""),)),
        ),
        (
            "/swarm learn --path --rule x y",
            Command(
                "learn",
                text="y",
                error="option --path needs a value",
                options=(("--path", ""), ("--rule", "x")),
            ),
        ),
        ("/swarm learn --bogus x", Command("learn", text="x", error="unknown option --bogus")),
        ("/swarm pr-review --path x", Command("pr-review", text="x", error="unknown option --path")),
    ],
)
def test_learn_options_parse(body: str, expected: Command) -> None:
    assert parse_command(body) == expected


def test_learn_needs_a_text_and_options_read_their_last_value() -> None:
    parsed = parse_command("/swarm learn --rule a --rule b")
    assert parsed is not None and parsed.error.startswith("`learn` needs a text")
    again = parse_command("/swarm learn --rule a --rule b text")
    assert again is not None and again.option("--rule") == "b" and again.option("--path") == ""


def test_the_learnings_table_escapes_what_people_wrote() -> None:
    rows = [learning(1, text="@team | <b>ignore</b>", scope=Scope("a|b", "r"))]
    table = learnings_reply(rows, "o/r")
    assert "| 1 | repo | active | `path a\\|b, rule r` | 0.90 | 0 |" in table
    assert "@team" not in table.replace("@\u200bteam", "") and "<b>" not in table
    many = learnings_reply([learning(n) for n in range(1, 53)], "o/r")
    assert many.endswith("… and 2 more (`swarm learnings list`).")


def test_curating_at_review_time_promotes_an_old_learning(engine: Any) -> None:
    clock = Clock()
    store = LearningStore(engine, clock)
    old, _ = store.capture(7, "o/r", draft("s1", effect=KEEP, text="keep flagging raw SQL here"))
    other = Scope("src/other.py", "bandit/B608", "security")  # not the same scope: no contradiction
    hushed, _ = store.capture(7, "o/r", draft("s2", scope=other))
    assert store.curate(7).changed == ()
    clock.now += PROMOTE_AFTER_S
    result = store.curate(7)
    assert [lr.id for lr in result.changed] == [old.id] and store.get(old.id).tier == "installation"
    assert store.applicable(7, "o/another") == [store.get(old.id)]
    assert store.get(hushed.id).tier == "repo"  # a suppression does not spread by time


def test_a_capture_in_a_second_repository_promotes_and_returns_the_tier_learning(engine: Any) -> None:
    store = LearningStore(engine, Clock())
    first, _ = store.capture(7, "o/a", draft("s1"))
    held, new = store.capture(7, "o/b", draft("s2"))
    assert new and held.id == first.id and held.tier == "installation"
    assert held.sources == ("s1", "s2") and held.confidence == pytest.approx(0.7)
    assert [lr.id for lr in store.list_learnings()] == [first.id]
    assert store.applicable(7, "o/c") == [held]
    assert store.applicable(8, "o/c") == []  # another installation's tier is not this one's
