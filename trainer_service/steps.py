"""The pipeline's steps as pure functions of (config, run folder, previous artifacts).

``pipeline.run_pipeline`` calls them in-process; ``tasks.py`` calls the same functions from
Celery workers. Each step that trains writes into ``runs/<run_id>/checkpoints/<stage>/`` and is
skipped when its ``final`` model and ``result.json`` already exist (idempotent per run + stage).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from srlforge.arena import get_arena
from srlforge.schema import Scenario
from trainer_service.base_models import git_revision, resolve_base_model
from trainer_service.data import ExpertData, expert_data, heldout_scenarios, sft_rows
from trainer_service.pipeline import PipelineConfig
from trainer_service.stages.common import StageResult, device_kwargs
from trainer_service.transcript import DEFAULT_FORMAT, srl_rows

__all__ = [
    "base_model",
    "evaluate_checkpoint",
    "generate",
    "git_revision",
    "heldout_splits",
    "register",
    "similarity_rows",
    "train_stage",
]


def generate(config: PipelineConfig, run_dir: Path) -> ExpertData:
    """Expert trajectories (verified) and their SRL rows, written to ``run_dir/dataset``."""
    data = expert_data(
        config.model_type,
        n=config.n_examples,
        difficulties=config.train_difficulties,
        species=config.species,
        seed=config.seed,
        source=config.data_source,
    )
    folder = run_dir / "dataset"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "trajectories.jsonl").open("w") as fh:
        for t in data.trajectories:
            fh.write(t.model_dump_json() + "\n")
    with (folder / "srl.jsonl").open("w") as fh:
        for row in data.rows:
            fh.write(json.dumps(row) + "\n")
    manifest = {
        **data.summary(),
        "format": DEFAULT_FORMAT.to_dict(),
        "difficulties": config.train_difficulties,
        "species": config.species,
        "seed": config.seed,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return data


def load_dataset(run_dir: Path, config: PipelineConfig) -> ExpertData:
    """Read back what ``generate`` wrote (the Celery tasks pass run ids, never data)."""
    from srlforge.schema import Trajectory

    folder = run_dir / "dataset"
    manifest = json.loads((folder / "manifest.json").read_text())
    trajectories = [
        Trajectory.model_validate_json(line)
        for line in (folder / "trajectories.jsonl").read_text().splitlines()
    ]
    rows = [json.loads(line) for line in (folder / "srl.jsonl").read_text().splitlines()]
    return ExpertData(
        model_type=config.model_type,
        species=config.species,
        rules_version=manifest["rules_version"],
        trajectories=trajectories,
        source=manifest["source"],
        rows=rows,
        dataset_hash=manifest["hash"],
        failed=manifest["failed"],
    )


def base_model(config: PipelineConfig, progress: bool = True) -> Path | str:
    return resolve_base_model(
        config.base_model,
        config.model_type,
        seed=config.base_seed,
        progress=progress,
        device=config.device,
    )


def heldout_splits(config: PipelineConfig) -> dict[str, list[Scenario]]:
    """In-distribution (held-out seeds, training difficulties) and one difficulty above."""
    arena = get_arena(config.model_type)
    per = max(1, config.eval_episodes // len(config.train_difficulties))
    in_dist = [
        s
        for d in config.train_difficulties
        for s in heldout_scenarios(arena, count=per, difficulty=d, species=config.species)
    ]
    splits = {"in_distribution": in_dist}
    if config.harder_difficulty is not None:
        splits["harder"] = heldout_scenarios(
            arena,
            count=config.eval_episodes,
            difficulty=config.harder_difficulty,
            species=config.species,
        )
    return splits


def similarity_rows(config: PipelineConfig) -> list[dict[str, Any]]:
    """Held-out expert prefixes for the step-similarity metric."""
    if config.similarity_rows == 0:
        return []
    arena = get_arena(config.model_type)
    rows: list[dict[str, Any]] = []
    for scenario in heldout_splits(config)["in_distribution"]:
        rows += srl_rows(arena, scenario, arena.solve(scenario))
        if len(rows) >= config.similarity_rows:
            break
    return rows[: config.similarity_rows]


def evaluate_checkpoint(
    config: PipelineConfig,
    model_dir: Path | str,
    reference_dir: Path | str,
    splits: dict[str, list[Scenario]],
    similarity: list[dict[str, Any]],
) -> dict[str, Any]:
    from trainer_service.evaluation import evaluate

    return evaluate(
        model_dir,
        get_arena(config.model_type),
        splits,
        similarity_rows=similarity,
        reference_dir=reference_dir,
        pass_k=config.pass_k,
        device=config.device,
        legal_actions=config.legal_actions,
    )


def _stage_kwargs(stage: str, config: PipelineConfig, out: Path) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "output_dir": str(out),
        "max_steps": config.max_steps.get(stage, 30),
        "seed": config.seed,
        **device_kwargs(config.device, config.bf16),
    }
    if stage in ("srl", "rlvr"):
        kwargs["legal_actions"] = config.legal_actions
    if config.checkpoint_every:
        kwargs.update(save_strategy="steps", save_steps=config.checkpoint_every)
    kwargs.update(config.stage_overrides.get(stage, {}))
    return kwargs


def peft_config(config: PipelineConfig):
    """The LoRA config of a run, or None for full fine-tuning."""
    if config.lora_r is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        task_type="CAUSAL_LM",
    )


def train_stage(
    stage: str,
    config: PipelineConfig,
    run_dir: Path,
    model_dir: Path | str,
    data: ExpertData,
    progress: bool = True,
) -> StageResult:
    """Train one stage from ``model_dir``; reuse a finished result in the run folder."""
    out = run_dir / "checkpoints" / stage
    done = out / "result.json"
    if done.exists() and (out / "final" / "config.json").exists():
        return StageResult(**json.loads(done.read_text()))
    kwargs = _stage_kwargs(stage, config, out)
    arena = get_arena(config.model_type)
    load = {
        "peft_config": peft_config(config),
        "device": config.device,
        "load_in_4bit": config.load_in_4bit,
    }
    if stage == "sft":
        from transformers import AutoTokenizer

        from trainer_service.stages.sft import SFTStageConfig, run_sft

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        rows = sft_rows(tokenizer, arena, data.trajectories)
        result = run_sft(model_dir, rows, SFTStageConfig(progress=progress, **kwargs), **load)
    elif stage == "srl":
        from trainer_service.stages.srl import SRLConfig, run_srl

        result = run_srl(model_dir, data.rows, SRLConfig(progress=progress, **kwargs), **load)
    elif stage == "rlvr":
        from trainer_service.stages.rlvr import RLVRConfig, run_rlvr

        scenarios = [t.scenario for t in data.trajectories]
        if config.curriculum:
            from trainer_service.curriculum import run_rlvr_curriculum

            result = run_rlvr_curriculum(model_dir, config, kwargs, progress)
        else:
            result = run_rlvr(model_dir, scenarios, RLVRConfig(progress=progress, **kwargs), **load)
    elif stage == "dpo":
        from trainer_service.stages.dpo import DPOStageConfig, run_dpo

        result = run_dpo(
            model_dir,
            data.trajectories,
            DPOStageConfig(progress=progress, **kwargs),
            arena=arena,
            **load,
        )
    else:
        raise ValueError(f"unknown stage {stage!r}; choose sft, srl, rlvr or dpo")
    done.write_text(json.dumps(asdict(result), default=str))
    return result


def _tracker_evaluation(evaluation: dict[str, Any]) -> dict[str, float]:
    """The tracker's metric names (tracker_service/metrics.yaml) for an evaluation."""
    return {
        "accuracy": evaluation["success_rate"],
        "success_rate": evaluation["success_rate"],
        "quality": evaluation["quality"],
        "latency_ms": evaluation["latency_ms"],
        "format_valid_rate": evaluation["format_valid_rate"],
        "violation_rate": evaluation["violation_rate"],
        "outcome_reward": evaluation["mean_outcome_reward"],
        "action_similarity": evaluation["step_similarity"],
        "kl": max(0.0, evaluation["kl_to_reference"]),
    }


