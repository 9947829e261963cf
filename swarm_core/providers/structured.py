"""Structured-output negotiation: the formats a server may accept, in order, and when to step down.

The ladder, best first:

1. ``json_schema``: OpenAI's `response_format`, strict where the provider supports it.
2. ``json_object_schema``: `{"type": "json_object", "schema": ...}`, which llama.cpp's
   servers compile to a grammar. The schema is simplified first (no length limits, no
   patterns, no bounds, references inlined): every limit becomes grammar rules, and
   llama.cpp failed to parse (and died on) the grammar of swarm's full lane schema.
   Pydantic validates the reply afterwards, so nothing is lost.
3. ``json_object``: any JSON object; the schema is in the prompt.
4. ``prompt``: no `response_format` at all; the schema is in the prompt.

A server that refuses a format answers 4xx or 5xx with a message naming it (llama-cpp-python
answers HTTP 500 "Input should be 'text' or 'json_object'"); only such an answer steps
down, never an unrelated error such as a 401, an overload or a 500 about something else.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from swarm_core.errors import ProviderAuthError, ProviderError, ProviderRateLimited

__all__ = [
    "ABOUT_FORMAT",
    "FORMATS",
    "Format",
    "is_format_refusal",
    "response_format",
    "schema_in_prompt",
    "simplify_schema",
]

Format = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
FORMATS: tuple[Format, ...] = ("json_schema", "json_object_schema", "json_object", "prompt")

# Keywords a grammar compiler turns into many rules (or cannot express); pydantic checks them.
_DROPPED = frozenset(
    {
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
        "title",
        "description",
        "default",
        "examples",
    }
)

# What servers say when they refuse a structured-output field: the field's name, or a
# grammar the server could not build from the schema.
ABOUT_FORMAT = re.compile(
    r"response_format|json_schema|json_object|grammar|structured output|guided_json|'schema'",
    re.IGNORECASE,
)


def simplify_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without the keywords that blow up grammars, with every `$ref` inlined.

    Args:
        schema: a JSON schema as pydantic generates it (references under `$defs`).

    Returns:
        A schema accepting at least what `schema` accepts.
    """
    defs = schema.get("$defs") or schema.get("definitions") or {}

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [walk(item, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and depth < 8:  # swarm's schemas are not recursive; the bound is a guard
            target = defs.get(ref.rsplit("/", 1)[-1])
            if isinstance(target, dict):
                return walk(target, depth + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key in ("$defs", "definitions", "$ref"):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: walk(sub, depth) for name, sub in value.items()}
            else:
                out[key] = walk(value, depth)
        return out

    result = walk(schema, 0)
    return result if isinstance(result, dict) else {}


def response_format(fmt: Format, name: str, schema: dict[str, Any], *, strict: bool) -> dict[str, Any] | None:
    """The `response_format` field for one step of the ladder (None: send no field)."""
    if fmt == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}
    if fmt == "json_object_schema":
        return {"type": "json_object", "schema": simplify_schema(schema)}
    if fmt == "json_object":
        return {"type": "json_object"}
    return None


def schema_in_prompt(messages: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """`messages` with the (simplified) schema appended to the last one, for a server that cannot enforce it.

    The model reads the schema; the limits left out are checked afterwards by pydantic and
    would only cost the model attention.
    """
    if not messages:
        return messages
    text = json.dumps(simplify_schema(schema), separators=(",", ":"))
    last = messages[-1]
    content = f"{last['content']}\n\nAnswer with one JSON object matching this JSON schema:\n{text}"
    return [*messages[:-1], {**last, "content": content}]


def is_format_refusal(exc: ProviderError, about: re.Pattern[str] = ABOUT_FORMAT) -> bool:
    """True when the error says the server refused the structured-output field it was sent.

    Auth errors and overloads never are, whatever their text; other 4xx and 5xx answers are
    when their message matches `about` (by default: names the field or a grammar).
    """
    if isinstance(exc, (ProviderAuthError, ProviderRateLimited)) or exc.status is None:
        return False
    return 400 <= exc.status < 600 and bool(about.search(str(exc)))
