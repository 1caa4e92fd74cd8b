"""What a job step takes from and gives to the artifact store (``ARTIFACTS_URL``).

Without a store, every worker reads and writes one shared ``RUNS_DIR``. With one, a worker's
``runs/<job_id>/`` is a local cache: before a step it pulls what the step reads (the dataset,
the finished stages' ``checkpoints/<stage>/`` with ``final/`` and ``result.json``, which
``train_stage`` reuses instead of training again), after it pushes what the step wrote. Keys
are ``runs/<job_id>/dataset``, ``runs/<job_id>/checkpoints/<stage>`` and ``runs/<job_id>/report``
(everything the evaluate step leaves in the run folder besides the dataset and checkpoints).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from srlforge.artifacts import ArtifactStore


def _key(job_id: str, piece: str) -> str:
    return f"runs/{job_id}/{piece}"


def pull_inputs(
    store: ArtifactStore, job_id: str, step: str, params: dict[str, Any], run_dir: Path
) -> None:
    """Fetch what ``step`` reads; raise when the dataset a later step needs is missing."""
    if step == "generate":
        return
    if not store.pull(_key(job_id, "dataset"), run_dir / "dataset"):
        raise FileNotFoundError(
            f"no complete dataset for {job_id} in {store.url}; the generate step has not "
            "pushed it (did it run with the same ARTIFACTS_URL?)"
        )
    stages: list[str] = list(params.get("stages") or [])
    # A training step needs the stages before it (its start model) and its own finished
    # result, if an earlier attempt pushed one; evaluate needs them all.
    needed = stages if step == "evaluate" else stages[: stages.index(step) + 1]
    for stage in needed:
        piece = f"checkpoints/{stage}"
        store.pull(_key(job_id, piece), run_dir / piece)


def push_outputs(store: ArtifactStore, job_id: str, step: str, run_dir: Path) -> str:
    """Upload what ``step`` wrote; return where it went."""
    if step == "generate":
        piece, folder, exclude = "dataset", run_dir / "dataset", ()
    elif step == "evaluate":
        piece, folder, exclude = "report", run_dir, ("dataset", "checkpoints")
    else:
        piece, folder, exclude = f"checkpoints/{step}", run_dir / "checkpoints" / step, ()
    store.push(folder, _key(job_id, piece), exclude=exclude)
    return f"{store.url}/{_key(job_id, piece)}"
