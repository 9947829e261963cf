"""The fixtures are self-contained: the OpenAPI subset matches the fake GitHub, every copy has its origin."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from typing import Any

import pytest

from tests.conftest import FIXTURES, GITHUB_OPENAPI
from tests.fakes.github import ROUTES, FakeGitHub
from tests.fakes.openapi import find_operation
from tests.fixtures.make_openapi_subset import refs, subset

REGENERATE = "regenerate it: python -m tests.fixtures.make_openapi_subset --source .../api.github.com.json"
_METHODS = ("get", "post", "put", "patch", "delete")


def _subset() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(GITHUB_OPENAPI.read_text(encoding="utf-8"))
    return spec


def test_the_openapi_subset_holds_exactly_the_routes_the_fake_serves() -> None:
    spec = _subset()
    served = {(m.upper(), t) for t, item in spec["paths"].items() for m in item if m in _METHODS}
    assert set(ROUTES) - served == set(), f"the fake serves routes the subset lacks; {REGENERATE}"
    assert served - set(ROUTES) == set(), f"the subset keeps routes the fake no longer serves; {REGENERATE}"


def test_every_endpoint_method_of_the_fake_is_in_its_route_table() -> None:
    # A handler written without @_route would never be reached, and the subset would miss it.
    endpoints = {
        name
        for name, _ in inspect.getmembers(FakeGitHub, inspect.isfunction)
        if re.fullmatch(rf"_\w+_(?:{'|'.join(_METHODS)})", name)
    }
    assert endpoints == {handler.__name__ for handler in ROUTES.values()}


@pytest.mark.parametrize(("method", "template"), sorted(ROUTES), ids=lambda v: str(v))
def test_each_route_resolves_to_its_own_operation(method: str, template: str) -> None:
    path = re.sub(r"\{[^}]+\}", "x1", template.replace("{path}", "src/app/main.py"))
    assert find_operation(method, path) == template
    if "{path}" not in template:  # a file path may hold slashes, so only it takes more segments
        assert find_operation(method, path + "/not-a-route") is None


def test_the_subset_is_exactly_the_ref_closure_of_its_operations() -> None:
    spec = _subset()
    for ref in refs(spec):
        kind, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in spec["components"][kind], ref
    # Cutting the subset again from itself changes nothing: no component is unreachable.
    regenerated = subset(spec, set(ROUTES))
    assert regenerated == {k: v for k, v in spec.items() if k != "x-swarm-subset"}
    assert len(GITHUB_OPENAPI.read_bytes()) < 1_500_000


def _readme_rows() -> dict[str, str]:
    """README table: file -> its last cell (the git blob hash, or a word for generated files)."""
    rows = {}
    for line in (FIXTURES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells[-1].strip("`")
    return rows


def test_every_fixture_file_has_a_readme_row_and_is_an_unmodified_copy() -> None:
    rows = _readme_rows()
    files = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name != "README.md" and "__pycache__" not in p.parts
    }
    assert files == set(rows)
    copies = {name: blob for name, blob in rows.items() if re.fullmatch(r"[0-9a-f]{40}", blob)}
    assert len(copies) == len(files) - 2  # all but the generated subset and its script
    for name, blob in copies.items():
        data = (FIXTURES / name).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, name  # git's blob id
