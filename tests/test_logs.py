"""Logging: one redaction filter on the handler, text and JSON lines, ids from the job's context."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from swarm_core.logs import RedactingFilter, bind, configure_logging, current_ids, log_context

KEY = "sk-live-0123456789abcdef"
TOKEN = "ghs_" + "A1b2C3d4E5f6G7h8I9j0K1l2"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = configure_logging("text", secrets=[KEY, "short"], stream=out)
    yield out
    logging.getLogger().removeHandler(handler)


def test_a_planted_key_comes_out_redacted_in_message_arguments_and_traceback(stream: io.StringIO) -> None:
    log = logging.getLogger("swarm.test")
    log.warning("calling with %s and %s", KEY, TOKEN)
    try:
        raise RuntimeError(f"provider refused {KEY} at postgresql://swarm:hunter22@db/swarm")
    except RuntimeError:
        log.exception("job failed")
    text = stream.getvalue()
    assert KEY not in text and TOKEN not in text and "hunter22" not in text
    assert "calling with [redacted] and [redacted]" in text
    assert "RuntimeError: provider refused [redacted] at postgresql://[redacted]@db/swarm" in text
    assert "Traceback (most recent call last)" in text
    # Values too short to be credentials are left alone, so ordinary words survive.
    log.warning("a short answer")
    assert stream.getvalue().endswith("a short answer\n")


def test_records_carry_the_ids_of_their_context(stream: io.StringIO) -> None:
    log = logging.getLogger("swarm.test")
    with log_context(job_id="j1", delivery_id="d1", run_id=None):
        bind(run_id="r1")
        assert current_ids() == {"job_id": "j1", "delivery_id": "d1", "run_id": "r1"}
        log.warning("publishing")
    assert current_ids() == {}
    log.warning("outside")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("WARNING swarm.test [run_id=r1 job_id=j1 delivery_id=d1] publishing")
    assert lines[1].endswith("WARNING swarm.test outside")


def test_json_lines_for_machines() -> None:
    out = io.StringIO()
    handler = configure_logging("json", secrets=[KEY], stream=out)
    try:
        with log_context(job_id="j2", job_kind="review"):
            try:
                {}["repo"]
            except KeyError:
                logging.getLogger("swarm.worker").error("job %s failed with %s", "j2", KEY, exc_info=True)
    finally:
        logging.getLogger().removeHandler(handler)
    doc = json.loads(out.getvalue())
    assert {k: doc[k] for k in ("level", "logger", "message", "job_id", "job_kind")} == {
        "level": "ERROR",
        "logger": "swarm.worker",
        "message": "job j2 failed with [redacted]",
        "job_id": "j2",
        "job_kind": "review",
    }
    assert doc["exc"].startswith("Traceback") and doc["exc"].endswith("KeyError: 'repo'")
    assert doc["time"].endswith("Z")


def test_configuring_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    first = configure_logging("text", stream=io.StringIO())
    second = configure_logging("json", stream=io.StringIO())
    try:
        assert [h for h in root.handlers if h.get_name() == "swarm"] == [second]
        assert first not in root.handlers
        with pytest.raises(ValueError, match="log format 'xml'"):
            configure_logging("xml")
    finally:
        root.removeHandler(second)


def test_a_record_whose_arguments_do_not_fit_is_still_redacted() -> None:
    record = logging.LogRecord("swarm", logging.WARNING, __file__, 1, f"key {KEY} %d", ("x",), None)
    assert RedactingFilter([KEY]).filter(record)
    assert (record.msg, record.args) == ("key [redacted] %d", None)
