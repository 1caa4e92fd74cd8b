"""``srlforge serve`` answers every request of a keep-alive connection at once.

The server binds its own socket; with ``proto`` 0 asyncio left Nagle on for accepted
connections, and each response after a connection's first waited ~40 ms for the client's
delayed ACK (bench/results/gateway.md: p50 44 ms for /healthz before, under 2 ms after)."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.gateway.test_serve import served  # noqa: F401  (the gateway process fixture)


def test_requests_on_one_keepalive_connection_are_not_held_back(served):  # noqa: F811
    base_url = served[0]
    with httpx.Client(base_url=base_url, timeout=30) as client:
        client.get("/healthz")  # opens the connection
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    # 40 ms of Nagle + delayed ACK per request before; a loaded 2-core machine stays far below.
    assert statistics.median(timings) < 20, timings
