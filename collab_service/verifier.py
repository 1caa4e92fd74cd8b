"""Model C: the arena's verifiers decide; an optional LLM judge may only lower a score.

``verify`` replays the steps from the scenario's start (the authority: nothing the teacher loop
observed is trusted), and ``keep_decision`` applies the keep rule — episode success with no
hard-rule violation. The judge's opinion is folded in as ``min(arena score, judge score)`` and a
judge that cannot be read changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from collab_service.prompts import judge_messages, parse_judgement
from srlforge.arena.base import Arena
from srlforge.llm import ChatBackend, LLMError
from srlforge.schema import EpisodeVerdict, LoreBundle, Scenario, Step


def verify(arena: Arena, scenario: Scenario, steps: list[Step]) -> EpisodeVerdict:
    return arena.verify_episode(scenario, steps)


def keep_decision(verdict: EpisodeVerdict) -> tuple[bool, str | None]:
    """``(keep, reason)``: kept only on success with no hard violation."""
    hard = [v.rule_id for v in verdict.violations if v.severity == "hard"]
    if hard:
        return False, "hard_violation"
    if verdict.format_errors:
        return False, "format_invalid"
    if not verdict.objective_met:
        return False, "objective_not_met"
    if not verdict.success:
        return False, "verify_failed"
    return True, None


@dataclass
class JudgeOpinion:
    score: float | None  # None: the judge could not be read or reached
    critique: str


class LLMJudge:
    """Critique from an LLM backend; the score can only go down."""

    def __init__(self, backend: ChatBackend, min_score: float = 0.5) -> None:
        self.backend = backend
        self.min_score = min_score

    async def opinion(
        self, scenario: Scenario, steps: list[Step], lore: LoreBundle | None
    ) -> JudgeOpinion:
        try:
            text = await self.backend.chat(judge_messages(scenario, steps, lore))
        except LLMError as exc:
            return JudgeOpinion(None, f"judge unavailable: {exc}")
        parsed = parse_judgement(text)
        if parsed is None:
            return JudgeOpinion(None, "judge answer unreadable; arena verdict stands")
        return JudgeOpinion(*parsed)

    def apply(self, verdict: EpisodeVerdict, opinion: JudgeOpinion) -> tuple[bool, EpisodeVerdict]:
        """``(still_kept, verdict)`` with the judge folded in; never raises a score."""
        details = {
            **verdict.details,
            "judge": {"score": opinion.score, "critique": opinion.critique},
        }
        if opinion.score is None:
            return True, verdict.model_copy(update={"details": details})
        lowered = min(verdict.outcome_reward, opinion.score)
        updated = verdict.model_copy(update={"outcome_reward": lowered, "details": details})
        return opinion.score >= self.min_score, updated
