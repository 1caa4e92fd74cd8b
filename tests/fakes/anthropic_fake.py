"""Fake Anthropic Messages API (``POST /v1/messages``).

There is no fine-tuning route to fake: Anthropic has none. The fake's "model" is a function of
the request the test supplies (``behaviour(system, messages) -> text``), so a test can make
answers depend on what the prompt contains (for example: solve only when shown an example).
Errors: ``{"type": "error", "error": {"type", "message"}}``; 529 is ``overloaded_error``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from .http import FakeServer, HTTPError, Request, Response, bearer

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeAnthropic(FakeServer):
    def __init__(self, api_key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_keys = {api_key}
        self.expired_keys: set[str] = set()
        self.behaviour: Callable[[str, list[dict[str, Any]]], str] = lambda s, m: "…"
        self.calls: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.route("POST", "/v1/messages", self.messages)

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        }

    def authorize(self, request: Request) -> None:
        # SDK 2.x sends the key as a bearer token; older clients use x-api-key.
        key = request.headers.get("x-api-key") or bearer(request)
        if not request.headers.get("anthropic-version"):
            raise HTTPError(400, "anthropic-version header is required")
        if key in self.expired_keys or key not in self.api_keys:
            raise HTTPError(401, f"invalid x-api-key: {key}")

    def messages(self, request: Request) -> Response:
        body = request.json()
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                raise HTTPError(400, f"{key}: Field required")
        messages = body["messages"]
        roles = [m["role"] for m in messages]
        if roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
            raise HTTPError(400, "messages: roles must alternate, starting with user")
        system = body.get("system") or ""
        self.calls.append(body)
        text = self.behaviour(system if isinstance(system, str) else str(system), messages)
        return Response(
            200,
            {
                "id": f"msg_{next(self._ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": sum(len(str(m["content"])) // 4 for m in messages),
                    "output_tokens": len(text) // 4,
                },
            },
        )
