"""Test-wide setup: embedded state goes to a temporary folder, never into the checkout."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before any srlforge import reads settings: each test session gets its own home.
os.environ.setdefault("SRLFORGE_HOME", tempfile.mkdtemp(prefix="srlforge-test-home-"))


def pytest_collection_modifyitems(config, items):
    """Skip `gpu` tests where CUDA is absent (CI); everything else always runs."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
