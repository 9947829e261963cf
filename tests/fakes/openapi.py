"""Validate request bodies, and the fake's answers, against GitHub's REST OpenAPI description (tests/fixtures).

The description is OpenAPI 3.0: `nullable: true` is rewritten to a JSON-schema null type,
and `$ref`s resolve inside the document.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.conftest import GITHUB_OPENAPI

__all__ = ["find_operation", "validate_body", "validate_response"]

_URN = "urn:github-openapi"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if out.pop("nullable", False) and "type" in out:
            t = out["type"]
            out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _spec() -> dict[str, Any]:
    return _nullable(json.loads(GITHUB_OPENAPI.read_text(encoding="utf-8")))


@cache
def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for template, ops in _spec()["paths"].items():
        escaped = re.escape(template).replace(r"\{path\}", ".+")  # a file path may hold slashes
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", escaped) + "$")
        for method in ops:
            if method in ("get", "post", "patch", "put", "delete"):
                out.append((method.upper(), pattern, template))
    # Literal segments win over parameters (/pulls/comments before /pulls/{n}).
    out.sort(key=lambda r: r[2].count("{"))
    return out


def find_operation(method: str, path: str) -> str | None:
    """The OpenAPI path template a request matches, or None (GitHub would answer 404)."""
    for m, pattern, template in _routes():
        if m == method and pattern.match(path):
            return template
    return None


@cache
def _registry() -> Registry:
    return Registry().with_resource(_URN, Resource.from_contents(_spec(), default_specification=DRAFT4))


def validate_body(method: str, template: str, body: Any) -> list[str]:
    """Problems with a request body against the operation's schema; [] when valid."""
    op = _spec()["paths"][template][method.lower()]
    request = op.get("requestBody")
    if request is None:
        return [] if body in (None, b"", "") else ["this operation takes no body"]
    if body is None:
        return ["a body is required"] if request.get("required") else []
    return _problems(_pointer(template, method, "requestBody"), body, "(body)")


def validate_response(method: str, template: str, status: int, payload: Any) -> list[str]:
    """Problems with a JSON answer against the operation's response schema for that status; [] when valid."""
    content = _spec()["paths"][template][method.lower()]["responses"].get(str(status), {}).get("content", {})
    if "application/json" not in content:
        return [f"GitHub documents no JSON answer with status {status}"]
    return _problems(_pointer(template, method, f"responses/{status}"), payload, "(answer)")


def _pointer(template: str, method: str, where: str) -> str:
    escaped = template.replace("~", "~0").replace("/", "~1")
    return f"{_URN}#/paths/{escaped}/{method.lower()}/{where}/content/application~1json/schema"


def _problems(pointer: str, data: Any, whole: str) -> list[str]:
    validator = jsonschema.Draft4Validator({"$ref": pointer}, registry=_registry())
    return sorted(
        f"{'/'.join(str(p) for p in e.absolute_path) or whole}: {e.message}"
        for e in validator.iter_errors(data)
    )
