"""The two secrets engines, detect-secrets and CredSweeper, each run over the added lines of changed files."""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib.util
import re
import sys
import threading
import types
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from swarm_core.models import Severity

if TYPE_CHECKING:
    from credsweeper import CredSweeper
    from credsweeper.credentials.line_data import LineData

__all__ = [
    "CREDSWEEPER",
    "DETECT_SECRETS",
    "AddedLines",
    "SecretHit",
    "credsweeper_hits",
    "credsweeper_missing",
    "detect_secrets_hits",
    "token_span",
]

DETECT_SECRETS = "detect-secrets"
CREDSWEEPER = "credsweeper"

# (line number, text) of every added line of one file, in order.
AddedLines = Sequence[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class SecretHit:
    """One engine's claim that a credential sits on a line (or a block of lines) of a file.

    `values` are every string that must never leave the process: the whole token around
    the detected value and, for a key block, each body line. `specific` is True when the
    engine matched a credential's own format (a vendor prefix, a key block), False for a
    keyword or entropy guess (which CredSweeper's model may have confirmed). `key_block` is
    True for a PEM private key block whose body is shaped like a key (see `_real_body`): a private key, even
    an encrypted one, whatever another engine's checks say.
    """

    engine: str
    kind: str
    line: int
    end_line: int | None
    values: tuple[str, ...]
    severity: Severity
    confidence: float
    specific: bool
    key_block: bool = False

    @property
    def last_line(self) -> int:
        """The last line the hit covers."""
        return self.end_line if self.end_line is not None else self.line


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.~]")


def token_span(line: str, value: str) -> tuple[int, int] | None:
    """The span of the whole token around a detected value (plugins sometimes report a prefix)."""
    start = line.find(value)
    if start < 0:
        return None
    end = start + len(value)
    while start > 0 and _TOKEN_CHARS.match(line[start - 1]):
        start -= 1
    while end < len(line) and _TOKEN_CHARS.match(line[end]):
        end += 1
    return start, end


def _with_token(line: str, value: str) -> tuple[str, ...]:
    # The whole token only: a plugin's short prefix ("ghp") would be redacted out of every text.
    span = token_span(line, value) if value else None
    full = line[span[0] : span[1]] if span else value
    return (full,) if full else ()


# -- detect-secrets ------------------------------------------------------------------------

# detect-secrets keeps its plugin settings in a process-wide object; one scan at a time.
_DS_LOCK = threading.Lock()

# Token formats with a vendor prefix are near-certain leaks; keyword and entropy hits less so.
_DS_GENERIC = {
    "Secret Keyword": (Severity.HIGH, 0.7),
    "Base64 High Entropy String": (Severity.HIGH, 0.6),
    "Hex High Entropy String": (Severity.HIGH, 0.55),
    "Basic Auth Credentials": (Severity.HIGH, 0.8),
    "Public IP (ipv4)": (Severity.LOW, 0.4),
}
_DS_FORMAT = (Severity.CRITICAL, 0.95)


def detect_secrets_hits(path: str, lines: AddedLines) -> list[SecretHit]:
    """detect-secrets' line plugins over the added lines of one file."""
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.settings import default_settings

    text_by_line = dict(lines)
    hits = []
    with _DS_LOCK, default_settings():
        for secret in _process_line_based_plugins(list(lines), filename=path):
            line = text_by_line.get(secret.line_number, "")
            values = _with_token(line, secret.secret_value or "")
            end_line = None
            body: tuple[str, ...] = ()
            if secret.type == "Private Key":
                end_line, body = _key_block(text_by_line, secret.line_number)
                values += body
            severity, confidence = _DS_GENERIC.get(secret.type, _DS_FORMAT)
            hits.append(
                SecretHit(
                    DETECT_SECRETS,
                    secret.type,
                    secret.line_number,
                    end_line,
                    values,
                    severity,
                    confidence,
                    specific=secret.type not in _DS_GENERIC,
                    key_block=bool(body) and _real_body(line, body),
                )
            )
    return hits


