"""Retry with backoff and jitter, and the circuit breaker, shared by network backends."""

from __future__ import annotations

import asyncio
import random

import pytest

from srlforge.llm import (
    CircuitBreaker,
    CircuitOpenError,
    ProviderError,
    RetriesExhausted,
    RetryPolicy,
    TransientError,
    TransportStats,
    call_with_retries,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


def scripted(outcomes):
    """An async callable that raises or returns the next scripted outcome each call."""
    calls = []

    async def fn():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return fn, calls


def no_sleep(record):
    async def sleep(seconds):
        record.append(seconds)

    return sleep


def test_full_jitter_stays_within_the_exponential_cap():
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.5, max_delay_s=3.0)
    rng = random.Random(1)
    for attempt in range(6):
        cap = min(3.0, 0.5 * 2**attempt)
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > 0.7 * cap  # spread over the whole window, not a fixed delay


def test_retry_after_is_a_lower_bound_capped_by_max_delay():
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=5.0)
    rng = random.Random(0)
    assert 2.0 <= policy.delay(0, 2.0, rng) <= 2.0 + 0.01
    assert policy.delay(0, 60.0, rng) <= 5.0 + 0.01


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base_delay_s"):
        RetryPolicy(base_delay_s=2.0, max_delay_s=1.0)


def test_transient_errors_are_retried_until_success():
    fn, calls = scripted(
        [
            TransientError("429", kind="rate_limited", retry_after=0.2),
            TransientError("500", kind="server_error"),
            "ok",
        ]
    )
    slept: list[float] = []
    stats = TransportStats()
    result = run(
        call_with_retries(
            fn, RetryPolicy(4, 0.01, 1.0), CircuitBreaker(), stats, sleep=no_sleep(slept)
        )
    )
    assert result == "ok" and len(calls) == 3
    assert stats.retries == 2 and stats.failures == {"rate_limited": 1, "server_error": 1}
    assert slept[0] >= 0.2  # the server's Retry-After was honoured


def test_retries_are_bounded():
    fn, calls = scripted([TransientError("t", kind="timeout")] * 3)
    with pytest.raises(RetriesExhausted) as info:
        run(call_with_retries(fn, RetryPolicy(3, 0, 0), CircuitBreaker(10), sleep=no_sleep([])))
    assert len(calls) == 3 and info.value.reason == "retries_exhausted"
    assert "timeout" in str(info.value)


def test_provider_rejection_fails_fast_and_does_not_trip_the_breaker():
    breaker = CircuitBreaker(failure_threshold=1)
    fn, calls = scripted([ProviderError("400: bad model", status=400)])
    with pytest.raises(ProviderError, match="bad model"):
        run(call_with_retries(fn, RetryPolicy(5, 0, 0), breaker, sleep=no_sleep([])))
    assert len(calls) == 1 and breaker.state == "closed"


def test_breaker_opens_rejects_then_probes_once():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10.0, clock=clock)
    policy = RetryPolicy(1, 0, 0)
    for _ in range(2):
        fn, _ = scripted([TransientError("500", kind="server_error")])
        with pytest.raises(RetriesExhausted):
            run(call_with_retries(fn, policy, breaker, sleep=no_sleep([])))
    assert breaker.state == "open" and breaker.times_opened == 1
    fn, calls = scripted(["never called"])
    with pytest.raises(CircuitOpenError):
        run(call_with_retries(fn, policy, breaker, sleep=no_sleep([])))
    assert calls == []  # an open circuit does not touch the provider

    clock.now = 10.5
    assert breaker.state == "half_open"
    breaker.before_call()  # the single probe is let through ...
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # ... and a second concurrent caller is not
    breaker.record_failure()  # the probe failed: open again for a full timeout
    assert breaker.state == "open" and breaker.times_opened == 2

    clock.now = 21.0
    fn, _ = scripted(["ok"])
    assert run(call_with_retries(fn, policy, breaker, sleep=no_sleep([]))) == "ok"
    assert breaker.state == "closed"


def test_breaker_counts_consecutive_failures_only():
    breaker = CircuitBreaker(failure_threshold=3)
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state == "closed"
