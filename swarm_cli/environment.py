"""What the CLI takes from its environment: data directory, run store, provider keys, model table, memory.

The engine never reads the environment: the CLI reads it here (and GITHUB_TOKEN in
`github.py`, OpenCode's variables in `agents.py`) and passes plain values. Engine
modules are imported inside each function so that importing this module stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from swarm_cli.options import CONFIG_PATH
from swarm_core.errors import ConfigError

if TYPE_CHECKING:
    from swarm_core.config import SwarmConfig
    from swarm_core.memory import MemoryBackend
    from swarm_core.providers import ProviderPool
    from swarm_core.router import ModelTable
    from swarm_core.store import SqlRunStore


def data_dir() -> Path:
    """SWARM_DATA_DIR, or the platform's user data directory for swarm."""
    env = os.environ.get("SWARM_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("swarm", appauthor=False))


def open_run_store() -> SqlRunStore:
    """The SQLite run store under the data directory."""
    from swarm_core.store import open_store, sqlite_url

    return open_store(sqlite_url(data_dir()))


def default_model(model: str | None) -> str | None:
    """--model, else SWARM_MODEL, else none."""
    return model or os.environ.get("SWARM_MODEL") or None


def provider_env() -> dict[str, str]:
    """The environment, with provider keys from SWARM_SECRETS_FILE filled in where unset.

    Raises:
        ConfigError: the secrets file cannot be read.
    """
    env = dict(os.environ)
    path = env.get("SWARM_SECRETS_FILE")
    if not path:
        return env
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SWARM_SECRETS_FILE {path}: cannot read: {exc.strerror or exc}") from None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"SWARM_SECRETS_FILE {path}:{n}: expected KEY=VALUE")
        env.setdefault(key.strip(), value.strip().strip("'\""))
    return env


def provider_pool() -> ProviderPool:
    """The providers whose keys the environment (and SWARM_SECRETS_FILE) holds."""
    from swarm_core.providers import ProviderPool, endpoints_from_env

    return ProviderPool(endpoints_from_env(provider_env()))


def model_table() -> ModelTable:
    """The built-in model table, or the operator's from SWARM_MODELS_FILE."""
    from swarm_core.router import load_table

    path = os.environ.get("SWARM_MODELS_FILE")
    if not path:
        return load_table()
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SWARM_MODELS_FILE {path}: cannot read: {exc.strerror or exc}") from None
    return load_table(text, path)


def memory(store: SqlRunStore | None) -> MemoryBackend:
    """Swarm memory: Redis at SWARM_REDIS_URL, else the run store's database, else its own."""
    from swarm_core.memory import SqlMemory, memory_engine, open_memory

    redis_url = os.environ.get("SWARM_REDIS_URL")
    if redis_url:
        return open_memory(redis_url, None)
    if store is not None:
        return SqlMemory(store.engine)
    return SqlMemory(memory_engine())


def find_config(config_path: Path | None, repo: Path | None = None) -> SwarmConfig:
    """--config, else REPO/.github/swarm.yml when there is one, else the defaults."""
    from swarm_core.config import SwarmConfig, load_config

    if config_path is not None:
        return load_config(config_path)
    if repo is not None:
        default = repo / CONFIG_PATH
        if default.is_file():
            return load_config(default)
    return SwarmConfig()
