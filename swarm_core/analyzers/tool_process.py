"""Running an external analyzer tool as a subprocess that is killed when its analyzer times out."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from swarm_core.errors import AnalyzerError

__all__ = ["run_tool"]


async def run_tool(argv: list[str], cwd: Path, *, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    """Run a tool and return (exit code, stdout, stderr).

    Cancelling the awaiting task (the analyzer's timeout does) kills the process.

    Raises:
        AnalyzerError: the executable cannot be started.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise AnalyzerError(f"cannot start {Path(argv[0]).name}: {exc.strerror or exc}") from None
    try:
        out, err = await proc.communicate(stdin)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.shield(proc.wait())
        raise
    return proc.returncode if proc.returncode is not None else -1, out, err
