"""The server machinery every fake shares: routing, a controllable clock, fault injection."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeClock:
    """Seconds since the epoch, moved only by ``advance`` (job state machines read it)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class HTTPError(Exception):
    """Raised by a route to answer with the fake's provider-specific error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass
class Fault:
    method: str
    path_regex: str
    status: int
    remaining: int
    headers: dict[str, str]
    message: str


Handler = Callable[[Request], Response]


class FakeServer:
    """A threaded HTTP server with a route table. Subclasses add routes and ``error_body``."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.log: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # ----- to override -----------------------------------------------------------------------

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {"error": {"message": message, **extra}}

    def error_headers(self, status: int, **extra: Any) -> dict[str, str]:
        return {}

    def authorize(self, request: Request) -> None:
        """Raise HTTPError(401/403) for a request the provider would refuse."""

    # ----- routing ---------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str = "injected failure",
    ) -> None:
        """The next ``times`` matching requests get ``status`` in the provider's error shape."""
        with self.lock:
            self.faults.append(Fault(method, path_regex, status, times, headers or {}, message))

    def requests_to(self, method: str, path_regex: str) -> list[Request]:
        pattern = re.compile(path_regex)
        return [r for r in self.log if r.method == method and pattern.search(r.path)]

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            self.log.append(request)
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and fault.method == request.method
                    and re.search(fault.path_regex, request.path)
                ):
                    fault.remaining -= 1
                    headers = {**self.error_headers(fault.status), **fault.headers}
                    return Response(
                        fault.status, self.error_body(fault.status, fault.message), headers
                    )
        try:
            self.authorize(request)
            for method, pattern, handler in self.routes:
                match = pattern.match(request.path)
                if match and method == request.method:
                    request.params = match.groupdict()
                    with self.lock:
                        return handler(request)
            raise HTTPError(404, f"no route for {request.method} {request.path}")
        except HTTPError as exc:
            return Response(
                exc.status,
                self.error_body(exc.status, exc.message, **exc.extra),
                self.error_headers(exc.status, **exc.extra),
            )

    # ----- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                response = fake.dispatch(request)
                if isinstance(response.body, bytes | bytearray):
                    data = bytes(response.body)
                elif response.body is None:
                    data = b""
                else:
                    data = json.dumps(response.body).encode()
                self.send_response(response.status)
                self.send_header("content-type", response.content_type)
                self.send_header("content-length", str(len(data)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


def parse_multipart(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, bytes)`` of a multipart/form-data body."""
    ctype = request.headers.get("content-type", "")
    match = re.search(r'boundary="?([^";]+)"?', ctype)
    if not match:
        raise HTTPError(400, "expected multipart/form-data")
    boundary = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in request.body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        disposition = head.decode(errors="replace")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, data[:-2])
    return fields
