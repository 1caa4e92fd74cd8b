"""Base models: the locally built ``tiny``/``small`` presets, or any local path / hub id.

A preset is built, never downloaded: a BPE tokenizer trained on arena text, a Qwen2-architecture
causal LM initialised from a config, and a short format pre-training on random-policy steps of
training scenarios. That last part plays the role an instruct model's chat tuning plays for a
real base: the model can write ``<think></think><action>{json}</action>`` with schema-valid
actions but knows nothing of the expert's choices (random actions), so SFT, SRL and RLVR all have
something to improve and a group of samples has reward variance from the first step. It is saved
as a normal Hugging Face folder (config, weights, tokenizer) and cached by its build config.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from srlforge.arena import DIFFICULTIES, get_arena
from srlforge.settings import get_settings
from trainer_service.data import pack_episode, random_episode_turns, scenarios
from trainer_service.transcript import (
    DEFAULT_FORMAT,
    TranscriptFormat,
    render_prompt,
    render_step,
    srl_rows,
)

BASE_META = "srlforge_base.json"


@dataclass(frozen=True)
class ModelPreset:
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate_size: int
    vocab_size: int
    # format pre-training on random-policy steps
    pretrain_scenarios: int
    pretrain_steps: int
    pretrain_lr: float
    batch_size: int = 16
    pretrain_full_loss: bool = False


PRESETS: dict[str, ModelPreset] = {
    # ~0.1 M parameters, seconds to build: for tests and smoke runs, not for results.
    "micro": ModelPreset(64, 2, 2, 1, 128, 600, 160, 150, 5e-3, 8),
    # ~1 M parameters: trains on 2 CPU cores in minutes.
    "tiny": ModelPreset(128, 3, 4, 2, 512, 2048, 600, 150, 2e-3, 8),
    # ~10 M parameters: for a GPU (or patience).
    "small": ModelPreset(256, 6, 8, 4, 1024, 4096, 1600, 600, 1e-3),
    # ~60 M parameters: a GPU preset.
    "medium": ModelPreset(512, 12, 8, 4, 2048, 8192, 4000, 2000, 5e-4),
}


def git_revision() -> str:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def build_config(model_type: str, preset: str, seed: int, fmt: TranscriptFormat) -> dict[str, Any]:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    arena = get_arena(model_type)
    return {
        "model_type": model_type,
        "preset": preset,
        "architecture": asdict(PRESETS[preset]),
        "seed": seed,
        "format": fmt.to_dict(),
        "rules_version": arena.rules_version,
        "builder": 8,  # bump when the build recipe changes, so caches rebuild
    }


def cache_dir(config: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
    return get_settings().home / "models" / f"{config['model_type']}-{config['preset']}-{digest}"


def build_preset(
    model_type: str,
    preset: str = "tiny",
    *,
    seed: int = 0,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    out_dir: Path | None = None,
    progress: bool = True,
    device: str = "cpu",
) -> Path:
    """Build (or reuse) the ``preset`` base model for ``model_type``; return its folder."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from trainer_service.stages.common import device_kwargs
    from trainer_service.stages.sft import SFTStageConfig, run_sft
    from trainer_service.tokenizer import train_tokenizer

    config = build_config(model_type, preset, seed, fmt)
    folder = Path(out_dir) if out_dir is not None else cache_dir(config)
    meta_path = folder / BASE_META
    if meta_path.exists() and json.loads(meta_path.read_text()).get("build") == config:
        return folder
    p = PRESETS[preset]
    arena = get_arena(model_type)
    pool = scenarios(arena, seed=seed, count=p.pretrain_scenarios, difficulties=DIFFICULTIES)
    rng = random.Random(seed)
    episodes = [(s, random_episode_turns(arena, s, rng, fmt)) for s in pool]
    # Tokenizer corpus: everything a transcript can hold (scenarios, random and expert actions,
    # observations), from training seeds only.
    corpus = [render_prompt(arena, s, turns, fmt) for s, turns in episodes]
    for scenario in pool[: max(50, len(pool) // 4)]:
        steps = arena.solve(scenario)
        corpus += [r["prompt"] + r["completion"] for r in srl_rows(arena, scenario, steps, fmt)]
        corpus += [render_step(s, fmt) for s in steps]
    staging = folder.with_name(folder.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tokenizer = train_tokenizer(corpus, p.vocab_size, staging)
    pretrain_rows = [pack_episode(tokenizer, arena, s, turns, fmt) for s, turns in episodes]
    if p.pretrain_full_loss:
        # Language-model the whole transcript: predicting each step's legal options from the
        # map is the same look-up the policy needs, and it is many more copy targets per
        # sequence than the actions alone.
        for row in pretrain_rows:
            row["completion_mask"] = [1] * len(row["input_ids"])
    longest = max(len(r["input_ids"]) for r in pretrain_rows)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=p.hidden_size,
            intermediate_size=p.intermediate_size,
            num_hidden_layers=p.layers,
            num_attention_heads=p.heads,
            num_key_value_heads=p.kv_heads,
            max_position_embeddings=max(2048, 2 * longest),
            tie_word_embeddings=True,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=None,
        )
    )
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    init_dir = staging / "init"
    model.save_pretrained(str(init_dir))
    tokenizer.save_pretrained(str(init_dir))
    result = run_sft(
        init_dir,
        pretrain_rows,
        SFTStageConfig(
            output_dir=str(staging / "pretrain"),
            max_steps=p.pretrain_steps,
            learning_rate=p.pretrain_lr,
            per_device_train_batch_size=p.batch_size,
            seed=seed,
            progress=progress,
            **device_kwargs(device, bf16=False),
        ),
        label=f"base {preset} (format pre-training)",
        resume=False,
    )
    final = Path(result.model_dir)
    for item in final.iterdir():
        shutil.move(str(item), staging / item.name)
    shutil.rmtree(init_dir, ignore_errors=True)
    shutil.rmtree(staging / "pretrain", ignore_errors=True)
    meta = {
        "build": config,
        "parameters": sum(t.numel() for t in model.parameters()),
        "pretrain": {
            "rows": len(pretrain_rows),
            "steps": result.steps,
            "seconds": round(result.seconds, 1),
            **result.metrics,
        },
        "git_revision": git_revision(),
    }
    (staging / BASE_META).write_text(json.dumps(meta, indent=2, sort_keys=True))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def resolve_base_model(
    name: str,
    model_type: str,
    *,
    seed: int = 0,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    progress: bool = True,
    device: str = "cpu",
) -> Path | str:
    """A preset name builds locally; an existing folder is used as is; anything else is a hub id
    that must already be in the local Hugging Face cache (no network at run time)."""
    if name in PRESETS:
        return build_preset(model_type, name, seed=seed, fmt=fmt, progress=progress, device=device)
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ValueError(f"{path} has no config.json; point --base-model at a model folder")
        return path
    return name


def base_info(model_dir: Path | str) -> dict[str, Any]:
    """The build metadata of a preset folder (empty for other models)."""
    meta = Path(model_dir) / BASE_META
    return json.loads(meta.read_text()) if meta.exists() else {}