# A PEM body line: base64 (64 characters a line, shorter at the end), or an RFC 1421 header
# of an encrypted key ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ..."), or blank.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]*|[A-Za-z-]+:.*")


def _key_block(lines: Mapping[int, str], start: int) -> tuple[int | None, tuple[str, ...]]:
    """The last line of a PEM block that opens at `start`, and its body lines (each one secret).

    A key written on one line (`"-----BEGIN ...\\n...\\n-----END ..."` in a string) is a
    one-line block (None); so is a BEGIN line whose next lines are not a PEM body, or one with
    no END within 200 lines: the block never reaches into the code around it.
    """
    if "-----END" in lines.get(start, ""):
        return None, ()
    body: list[str] = []
    n = start + 1
    while n in lines and n - start < 200:
        text = lines[n].strip()
        if text.startswith("-----END"):
            return n, tuple(body)
        if not _PEM_BODY.fullmatch(text):
            break
        if len(text) >= 8:
            body.append(text)
        n += 1
    return None, ()


# The least a key's PEM body holds: an Ed25519 key in PKCS#8 is one line of 64 characters.
_MIN_BODY_BYTES = 45
# Only the traditional (typed) PEM labels carry RFC 1421 encryption headers.
_TYPED_LABEL = re.compile(r"BEGIN (RSA|DSA|EC) PRIVATE KEY")


def _real_body(begin: str, body: Sequence[str]) -> bool:
    """Whether a key block's body is shaped like the key its BEGIN line names.

    Checked on the decoded base64, not on the key's content: an encrypted key's body is
    ciphertext. A traditional key with `Proc-Type`/`DEK-Info` headers is a typed label
    (RSA, DSA, EC) over whole cipher blocks; an OpenSSH key opens with its magic; any other
    (PKCS#8, plain or encrypted, and unencrypted traditional keys) is one DER SEQUENCE
    exactly as long as the body. A placeholder, an elision, a body stitched from pieces of
    other keys under a header its label never carries fails.
    """
    headers = [line for line in body if ":" in line]
    data = "".join(line for line in body if ":" not in line)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < _MIN_BODY_BYTES:
        return False
    if headers:
        encrypted = any(h.startswith("Proc-Type:") for h in headers) and any(
            h.startswith("DEK-Info:") for h in headers
        )
        return encrypted and bool(_TYPED_LABEL.search(begin)) and len(raw) % 8 == 0
    if "OPENSSH" in begin:
        return raw.startswith(b"openssh-key-v1\x00")
    return _der_sequence_length(raw) == len(raw)


def _der_sequence_length(raw: bytes) -> int | None:
    """The encoded length of the DER SEQUENCE that `raw` opens with (tag, length and content)."""
    if raw[0] != 0x30:
        return None
    if raw[1] < 0x80:
        return 2 + raw[1]
    n = raw[1] & 0x7F
    if not 1 <= n <= 4 or len(raw) < 2 + n:
        return None
    return 2 + n + int.from_bytes(raw[2 : 2 + n], "big")


# -- CredSweeper -----------------------------------------------------------------------------

# One scanner per process: importing CredSweeper and loading its ONNX model cost about a
# second, and its credential manager holds one scan's state, so scans take turns.
_CS_LOCK = threading.Lock()
_CS_STATE: dict[str, CredSweeper] = {}

_CS_SEVERITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
}
# CredSweeper's own confidence for rules its model does not judge (vendor formats, keys).
_CS_CONFIDENCE = {"strong": 0.95, "moderate": 0.85, "weak": 0.6}


def credsweeper_missing() -> str | None:
    """Why CredSweeper cannot run here (it is an optional extra), or None when it can."""
    if importlib.util.find_spec("credsweeper") is None:
        return "CredSweeper is not installed (pip install 'swarm-review[secrets]')"
    return None


