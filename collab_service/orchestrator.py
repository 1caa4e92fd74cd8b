"""The collaboration loop: generate → verify → keep → regenerate the shortfall (≤ N rounds).

A failed attempt stays failed: it is counted with its reason and the next round asks for fresh
scenarios; nothing canned or fallback ever fills the gap. Kept trajectories carry provenance
(teacher, model, rules version, seed, timestamps, content hash) and pass deduplication.

LLM teachers run episodes concurrently (asyncio, bounded by ``concurrency``); each episode's
steps stay sequential because step k+1 depends on the state after step k. The scripted teacher
outside the ``collaboration`` strategy takes a fast path: the expert's whole plan, verified once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from collab_service.config import GenerationConfig, GenerationResult, Progress
from collab_service.dedup import Coverage, Deduplicator
from collab_service.lore import LoreRetriever
from collab_service.lore_store import LoreStore
from collab_service.settings import CollabSettings, get_settings
from collab_service.strategies import ScenarioSource
from collab_service.teacher import EpisodeResult, StepPlanner, build_teacher
from collab_service.verifier import LLMJudge, keep_decision, verify
from srlforge.arena import get_arena
from srlforge.llm import Teacher
from srlforge.llm.scripted import ScriptedTeacher
from srlforge.rules import RuleSet, load_rules
from srlforge.schema import LoreBundle, Provenance, Scenario, Trajectory

__all__ = ["GenerationConfig", "GenerationResult", "Orchestrator", "Progress", "generate"]

# Longest a round waits for an open circuit breaker to allow a probe before regenerating.
MAX_BREAKER_WAIT_S = 60.0
# A regeneration round tries shortfall / yield scenarios, within these bounds: a teacher that
# keeps almost nothing must not turn a request for 10 into thousands of paid LLM calls.
MIN_YIELD = 0.25
MAX_OVERSAMPLE = 4


class Orchestrator:
    """Runs one generation request end to end (in memory; export writes the files)."""

    def __init__(
        self,
        config: GenerationConfig,
        settings: CollabSettings | None = None,
        rules: RuleSet | None = None,
        store: LoreStore | None = None,
        teacher: Teacher | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or get_settings()
        self.rules = rules or load_rules()
        self.arena = get_arena(config.model_type, self.rules)
        self.store = store or LoreStore(self.settings.resolved_database_url())
        self.lore = LoreRetriever(self.store, self.rules, self.settings.lore_top_k)
        self.on_progress = on_progress or (lambda _p: None)
        self.should_stop = should_stop or (lambda: False)
        self.source = ScenarioSource(
            self.arena,
            config.strategy or "synthetic",
            config.seed,
            config.difficulties,
            config.species,
            config.weaknesses,
            config.failed_scenario_ids,
        )
        known = (
            self.store.produced_hashes(config.model_type, self.rules.identity)
            if config.skip_produced
            else set()
        )
        self.dedup = Deduplicator(config.near_duplicate_threshold, known_hashes=known)
        self.coverage = Coverage()
        # Clients are built last: nothing after this point can fail and leak an open client.
        self._own_teacher = teacher is None
        self.teacher = teacher or build_teacher(self.settings, config.teacher, config.model)
        self.judge: LLMJudge | None = None
        if config.judge == "openai":
            backend = build_teacher(self.settings, "openai")
            self.judge = LLMJudge(backend, self.settings.judge_min_score)
        model = (
            self.teacher.model_for(self.arena)
            if isinstance(self.teacher, ScriptedTeacher)
            else self.teacher.model
        )
        self.result = GenerationResult(config, self.rules.identity, model)
        self.planner = StepPlanner(self.arena, self.teacher)  # re-entrant: one per request
        # The scripted expert plans from the simulator, so outside the step-by-step
        # collaboration loop its whole plan is taken at once and verified once.
        self._fast = (
            isinstance(self.teacher, ScriptedTeacher) and config.strategy != "collaboration"
        )

    # ----- one episode -------------------------------------------------------------------------

    def _lore_species(self, scenario: Scenario) -> str | None:
        return scenario.species or self.config.species

    def _bundle(self, scenario: Scenario) -> LoreBundle | None:
        species = self._lore_species(scenario)
        if species is None:
            return None
        return self.lore.bundle(species, self.config.model_type, scenario)

    async def _episode(self, scenario: Scenario, sem: asyncio.Semaphore) -> EpisodeResult:
        async with sem:
            return await self.planner.run(scenario, self._bundle(scenario), self.should_stop)

    def _fast_episode(self, scenario: Scenario) -> EpisodeResult:
        started = datetime.now(UTC)
        steps = self.teacher.plan(self.arena, scenario)  # type: ignore[union-attr]
        return EpisodeResult(scenario, list(steps), started_at=started, finished_at=started)

    # ----- keep / reject -----------------------------------------------------------------------

    def _fail(self, scenario: Scenario, reason: str, detail: str) -> None:
        self.result.failed += 1
        self.result.reasons[reason] += 1
        self.result.failure_examples.setdefault(reason, f"{scenario.id}: {detail}"[:500])
        self.coverage.add(scenario, "failed")

    async def _settle(self, episode: EpisodeResult, round_no: int) -> None:
        result, scenario = self.result, episode.scenario
        result.attempted += 1
        result.revisions += episode.revisions
        result.teacher_requests += episode.requests
        if episode.failure is not None:
            self._fail(scenario, episode.failure, episode.detail)
            return
        verdict = verify(self.arena, scenario, episode.steps)
        keep, reason = keep_decision(verdict)
        if not keep:
            detail = "; ".join(v.message for v in verdict.violations[:3]) or "not a success"
            self._fail(scenario, reason or "verify_failed", detail)
            return
        finished = episode.finished_at or datetime.now(UTC)
        verdict.details = {
            **verdict.details,
            "collab": {
                "request_id": self.config.request_id,
                "strategy": self.config.strategy,
                "round": round_no,
                "revisions": episode.revisions,
                "teacher_requests": episode.requests,
                "started_at": episode.started_at.isoformat(),
                "finished_at": finished.isoformat(),
            },
        }
        if self.judge is not None:
            opinion = await self.judge.opinion(scenario, episode.steps, self._bundle(scenario))
            keep, verdict = self.judge.apply(verdict, opinion)
            if not keep:
                self._fail(scenario, "judge_rejected", opinion.critique)
                return
        trajectory = Trajectory(
            id="",
            model_type=scenario.model_type,
            species=scenario.species,
            scenario=scenario,
            steps=episode.steps,
            outcome=verdict,
            provenance=Provenance(
                teacher=self.config.teacher,
                model=self.result.teacher_model,
                rules_version=scenario.rules_version,
                seed=scenario.seed,
                difficulty=scenario.difficulty,
                created_at=finished,
            ),
        )
        digest = trajectory.compute_hash()
        trajectory.provenance.content_hash = digest
        trajectory.id = f"{scenario.id}:{digest[:12]}"
        kind = self.dedup.check(trajectory)
        if kind != "unique":
            result.duplicates[kind] += 1
            self.coverage.add(scenario, "duplicate")
            return
        result.kept.append(trajectory)
        self.coverage.add(scenario, "kept")

    def _progress(self, round_no: int, message: str = "") -> None:
        r = self.result
        self.on_progress(
            Progress(
                self.config.request_id,
                round_no,
                r.attempted,
                self.config.n,
                len(r.kept),
                r.failed,
                r.duplicate_total,
                message,
            )
        )

    # ----- rounds ------------------------------------------------------------------------------

    def _filled(self) -> bool:
        return len(self.result.kept) >= self.config.n

    async def _round(self, scenarios: list[Scenario], round_no: int) -> None:
        if self._fast:
            for scenario in scenarios:
                if self._filled():
                    return
                if self.should_stop():
                    self.result.cancelled = True
                    return
                await self._settle(self._fast_episode(scenario), round_no)
                self._progress(round_no)
            return
        sem = asyncio.Semaphore(self.config.concurrency)
        tasks = [asyncio.ensure_future(self._episode(s, sem)) for s in scenarios]
        try:
            for next_done in asyncio.as_completed(tasks):
                episode = await next_done
                if episode.failure == "cancelled" or self.should_stop():
                    self.result.cancelled = True  # a stopped episode is neither kept nor failed
                    return
                await self._settle(episode, round_no)
                self._progress(round_no)
                if self._filled():
                    return  # the finally block cancels episodes still in flight
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run_async(self) -> GenerationResult:
        result, config = self.result, self.config
        try:
            for round_no in range(1, config.rounds + 1):
                shortfall = config.n - len(result.kept)
                if shortfall <= 0 or result.cancelled:
                    break
                await self._wait_for_breaker()
                scenarios = self.source.next_batch(self._batch_size(shortfall))
                if not scenarios:
                    break
                result.rounds_run = round_no
                self._progress(round_no, f"round {round_no}: {len(scenarios)} scenarios")
                await self._round(scenarios, round_no)
        finally:
            if self._own_teacher:
                await self.teacher.aclose()
            if self.judge is not None:
                await self.judge.backend.aclose()  # type: ignore[attr-defined]
        return self._finish()

    def _batch_size(self, shortfall: int) -> int:
        """Scenarios to try for ``shortfall`` more: scaled by the yield seen so far (failures
        and duplicates), so a later round is not doomed to fall short again. A round stops
        as soon as the request is filled, so the surplus is only ever tried, never kept."""
        r = self.result
        if r.attempted == 0:
            return shortfall
        yield_rate = max(len(r.kept) / r.attempted, MIN_YIELD)
        return min(math.ceil(shortfall / yield_rate * 1.1), shortfall * MAX_OVERSAMPLE)

    async def _wait_for_breaker(self) -> None:
        breaker = getattr(self.teacher, "breaker", None)
        if breaker is not None and breaker.state == "open":
            await asyncio.sleep(min(MAX_BREAKER_WAIT_S, breaker.seconds_until_half_open()))

    def _finish(self) -> GenerationResult:
        result = self.result
        result.finished_at = datetime.now(UTC)
        result.coverage = self.coverage.to_dict()
        result.unmatched_targets = list(self.source.unmatched)
        species = sorted(
            {s for t in result.kept if (s := t.species)}
            | ({self.config.species} if self.config.species else set())
        )
        result.consistency = {s: self.lore.consistency(s).to_dict() for s in species}
        stats = getattr(self.teacher, "stats", None)
        result.transport = stats.to_dict() if stats is not None else {}
        return result

    def run(self) -> GenerationResult:
        return asyncio.run(self.run_async())


def generate(config: GenerationConfig, **kwargs: Any) -> GenerationResult:
    """Embedded entry point: one request, in process."""
    return Orchestrator(config, **kwargs).run()
