"""LLM providers over httpx: where each lives (from an environment the face passes in), and adapters.

Model names are `provider/model`: `openai/gpt-4.1-mini`, `anthropic/claude-sonnet-4-5`,
`ollama/qwen2.5-coder:14b`, `openrouter/deepseek/deepseek-r1` (the provider is the part
before the first slash). `ollama/` reaches Ollama through its OpenAI-compatible endpoint,
`ollama-native/` through its own API (`ollama.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from swarm_core.errors import ConfigError, ModelSelectionError, ProviderAuthError
from swarm_core.providers.anthropic import AnthropicProvider
from swarm_core.providers.base import Completion, CompletionRequest, Endpoint, Message, Provider, summarize
from swarm_core.providers.ollama import OllamaProvider
from swarm_core.providers.openai import OpenAIProvider
from swarm_core.providers.slots import Deadline, Slots
from swarm_core.providers.structured import Format
from swarm_core.providers.window import ServedModel, learn

__all__ = [
    "KNOWN_PROVIDERS",
    "LOCAL_CONCURRENCY",
    "LOCAL_MAX_OUTPUT_TOKENS",
    "LOCAL_TIMEOUT_S",
    "OLLAMA_KEEP_ALIVE",
    "AnthropicProvider",
    "Completion",
    "CompletionRequest",
    "Deadline",
    "Endpoint",
    "Format",
    "Message",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderPool",
    "ServedModel",
    "Slots",
    "endpoints_from_env",
    "env_names",
    "learn",
    "split_model",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class _Known:
    kind: str
    base_url: str
    key_env: str
    base_env: str
    structured: bool = True
    first_format: Format = "json_schema"
    strict: bool = False
    local: bool = False


# A local server runs one model on this machine, usually with one slot: requests queue
# behind each other, and a small model writes a few dozen tokens a second on a CPU. These
# defaults keep one call within minutes; `<PROVIDER>_CONCURRENCY`, `<PROVIDER>_MAX_TOKENS`
# and `<PROVIDER>_TIMEOUT` change them (documented in the README's "Local models").
LOCAL_CONCURRENCY = 1
LOCAL_MAX_OUTPUT_TOKENS = 1024
LOCAL_TIMEOUT_S = 180.0
# Ollama's native API: how long the server keeps the model loaded after a call (its own
# default is 5 minutes). Half an hour spans a review and the next one of a working session
# (a reload costs seconds to minutes on a small machine); OLLAMA_NATIVE_KEEP_ALIVE=0
# unloads it after every call on a machine short of memory.
OLLAMA_KEEP_ALIVE = "30m"


# Each provider: its API shape, default base URL, and the environment names users expect.
KNOWN_PROVIDERS: dict[str, _Known] = {
    "openai": _Known("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": _Known("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "openrouter": _Known(
        "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL"
    ),
    "deepseek": _Known(
        "openai",
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
        "DEEPSEEK_BASE_URL",
        first_format="json_object",
    ),
    "groq": _Known("openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL"),
    "together": _Known("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL"),
    "gemini": _Known(
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",
        "GEMINI_BASE_URL",
    ),
    # Local servers. llama.cpp's own llama-server listens on 8080 and takes json_schema;
    # llama-cpp-python's server (8000) refuses it with HTTP 500 and takes json_object with a
    # schema, which negotiation finds on the first call.
    "ollama": _Known("openai", "http://localhost:11434/v1", "", "OLLAMA_BASE_URL", local=True),
    "vllm": _Known("openai", "http://localhost:8000/v1", "", "VLLM_BASE_URL", local=True),
    "llamacpp": _Known("openai", "http://localhost:8080/v1", "", "LLAMACPP_BASE_URL", local=True),
    "lmstudio": _Known("openai", "http://localhost:1234/v1", "", "LMSTUDIO_BASE_URL", local=True),
    # Ollama's own API: a JSON schema in `format`, replies streamed as JSON lines.
    "ollama-native": _Known("ollama", "http://localhost:11434", "", "OLLAMA_NATIVE_BASE_URL", local=True),
}
_OLLAMA = ("ollama", "ollama-native")  # both honour OLLAMA_HOST


def _prefix(provider: str) -> str:
    """The prefix of a provider's settings in the environment: `ollama-native` → `OLLAMA_NATIVE`."""
    return provider.upper().replace("-", "_")


def env_names() -> frozenset[str]:
    """Every environment name `endpoints_from_env` reads: keys, base URLs and local servers' settings."""
    names = {"OLLAMA_HOST"}
    for name, known in KNOWN_PROVIDERS.items():
        names.update(n for n in (known.key_env, known.base_env) if n)
        if known.local:
            names.update(f"{_prefix(name)}_{s}" for s in ("CONCURRENCY", "MAX_TOKENS", "TIMEOUT"))
    names.add("OLLAMA_NATIVE_KEEP_ALIVE")
    return frozenset(names)


def split_model(name: str) -> tuple[str, str]:
    """`provider/model` → (provider, model).

    Raises:
        ModelSelectionError: no provider prefix, or an unknown provider.
    """
    provider, sep, model = name.strip().partition("/")
    if not sep or not provider or not model:
        raise ModelSelectionError(
            f"model {name!r} must be written provider/model, for example openai/gpt-4.1-mini"
        )
    if provider not in KNOWN_PROVIDERS:
        known = ", ".join(sorted(KNOWN_PROVIDERS))
        raise ModelSelectionError(f"model {name!r}: unknown provider {provider!r}; known: {known}")
    return provider, model


