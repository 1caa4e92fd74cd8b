"""SRL: GRPO on the SRL view of expert trajectories, with the step-wise reward and dynamic sampling.

Each row is a prompt (scenario + the expert's steps so far, as a transcript) and the expert's
next action; the policy writes ``<think>…</think><action>{json}</action>`` and only the action is
rewarded (``srlforge.rewards.make_srl_reward``: similarity, rules, format, state; −1 on bad
format). Dynamic sampling (SRL paper): after scoring, prompt groups whose reward std ≤ ε carry no
GRPO signal; they are dropped and the batch is refilled with freshly sampled prompts, up to
``max_refill_rounds`` times. TRL only logs such groups (``frac_reward_zero_std``); this trainer
removes them and logs ``dynamic_sampling/dropped_frac``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from trl import GRPOTrainer

from srlforge.arena import get_arena
from srlforge.rewards import make_srl_reward
from trainer_service.stages.common import (
    StageResult,
)
from trainer_service.stages.grpo_base import GRPOStageConfig, run_grpo

SRL_COLUMNS = ("prompt", "model_type", "scenario", "history", "expert_action")
# Tensors a scored batch carries, by which side they are padded on.
_LEFT_PADDED = ("prompt_ids", "prompt_mask")
_RIGHT_PADDED = (
    "completion_ids",
    "completion_mask",
    "old_per_token_logps",
    "ref_per_token_logps",
    "sampling_per_token_logps",
    "tool_mask",
)


@dataclass
class SRLConfig(GRPOStageConfig):
    """GRPO on SRL rows plus dynamic sampling and legal-action sampling."""

    learning_rate: float = 3e-4
    max_completion_length: int | None = 32
    max_steps: int = 40
    dynamic_sampling: bool = field(
        default=True, metadata={"help": "Drop groups with reward std <= epsilon and refill."}
    )
    dynamic_sampling_epsilon: float = field(
        default=1e-4, metadata={"help": "Groups with reward std at or below this are dropped."}
    )
    max_refill_rounds: int = field(
        default=2, metadata={"help": "Extra generation rounds to replace dropped groups."}
    )
    legal_actions: bool = field(
        default=False,
        metadata={
            "help": "Sample each step among the arena's legal actions in that state (where it has "
            "an action mask; trainer_service.constrained), so the reward ranks decisions rather "
            "than legality. False: TRL's own free generation."
        },
    )

    def __post_init__(self) -> None:
        # A config saved after training can carry use_cache=False; generation without the KV cache
        # re-reads the whole prompt for every new token (~5x slower here).
        self.generation_kwargs = {"use_cache": True, **(self.generation_kwargs or {})}
        super().__post_init__()
        if self.dynamic_sampling_epsilon < 0:
            raise ValueError(
                f"dynamic_sampling_epsilon={self.dynamic_sampling_epsilon} must be >= 0 "
                "(0 drops only groups whose rewards are all equal)"
            )
        if self.max_refill_rounds < 0:
            raise ValueError(f"max_refill_rounds={self.max_refill_rounds} must be >= 0")
        if self.dynamic_sampling and self.steps_per_generation != 1:
            raise ValueError(
                f"dynamic sampling builds one batch per optimizer step, but steps_per_generation="
                f"{self.steps_per_generation}; set gradient_accumulation_steps=1 and "
                "steps_per_generation=1, or dynamic_sampling=False"
            )


def _pad_to(tensor: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    missing = width - tensor.size(1)
    if missing <= 0:
        return tensor
    pad = torch.full((tensor.size(0), missing), value, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([pad, tensor] if left else [tensor, pad], dim=1)


def merge_scored(parts: list[tuple[dict[str, Any], list[int]]], pad_id: int) -> dict[str, Any]:
    """Concatenate the kept rows of several scored batches, re-padding to common widths."""
    merged: dict[str, Any] = {}
    keys = [k for k in parts[0][0] if isinstance(parts[0][0][k], torch.Tensor)]
    for key in keys:
        if key == "num_items_in_batch":
            continue
        pieces = [out[key][rows] for out, rows in parts if rows]
        if not pieces:
            continue
        if key in _LEFT_PADDED or key in _RIGHT_PADDED:
            width = max(p.size(1) for p in pieces)
            value = (
                pad_id
                if key in ("prompt_ids", "completion_ids")
                else (1 if key == "tool_mask" else 0)
            )
            pieces = [_pad_to(p, width, value, key in _LEFT_PADDED) for p in pieces]
        merged[key] = torch.cat(pieces, dim=0)
    mask = merged["completion_mask"]
    if "tool_mask" in merged:
        mask = mask * merged["tool_mask"]
    merged["num_items_in_batch"] = mask.sum()
    return merged


def zero_std_groups(rewards: torch.Tensor, group_size: int, epsilon: float) -> torch.Tensor:
    """Boolean mask over groups: True where the group's reward std is <= ``epsilon``."""
    grouped = rewards.view(-1, group_size)  # (groups, G)
    std = torch.nan_to_num(grouped.std(dim=1, unbiased=False), nan=0.0)
    return std <= epsilon


