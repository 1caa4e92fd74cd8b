"""Write a generation result as a dataset: JSONL files plus ``manifest.json``.

Files (all loadable with ``datasets.load_dataset("json", data_files=...)``):

- ``trajectories.jsonl`` — one row per kept trajectory: flat scalar columns for filtering plus
  ``trajectory``, the full Trajectory as JSON text (nested states differ per arena, and Arrow
  needs one schema per column, so structured parts travel as JSON text);
- ``srl.jsonl`` — the SRL view (arXiv 2510.25992): an N-step trajectory becomes N rows; row *i*
  has the problem plus expert steps ``0..i-1`` as context and expert step *i* as the target.
  Columns ``model_type``, ``scenario``, ``history``, ``expert_action`` are what
  ``srlforge.rewards.make_srl_reward`` reads; ``prompt``/``completion`` are what a trainer feeds;
- ``manifest.json`` — counts per outcome, failure reasons, rules version, dataset hash, coverage,
  lore consistency and the exact generation config. Written last: its presence means the files
  beside it are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collab_service.config import GenerationResult
from srlforge.arena.base import render_completion
from srlforge.schema import SCHEMA_VERSION, Scenario, Trajectory, canonical_json

TRAJECTORIES = "trajectories.jsonl"
SRL = "srl.jsonl"
MANIFEST = "manifest.json"


def dataset_hash(trajectories: list[Trajectory], rules_version: str) -> str:
    """Hash of what the dataset contains (sorted content hashes), not of when it was written."""
    digests = sorted(t.provenance.content_hash for t in trajectories)
    return hashlib.sha256("\n".join([rules_version, *digests]).encode()).hexdigest()


def srl_prompt(scenario: Scenario, history: list[Any]) -> str:
    """The problem plus the expert's steps so far, ending where the next step is written."""
    lines = [
        f"Model type: {scenario.model_type}"
        + (f" · species: {scenario.species}" if scenario.species else "")
        + f" · difficulty {scenario.difficulty}",
        f"Objective: {scenario.objective}",
        f"Initial state: {canonical_json(scenario.state)}",
        "Steps so far:" if history else "Steps so far: none",
    ]
    lines += [f"{i + 1}. {canonical_json(action)}" for i, action in enumerate(history)]
    lines.append(f"Write step {len(history) + 1} as <think>…</think><action>{{json}}</action>.")
    return "\n".join(lines)


def srl_rows(trajectory: Trajectory) -> Iterator[dict[str, Any]]:
    scenario_json = trajectory.scenario.model_dump_json()
    actions = [s.action for s in trajectory.steps]
    for i, step in enumerate(trajectory.steps):
        history = actions[:i]
        yield {
            "id": f"{trajectory.id}#{i}",
            "trajectory_id": trajectory.id,
            "step_index": i,
            "n_steps": len(actions),
            "model_type": trajectory.model_type,
            "species": trajectory.species,
            "difficulty": trajectory.scenario.difficulty,
            "rules_version": trajectory.scenario.rules_version,
            "scenario": scenario_json,
            "history": canonical_json(history),
            "expert_action": canonical_json(step.action),
            "prompt": srl_prompt(trajectory.scenario, history),
            "completion": render_completion(step),
        }


def trajectory_row(trajectory: Trajectory) -> dict[str, Any]:
    p, s = trajectory.provenance, trajectory.scenario
    return {
        "id": trajectory.id,
        "model_type": trajectory.model_type,
        "species": trajectory.species,
        "scenario_id": s.id,
        "difficulty": s.difficulty,
        "split": s.split,
        "rules_version": s.rules_version,
        "teacher": p.teacher,
        "model": p.model,
        "seed": p.seed,
        "content_hash": p.content_hash,
        "created_at": p.created_at.isoformat(),
        "n_steps": len(trajectory.steps),
        "outcome_reward": trajectory.outcome.outcome_reward if trajectory.outcome else None,
        "trajectory": trajectory.model_dump_json(),
    }


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> dict[str, Any]:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest, count = hashlib.sha256(), 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
            fh.write(line)
            digest.update(line.encode())
            count += 1
    os.replace(tmp, path)  # readers never see a half-written file
    return {"path": path.name, "rows": count, "sha256": digest.hexdigest()}


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_manifest(
    result: GenerationResult, files: dict[str, Any], attribution: str
) -> dict[str, Any]:
    config = result.config
    counts = {
        "kept": len(result.kept),
        "failed": result.failed,
        **{f"duplicate_{k}": v for k, v in sorted(result.duplicates.items())},
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "srlforge.collab.dataset",
        "request_id": config.request_id,
        "created_at": datetime.now(UTC).isoformat(),
        "rules_version": result.rules_version,
        "model_type": config.model_type,
        "species": config.species,
        "strategy": config.strategy,
        "teacher": config.teacher,
        "teacher_model": result.teacher_model,
        **result.summary(),
        "shortfall": max(0, config.n - len(result.kept)),
        "counts": counts,
        "failure_reasons": dict(result.reasons.most_common()),
        "failure_examples": dict(result.failure_examples),
        "attempted": result.attempted,
        "rounds_run": result.rounds_run,
        "revisions": result.revisions,
        "teacher_requests": result.teacher_requests,
        "cancelled": result.cancelled,
        "dataset_hash": dataset_hash(result.kept, result.rules_version),
        "files": files,
        "coverage": result.coverage,
        "lore_consistency": result.consistency,
        "unmatched_targets": result.unmatched_targets,
        "transport": result.transport,
        "config": config.to_dict(),
        "git_revision": git_revision(),
        "attribution": attribution,
        "started_at": result.started_at.isoformat(),
        "finished_at": (result.finished_at or datetime.now(UTC)).isoformat(),
    }


def write_dataset(result: GenerationResult, out_dir: Path, attribution: str = "") -> Path:
    """Write the dataset files into ``out_dir``; returns the manifest path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "trajectories": _write_jsonl(out_dir / TRAJECTORIES, map(trajectory_row, result.kept)),
        "srl": _write_jsonl(out_dir / SRL, (row for t in result.kept for row in srl_rows(t))),
    }
    manifest = build_manifest(result, files, attribution)
    path = out_dir / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_trajectories(path: Path) -> list[Trajectory]:
    """The Trajectory objects of a ``trajectories.jsonl`` file."""
    with path.open(encoding="utf-8") as fh:
        return [Trajectory.model_validate_json(json.loads(line)["trajectory"]) for line in fh]
