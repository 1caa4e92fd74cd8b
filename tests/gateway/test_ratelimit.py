"""Token buckets: the arithmetic (fake clock), and the Redis bucket against the real Redis,
shared by several replicas without handing out more than the burst."""

from __future__ import annotations

import secrets
import socket
import threading

import pytest
import redis

from gateway.ratelimit import MemoryTokenBucket, RateLimiterUnavailable, RedisTokenBucket

FACIAL = "/v1/arena/facial/sample"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_memory_bucket_bursts_refills_and_says_when():
    clock = Clock()
    bucket = MemoryTokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.acquire("a").allowed for _ in range(4)] == [True, True, True, False]
    refused = bucket.acquire("a")
    assert refused.retry_after_s == pytest.approx(0.5)
    assert refused.retry_after_header == "1"
    assert bucket.acquire("b").allowed  # buckets are per key
    clock.now += 0.5  # one token back at 2 tokens/s
    assert bucket.acquire("a").allowed
    assert not bucket.acquire("a").allowed
    clock.now += 60  # refills only up to the burst
    assert [bucket.acquire("a").allowed for _ in range(4)] == [True, True, True, False]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="rate"):
        MemoryTokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        MemoryTokenBucket(rate=1, burst=0)


@pytest.mark.integration
def test_redis_bucket_bursts_then_refuses_with_a_wait(redis_url, redis_prefix):
    bucket = RedisTokenBucket(redis_url, rate=0.2, burst=5, prefix=redis_prefix)
    try:
        decisions = [bucket.acquire("tenant:1") for _ in range(6)]
        assert [d.allowed for d in decisions] == [True] * 5 + [False]
        assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
        assert 4.0 < decisions[-1].retry_after_s <= 5.0  # one token at 0.2/s
        assert bucket.acquire("tenant:2").allowed
        client = redis.Redis.from_url(redis_url)
        ttl_ms = client.pttl(redis_prefix + "tenant:1")
        client.close()
        assert 0 < ttl_ms <= 5 / 0.2 * 1000 + 1000  # expires once it would be full again
    finally:
        bucket.close()


@pytest.mark.integration
def test_replicas_share_one_bucket_and_never_overspend(redis_url, redis_prefix):
    burst = 40
    replicas = [
        RedisTokenBucket(redis_url, rate=0.001, burst=burst, prefix=redis_prefix) for _ in range(4)
    ]
    allowed = []
    lock = threading.Lock()

    def hammer(bucket: RedisTokenBucket) -> None:
        for _ in range(25):
            decision = bucket.acquire("tenant:shared")
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=hammer, args=(b,)) for b in replicas for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in replicas:
        b.close()
    assert len(allowed) == 200
    assert sum(allowed) == burst


@pytest.mark.integration
def test_the_gateway_limits_through_redis(make_api, redis_url, redis_prefix):
    shared = {
        "rate_limit_backend": "redis",
        "redis_url": redis_url,
        "rate_limit_key_prefix": redis_prefix,
        "rate_limit_burst": 3,
        "rate_limit_per_s": 0.1,
        "key_secret": secrets.token_urlsafe(48),
    }
    first = make_api(**shared)
    second = make_api(**shared)  # a second replica on the same database, secret and Redis
    headers = first.key("acme")
    codes = [api.get(FACIAL, headers=headers).status_code for api in (first, second, first)]
    assert codes == [200, 200, 200]
    refused = second.get(FACIAL, headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) in range(1, 11)
    ready = first.get("/readyz").json()
    assert ready["checks"]["rate_limiter"]["state"] == "ok"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_redis_is_a_503_not_an_open_door(make_api):
    api = make_api(
        rate_limit_backend="redis", redis_url=f"redis://:pw-in-url-123@127.0.0.1:{_closed_port()}/0"
    )
    response = api.get(FACIAL, headers=api.key("acme"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "pw-in-url-123" not in response.text
    with pytest.raises(RateLimiterUnavailable):
        api.state.limiter.acquire("x")
    ready = api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["rate_limiter"]["state"] == "unavailable"
    assert "pw-in-url-123" not in ready.text