class SRLTrainer(GRPOTrainer):
    """GRPOTrainer with dynamic sampling (drop zero-variance groups, refill, log the fraction)."""

    def __init__(self, *args: Any, refill_rows: list[dict[str, Any]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._refill_rows = refill_rows or []
        self._refill_rng = random.Random(self.args.seed)
        self._last_rewards: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        self._last_rewards = (rewards_per_func * weights).nansum(dim=1)  # (B,)
        return rewards_per_func

    def _refill_batch(self, groups: int) -> list[dict[str, Any]]:
        rows = [self._refill_rng.choice(self._refill_rows) for _ in range(groups)]
        return [dict(row) for row in rows for _ in range(self.num_generations)]

    def _generate_and_score_completions(self, inputs):
        args = self.args
        if not self.model.training or not getattr(args, "dynamic_sampling", False):
            return super()._generate_and_score_completions(inputs)
        group = self.num_generations
        wanted = len(inputs) // group
        parts: list[tuple[dict[str, Any], list[int]]] = []
        kept = seen = dropped = rounds = 0
        batch = inputs
        while True:
            out = super()._generate_and_score_completions(batch)
            flat = zero_std_groups(self._last_rewards, group, args.dynamic_sampling_epsilon)
            seen += len(flat)
            dropped += int(flat.sum())
            take = [g for g in range(len(flat)) if not flat[g]][: wanted - kept]
            parts.append((out, [g * group + j for g in take for j in range(group)]))
            kept += len(take)
            if kept >= wanted or rounds >= args.max_refill_rounds or not self._refill_rows:
                break
            rounds += 1
            batch = self._refill_batch(wanted - kept)
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/dropped_frac"].append(dropped / max(seen, 1))
        metrics["dynamic_sampling/refill_rounds"].append(float(rounds))
        metrics["dynamic_sampling/kept_groups"].append(float(kept))
        if kept == 0:
            # Every group was flat: the last batch as is (all advantages are 0, so only the KL
            # term moves the policy), rather than an empty step that breaks the optimizer loop.
            return out
        return merge_scored(parts, self._tokenizer.pad_token_id)


class LegalStepRollout:
    """TRL ``rollout_func`` for SRL rows: one sampled step per (repeated) prompt, decoded among
    the legal actions of the state the expert prefix leads to (rebuilt by replaying it in the
    simulator, once per row)."""

    def __init__(self, rows: list[dict[str, Any]], *, arena_for=get_arena, max_tokens: int = 32):
        self.rows = {row["prompt"]: row for row in rows}
        self.arena_for = arena_for
        self.max_tokens = max_tokens
        self._tries: dict[str, Any] = {}

    def trie(self, prompt: str, tokenizer):
        if prompt not in self._tries:
            import json

            from srlforge.schema import Scenario
            from trainer_service.constrained import completion_trie, legal_completions

            row = self.rows.get(prompt)
            if row is None:
                raise ValueError(f"SRL prompt not in this rollout's rows: {prompt[:80]!r}")
            arena = self.arena_for(row["model_type"])
            scenario = Scenario.model_validate_json(row["scenario"])
            state = arena.reset(scenario)
            for past in json.loads(row["history"]):
                _, state, _ = arena.evaluate_step(state, past)
            options = legal_completions(arena, state)
            self._tries[prompt] = completion_trie(tokenizer, options) if options else None
        return self._tries[prompt]

    def __call__(self, prompts: list[str], trainer) -> dict[str, list]:
        from trainer_service.rollout import generate_steps

        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        prompt_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        tries = [self.trie(p, tokenizer) for p in prompts]
        generated = generate_steps(
            model,
            tokenizer,
            prompt_ids,
            greedy=False,
            temperature=trainer.temperature,
            max_new_tokens=self.max_tokens,
            batch_size=len(prompts),
            tries=tries,
        )
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": [ids for ids, _ in generated],
            "logprobs": [logps for _, logps in generated],
        }


def srl_dataset_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    missing = [c for c in SRL_COLUMNS if c not in rows[0]]
    if missing:
        raise ValueError(f"SRL rows lack columns {missing}; build them with transcript.srl_rows")
    return [{c: r[c] for c in SRL_COLUMNS} for r in rows]


def run_srl(
    model_dir: str | Path,
    rows: list[dict[str, Any]],
    config: SRLConfig,
    *,
    arena_for=get_arena,
    resume: bool = True,
    peft_config=None,
    label: str = "srl",
    device: str = "cpu",
    load_in_4bit: bool = False,
) -> StageResult:
    """Run SRL from ``model_dir`` on SRL ``rows``; the model lands in ``output_dir/final``."""
    from datasets import Dataset

    if not rows:
        raise ValueError("SRL got no rows; generate a dataset first")
    data = srl_dataset_rows(rows)
    return run_grpo(
        SRLTrainer,
        model_dir,
        config,
        label=label,
        metric_keys=("reward", "kl", "kl_coef", "dynamic_sampling/dropped_frac"),
        extra_config={
            "dynamic_sampling": config.dynamic_sampling,
            "legal_actions": config.legal_actions,
            "epsilon": config.dynamic_sampling_epsilon,
            "rows": len(rows),
        },
        resume=resume,
        device=device,
        load_in_4bit=load_in_4bit,
        reward_funcs=[make_srl_reward(arena_for)],
        train_dataset=Dataset.from_list(data),
        peft_config=peft_config,
        refill_rows=data,
        rollout_func=(
            LegalStepRollout(data, arena_for=arena_for, max_tokens=config.max_completion_length)
            if config.legal_actions
            else None
        ),
    )