def endpoints_from_env(env: Mapping[str, str]) -> dict[str, Endpoint]:
    """Every known provider's endpoint, with base URLs and keys from `env` (the face passes os.environ).

    Ollama also honours its own OLLAMA_HOST (host:port). A local server's concurrency,
    output tokens and call timeout come from `<PROVIDER>_CONCURRENCY`, `<PROVIDER>_MAX_TOKENS`
    and `<PROVIDER>_TIMEOUT` (seconds), else the LOCAL_* defaults.

    Raises:
        ConfigError: one of those settings is not a positive number.
    """
    out: dict[str, Endpoint] = {}
    for name, known in KNOWN_PROVIDERS.items():
        base = env.get(known.base_env) or known.base_url
        from_host = name in _OLLAMA and not env.get(known.base_env) and bool(env.get("OLLAMA_HOST"))
        if from_host:
            host = env["OLLAMA_HOST"]
            base = (host if "://" in host else f"http://{host}").rstrip("/")
            base += "/v1" if known.kind == "openai" else ""
        key = env.get(known.key_env) if known.key_env else None
        out[name] = Endpoint(
            name=name,
            kind=known.kind,
            base_url=base,
            api_key=SecretStr(key) if key else None,
            structured=known.structured,
            key_env=known.key_env,
            configured=bool(env.get(known.base_env)) or from_host,
            first_format=known.first_format,
            strict=known.strict,
            local=known.local,
            **(_local_settings(name, env) if known.local else {}),
        )
    return out


def _local_settings(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    prefix = _prefix(name)
    settings: dict[str, Any] = {
        "concurrency": int(_positive(env, f"{prefix}_CONCURRENCY", LOCAL_CONCURRENCY)),
        "max_output_tokens": int(_positive(env, f"{prefix}_MAX_TOKENS", LOCAL_MAX_OUTPUT_TOKENS)),
        "timeout_s": _positive(env, f"{prefix}_TIMEOUT", LOCAL_TIMEOUT_S),
    }
    if KNOWN_PROVIDERS[name].kind == "ollama":
        settings["keep_alive"] = _keep_alive(env.get(f"{prefix}_KEEP_ALIVE") or OLLAMA_KEEP_ALIVE)
    return settings


_DURATION = re.compile(r"-?\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)?")


def _keep_alive(raw: str) -> str | int:
    """Ollama's keep_alive: a Go duration ("30m", "1h", "-1" for ever) or seconds ("0" unloads at once)."""
    value = raw.strip()
    if not _DURATION.fullmatch(value):
        raise ConfigError(f"OLLAMA_NATIVE_KEEP_ALIVE={raw!r} is not a duration such as 30m, 1h, 0 or -1")
    return int(value) if value.lstrip("-").isdigit() else value


def _positive(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{key}={raw!r} must be above 0")
    return value


_ADAPTERS: dict[str, Callable[[Endpoint, Callable[[], httpx.AsyncClient]], Provider]] = {
    "anthropic": AnthropicProvider,
    "ollama": OllamaProvider,
}


class ProviderPool:
    """One adapter per provider over one shared httpx client. The constructor does no I/O.

    Args:
        endpoints: from `endpoints_from_env`, or built by hand (tests point them at fakes).
        transport: an httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
    ) -> None:
        self.endpoints = dict(endpoints)
        self._transport = transport
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = None
        self._adapters: dict[str, Provider] = {}
        self._served: dict[str, ServedModel] = {}

    def available(self, provider: str) -> bool:
        """True when the operator set the provider up (see Endpoint.usable): the router's candidates."""
        ep = self.endpoints.get(provider)
        return ep is not None and ep.usable

    def secrets(self) -> frozenset[str]:
        """Every configured key, so evidence and logs can be redacted."""
        # A key shorter than 8 characters is not a real credential (and redacting it would
        # mangle ordinary text), so only longer ones are kept.
        keys = (ep.api_key.get_secret_value() for ep in self.endpoints.values() if ep.api_key is not None)
        return frozenset(k for k in keys if len(k) >= 8)

    def get(self, model: str) -> tuple[Provider, str]:
        """The adapter for a `provider/model` name and the model id to send.

        Raises:
            ModelSelectionError: the name is malformed or the provider unknown.
            ProviderAuthError: the provider needs a key and none is set.
        """
        provider, model_id = split_model(model)
        ep = self.endpoints.get(provider)
        if ep is None:
            raise ModelSelectionError(f"model {model!r}: provider {provider!r} is not configured")
        if not ep.has_key:
            raise ProviderAuthError(f"model {model!r} needs {ep.key_env}; set it in the environment")
        adapter = self._adapters.get(provider)
        if adapter is None:
            adapter = _ADAPTERS.get(ep.kind, OpenAIProvider)(ep, self._http)
            self._adapters[provider] = adapter
        return adapter, model_id

    async def served(self, model: str, sample: str) -> ServedModel | None:
        """What a local server says of `model` (its window, its tokenizer on `sample`); None for hosted ones.

        Asked once per model and pool; hosted providers are never probed (the model table
        knows their windows, and their tokenizers are not served).
        """
        provider, model_id = split_model(model)
        ep = self.endpoints.get(provider)
        if ep is None or not ep.local:
            return None
        if model not in self._served:
            self._served[model] = await learn(self._http(), ep, model_id, sample)
        return self._served[model]

    def _http(self) -> httpx.AsyncClient:
        """The shared client, created in the running event loop on first use."""
        if self._client is None:
            limits = httpx.Limits(max_connections=self._max_connections)
            self._client = httpx.AsyncClient(transport=self._transport, limits=limits)
        return self._client

    async def aclose(self) -> None:
        """Close the shared HTTP client (a later call opens a new one; adapters keep what they learnt)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
