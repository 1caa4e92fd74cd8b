"""Fixtures of the suites that talk to the fake OpenAI-compatible server
(``tests/llm/fake_openai.py``); a conftest imports them by name."""

from __future__ import annotations

import pytest

from tests.llm import fake_openai


@pytest.fixture(scope="session")
def fake():
    """The fake-server module: ``fake.FakeOpenAI`` and its behaviours."""
    return fake_openai


@pytest.fixture(autouse=True)
def no_ambient_openai_env(monkeypatch):
    # A developer's real OPENAI_* variables must not leak into (or satisfy) these tests.
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
