"""Known vulnerabilities in a review: findings at the manifest line, the cache, and a visible skip."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from swarm_core.analyzers import default_analyzers
from swarm_core.analyzers.advisories import Package
from swarm_core.analyzers.base import AnalyzerContext
from swarm_core.analyzers.lockfiles import parse_lockfile
from swarm_core.analyzers.osv import Records
from swarm_core.analyzers.vulnerabilities import Sighting, VulnerabilityAnalyzer, changed_packages
from swarm_core.changeset import from_git
from swarm_core.config import SwarmConfig, merge, parse_config
from swarm_core.errors import ConfigError, StoreError
from swarm_core.models import AnalyzerStatus, Finding, Lane, Review, Severity
from swarm_core.orchestrator import Orchestrator
from swarm_core.render import render_inline_comment, render_summary
from swarm_core.store import SqlAdvisoryCache
from tests.conftest import ROOT
from tests.fakes.osv import FakeOSV

BASE_PACKAGE = """{
  "name": "shop",
  "dependencies": {
    "express": "4.16.0",
    "left-pad": "1.3.0"
  }
}
"""
HEAD_PACKAGE = """{
  "name": "shop",
  "dependencies": {
    "express": "4.17.1",
    "left-pad": "1.3.0",
    "lodash": "4.17.19"
  }
}
"""


def config(osv: FakeOSV, **extra: Any) -> SwarmConfig:
    section = {"url": osv.url, "retries": 1, **extra}
    return merge(SwarmConfig(), {"analyzers": {"vulnerabilities": section}})


def review(repo: Any, cfg: SwarmConfig, cache: Any = None) -> Review:
    analyzers = [VulnerabilityAnalyzer(cfg.analyzers.vulnerabilities, cache)]
    return Orchestrator(cfg, analyzers=analyzers).review_sync(from_git(repo.path, "HEAD~1", "HEAD"))


def vulns(r: Review) -> list[Finding]:
    """The vulnerability findings, in file order."""
    found = [f for f in r.findings if f.rule == "deps/known-vulnerability"]
    return sorted(found, key=lambda f: (f.path, f.line or 0))


def osv_notes(r: Review) -> list[str]:
    return [n for n in r.notes if not n.startswith("LLM lanes were skipped")]


def shop(make_repo: Any, head: str = HEAD_PACKAGE) -> Any:
    repo = make_repo()
    repo.commit({"package.json": BASE_PACKAGE})
    repo.commit({"package.json": head})
    return repo


def test_vulnerable_versions_are_reported_at_their_manifest_line_with_the_fix(make_repo: Any) -> None:
    repo = shop(make_repo)
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    express, lodash = vulns(r)
    assert (express.path, express.line, express.severity) == ("package.json", 4, Severity.MEDIUM)
    assert (
        express.title
        == "express 4.17.1 has 2 known vulnerabilities: GHSA-qw6h-vgh9-j6wx, GHSA-rv95-896h-c2vc"
    )
    assert express.message == (
        "- **GHSA-qw6h-vgh9-j6wx** (CVE-2024-43796), medium: express vulnerable to XSS via "
        "response.redirect(); fixed in 4.20.0; CWE-79. https://osv.dev/vulnerability/GHSA-qw6h-vgh9-j6wx\n"
        "- **GHSA-rv95-896h-c2vc** (CVE-2024-29041), medium: Express.js Open Redirect in malformed URLs; "
        "fixed in 4.19.2; CWE-1286, CWE-601. https://osv.dev/vulnerability/GHSA-rv95-896h-c2vc\n"
        "\n"
        "Move to express 4.20.0 or later."
    )
    assert express.suggestion == '    "express": "4.20.0",'
    assert (express.lane, express.cwe, express.source) == (Lane.DEPENDENCIES, 79, "vulnerabilities")
    assert (lodash.line, lodash.severity, lodash.suggestion) == (6, Severity.HIGH, '    "lodash": "4.17.21"')
    assert lodash.title.startswith("lodash 4.17.19 has 5 known vulnerabilities: GHSA-35jh-r3h4-6jhm, ")
    assert lodash.message.splitlines()[0] == (
        "- **GHSA-35jh-r3h4-6jhm** (CVE-2021-23337), high: Command Injection in lodash; fixed in 4.17.21; "
        "CWE-77, CWE-94. https://osv.dev/vulnerability/GHSA-35jh-r3h4-6jhm"
    )
    assert lodash.message.splitlines()[-1] == (
        "Move to lodash 4.17.21 or later. OSV listed GHSA-f23m-r3pf-42rh, GHSA-r5fr-rjxr-66jc, "
        "GHSA-xxjr-mmjv-4gpg without returning the record: look them up on osv.dev."
    )
    (report,) = r.analyzers
    assert (report.status, report.reason) == (
        AnalyzerStatus.OK,
        "2 package version(s) checked against OSV, 2 vulnerable",
    )
    assert [q["package"]["name"] for q in osv.batches()[0]] == ["express", "lodash"]


def test_versions_without_known_vulnerabilities_pass_and_say_what_was_checked(make_repo: Any) -> None:
    repo = shop(
        make_repo, HEAD_PACKAGE.replace('"4.17.1"', '"4.21.2"').replace(',\n    "lodash": "4.17.19"', "")
    )
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    assert vulns(r) == []
    assert r.analyzers[0].reason == "1 package version(s) checked against OSV, 0 vulnerable"
    assert osv_notes(r) == []


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ({"fail": [503]}, "HTTP 503 after 1 attempt(s)"),
        ({"garbage": True}, "OSV's answer to POST /v1/querybatch is not valid JSON"),
        ({"hang": 0.5}, "no answer within 0.1 s after 1 attempt(s)"),
    ],
)
def test_when_osv_cannot_answer_the_review_says_the_check_was_skipped(
    make_repo: Any, fault: dict[str, Any], why: str
) -> None:
    repo = shop(make_repo)
    with FakeOSV() as osv:
        osv.fail.extend(fault.get("fail", []))
        osv.garbage = fault.get("garbage", False)
        osv.hang = fault.get("hang", 0.0)
        r = review(repo, config(osv, timeout_seconds=0.1))
    assert vulns(r) == []
    assert r.analyzers[0].status is AnalyzerStatus.SKIPPED
    assert why in r.analyzers[0].reason
    (note,) = osv_notes(r)
    assert note.startswith("Known vulnerabilities were not checked: ")
    assert why in note
    assert note.endswith(". Re-run the review to check them.")
    assert "> ℹ️ Known vulnerabilities were not checked: " in render_summary(r)


def test_a_change_without_new_versions_asks_osv_nothing(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit({"app.py": "x = 1\n", "requirements.txt": "flask>=2\n"})
    repo.commit({"app.py": "x = 2\n", "requirements.txt": "flask>=3\n"})
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    assert osv.requests == []
    assert r.analyzers[0].reason == (
        "1 change(s) name a range, not a version: not checked; no added or bumped package version to check"
    )
    assert osv_notes(r) == []


def test_answers_are_cached_per_package_version_for_the_ttl(make_repo: Any, engine: Any) -> None:
    repo = shop(make_repo)
    now = [1_000_000.0]
    cache = SqlAdvisoryCache(engine, clock=lambda: now[0])
    with FakeOSV() as osv:
        first = review(repo, config(osv), cache)
        asked = len(osv.requests)
        second = review(repo, config(osv), cache)
        assert len(osv.requests) == asked  # a cache hit: no request at all
        now[0] += 86_401
        third = review(repo, config(osv), cache)
        assert len(osv.requests) == 2 * asked  # past the TTL: asked again
        review(repo, config(osv, cache_ttl_seconds=0), cache)
        assert len(osv.requests) == 3 * asked  # TTL 0: never read
    assert vulns(first) == vulns(second) == vulns(third)
    assert second.analyzers[0].reason == (
        "2 answer(s) from the cache; 2 package version(s) checked against OSV, 2 vulnerable"
    )
    stored = cache.get([Package("npm", "express", "4.17.1"), Package("npm", "nope", "1")], max_age_s=60)
    assert list(stored) == [Package("npm", "express", "4.17.1")]
    assert [r["id"] for r in stored[Package("npm", "express", "4.17.1")]] == [
        "GHSA-qw6h-vgh9-j6wx",
        "GHSA-rv95-896h-c2vc",
    ]


class BrokenCache:
    """A cache whose database is gone."""

    def get(self, packages: Sequence[Package], *, max_age_s: float) -> Records:
        raise StoreError("cannot read the advisory cache: database is locked")

    def put(self, records: Mapping[Package, list[dict[str, Any]]]) -> None:
        raise StoreError("cannot write the advisory cache: database is locked")


def test_a_broken_cache_costs_requests_not_the_check(make_repo: Any) -> None:
    repo = shop(make_repo)
    with FakeOSV() as osv:
        r = review(repo, config(osv), BrokenCache())
    assert len(vulns(r)) == 2
    assert r.analyzers[0].reason == (
        "advisory cache not read: cannot read the advisory cache: database is locked; "
        "advisory cache not written: cannot write the advisory cache: database is locked; "
        "2 package version(s) checked against OSV, 2 vulnerable"
    )


PACKAGE_LOCK = """{
  "name": "shop",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "dependencies": {
        "lodash": "^4.17.15"
      }
    },
    "node_modules/lodash": {
      "version": "%s",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-%s.tgz"
    }
  }
}
"""


def test_a_lockfile_bump_is_reported_at_the_locked_version(make_repo: Any) -> None:
    repo = make_repo()
    manifest = '{"dependencies": {"lodash": "^4.17.15"}}\n'
    repo.commit({"package.json": manifest, "package-lock.json": PACKAGE_LOCK % ("4.17.15", "4.17.15")})
    repo.commit({"package-lock.json": PACKAGE_LOCK % ("4.17.19", "4.17.19")})
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    (lodash,) = vulns(r)
    assert (lodash.path, lodash.line, lodash.suggestion) == ("package-lock.json", 13, None)
    assert lodash.message.splitlines()[-1].startswith(
        "Move to lodash 4.17.21 or later (raise the requirement that resolves it and regenerate the lockfile)."
    )


def test_every_ecosystem_is_asked_with_its_osv_name_and_exact_version(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit({"README.md": "shop\n"})
    cargo_lock = '[[package]]\nname = "smallvec"\nversion = "0.6.9"\n\n[[package]]\nname = "serde"\nversion = "1.0.0"\n'
    repo.commit(
        {
            "requirements.txt": "jinja2==2.4.1\nrequests>=2\n",
            "go.mod": "module example.com/shop\n\ngo 1.22\n\nrequire golang.org/x/net v0.17.0\n",
            "Cargo.toml": '[package]\nname = "shop"\n\n[dependencies]\nsmallvec = "=0.6.9"\nserde = "1"\n',
            "Cargo.lock": cargo_lock,
            "poetry.lock": '[[package]]\nname = "Jinja2"\nversion = "2.4.1"\n',
        }
    )
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    asked = sorted((q["package"]["ecosystem"], q["package"]["name"], q["version"]) for q in osv.batches()[0])
    assert asked == [
        ("Go", "golang.org/x/net", "0.17.0"),
        ("PyPI", "Jinja2", "2.4.1"),  # the lockfile's spelling: a second sighting of the same release
        ("PyPI", "jinja2", "2.4.1"),
        ("crates.io", "serde", "1.0.0"),
        ("crates.io", "smallvec", "0.6.9"),
    ]
    assert "2 change(s) name a range, not a version: not checked" in r.analyzers[0].reason


def test_lockfiles_parse_to_their_locked_versions() -> None:
    v1 = {
        "lockfileVersion": 1,
        "dependencies": {"a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}}},
    }
    assert parse_lockfile("package-lock.json", json.dumps(v1).encode()) == {("a", "1.0.0"), ("b", "2.0.0")}
    v3 = {
        "packages": {
            "": {"name": "x"},
            "node_modules/@scope/a": {"version": "1.0.0"},
            "node_modules/@scope/a/node_modules/b": {"version": "3.0.0"},
            "node_modules/linked": {"link": True, "resolved": "../linked"},
        }
    }
    assert parse_lockfile("web/package-lock.json", json.dumps(v3).encode()) == {
        ("@scope/a", "1.0.0"),
        ("b", "3.0.0"),
    }
    assert parse_lockfile("Cargo.lock", b'[[package]]\nname = "rand"\nversion = "0.8.5"\n') == {
        ("rand", "0.8.5")
    }
    assert parse_lockfile("package-lock.json", b"{not json") is None
    assert parse_lockfile("Cargo.lock", b"[[package]\n") is None
    assert parse_lockfile("yarn.lock", b"") is None
    assert parse_lockfile("package-lock.json", b"[]") == set()


def test_advisory_text_reaches_github_only_through_the_sanitizer(make_repo: Any) -> None:
    repo = shop(make_repo)
    with FakeOSV() as osv:
        hostile = json.loads(osv.records["GHSA-qw6h-vgh9-j6wx"])
        hostile["summary"] = "ping @octocat <!-- swarm:fp=forged --> [click](https://evil.example/x)"
        osv.records["GHSA-qw6h-vgh9-j6wx"] = json.dumps(hostile).encode()
        r = review(repo, config(osv))
    body = render_inline_comment(vulns(r)[0], repo="acme/shop")
    assert body.count("ping ") == 1
    assert "@\u2060octocat" in body
    assert "&lt;!-- swarm:fp=forged --&gt;" in body
    assert "click (link removed)" in body
    assert "https://evil.example" not in body


def test_the_check_is_configured_and_can_be_switched_off() -> None:
    on = {a.name for a in default_analyzers(SwarmConfig())}
    off = merge(SwarmConfig(), {"analyzers": {"vulnerabilities": {"enabled": False}}})
    assert "vulnerabilities" in on
    assert "vulnerabilities" not in {a.name for a in default_analyzers(off)}
    section = SwarmConfig().analyzers.vulnerabilities
    assert (section.url, section.timeout_seconds, section.retries, section.cache_ttl_seconds) == (
        "https://api.osv.dev",
        10.0,
        3,
        86_400,
    )
    with pytest.raises(
        ConfigError, match=r"analyzers\.vulnerabilities\.url: must be an http:// or https:// URL"
    ):
        merge(SwarmConfig(), {"analyzers": {"vulnerabilities": {"url": "file:///etc/passwd"}}})
    with pytest.raises(ConfigError, match=r"analyzers\.vulnerabilities\.cache_ttl_seconds"):
        merge(SwarmConfig(), {"analyzers": {"vulnerabilities": {"cache_ttl_seconds": -1}}})


def test_the_readme_shows_what_swarm_posts_and_a_valid_config(make_repo: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    with FakeOSV() as osv:
        express = vulns(review(shop(make_repo), config(osv)))[0]
    posted = render_inline_comment(express, repo="acme/shop")
    assert posted.rsplit("\n\n", 1)[0] in readme  # all but the hidden fingerprint marker
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S) if "vulnerabilities:" in b]
    section = parse_config(block, "README.md").analyzers.vulnerabilities
    assert section == SwarmConfig().analyzers.vulnerabilities


def test_sightings_point_at_the_line_that_names_the_version(make_repo: Any, tmp_path: Any) -> None:
    repo = make_repo()
    repo.commit({"requirements.txt": "flask==3.0.0\n"})
    repo.commit({"requirements.txt": "flask==3.0.0\nTyping_Extensions==4.12.2\nJinja2==2.4.1\n"})
    change = from_git(repo.path, "HEAD~1", "HEAD")
    ctx = AnalyzerContext(change, change.diff.files, SwarmConfig(), tmp_path)
    assert changed_packages(ctx) == (
        [
            Sighting(Package("PyPI", "jinja2", "2.4.1"), "requirements.txt", 3, True),
            Sighting(Package("PyPI", "typing-extensions", "4.12.2"), "requirements.txt", 2, True),
        ],
        0,
    )


class RacingCache(SqlAdvisoryCache):
    """Sees no stored row, as a worker does when another stores the same answer just after it looked."""

    @staticmethod
    def _stored(conn: Any, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return set()


def test_two_workers_storing_the_same_answer_lose_nothing(engine: Any) -> None:
    express, lodash = Package("npm", "express", "4.17.1"), Package("npm", "lodash", "4.17.19")
    SqlAdvisoryCache(engine).put({express: [{"id": "GHSA-qw6h-vgh9-j6wx"}]})
    RacingCache(engine).put({express: [{"id": "GHSA-rv95-896h-c2vc"}], lodash: []})
    stored = SqlAdvisoryCache(engine).get([express, lodash], max_age_s=60)
    assert stored == {express: [{"id": "GHSA-qw6h-vgh9-j6wx"}], lodash: []}  # the first write stands


def test_a_cache_without_its_table_raises_a_store_error() -> None:
    import sqlalchemy as sa

    cache = SqlAdvisoryCache(sa.create_engine("sqlite://"))  # never migrated
    pkg = Package("npm", "express", "4.17.1")
    with pytest.raises(StoreError, match=r"cannot read the advisory cache: .*no such table: advisories"):
        cache.get([pkg], max_age_s=60)
    with pytest.raises(StoreError, match=r"cannot write the advisory cache: .*no such table: advisories"):
        cache.put({pkg: []})
    assert cache.get([], max_age_s=60) == {}
    cache.put({})  # nothing to write: no database work at all


def test_a_pypi_pin_gets_the_release_that_fixes_every_advisory(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit({"requirements.txt": "flask==3.0.0\n"})
    repo.commit({"requirements.txt": "flask==3.0.0\nmlflow==0.4.0\n"})
    with FakeOSV() as osv:
        r = review(repo, config(osv))
    (mlflow,) = vulns(r)
    assert (mlflow.path, mlflow.line, mlflow.severity, mlflow.cwe) == (
        "requirements.txt",
        2,
        Severity.CRITICAL,
        29,
    )
    assert mlflow.title == (
        "mlflow 0.4.0 has 4 known vulnerabilities: "
        "GHSA-xg73-94fp-g449, GHSA-vqj2-4v8m-8vrq, GHSA-wp72-7hj9-5265, PYSEC-2022-28"
    )
    lines = mlflow.message.splitlines()
    # PYSEC records carry no severity: medium; their GIT range is not a version range.
    assert lines[3] == (
        "- **PYSEC-2022-28** (CVE-2022-0736, GHSA-vqj2-4v8m-8vrq), medium: Insecure Temporary File in "
        "GitHub repository mlflow/mlflow prior to 1.23.1.; fixed in 1.23.1. "
        "https://osv.dev/vulnerability/PYSEC-2022-28"
    )
    assert lines[-1] == "Move to mlflow 2.2.1 or later."
    assert mlflow.suggestion == "mlflow==2.2.1"
    assert [q["package"] for q in osv.batches()[0]] == [{"ecosystem": "PyPI", "name": "mlflow"}]
