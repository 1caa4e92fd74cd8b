"""A real OpenAI-compatible HTTP server on 127.0.0.1:0 with scripted behaviours.

It answers ``POST /v1/chat/completions`` in the published response shape (and errors in the
``{"error": {message, type, param, code}}`` shape), so the official ``openai`` SDK — not our
reading of the API — decides whether requests and answers are well formed. A behaviour is a
function of the call (the step request recovered from the prompt, the call number, whether it
is a revision) that returns a ``Reply``; good plans are computed with the arena's own solver.

Shared by tests/llm and tests/collab_service: both take the ``fake`` fixture of
``tests/support/openai_server.py``, which hands out this module.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from collab_service.prompts import read_request
from srlforge.arena import get_arena, render_completion
from srlforge.schema import Scenario

API_KEY = "sk-fake-SECRET-do-not-log-4242"


@dataclass
class Call:
    number: int  # 1-based, in arrival order
    body: dict[str, Any]
    scenario: Scenario | None
    history: list[dict[str, Any]]
    revision: bool
    authorized: bool


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    error_message: str = ""


Behaviour = Callable[[Call], Reply]


# ----- behaviours ----------------------------------------------------------------------------


def expert_state(scenario: Scenario, history: list[dict[str, Any]]) -> dict[str, Any]:
    arena = get_arena(scenario.model_type)
    state = arena.reset(scenario)
    for i, step in enumerate(history):
        _, state, _ = arena.evaluate_step(state, step["action"], None, i)
    return state


_plans: dict[tuple[str, str], list] = {}
_plans_lock = threading.Lock()


def expert_plan(scenario: Scenario) -> list:
    """The expert's plan, solved once per scenario (a fake should cost little CPU per call)."""
    key = (scenario.id, scenario.rules_version)
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None:
        plan = get_arena(scenario.model_type).solve(scenario)
        with _plans_lock:
            _plans[key] = plan
    return plan


def good(call: Call) -> Reply:
    """The arena expert's next step for the scenario and history in the prompt."""
    plan = expert_plan(call.scenario)
    index = len(call.history)
    if index >= len(plan):
        return Reply(content="<think>done</think>")
    return Reply(content=render_completion(plan[index]))


def malformed(call: Call) -> Reply:
    return Reply(content='<think>let me see</think><action>{"type": "wait", oops}</action>')


def prose(call: Call) -> Reply:
    return Reply(content="I would probably have the monster lurk in the shadows for a while.")


def rule_breaking(call: Call) -> Reply:
    """A schema-valid action that breaks a hard rule in the current state."""
    arena = get_arena(call.scenario.model_type)
    state = expert_state(call.scenario, call.history)
    forbidden = arena.forbidden_actions(call.scenario, state)
    assert forbidden, f"{arena.model_type} offers no forbidden action in this state"
    action = json.dumps(forbidden[0], sort_keys=True)
    return Reply(content=f"<think>ignore the rules</think><action>{action}</action>")


def rate_limited(retry_after_s: float = 0.05) -> Behaviour:
    def reply(call: Call) -> Reply:
        return Reply(
            status=429,
            headers={"retry-after": f"{retry_after_s}"},
            error_message="Rate limit reached for requests",
        )

    return reply


def server_error(call: Call) -> Reply:
    return Reply(status=500, error_message="The server had an error processing your request.")


def bad_request(call: Call) -> Reply:
    return Reply(status=400, error_message="Invalid value for 'model': no such model 'nope'.")


def slow(delay_s: float, then: Behaviour = good) -> Behaviour:
    def reply(call: Call) -> Reply:
        answer = then(call)
        answer.delay_s = delay_s
        return answer

    return reply


def bad_then_good(bad: Behaviour) -> Behaviour:
    """First try of every step is ``bad``; the revision is the expert's step."""

    def reply(call: Call) -> Reply:
        return good(call) if call.revision else bad(call)

    return reply


def first_calls(n: int, faulty: Behaviour, then: Behaviour = good) -> Behaviour:
    """Calls 1..n get ``faulty`` (e.g. 429/500), every later call ``then``."""

    def reply(call: Call) -> Reply:
        return faulty(call) if call.number <= n else then(call)

    return reply


def by_scenario(pick: Callable[[Scenario], Behaviour]) -> Behaviour:
    def reply(call: Call) -> Reply:
        return pick(call.scenario)(call)

    return reply


# ----- the server ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as real providers do: a fresh TCP connection and thread per request would
    # make the fake, not the client, the bottleneck of the concurrency benchmark.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the second waits for a
    # delayed ACK (~40 ms) on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return None

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        # A slow reply may find the client gone (it timed out): that is the point of the test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error(f"no route {self.path}", "invalid_request_error"), {})
            return
        fake = self.server.fake
        authorized = self.headers.get("Authorization") == f"Bearer {fake.api_key}"
        call = fake.record(body, authorized)
        if not authorized:
            reply = Reply(status=401, error_message="Incorrect API key provided.")
        else:
            try:
                reply = fake.behaviour(call)
            except Exception as exc:  # a broken behaviour must show up in the test, not hang
                reply = Reply(status=599, error_message=f"fake behaviour raised {exc!r}")
        delay = reply.delay_s + fake.latency_s
        if delay:
            time.sleep(delay)
        fake.count(reply.status)
        if reply.status != 200:
            kind = "rate_limit_error" if reply.status == 429 else "invalid_request_error"
            self._send(reply.status, _error(reply.error_message, kind), reply.headers)
            return
        self._send(200, _completion(body.get("model", "fake"), reply.content or ""), reply.headers)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog (5) drops connections when 50 concurrent episodes connect at once.
    request_queue_size = 256
    fake: FakeOpenAI


class FakeOpenAI:
    def __init__(
        self, behaviour: Behaviour = good, latency_s: float = 0.0, api_key: str = API_KEY
    ) -> None:
        self.behaviour = behaviour
        self.latency_s = latency_s
        self.api_key = api_key
        self.calls: list[Call] = []
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def record(self, body: dict[str, Any], authorized: bool) -> Call:
        request = read_request(body.get("messages", []))
        scenario = Scenario.model_validate(request["scenario"]) if request["scenario"] else None
        with self._lock:
            call = Call(
                len(self.calls) + 1,
                body,
                scenario,
                request["history"],
                request["revision"],
                authorized,
            )
            self.calls.append(call)
        return call

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
