"""RLVR: episodes are played in the arena and scored by the verifier, not by the rollout."""

from __future__ import annotations

import json

import pytest

from srlforge.arena import get_arena
from srlforge.schema import EpisodeVerdict

pytestmark = pytest.mark.slow


class AlwaysWinsArena:
    """A deliberately broken verifier: every episode is a success worth 1."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def verify_episode(self, scenario, steps):
        return EpisodeVerdict(success=True, objective_met=True, outcome_reward=1.0)


def _run(base, scenarios, out, arena_for):
    from trainer_service.stages.rlvr import RLVRConfig, run_rlvr

    config = RLVRConfig(
        output_dir=str(out),
        use_cpu=True,
        progress=False,
        seed=0,
        max_steps=1,
        per_device_train_batch_size=8,
        num_generations=4,
    )
    return run_rlvr(base, scenarios, config, arena_for=arena_for)


def test_broken_verifier_changes_the_rewards(micro_base, expert, tmp_path):
    scenarios = [t.scenario for t in expert.trajectories[:4]]
    honest = _run(micro_base, scenarios, tmp_path / "honest", get_arena)
    broken = _run(
        micro_base, scenarios, tmp_path / "broken", lambda t: AlwaysWinsArena(get_arena(t))
    )
    assert honest.history[0]["episode/success"] < 1.0
    assert broken.history[0]["episode/success"] == 1.0
    # same seed, same rollouts: only the verifier differs, so the reward must too
    assert broken.history[0]["reward"] > honest.history[0]["reward"] + 0.5


def test_rollout_masks_environment_tokens(micro_base, expert):
    from trainer_service.evaluation import load_policy
    from trainer_service.stages.rlvr import EpisodeRollout, make_rlvr_reward, rlvr_rows

    model, tokenizer = load_policy(micro_base)
    scenarios = [t.scenario for t in expert.trajectories[:3]]
    rollout = EpisodeRollout(scenarios)

    class FakeTrainer:  # what rollout_func reads from the GRPOTrainer
        accelerator = type("A", (), {"unwrap_model": staticmethod(lambda m: m)})()
        temperature = 1.0

    FakeTrainer.model, FakeTrainer.processing_class = model, tokenizer
    rows = rlvr_rows(scenarios)
    out = rollout([r["prompt"] for r in rows], FakeTrainer)
    for ids, mask, logps in zip(
        out["completion_ids"], out["env_mask"], out["logprobs"], strict=True
    ):
        assert len(ids) == len(mask) == len(logps)
        assert mask[0] == 1 and mask[-1] == 1  # starts and ends with the model's own tokens
    steps = [json.loads(s) for s in out["episode_steps"]]
    model_tokens = [sum(m) for m in out["env_mask"]]
    assert all(len(s) >= 1 for s in steps) and all(n > 0 for n in model_tokens)
    reward = make_rlvr_reward()
    values = reward(
        prompts=[r["prompt"] for r in rows],
        completions=[""] * 3,
        model_type=[r["model_type"] for r in rows],
        scenario=[r["scenario"] for r in rows],
        episode_steps=out["episode_steps"],
    )
    assert all(-1.0 <= v <= 1.0 for v in values)


def test_curriculum_runs_phases_and_applies_the_gates(micro_base, tmp_path):
    from trainer_service.curriculum import Gates, run_rlvr_curriculum
    from trainer_service.pipeline import PipelineConfig

    assert Gates().check({"success_rate": 0.8, "quality": 0.9, "kl_to_reference": 0.05}) == {
        "success": True,
        "rule_compliance": True,
        "kl": True,
    }
    assert not Gates().check({"success_rate": 0.9, "quality": 0.95, "kl_to_reference": 0.2})["kl"]
    config = PipelineConfig(species=None, n_examples=4, train_difficulties=[1])
    kwargs = {
        "output_dir": str(tmp_path / "rlvr"),
        "max_steps": 2,
        "use_cpu": True,
        "seed": 0,
        "per_device_train_batch_size": 8,
    }
    result = run_rlvr_curriculum(micro_base, config, kwargs, False, phases=2, validation_episodes=2)
    log = result.config["curriculum"]
    assert [p["phase"] for p in log] == [0, 1] and result.steps == 2
    # a micro model solves nothing, so it must stay at difficulty 1
    assert all(not p["promoted"] and p["difficulty"] == 1 for p in log)
    assert (tmp_path / "rlvr" / "final" / "config.json").exists()
