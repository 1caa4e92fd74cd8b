"""The main job: generate → [sft] → srl → rlvr → evaluate → register, into ``runs/<run_id>/``.

Every step is a pure function of the config (and the previous step's artifacts), so the local
executor here and the Celery tasks in ``tasks.py`` run the same code. A stage whose final model
already exists in the run folder is not trained again, and a stage with checkpoints resumes from
the newest one: re-running a killed job with the same ``run_id`` finishes it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rich.console import Console

from srlforge.arena import DIFFICULTIES
from srlforge.settings import get_settings

console = Console(stderr=True)

Stage = Literal["sft", "srl", "rlvr", "dpo"]
STAGE_ORDER = ("sft", "srl", "rlvr", "dpo")


def _trainer_settings():
    from trainer_service.settings import get_settings as trainer_settings

    return trainer_settings()


class PipelineConfig(BaseModel):
    """What one run does. Stored verbatim in ``report.json``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_type: str = "personality"
    species: str | None = "vampire"
    base_model: str = Field(default="tiny", description="tiny | small | medium | path | hub id")
    stages: list[Stage] = Field(default_factory=lambda: ["srl", "rlvr"])
    n_examples: int = Field(default=64, ge=1, description="Expert trajectories to generate.")
    train_difficulties: list[int] = Field(default_factory=lambda: [1, 2])
    eval_episodes: int = Field(default=24, ge=1, description="Held-out episodes per split.")
    similarity_rows: int = Field(default=48, ge=0)
    pass_k: int = Field(default=0, ge=0)
    max_steps: dict[str, int] = Field(
        default_factory=lambda: {"sft": 60, "srl": 40, "rlvr": 20, "dpo": 30}
    )
    checkpoint_every: int = Field(default=0, ge=0, description="0: no checkpoints.")
    legal_actions: bool = Field(
        default=True,
        description="RLVR rollouts and evaluation decode among the arena's legal actions where "
        "it has an action mask (the valid-action constraint of text-game RL); evaluation also "
        "reports free decoding under 'unconstrained'. False: free decoding everywhere.",
    )
    curriculum: bool = False
    seed: int = Field(default=0, ge=0, description="Data, sampling and training seed.")
    base_seed: int = Field(default=0, ge=0, description="Seed of a preset base model's build.")
    device: Literal["cpu", "cuda"] = Field(
        default_factory=lambda: _trainer_settings().device,
        description="cpu | cuda; default SRLFORGE_TRAINER_DEVICE (cpu), so GPU workers train "
        "on their GPU without every job having to say so.",
    )
    bf16: bool = False
    lora_r: int | None = Field(
        default=None, ge=1, description="LoRA rank (None: full fine-tuning; the seed uses 16)."
    )
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    load_in_4bit: bool = Field(default=False, description="QLoRA loading (CUDA + bitsandbytes).")
    threads: int | None = Field(
        default_factory=lambda: _trainer_settings().threads or 1,
        ge=1,
        description="torch CPU threads. 1 is fastest for the tiny presets: their ops are too "
        "small to split, and on a busy 2-core machine a second thread mostly waits (measured "
        "~5x slower SFT steps with 2 threads under load). None: torch's default.",
    )
    run_id: str | None = None
    runs_dir: Path | None = None
    tracker_db: str | None = None
    register_model: bool = True
    data_source: Literal["auto", "collab", "arena"] = "auto"
    stage_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Extra config fields per stage, e.g. {'srl': {...}}."
    )

    @field_validator("train_difficulties")
    @classmethod
    def _difficulties(cls, value: list[int]) -> list[int]:
        bad = [d for d in value if d not in DIFFICULTIES]
        if bad or not value:
            raise ValueError(f"train_difficulties must be a non-empty subset of 1..5, got {value}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _checks(self) -> PipelineConfig:
        if len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stages repeat: {self.stages}; list each stage once")
        order = [STAGE_ORDER.index(s) for s in self.stages]
        if order != sorted(order):
            raise ValueError(
                f"stages {self.stages} are out of order; use the order sft, srl, rlvr, dpo"
            )
        if self.load_in_4bit and (self.device != "cuda" or self.lora_r is None):
            raise ValueError(
                "load_in_4bit trains LoRA adapters on a GPU: set --device cuda and lora_r (e.g. 16)"
            )
        if self.bf16 and self.device != "cuda":
            raise ValueError("bf16 needs device='cuda' (--device cuda); CPU runs in float32")
        unknown = set(self.max_steps) - set(STAGE_ORDER)
        if unknown:
            raise ValueError(f"max_steps has unknown stages {sorted(unknown)}")
        return self

    @property
    def harder_difficulty(self) -> int | None:
        top = max(self.train_difficulties)
        return top + 1 if top < max(DIFFICULTIES) else None


def load_config(path: str | Path | None, **overrides: Any) -> PipelineConfig:
    """Read a YAML/JSON config file (optional), apply non-None ``overrides``, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        import yaml

        text = Path(path).read_text()
        loaded = yaml.safe_load(text) if str(path).endswith((".yaml", ".yml")) else json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} must hold a mapping of config fields")
        data.update(loaded)
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "max_steps" and isinstance(value, int):
            value = {s: value for s in STAGE_ORDER}
        data[key] = value
    return PipelineConfig.model_validate(data)


def new_run_id(config: PipelineConfig) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    who = f"-{config.species}" if config.species else ""
    return f"{config.model_type}{who}-{stamp}-{os.getpid() % 10000:04d}"


def run_pipeline(config: PipelineConfig, *, progress: bool = True) -> dict[str, Any]:
    """Run the whole job; return the report (also written to ``runs/<run_id>/report.json``)."""
    from trainer_service import steps
    from trainer_service.report import write_report

    if config.threads and config.device == "cpu":
        import torch

        torch.set_num_threads(config.threads)
    started = time.perf_counter()
    run_id = config.run_id or new_run_id(config)
    run_dir = Path(config.runs_dir or get_settings().runs_dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        if progress:
            console.print(f"[bold]{name}[/] …", highlight=False)
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - t0, 2)
        if progress:
            console.print(f"  {name} done in {timings[name]:.1f} s", highlight=False)
        return value

    data = timed("generate", steps.generate, config, run_dir)
    base_dir = timed("base_model", steps.base_model, config, progress)
    splits = steps.heldout_splits(config)
    similarity = steps.similarity_rows(config)
    evals = {
        "base": timed(
            "eval_base", steps.evaluate_checkpoint, config, base_dir, base_dir, splits, similarity
        )
    }
    stage_results = []
    current = base_dir
    for stage in config.stages:
        result = timed(stage, steps.train_stage, stage, config, run_dir, current, data, progress)
        stage_results.append(result)
        current = result.model_dir
        evals[stage] = timed(
            f"eval_{stage}",
            steps.evaluate_checkpoint,
            config,
            current,
            base_dir,
            splits,
            similarity,
        )
    final_name = config.stages[-1] if config.stages else "base"
    registration = timed(
        "register",
        steps.register,
        config,
        run_id,
        current,
        final_name,
        evals[final_name],
        data,
        run_dir,
        baseline=evals["base"],
    )
    report = {
        "run_id": run_id,
        "species": config.species,
        "model_type": config.model_type,
        "base_model": config.base_model,
        "base_model_dir": str(base_dir),
        "rules_version": data.rules_version,
        "dataset": {**data.summary(), "path": str(run_dir / "dataset")},
        "stages": [
            {
                "name": r.name,
                "steps": r.steps,
                "seconds": round(r.seconds, 2),
                "metrics": r.metrics,
                "model_dir": r.model_dir,
                "config": r.config,
            }
            for r in stage_results
        ],
        "eval": evals,
        "model_id": registration["model_id"],
        "registered": registration["registered"],
        "promoted": registration.get("promoted", False),
        "tracker": registration,
        "timings": timings,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "device": config.device,
        "config": json.loads(config.model_dump_json()),
        "git_revision": steps.git_revision(),
        "histories": {r.name: r.history for r in stage_results},
    }
    write_report(report, run_dir)
    return report
