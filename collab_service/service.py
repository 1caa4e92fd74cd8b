"""The service's use cases as plain functions; the Celery task, the gRPC servicer and the CLI are
thin adapters over these (they translate errors, nothing else).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collab_service.config import GenerationConfig, GenerationResult, Progress
from collab_service.export import SRL, TRAJECTORIES, dataset_hash, write_dataset
from collab_service.ledger import Claim, Ledger
from collab_service.lore import ConsistencyReport, LoreRetriever
from collab_service.lore_store import LoreStore, load_seed
from collab_service.orchestrator import Orchestrator
from collab_service.settings import CollabSettings, get_settings
from collab_service.verifier import keep_decision
from srlforge.arena import get_arena
from srlforge.rules import RuleSet, available_versions, load_rules
from srlforge.schema import LoreBundle, Scenario

# How often a running request extends its ledger lease.
HEARTBEAT_EVERY_S = 10.0


class RequestFailed(RuntimeError):
    """A request that already failed in an earlier attempt (its stored error is the message)."""


class GenerationCancelled(RuntimeError):
    """The caller stopped the request (gRPC cancel or deadline); nothing was written."""


def config_from_params(request_id: str, params: dict[str, Any]) -> GenerationConfig:
    """A GenerationConfig from stored request parameters; ValueError names a bad one."""
    fields = {f.name for f in dataclasses.fields(GenerationConfig)} - {"request_id"}
    unknown = set(params) - fields
    if unknown:
        raise ValueError(
            f"unknown generation parameter(s) {sorted(unknown)}; known: {sorted(fields)}"
        )
    values = dict(params)
    if "difficulties" in values:
        values["difficulties"] = tuple(values["difficulties"])
    return GenerationConfig(request_id=request_id, **values)


def attribution() -> str:
    return load_seed()[0]


def summarize(result: GenerationResult, manifest: Path) -> dict[str, Any]:
    """The CLI's and the task's result: the issue's six keys plus what explains them."""
    return {
        **result.summary(),
        "dataset": str(manifest.parent / TRAJECTORIES),
        "manifest": str(manifest),
        "srl_dataset": str(manifest.parent / SRL),
        "dataset_hash": dataset_hash(result.kept, result.rules_version),
        "rules_version": result.rules_version,
        "request_id": result.config.request_id,
        "failure_reasons": dict(result.reasons.most_common()),
    }


def produce(
    config: GenerationConfig,
    out_dir: Path,
    settings: CollabSettings | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **orchestrator_kwargs: Any,
) -> dict[str, Any]:
    """Generate, write the dataset into ``out_dir``, remember what was produced."""
    settings = settings or get_settings()
    orchestrator = Orchestrator(
        config, settings, on_progress=on_progress, should_stop=should_stop, **orchestrator_kwargs
    )
    result = orchestrator.run()
    if result.cancelled:
        # A partial dataset under a request id would later be served as the finished answer.
        raise GenerationCancelled(f"request {config.request_id} was cancelled; nothing written")
    manifest = write_dataset(result, out_dir, attribution())
    orchestrator.store.record_produced(
        config.request_id, result.kept, dataset_hash(result.kept, result.rules_version)
    )
    return summarize(result, manifest)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_request(
    request_id: str,
    params: dict[str, Any] | None = None,
    settings: CollabSettings | None = None,
    owner: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run request ``request_id`` once, whoever asks how often (the ledger decides).

    ``params`` records the request on first sight; later calls may omit them. The dataset goes
    to ``<artifact_dir>/collab/<request_id>/``.
    """
    settings = settings or get_settings()
    ledger = Ledger(settings.resolved_database_url())
    if params is not None:
        config_from_params(request_id, params)  # reject bad input before it enters the ledger
        ledger.submit(request_id, params)
    owner = owner or _owner()
    claim = ledger.claim(request_id, owner, settings.lease_s)
    if claim.status != "claimed":
        return _answer_without_work(request_id, claim)
    config = config_from_params(request_id, claim.params or {})
    lost_lease = threading.Event()
    done = threading.Event()

    def keep_lease() -> None:
        # Time-based, not progress-based: one slow LLM episode can outlast many heartbeats.
        while not done.wait(min(HEARTBEAT_EVERY_S, settings.lease_s / 3)):
            if not ledger.heartbeat(request_id, owner, settings.lease_s):
                lost_lease.set()  # another worker took the request over; stop, do not race it
                return

    def stop() -> bool:
        return lost_lease.is_set() or (should_stop is not None and should_stop())

    threading.Thread(target=keep_lease, name=f"lease-{request_id[:8]}", daemon=True).start()
    out_dir = settings.resolved_artifact_dir() / "collab" / request_id
    try:
        summary = produce(config, out_dir, settings, on_progress, stop)
    except GenerationCancelled:
        ledger.release(request_id, owner)  # a later delivery may run it again from scratch
        raise
    except Exception as exc:
        # Record why, then let the adapter decide what the caller sees.
        ledger.fail(request_id, owner, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        done.set()
    summary["status"] = "succeeded"
    ledger.complete(request_id, owner, summary)
    return summary


def _answer_without_work(request_id: str, claim: Claim) -> dict[str, Any]:
    if claim.status == "done":
        return dict(claim.result or {})
    if claim.status == "failed":
        raise RequestFailed(f"request {request_id} failed earlier: {claim.error}")
    if claim.status == "unknown":
        raise KeyError(f"unknown request id {request_id!r}: submit it with its parameters first")
    return {"request_id": request_id, "status": "running", "attempt": claim.attempt}


def verify_submission(scenario: Scenario, steps: list[Any]) -> dict[str, Any]:
    arena = get_arena(scenario.model_type, load_rules())
    replay = arena.replay(scenario, steps)
    verdict = arena.verify_episode(scenario, steps)
    keep, reason = keep_decision(verdict)
    return {
        "verdict": verdict,
        "steps": replay.verdicts,
        "keep": keep,
        "reason": reason or "",
        # The rules in force judge, which may differ from the scenario's; say which did.
        "rules_version": arena.rules_version,
    }


def rules_info(version: str | None = None) -> tuple[RuleSet, list[str]]:
    return load_rules(None if version in (None, "", "latest") else version), available_versions()


def lore_bundle(
    species: str,
    model_type: str,
    scenario: Scenario | None = None,
    query: str = "",
    top_k: int | None = None,
    settings: CollabSettings | None = None,
) -> tuple[LoreBundle, ConsistencyReport]:
    settings = settings or get_settings()
    rules = load_rules()
    get_arena(model_type, rules)  # an unknown model type fails here, with the known ones named
    store = LoreStore(settings.resolved_database_url())
    retriever = LoreRetriever(store, rules, top_k or settings.lore_top_k)
    bundle = retriever.bundle(species, model_type, scenario, query)
    return bundle, retriever.consistency(species)
