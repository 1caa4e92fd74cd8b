"""What every stage shares: the result record, progress on stderr, log capture, adaptive KL,
device/precision arguments and checkpoint discovery."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

err = Console(stderr=True)

# Keys copied from TRL's logs into a stage's per-step history (the rest is noise for reports).
HISTORY_KEYS = (
    "loss",
    "reward",
    "reward_std",
    "kl",
    "kl_coef",
    "frac_reward_zero_std",
    "dynamic_sampling/dropped_frac",
    "dynamic_sampling/refill_rounds",
    "episode/success",
    "episode/outcome",
    "completions/mean_length",
    "learning_rate",
    "grad_norm",
    "entropy",
    "mean_token_accuracy",
)


@dataclass
class StageResult:
    """What a stage returns and the run report stores."""

    name: str
    steps: int
    seconds: float
    model_dir: str
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_kwargs(device: str, bf16: bool) -> dict[str, Any]:
    """TrainingArguments fields for ``device`` ("cpu" | "cuda") and precision."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is visible; use --device cpu")
    if bf16 and device == "cpu":
        raise ValueError("bf16=True needs --device cuda; CPU training stays in float32")
    return {"use_cpu": device == "cpu", "bf16": bf16}


class ProgressCallback(TrainerCallback):
    """One rich progress bar on stderr per stage, with the latest reward in the description."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=state.max_steps)
        self._progress.update(self._task, completed=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._progress is None or not logs:
            return
        shown = [f"{k}={logs[k]:.3f}" for k in ("reward", "loss") if k in logs]
        self._progress.update(self._task, description=f"{self.label} {' '.join(shown)}")

    def on_train_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class HistoryCallback(TrainerCallback):
    """Keeps the per-step training logs (the numbers behind the report's curves)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "train_runtime" in logs:
            return
        row = {"step": float(state.global_step)}
        row.update({k: float(v) for k, v in logs.items() if k in HISTORY_KEYS and _finite(v)})
        self.rows.append(row)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


class AdaptiveKLCallback(TrainerCallback, ExportableState):
    """The seed design's adaptive KL coefficient, applied to TRL's ``trainer.beta``.

    After each optimizer step: β × 1.5 when the measured KL is above 2 × target, β × 0.9 when it is
    below target / 2. The coefficient is logged every step (``kl_coef``) and saved in checkpoints,
    so a resumed run continues with the coefficient it had.
    """

    def __init__(self, target: float, beta: float, min_beta: float = 1e-4, max_beta: float = 1.0):
        if target <= 0:
            raise ValueError(f"target KL must be > 0, got {target}")
        self.target = target
        self.beta = beta
        self.min_beta = min_beta
        self.max_beta = max_beta
        self.trainer = None

    def bind(self, trainer) -> AdaptiveKLCallback:
        self.trainer = trainer
        trainer.beta = self.beta
        return self

    def update(self, kl: float) -> float:
        if kl > 2 * self.target:
            self.beta = min(self.max_beta, self.beta * 1.5)
        elif kl < self.target / 2:
            self.beta = max(self.min_beta, self.beta * 0.9)
        return self.beta

    def on_train_begin(self, args, state, control, **kwargs):
        if self.trainer is not None:
            self.trainer.beta = self.beta

    def on_step_end(self, args, state, control, **kwargs):
        if self.trainer is None:
            return
        metrics = self.trainer._metrics["train"]
        if metrics.get("kl"):
            self.update(float(metrics["kl"][-1]))
        self.trainer.beta = self.beta
        metrics["kl_coef"].append(self.beta)

    def state(self) -> dict:
        return {
            "args": {"target": self.target, "beta": self.beta},
            "attributes": {"beta": self.beta},
        }

    def restore(self, checkpoint: str | None) -> None:
        """Continue with the coefficient saved in ``checkpoint``'s trainer state."""
        if checkpoint is None:
            return
        saved = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
        data = saved.get("stateful_callbacks", {}).get(type(self).__name__)
        if isinstance(data, list):
            data = data[0] if data else None
        if data:
            self.beta = float(data.get("attributes", {}).get("beta", self.beta))
        if self.trainer is not None:
            self.trainer.beta = self.beta


class StopAtStepCallback(TrainerCallback):
    """Ends training at ``step`` as if the job were killed there (tests and curriculum phases)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
            control.should_save = False


def quiet(trainer) -> None:
    """Keep stdout clean: drop the callback that prints every log dict (``--json`` contract)."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def latest_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder under ``output_dir`` that holds a trainer state."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    found = [
        (int(p.name.split("-")[-1]), p)
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()
    ]
    return str(max(found)[1]) if found else None


def summarize(history: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, float]:
    """First/last/mean of each key over a stage's history (``reward_first``, ``reward_last``…)."""
    out: dict[str, float] = {}
    for key in keys:
        values = [row[key] for row in history if key in row]
        if not values:
            continue
        name = key.replace("/", "_")
        head = values[: max(1, len(values) // 4)]
        tail = values[-max(1, len(values) // 4) :]
        out[f"{name}_first_quarter"] = sum(head) / len(head)
        out[f"{name}_last_quarter"] = sum(tail) / len(tail)
        out[f"{name}_mean"] = sum(values) / len(values)
    return out


def save_final(trainer, tokenizer, output_dir: str | Path) -> str:
    """Save the trained model and tokenizer to ``output_dir/final`` as a normal HF folder."""
    out = Path(output_dir) / "final"
    model = trainer.accelerator.unwrap_model(trainer.model)
    quantized = getattr(model, "is_loaded_in_4bit", False)
    if hasattr(model, "merge_and_unload") and not quantized:
        # LoRA: fold the adapters in, so the next stage (and evaluation) gets a plain model.
        model = model.merge_and_unload()
    # Training turns the KV cache off in the config; a saved model should generate fast.
    model.config.use_cache = True
    if quantized:
        trainer.save_model(str(out))  # 4-bit: the adapter only; load it with PEFT
    else:
        model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return str(out)


def load_model(model_dir: str | Path, *, device: str = "cpu", load_in_4bit: bool = False):
    """A causal LM for training; 4-bit (QLoRA) needs CUDA and bitsandbytes."""
    from transformers import AutoModelForCausalLM

    if not load_in_4bit:
        return AutoModelForCausalLM.from_pretrained(str(model_dir))
    if device != "cuda":
        raise ValueError("load_in_4bit needs --device cuda (bitsandbytes 4-bit is GPU-only)")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ValueError(
            "load_in_4bit needs the bitsandbytes package; pip install bitsandbytes"
        ) from None
    import torch
    from transformers import BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4"
    )
    return AutoModelForCausalLM.from_pretrained(
        str(model_dir), quantization_config=quant, device_map={"": 0}
    )


def write_stage_meta(model_dir: str | Path, meta: dict[str, Any]) -> None:
    """Store the exact stage config beside the weights (nanochat habit)."""
    path = Path(model_dir) / "srlforge_stage.json"
    path.write_text(json.dumps(meta, indent=2, default=str, sort_keys=True))


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
