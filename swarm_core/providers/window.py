"""What a server says about a model's context window, and how many tokens a text is to its tokenizer.

The model table knows hosted models; a local server's model is whatever file it loaded,
with whatever window it was started with. Each server says so in its own place:

- llama.cpp's `llama-server`: `GET /props` → `default_generation_settings.n_ctx`;
  its tokenizer at `POST /tokenize {"content": ...}`.
- llama-cpp-python's server: no window anywhere; its tokenizer at
  `POST /extras/tokenize/count {"input": ...}` → `{"count": n}`.
- vLLM: `GET /v1/models` → `data[].max_model_len`; `POST /tokenize {"model", "prompt"}`.
- LM Studio: `GET /api/v0/models/{id}` → `loaded_context_length` or `max_context_length`.
- Ollama: `POST /api/show {"model": ...}` → the `num_ctx` parameter when the model sets one,
  else Ollama's default window (4,096), never more than the model's trained length.

Every probe is best effort: a server without the route answers 404 and the next is tried.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import httpx

from swarm_core.providers.base import Endpoint

__all__ = ["ESTIMATE_CHARS_PER_TOKEN", "ServedModel", "count_tokens", "learn", "probe_window"]

# Without the server's tokenizer, a conservative estimate. SmolLM2's tokenizer reads swarm's
# Python at 4.0 characters a token and its README at 3.3, but a diff dense in symbols and
# numbers went as low as 2.2 (25,000 characters, 11,600 tokens): chunks sized at 4 overflowed.
ESTIMATE_CHARS_PER_TOKEN = 2.0
# Ollama's window when the model sets no num_ctx (its documented default since 0.6).
_OLLAMA_DEFAULT_CTX = 4096
_PROBE_TIMEOUT_S = 10.0
_NUM_CTX = re.compile(r"^num_ctx\s+(\d+)", re.MULTILINE)


def _root(endpoint: Endpoint) -> str:
    """The server's root: the base URL without its OpenAI `/v1`."""
    base = endpoint.base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


async def _json(client: httpx.AsyncClient, method: str, url: str, body: Any = None) -> Any:
    try:
        response = await client.request(method, url, json=body, timeout=_PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def probe_window(client: httpx.AsyncClient, endpoint: Endpoint, model: str) -> int | None:
    """The context window (tokens) the server serves `model` with, or None when it does not say."""
    root = _root(endpoint)
    if endpoint.name in ("ollama", "ollama-native"):
        shown = await _json(client, "POST", f"{root}/api/show", {"model": model})
        if isinstance(shown, dict):
            raw = shown.get("model_info")
            info: dict[str, Any] = raw if isinstance(raw, dict) else {}
            trained = next(
                (_positive(v) for k, v in info.items() if k.endswith(".context_length") and _positive(v)),
                None,
            )
            params = shown.get("parameters")
            match = _NUM_CTX.search(params) if isinstance(params, str) else None
            window = int(match.group(1)) if match else _OLLAMA_DEFAULT_CTX
            return min(window, trained) if trained else window
    props = await _json(client, "GET", f"{root}/props")
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        n_ctx = _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
        if n_ctx := n_ctx or _positive(props.get("n_ctx")):
            return n_ctx
    listed = await _json(client, "GET", f"{endpoint.base_url.rstrip('/')}/models")
    if isinstance(listed, dict) and isinstance(listed.get("data"), list):
        for item in listed["data"]:
            if isinstance(item, dict) and item.get("id") == model and _positive(item.get("max_model_len")):
                return _positive(item.get("max_model_len"))
    lmstudio = await _json(client, "GET", f"{root}/api/v0/models/{model}")
    if isinstance(lmstudio, dict):
        return _positive(lmstudio.get("loaded_context_length")) or _positive(
            lmstudio.get("max_context_length")
        )
    return None


async def count_tokens(client: httpx.AsyncClient, endpoint: Endpoint, model: str, text: str) -> int | None:
    """`text`'s length in the server's own tokens, or None when the server has no tokenizer route."""
    root = _root(endpoint)
    answer = await _json(client, "POST", f"{root}/extras/tokenize/count", {"input": text})
    if isinstance(answer, dict) and isinstance(answer.get("count"), int):
        return int(answer["count"])
    answer = await _json(
        client, "POST", f"{root}/tokenize", {"content": text, "model": model, "prompt": text}
    )
    if isinstance(answer, dict):
        if isinstance(answer.get("count"), int):
            return int(answer["count"])
        if isinstance(answer.get("tokens"), list):
            return len(answer["tokens"])
    return None


@dataclass(frozen=True, slots=True)
class ServedModel:
    """What a server said about the model it serves.

    `window` is its context window in tokens (None: it did not say); `chars_per_token`
    how many characters of swarm's text make one of its tokens, measured with its
    tokenizer (`measured`) or the conservative estimate.
    """

    window: int | None
    chars_per_token: float
    measured: bool

    def estimate(self, text: str) -> int:
        """`text`'s tokens for this model, rounded up."""
        return math.ceil(len(text) / self.chars_per_token)


async def learn(client: httpx.AsyncClient, endpoint: Endpoint, model: str, sample: str) -> ServedModel:
    """Ask the server for `model`'s window, and measure `sample` with its tokenizer."""
    window = await probe_window(client, endpoint, model)
    counted = await count_tokens(client, endpoint, model, sample) if sample else None
    if counted:
        # Never more generous than 4 characters a token: a sample of whitespace must not
        # make the estimate for the whole diff optimistic.
        return ServedModel(window, min(4.0, len(sample) / counted), True)
    return ServedModel(window, ESTIMATE_CHARS_PER_TOKEN, False)
