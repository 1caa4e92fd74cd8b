"""``POST /v1/models:select``: rank candidate models for a job."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import State, Tenant
from gateway.selection import NoCandidates, SelectRequest, SelectResponse, select_models

router = APIRouter(tags=["models"])


@router.post("/models:select", response_model=SelectResponse)
def select(body: SelectRequest, state: State, principal: Tenant) -> SelectResponse:
    """Weighted multi-criteria ranking (capability, responsibility match, cost, latency).

    The weights come from the SRLFORGE_GATEWAY_SELECT_WEIGHT_* settings. Candidates are the
    request's, or, when it gives none, the tracker's registered (non-archived) versions.
    """
    if body.candidates is not None:
        return select_models(body, body.candidates, state.settings, source="request")
    if not state.tracker.enabled:
        raise NoCandidates(
            "no candidates given and no tracker configured (SRLFORGE_GATEWAY_TRACKER=off); "
            "pass 'candidates'"
        )
    candidates = state.tracker.candidates(body.model_type)
    return select_models(body, candidates, state.settings, source="tracker")
