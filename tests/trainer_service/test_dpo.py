"""DPO pairs are ranked by the verifier, and a short DPO run trains on them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_pairs_prefer_the_higher_verified_reward(micro_base, expert):
    from srlforge.arena import get_arena
    from srlforge.rewards import make_srl_reward
    from trainer_service.stages.dpo import verifier_pairs

    rows = expert.rows[:12]
    pairs = verifier_pairs(micro_base, rows, samples=3, min_margin=0.05)
    assert pairs, "a micro model's samples should differ from the expert's steps"
    reward = make_srl_reward(get_arena)
    by_prompt = {r["prompt"]: r for r in rows}
    for pair in pairs:
        row = by_prompt[pair["prompt"]]
        cols = {k: [row[k]] * 2 for k in ("model_type", "scenario", "history", "expert_action")}
        chosen, rejected = reward(
            prompts=[None] * 2,
            completions=[
                pair["chosen"].removesuffix("<|eos|>"),
                pair["rejected"].removesuffix("<|eos|>"),
            ],
            **cols,
        )
        assert chosen >= rejected + 0.05


def test_short_dpo_run(micro_base, expert, tmp_path):
    from trainer_service.stages.dpo import DPOStageConfig, run_dpo

    config = DPOStageConfig(
        output_dir=str(tmp_path), use_cpu=True, progress=False, max_steps=2, samples=2
    )
    result = run_dpo(micro_base, expert.trajectories[:6], config)
    assert result.steps == 2 and result.config["pairs"] > 0
    assert "loss_mean" in result.metrics
