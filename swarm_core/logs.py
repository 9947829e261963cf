"""Logging for the faces: one handler, text or JSON lines, run/job/delivery ids, and one redaction filter.

A face calls `configure_logging` once at start-up with what it read from its own
environment (the core reads none). Ids travel in a context variable: a worker pushes the
job's ids (`push_ids`, or the block form `log_context`) around a job and the handler adds
`run_id` with `bind` once the run is stored, so the one record a failure logs names all three.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from swarm_core.redact import Redactor

__all__ = [
    "IDS",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "bind",
    "configure_logging",
    "current_ids",
    "log_context",
    "pop_ids",
    "push_ids",
]

# The ids a record may carry, in the order text logs show them.
IDS = ("run_id", "job_id", "job_kind", "delivery_id")
LOG_FORMATS = ("text", "json")

_ids: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "swarm_log_ids", default=MappingProxyType({})
)

_REDACTED = "[redacted]"  # swarm_core.redact.REDACTED, not imported at start-up
# Logs hide a URL's whole user:password (swarm_core.redact keeps the user for PR readers).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")


IdsToken = contextvars.Token[Mapping[str, str]]


def push_ids(**ids: object) -> IdsToken:
    """Add ids (None values are left out) until `pop_ids(token)`; `log_context` is the block form."""
    return _ids.set({**_ids.get(), **{k: str(v) for k, v in ids.items() if v is not None}})


def pop_ids(token: IdsToken) -> None:
    """Back to the ids before the matching `push_ids`."""
    _ids.reset(token)


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Within the block, every record carries these ids."""
    token = push_ids(**ids)
    try:
        yield
    finally:
        pop_ids(token)


def bind(**ids: object) -> None:
    """Add ids until the enclosing `push_ids` is popped (e.g. a run's id once the run is stored)."""
    push_ids(**ids)


def current_ids() -> dict[str, str]:
    """The ids of the current context, to pass as `extra=` where a record must carry them."""
    return dict(_ids.get())


class _ContextFilter(logging.Filter):
    """Stamps the context's ids on records that do not carry them yet."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _ids.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RedactingFilter(logging.Filter):
    """The one place secrets leave log records: the message, its arguments and the traceback.

    Args:
        secrets: configured values (provider keys, tokens, the webhook secret, database
            passwords); GitHub token shapes and URL passwords are redacted as well.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secrets)
        self._redactor: Redactor | None = None
        self._format = logging.Formatter()

    def redact(self, text: str) -> str:
        """Text with every known secret and credential shape replaced (swarm_core.redact's rules)."""
        if self._redactor is None:
            # Made on the first record, not at start-up: `swarm --help` logs nothing and stays light.
            from swarm_core.redact import Redactor

            self._redactor = Redactor(self._secrets)
        return self._redactor.text(_URL_CREDENTIALS.sub(_REDACTED, text))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)  # arguments that do not fit the format: still redact the text
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is rendered (and
            # redacted) here once; exception messages often quote URLs and headers.
            record.exc_text = self._format.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class TextFormatter(logging.Formatter):
    """`time level logger [ids] message`, then the traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{k}={getattr(record, k)}" for k in IDS if getattr(record, k, None))
        record.ids = f" [{ids}]" if ids else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, and the traceback as `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in IDS:
            value = getattr(record, key, None)
            if value:
                doc[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return json.dumps(doc, ensure_ascii=False)


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time of the record (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # under the handler's lock: `handle` holds it around emit
        super().emit(record)


def configure_logging(
    fmt: str = "text",
    *,
    secrets: Iterable[str] = (),
    level: str = "INFO",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install swarm's one log handler on the root logger (replacing one installed before).

    Args:
        fmt: "text" or "json" (SWARM_LOG_FORMAT, `--log-format`).
        secrets: values the redaction filter must never let through.
        level: the level of swarm's own loggers (`swarm.*`).
        stream: where records go (default: the process's stderr).

    Returns:
        The installed handler.

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r}: use text or json")
    handler: logging.Handler = _Stderr() if stream is None else logging.StreamHandler(stream)
    handler.set_name("swarm")
    handler.addFilter(_ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "swarm"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    # Only swarm's loggers are lowered: libraries (httpx logs every request at INFO) stay at
    # the root's level.
    logging.getLogger("swarm").setLevel(level)
    return handler
