"""What the CLI takes from its environment: data directory, stores, provider keys, model table, memory.

The engine never reads the environment: the CLI reads it here (and GITHUB_TOKEN in
`github.py`, OpenCode's variables in `agents.py`) and passes plain values; `engine` hands
them to `swarm_core.build_engine`, the builder the App and the Action use too. Engine
modules are imported inside each function so that importing this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from swarm_cli.options import CONFIG_PATH, LOG_FORMATS
from swarm_cli.output import err
from swarm_core import ConfigError, StoreError

if TYPE_CHECKING:
    from swarm_core import Engine, MemoryBackend, ModelTable, SwarmConfig
    from swarm_core.store import SqlAdvisoryCache, SqlRunStore


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


def store_run(save: Callable[[SqlRunStore], str]) -> str | None:
    """Store a run with `save` in the run store; its id, or None (with a warning) when it cannot be stored.

    A run that cannot be stored is still printed: the work is not lost for a full disk.
    """
    try:
        store = open_run_store()
        try:
            return save(store)
        finally:
            store.close()
    except StoreError as exc:
        err(f"warning: run not stored: {exc}")
        return None


def store_document(
    kind: str, source: str, status: str, started: float, data: Mapping[str, Any]
) -> str | None:
    """Store a council's or an issue analysis's run (`data` holds its document and evidence rows).

    `started` is the run's `time.perf_counter()` start; `data["exchanges"]` its model calls.
    """
    import time

    document = {k: v for k, v in data.items() if k != "exchanges"}
    duration = time.perf_counter() - started
    return store_run(
        lambda store: store.save_document(
            kind,
            source=source,
            status=status,
            duration_s=duration,
            document=document,
            exchanges=data.get("exchanges", ()),
            counts={},
        )
    )


def open_app_database() -> SqlRunStore:
    """The App's database, where its job queue lives: SWARM_DATABASE_URL, else the run store's SQLite file.

    `swarm serve` without SWARM_DATABASE_URL keeps its queue in the same file under
    SWARM_DATA_DIR that `open_run_store` opens.
    """
    from swarm_core.store import open_store

    url = os.environ.get("SWARM_DATABASE_URL")
    return open_store(url) if url else open_run_store()


def log_format() -> str:
    """--log-format (or SWARM_LOG_FORMAT) of the running command; text outside one."""
    ctx = click.get_current_context(silent=True)
    value = ctx.find_root().params.get("log_format") if ctx is not None else None
    return value if value in LOG_FORMATS else "text"


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


def engine(
    model: str | None, *, memory: MemoryBackend | None = None, advisory_cache: SqlAdvisoryCache | None = None
) -> Engine:
    """The engine (review, council, issue spec, provider pools) over what the environment holds.

    Provider keys come from the environment and SWARM_SECRETS_FILE, the default model from
    --model or SWARM_MODEL, the model table from SWARM_MODELS_FILE. Logging is set up again
    with the keys, so its one redaction filter hides them from every record.

    Args:
        model: --model, or None.
        memory: swarm memory for a review's lanes (`memory`), or None.
        advisory_cache: OSV's answers kept between reviews (`advisory_cache`), or None.
    """
    from swarm_core import ProviderKeys, build_engine, configure_logging

    keys = ProviderKeys.from_mapping(provider_env())
    configure_logging(log_format(), secrets=keys.secrets())
    return build_engine(
        keys, model=default_model(model), memory=memory, table=model_table(), advisory_cache=advisory_cache
    )


def model_table() -> ModelTable:
    """The built-in model table, or the operator's from SWARM_MODELS_FILE."""
    from swarm_core import load_table

    path = os.environ.get("SWARM_MODELS_FILE")
    if not path:
        return load_table()
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SWARM_MODELS_FILE {path}: cannot read: {exc.strerror or exc}") from None
    return load_table(text, path)


def advisory_cache(store: SqlRunStore | None) -> SqlAdvisoryCache | None:
    """OSV's answers kept in the run store's database (None without a store: asked every run)."""
    if store is None:
        return None  # and SQLAlchemy is not imported: --no-store starts faster
    from swarm_core.store import SqlAdvisoryCache

    return SqlAdvisoryCache(store.engine)


def memory(store: SqlRunStore | None) -> MemoryBackend:
    """Swarm memory: Redis at SWARM_REDIS_URL, else the run store's database, else its own."""
    from swarm_core import SqlMemory, memory_engine, open_memory

    redis_url = os.environ.get("SWARM_REDIS_URL")
    if redis_url:
        return open_memory(redis_url, None)
    if store is not None:
        return SqlMemory(store.engine)
    return SqlMemory(memory_engine())


def find_config(config_path: Path | None, repo: Path | None = None) -> SwarmConfig:
    """--config, else REPO/.github/swarm.yml when there is one, else the defaults."""
    from swarm_core import SwarmConfig, load_config

    if config_path is not None:
        return load_config(config_path)
    if repo is not None:
        default = repo / CONFIG_PATH
        if default.is_file():
            return load_config(default)
    return SwarmConfig()
