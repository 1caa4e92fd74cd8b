"""What the two GRPO stages (SRL and RLVR) share: CPU-sized defaults, the adaptive KL target, the
progress/stop switches and their cross-field checks (``GRPOStageConfig``), and the train-save-
report sequence around their trainers (``run_grpo``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import GRPOConfig

from trainer_service.stages.common import (
    AdaptiveKLCallback,
    HistoryCallback,
    ProgressCallback,
    StageResult,
    StopAtStepCallback,
    Timer,
    latest_checkpoint,
    load_model,
    quiet,
    save_final,
    summarize,
    write_stage_meta,
)


@dataclass
class GRPOStageConfig(GRPOConfig):
    """``GRPOConfig`` with CPU-sized defaults and srlforge's stage switches."""

    per_device_train_batch_size: int = 16
    num_generations: int | None = 4
    beta: float = 0.02
    temperature: float = 1.0
    warmup_steps: int = 0
    lr_scheduler_type: str = "constant"
    logging_steps: int = 1
    save_strategy: str = "no"
    report_to: Any = "none"
    disable_tqdm: bool = True
    dataloader_pin_memory: bool = False
    gradient_checkpointing: bool | None = None
    activation_checkpointing: bool | None = False
    # srlforge fields
    target_kl: float | None = field(
        default=0.03, metadata={"help": "Adaptive KL target (None keeps beta fixed)."}
    )
    progress: bool = field(default=True, metadata={"help": "Rich progress bar on stderr."})
    stop_at_step: int | None = field(
        default=None, metadata={"help": "End at this step as if killed (tests, phases)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target_kl is not None and self.beta <= 0:
            raise ValueError(
                f"target_kl={self.target_kl} needs a reference model, but beta={self.beta}; "
                "set beta > 0 (e.g. 0.02) or target_kl=None"
            )
        if self.num_generations is not None and self.num_generations < 2:
            raise ValueError(
                f"num_generations={self.num_generations}: GRPO compares the samples of one "
                "prompt with each other; use 2 or more"
            )


def run_grpo(
    trainer_cls: type,
    model_dir: str | Path,
    config: GRPOStageConfig,
    *,
    label: str,
    metric_keys: Sequence[str],
    extra_config: dict[str, Any],
    resume: bool = True,
    device: str = "cpu",
    load_in_4bit: bool = False,
    **trainer_kwargs: Any,
) -> StageResult:
    """Load ``model_dir``, train ``trainer_cls`` (a GRPOTrainer) with progress, the stop switch
    and the adaptive KL (restored from the newest checkpoint when resuming), save ``final/`` and
    return the stage's result. ``trainer_kwargs`` go to the trainer (rewards, data, rollout)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = load_model(model_dir, device=device, load_in_4bit=load_in_4bit)
    history = HistoryCallback()
    callbacks: list[Any] = [history, ProgressCallback(label, config.progress)]
    if config.stop_at_step is not None:
        callbacks.append(StopAtStepCallback(config.stop_at_step))
    kl = AdaptiveKLCallback(config.target_kl, config.beta) if config.target_kl else None
    if kl is not None:
        callbacks.append(kl)
    trainer = trainer_cls(
        model=model, args=config, processing_class=tokenizer, callbacks=callbacks, **trainer_kwargs
    )
    checkpoint = latest_checkpoint(config.output_dir) if resume else None
    if kl is not None:
        kl.bind(trainer)
        kl.restore(checkpoint)
    quiet(trainer)
    with Timer() as timer:
        trainer.train(resume_from_checkpoint=checkpoint)
    out = save_final(trainer, tokenizer, config.output_dir)
    result = StageResult(
        name=label,
        steps=trainer.state.global_step,
        seconds=timer.seconds,
        model_dir=out,
        metrics=summarize(history.rows, tuple(metric_keys)),
        history=history.rows,
        config={
            "learning_rate": config.learning_rate,
            "max_steps": config.max_steps,
            "batch_size": config.per_device_train_batch_size,
            "num_generations": config.num_generations,
            "beta": config.beta,
            "target_kl": config.target_kl,
            **extra_config,
        },
    )
    write_stage_meta(out, {"stage": label, "base": str(model_dir), **result.config})
    return result
