"""Configuration: schema, precise errors with line numbers, pure merging, path globs."""

from __future__ import annotations

import pytest

from swarm_core.config import SwarmConfig, load_config, merge, parse_config, paths_match
from swarm_core.errors import ConfigError
from swarm_core.models import Lane, Severity


def test_defaults():
    c = SwarmConfig()
    assert c.fail_threshold is None and c.severity_threshold is Severity.LOW
    assert all(c.lanes.enabled(lane) for lane in Lane)


def test_full_config_parses():
    c = parse_config(
        """
version: 1
lanes:
  docs-intent: false
paths:
  exclude: ["legacy/**"]
instructions:
  - path: "src/api/**"
    text: "Every handler must check authorization."
severity_threshold: Medium
fail_on: HIGH
analyzers:
  timeout_seconds: 30
  complexity: {threshold: 15}
  sast: {semgrep_rules: ["rules/"]}
"""
    )
    assert not c.lanes.enabled(Lane.DOCS_INTENT) and c.lanes.enabled(Lane.SECURITY)
    assert c.fail_threshold is Severity.HIGH and c.severity_threshold is Severity.MEDIUM
    assert not c.includes("legacy/x.py") and c.includes("src/x.py")
    assert c.instructions_for("src/api/users.py") == ("Every handler must check authorization.",)
    assert c.analyzers.complexity.threshold == 15


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lanes:\n  securty: true\n", ".github/swarm.yml:2: lanes.securty: unknown key"),
        ("fail_on: sometimes\n", ".github/swarm.yml:1: fail_on:"),
        (
            "analyzers:\n  complexity:\n    threshold: -1\n",
            ".github/swarm.yml:3: analyzers.complexity.threshold:",
        ),
        ("lanes: [\n", ".github/swarm.yml:2: invalid YAML"),
        ("- a\n- b\n", ".github/swarm.yml:1: the config must be a mapping"),
        ("instructions:\n  - path: x\n", ".github/swarm.yml:2: instructions.0.text: Field required"),
    ],
)
def test_errors_name_file_line_and_key(text, message):
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert str(info.value).startswith(message)


def test_empty_file_is_defaults():
    assert parse_config("") == SwarmConfig()


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(bad)
    assert load_config(None) == SwarmConfig()


def test_merge_is_pure():
    base = SwarmConfig()
    merged = merge(base, {"fail_on": "low", "analyzers": {"lint": {"enabled": False}}})
    assert merged.fail_threshold is Severity.LOW and not merged.analyzers.lint.enabled
    assert base.fail_threshold is None and base.analyzers.lint.enabled
    with pytest.raises(ConfigError):
        merge(base, {"fail_on": "bogus"})


@pytest.mark.parametrize(
    ("pattern", "path", "ok"),
    [
        ("*.py", "a/b/c.py", True),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/x/a.py", False),
        ("src/**", "src/x/a.py", True),
        ("**/vendor/**", "vendor/a.go", True),
        ("**/vendor/**", "a/vendor/b/c.go", True),
        ("docs/?.md", "docs/a.md", True),
        ("a.[ch]", "a.c", False),  # brackets are literal
    ],
)
def test_path_globs(pattern, path, ok):
    assert paths_match([pattern], path) is ok


@pytest.mark.parametrize(
    ("patterns", "path", "ok"),
    [
        # `**` at the start, the middle and the end of a pattern
        (["**/test_*.py"], "test_a.py", True),
        (["**/test_*.py"], "pkg/tests/test_a.py", True),
        (["src/**/api/*.py"], "src/api/a.py", True),
        (["src/**/api/*.py"], "src/v1/v2/api/a.py", True),
        (["src/**/api/*.py"], "lib/src/api/a.py", False),
        # negation: the last pattern that matches decides
        (["**/vendor/**", "!**/vendor/ours/**"], "vendor/ours/a.go", False),
        (["**/vendor/**", "!**/vendor/ours/**"], "vendor/theirs/a.go", True),
        (["!*.py", "*.py"], "a.py", True),
        (["*.py", "!tests/*.py"], "tests/a.py", False),
        # directory patterns: everything under a directory of that name
        (["build/"], "build/out/a.js", True),
        (["build/"], "pkg/build/a.js", True),
        (["build/"], "build", False),
        (["generated"], "api/generated/models.py", True),
        # a leading slash anchors at the repository root
        (["/docs/"], "docs/a.md", True),
        (["/docs/"], "pkg/docs/a.md", False),
        # comments and blank lines are ignored, as in a .gitignore
        (["# vendored code", "", "third_party/**"], "third_party/x.c", True),
        # Next.js-style route files: brackets are literal
        (["app/[slug]/*.tsx"], "app/[slug]/page.tsx", True),
        (["app/[slug]/*.tsx"], "app/s/page.tsx", False),
        ([], "a.py", False),
    ],
)
def test_gitignore_style_path_lists(patterns, path, ok):
    assert paths_match(patterns, path) is ok


def test_negated_excludes_bring_paths_back():
    c = parse_config(
        """
paths:
  include: ["src/**", "!src/**/*_pb2.py"]
  exclude: ["**/vendor/**", "!**/vendor/ours/**"]
analyzers:
  secrets: {exclude: ["**/fixtures/**", "!**/fixtures/live/**"]}
"""
    )
    reviewed = [
        p
        for p in ("src/a.py", "src/api/x_pb2.py", "src/vendor/lib.py", "src/vendor/ours/lib.py", "docs/a.md")
        if c.includes(p)
    ]
    assert reviewed == ["src/a.py", "src/vendor/ours/lib.py"]
    excluded = [
        p
        for p in ("tests/fixtures/key.pem", "tests/fixtures/live/key.pem")
        if paths_match(c.analyzers.secrets.exclude, p)
    ]
    assert excluded == ["tests/fixtures/key.pem"]


def test_readme_config_example_is_valid():
    import re

    from swarm_core.config import parse_config
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S) if b.startswith("version: 1")]
    config = parse_config(block, "README.md")
    assert config.models.mode == "balanced" and config.models.lanes == {
        "security": "anthropic/claude-sonnet-4-5"
    }
    assert config.llm.limits.max_cost_usd == 2.0 and config.models.rules[0].when.lane == "security"
