"""What every teacher backend shares: the request it answers, the protocol it follows, and the
transport discipline of network backends (retry with exponential backoff and full jitter behind a
circuit breaker).

A teacher answers one planning step with completion text (``<think>…</think><action>{…}</action>``).
It never judges its own output: the arena (Model C) does that, and the caller decides about
revisions. Backends that talk to a model also expose ``chat`` so the same client can act as an
optional LLM judge.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from srlforge.arena.base import Arena
    from srlforge.schema import Scenario, Step

T = TypeVar("T")
Message = dict[str, str]


class LLMError(Exception):
    """Base of the errors a backend raises; the message never contains a secret."""

    reason = "llm_error"


class TeacherConfigError(LLMError, ValueError):
    """The backend cannot be built as configured (missing key, missing model path, …)."""

    reason = "config"


class TransientError(LLMError):
    """A fault worth retrying: timeout, connection error, 429, 5xx."""

    reason = "transient"

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # "timeout" | "connection" | "rate_limited" | "server_error"
        self.retry_after = retry_after


class ProviderError(LLMError):
    """A request the provider refused for good (4xx other than 429): retrying cannot help."""

    reason = "provider_rejected"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetriesExhausted(LLMError):
    reason = "retries_exhausted"

    def __init__(self, last: TransientError, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts; last error ({last.kind}): {last}")
        self.last = last
        self.attempts = attempts


class CircuitOpenError(LLMError):
    reason = "circuit_open"


@dataclass
class TeacherRequest:
    """One planning step: what the teacher sees and what it may use.

    LLM backends read only ``messages``; the scripted expert reads the scenario and the history,
    because it plans from the simulator rather than from text.
    """

    messages: list[Message]
    scenario: Scenario
    arena: Arena
    state: dict[str, Any]
    history: list[Step]
    feedback: str | None = None  # set on the revision call: Model C's verdict on the last try
    attempt: int = 0  # 0 = first proposal, 1 = the one revision


@runtime_checkable
class Teacher(Protocol):
    name: str  # registry name: "scripted" | "openai" | "hf"
    model: str  # what produced the text (model id, path, or the arena expert)

    async def propose(self, request: TeacherRequest) -> str:
        """Completion text for the next step. Raises ``LLMError`` on transport failure."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ChatBackend(Protocol):
    async def chat(self, messages: list[Message]) -> str: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
    Jitter"): spreading retries uniformly over [0, cap] keeps many clients that failed together
    from retrying together."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError(
                f"need 0 <= base_delay_s <= max_delay_s, got {self.base_delay_s}, "
                f"{self.max_delay_s}"
            )

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        jittered = rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2**attempt))
        if retry_after is not None and retry_after > 0:
            # The server knows when it will accept us again; waiting less only earns another 429.
            return min(self.max_delay_s, retry_after) + jittered * 0.1
        return jittered


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive transport failures; open rejects
    calls for ``reset_timeout_s``; then half-open lets one probe through, whose result closes or
    re-opens it. Shared by every concurrent episode of one backend, hence the lock."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return "half_open"
        return "open"

    def seconds_until_half_open(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_timeout_s - (self._clock() - self._opened_at))

    def before_call(self) -> None:
        with self._lock:
            state = self._state_locked()
            if state == "open" or (state == "half_open" and self._probe_in_flight):
                wait = self.reset_timeout_s - (self._clock() - (self._opened_at or 0.0))
                raise CircuitOpenError(
                    f"circuit open after {self.failure_threshold} consecutive transport "
                    f"failures; next probe in {max(0.0, wait):.1f}s"
                )
            if state == "half_open":
                self._probe_in_flight = True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            half_open = self._probe_in_flight
            self._probe_in_flight = False
            if half_open or self._failures >= self.failure_threshold:
                if self._opened_at is None or half_open:
                    self.times_opened += 1
                self._opened_at = self._clock()


@dataclass
class TransportStats:
    """Counters a test or a manifest can read: what the transport layer actually did."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "attempts": self.attempts,
            "retries": self.retries,
            "failures": dict(self.failures),
        }


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    stats: TransportStats | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``fn`` with retries on ``TransientError``; ``ProviderError`` passes straight through.

    A refused request (4xx) says nothing about the provider's health, so it neither trips the
    breaker nor resets it.
    """
    stats = stats if stats is not None else TransportStats()
    rng = rng or random.Random()
    stats.calls += 1
    attempt = 0
    while True:
        breaker.before_call()
        stats.attempts += 1
        try:
            result = await fn()
        except TransientError as exc:
            breaker.record_failure()
            stats.failures[exc.kind] += 1
            attempt += 1
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(exc, attempt) from exc
            stats.retries += 1
            await sleep(policy.delay(attempt - 1, exc.retry_after, rng))
            continue
        except ProviderError:
            stats.failures["provider_rejected"] += 1
            raise
        breaker.record_success()
        return result
