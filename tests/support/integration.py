"""What an integration test does when a server it needs is not there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

SKIP_ENV = "SRLFORGE_SKIP_INTEGRATION"


def unreachable(what: str, exc: BaseException, env_var: str) -> NoReturn:
    """Fail with a message saying how to fix it, or skip when SRLFORGE_SKIP_INTEGRATION=1."""
    message = (
        f"{what} is not reachable ({type(exc).__name__}: {exc}). Start it, point {env_var} at "
        f"one, or set {SKIP_ENV}=1 to skip the integration tests."
    )
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)
