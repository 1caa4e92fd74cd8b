"""``POST /v1/rewards/{model_type}``: our verifiers as a paid provider's reward function."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from gateway import rewards
from gateway.deps import GatewayState, State, Tenant
from gateway.keys import Principal
from gateway.routes.arena import arena_for, authentic, default_rules_version
from gateway.schemas import RewardRequest, RewardResponse
from srlforge.rewards import episode_reward
from srlforge.rules import RuleSet
from srlforge.schema import Scenario

router = APIRouter(prefix="/rewards", tags=["rewards"])


def _scenario(
    state: GatewayState, principal: Principal, model_type: str, body: RewardRequest
) -> tuple[Scenario, RuleSet]:
    """The scenario the example names, with the rule set it was generated under."""
    try:
        scenario, ref, version = rewards.scenario_reference(body.example, body.metadata)
    except rewards.ExampleError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if scenario is not None:
        rules = state.rules.by_identity(principal, scenario.rules_version)
    elif version is not None and "+" in version:
        rules = state.rules.by_identity(principal, version)
    else:
        rules = state.rules.resolve(principal, version, default_rules_version())
    if ref is not None:
        ref_type, seed, index, difficulty = ref
        if ref_type != model_type:
            raise HTTPException(
                422, detail=f"example.scenario_id is a {ref_type} scenario, not {model_type}"
            )
        return arena_for(model_type, rules).sample(seed, index, difficulty), rules
    if scenario is None or scenario.model_type != model_type:
        kind = scenario.model_type if scenario is not None else "missing"
        raise HTTPException(422, detail=f"example.scenario is a {kind} scenario, not {model_type}")
    return authentic(arena_for(model_type, rules), scenario), rules


@router.post("/{model_type}", response_model=RewardResponse, description=rewards.__doc__)
def reward(model_type: str, body: RewardRequest, state: State, principal: Tenant) -> RewardResponse:
    scenario, rules = _scenario(state, principal, model_type, body)
    arena = arena_for(model_type, rules)
    steps = rewards.response_steps(body.response)
    return RewardResponse(reward=rewards.clip_reward(episode_reward(arena, scenario, steps)))
