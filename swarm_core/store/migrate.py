"""Bring a database to the newest schema with the alembic migrations shipped in the package."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from swarm_core.errors import StoreError

__all__ = ["head", "migrate"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant: serialises concurrent migrations of one Postgres database.
_PG_LOCK = 0x5377_6172_6D00


def _current(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


@cache
def head(migrations: Path = _MIGRATIONS) -> str:
    """The newest revision of the migrations, as alembic's script directory reads it.

    Read once per process: importing alembic costs about as much as a third of SQLAlchemy's
    own import, paid by the first store a process opens.

    Args:
        migrations: the alembic script folder; the one shipped in the package by default.

    Raises:
        StoreError: the folder holds no migration (a broken install).
    """
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory(str(migrations)).get_current_head()
    if revision is None:
        raise StoreError(f"no migrations found in {migrations}: reinstall swarm")
    return revision


def migrate(engine: Engine) -> None:
    """Upgrade to the head revision; a database already there costs one query.

    Several processes starting at once on one Postgres take turns (advisory lock).
    """
    if _current(engine) == head():
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
