"""The run store on SQLite (and on Postgres when SWARM_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from swarm_core.errors import RunNotFound, StoreError
from swarm_core.models import Exchange, Finding, Lane, Review, Severity, Usage, Verdict
from swarm_core.render import review_to_dict
from swarm_core.store import open_store, sqlite_url
from tests.helpers import database_params, reset_database

REVIEW = Review(
    source="repo main..HEAD",
    base="a" * 40,
    head="b" * 40,
    verdict=Verdict.REQUEST_CHANGES,
    findings=(
        Finding(
            "x.py", 3, Severity.HIGH, Lane.SECURITY, "sast", "bandit/B602", "shell", fingerprint="f" * 20
        ),
    ),
    analyzers=(),
    lanes=(),
    files_reviewed=1,
    additions=3,
    deletions=1,
    timings={"total_s": 0.5},
)


@pytest.fixture(params=database_params())
def store(request, tmp_path):
    url = sqlite_url(tmp_path / "data") if request.param == "sqlite" else request.param
    if url.startswith("postgres"):
        reset_database(url)  # a clean slate for this test's assertions
    s = open_store(url)
    yield s
    s.close()


def test_save_list_show(store):
    run_id = store.save_review(REVIEW)
    second = store.save_review(REVIEW, kind="pr-review")
    listed = store.list_runs(limit=10)
    assert [r.id for r in listed][:2] == [second, run_id]
    assert listed[1].counts == {"critical": 0, "high": 1, "medium": 0, "low": 0}
    stored = store.get_run(run_id[:6])
    assert stored.review.run_id == run_id
    assert review_to_dict(stored.review) == review_to_dict(REVIEW.with_run_id(run_id))


def test_unknown_and_ambiguous_ids(store):
    with pytest.raises(RunNotFound, match="no run 'zzz'"):
        store.get_run("zzz")
    with pytest.raises(RunNotFound, match="no run id"):
        store.get_run(" ")
    for _ in range(20):
        store.save_review(REVIEW)
    ids = [r.id for r in store.list_runs(100)]
    prefix = next(a[:1] for a in ids if sum(b.startswith(a[:1]) for b in ids) > 1)
    with pytest.raises(RunNotFound, match="ambiguous"):
        store.get_run(prefix)


def test_unopenable_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the run store"):
        open_store(sqlite_url(blocker / "sub"))


def test_a_missing_database_driver_is_a_clear_error() -> None:
    # mysql:// defaults to the mysqlclient driver, which swarm does not install.
    with pytest.raises(StoreError, match="its driver is not installed: MySQLdb") as caught:
        open_store("mysql://swarm:s3cret@db.example/swarm")
    assert "s3cret" not in str(caught.value)  # the password never reaches a message


def test_migrations_adopt_a_database_made_without_them(tmp_path):
    """A swarm 0.1 database (tables from create_all, no alembic stamp) is upgraded in place."""
    from swarm_core.store.migrate import head
    from swarm_core.store.schema import findings, runs

    url = sqlite_url(tmp_path / "old")
    (tmp_path / "old").mkdir()
    engine = sa.create_engine(url)
    sa.MetaData().create_all(engine)
    runs.create(engine)
    findings.create(engine)
    engine.dispose()
    store = open_store(url)
    run_id = store.save_review(REVIEW)
    assert store.get_evidence(run_id) == []
    store.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head()
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"runs", "findings", "evidence", "memory", "deliveries", "jobs"} <= names


def test_the_head_revision_is_the_newest_migration_file(tmp_path):
    """A new migration is picked up by adding its file: nothing else names the head."""
    import shutil

    from swarm_core.errors import StoreError
    from swarm_core.store.migrate import _MIGRATIONS, head

    newest = max(p.name for p in (_MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert head() == newest.split("_", 1)[0]  # files are named <revision>_<what>.py
    copy = tmp_path / "migrations"
    shutil.copytree(_MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / "9999_next.py").write_text(
        f'"""A later migration."""\n\nrevision = "9999"\ndown_revision = "{head()}"\n\n\n'
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    assert head(copy) == "9999"
    (tmp_path / "empty" / "versions").mkdir(parents=True)
    with pytest.raises(StoreError, match="no migrations found"):
        head(tmp_path / "empty")


def _spend(cost: float) -> tuple[Exchange, ...]:
    return (Exchange("lane", "security", "openai/gpt-4.1", "h", Usage(calls=1, cost_usd=cost), 0.1, "ok"),)


def test_spend_is_summed_per_installation_over_a_window(store):
    store.save_review(replace(REVIEW, exchanges=_spend(0.25)), installation_id=7)
    store.save_review(replace(REVIEW, exchanges=_spend(0.5)), installation_id=7)
    store.save_review(replace(REVIEW, exchanges=_spend(4.0)), installation_id=8)
    store.save_review(replace(REVIEW, exchanges=_spend(9.0)))  # the CLI's own runs: no installation
    store.save_document(
        "council",
        source="o/r#1",
        status="APPROVE",
        duration_s=1.0,
        document={},
        exchanges=_spend(0.125),
        counts={},
        repo="o/r",
        installation_id=7,
    )
    assert store.spent_by_installation(7, since=0) == pytest.approx(0.875)
    assert store.spent_by_installation(8, since=0) == pytest.approx(4.0)
    assert store.spent_by_installation(9, since=0) == 0.0
    assert store.spent_by_installation(7, since=time.time() + 60) == 0.0  # outside the window


def test_a_database_at_revision_0002_gains_the_installation_column(store):
    """An App database made before budgets: the evidence table gets its new column in place."""
    store.save_review(replace(REVIEW, exchanges=_spend(0.25)))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_evidence_installation_created"))
        conn.execute(sa.text("ALTER TABLE evidence DROP COLUMN installation_id"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    url = store.engine.url.render_as_string(hide_password=False)
    store.close()
    again = open_store(url)
    try:
        again.save_review(replace(REVIEW, exchanges=_spend(0.5)), installation_id=3)
        assert again.spent_by_installation(3, since=0) == pytest.approx(0.5)
        assert len(again.get_evidence(again.list_runs()[1].id)) == 1  # the old row is kept
    finally:
        again.close()
