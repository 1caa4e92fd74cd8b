"""The learning benchmark: the analogue of the SRL paper's main table on an arena.

Every method starts from the same base model (preset, base seed 0) and gets the same budget of
optimizer steps (two-stage methods split it in half); each runs over several seeds (data,
sampling and training order). Reported: held-out success, mean ± std over seeds, in-distribution
and one difficulty up, plus the SRL step reward on the training prompts before and after.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console

console = Console(stderr=True)

METHODS: dict[str, list[str]] = {
    "sft": ["sft"],
    "rlvr": ["rlvr"],
    "srl": ["srl"],
    "sft_rlvr": ["sft", "rlvr"],
    "srl_rlvr": ["srl", "rlvr"],
}


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values) if values else 0.0,
        "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
    }


def run_learning_benchmark(
    *,
    model_type: str = "personality",
    species: str | None = "vampire",
    seeds: int = 3,
    budget: int = 60,
    methods: list[str] | None = None,
    base_model: str = "tiny",
    n_examples: int = 64,
    eval_episodes: int = 24,
    device: str = "cpu",
    runs_dir: Path | None = None,
    threads: int | None = 1,
    progress: bool = True,
) -> dict[str, Any]:
    from trainer_service.evaluation import mean_srl_reward
    from trainer_service.pipeline import load_config, run_pipeline

    methods = methods or list(METHODS)
    runs_dir = Path(runs_dir or Path("runs") / "bench-learning")
    rows: dict[str, Any] = {}
    base_eval: dict[str, list[float]] = {"in_distribution": [], "harder": []}
    started = time.perf_counter()
    for method in methods:
        stages = METHODS[method]
        share = {stage: max(1, budget // len(stages)) for stage in stages}
        per_seed = []
        for seed in range(seeds):
            config = load_config(
                None,
                model_type=model_type,
                species=species,
                base_model=base_model,
                stages=stages,
                max_steps=share,
                seed=seed,
                n_examples=n_examples,
                eval_episodes=eval_episodes,
                device=device,
                runs_dir=runs_dir,
                run_id=f"{method}-s{seed}-b{budget}",
                register_model=False,
                threads=threads,
            )
            t0 = time.perf_counter()
            report = run_pipeline(config, progress=False)
            final = report["eval"][stages[-1]]
            rows_path = Path(report["dataset"]["path"]) / "srl.jsonl"
            # The SRL reward on (up to 48 of) the method's own training prompts.
            srl_rows = [json.loads(line) for line in rows_path.read_text().splitlines()][:48]
            per_seed.append(
                {
                    "seed": seed,
                    "success_in": final["splits"]["in_distribution"]["success_rate"],
                    "success_harder": final["splits"].get("harder", {}).get("success_rate", 0.0),
                    "violations_in": final["splits"]["in_distribution"]["violation_rate"],
                    "success_free": final.get("unconstrained", {}).get("success_rate"),
                    "step_similarity": final["step_similarity"],
                    "srl_reward_before": mean_srl_reward(
                        report["base_model_dir"], srl_rows, samples=2, seed=seed
                    ),
                    "srl_reward_after": mean_srl_reward(
                        report["stages"][-1]["model_dir"], srl_rows, samples=2, seed=seed
                    ),
                    "srl_reward_legal_before": mean_srl_reward(
                        report["base_model_dir"],
                        srl_rows,
                        samples=2,
                        seed=seed,
                        legal_actions=True,
                    ),
                    "srl_reward_legal_after": mean_srl_reward(
                        report["stages"][-1]["model_dir"],
                        srl_rows,
                        samples=2,
                        seed=seed,
                        legal_actions=True,
                    ),
                    "steps": sum(s["steps"] for s in report["stages"]),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            if progress:
                run = per_seed[-1]
                console.print(
                    f"{method} seed {seed}: success {run['success_in']:.2f} in-dist, "
                    f"{run['success_harder']:.2f} harder, SRL reward "
                    f"{run['srl_reward_before']:.3f} -> {run['srl_reward_after']:.3f} "
                    f"({run['seconds']:.0f} s)",
                    highlight=False,
                )
            if method == methods[0]:
                for split in base_eval:
                    base_eval[split].append(
                        report["eval"]["base"]["splits"].get(split, {}).get("success_rate", 0.0)
                    )
        rows[method] = {
            "stages": stages,
            "steps_per_stage": share,
            "success_in_distribution": _stats([r["success_in"] for r in per_seed]),
            "success_harder": _stats([r["success_harder"] for r in per_seed]),
            "violations_per_episode": _stats([r["violations_in"] for r in per_seed]),
            "success_free_decoding": _stats(
                [r["success_free"] for r in per_seed if r.get("success_free") is not None]
            ),
            "step_similarity": _stats([r["step_similarity"] for r in per_seed]),
            "srl_reward_before": _stats([r["srl_reward_before"] for r in per_seed]),
            "srl_reward_after": _stats([r["srl_reward_after"] for r in per_seed]),
            "srl_reward_legal_before": _stats([r["srl_reward_legal_before"] for r in per_seed]),
            "srl_reward_legal_after": _stats([r["srl_reward_legal_after"] for r in per_seed]),
            "runs": per_seed,
        }
    return {
        "model_type": model_type,
        "species": species,
        "base_model": base_model,
        "budget_steps": budget,
        "seeds": seeds,
        "n_examples": n_examples,
        "eval_episodes": eval_episodes,
        "device": device,
        "base": {split: _stats(v) for split, v in base_eval.items()},
        "methods": rows,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def render_markdown(result: dict[str, Any]) -> str:
    def ms(stat: dict[str, float] | None) -> str:
        return "-" if not stat else f"{stat['mean']:.3f} ± {stat['std']:.3f}"

    def arrow(row: dict[str, Any], key: str) -> str:
        before, after = row.get(f"{key}_before"), row.get(f"{key}_after")
        if not before or not after:
            return "-"
        return f"{before['mean']:.3f} → {after['mean']:.3f}"

    lines = [
        f"# Learning benchmark: {result['model_type']} ({result['species']})",
        "",
        f"Same base (`{result['base_model']}`), {result['budget_steps']} optimizer steps per "
        f"method (two-stage methods split them evenly), {result['seeds']} seeds, "
        f"{result['n_examples']} expert trajectories, {result['eval_episodes']} held-out "
        f"episodes per split, greedy decoding among the legal actions (free decoding in its "
        f"own column), device {result['device']}. Wall time {result['wall_seconds']} s.",
        "",
        "| method | success in-dist | success +1 difficulty | success in-dist, free decoding "
        "| violations/episode | step similarity | SRL reward, legal sampling | "
        "SRL reward, free sampling |",
        "|---|---|---|---|---|---|---|---|",
        f"| base | {ms(result['base']['in_distribution'])} | {ms(result['base']['harder'])} "
        "| | | | | |",
    ]
    for name, row in result["methods"].items():
        lines.append(
            f"| {name.replace('_', ' → ')} | {ms(row['success_in_distribution'])} | "
            f"{ms(row['success_harder'])} | {ms(row.get('success_free_decoding'))} | "
            f"{ms(row['violations_per_episode'])} | {ms(row['step_similarity'])} | "
            f"{arrow(row, 'srl_reward_legal')} | {arrow(row, 'srl_reward')} |"
        )
    return "\n".join(lines) + "\n"
