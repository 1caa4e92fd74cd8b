"""Model selection: rank candidate models by a weighted multi-criteria score.

Four criteria, each scored in [0, 1]:

- capability: the mean of the candidate's evaluation metrics named in
  ``select_capability_metrics`` (held-out accuracy, quality, success rate); none known → 0;
- responsibility match: the share of the required responsibilities the candidate covers (its
  declared responsibilities plus its model type);
- cost: ``s / (s + cost_per_token)``, 1 for free and 0.5 at the configured scale ``s``, so a
  single candidate still gets a meaningful score and no price is "free";
- latency: the same shape with the latency scale.

Unknown cost or latency scores 0: a candidate that hides its price is not assumed cheap. The
total is the weighted mean with the weights from settings. Hard limits in the request (maximum
cost, latency; minimum capability; a different model type) exclude a candidate before scoring,
and the answer says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from gateway.settings import GatewaySettings

CRITERIA = ("capability", "responsibility", "cost", "latency")
MODEL_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Candidate(_Strict):
    model_id: str = Field(min_length=1, max_length=200)
    model_type: str | None = Field(default=None, pattern=MODEL_TYPE_PATTERN)
    provider: str = Field(default="self-hosted", max_length=100)
    responsibilities: list[str] = Field(default_factory=list, max_length=50)
    evaluation: dict[str, float] = Field(
        default_factory=dict, max_length=50, description="Held-out metrics, e.g. accuracy."
    )
    cost_per_token: float | None = Field(default=None, ge=0, description="USD per token.")
    latency_ms: float | None = Field(default=None, ge=0, description="Per action.")


class SelectRequest(_Strict):
    model_type: str | None = Field(default=None, pattern=MODEL_TYPE_PATTERN)
    responsibilities: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="What the model must do; empty means just the model type.",
    )
    candidates: list[Candidate] | None = Field(
        default=None,
        max_length=500,
        description="Models to rank; omitted: the tracker's registry (non-archived versions).",
    )
    max_cost_per_token: float | None = Field(default=None, ge=0)
    max_latency_ms: float | None = Field(default=None, ge=0)
    min_capability: float | None = Field(default=None, ge=0, le=1)


class CriterionScore(BaseModel):
    score: float
    weight: float
    contribution: float
    basis: str


class RankedModel(BaseModel):
    rank: int
    model_id: str
    provider: str
    model_type: str | None
    total: float
    breakdown: dict[str, CriterionScore]


class ExcludedModel(BaseModel):
    model_id: str
    reasons: list[str]


class SelectResponse(BaseModel):
    source: str = Field(description="'request' or 'tracker': where the candidates came from.")
    weights: dict[str, float] = Field(description="Normalised weights (sum 1) from settings.")
    ranking: list[RankedModel]
    excluded: list[ExcludedModel]
    rationale: str


class NoCandidates(ValueError):
    pass


@dataclass(frozen=True)
class _Scored:
    candidate: Candidate
    scores: dict[str, float]
    basis: dict[str, str]


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _score(candidate: Candidate, required: set[str], settings: GatewaySettings) -> _Scored:
    known = {
        m: candidate.evaluation[m]
        for m in settings.select_capability_metrics
        if m in candidate.evaluation
    }
    capability = sum(min(1.0, max(0.0, v)) for v in known.values()) / len(known) if known else 0.0
    covered = set(candidate.responsibilities) | (
        {candidate.model_type} if candidate.model_type else set()
    )
    responsibility = len(required & covered) / len(required) if required else 1.0
    cost = candidate.cost_per_token
    latency = candidate.latency_ms
    cost_scale = settings.select_cost_scale_per_token
    latency_scale = settings.select_latency_scale_ms
    scores = {
        "capability": capability,
        "responsibility": responsibility,
        "cost": 0.0 if cost is None else cost_scale / (cost_scale + cost),
        "latency": 0.0 if latency is None else latency_scale / (latency_scale + latency),
    }
    missing = sorted(required - covered)
    basis = {
        "capability": ", ".join(f"{m} {_fmt(v)}" for m, v in known.items())
        or "no evaluation metrics known",
        "responsibility": (
            f"covers {len(required & covered)}/{len(required)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
        if required
        else "no responsibilities required",
        "cost": "unknown cost" if cost is None else f"{cost:.3g} USD/token",
        "latency": "unknown latency" if latency is None else f"{latency:.4g} ms",
    }
    return _Scored(candidate, scores, basis)


def _exclusions(candidate: Candidate, request: SelectRequest, capability: float) -> list[str]:
    reasons = []
    if request.model_type and candidate.model_type and candidate.model_type != request.model_type:
        reasons.append(f"serves {candidate.model_type}, not {request.model_type}")
    cost, latency = candidate.cost_per_token, candidate.latency_ms
    if request.max_cost_per_token is not None and (
        cost is None or cost > request.max_cost_per_token
    ):
        reasons.append(
            f"cost {'unknown' if cost is None else _fmt(cost)} above the limit "
            f"{_fmt(request.max_cost_per_token)} USD/token"
        )
    if request.max_latency_ms is not None and (latency is None or latency > request.max_latency_ms):
        reasons.append(
            f"latency {'unknown' if latency is None else _fmt(latency)} ms above the limit "
            f"{_fmt(request.max_latency_ms)} ms"
        )
    if request.min_capability is not None and capability < request.min_capability:
        reasons.append(f"capability {_fmt(capability)} below {_fmt(request.min_capability)}")
    return reasons


def _rationale(ranking: list[RankedModel], excluded: list[ExcludedModel]) -> str:
    if not ranking:
        return f"No candidate meets the hard limits ({len(excluded)} excluded; see 'excluded')."
    best = ranking[0]
    strongest = max(CRITERIA, key=lambda c: best.breakdown[c].contribution)
    text = (
        f"{best.model_id} ranks first with {best.total:.3f}; its largest share comes from "
        f"{strongest} ({best.breakdown[strongest].basis})."
    )
    if len(ranking) > 1:
        second = ranking[1]
        gaps = {
            c: best.breakdown[c].contribution - second.breakdown[c].contribution for c in CRITERIA
        }
        lead = max(gaps, key=lambda c: gaps[c])
        lag = min(gaps, key=lambda c: gaps[c])
        text += (
            f" It beats {second.model_id} ({second.total:.3f}) mostly on {lead} "
            f"(+{gaps[lead]:.3f} weighted)"
        )
        text += f", despite trailing on {lag} ({gaps[lag]:.3f})." if gaps[lag] < 0 else "."
    if excluded:
        text += f" {len(excluded)} candidate(s) excluded by hard limits."
    return text


def select_models(
    request: SelectRequest,
    candidates: Sequence[Candidate],
    settings: GatewaySettings,
    source: str,
) -> SelectResponse:
    if not candidates:
        raise NoCandidates(
            "no candidate models: pass 'candidates' or register models in the tracker"
        )
    raw = settings.selection_weights()
    total_weight = sum(raw.values())
    weights = {c: raw[c] / total_weight for c in CRITERIA}
    required = set(request.responsibilities) or (
        {request.model_type} if request.model_type else set()
    )
    scored: list[_Scored] = []
    excluded: list[ExcludedModel] = []
    for candidate in candidates:
        entry = _score(candidate, required, settings)
        reasons = _exclusions(candidate, request, entry.scores["capability"])
        if reasons:
            excluded.append(ExcludedModel(model_id=candidate.model_id, reasons=reasons))
        else:
            scored.append(entry)
    rows = []
    for entry in scored:
        breakdown = {
            c: CriterionScore(
                score=round(entry.scores[c], 6),
                weight=round(weights[c], 6),
                contribution=round(weights[c] * entry.scores[c], 6),
                basis=entry.basis[c],
            )
            for c in CRITERIA
        }
        total = sum(weights[c] * entry.scores[c] for c in CRITERIA)
        rows.append((total, entry.candidate, breakdown))
    # Ties break on the id so the same request always gives the same ranking.
    rows.sort(key=lambda r: (-r[0], r[1].model_id))
    ranking = [
        RankedModel(
            rank=i + 1,
            model_id=c.model_id,
            provider=c.provider,
            model_type=c.model_type,
            total=round(total, 6),
            breakdown=breakdown,
        )
        for i, (total, c, breakdown) in enumerate(rows)
    ]
    return SelectResponse(
        source=source,
        weights={c: round(w, 6) for c, w in weights.items()},
        ranking=ranking,
        excluded=excluded,
        rationale=_rationale(ranking, excluded),
    )
