"""Retry with exponential backoff for provider calls: 429 and 5xx only, never auth failures.

The sleep function is injected, so tests run the real policy without waiting and the Celery
monitor can reuse ``backoff_delay`` for its own schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from paid_ft_service.errors import ProviderError, RateLimited

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_s: float = 1.0
    max_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_s < 0 or self.max_s <= 0:
            raise ValueError(
                f"RetryPolicy needs max_retries >= 0, base_s >= 0, max_s > 0; got {self}"
            )


def backoff_delay(attempt: int, base_s: float, max_s: float) -> float:
    """``base × 2^attempt`` capped at ``max_s`` (attempt counts from 0)."""
    return min(max_s, base_s * (2**attempt))


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "call",
) -> T:
    """Run ``fn``; on a retryable ``ProviderError`` wait and try again, up to the policy's limit.

    A ``Retry-After`` from the provider is honoured when it is longer than the backoff.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except ProviderError as exc:
            if not exc.retryable or attempt >= policy.max_retries:
                raise
            delay = backoff_delay(attempt, policy.base_s, policy.max_s)
            if isinstance(exc, RateLimited) and exc.retry_after:
                delay = min(policy.max_s, max(delay, exc.retry_after))
            log.warning("%s: %s; retry %d in %.1fs", what, exc, attempt + 1, delay)
            sleep(delay)
            attempt += 1
