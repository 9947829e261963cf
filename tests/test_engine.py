"""The engine builder, the keys it is given, and the seam the handlers see it through."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import typing
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import load_settings
from swarm_core.changeset import from_patch
from swarm_core.config import SwarmConfig
from swarm_core.engine import Councillor, ProviderKeys, Reviewer, Specifier, build_engine
from swarm_core.github.handlers import Services
from swarm_core.orchestrator import ProgressEvent
from tests.fakes.llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent

PATCH = (
    "diff --git a/svc.py b/svc.py\n--- a/svc.py\n+++ b/svc.py\n@@ -1,1 +1,4 @@\n import subprocess\n+\n"
    "+def restart(name):\n+    return subprocess.call('systemctl restart ' + name, shell=True)\n"
)


def test_provider_keys_keep_only_provider_variables_as_secrets() -> None:
    keys = ProviderKeys.from_mapping(
        {
            "OPENAI_API_KEY": "sk-openai-12345678",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "GROQ_API_KEY": "short",
            "ANTHROPIC_API_KEY": "",
            "GITHUB_TOKEN": "ghp_not_a_provider_key",
            "PATH": "/usr/bin",
        }
    )
    assert sorted(keys.values) == ["GROQ_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"]
    assert all(isinstance(v, SecretStr) for v in keys.values.values())
    assert "sk-openai-12345678" not in repr(keys)
    assert keys.secrets() == frozenset({"sk-openai-12345678"})  # not the base URL, not a 5-character key
    openai = keys.endpoints()["openai"]
    assert openai.base_url == "http://127.0.0.1:9/v1" and openai.has_key and openai.configured
    assert not keys.endpoints()["anthropic"].has_key


def test_settings_read_provider_keys_once_and_list_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    settings = load_settings(
        {
            "ANTHROPIC_API_KEY": "sk-ant-from-the-mapping",
            "SWARM_DATABASE_URL": "postgresql://swarm:db-password-1@db/swarm",
            "SWARM_REDIS_URL": "redis://:redis-password-1@cache:6379/0",
            "GITHUB_WEBHOOK_SECRET": "webhook-secret-1",
            "SWARM_API_TOKEN": "api-token-12345",
        }
    )
    assert sorted(settings.provider_keys().values) == ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
    # Read once: a key set after start-up is not seen.
    monkeypatch.setenv("GROQ_API_KEY", "gsk-set-too-late")
    assert "GROQ_API_KEY" not in settings.provider_keys().values
    assert settings.secrets() == {
        "sk-from-the-environment",
        "sk-ant-from-the-mapping",
        "db-password-1",
        "redis-password-1",
        "webhook-secret-1",
        "api-token-12345",
    }
    assert (settings.log_format, settings.redis_url) == ("text", "redis://:redis-password-1@cache:6379/0")


def test_an_unknown_log_format_stops_start_up() -> None:
    from swarm_core.errors import ConfigError

    with pytest.raises(ConfigError, match="SWARM_LOG_FORMAT"):
        load_settings({"SWARM_LOG_FORMAT": "xml"})


def test_the_engine_reviews_with_the_keys_it_was_given() -> None:
    change = from_patch(PATCH.encode(), "change.patch")
    config = SwarmConfig()
    with FakeLLM() as llm:
        keys = ProviderKeys.from_mapping({"OPENAI_API_KEY": llm.key or "", "OPENAI_BASE_URL": llm.url})
        engine = build_engine(keys, model="openai/gpt-4.1-mini")
        review = asyncio.run(engine.review(config, change))
        assert review.usage.calls > 0 and len(llm.requests) == review.usage.calls
        # Without models (a spent budget), only the deterministic lanes run.
        before = len(llm.requests)
        events: list[ProgressEvent] = []
        quiet = asyncio.run(engine.review(config, change, models=False, on_event=events.append))
        assert len(llm.requests) == before and quiet.usage.calls == 0
    # The CLI's progress display is fed the same way.
    assert {(e.stage, e.name, e.state) for e in events} >= {("analyzer", "bandit", "started")}
    assert any(f.path == "svc.py" for f in review.confirmed())
    assert {f.fingerprint for f in quiet.confirmed() if f.lane.value == "security"} <= {
        f.fingerprint for f in review.findings
    }


def test_the_seam_is_typed_protocols_with_no_any() -> None:
    engine = build_engine(ProviderKeys())
    reviewer: Reviewer = engine.review
    councillor: Councillor = engine.council
    specifier: Specifier = engine.specify
    assert (reviewer, councillor, specifier) == (engine.review, engine.council, engine.specify)
    hints = typing.get_type_hints(Services)
    assert not any("Any" in str(hint) or "..." in str(hint) for hint in hints.values()), hints
    assert "client_cache" in hints
    assert dataclasses.fields(Services) and Services.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_the_core_never_reads_the_environment() -> None:
    readers = []
    for path in sorted((ROOT / "swarm_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ("environ", "getenv", "environb", "putenv")
            ):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []
