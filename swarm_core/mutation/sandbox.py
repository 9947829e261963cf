"""What the tests of a mutant may see: an environment without credentials, and never a privileged event."""

from __future__ import annotations

import ctypes
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["REFUSED_EVENTS", "hide_own_environment", "refusal", "scrubbed_environment"]

# pull_request_target runs with the base repository's secrets and a write token on the
# pull request's code: running that code there hands both to whoever opened it.
REFUSED_EVENTS = frozenset({"pull_request_target"})

_CREDENTIAL = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL", re.I)
_RUNNER = re.compile(r"^(ACTIONS_|GITHUB_TOKEN$|GITHUB_WORKSPACE$|SWARM_INPUT_)", re.I)
# actions/checkout's persist-credentials (on by default) leaves the job's token in .git/config.
_PERSISTED = re.compile(rb"extraheader\s*=\s*AUTHORIZATION", re.I)
_PR_SET_DUMPABLE = 4


def refusal(event: str, root: Path | None = None) -> str | None:
    """Why the gate must not run for this event (or this checkout at `root`), or None when it may."""
    if event in REFUSED_EVENTS:
        return (
            f"the mutation gate does not run on `{event}`: that event gives the pull request's code "
            "the base repository's secrets and a write token. Run it from a `pull_request` workflow"
        )
    config = root / ".git" / "config" if root is not None else None
    if config is not None and config.is_file() and _PERSISTED.search(config.read_bytes()):
        return (
            "the checkout keeps the job's token in .git/config (actions/checkout's "
            "persist-credentials), where the tests could read it: set `persist-credentials: false` "
            "on the checkout step"
        )
    return None


def hide_own_environment() -> None:
    """Make this process's /proc/PID/environ unreadable to the tests it starts (Linux).

    The tests run as the same user: without this they could read the job's token and keys
    from their parent's environment, whatever their own environment holds. A no-op elsewhere.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def scrubbed_environment(
    environ: Mapping[str, str], root: Path, secrets: Iterable[str] = ()
) -> dict[str, str]:
    """The environment the tests run in, from the job's.

    Dropped: every variable whose name says it holds a credential (TOKEN, SECRET, KEY,
    PASSWORD, CREDENTIAL), the runner's ACTIONS_* (cache and OIDC token endpoints),
    GITHUB_TOKEN, GITHUB_WORKSPACE (the checkout, whose .git may hold a token; the tests run in
    a copy) and swarm's own inputs, and any variable whose value is one of `secrets`.
    Added: the copy's root (and its `src/`) in front of PYTHONPATH, so the tests import the
    mutated copy rather than an installed or editable one, and no bytecode writing, so a
    mutant of the same size in the same second never runs a stale `.pyc`.
    """
    known = {s for s in secrets if s}
    env = {
        name: value
        for name, value in environ.items()
        if not _CREDENTIAL.search(name) and not _RUNNER.match(name) and value not in known
    }
    paths = [str(root)]
    if (root / "src").is_dir():
        paths.insert(0, str(root / "src"))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = ":".join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
