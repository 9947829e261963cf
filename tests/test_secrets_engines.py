"""The secrets analyzer's two engines: merged by place, redacted everywhere, honest when one is missing."""

from __future__ import annotations

import io
import json
import sys

import pytest
from rich.console import Console

from swarm_core.analyzers.secret_engines import CREDSWEEPER, DETECT_SECRETS, SecretHit
from swarm_core.analyzers.secrets import SecretsAnalyzer, merge_by_place
from swarm_core.models import AnalyzerStatus, Review, Severity
from swarm_core.render import render, render_markdown
from swarm_core.render.terminal import render_terminal
from tests.helpers import only, review_repo

# Credential-shaped values written for these tests (none was ever a live credential).
TOKEN = "ghp_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"
PASSWORD = "k9Xv2LmQ7pR4" + "tZ8wN3yB"
DB_PASSWORD = "Vx7#qLm2!pR9" + "sTe4"


def _hit(engine: str, line: int, end: int | None = None, *, confidence: float = 0.9, specific: bool = True):
    return SecretHit(
        engine, f"{engine} kind", line, end, (f"value-{line}",), Severity.HIGH, confidence, specific
    )


def _terminal(review: Review) -> str:
    out = io.StringIO()
    render_terminal(review, Console(file=out, width=200))
    return out.getvalue()


def test_hits_are_grouped_by_place_and_a_key_block_takes_the_lines_inside_it() -> None:
    block = _hit(DETECT_SECRETS, 3, 10, confidence=0.95)
    inside = _hit(CREDSWEEPER, 5, confidence=0.99, specific=False)
    first_line = _hit(CREDSWEEPER, 3, 10)
    apart = _hit(CREDSWEEPER, 12)
    guess = _hit(DETECT_SECRETS, 12, confidence=0.6, specific=False)

    groups = merge_by_place([apart, inside, guess, first_line, block])

    # A format match beats a keyword guess even when the model was surer; then confidence.
    assert groups == [[block, first_line, inside], [apart, guess]]


def test_one_finding_per_place_and_the_format_match_names_it(make_repo) -> None:
    repo = make_repo()
    repo.commit({"cfg.py": "x = 1\n"})
    repo.commit({"cfg.py": f'x = 1\nGITHUB_TOKEN = "{TOKEN}"\n'})

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    (secret,) = only(review, "secrets/")
    assert (secret.path, secret.line, secret.severity, secret.rule) == (
        "cfg.py",
        2,
        Severity.CRITICAL,
        "secrets/github-token",
    )
    assert secret.also_reported_by == (
        "Token (credsweeper)",
        "Base64 High Entropy String (detect-secrets)",
    )
    assert secret.message.endswith("Found by credsweeper and detect-secrets.")
    assert secret.evidence == 'GITHUB_TOKEN = "ghp_…[redacted 40 chars]"'


def test_a_non_pem_credential_detect_secrets_misses_and_credsweeper_finds(make_repo) -> None:
    repo = make_repo()
    repo.commit({"app/db.py": "from psycopg import connect\n"})
    repo.commit(
        {"app/db.py": f'from psycopg import connect\nconn = connect(user="app", password="{PASSWORD}")\n'}
    )

    alone = review_repo(repo, analyzers=[SecretsAnalyzer((DETECT_SECRETS,))])
    merged = review_repo(repo, analyzers=[SecretsAnalyzer()])

    assert only(alone, "secrets/") == []
    (secret,) = only(merged, "secrets/")
    assert (secret.path, secret.line, secret.rule, secret.source) == (
        "app/db.py",
        2,
        "secrets/password",
        "secrets",
    )
    assert secret.message.endswith("Found by credsweeper.")
    assert secret.evidence == 'conn = connect(user="app", password="…[redacted 20 chars]")'


def test_a_keyword_guess_credsweeper_turns_down_is_not_reported(make_repo) -> None:
    repo = make_repo()
    repo.commit({"tests/test_config.py": "import flask\n"})
    repo.commit({"tests/test_config.py": 'import flask\nSECRET_KEY = "config"\n'})

    alone = review_repo(repo, analyzers=[SecretsAnalyzer((DETECT_SECRETS,))])
    merged = review_repo(repo, analyzers=[SecretsAnalyzer()])

    assert [(f.line, f.rule) for f in only(alone, "secrets/")] == [(2, "secrets/secret-keyword")]
    assert only(merged, "secrets/") == []


def test_values_are_redacted_in_every_output(make_repo) -> None:
    repo = make_repo()
    repo.commit({"settings.py": "DEBUG = False\n"})
    repo.commit(
        {
            "settings.py": (
                "DEBUG = False\n"
                f'GITHUB_TOKEN = "{TOKEN}"\n'
                f'DATABASES = {{"default": {{"PASSWORD": "{DB_PASSWORD}"}}}}\n'
            )
        }
    )

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    assert [(f.line, f.rule) for f in only(review, "secrets/")] == [
        (2, "secrets/github-token"),
        (3, "secrets/password"),
    ]
    (report,) = review.analyzers
    outputs = {
        "json": render(review, "json"),
        "sarif": render(review, "sarif"),
        "markdown": render_markdown(review),
        "terminal": _terminal(review),
        "findings": json.dumps(
            [[f.title, f.message, f.evidence] for f in (*review.findings, *report.findings)]
        ),
    }
    for name, text in outputs.items():
        for value in (TOKEN, TOKEN[4:], DB_PASSWORD):
            assert value not in text, (name, value)
    assert all("redacted" in f.evidence for f in review.findings)


