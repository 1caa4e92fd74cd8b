"""What the two GRPO stages (SRL and RLVR) share: CPU-sized defaults, the adaptive KL target, the
progress/stop switches and their cross-field checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig


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
