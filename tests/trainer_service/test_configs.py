"""Config classes fail fast with a message naming the bad value and the fix."""

from __future__ import annotations

import pytest

from trainer_service.pipeline import PipelineConfig, load_config
from trainer_service.stages.common import AdaptiveKLCallback


def test_srl_config_rejects_inconsistent_fields(tmp_path):
    from trainer_service.stages.srl import SRLConfig

    with pytest.raises(ValueError, match="steps_per_generation=2"):
        SRLConfig(output_dir=str(tmp_path), use_cpu=True, gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match="set beta > 0"):
        SRLConfig(output_dir=str(tmp_path), use_cpu=True, beta=0.0, target_kl=0.03)
    with pytest.raises(ValueError, match="dynamic_sampling_epsilon=-1"):
        SRLConfig(output_dir=str(tmp_path), use_cpu=True, dynamic_sampling_epsilon=-1)
    ok = SRLConfig(output_dir=str(tmp_path), use_cpu=True, beta=0.0, target_kl=None)
    assert ok.generation_kwargs["use_cache"] is True


def test_rlvr_and_sft_configs(tmp_path):
    from trainer_service.stages.rlvr import RLVRConfig
    from trainer_service.stages.sft import SFTStageConfig

    with pytest.raises(ValueError, match="max_step_tokens=4"):
        RLVRConfig(output_dir=str(tmp_path), use_cpu=True, max_step_tokens=4)
    with pytest.raises(ValueError, match="completion_only_loss=False"):
        SFTStageConfig(output_dir=str(tmp_path), use_cpu=True, completion_only_loss=False)
    with pytest.raises(ValueError, match="stop_at_step=9"):
        SFTStageConfig(output_dir=str(tmp_path), use_cpu=True, max_steps=5, stop_at_step=9)


def test_pipeline_config_checks_and_overrides(tmp_path):
    with pytest.raises(ValueError, match="out of order"):
        PipelineConfig(stages=["rlvr", "srl"])
    with pytest.raises(ValueError, match="bf16 needs device='cuda'"):
        PipelineConfig(bf16=True)
    with pytest.raises(ValueError, match=r"subset of 1\.\.5"):
        PipelineConfig(train_difficulties=[0])
    path = tmp_path / "run.yaml"
    path.write_text("species: ghoul\nstages: [sft, srl]\nmax_steps: {srl: 7}\n")
    config = load_config(path, n_examples=5, species=None)
    assert (config.species, config.stages, config.n_examples) == ("ghoul", ["sft", "srl"], 5)
    assert config.max_steps == {"srl": 7}
    assert load_config(None, max_steps=9).max_steps["rlvr"] == 9
    assert PipelineConfig(train_difficulties=[1, 2]).harder_difficulty == 3
    assert PipelineConfig(train_difficulties=[5]).harder_difficulty is None


def test_adaptive_kl_follows_the_seed_rule():
    kl = AdaptiveKLCallback(target=0.05, beta=0.1)
    assert kl.update(0.2) == pytest.approx(0.15)  # above 2x target: x1.5
    assert kl.update(0.05) == pytest.approx(0.15)  # inside the band: unchanged
    assert kl.update(0.01) == pytest.approx(0.135)  # below half the target: x0.9
    with pytest.raises(ValueError, match="target KL must be > 0"):
        AdaptiveKLCallback(target=0.0, beta=0.1)


def test_device_and_threads_default_to_the_trainer_settings(monkeypatch):
    """A GPU worker sets SRLFORGE_TRAINER_DEVICE=cuda once; jobs that do not name a device
    train there, and a bad value is refused with the variable's name."""
    from pydantic import ValidationError

    from trainer_service.pipeline import load_config
    from trainer_service.settings import get_settings

    monkeypatch.setenv("SRLFORGE_TRAINER_DEVICE", "cuda")
    monkeypatch.setenv("SRLFORGE_TRAINER_THREADS", "3")
    get_settings.cache_clear()
    try:
        config = load_config(None)
        assert (config.device, config.threads) == ("cuda", 3)
        assert load_config(None, device="cpu").device == "cpu"  # an explicit choice wins
        monkeypatch.setenv("SRLFORGE_TRAINER_DEVICE", "gpu")
        get_settings.cache_clear()
        with pytest.raises(ValidationError, match="device"):
            load_config(None)
    finally:
        get_settings.cache_clear()