def test_without_credsweeper_the_review_says_so_and_detect_secrets_still_runs(
    make_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules is how Python spells "this package cannot be imported".
    monkeypatch.setitem(sys.modules, "credsweeper", None)
    repo = make_repo()
    repo.commit({"cfg.py": "x = 1\n"})
    repo.commit({"cfg.py": f'x = 1\nGITHUB_TOKEN = "{TOKEN}"\nSECRET_KEY = "config"\n'})

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    (report,) = review.analyzers
    assert (report.status, report.reason) == (
        AnalyzerStatus.OK,
        "CredSweeper is not installed (pip install 'swarm-review[secrets]'); "
        "scanned with detect-secrets alone",
    )
    # detect-secrets alone keeps its guesses: there is no model to turn them down.
    assert [(f.line, f.rule) for f in only(review, "secrets/")] == [
        (2, "secrets/github-token"),
        (3, "secrets/secret-keyword"),
    ]
    assert "CredSweeper is not installed" in render_markdown(review)


# Lines of several credential kinds, written at run time so no credential-shaped string is stored.
_SAMPLE = [
    (1, 'password = "Xk2#pQ9vLm4!zR7w"'),
    (2, "aws_access_key_id = AKIA" + "QWERTYUIOPASDFGH"),
    (3, 'token = "ghp_' + "a1B2c3D4" * 4 + 'e5F6"'),
    (4, 'url = "postgres://admin:' + "S3cr3tPassw0rd" + '@db.internal:5432/app"'),
    (5, "x = compute(1, 2)"),
]
_SCAN = f"""
import json, sys, warnings
warnings.simplefilter("ignore")
from swarm_core.analyzers import secret_engines as engines
if sys.argv[1] == "full":
    import credsweeper.app  # the whole package, document scanners included
hits = engines.credsweeper_hits({{"settings.py": {_SAMPLE!r}}})
print(json.dumps(sorted((h.kind, h.line, h.last_line) for h in hits["settings.py"])))
print("credsweeper.deep_scanner.pdf_scanner" in sys.modules)
"""


def test_credsweeper_finds_the_same_without_its_document_scanners() -> None:
    # swarm imports CredSweeper with a stand-in for its document scanners (over half of its
    # import time); the lines it reports must be exactly those of the full import.
    import subprocess

    def scan(mode: str) -> tuple[list[object], bool]:
        out = subprocess.run(
            [sys.executable, "-c", _SCAN, mode], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return json.loads(out[0]), out[1] == "True"

    light, light_loaded_pdf = scan("light")
    full, full_loaded_pdf = scan("full")
    assert light == full
    assert sorted(line for _, line, _ in light) == [1, 2, 3]
    assert (light_loaded_pdf, full_loaded_pdf) == (False, True)


def test_the_document_scanner_stand_in_fails_loudly_if_credsweeper_ever_calls_it() -> None:
    from swarm_core.analyzers.secret_engines import _NoDeepScanner

    with pytest.raises(RuntimeError, match="deep scanning is not loaded"):
        _NoDeepScanner(object(), object()).scan(object(), 1, 1)


def test_credsweeper_rules_read_with_libyaml_are_the_rules_pyyaml_reads() -> None:
    import warnings
    from pathlib import Path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import credsweeper
        from credsweeper.utils.util import Util

    from swarm_core.analyzers.secret_engines import _fast_yaml

    rules = Path(credsweeper.__file__).parent / "rules" / "config.yaml"
    slow = Util.yaml_load(rules)
    with _fast_yaml():
        fast = Util.yaml_load(rules)
    assert Util.yaml_load(rules) == slow  # restored afterwards
    assert fast == slow and len(fast) > 100


def test_a_key_block_never_reaches_into_the_code_around_it() -> None:
    from swarm_core.analyzers.secret_engines import _key_block

    body = "MIIEowIBAAKCAQEA" + "x1Y2z3" * 8
    block = {
        1: "-----BEGIN RSA PRIVATE KEY-----",
        2: body,
        3: "Proc-Type: 4,ENCRYPTED",
        4: "-----END RSA PRIVATE KEY-----",
    }
    assert _key_block(block, 1) == (4, (body, "Proc-Type: 4,ENCRYPTED"))
    # A key written on one line with \n escapes, then code: one line, not the next 199.
    one_line = {1: 'KEY = "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY-----"'}
    one_line.update({n: f"x_{n} = compute({n})" for n in range(2, 60)})
    assert _key_block(one_line, 1) == (None, ())
    # A BEGIN line whose next lines are code, with no END: the BEGIN line alone.
    opened = {1: 'pem = "-----BEGIN PRIVATE KEY-----"', 2: "pem += load(path)", 3: "return pem"}
    assert _key_block(opened, 1) == (None, ())