def promotion_check(evaluation: dict[str, Any], baseline: dict[str, Any] | None) -> str | None:
    """Why the trained model must not be promoted, or None. A model goes to production only
    when it beats the model it was trained from on held-out data: higher in-distribution
    success, or equal success and a higher mean outcome reward. (The tracker then applies its
    own gate against the current production model.)"""
    if baseline is None:
        return None

    def key(ev: dict[str, Any]) -> tuple[float, float]:
        split = ev.get("splits", {}).get("in_distribution", ev)
        return (
            round(float(split.get("success_rate", 0.0)), 6),
            round(float(split.get("mean_outcome_reward", 0.0)), 6),
        )

    trained, base = key(evaluation), key(baseline)
    if trained > base:
        return None
    return (
        f"held-out success {trained[0]:.3f} (mean outcome {trained[1]:.3f}) does not beat the "
        f"base model's {base[0]:.3f} ({base[1]:.3f}); registered but not promoted"
    )


def _register_in_tracker(
    spec: dict[str, Any], db_url: str | None, run_id: str, refuse: str | None
) -> dict:
    """Register and, unless ``refuse`` says why not, try to promote; a missing or refusing
    tracker is reported, not raised."""
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from tracker_service.client import EmbeddedTracker
        from tracker_service.errors import PromotionRefused, TrackerError
    except ImportError as exc:
        return {"reason": f"tracker_service not importable: {exc}"}
    from trainer_service.settings import get_settings as trainer_settings

    try:
        with EmbeddedTracker(db_url or trainer_settings().tracker_db_url) as tracker:
            version = tracker.register_model(**spec)
            record = {
                "backend": "tracker_service.EmbeddedTracker",
                "model_id": version.model_id,
                "registered": True,
                "version": version.version,
                "stage": version.stage,
                "promoted": False,
            }
            if refuse is not None:
                return {**record, "reason": refuse}
            try:
                promotion = tracker.promote(
                    version.model_id, actor="trainer_service.pipeline", reason=f"run {run_id}"
                )
            except PromotionRefused as exc:
                return {**record, "reason": str(exc)}
    except (TrackerError, SQLAlchemyError) as exc:
        return {"reason": f"the tracker refused the registration: {exc}"}
    return {
        **record,
        "stage": promotion.model.stage,
        "promoted": promotion.model.stage == "production",
    }