def _scanner() -> CredSweeper:
    """The process's one CredSweeper, built on first use (callers hold _CS_LOCK)."""
    scanner = _CS_STATE.get("scanner")
    if scanner is None:
        _without_deep_scanner()
        with _pandas_on_first_use(), _without_gitpython():
            from credsweeper import CredSweeper

        with _fast_yaml():
            # ml_threshold stays at CredSweeper's default: its model is what filters keyword
            # and entropy guesses down to credentials. One thread: the review runs other
            # analyzers.
            scanner = CredSweeper(ml_threads_limit=1)
        _CS_STATE["scanner"] = scanner
    return scanner


_DEEP_SCANNER = "credsweeper.deep_scanner.deep_scanner"


class _NoDeepScanner:
    """Stands in for CredSweeper's DeepScanner, which swarm never calls (see below)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def scan(self, *args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("swarm scans added lines, never whole documents: deep scanning is not loaded")


def _without_deep_scanner() -> None:
    """Import CredSweeper without its document scanners (PDF, Office, HTML, archives).

    Only CredSweeper.run's file mode uses DeepScanner; swarm calls file_scan on lines it holds
    in memory. Its module pulls in pdfminer, python-pptx, openpyxl and BeautifulSoup: over half
    of CredSweeper's import time, paid by every CLI and Action review. The stand-in raises if
    anything ever calls it, so a CredSweeper release that starts to use it fails loudly in
    tests/test_secrets_engines.py instead of scanning less.
    """
    if "credsweeper.app" in sys.modules or _DEEP_SCANNER in sys.modules:
        return
    stub = types.ModuleType(_DEEP_SCANNER, "swarm's stand-in for CredSweeper's document scanners")
    stub.DeepScanner = _NoDeepScanner  # type: ignore[attr-defined]
    sys.modules[_DEEP_SCANNER] = stub


class _LazyModule(types.ModuleType):
    """A module that imports the real one on its first attribute read."""

    def __getattr__(self, name: str) -> object:
        if sys.modules.get(self.__name__) is self:  # read while still standing in: step aside
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


@contextlib.contextmanager
def _pandas_on_first_use() -> Iterator[None]:
    """Import CredSweeper without importing pandas, which only its xlsx report writer uses.

    `credsweeper.app` imports pandas at the top for `CredSweeper.export_results`' spreadsheet
    output (`xlsx_filename`), which swarm never sets: about 0.25 CPU-seconds of every CLI and
    Action review's start. While CredSweeper is imported, `import pandas` gets a module that
    imports the real pandas if anything ever reads from it; afterwards sys.modules is as it
    was, so any other `import pandas` in the process is the real one.
    """
    if "pandas" in sys.modules or "credsweeper.app" in sys.modules:
        yield
        return
    sys.modules["pandas"] = _LazyModule("pandas", "pandas, imported on first use (swarm)")
    try:
        yield
    finally:
        if isinstance(sys.modules.get("pandas"), _LazyModule):
            del sys.modules["pandas"]


class _NoGitRepo:
    """Stands in for GitPython's Repo, which only CredSweeper's own command line reads."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("swarm reads no repository through CredSweeper: GitPython is not loaded")


@contextlib.contextmanager
def _without_gitpython() -> Iterator[None]:
    """Import CredSweeper without GitPython, which only its `--path` file walk uses.

    `credsweeper.file_handler.files_provider` imports `Repo` and two exceptions from `git` at
    the top for its .gitignore check (FilesProvider, built only by CredSweeper's command line);
    GitPython's import is about 0.15 CPU-seconds of every CLI and Action review's start. While
    CredSweeper is imported, `from git import …` gets stand-ins (a Repo that raises if ever
    built); afterwards sys.modules is as it was, so any other `import git` is GitPython.
    """
    if "git" in sys.modules or "credsweeper.app" in sys.modules:
        yield
        return
    stub = types.ModuleType("git", "swarm's stand-in for GitPython while CredSweeper is imported")
    stub.Repo = _NoGitRepo  # type: ignore[attr-defined]
    stub.InvalidGitRepositoryError = type("InvalidGitRepositoryError", (Exception,), {})  # type: ignore[attr-defined]
    stub.NoSuchPathError = type("NoSuchPathError", (OSError,), {})  # type: ignore[attr-defined]
    stub.Commit = type("Commit", (), {})  # type: ignore[attr-defined]
    sys.modules["git"] = stub
    try:
        yield
    finally:
        if sys.modules.get("git") is stub:
            del sys.modules["git"]


