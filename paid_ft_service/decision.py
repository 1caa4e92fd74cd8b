"""Cost-benefit decision: paid fine-tuning vs self-hosted SRL → RLVR vs prompt engineering.

Each option gets four sub-scores in [0, 1] — performance gain, savings, risk, break-even — and
a weighted total; the seed rule adopts an option whose total exceeds 0.7. "Adopt" additionally
requires a *measured* quality gain on held-out arena scenarios (``MeasuredGain`` from an
evaluation run, not an estimate): an option without one is scored but never adopted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from paid_ft_service.costs import CostEstimate


@dataclass(frozen=True)
class DecisionConfig:
    w_gain: float = 0.40
    w_savings: float = 0.25
    w_risk: float = 0.20
    w_break_even: float = 0.15
    adopt_threshold: float = 0.7
    target_gain: float = 0.10  # a held-out success-rate gain this large scores 1.0
    horizon_months: float = 12.0
    min_heldout_scenarios: int = 30  # fewer than this is not a measurement

    def __post_init__(self) -> None:
        total = self.w_gain + self.w_savings + self.w_risk + self.w_break_even
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"decision weights must sum to 1 (got {total:.3f})")
        if self.target_gain <= 0 or self.horizon_months <= 0:
            raise ValueError("target_gain and horizon_months must be > 0")


@dataclass(frozen=True)
class MeasuredGain:
    """Held-out evaluation of the candidate against the current model, same scenarios."""

    baseline_success: float
    candidate_success: float
    n_scenarios: int
    split: str = "heldout"
    source: str = ""  # run id or report path

    @property
    def gain(self) -> float:
        return self.candidate_success - self.baseline_success


@dataclass
class Option:
    name: str  # paid_fine_tuning | self_hosted | prompt_engineering
    upfront_usd: float
    monthly_usd: float
    risk: float  # 1 = no known risk
    measured: MeasuredGain | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ScoredOption:
    name: str
    scores: dict[str, float]
    total: float
    adopt: bool
    upfront_usd: float
    monthly_usd: float
    break_even_months: float | None
    rationale: list[str]


def paid_option(
    estimate: CostEstimate,
    status: str,
    shutdown: date | None,
    today: date,
    measured: MeasuredGain | None,
    horizon_months: float = 12.0,
) -> Option:
    risk, notes = {"available": 0.9, "winding_down": 0.3}.get(status, 0.0), []
    if status != "available":
        notes.append(f"provider status: {status}")
    if shutdown is not None and (shutdown - today).days < horizon_months * 30.4:
        risk = 0.0
        notes.append(f"model shuts down {shutdown.isoformat()}, inside the horizon")
    if not estimate.confirmed:
        risk = max(0.0, risk - 0.2)
        notes.append("prices unconfirmed")
    return Option(
        "paid_fine_tuning",
        estimate.training_usd,
        estimate.inference_usd_per_month,
        risk,
        measured,
        notes,
    )


def self_hosted_option(
    srl_gpu_hours: float,
    rlvr_gpu_hours: float,
    gpu_hour_usd: float,
    serving_gpu_hours_per_month: float,
    measured: MeasuredGain | None,
    stage_source: str,
) -> Option:
    """Training from the tracker's measured stage times; serving on our own GPUs."""
    return Option(
        "self_hosted",
        (srl_gpu_hours + rlvr_gpu_hours) * gpu_hour_usd,
        serving_gpu_hours_per_month * gpu_hour_usd,
        0.85,
        measured,
        [f"stage times from {stage_source}", f"GPU at ${gpu_hour_usd:.2f}/h"],
    )


def prompt_option(
    search_usd: float, extra_monthly_usd: float, measured: MeasuredGain | None
) -> Option:
    return Option(
        "prompt_engineering",
        search_usd,
        extra_monthly_usd,
        0.9,
        measured,
        ["longer prompts raise the per-request cost; nothing is trained"],
    )


def score_option(option: Option, current_monthly_usd: float, cfg: DecisionConfig) -> ScoredOption:
    why: list[str] = list(option.notes)
    m = option.measured
    measured_ok = (
        m is not None and m.split == "heldout" and m.n_scenarios >= cfg.min_heldout_scenarios
    )
    if m is None:
        gain = 0.0
        why.append("no measured gain: not adoptable until evaluated on held-out scenarios")
    elif not measured_ok:
        gain = 0.0
        why.append(
            f"gain measured on {m.n_scenarios} {m.split} scenarios; needs >= "
            f"{cfg.min_heldout_scenarios} held-out"
        )
    else:
        gain = max(0.0, min(1.0, m.gain / cfg.target_gain))
        why.append(f"held-out success {m.baseline_success:.2f} -> {m.candidate_success:.2f}")
    saving = current_monthly_usd - option.monthly_usd
    scale = max(current_monthly_usd, option.monthly_usd, 1e-9)
    savings = max(0.0, min(1.0, 0.5 + 0.5 * saving / scale))
    if option.upfront_usd <= 0:
        months, break_even = 0.0, 1.0
    elif saving > 0:
        months = option.upfront_usd / saving
        break_even = max(0.0, min(1.0, 1.0 - (months - 1.0) / cfg.horizon_months))
    else:
        months, break_even = None, 0.0
        why.append("never breaks even: it costs more per month than the current setup")
    scores = {
        "performance_gain": gain,
        "savings": savings,
        "risk": option.risk,
        "break_even": break_even,
    }
    total = (
        cfg.w_gain * gain
        + cfg.w_savings * savings
        + cfg.w_risk * option.risk
        + cfg.w_break_even * break_even
    )
    adopt = measured_ok and (m.gain > 0) and total > cfg.adopt_threshold
    return ScoredOption(
        option.name,
        scores,
        round(total, 4),
        adopt,
        option.upfront_usd,
        option.monthly_usd,
        months,
        why,
    )


def decide(
    options: list[Option], current_monthly_usd: float, cfg: DecisionConfig | None = None
) -> dict[str, Any]:
    """Score every option and recommend the best adoptable one (or keeping the current model)."""
    cfg = cfg or DecisionConfig()
    scored = sorted(
        (score_option(o, current_monthly_usd, cfg) for o in options),
        key=lambda s: s.total,
        reverse=True,
    )
    adoptable = [s for s in scored if s.adopt]
    if adoptable:
        best = adoptable[0]
        recommendation = best.name
        rationale = (
            f"{best.name} scores {best.total:.2f} > {cfg.adopt_threshold} with a measured "
            "held-out gain"
        )
    else:
        recommendation = "keep_current"
        top = scored[0] if scored else None
        rationale = (
            "no option clears the adoption rule"
            + (f"; best is {top.name} at {top.total:.2f}" if top else "")
            + f" (needs > {cfg.adopt_threshold} and a measured held-out gain)"
        )
    return {
        "recommendation": recommendation,
        "rationale": rationale,
        "threshold": cfg.adopt_threshold,
        "weights": {
            "performance_gain": cfg.w_gain,
            "savings": cfg.w_savings,
            "risk": cfg.w_risk,
            "break_even": cfg.w_break_even,
        },
        "options": [asdict(s) for s in scored],
    }
