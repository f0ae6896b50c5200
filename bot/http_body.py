"""Reading a request body with a size limit, for every endpoint that anyone on the internet can reach.

Pure starlette: the limit is checked while the body streams in, so a chunked request without a
Content-Length cannot make the bot hold more than `limit` bytes before it answers 413.
"""

from __future__ import annotations

from starlette.requests import Request


class PayloadTooLarge(Exception):
    """The body (declared or received so far) is larger than the endpoint accepts."""


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge
    return bytes(body)
