"""Fuzz the webhook receiver: real payloads with odd values in every field the App reads.

    python bench/fuzz_webhook.py [--cases 10000] [--postgres postgresql://…]

Each case is a real octokit payload of an event the App routes (tests/fixtures), with some of
the fields the router and intake read replaced by another JSON type, a huge number, a long or
NUL-carrying string, or removed; with odd delivery headers; signed (mostly) or not. Every case
is sent to the App on SQLite (and on Postgres when given) and the bench prints how many were
answered with a 5xx: the target is 0. The fast suite runs the same strategy with few examples.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAYLOADS = ROOT / "tests" / "fixtures" / "octokit-webhooks" / "payload-examples" / "api.github.com"
SECRET = "fuzz-secret"

# event → (real payload, the fields the App reads from it)
_COMMON = ["action", "installation", "installation.id", "repository", "repository.full_name"]
EVENTS: dict[str, tuple[str, list[str]]] = {
    "pull_request": (
        "pull_request/opened.payload.json",
        [
            "pull_request",
            "pull_request.number",
            "pull_request.head",
            "pull_request.head.sha",
            "pull_request.draft",
            "pull_request.user",
            "pull_request.user.login",
            "pull_request.user.type",
        ],
    ),
    "issue_comment": (
        "issue_comment/created.with-installation.payload.json",
        [
            "comment",
            "comment.id",
            "comment.body",
            "comment.user",
            "comment.user.login",
            "comment.user.type",
            "issue",
            "issue.number",
            "issue.pull_request",
        ],
    ),
    "check_run": (
        "check_run/rerequested.payload.json",
        [
            "check_run",
            "check_run.head_sha",
            "check_run.app",
            "check_run.app.id",
            "check_run.pull_requests",
            "check_run.pull_requests.0",
            "check_run.pull_requests.0.number",
        ],
    ),
    "issues": ("issues/opened.payload.json", ["issue", "issue.number"]),
    "ping": ("ping/payload.json", []),
}


def _base(event: str) -> dict[str, Any]:
    """The real payload, completed so that routing reaches the deep fields (an installation, a PR)."""
    payload: dict[str, Any] = json.loads((PAYLOADS / EVENTS[event][0]).read_text(encoding="utf-8"))
    payload.setdefault("installation", {"id": 1})
    if event == "check_run":
        payload["check_run"]["pull_requests"] = [{"number": 7, "head": {"sha": "a"}, "base": {"sha": "b"}}]
    if event == "issue_comment":
        payload["comment"]["body"] = "/swarm pr-review"
    return payload


_BASES = {event: _base(event) for event in EVENTS}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "abc", "a\x00b", "x" * 300, "o/r", "../../etc", "é" * 70, "1"]),
)
odd_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_header = st.one_of(
    st.sampled_from(["", "1", "x" * 33, "g" * 65, "a b", "a\tb", "é"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=70),
)
_MISSING = object()


def _set(payload: dict[str, Any], path: str, value: Any) -> None:
    node: Any = payload
    *parents, last = path.split(".")
    for part in parents:
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        else:
            node = node.get(part)
        if not isinstance(node, dict | list):
            return  # an earlier change replaced a parent: nothing left to change
    if isinstance(node, list):
        if last.isdigit() and int(last) < len(node):
            node[int(last)] = None if value is _MISSING else value
    elif value is _MISSING:
        node.pop(last, None)
    else:
        node[last] = value


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """(headers, body) of one hostile delivery."""
    event = draw(st.sampled_from(sorted(EVENTS)))
    payload = copy.deepcopy(_BASES[event])
    fields = _COMMON + EVENTS[event][1]
    for path in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        _set(payload, path, draw(st.one_of(st.just(_MISSING), odd_values)))
    body = json.dumps(payload).encode()
    from swarm_core.github.signature import sign

    headers = {
        "X-GitHub-Event": draw(st.one_of(st.just(event), _header)) if draw(st.booleans()) else event,
        "X-GitHub-Delivery": draw(st.one_of(st.uuids().map(str), _header)),
        "X-GitHub-Hook-ID": draw(st.one_of(st.just("1"), _header)),
        "Content-Type": "application/json",
    }
    signed = draw(st.integers(0, 9)) > 0  # one in ten unsigned or forged
    headers["X-Hub-Signature-256"] = sign(SECRET, body) if signed else draw(_header)
    return headers, body


def raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as bytes: a non-ASCII value is sent as UTF-8, as an attacker would."""
    return [(k.encode(), v.encode("utf-8")) for k, v in headers.items()]


def make_client(url: str | None, data_dir: Path) -> Any:
    """A TestClient of the App (no workers) on SQLite under `data_dir`, or on the Postgres at `url`."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import load_settings
    from swarm_core.store import open_store, sqlite_url

    store = open_store(url or sqlite_url(data_dir))
    app_settings = load_settings({"GITHUB_WEBHOOK_SECRET": SECRET, "SWARM_DATA_DIR": str(data_dir)})
    return TestClient(create_app(app_settings, store=store, workers=0))


def fuzz(url: str | None, cases: int) -> Counter[int]:
    """Send `cases` generated deliveries; the count of each status code."""
    statuses: Counter[int] = Counter()
    with tempfile.TemporaryDirectory() as tmp, make_client(url, Path(tmp)) as client:

        @settings(
            max_examples=cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(deliveries())
        def one(case: tuple[dict[str, str], bytes]) -> None:
            headers, body = case
            statuses[client.post("/github/webhook", content=body, headers=raw(headers)).status_code] += 1

        one()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per backend (default 10000)")
    parser.add_argument("--postgres", help="also fuzz the App on this Postgres URL (its tables are reset)")
    args = parser.parse_args()
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.postgres:
        from tests.helpers import reset_database

        reset_database(args.postgres)
        backends.append(("postgres", args.postgres))
    for name, url in backends:
        start = time.perf_counter()
        statuses = fuzz(url, args.cases)
        errors = sum(n for code, n in statuses.items() if code >= 500)
        spread = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
        elapsed = time.perf_counter() - start
        print(f"{name}: {sum(statuses.values())} cases in {elapsed:.0f} s, 5xx: {errors} ({spread})")


if __name__ == "__main__":
    main()
