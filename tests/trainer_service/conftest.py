"""Trainer fixtures: one ``micro`` base model per session, built locally in seconds.

The micro preset (64 wide, 2 layers, 30 steps of format pre-training) is the smallest model
that writes the transcript format part of the time, so every stage has something to learn.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_TYPE = "personality"


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread: the micro model's ops are tiny, and on a shared 2-core runner a
    second thread makes every step several times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def micro_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trainer_service.base_models import build_preset

    return build_preset(
        MODEL_TYPE,
        "micro",
        seed=0,
        out_dir=tmp_path_factory.mktemp("base") / "micro",
        progress=False,
    )


@pytest.fixture(scope="session")
def expert():
    """Sixteen verified difficulty-1 expert trajectories and their SRL rows."""
    from trainer_service.data import expert_data

    return expert_data(MODEL_TYPE, n=16, difficulties=[1], seed=0, source="arena")
