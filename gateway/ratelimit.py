"""Per-tenant token buckets: in memory for one process, in Redis for every replica at once.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request takes
one token or is refused with the seconds until one is back (the ``Retry-After`` of the 429).
The Redis bucket runs as one Lua script, so concurrent replicas cannot both take the last
token, and it reads the clock from Redis (``TIME``), so replicas with skewed clocks agree.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0
    remaining: int = 0

    @property
    def retry_after_header(self) -> str:
        # Retry-After takes whole seconds; round up so a client that obeys it is not refused.
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiterUnavailable(RuntimeError):
    """The shared limiter cannot be reached; the gateway answers 503 rather than run unlimited."""


class RateLimiter(Protocol):
    def acquire(self, key: str) -> Decision: ...

    def close(self) -> None: ...


def _check(rate: float, burst: int) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate} burst={burst}")


class MemoryTokenBucket:
    """Token buckets in this process (the embedded default: one gateway process)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        _check(rate, burst)
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()  # sync routes run on a thread pool

    def acquire(self, key: str) -> Decision:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return Decision(True, remaining=int(tokens - 1.0))
            self._buckets[key] = (tokens, now)
            return Decision(False, retry_after_s=(1.0 - tokens) / self.rate)

    def close(self) -> None:
        self._buckets.clear()


# KEYS[1] bucket hash; ARGV: rate (tokens/s), burst, ttl (ms).
# Returns {allowed (0/1), tokens left (string, float), ms until a token is back}.
_LUA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, tostring(tokens), wait_ms}
"""


class RedisTokenBucket:
    """Token buckets in Redis, shared by every gateway replica (the distributed mode)."""

    def __init__(
        self,
        url: str,
        rate: float,
        burst: int,
        *,
        prefix: str = "srlforge:gateway:ratelimit:",
        timeout_s: float = 1.0,
    ) -> None:
        _check(rate, burst)
        self.rate, self.burst, self.prefix = rate, burst, prefix
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script = self._client.register_script(_LUA)
        # A full bucket is the same as no bucket: expire keys once they would have refilled.
        self._ttl_ms = math.ceil(burst / rate * 1000) + 1000

    def acquire(self, key: str) -> Decision:
        try:
            allowed, tokens, wait_ms = self._script(
                keys=[self.prefix + key], args=[self.rate, self.burst, self._ttl_ms]
            )
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(
                f"rate limiter Redis unavailable ({type(exc).__name__})"
            ) from None
        if allowed:
            return Decision(True, remaining=int(float(tokens)))
        return Decision(False, retry_after_s=int(wait_ms) / 1000)

    def ping(self) -> None:
        self._client.ping()

    def close(self) -> None:
        self._client.close()
