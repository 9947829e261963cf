"""Fuzz the HTTP API from its own OpenAPI description with schemathesis: no case may get a 5xx.

    python bench/fuzz_api.py [--cases 10000] [--postgres postgresql://…]

The App is built with SWARM_API_DOCS=true so that it serves /openapi.json; schemathesis turns
every operation of it into a Hypothesis strategy, both valid requests (positive) and requests
that break the schema (negative: wrong types, odd path segments, NUL bytes, missing fields).
Nine cases in ten carry the API token, so most reach the handlers rather than the 401. Every
case is sent to the App on SQLite (and on Postgres when given); the bench prints how many were
answered with a 5xx: the target is 0. The fast suite runs the same strategy with few examples.
"""

from __future__ import annotations

import argparse
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

TOKEN = "fuzz-api-token"
_BASE = "http://testserver"


def make_client(url: str | None, data_dir: Path) -> Any:
    """A TestClient of the App (no workers, docs on, no rate limit in the way) on SQLite or Postgres."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import load_settings
    from swarm_core.store import open_store, sqlite_url

    store = open_store(url or sqlite_url(data_dir))
    app_settings = load_settings(
        {
            "SWARM_API_TOKEN": TOKEN,
            "SWARM_API_DOCS": "true",
            "SWARM_API_RATE_PER_MINUTE": str(10**9),  # the limiter has its own tests
            "SWARM_DATA_DIR": str(data_dir),
        }
    )
    return TestClient(create_app(app_settings, store=store, workers=0))


def api_cases(client: Any) -> st.SearchStrategy[tuple[Any, bool]]:
    """(schemathesis case, with the token) for every operation the App's OpenAPI description lists."""
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    strategies = [
        op.as_strategy(generation_mode=mode)
        for op in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    return st.tuples(st.one_of(strategies), st.integers(0, 9).map(lambda n: n != 9))


def send(client: Any, case: Any, authed: bool) -> Any:
    """Send one case through the TestClient (the App's lifespan, store and queue stay up between cases)."""
    kwargs = case.as_transport_kwargs(base_url=_BASE)
    headers = dict(kwargs.get("headers") or {})
    if authed:
        headers["Authorization"] = f"Bearer {TOKEN}"
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), str | bytes):
        body["content"] = kwargs["data"]
    elif "data" in kwargs:
        body["data"] = kwargs["data"]
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers=headers,
        cookies=kwargs.get("cookies") or None,
        **body,
    )


def fuzz(url: str | None, cases: int) -> tuple[Counter[int], list[str]]:
    """Send `cases` generated requests; the count of each status code, and the 5xx cases as curl lines."""
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, make_client(url, Path(tmp)) as client:

        @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(api_cases(client))
        def one(drawn: tuple[Any, bool]) -> None:
            case, authed = drawn
            status = send(client, case, authed).status_code
            statuses[status] += 1
            if status >= 500 and len(failures) < 20:
                failures.append(f"{status} {case.as_curl_command()}")

        one()
    return statuses, failures


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
        statuses, failures = fuzz(url, args.cases)
        errors = sum(n for code, n in statuses.items() if code >= 500)
        spread = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
        elapsed = time.perf_counter() - start
        print(f"{name}: {sum(statuses.values())} cases in {elapsed:.0f} s, 5xx: {errors} ({spread})")
        for line in failures:
            print("  " + line)


if __name__ == "__main__":
    main()
