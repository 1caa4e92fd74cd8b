"""The offline teacher: the arena's expert solver, spoken as completion text.

It plans from the simulator, not from the prompt, so it needs no model and no network. The whole
plan is solved once per scenario and served step by step: request *k* gets the expert's step *k*.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from srlforge.arena.base import render_completion
from srlforge.llm.base import TeacherRequest

if TYPE_CHECKING:
    from srlforge.arena.base import Arena
    from srlforge.schema import Scenario, Step


@dataclass(frozen=True)
class ScriptedConfig:
    # Plans kept per teacher; step requests for one scenario arrive in order, so a small cache
    # turns N solver calls per episode into one.
    cache_size: int = 256


class ScriptedTeacher:
    name = "scripted"
    config_class = ScriptedConfig

    def __init__(self, config: ScriptedConfig | None = None) -> None:
        self.config = config or ScriptedConfig()
        self._plans: OrderedDict[tuple[str, str], list[Step]] = OrderedDict()

    @property
    def model(self) -> str:
        return "arena-expert"

    def model_for(self, arena: Arena) -> str:
        return f"srlforge.arena.{arena.model_type}.expert"

    def plan(self, arena: Arena, scenario: Scenario) -> list[Step]:
        """The expert's whole plan (the fast path for the ``synthetic`` strategy)."""
        key = (scenario.id, scenario.rules_version)
        plan = self._plans.get(key)
        if plan is None:
            plan = arena.solve(scenario)
            self._plans[key] = plan
            if len(self._plans) > self.config.cache_size:
                self._plans.popitem(last=False)
        return plan

    async def propose(self, request: TeacherRequest) -> str:
        plan = self.plan(request.arena, request.scenario)
        index = len(request.history)
        if index >= len(plan):
            # The expert is done; anything it says now would be a step past the objective.
            return "<think>The objective is already met.</think>"
        return render_completion(plan[index])

    async def aclose(self) -> None:
        self._plans.clear()
