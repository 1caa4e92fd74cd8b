"""DPO: TRL DPOTrainer on step pairs ranked by the verifier (the seed's alternative to PPO).

For each SRL prompt (scenario + expert prefix) the candidates are the expert's step and
``samples`` steps sampled from the current model; each is scored with the SRL step reward (the
arena's verifier plus similarity to the expert), and the best and worst form a pair when their
scores differ by at least ``min_margin``. No pair is made up: a prompt whose candidates all score
alike yields none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import DPOConfig

from srlforge.arena import Arena, get_arena
from srlforge.rewards import make_srl_reward
from srlforge.schema import Trajectory
from trainer_service.stages.common import (
    HistoryCallback,
    ProgressCallback,
    StageResult,
    Timer,
    latest_checkpoint,
    load_model,
    quiet,
    save_final,
    summarize,
    write_stage_meta,
)
from trainer_service.transcript import DEFAULT_FORMAT, EOS, srl_rows


@dataclass
class DPOStageConfig(DPOConfig):
    learning_rate: float = 5e-4
    per_device_train_batch_size: int = 16
    max_steps: int = 30
    max_length: int | None = 2048
    logging_steps: int = 1
    save_strategy: str = "no"
    report_to: Any = "none"
    disable_tqdm: bool = True
    dataloader_pin_memory: bool = False
    gradient_checkpointing: bool | None = None
    activation_checkpointing: bool | None = False
    # srlforge fields
    samples: int = field(default=4, metadata={"help": "Model samples scored per prompt."})
    min_margin: float = field(default=0.05, metadata={"help": "Smallest score gap of a pair."})
    progress: bool = field(default=True, metadata={"help": "Rich progress bar on stderr."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.samples < 1:
            raise ValueError(f"samples={self.samples}: score at least one model sample per prompt")
        if self.min_margin < 0:
            raise ValueError(f"min_margin={self.min_margin} must be >= 0")


def verifier_pairs(
    model_dir: str | Path,
    rows: Sequence[dict[str, Any]],
    *,
    samples: int,
    min_margin: float,
    arena_for: Callable[[str], Arena] = get_arena,
) -> list[dict[str, str]]:
    """``{prompt, chosen, rejected}`` pairs ranked by the SRL step reward."""
    from trainer_service.evaluation import load_policy
    from trainer_service.rollout import generate_steps

    model, tokenizer = load_policy(model_dir)
    contexts = [tokenizer(r["prompt"], add_special_tokens=False)["input_ids"] for r in rows]
    sampled = generate_steps(
        model, tokenizer, [c for c in contexts for _ in range(samples)], greedy=False
    )
    texts = [tokenizer.decode(ids, skip_special_tokens=True) for ids, _ in sampled]
    reward = make_srl_reward(arena_for)
    pairs = []
    for i, row in enumerate(rows):
        candidates = [row["completion"], *texts[i * samples : (i + 1) * samples]]
        n = len(candidates)
        scores = reward(
            prompts=[row["prompt"]] * n,
            completions=candidates,
            **{k: [row[k]] * n for k in ("model_type", "scenario", "history", "expert_action")},
        )
        best = max(range(n), key=lambda j: scores[j])
        worst = min(range(n), key=lambda j: scores[j])
        if scores[best] - scores[worst] >= min_margin and candidates[best] != candidates[worst]:
            pairs.append(
                {
                    "prompt": row["prompt"],
                    "chosen": candidates[best] + EOS,
                    "rejected": candidates[worst] + EOS,
                }
            )
    return pairs


def run_dpo(
    model_dir: str | Path,
    trajectories: Sequence[Trajectory],
    config: DPOStageConfig,
    *,
    arena: Arena | None = None,
    resume: bool = True,
    label: str = "dpo",
    peft_config=None,
    device: str = "cpu",
    load_in_4bit: bool = False,
) -> StageResult:
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOTrainer

    if not trajectories:
        raise ValueError("DPO got no trajectories")
    arena = arena or get_arena(trajectories[0].model_type)
    rows = [r for t in trajectories for r in srl_rows(arena, t.scenario, t.steps, DEFAULT_FORMAT)]
    pairs = verifier_pairs(
        model_dir,
        rows,
        samples=config.samples,
        min_margin=config.min_margin,
        arena_for=lambda _t: arena,
    )
    if not pairs:
        raise ValueError(
            "the verifier ranked every candidate alike, so DPO has no pairs; raise samples or "
            "lower min_margin"
        )
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    history = HistoryCallback()
    trainer = DPOTrainer(
        model=load_model(model_dir, device=device, load_in_4bit=load_in_4bit),
        args=config,
        train_dataset=Dataset.from_list(pairs),
        processing_class=tokenizer,
        callbacks=[history, ProgressCallback(label, config.progress)],
        peft_config=peft_config,
    )
    quiet(trainer)
    checkpoint = latest_checkpoint(config.output_dir) if resume else None
    with Timer() as timer:
        trainer.train(resume_from_checkpoint=checkpoint)
    out = save_final(trainer, tokenizer, config.output_dir)
    result = StageResult(
        name=label,
        steps=trainer.state.global_step,
        seconds=timer.seconds,
        model_dir=out,
        metrics=summarize(history.rows, ("loss",)),
        history=history.rows,
        config={
            "learning_rate": config.learning_rate,
            "max_steps": config.max_steps,
            "beta": config.beta,
            "pairs": len(pairs),
            "rows": len(rows),
        },
    )
    write_stage_meta(out, {"stage": label, "base": str(model_dir), **result.config})
    return result
