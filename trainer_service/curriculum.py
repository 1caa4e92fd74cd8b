"""Curriculum over arena difficulty with promotion gates (the seed design's RLVR schedule).

RLVR runs in phases of ``phase_steps``. After each phase the policy plays validation scenarios
of the current level (training-range seeds the training set does not use; never the held-out
split) and is promoted one level when every gate holds: success ≥ 0.8, rule compliance ≥ 0.9
and KL to the phase-one model < 0.1. Otherwise it trains another phase at the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srlforge.arena import DIFFICULTIES, get_arena
from trainer_service.data import scenarios
from trainer_service.stages.common import StageResult

# Validation scenarios come from this seed offset: inside the training range, outside the set
# the training scenarios are drawn from.
VALIDATION_SEED_OFFSET = 500_000


@dataclass(frozen=True)
class Gates:
    success: float = 0.8
    rule_compliance: float = 0.9
    max_kl: float = 0.1

    def check(self, metrics: dict[str, float]) -> dict[str, bool]:
        return {
            "success": metrics["success_rate"] >= self.success,
            "rule_compliance": metrics["quality"] >= self.rule_compliance,
            "kl": metrics["kl_to_reference"] < self.max_kl,
        }


def run_rlvr_curriculum(
    model_dir: str | Path,
    config,
    stage_kwargs: dict[str, Any],
    progress: bool = True,
    *,
    phases: int = 4,
    validation_episodes: int = 8,
    gates: Gates = Gates(),
) -> StageResult:
    """RLVR in ``phases`` phases from the lowest training difficulty upwards."""
    from trainer_service.evaluation import evaluate
    from trainer_service.stages.rlvr import RLVRConfig, run_rlvr

    arena = get_arena(config.model_type)
    total = int(stage_kwargs.get("max_steps", 30))
    phase_steps = max(1, total // phases)
    out_root = Path(stage_kwargs["output_dir"])
    level = min(config.train_difficulties)
    start = current = str(model_dir)
    history: list[dict[str, float]] = []
    log: list[dict[str, Any]] = []
    steps = 0
    seconds = 0.0
    for phase in range(phases):
        train = scenarios(
            arena,
            seed=config.seed,
            count=config.n_examples,
            difficulties=[level],
            species=config.species,
        )
        kwargs = {
            **stage_kwargs,
            "output_dir": str(out_root / f"phase-{phase}"),
            "max_steps": phase_steps,
        }
        result = run_rlvr(
            current, train, RLVRConfig(progress=progress, **kwargs), label=f"rlvr d{level}"
        )
        history += [
            {**row, "step": row["step"] + steps, "difficulty": float(level)}
            for row in result.history
        ]
        steps += result.steps
        seconds += result.seconds
        current = result.model_dir
        validation = scenarios(
            arena,
            seed=config.seed + VALIDATION_SEED_OFFSET,
            count=validation_episodes,
            difficulties=[level],
            species=config.species,
        )
        ev = evaluate(
            current,
            arena,
            {"validation": validation},
            reference_dir=start,
            legal_actions=kwargs.get("legal_actions", True),
        )
        metrics = {**ev["splits"]["validation"], "kl_to_reference": ev["kl_to_reference"]}
        passed = gates.check(metrics)
        promoted = all(passed.values()) and level < max(DIFFICULTIES)
        log.append(
            {
                "phase": phase,
                "difficulty": level,
                "promoted": promoted,
                "gates": passed,
                **{k: metrics[k] for k in ("success_rate", "quality", "kl_to_reference")},
            }
        )
        if promoted:
            level += 1
    final = out_root / "final"
    if final.exists():
        import shutil

        shutil.rmtree(final)
    Path(current).rename(final)
    return StageResult(
        name="rlvr",
        steps=steps,
        seconds=seconds,
        model_dir=str(final),
        metrics={
            "final_difficulty": float(level),
            "promotions": float(sum(p["promoted"] for p in log)),
        },
        history=history,
        config={"curriculum": log, "phase_steps": phase_steps, "gates": gates.__dict__},
    )
