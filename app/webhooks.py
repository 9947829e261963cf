"""`POST /github/webhook`: verify, record, enqueue, answer 202; never review inside a request (DESIGN §1)."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.body_cap import read_capped
from swarm_core import InvalidPayload, StoreError
from swarm_core.github import check_headers, envelope, route, verify

__all__ = ["ROUTE", "webhook"]

log = logging.getLogger("swarm.webhook")


def _json(data: Any, status: int) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _problem(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _parse(body: bytes, content_type: str) -> Any:
    """JSON, or form-encoded with the JSON in the `payload` field (RULES 4); orjson parses fast."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
        return orjson.loads(fields["payload"][0])
    return orjson.loads(body)


async def webhook(request: Request) -> Response:
    """Accept one delivery: 401 unsigned or forged, 413 too big, 400 malformed, 202 accepted."""
    state = request.app.state
    settings = state.settings
    t_read = time.perf_counter()
    body = await read_capped(request, settings.max_body_bytes)
    t_verify = time.perf_counter()
    if body is None:
        state.metrics.delivery("too_large")
        return _problem(413, f"body over {settings.max_body_bytes} bytes")
    secret = settings.github_webhook_secret.get_secret_value() if settings.github_webhook_secret else None
    if not verify(secret, body, request.headers.get("x-hub-signature-256")):
        state.metrics.delivery("bad_signature")
        reason = "no webhook secret configured" if not secret else "missing or invalid X-Hub-Signature-256"
        return _problem(401, reason)
    t_parse = time.perf_counter()
    event = request.headers.get("x-github-event", "")
    guid = request.headers.get("x-github-delivery", "")
    hook_id = request.headers.get("x-github-hook-id", "")
    if not event or not guid:
        state.metrics.delivery("malformed")
        return _problem(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
    content_type = request.headers.get("content-type", "application/json")
    try:
        payload = _parse(body, content_type)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):  # orjson.JSONDecodeError is a ValueError
        state.metrics.delivery("malformed")
        return _problem(400, "the body is not a JSON webhook payload")
    if not isinstance(payload, dict):
        state.metrics.delivery("malformed")
        return _problem(400, "the payload must be a JSON object")
    try:
        # Validated before anything is written: a value the database cannot hold is this
        # delivery's own 400, never an error for the batch it would have been committed with.
        check_headers(event, guid, hook_id)
        env = envelope(payload)
        decision = route(event, payload, env)
    except InvalidPayload as exc:
        state.metrics.delivery("invalid")
        return _problem(400, f"invalid delivery: {exc}")
    if decision.job is not None:  # the job's log records name the delivery that caused it
        decision.job[2]["delivery"] = guid
    state.intake.timings.add_request(t_verify - t_read, t_parse - t_verify, time.perf_counter() - t_parse)
    try:
        delivery = await state.intake.record(
            hook_id=hook_id,
            guid=guid,
            event=event,
            action=env.action or "",
            installation_id=env.installation_id,
            repo=env.repo,
            job=decision.job,
            outcome=decision.outcome,
        )
    except StoreError as exc:
        log.warning("delivery %s was not recorded: %s", guid, exc)
        # GitHub does not redeliver by itself (RULES 2): a 503 shows in its log for a manual
        # redelivery. The database's own text stays in the server's log, never in a response.
        state.metrics.delivery("store_error")
        return _problem(503, "the delivery could not be recorded; redeliver it from the App's settings")
    outcome = "duplicate" if delivery.duplicate else decision.outcome.split(":")[0]
    state.metrics.delivery(outcome)
    if delivery.job_id and not delivery.duplicate and state.wake is not None:
        state.wake.set()
    status = 200 if decision.outcome == "pong" else 202
    body_out = {
        "delivery": guid,
        "outcome": decision.outcome,
        "job": delivery.job_id,
        "duplicate": delivery.duplicate,
    }
    return _json(body_out, status)


# A plain Starlette route: the hot path skips FastAPI's dependency solving (it has no parameters
# to validate). It does not appear in the OpenAPI document; the README documents it.
ROUTE = Route("/github/webhook", webhook, methods=["POST"])
