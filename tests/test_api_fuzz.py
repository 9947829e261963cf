"""schemathesis over the API's own OpenAPI description: no generated request gets a 5xx.

A bounded number of examples per database here; `python bench/fuzz_api.py` runs 10,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_api import api_cases, make_client, send
from tests.helpers import database_params, reset_database


@pytest.fixture(scope="module", params=database_params())
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    url = None if request.param == "sqlite" else request.param
    if url is not None:
        reset_database(url)
    with make_client(url, Path(tmp_path_factory.mktemp("fuzz-api"))) as c:
        yield c


@pytest.fixture(scope="module")
def cases(client: Any) -> st.SearchStrategy[tuple[Any, bool]]:
    return api_cases(client)


def test_the_description_lists_every_api_route(client: Any) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/runs", "/api/runs/{run_id}", "/api/reviews", "/api/memory/{key}", "/api/execute"} <= paths


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_generated_request_is_answered_with_a_5xx(
    client: Any, cases: st.SearchStrategy[tuple[Any, bool]], data: st.DataObject
) -> None:
    case, authed = data.draw(cases)
    r = send(client, case, authed)
    assert r.status_code < 500, (r.status_code, r.text[:300], case.as_curl_command())
    if not authed and case.path.startswith("/api/"):
        assert r.status_code == 401
    assert "sqlalchemy" not in r.text.lower() and "psycopg" not in r.text.lower()
