"""`swarm learnings list|show|forget|promote` on the App's database (here the SQLite file under SWARM_DATA_DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarm_core.learnings import LearningDraft, Scope
from swarm_core.store import LearningStore, open_store, sqlite_url
from tests.test_cli import swarm


def seed(tmp_path: Path) -> list[int]:
    store = open_store(sqlite_url(tmp_path / "data"))
    learnings = LearningStore(store.engine)
    ids = []
    for n, (repo, rule) in enumerate((("o/api", "bandit/B101"), ("o/web", "ruff/S603"))):
        draft = LearningDraft(
            f"[bold]asserts[/] are fine in tests {n}", Scope("tests/**", rule), 0.9, f"s{n}", "command"
        )
        ids.append(learnings.capture(3, repo, draft)[0].id)
    store.close()
    return ids


def test_list_show_forget_promote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich's table width: no wrapped cells
    first, second = seed(tmp_path)
    listed = swarm("learnings", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [lr["id"] for lr in json.loads(listed.stdout)] == [second, first]
    only = json.loads(swarm("learnings", "list", "--repo", "o/api", "--format", "json").stdout)
    assert [lr["scope"] for lr in only] == [{"path": "tests/**", "rule": "bandit/B101", "lane": ""}]
    table = swarm("learnings", "list")
    assert "ruff/S603" in table.stdout and "[bold]asserts[/]" in table.stdout  # shown, not interpreted
    shown = json.loads(swarm("learnings", "show", str(first)).stdout)
    assert (shown["repo"], shown["sources"], shown["status"]) == ("o/api", ["s0"], "active")

    promoted = swarm("learnings", "promote", str(first))
    assert promoted.stdout == f"learning #{first} is on the installation tier now (active)\n"
    assert json.loads(swarm("learnings", "show", str(first)).stdout)["tier"] == "installation"
    assert swarm("learnings", "forget", str(second)).stdout == f"forgot learning #{second}\n"
    forgotten = json.loads(swarm("learnings", "list", "--status", "forgotten", "--format", "json").stdout)
    assert [lr["id"] for lr in forgotten] == [second]


def test_unknown_ids_and_an_empty_store_are_clear(tmp_path: Path) -> None:
    assert swarm("learnings", "list").stdout.startswith("no learnings yet")
    missing = swarm("learnings", "forget", "42")
    assert missing.returncode == 2
    assert missing.stderr == "swarm: error: no learning #42; list them with `swarm learnings list`\n"
    assert swarm("learnings", "show", "0").returncode == 2  # not an id
    assert swarm("learnings", "list", "--status", "gone").returncode == 2
