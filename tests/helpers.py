"""Helpers for running the engine in tests."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from swarm_core.analyzers import Analyzer
from swarm_core.changeset import from_git
from swarm_core.config import SwarmConfig, merge
from swarm_core.models import Finding, Review
from swarm_core.orchestrator import Orchestrator


def readme_block(containing: str) -> list[str]:
    """The lines of the README's one bash block that contains `containing`."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S) if containing in b]
    return block.strip().splitlines()


def shell_env(**env: str) -> dict[str, str]:
    """The environment with `env` over it, and this interpreter's scripts (`swarm`) first on PATH."""
    import sys
    from pathlib import Path

    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, **env, "PATH": path}


def database_params() -> list[str]:
    """Store and queue tests run on "sqlite", and on the Postgres at SWARM_TEST_DATABASE_URL when set."""
    urls = ["sqlite"]
    if os.environ.get("SWARM_TEST_DATABASE_URL"):
        urls.append(os.environ["SWARM_TEST_DATABASE_URL"])
    return urls


def review_repo(
    repo: Any,
    base: str = "HEAD~1",
    head: str = "HEAD",
    overrides: dict[str, Any] | None = None,
    analyzers: Sequence[Analyzer] | None = None,
) -> Review:
    config = merge(SwarmConfig(), overrides or {})
    return Orchestrator(config, analyzers=analyzers).review_sync(from_git(repo.path, base, head))


def rules(review: Review, prefix: str = "") -> list[tuple[str, int | None, str]]:
    found = [(f.path, f.line, f.rule) for f in review.findings if f.rule.startswith(prefix)]
    return sorted(found, key=lambda t: (t[0], t[1] or 0, t[2]))


def only(review: Review, prefix: str) -> list[Finding]:
    return [f for f in review.findings if f.rule.startswith(prefix)]


def reset_database(url: str) -> None:
    """Drop every swarm table and the migration stamp: a clean slate on a shared test database."""
    import sqlalchemy as sa

    from swarm_core.store.database import normalize_url
    from swarm_core.store.schema import metadata

    engine = sa.create_engine(normalize_url(url))
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
