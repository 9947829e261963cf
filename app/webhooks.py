"""`POST /github/webhook`: verify, record, enqueue, answer 202; never review inside a request (DESIGN §1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from swarm_core.errors import StoreError
from swarm_core.github.events import installation_id, route
from swarm_core.github.signature import verify

__all__ = ["ROUTE", "webhook"]


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
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        state.metrics.delivery("too_large")
        return _problem(413, f"body over {settings.max_body_bytes} bytes")
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        state.metrics.delivery("too_large")
        return _problem(413, f"body over {settings.max_body_bytes} bytes")
    secret = settings.github_webhook_secret.get_secret_value() if settings.github_webhook_secret else None
    if not verify(secret, body, request.headers.get("x-hub-signature-256")):
        state.metrics.delivery("bad_signature")
        reason = "no webhook secret configured" if not secret else "missing or invalid X-Hub-Signature-256"
        return _problem(401, reason)
    event = request.headers.get("x-github-event", "")
    guid = request.headers.get("x-github-delivery", "")
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
    decision = route(event, payload)
    if decision.job is not None:  # the job's log records name the delivery that caused it
        decision.job[2]["delivery"] = guid
    repo = (
        str((payload.get("repository") or {}).get("full_name", ""))
        if isinstance(payload.get("repository"), dict)
        else ""
    )
    try:
        delivery = await state.intake.record(
            hook_id=request.headers.get("x-github-hook-id", ""),
            guid=guid,
            event=event,
            action=str(payload.get("action") or ""),
            installation_id=installation_id(payload),
            repo=repo,
            job=decision.job,
            outcome=decision.outcome,
        )
    except StoreError as exc:
        # GitHub does not redeliver by itself (RULES 2): a 503 shows in its log for a manual redelivery.
        state.metrics.delivery("store_error")
        return _problem(503, str(exc))
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
