"""`swarm serve` and `swarm worker`: the GitHub App in one process, or its workers alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from swarm_cli import environment
from swarm_core import __version__

if TYPE_CHECKING:
    from app.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    "worker_count",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="In-process workers.",
)
def serve(host: str, port: int, worker_count: int) -> int:
    """Run the GitHub App: webhook receiver, HTTP API and in-process workers (a complete install).

    Settings come from the environment: GITHUB_APP_ID, GITHUB_PRIVATE_KEY or
    GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET, GITHUB_API_URL, SWARM_DATABASE_URL
    (default: SQLite under SWARM_DATA_DIR), SWARM_API_TOKEN.
    """
    import uvicorn

    from app.main import create_app

    settings = _settings()
    application = create_app(settings, workers=worker_count)
    click.echo(
        f"swarm {__version__}: serving on http://{host}:{port} with {worker_count} worker(s)", err=True
    )
    # log_config=None: uvicorn leaves logging alone, so its records go through swarm's one
    # handler (the --log-format, the redaction filter) like every other record.
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False, log_config=None)
    return 0


@click.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60), help="Seconds between polls."
)
def worker(concurrency: int, poll: float) -> int:
    """Run workers only, against SWARM_DATABASE_URL; start as many as you like on as many machines.

    Finished jobs are counted in the App's metrics: with PROMETHEUS_MULTIPROC_DIR shared
    with `swarm serve`, a scrape of the App includes this process's jobs.
    """
    import asyncio
    import signal

    from app.main import build_metrics, build_services, job_recorder, open_database
    from app.worker import worker_pool
    from swarm_core.store.queue import JobQueue

    settings = _settings()
    store = open_database(settings)
    queue = JobQueue(store.engine)
    services = build_services(settings, store, queue)
    on_done = job_recorder(build_metrics(store, services))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        pool = worker_pool(queue, services, settings, concurrency, poll_s=poll, on_done=on_done)
        click.echo(
            f"swarm {__version__}: {concurrency} worker(s) on {store.engine.url.render_as_string()}", err=True
        )
        await asyncio.gather(*(w.run(stop) for w in pool))

    try:
        asyncio.run(run())
    finally:
        store.close()
    return 0


def _settings() -> Settings:
    """The App's settings from the environment, with the log format the command line chose."""
    from app.settings import load_settings

    settings = load_settings()
    settings.require_app()
    return settings.model_copy(update={"log_format": environment.log_format()})
