"""Model B: build the configured teacher and let it plan an episode step by step under Model C.

Each step: the teacher proposes ``<think>…</think><action>{…}</action>``; the arena verifies it
against the simulator state; a rejected step (malformed, a hard-rule violation, or — by default —
any soft violation) goes back to the teacher once with the verifier's feedback; an accepted step
advances the simulator. The loop ends when the arena judges the objective met or at the scenario's
step cap. A failure is an outcome with a reason, never an exception and never a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from collab_service.prompts import EpisodePrompt, revision_messages
from collab_service.settings import CollabSettings
from srlforge.arena.base import Arena, Replay, parse_completion
from srlforge.llm import LLMError, RetryPolicy, Teacher, TeacherRequest, make_teacher
from srlforge.schema import LoreBundle, Scenario, Step, StepVerdict


def teacher_options(settings: CollabSettings, name: str, model: str | None = None) -> dict:
    """Backend options for teacher ``name`` from the service settings (secrets stay SecretStr)."""
    if name == "openai":
        return {
            "model": model or settings.openai_model,
            "base_url": settings.openai_base_url,
            "api_key": settings.openai_api_key,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "timeout_s": settings.request_timeout_s,
            "retry": RetryPolicy(
                settings.max_attempts, settings.backoff_base_s, settings.backoff_max_s
            ),
            "breaker_failure_threshold": settings.breaker_failure_threshold,
            "breaker_reset_s": settings.breaker_reset_s,
        }
    if name == "hf":
        return {
            "model_path": model or settings.hf_model_path or "",
            "max_new_tokens": settings.hf_max_new_tokens,
            "temperature": settings.temperature,
        }
    return {}


def build_teacher(settings: CollabSettings, name: str | None = None, model: str | None = None):
    """The backend ``name`` (default: the configured one). Raises ``TeacherConfigError``."""
    name = name or settings.teacher
    return make_teacher(name, **teacher_options(settings, name, model))


@dataclass
class EpisodeResult:
    """What one attempt at one scenario produced (kept or not is Model C's call)."""

    scenario: Scenario
    steps: list[Step] = field(default_factory=list)
    failure: str | None = None  # reason code for the tally, e.g. "hard_violation"
    detail: str = ""
    revisions: int = 0
    requests: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def fail(self, reason: str, detail: str = "") -> EpisodeResult:
        self.failure, self.detail = reason, detail[:500]
        self.finished_at = datetime.now(UTC)
        return self


def _rejected(verdict: StepVerdict, revise_on_soft: bool) -> bool:
    if not verdict.format_valid or verdict.hard_violation:
        return True
    return revise_on_soft and bool(verdict.violations)


def _failure_reason(verdict: StepVerdict) -> tuple[str, str]:
    if not verdict.format_valid:
        return "format_invalid", verdict.feedback
    hard = [v.rule_id for v in verdict.violations if v.severity == "hard"]
    return "hard_violation", f"{', '.join(hard)}: {verdict.feedback}"


@dataclass
class _Checked:
    think: str
    verdict: StepVerdict
    next_state: dict[str, Any]
    action: BaseModel | None  # the validated action (None when malformed)
    raw: dict[str, Any] | None  # the action as the teacher wrote it

    @property
    def ok(self) -> bool:
        return self.verdict.format_valid and not self.verdict.hard_violation


class StepPlanner:
    """Runs one episode of a teacher under the arena's verifier."""

    def __init__(self, arena: Arena, teacher: Teacher, revise_on_soft: bool = True) -> None:
        self.arena = arena
        self.teacher = teacher
        self.revise_on_soft = revise_on_soft
        self.schema = arena.action_schema()

    async def _ask(self, result: EpisodeResult, request: TeacherRequest) -> str:
        result.requests += 1
        return await self.teacher.propose(request)

    def _check(self, state: dict[str, Any], text: str, index: int) -> _Checked:
        parsed = parse_completion(text)
        # Unreadable text reaches the arena as no action at all (a format failure there too):
        # bare JSON without the <action> tags breaks the output contract even if it would parse.
        verdict, next_state, action = self.arena.evaluate_step(state, parsed.action, None, index)
        if parsed.error:
            # The reader's reason (missing tags, bad JSON) is what the teacher must fix.
            verdict = verdict.model_copy(update={"feedback": f"format: {parsed.error}"})
        return _Checked(parsed.think, verdict, next_state, action, parsed.action)

    async def _step(self, result: EpisodeResult, request: TeacherRequest, index: int):
        """One verified step (revised once if rejected), or a failure reason."""
        text = await self._ask(result, request)
        first = self._check(request.state, text, index)
        if not _rejected(first.verdict, self.revise_on_soft):
            return first
        result.revisions += 1
        request.messages = revision_messages(request.messages, text, first.verdict.feedback)
        request.feedback, request.attempt = first.verdict.feedback, 1
        second = self._check(request.state, await self._ask(result, request), index)
        if second.ok and (
            not first.ok or second.verdict.rule_compliance >= first.verdict.rule_compliance
        ):
            return second
        if first.ok:
            return first  # a soft-only rejection whose revision complied worse keeps the first
        return _failure_reason(second.verdict)

    async def run(
        self,
        scenario: Scenario,
        lore: LoreBundle | None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> EpisodeResult:
        arena = self.arena
        result = EpisodeResult(scenario)
        state = arena.reset(scenario)
        verdicts: list[StepVerdict] = []
        states: list[dict[str, Any]] = [state]
        actions: list[dict[str, Any] | None] = []
        prompt = EpisodePrompt(scenario, self.schema, lore)
        for index in range(scenario.max_steps):
            if should_stop():
                return result.fail("cancelled", f"stopped before step {index + 1}")
            messages = prompt.messages(state, result.steps)
            request = TeacherRequest(messages, scenario, arena, state, list(result.steps))
            try:
                step = await self._step(result, request, index)
            except LLMError as exc:
                return result.fail(f"transport:{exc.reason}", str(exc))
            if isinstance(step, tuple):
                return result.fail(*step)
            _, delta = arena.apply(state, step.action)
            # The dataset keeps the action as the teacher wrote it (what the verifier accepted);
            # the replay record uses the arena's own normal form, as Arena.replay does.
            result.steps.append(Step(think=step.think, action=step.raw, expected_state_delta=delta))
            verdicts.append(step.verdict)
            states.append(step.next_state)
            actions.append(step.action.model_dump())
            state = step.next_state
            if arena.judge(scenario, Replay(verdicts, states, actions)).objective_met:
                break
        else:
            return result.fail(
                "objective_not_met", f"objective not met within {scenario.max_steps} steps"
            )
        result.finished_at = datetime.now(UTC)
        return result
