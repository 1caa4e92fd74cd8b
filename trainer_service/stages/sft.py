"""SFT: TRL SFTTrainer on expert steps with a completion-only loss.

The baseline of the learning benchmark, an optional warm-up before SRL/RLVR, and (on
random-policy steps) the format pre-training of the ``tiny`` base model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import SFTConfig

from trainer_service.stages.common import (
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
class SFTStageConfig(SFTConfig):
    """``SFTConfig`` with srlforge defaults for a small model on CPU."""

    learning_rate: float = 1e-3
    per_device_train_batch_size: int = 16
    max_steps: int = 100
    warmup_steps: int = 5
    lr_scheduler_type: str = "cosine"
    logging_steps: int = 5
    save_strategy: str = "no"
    report_to: Any = "none"
    disable_tqdm: bool = True
    completion_only_loss: bool | None = True
    max_length: int | None = 2048
    dataloader_pin_memory: bool = False
    # Recomputing activations saves memory a small model does not need and costs ~30% time.
    gradient_checkpointing: bool | None = None
    activation_checkpointing: bool | None = False
    # srlforge fields
    progress: bool = field(default=True, metadata={"help": "Rich progress bar on stderr."})
    stop_at_step: int | None = field(
        default=None, metadata={"help": "End at this step as if killed (tests, phases)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_steps is None or self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps}; SFT needs max_steps >= 1")
        if self.completion_only_loss is False:
            raise ValueError(
                "completion_only_loss=False would train the model to write scenarios and "
                "observations; keep it True (the default)"
            )
        if self.stop_at_step is not None and not 0 < self.stop_at_step <= self.max_steps:
            raise ValueError(
                f"stop_at_step={self.stop_at_step} must lie in 1..max_steps ({self.max_steps})"
            )


def run_sft(
    model_dir: str | Path,
    rows: list[dict[str, Any]],
    config: SFTStageConfig,
    *,
    label: str = "sft",
    resume: bool = True,
    peft_config=None,
    device: str = "cpu",
    load_in_4bit: bool = False,
) -> StageResult:
    """Train on ``rows`` and save the model to ``config.output_dir/final``.

    Rows are either text (``prompt``/``completion``: one SRL step each) or packed episodes
    (``input_ids``/``completion_mask`` from ``data.pack_episode``: every step of an episode in one
    sequence, loss on the policy's tokens only). Resumes from the newest checkpoint when
    ``resume`` is true.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    if not rows:
        raise ValueError("SFT got no rows; generate a dataset first")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = load_model(model_dir, device=device, load_in_4bit=load_in_4bit)
    keys = ("input_ids", "completion_mask") if "input_ids" in rows[0] else ("prompt", "completion")
    dataset = Dataset.from_list([{k: r[k] for k in keys} for r in rows])
    history = HistoryCallback()
    callbacks = [history, ProgressCallback(label, config.progress)]
    if config.stop_at_step is not None:
        callbacks.append(StopAtStepCallback(config.stop_at_step))
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config,
    )
    quiet(trainer)
    checkpoint = latest_checkpoint(config.output_dir) if resume else None
    with Timer() as timer:
        trainer.train(resume_from_checkpoint=checkpoint)
    out = save_final(trainer, tokenizer, config.output_dir)
    metrics = summarize(history.rows, ("loss", "mean_token_accuracy"))
    result = StageResult(
        name=label,
        steps=trainer.state.global_step,
        seconds=timer.seconds,
        model_dir=out,
        metrics=metrics,
        history=history.rows,
        config={
            "learning_rate": config.learning_rate,
            "max_steps": config.max_steps,
            "batch_size": config.per_device_train_batch_size,
            "rows": len(rows),
        },
    )
    write_stage_meta(out, {"stage": label, "base": str(model_dir), **result.config})
    return result
