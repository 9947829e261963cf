"""What the queue hands out: job and delivery records, the job states, and the row conversions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "SUPERSEDED",
    "WORKER_NAME_MAX",
    "Delivery",
    "Job",
    "fit_worker_name",
    "job_from_row",
    "json_text",
]

QUEUED, RUNNING, DONE, FAILED, SUPERSEDED = "queued", "running", "done", "failed", "superseded"

# jobs.lease_owner is a VARCHAR(64); Postgres refuses anything longer (SQLite would not).
WORKER_NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed (or inspected) job.

    `error` holds the reason of the last failed attempt; a FAILED job (the dead letters)
    keeps the reason it was given up for. `updated_at` is when its state last changed.
    """

    id: str
    kind: str
    key: str
    installation_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    lease_owner: str | None
    error: str = ""
    run_after: float = 0.0
    updated_at: float = 0.0

    def dead_letter(self) -> dict[str, Any]:
        """What an operator reads of a job failed for good: what it was, how often it ran, and why it stopped.

        The payload is left out: the key names the pull request or issue, and the payload
        may be large.
        """
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "installation_id": self.installation_id,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "reason": self.error,
            "failed_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery as recorded: `duplicate` when it had been accepted before."""

    hook_id: str
    guid: str
    event: str
    action: str
    installation_id: int | None
    repo: str
    outcome: str
    job_id: str | None
    duplicate: bool = False


def job_from_row(row: Any) -> Job:
    """A row of the jobs table as a Job."""
    return Job(
        id=row.id,
        kind=row.kind,
        key=row.key,
        installation_id=row.installation_id,
        payload=json.loads(row.payload),
        status=row.status,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        lease_owner=row.lease_owner,
        error=row.error,
        run_after=row.run_after,
        updated_at=row.updated_at,
    )


def fit_worker_name(name: str) -> str:
    """The name as the lease column can hold it: a long one is cut and given a hash of the whole.

    A host name can be longer than the column (Kubernetes pod names, FQDNs); two long names
    that share their first 50 characters still end up different.
    """
    if len(name) <= WORKER_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: WORKER_NAME_MAX - len(digest) - 1]}~{digest}"


try:
    import orjson

    def json_text(value: Any) -> str:
        """Compact JSON text."""
        return orjson.dumps(value).decode()

except ImportError:  # the engine alone does not need orjson; the App installs it

    def json_text(value: Any) -> str:
        """Compact JSON text."""
        return json.dumps(value, separators=(",", ":"))
