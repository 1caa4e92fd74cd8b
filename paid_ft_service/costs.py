"""What a paid job costs: training (tokens × epochs × price, or hours × price) and inference.

Prices come from the catalogue; an estimate carries whether every price it used is confirmed,
and where each came from, so a report never passes off a guess as a quote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from paid_ft_service.catalogue import ModelEntry

# Reinforcement fine-tuning bills wall-clock hours; absent a measured rate, assume one hour per
# this many training tokens (including sampled rollouts). Stated as an assumption in the output.
RFT_TOKENS_PER_HOUR = 2_000_000


@dataclass
class CostEstimate:
    provider: str
    model: str
    method: str
    training_tokens: int  # per epoch
    epochs: int
    training_usd: float
    inference_usd_per_month: float
    monthly_requests: int
    tokens_per_request: tuple[int, int]  # (input, output)
    confirmed: bool
    sources: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def total_usd(self, months: float = 1.0) -> float:
        return self.training_usd + months * self.inference_usd_per_month

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_first_month_usd": self.total_usd(1.0)}


def estimate_cost(
    provider: str,
    row: ModelEntry,
    method: str,
    training_tokens: int,
    epochs: int = 3,
    monthly_requests: int = 0,
    tokens_per_request: tuple[int, int] = (800, 200),
    optimisation_calls: int = 0,
    rft_hours: float | None = None,
) -> CostEstimate:
    """Estimate one job. ``optimisation_calls``: Messages calls a prompt search will make."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    prices = row.prices
    assumptions: list[str] = []
    tin, tout = tokens_per_request
    if method == "prompt_optimization":
        training = optimisation_calls * (tin * prices.input_per_1m + tout * prices.output_per_1m)
        training /= 1e6
        assumptions.append(f"{optimisation_calls} Messages calls of ~{tin}+{tout} tokens")
    elif prices.training_per_hour is not None:
        hours = rft_hours
        if hours is None:
            hours = max(1.0, training_tokens * epochs / RFT_TOKENS_PER_HOUR)
            assumptions.append(
                f"{hours:.1f} training hours assumed ({RFT_TOKENS_PER_HOUR:,} tokens/hour); "
                "grader tokens extra"
            )
        training = hours * prices.training_per_hour
    elif prices.training_per_1m_tokens is not None:
        training = training_tokens * epochs * prices.training_per_1m_tokens / 1e6
    else:
        raise ValueError(f"{provider} {row.model} has no training price in the catalogue")
    inference = monthly_requests * (tin * prices.input_per_1m + tout * prices.output_per_1m) / 1e6
    if monthly_requests:
        assumptions.append(f"{monthly_requests:,} requests/month of ~{tin}+{tout} tokens")
    return CostEstimate(
        provider=provider,
        model=row.model,
        method=method,
        training_tokens=training_tokens,
        epochs=epochs,
        training_usd=round(training, 4),
        inference_usd_per_month=round(inference, 4),
        monthly_requests=monthly_requests,
        tokens_per_request=tokens_per_request,
        confirmed=prices.confirmed,
        sources=[f"{prices.source} (as of {prices.as_of.isoformat()})"],
        assumptions=assumptions,
    )
