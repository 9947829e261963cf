"""A 1 GB chunked, unsigned body against a real uvicorn server: refused at the cap, never buffered whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SERVER = """
import sys, uvicorn
from app.main import create_app
from app.settings import load_settings
settings = load_settings({"GITHUB_WEBHOOK_SECRET": "s", "SWARM_DATA_DIR": sys.argv[2]})
uvicorn.run(create_app(settings, workers=0), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
CHUNK = 1024 * 1024
GIGABYTE = 1024 * CHUNK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak) of a process, in kB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(tmp_path / "data")], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError("uvicorn did not start")
    yield port, proc
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_a_chunked_gigabyte_is_refused_with_413_and_memory_stays_low(
    server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, proc = server
    conn = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn.sendall(
        b"POST /github/webhook HTTP/1.1\r\nHost: swarm\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: big\r\n\r\n"
    )
    chunk = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"

    def send() -> None:
        # No Content-Length to refuse early: the cap must hold while the body streams in.
        try:
            for _ in range(GIGABYTE // CHUNK):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the test closed the connection once it had its answer

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = conn.recv(65536)
        if not data:
            break
        answer += data
    peak_mb = rss_kb(proc.pid, "VmHWM") / 1024
    conn.close()
    sender.join(timeout=20)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert peak_mb < 200, f"server peak RSS {peak_mb:.0f} MB"
