"""Shared fixtures: real git repositories built in a temporary directory."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Everything a test reads from outside the repo is copied here, origin and licence in its README.
FIXTURES = ROOT / "tests" / "fixtures"
PAYLOADS = FIXTURES / "octokit-webhooks" / "payload-examples" / "api.github.com"
SARIF_SCHEMA = FIXTURES / "sarif" / "sarif-schema-2.1.0.json"
GITHUB_OPENAPI = FIXTURES / "github-openapi" / "api.github.com.subset.json"


def git(repo: Path, *args: str) -> str:
    """Run git in a repo with a fixed identity; return stdout."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=swarm-test", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


class Repo:
    """A throwaway git repository with helpers to write files and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        git(path, "init", "-q", "-b", "main")

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(self, files: dict[str, str | bytes | None], message: str = "change") -> str:
        self.write(files)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD").strip()

    def branch(self, name: str) -> None:
        git(self.path, "checkout", "-q", "-b", name)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[], Repo]:
    counter = iter(range(1000))

    def factory() -> Repo:
        path = tmp_path / f"repo{next(counter)}"
        path.mkdir()
        return Repo(path)

    return factory


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI reads SWARM_DATA_DIR; tests must never write to the user's data directory.
    monkeypatch.setenv("SWARM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SWARM_MODEL", raising=False)
    # A developer's real provider keys must never be used (or billed) by a test.
    from swarm_core.providers import KNOWN_PROVIDERS

    for known in KNOWN_PROVIDERS.values():
        for name in (known.key_env, known.base_env):
            if name:
                monkeypatch.delenv(name, raising=False)
    for name in ("OLLAMA_HOST", "SWARM_MODELS_FILE", "SWARM_REDIS_URL", "SWARM_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)


def _database_params() -> list[str]:
    from tests.helpers import database_params

    return database_params()


@pytest.fixture(params=_database_params())
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for store, queue and worker tests: SQLite, and Postgres when configured."""
    from swarm_core.store import normalize_url, sqlite_url
    from tests.helpers import reset_database

    if request.param == "sqlite":
        return sqlite_url(tmp_path / "data")
    reset_database(request.param)
    return normalize_url(request.param)


@pytest.fixture
def engine(url: str) -> Iterator[Any]:
    """The migrated database's SQLAlchemy engine."""
    from swarm_core.store import open_store

    open_store(url).close()  # migrations
    engine = open_store(url).engine
    yield engine
    engine.dispose()
