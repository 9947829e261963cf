"""The `swarm` root command: its subcommands, and the mapping of errors to exit codes.

Each command group lives in its own module and imports the engine inside its function,
so `swarm --version` and `swarm --help` load click and little else. The CLI reads the
environment and passes plain values to swarm_core: SWARM_DATA_DIR, SWARM_MODEL,
SWARM_MODELS_FILE (an operator's model table), SWARM_REDIS_URL (swarm memory),
SWARM_SECRETS_FILE (KEY=VALUE lines for provider keys) and the providers' own variables
(OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ...). Exit codes: 0 clean, 1 a
finding at or above --fail-on, 2 usage or config error, 3 an internal error,
130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from swarm_cli.action import action_command
from swarm_cli.agents import agents, exec_command
from swarm_cli.app import serve, worker
from swarm_cli.config import config_group
from swarm_cli.conversation import ask_command, describe_command
from swarm_cli.council import council_command
from swarm_cli.evaluation import eval_command
from swarm_cli.issue import issue_command
from swarm_cli.learnings import learnings
from swarm_cli.mutation import mutation_command
from swarm_cli.options import LOG_FORMATS
from swarm_cli.output import err
from swarm_cli.review import pr_review
from swarm_cli.runs import runs
from swarm_core import ConfigError, SwarmError, __version__

__all__ = ["cli", "main"]

EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="swarm")
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    envvar="SWARM_LOG_FORMAT",
    help="Log records as text lines or JSON lines, on stderr (env: SWARM_LOG_FORMAT).",
)
def cli(log_format: str) -> None:
    """swarm: verified, low-noise review of pull requests and local changes."""
    # swarm_core.logs needs only the standard library, so even `swarm runs show --help`
    # (whose group callback runs first) stays light. Commands that read provider keys set
    # logging up again with them (environment.engine), and `serve`/`worker` with the App's.
    from swarm_core import configure_logging

    configure_logging(log_format)


for _command in (
    pr_review,
    runs,
    config_group,
    serve,
    worker,
    issue_command,
    council_command,
    agents,
    exec_command,
    action_command,
    learnings,
    eval_command,
    mutation_command,
    ask_command,
    describe_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `swarm` console script; never shows a traceback."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="swarm", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err(f"config error: {line}")
        sys.exit(EXIT_USAGE)
    except SwarmError as exc:
        err(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # boundary: a user sees one line, not a traceback
        err(f"internal error: {type(exc).__name__}: {exc} (please report this)")
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
