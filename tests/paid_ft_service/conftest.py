"""Fixtures of the paid fine-tuning tests: the provider fakes, a service context, datasets."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paid_ft_service.datasets import examples_from_trajectories, expert_trajectories
from paid_ft_service.orm import PaidFTDatabase
from paid_ft_service.service import PaidFT
from paid_ft_service.settings import PaidFTSettings

FAKES_DIR = Path(__file__).resolve().parents[1] / "fakes"
PACKAGE = "srlforge_test_fakes"


def load_fakes():
    """``tests/fakes`` as a package (importlib mode has no test packages)."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, FAKES_DIR / "__init__.py", submodule_search_locations=[str(FAKES_DIR)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE]


def fake_module(name: str):
    load_fakes()
    return importlib.import_module(f"{PACKAGE}.{name}")


load_fakes()
from srlforge_test_fakes.credentials import (  # noqa: E402  (registered by load_fakes)
    ANTHROPIC_KEY,
    AWS_KEY_ID,
    AWS_SECRET,
    OPENAI_KEY,
    TOGETHER_KEY,
    VERTEX_TOKEN,
)


@pytest.fixture(scope="session")
def facial_trajectories():
    return expert_trajectories("facial", 14, seed=11)


@pytest.fixture(scope="session")
def facial_examples(facial_trajectories):
    return list(examples_from_trajectories(facial_trajectories, "episode"))


@pytest.fixture
def settings(tmp_path) -> PaidFTSettings:
    return PaidFTSettings(
        db_url=f"sqlite:///{tmp_path / 'paid_ft.db'}",
        openai_api_key=OPENAI_KEY,
        together_api_key=TOGETHER_KEY,
        anthropic_api_key=ANTHROPIC_KEY,
        vertex_access_token=VERTEX_TOKEN,
        vertex_project="srlforge-test",
        vertex_bucket="srlforge-data",
        aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key=AWS_SECRET,
        bedrock_bucket="srlforge-data",
        bedrock_role_arn="arn:aws:iam::123456789012:role/srlforge-bedrock",
        reward_endpoint_base="https://gateway.example.test",
        default_budget_usd=1000.0,
        max_retries=3,
        backoff_base_s=1.0,
    )


class Sleeps(list):
    """A ``sleep`` that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_ctx(settings, sleeps):
    made = []

    def make(now: datetime | None = None, tracker=None) -> PaidFT:
        clock = {"now": now or datetime.now(UTC)}
        ctx = PaidFT(
            settings,
            db=PaidFTDatabase(settings.resolved_db_url()),
            tracker=tracker,
            now=lambda: clock["now"],
            sleep=sleeps,
        )
        ctx.clock = clock
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.db.dispose()


@pytest.fixture
def openai_fake():
    mod = fake_module("openai_fake")
    models = {"gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14", "o4-mini-2025-04-16"}
    with mod.FakeOpenAI(OPENAI_KEY, models=models) as fake:
        yield fake


@pytest.fixture
def vertex_fake():
    mod = fake_module("vertex_fake")
    with mod.FakeVertex(VERTEX_TOKEN) as fake:
        yield fake


@pytest.fixture
def bedrock_fake():
    mod = fake_module("bedrock_fake")
    with mod.FakeBedrock(AWS_KEY_ID) as fake:
        yield fake


@pytest.fixture
def together_fake():
    mod = fake_module("together_fake")
    with mod.FakeTogether(TOGETHER_KEY) as fake:
        yield fake


@pytest.fixture
def anthropic_fake():
    mod = fake_module("anthropic_fake")
    with mod.FakeAnthropic(ANTHROPIC_KEY) as fake:
        yield fake
