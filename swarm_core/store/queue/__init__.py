"""The durable job queue and the delivery log (DESIGN §6): SQLite by default, Postgres at scale.

    records     Job, Delivery, the job states, worker names that fit the lease column
    leases      claim and lease: runnable jobs, per-key and per-installation limits, expiry
    deliveries  the delivery log: batches of webhook deliveries, each with the job it enqueues
    supersede   a newer job with a key replaces the queued ones
    jobqueue    JobQueue, the one interface over them (one transaction per method)

A failed attempt is retried with exponential backoff until `max_attempts`; a job that must
wait (a rate limit) is released with a not-before time; a job failed for good keeps its
reason (`JobQueue.failed_jobs`).
"""

from __future__ import annotations

from swarm_core.store.queue.deliveries import SeenBefore, Statement, plan_fast_batch
from swarm_core.store.queue.jobqueue import DEFAULT_HEARTBEAT_S, DEFAULT_LEASE_S, JobQueue
from swarm_core.store.queue.records import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    SUPERSEDED,
    Delivery,
    Job,
    fit_worker_name,
)

__all__ = [
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_LEASE_S",
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "SUPERSEDED",
    "Delivery",
    "Job",
    "JobQueue",
    "SeenBefore",
    "Statement",
    "fit_worker_name",
    "plan_fast_batch",
]
