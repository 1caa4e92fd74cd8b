"""Error answers: clear, never a 500 for bad input, never an echo of what the caller sent.

FastAPI's default 422 repeats each offending input value; a secret pasted into the wrong field
would come straight back (and land in whatever logs the response). Here an error names the
field and the problem only. A body that is not JSON at all is a 400.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _loc(loc: tuple | list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"unknown field '{error['loc'][-1]}'; remove it (see /openapi.json)"
    if kind == "missing":
        return "field required"
    return str(error.get("msg", "invalid value"))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(status_code=400, content={"detail": "request body is not valid JSON"})
    items = [
        {"loc": _loc(e.get("loc", ())), "msg": _message(e), "type": e.get("type", "")}
        for e in errors[:20]
    ]
    summary = "; ".join(f"{i['loc']}: {i['msg']}" for i in items[:5])
    return JSONResponse(
        status_code=422, content={"detail": f"invalid request: {summary}", "errors": items}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
