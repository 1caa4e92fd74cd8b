"""The catalogue as data, the up-front refusals, and cost estimates."""

from __future__ import annotations

from datetime import date

import pytest

from paid_ft_service.catalogue import load_catalogue
from paid_ft_service.costs import estimate_cost
from paid_ft_service.errors import NotAvailable

TODAY = date(2026, 11, 25)


def test_listing_has_the_documented_shape_and_honest_availability():
    listing = {p["provider"]: p for p in load_catalogue().listing(TODAY)}
    assert set(listing) == {"openai", "vertex", "bedrock", "together", "anthropic"}
    for p in listing.values():
        assert {"provider", "methods", "models"} <= set(p)
        for m in p["models"]:
            assert {"model", "methods", "available", "shutdown_date", "source"} <= set(m)
            assert m["source"] and m["prices"]["source"] and m["prices"]["as_of"]
    models = {m["model"]: m for m in listing["openai"]["models"]}
    assert models["o4-mini-2025-04-16"]["available"] is False
    assert models["o4-mini-2025-04-16"]["shutdown_date"] == "2026-10-23"
    assert models["gpt-4o-mini-2024-07-18"]["available"] is True
    assert listing["anthropic"]["methods"] == ["prompt_optimization"]
    assert listing["anthropic"]["status"] == "no_fine_tuning"
    assert all(not m["prices"]["confirmed"] for p in listing.values() for m in p["models"])


def test_new_openai_jobs_stop_after_the_cutoff():
    cat = load_catalogue()
    cat.check_submittable("openai", "gpt-4o-mini-2024-07-18", "dpo", date(2027, 1, 5))
    with pytest.raises(NotAvailable, match="no new fine-tuning jobs after 2027-01-05"):
        cat.check_submittable("openai", "gpt-4o-mini-2024-07-18", "dpo", date(2027, 1, 6))
    with pytest.raises(NotAvailable, match="unknown provider 'fireworks'"):
        cat.check_submittable("fireworks", "x", "supervised", TODAY)
    with pytest.raises(NotAvailable, match="no catalogued model 'gpt-5'"):
        cat.check_submittable("openai", "gpt-5", "supervised", TODAY)


def test_estimates_follow_tokens_epochs_and_hours():
    cat = load_catalogue()
    row = cat.check_submittable("openai", "gpt-4o-mini-2024-07-18", "supervised", TODAY)
    cost = estimate_cost(
        "openai",
        row,
        "supervised",
        2_000_000,
        epochs=3,
        monthly_requests=100_000,
        tokens_per_request=(1000, 200),
    )
    assert cost.training_usd == pytest.approx(2 * 3 * 3.0)
    assert cost.inference_usd_per_month == pytest.approx(100_000 * (1000 * 0.3 + 200 * 1.2) / 1e6)
    assert cost.confirmed is False and "as of" in cost.sources[0]
    rft = cat.provider("openai").model("o4-mini-2025-04-16")
    hours = estimate_cost("openai", rft, "reinforcement", 1_000_000, epochs=4)
    assert hours.training_usd == pytest.approx(2 * 100.0)
    assert "training hours assumed" in hours.assumptions[0]
    haiku = cat.check_submittable("anthropic", "claude-haiku-4-5", "prompt_optimization", TODAY)
    search = estimate_cost("anthropic", haiku, "prompt_optimization", 0, optimisation_calls=100)
    assert search.training_usd == pytest.approx(100 * (800 * 1.0 + 200 * 5.0) / 1e6)
