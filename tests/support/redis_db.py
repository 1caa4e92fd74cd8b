"""The test Redis: each suite has a database number of its own, so suites never touch each
other's keys; an environment variable points a suite at another server."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tests.support.integration import unreachable


@dataclass(frozen=True)
class RedisDb:
    """``env_var`` when set, else database ``db`` of the Redis on 127.0.0.1:6379."""

    env_var: str
    db: int

    @property
    def url(self) -> str:
        return os.environ.get(self.env_var, f"redis://127.0.0.1:6379/{self.db}")

    def require(self) -> str:
        """The URL, once the server answers a ping; fails (or, with SRLFORGE_SKIP_INTEGRATION=1,
        skips) the test when it does not."""
        import redis  # a serve extra: imported only by the tests that need it

        url = self.url
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            unreachable(f"Redis at {url}", exc, self.env_var)
        finally:
            client.close()
        return url


# One database per suite.
COLLAB = RedisDb("SRLFORGE_TEST_REDIS_URL", 5)
GATEWAY = RedisDb("SRLFORGE_TEST_GATEWAY_REDIS_URL", 11)
