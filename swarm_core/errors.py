"""The one error tree of swarm.

    SwarmError
    ├── ConfigError          invalid `.github/swarm.yml` or command-line option (exit code 2)
    ├── SourceError          a change cannot be read: not a git repository, unknown ref, unreadable file
    │   └── DiffError        the input is not a unified diff, or it is corrupt or too large
    ├── AnalyzerError        an analyzer could not run (reported as skipped, never fatal)
    ├── StoreError           the run store cannot be opened or read
    │   └── RunNotFound      no run has that id
    └── LaneError            a lane failed (its result is recorded as failed, never a lost review)

Every message is one line that says what failed and what to do about it; the command-line
face prints it without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AnalyzerError",
    "ConfigError",
    "DiffError",
    "LaneError",
    "RunNotFound",
    "SourceError",
    "StoreError",
    "SwarmError",
]


class SwarmError(Exception):
    """Base of every error swarm raises on purpose."""


class ConfigError(SwarmError, ValueError):
    """Configuration is invalid; the message names the file, the key and what is wrong."""


class SourceError(SwarmError):
    """A change cannot be read from where the user pointed."""


class DiffError(SourceError, ValueError):
    """The input is not a unified diff, or it is corrupt or over the size limit."""


class AnalyzerError(SwarmError):
    """An analyzer could not run; the engine reports it as skipped with this reason."""


class StoreError(SwarmError):
    """The run store cannot be opened, written or read."""


class RunNotFound(StoreError, KeyError):
    """No stored run matches the id the user gave."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a user should see the plain sentence.
        return str(self.args[0]) if self.args else "run not found"


class LaneError(SwarmError):
    """A lane failed; the review records it as a failed lane and goes on."""
