"""ASGI middleware: the request body size limit and the last-resort 500.

Both a declared ``Content-Length`` over the limit and a chunked body that grows past it get a
413 before any route runs. The body is buffered (it is at most the limit, 1 MiB by default) and
replayed to the app, so no route ever sees a partial body.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

log = logging.getLogger("gateway")

Scope = dict[str, Any]
Message = dict[str, Any]


async def _send_json(send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> dict[str, Any]:
        return {"detail": f"request body is larger than the {self.max_bytes}-byte limit"}

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_json(send, 400, {"detail": "Content-Length is not a number"})
                return
            if size > self.max_bytes:
                await _send_json(send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await _send_json(send, 413, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class UnhandledErrors:
    """Turn an exception no handler took into a generic 500, logging type, route and stack.

    An exception handler for ``Exception`` is not enough: Starlette re-raises after calling it
    so the server logs the exception, message and all, and a message can quote request data.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # the last line of defence: every error becomes a plain 500
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method", ""),
                scope.get("path", ""),
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            if not started:
                await _send_json(send, 500, {"detail": "internal error"})
