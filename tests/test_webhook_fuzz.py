"""Hypothesis fuzzing of the webhook: odd types in every field the App reads never give a 5xx.

A bounded number of examples per database here; `python bench/fuzz_webhook.py` runs 10,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bench.fuzz_webhook import deliveries, make_client, raw
from tests.helpers import database_params, reset_database


@pytest.fixture(scope="module", params=database_params())
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    url = None if request.param == "sqlite" else request.param
    if url is not None:
        reset_database(url)
    with make_client(url, Path(tmp_path_factory.mktemp("fuzz"))) as c:
        yield c


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_no_delivery_is_answered_with_a_5xx(client: Any, case: tuple[dict[str, str], bytes]) -> None:
    headers, body = case
    r = client.post("/github/webhook", content=body, headers=raw(headers))
    assert r.status_code < 500, (r.status_code, r.text, headers, body[:300])
    assert r.status_code in (200, 202, 400, 401), r.status_code
