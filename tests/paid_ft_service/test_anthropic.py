"""Anthropic prompt optimisation through the Messages API (official SDK) against the fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from srlforge_test_fakes.credentials import ANTHROPIC_KEY

from paid_ft_service import service
from paid_ft_service.datasets import render_episode
from paid_ft_service.errors import AuthFailed, NotAvailable
from paid_ft_service.service import SubmitRequest
from srlforge.arena import get_arena
from srlforge.arena.hacks import PROBES

HAIKU = "claude-haiku-4-5"


@pytest.fixture
def answers(facial_trajectories, facial_examples):
    """Prompt text -> (expert answer, hacked answer)."""
    arena = get_arena("facial")
    out = {}
    for t, ex in zip(facial_trajectories, facial_examples, strict=True):
        hacked = render_episode(PROBES["saturated"](arena, t.scenario, t.steps)[0])
        out[ex.prompt] = (render_episode(t.steps), hacked)
    return out


def test_search_picks_the_prompt_the_verifier_scores_best(
    make_ctx, anthropic_fake, facial_examples, answers
):
    # The fake model solves a scenario only when the prompt shows it a worked example.
    def behaviour(system, messages):
        good, bad = answers[messages[-1]["content"]]
        return good if any(m["role"] == "assistant" for m in messages) else bad

    anthropic_fake.behaviour = behaviour
    ctx = make_ctx()
    request = SubmitRequest(
        "anthropic",
        HAIKU,
        "prompt_optimization",
        facial_examples,
        model_type="facial",
        validation_fraction=0.3,
    )
    job = service.submit_job(ctx, request, base_url=anthropic_fake.url)
    assert job["status"] == "succeeded" and job["label"] == "prompt_optimization"
    result = job["result"]
    assert job["tuned_model"] == f"prompt-opt:{HAIKU}:{result['version']}"
    assert result["candidate"].endswith("/1-shot")  # the cheapest prompt that solves
    assert result["best_score"] > 0.9 > 0.3 > result["baseline_score"]
    saved = json.loads(Path(result["artifact"]).read_text())
    assert saved["prompt"]["few_shot"][0]["completion"].startswith("<think>")
    assert len(anthropic_fake.calls) == result["calls"]
    assert service.get_job(ctx, job["id"])["budget_hold"] == "committed"


def test_fine_tuning_is_refused_with_the_reason(make_ctx, anthropic_fake, facial_examples):
    request = SubmitRequest("anthropic", HAIKU, "supervised", facial_examples, model_type="facial")
    with pytest.raises(NotAvailable, match="no fine-tuning API; use method prompt_optimization"):
        service.submit_job(make_ctx(), request, base_url=anthropic_fake.url)
    assert anthropic_fake.log == []


def test_overloaded_is_retried_and_bad_key_is_not(
    make_ctx, anthropic_fake, facial_examples, answers, sleeps
):
    anthropic_fake.behaviour = lambda s, m: answers[m[-1]["content"]][0]
    anthropic_fake.fail_next("POST", "/v1/messages", 529, message="Overloaded")
    ctx = make_ctx()
    request = SubmitRequest(
        "anthropic", HAIKU, "prompt_optimization", facial_examples[:6], model_type="facial"
    )
    assert service.submit_job(ctx, request, base_url=anthropic_fake.url)["status"] == "succeeded"
    assert sleeps == [1.0]
    anthropic_fake.expired_keys.add(ANTHROPIC_KEY)
    with pytest.raises(AuthFailed) as info:
        service.submit_job(ctx, request, idempotency_key="again", base_url=anthropic_fake.url)
    assert "authentication_error" in str(info.value) or "401" in str(info.value)
    assert ANTHROPIC_KEY not in str(info.value) and sleeps == [1.0]
