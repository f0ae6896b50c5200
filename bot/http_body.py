"""Reading a request body with a size limit, for every endpoint that anyone on the internet can reach.

Pure starlette: the limit is checked while the body streams in, so a chunked request without a
Content-Length cannot make the bot hold more than `limit` bytes before it answers 413. With a
`deadline`, a body that has not arrived whole within that many seconds is given up (408): a client that
sends a little and then waits would otherwise hold its connection and up to `limit` bytes for as long as
it likes, and a few thousand of them exhaust the memory. A client that goes away mid-body is
`ClientGone`: nobody is left to answer, and it is no server error to log with a traceback.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request


class BodyError(Exception):
    """The body could not be read whole; the endpoint answers `status` with `error`."""

    status = 400
    error = "bad request body"


class PayloadTooLarge(BodyError):
    """The body (declared or received so far) is larger than the endpoint accepts."""

    status = 413
    error = "request too large"


class BodyTimeout(BodyError):
    """The body did not arrive whole within the endpoint's deadline."""

    status = 408
    error = "request body not received in time"


class ClientGone(BodyError):
    """The client closed the connection before the body ended (the answer reaches nobody)."""

    status = 400
    error = "client closed the connection before the body ended"


async def read_limited(request: Request, limit: int, *, deadline: float | None = None) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge
    body = bytearray()
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    raise PayloadTooLarge
    except TimeoutError:
        raise BodyTimeout from None
    except ClientDisconnect:
        raise ClientGone from None
    return bytes(body)
