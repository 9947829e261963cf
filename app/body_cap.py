"""Reading a request body with a running byte count, so nothing past a cap is ever buffered."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["read_capped"]


async def read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None once it passes `cap` bytes: nothing past the cap is read.

    A chunked body has no Content-Length, so `request.body()` would buffer all of it
    (1 GB unsigned took the server to 2.1 GB); counting while streaming stops at the cap.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
