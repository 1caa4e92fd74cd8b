"""Dataset export on SQLite and on the real PostgreSQL: JSONL + manifest, HF-loadable, and an SRL
view that srlforge.rewards.make_srl_reward scores correctly."""

from __future__ import annotations

import json

import pytest

from collab_service.export import SRL, TRAJECTORIES, dataset_hash, read_trajectories
from collab_service.lore_store import LoreStore
from collab_service.orchestrator import GenerationConfig
from collab_service.service import produce
from collab_service.settings import CollabSettings
from srlforge.arena import get_arena
from srlforge.rewards import make_srl_reward

MODEL_TYPE = "personality"


@pytest.fixture(scope="module")
def produced(db_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    settings = CollabSettings(database_url=db_url, artifact_dir=out.parent)
    config = GenerationConfig(model_type=MODEL_TYPE, n=10, species="lich", seed=3, request_id="r1")
    summary = produce(config, out, settings)
    return summary, out, db_url


def test_files_manifest_and_history(produced):
    summary, out, db_url = produced
    assert {"requested", "kept", "failed", "duplicates", "dataset", "manifest"} <= set(summary)
    assert summary["kept"] == 10 and summary["requested"] == 10
    manifest = json.loads((out / "manifest.json").read_text())
    trajectories = read_trajectories(out / TRAJECTORIES)
    assert len(trajectories) == 10 and all(t.species == "lich" for t in trajectories)
    assert manifest["dataset_hash"] == dataset_hash(trajectories, manifest["rules_version"])
    assert manifest["rules_version"] == get_arena(MODEL_TYPE).rules_version
    assert manifest["counts"]["kept"] == 10 and manifest["failed"] == 0
    assert manifest["files"]["trajectories"]["rows"] == 10
    assert manifest["config"]["species"] == "lich" and manifest["config"]["seed"] == 3
    assert "System Reference Document 5.1" in manifest["attribution"]
    assert manifest["lore_consistency"]["lich"]["checked"] > 0
    store = LoreStore(db_url)
    assert store.produced_count("r1") == 10
    assert store.produced_hashes(MODEL_TYPE) >= {t.provenance.content_hash for t in trajectories}


def test_srl_view_has_one_row_per_step_and_rewards_the_expert(produced):
    _, out, _ = produced
    trajectories = read_trajectories(out / TRAJECTORIES)
    rows = [json.loads(line) for line in (out / SRL).read_text().splitlines()]
    assert len(rows) == sum(len(t.steps) for t in trajectories)
    by_traj = {}
    for row in rows:
        by_traj.setdefault(row["trajectory_id"], []).append(row)
    for t in trajectories:
        mine = by_traj[t.id]
        assert [len(json.loads(r["history"])) for r in mine] == list(range(len(t.steps)))
        assert [json.loads(r["expert_action"]) for r in mine] == [s.action for s in t.steps]
        assert all(t.scenario.objective in r["prompt"] for r in mine)

    reward = make_srl_reward(lambda model_type: get_arena(model_type))
    columns = {
        k: [r[k] for r in rows] for k in ("model_type", "scenario", "history", "expert_action")
    }
    expert = reward([r["prompt"] for r in rows], [r["completion"] for r in rows], **columns)
    junk = reward([r["prompt"] for r in rows], ["no action here"] * len(rows), **columns)
    # the expert's own step: similarity 1 (0.4) + format (0.2) + the rule and state terms
    assert min(expert) >= 0.6
    assert max(junk) == -1.0


@pytest.mark.slow
def test_hf_datasets_loads_both_files(settings, tmp_path):
    datasets = pytest.importorskip("datasets")
    config = GenerationConfig(model_type=MODEL_TYPE, n=4, seed=8)
    produce(config, tmp_path / "ds", settings)
    cache = str(tmp_path / "hf-cache")  # keep the Arrow cache out of the home folder
    srl = datasets.load_dataset(
        "json", data_files=str(tmp_path / "ds" / SRL), split="train", cache_dir=cache
    )
    traj = datasets.load_dataset(
        "json", data_files=str(tmp_path / "ds" / TRAJECTORIES), split="train", cache_dir=cache
    )
    assert traj.num_rows == 4 and srl.num_rows >= 4
    assert {"model_type", "scenario", "history", "expert_action", "prompt", "completion"} <= set(
        srl.column_names
    )
