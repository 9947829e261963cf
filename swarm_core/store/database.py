"""Opening a database: URLs as operators write them, SQLite pragmas, migrations, errors naming the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import StoreError
from swarm_core.store.migrate import migrate

__all__ = ["first_line", "normalize_url", "open_engine", "safe_url", "sqlite_url"]


def sqlite_url(data_dir: Path) -> str:
    """The SQLite URL of the store file inside a data directory."""
    return f"sqlite:///{data_dir / 'swarm.db'}"


def normalize_url(url: str) -> str:
    """Plain `postgresql://` URLs (what operators write) use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_engine(url: str) -> Engine:
    """An engine at a SQLAlchemy URL with the schema migrated to the head (created if needed).

    Raises:
        StoreError: the database cannot be opened or migrated, or its driver is not installed.
    """
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the run store at {safe_url(url)}: {first_line(exc)}") from exc
    except ImportError as exc:  # the URL's database driver is not installed
        hint = " (pip install 'swarm-review[postgres]')" if url.startswith("postgresql") else ""
        raise StoreError(
            f"cannot open the run store at {safe_url(url)}: its driver is not installed: {exc.name}{hint}"
        ) from exc
    return engine


def safe_url(url: str) -> str:
    """A URL with any password removed, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(invalid database URL)"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (database errors run to many lines)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
