"""RLVR: GRPO over whole arena episodes, rewarded by the verifier.

TRL's ``rollout_func`` hook runs each episode (``EpisodeRollout``): the policy writes a step, the
arena's simulator advances the state and its observation is appended, until the objective is met,
the episode is decided or ``max_steps`` is reached. One episode is one GRPO completion: the
model's tokens carry the loss (``env_mask`` = 1) and the simulator's replies do not (0). The
reward is computed afterwards from the arena's verifier, never inside the rollout:
``0.8 × verified outcome + 0.2 × mean step reward`` (``srlforge.rewards.episode_reward``), so a
different verifier gives different rewards (tested with a deliberately broken one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trl import GRPOTrainer

from srlforge.arena import Arena, get_arena
from srlforge.rewards import DEFAULT, RewardConfig, episode_reward
from srlforge.schema import Scenario
from trainer_service.rollout import play_episodes
from trainer_service.stages.common import (
    StageResult,
)
from trainer_service.stages.grpo_base import GRPOStageConfig, run_grpo
from trainer_service.transcript import DEFAULT_FORMAT, TranscriptFormat, render_prompt


@dataclass
class RLVRConfig(GRPOStageConfig):
    """GRPO over whole episodes; ``max_step_tokens`` caps each step's generation."""

    learning_rate: float = 2e-4
    max_completion_length: int | None = 512
    max_steps: int = 30
    max_step_tokens: int = field(default=32, metadata={"help": "New tokens per episode step."})
    legal_actions: bool = field(
        default=True,
        metadata={
            "help": "Decode each step among the arena's legal actions where it has an action "
            "mask (trainer_service.constrained); the verifier still scores everything."
        },
    )
    target_kl: float | None = field(
        default=0.05, metadata={"help": "Adaptive KL target (None keeps beta fixed)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_step_tokens < 8:
            raise ValueError(
                f"max_step_tokens={self.max_step_tokens} cannot hold one action; use 8 or more"
            )


class EpisodeRollout:
    """TRL ``rollout_func``: plays one sampled episode per (repeated) prompt."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        *,
        arena_for: Callable[[str], Arena] = get_arena,
        fmt: TranscriptFormat = DEFAULT_FORMAT,
        max_step_tokens: int = 32,
        legal_actions: bool = False,
    ) -> None:
        self.by_prompt = {render_prompt(arena_for(s.model_type), s, (), fmt): s for s in scenarios}
        self.arena_for = arena_for
        self.fmt = fmt
        self.max_step_tokens = max_step_tokens
        self.legal_actions = legal_actions

    def __call__(self, prompts: list[str], trainer) -> dict[str, list]:
        try:
            scenarios = [self.by_prompt[p] for p in prompts]
        except KeyError as exc:
            raise ValueError(f"RLVR prompt not built by this rollout: {str(exc)[:80]}") from None
        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        episodes = [None] * len(scenarios)
        for model_type in sorted({s.model_type for s in scenarios}):
            idx = [i for i, s in enumerate(scenarios) if s.model_type == model_type]
            played = play_episodes(
                model,
                tokenizer,
                self.arena_for(model_type),
                [scenarios[i] for i in idx],
                greedy=False,
                temperature=trainer.temperature,
                max_new_tokens=self.max_step_tokens,
                batch_size=len(idx),
                fmt=self.fmt,
                legal_actions=self.legal_actions,
            )
            for i, episode in zip(idx, played, strict=True):
                episodes[i] = episode
        prompt_ids, completion_ids, env_mask, logprobs, steps = [], [], [], [], []
        for episode in episodes:
            ids, mask, logps = episode.completion_ids()
            prompt_ids.append(episode.prompt_ids)
            completion_ids.append(ids)
            env_mask.append(mask)
            logprobs.append(logps)
            steps.append(json.dumps(episode.completions))
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": completion_ids,
            "logprobs": logprobs,
            "env_mask": env_mask,
            "episode_steps": steps,
        }


def make_rlvr_reward(
    arena_for: Callable[[str], Arena] = get_arena, config: RewardConfig = DEFAULT
) -> Callable[..., list[float | None]]:
    """TRL reward function over played episodes: the verifier replays and judges each one."""

    def rlvr_episode_reward(
        prompts, completions, model_type, scenario, episode_steps, log_metric=None, **_
    ):
        rewards: list[float | None] = []
        successes = outcomes = 0.0
        for mt, scen, raw_steps in zip(model_type, scenario, episode_steps, strict=True):
            arena = arena_for(mt)
            scen_obj = Scenario.model_validate_json(scen) if isinstance(scen, str) else scen
            steps = json.loads(raw_steps) if isinstance(raw_steps, str) else raw_steps
            verdict = arena.verify_episode(scen_obj, steps)
            successes += float(verdict.success)
            outcomes += verdict.outcome_reward
            rewards.append(episode_reward(arena, scen_obj, steps, config))
        if log_metric is not None and rewards:
            log_metric("episode/success", successes / len(rewards))
            log_metric("episode/outcome", outcomes / len(rewards))
        return rewards

    return rlvr_episode_reward


def rlvr_rows(
    scenarios: Sequence[Scenario],
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    arena_for: Callable[[str], Arena] = get_arena,
):
    return [
        {
            "prompt": render_prompt(arena_for(s.model_type), s, (), fmt),
            "model_type": s.model_type,
            "scenario": s.model_dump_json(),
        }
        for s in scenarios
    ]


def run_rlvr(
    model_dir: str | Path,
    scenarios: Sequence[Scenario],
    config: RLVRConfig,
    *,
    arena_for: Callable[[str], Arena] = get_arena,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    resume: bool = True,
    peft_config=None,
    label: str = "rlvr",
    device: str = "cpu",
    load_in_4bit: bool = False,
) -> StageResult:
    """Run RLVR from ``model_dir`` on training ``scenarios``; saves to ``output_dir/final``."""
    from datasets import Dataset

    if not scenarios:
        raise ValueError("RLVR got no scenarios")
    return run_grpo(
        GRPOTrainer,
        model_dir,
        config,
        label=label,
        metric_keys=("reward", "episode/success", "episode/outcome", "kl"),
        extra_config={"scenarios": len(scenarios)},
        resume=resume,
        device=device,
        load_in_4bit=load_in_4bit,
        reward_funcs=[make_rlvr_reward(arena_for)],
        train_dataset=Dataset.from_list(rlvr_rows(scenarios, fmt, arena_for)),
        peft_config=peft_config,
        rollout_func=EpisodeRollout(
            scenarios,
            arena_for=arena_for,
            fmt=fmt,
            max_step_tokens=config.max_step_tokens,
            legal_actions=config.legal_actions,
        ),
    )
