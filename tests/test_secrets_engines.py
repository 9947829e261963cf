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
print("pandas" in sys.modules)
print("git" in sys.modules)
"""


def test_credsweeper_finds_the_same_without_its_document_scanners() -> None:
    # swarm imports CredSweeper with a stand-in for its document scanners (over half of its
    # import time); the lines it reports must be exactly those of the full import.
    import subprocess

    def scan(mode: str) -> tuple[list[object], bool, bool, bool]:
        out = subprocess.run(
            [sys.executable, "-c", _SCAN, mode], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return json.loads(out[0]), out[1] == "True", out[2] == "True", out[3] == "True"

    light, light_loaded_pdf, light_loaded_pandas, light_loaded_git = scan("light")
    full, full_loaded_pdf, full_loaded_pandas, full_loaded_git = scan("full")
    assert light == full
    assert sorted(line for _, line, _ in light) == [1, 2, 3]
    assert (light_loaded_pdf, full_loaded_pdf) == (False, True)
    # Nor pandas (only CredSweeper's xlsx report uses it).
    assert (light_loaded_pandas, full_loaded_pandas) == (False, True)
    # Nor GitPython (only CredSweeper's own file walk uses it).
    assert (light_loaded_git, full_loaded_git) == (False, True)


def test_gitpython_left_out_of_credsweeper_s_start_is_the_real_one_afterwards() -> None:
    import subprocess

    code = """
import sys, warnings
warnings.simplefilter("ignore")
from swarm_core.analyzers import secret_engines as engines
with engines._CS_LOCK:
    engines._scanner()
from credsweeper.file_handler import files_provider
try:
    files_provider.Repo(".")
except RuntimeError as exc:
    print("stand-in" if "GitPython is not loaded" in str(exc) else "other")
before = "git" in sys.modules
import git
print(before, hasattr(git, "Blob"))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["stand-in", "False", "True"]


def test_pandas_left_out_of_credsweeper_s_start_is_the_real_one_when_used() -> None:
    import subprocess

    code = """
import sys, warnings
warnings.simplefilter("ignore")
from swarm_core.analyzers import secret_engines as engines
with engines._CS_LOCK:
    engines._scanner()
import credsweeper.app
before = "pandas" in sys.modules
frame = credsweeper.app.pd.DataFrame({"a": [1, 2]})
import pandas
print(before, type(frame) is pandas.DataFrame, type(sys.modules["pandas"]).__name__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "module"]


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


def _pem(private_format: str, password: bytes | None) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    # A key made for the test run: nothing key-shaped is stored in the repository.
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, getattr(serialization.PrivateFormat, private_format), encryption
        )
        .decode()
    )


def test_an_encrypted_private_key_block_is_reported_though_credsweeper_turns_it_down(make_repo) -> None:
    key = _pem("TraditionalOpenSSL", b"a passphrase")
    assert "Proc-Type: 4,ENCRYPTED" in key
    repo = make_repo()
    repo.commit({"README.md": "# deploy\n"})
    repo.commit({"README.md": "# deploy\n", "deploy/id_ec": key})

    swept = review_repo(repo, analyzers=[SecretsAnalyzer((CREDSWEEPER,))])
    merged = review_repo(repo, analyzers=[SecretsAnalyzer()])

    assert only(swept, "secrets/") == []
    (secret,) = only(merged, "secrets/")
    n_lines = len(key.splitlines())
    assert (secret.path, secret.line, secret.end_line, secret.rule) == (
        "deploy/id_ec",
        1,
        n_lines,
        "secrets/private-key",
    )
    assert secret.message.endswith("Found by detect-secrets.")
    outputs = render(merged, "json") + render(merged, "sarif") + render_markdown(merged) + _terminal(merged)
    for body_line in key.splitlines()[4:-1]:
        assert body_line not in outputs


def test_a_key_block_counts_as_a_key_when_its_body_is_shaped_like_the_key_its_label_names() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from swarm_core.analyzers.secret_engines import _real_body

    def parts(pem: str) -> tuple[str, list[str]]:
        lines = [line for line in pem.splitlines() if line]
        return lines[0], lines[1:-1]

    openssh = ed25519.Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    )
    real = [
        _pem("PKCS8", None),
        _pem("PKCS8", b"a passphrase"),
        _pem("TraditionalOpenSSL", None),
        _pem("TraditionalOpenSSL", b"a passphrase"),
        openssh.decode(),
    ]
    assert [_real_body(*parts(pem)) for pem in real] == [True] * 5

    begin, body = parts(_pem("TraditionalOpenSSL", b"a passphrase"))
    plain_begin, plain_body = parts(_pem("PKCS8", None))
    fakes = [
        # Encryption headers under a PKCS#8 label, which never carries them.
        ("-----BEGIN PRIVATE KEY-----", body),
        # A body stitched from pieces of two keys: no longer one DER structure.
        (plain_begin, plain_body[:1] + body[3:]),
        # Placeholders and elisions.
        (plain_begin, ["A" * 64, "A" * 64]),
        (plain_begin, ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"]),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", plain_body),
    ]
    assert [_real_body(b, lines) for b, lines in fakes] == [False] * 5
    assert begin.startswith("-----BEGIN EC PRIVATE KEY")


def test_a_jwk_s_private_members_are_found_by_swarm_s_rule_and_redacted(make_repo) -> None:
    import base64
    import secrets

    d = base64.urlsafe_b64encode(secrets.token_bytes(256)).rstrip(b"=").decode()
    pieces = [d[i : i + 60] for i in range(0, len(d), 60)]
    source = (
        "JWK = {\n"
        '    "kty": "RSA",\n'
        '    "e": "AQAB",\n'
        '    "d": (\n' + "".join(f'        "{piece}"\n' for piece in pieces) + "    ),\n}\n"
    )
    repo = make_repo()
    repo.commit({"keys.py": "JWK = None\n"})
    repo.commit({"keys.py": source})

    review = review_repo(repo, analyzers=[SecretsAnalyzer()])

    (secret,) = only(review, "secrets/")
    assert (secret.line, secret.end_line, secret.rule, secret.severity) == (
        5,
        4 + len(pieces),
        "secrets/jwk-private-key",
        Severity.CRITICAL,
    )
    assert "swarm-jwk" in secret.message.rsplit("Found by", 1)[1]
    outputs = render(review, "json") + render(review, "sarif") + render_markdown(review) + _terminal(review)
    for value in (d, *pieces):
        assert value not in outputs
