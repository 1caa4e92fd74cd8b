"""SRL really trains: the reward on its own training prompts goes up, weights move, dynamic
sampling drops flat groups in a live run, and a killed run resumes to the same step count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow


def _config(out: Path, **kwargs):
    from trainer_service.stages.srl import SRLConfig

    defaults = {"output_dir": str(out), "use_cpu": True, "progress": False, "seed": 0}
    return SRLConfig(**{**defaults, **kwargs})


def test_short_srl_run_raises_the_reward_on_its_training_prompts(micro_base, expert, tmp_path):
    """SRL reward + GRPO + dynamic sampling learn on their own; the KL leash is off here (it is
    exercised by the resume test) because on a 0.1 M model the adaptive β saturates and holds
    a 20-step run in place."""
    from trainer_service.evaluation import mean_srl_reward
    from trainer_service.stages.srl import run_srl

    rows = expert.rows
    before = mean_srl_reward(micro_base, rows, samples=8, seed=1)
    config = _config(tmp_path, max_steps=20, learning_rate=1e-3, beta=0.0, target_kl=None)
    result = run_srl(micro_base, rows, config)
    after = mean_srl_reward(result.model_dir, rows, samples=8, seed=1)
    assert result.steps == 20
    assert after > before + 0.05, (before, after)
    assert {"reward", "dynamic_sampling/dropped_frac"} <= set(result.history[-1])


def test_one_step_changes_the_parameters(micro_base, expert, tmp_path):
    from transformers import AutoModelForCausalLM

    from trainer_service.stages.srl import run_srl

    result = run_srl(micro_base, expert.rows, _config(tmp_path, max_steps=1, learning_rate=1e-3))
    old = AutoModelForCausalLM.from_pretrained(str(micro_base)).state_dict()
    new = AutoModelForCausalLM.from_pretrained(result.model_dir).state_dict()
    changed = [name for name in old if not torch.equal(old[name], new[name])]
    assert len(changed) >= len(old) // 2, f"only {changed} moved"


def test_dynamic_sampling_drops_flat_groups_in_a_live_run(micro_base, expert, tmp_path):
    """Half the prompts get a constant reward: their groups must be dropped and counted."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer_service.stages.srl import SRLTrainer, srl_dataset_rows

    rows = srl_dataset_rows(expert.rows)
    flat_ids = {r["prompt"] for r in rows[::2]}
    kept_rewards: list[list[float]] = []

    def reward(prompts, completions, **_):
        pairs = zip(prompts, completions, strict=True)
        out = [0.5 if p in flat_ids else float(len(c) % 7) / 7 for p, c in pairs]
        kept_rewards.append(out)
        return out

    trainer = SRLTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(micro_base)),
        reward_funcs=[reward],
        args=_config(tmp_path, max_steps=2, beta=0.0, target_kl=None, max_refill_rounds=0),
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(str(micro_base)),
        refill_rows=rows,
    )
    batches = []
    original = trainer._generate_and_score_completions

    def spy(inputs):
        out = original(inputs)
        batches.append((inputs, out))
        return out

    trainer._generate_and_score_completions = spy
    trainer.train()
    dropped = [
        log["dynamic_sampling/dropped_frac"]
        for log in trainer.state.log_history
        if "dynamic_sampling/dropped_frac" in log
    ]
    assert dropped and max(dropped) > 0
    for inputs, out in batches:
        flat_groups = sum(1 for i in range(0, len(inputs), 4) if inputs[i]["prompt"] in flat_ids)
        kept = out["advantages"].numel() // 4
        assert kept <= len(inputs) // 4 - flat_groups  # every flat group is gone


def test_killed_run_resumes_to_the_same_step_count(micro_base, expert, tmp_path):
    from transformers import AutoModelForCausalLM

    from trainer_service.stages.srl import run_srl

    out = tmp_path / "srl"
    common = {"max_steps": 4, "save_strategy": "steps", "save_steps": 2}
    first = run_srl(micro_base, expert.rows, _config(out, stop_at_step=3, **common))
    assert first.steps == 3  # "killed" after step 3; checkpoint-2 is the newest on disk
    assert (out / "checkpoint-2" / "trainer_state.json").exists()
    resumed = run_srl(micro_base, expert.rows, _config(out, **common))
    assert resumed.steps == 4
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    saved_kl = state["stateful_callbacks"]["AdaptiveKLCallback"]["attributes"]["beta"]
    assert saved_kl > 0
    model = AutoModelForCausalLM.from_pretrained(resumed.model_dir)
    assert model.config.use_cache is True


def test_lora_srl_saves_a_merged_plain_model(micro_base, expert, tmp_path):
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM

    from trainer_service.stages.srl import run_srl

    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    result = run_srl(
        micro_base,
        expert.rows,
        _config(tmp_path, max_steps=1, learning_rate=1e-2),
        peft_config=lora,
    )
    model = AutoModelForCausalLM.from_pretrained(result.model_dir)  # no adapter folder needed
    base = AutoModelForCausalLM.from_pretrained(str(micro_base))
    names = [n for n, _ in model.named_parameters()]
    assert not any("lora" in n for n in names)
    moved = [
        n
        for n, p in model.named_parameters()
        if not torch.equal(p, dict(base.named_parameters())[n])
    ]
    assert moved and all(("q_proj" in n or "v_proj" in n) for n in moved)