def register(
    config: PipelineConfig,
    run_id: str,
    model_dir: Path | str,
    stage: str,
    evaluation: dict[str, Any],
    data: ExpertData,
    run_dir: Path,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Register the final model in the tracker and promote it when it beats ``baseline`` (the
    base model's evaluation; see ``promotion_check``) and the tracker's gate; without
    ``tracker_service`` the registration is written to ``run_dir/registration.json``."""
    spec = {
        "model_type": config.model_type,
        "training_stage": "->".join(config.stages) or "base",
        "run_id": run_id,
        "dataset_hash": data.dataset_hash,
        "rules_version": data.rules_version,
        "git_revision": git_revision(),
        "artifact_uri": str(Path(model_dir).resolve()),
        "config": json.loads(config.model_dump_json()),
        "evaluation": _tracker_evaluation(evaluation),
        "n_scenarios": sum(len(v) for v in evaluation.get("splits", {}).values()) or None,
    }
    record: dict[str, Any] = {"backend": "run_folder", "model_id": None, "registered": False}
    if config.register_model:
        refuse = promotion_check(evaluation, baseline) if stage != "base" else None
        record = {**record, **_register_in_tracker(spec, config.tracker_db, run_id, refuse)}
    if record["model_id"] is None:
        record["model_id"] = f"{config.model_type}-{run_id}"
    (run_dir / "registration.json").write_text(
        json.dumps({**record, "spec": spec}, indent=2, default=str)
    )
    return record
