"""``/v1/arena``: sample a scenario, verify an episode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gateway.deps import State, Tenant
from gateway.schemas import SEMVER_PATTERN, SampleResponse, VerifyRequest, VerifyResponse
from srlforge.arena import Arena, UnknownModelType, get_arena
from srlforge.rules import RuleFileError, RuleSet
from srlforge.schema import Scenario
from srlforge.settings import get_settings as get_shared_settings

router = APIRouter(prefix="/arena", tags=["arena"])


def arena_for(model_type: str, rules: RuleSet) -> Arena:
    try:
        return get_arena(model_type, rules)
    except UnknownModelType as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except ImportError:
        raise HTTPException(
            501, detail=f"the {model_type} arena is not available in this build"
        ) from None
    except RuleFileError as exc:
        raise HTTPException(
            422, detail=f"rule set {rules.identity} cannot serve {model_type}: {exc}"
        ) from None


def authentic(arena: Arena, scenario: Scenario) -> Scenario:
    """The scenario exactly as the arena generates it from its (seed, index, difficulty).

    Scenarios are deterministic, so a submitted one that differs was edited: verifying it
    would reward an easier, made-up world (and arenas trust their own scenarios' shape).
    """
    regenerated = arena.sample(scenario.seed, scenario.index, scenario.difficulty)
    if regenerated.model_dump(mode="json") != scenario.model_dump(mode="json"):
        raise HTTPException(
            422,
            detail=f"scenario {scenario.id!r} differs from the one the arena generates for its "
            "seed, index and difficulty; submit it unchanged from "
            f"GET /v1/arena/{scenario.model_type}/sample",
        )
    return regenerated


def default_rules_version() -> str:
    return get_shared_settings().rules_version


@router.get("/{model_type}/sample", response_model=SampleResponse)
def sample(
    model_type: str,
    state: State,
    principal: Tenant,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1, description=">= 1,000,000: held out")] = 0,
    index: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    difficulty: Annotated[int, Query(ge=1, le=5)] = 1,
    rules_version: Annotated[str | None, Query(pattern=SEMVER_PATTERN)] = None,
) -> SampleResponse:
    """One scenario, deterministic in (model_type, seed, index, difficulty, rules)."""
    rules = state.rules.resolve(principal, rules_version, default_rules_version())
    arena = arena_for(model_type, rules)
    return SampleResponse(
        scenario=arena.sample(seed, index, difficulty), action_schema=arena.action_schema()
    )


@router.post("/verify", response_model=VerifyResponse)
def verify(body: VerifyRequest, state: State, principal: Tenant) -> VerifyResponse:
    """Replay the steps through the simulator under the scenario's own rule set.

    The scenario must be exactly as sampled (422 otherwise). Malformed steps are verdicts
    (format_valid false), not errors.
    """
    rules = state.rules.by_identity(principal, body.scenario.rules_version)
    arena = arena_for(body.scenario.model_type, rules)
    scenario = authentic(arena, body.scenario)
    replay = arena.replay(scenario, body.steps)
    episode = arena.verify_episode(scenario, body.steps)
    return VerifyResponse(
        model_type=arena.model_type,
        rules_version=rules.identity,
        steps=replay.verdicts,
        episode=episode,
    )