@contextlib.contextmanager
def _fast_yaml() -> Iterator[None]:
    """CredSweeper's rule file read with libyaml's parser instead of PyYAML's pure-Python one.

    CredSweeper reads its 150 rules with yaml.safe_load, the pure-Python parser: more than half
    of building a scanner (seconds on a loaded runner), paid once per CLI or Action review.
    The C parser gives the same data (tests/test_secrets_engines.py compares both).
    """
    import yaml
    from credsweeper.utils.util import Util

    if not getattr(yaml, "__with_libyaml__", False):
        yield
        return
    original = Util.__dict__["yaml_load"]

    def load(file_path: str, encoding: str = "utf8") -> object:
        with Path(file_path).open(encoding=encoding) as fh:
            return yaml.load(fh, Loader=yaml.CSafeLoader)

    Util.yaml_load = staticmethod(load)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Util.yaml_load = original  # type: ignore[method-assign]


def credsweeper_hits(files: Mapping[str, AddedLines]) -> dict[str, list[SecretHit]]:
    """CredSweeper's rules and ML validation over the added lines of every file, in one batch."""
    hits: dict[str, list[SecretHit]] = {path: [] for path in files}
    with _CS_LOCK:
        with warnings.catch_warnings():
            # CredSweeper marks its content providers deprecated ahead of a refactor: importing
            # and building them warns, and they are the API it has for lines held in memory.
            warnings.simplefilter("ignore", DeprecationWarning)
            scanner = _scanner()
            from credsweeper.file_handler.string_content_provider import StringContentProvider

            providers = [
                StringContentProvider(
                    [text for _, text in lines], [n for n, _ in lines], file_path=path, info=path
                )
                for path, lines in files.items()
                if lines
            ]
        scanner.credential_manager.clear_credentials()
        for provider in providers:
            scanner.credential_manager.extend_credentials(scanner.file_scan(provider))
        scanner.post_processing(None)
        candidates = list(scanner.credential_manager.get_credentials())
        scanner.credential_manager.clear_credentials()
    for cand in candidates:
        found = [ld for ld in cand.line_data_list if ld.path in hits]
        if not found:
            continue
        probability = cand.ml_probability
        confidence = (
            float(probability) if probability is not None else _CS_CONFIDENCE.get(cand.confidence.value, 0.6)
        )
        # A key block is one place; other multi-line candidates (an AWS key id with its
        # secret on the next line) are one place per line, as detect-secrets reports them.
        places = [found] if cand.rule_name.endswith("Private Key") else [[ld] for ld in found]
        for lds in places:
            first, last = min(ld.line_num for ld in lds), max(ld.line_num for ld in lds)
            hits[lds[0].path].append(
                SecretHit(
                    CREDSWEEPER,
                    cand.rule_name,
                    first,
                    last if last > first else None,
                    tuple(dict.fromkeys(v for ld in lds for v in _with_token(ld.line, _value(ld)))),
                    _CS_SEVERITY.get(cand.severity.value, Severity.HIGH),
                    round(confidence, 3),
                    specific=not cand.use_ml,
                )
            )
    return hits


def _value(ld: LineData) -> str:
    """The detected value as it stands in the line (CredSweeper may have unquoted or trimmed it)."""
    if 0 <= ld.value_start < ld.value_end <= len(ld.line):
        return ld.line[ld.value_start : ld.value_end]
    return ld.value or ""
