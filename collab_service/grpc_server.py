"""gRPC adapter: ``CollabService`` plus standard health checking.

Domain errors become status codes here and nowhere else: bad input → INVALID_ARGUMENT, unknown
request → NOT_FOUND, a request that failed before → FAILED_PRECONDITION, a teacher that cannot be
built (e.g. no API key) → FAILED_PRECONDITION. Generation runs in a worker thread that streams
progress through a queue; when the client's deadline passes or it cancels, the generator stops
between episodes.

Run: ``python -m collab_service.grpc_server`` (address from SRLFORGE_COLLAB_GRPC_HOST/PORT).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic import ValidationError

from collab_service import service
from collab_service.config import Progress
from collab_service.ledger import RequestConflict
from collab_service.settings import CollabSettings, get_settings
from collab_service.strategies import ScenarioSearchError
from srlforge.arena import UnknownModelType
from srlforge.llm import TeacherConfigError
from srlforge.proto.v1 import collab_pb2, collab_pb2_grpc
from srlforge.rules import RuleFileError
from srlforge.schema import Scenario, Trajectory
from srlforge.telemetry import configure_tracing, grpc_server_interceptors

log = logging.getLogger(__name__)
SERVICE_NAME = "srlforge.proto.v1.CollabService"
_DONE = object()


def _generation_params(request: collab_pb2.GenerateTrajectoriesRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"model_type": request.model_type, "n": request.n}
    optional = {
        "species": request.species,
        "teacher": request.teacher,
        "strategy": request.strategy,
        "model": request.model,
    }
    params.update({k: v for k, v in optional.items() if v})
    if request.seed:
        params["seed"] = request.seed
    if request.difficulties:
        params["difficulties"] = list(request.difficulties)
    if request.weaknesses_json:
        params["weaknesses"] = [json.loads(w) for w in request.weaknesses_json]
    if request.failed_scenario_ids:
        params["failed_scenario_ids"] = list(request.failed_scenario_ids)
    return params


def _progress_message(event: Progress, status: str = "running") -> collab_pb2.GenerateProgress:
    return collab_pb2.GenerateProgress(
        request_id=event.request_id,
        status=status,
        round=event.round,
        attempted=event.attempted,
        requested=event.requested,
        kept=event.kept,
        failed=event.failed,
        duplicates=event.duplicates,
        message=event.message,
    )


def _final_message(request_id: str, summary: dict[str, Any]) -> collab_pb2.GenerateProgress:
    return collab_pb2.GenerateProgress(
        request_id=request_id,
        status=summary.get("status", "succeeded"),
        requested=summary.get("requested", 0),
        kept=summary.get("kept", 0),
        failed=summary.get("failed", 0),
        duplicates=summary.get("duplicates", 0),
        done=summary.get("status", "succeeded") != "running",
        dataset_uri=summary.get("dataset", ""),
        manifest_uri=summary.get("manifest", ""),
        dataset_hash=summary.get("dataset_hash", ""),
        failure_reasons={k: int(v) for k, v in summary.get("failure_reasons", {}).items()},
        rules_version=summary.get("rules_version", ""),
        message="already running elsewhere" if summary.get("status") == "running" else "",
    )


class CollabServicer(collab_pb2_grpc.CollabServiceServicer):
    def __init__(self, settings: CollabSettings | None = None) -> None:
        self.settings = settings or get_settings()

    def GenerateTrajectories(self, request, context):
        request_id = request.request_id or uuid.uuid4().hex
        try:
            params = _generation_params(request)
            service.config_from_params(request_id, params)
        except (ValueError, TypeError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        events: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        context.add_callback(stop.set)  # fires on cancel, deadline and completion

        def work() -> None:
            try:
                summary = service.run_request(
                    request_id,
                    params,
                    self.settings,
                    on_progress=events.put,
                    should_stop=stop.is_set,
                )
                events.put(("result", summary))
            except Exception as exc:  # handed to the RPC thread, which maps it to a status
                events.put(("error", exc))
            finally:
                events.put(_DONE)

        threading.Thread(target=work, name=f"collab-{request_id[:8]}", daemon=True).start()
        while True:
            item = events.get()
            if item is _DONE:
                return
            if isinstance(item, Progress):
                if context.is_active():
                    yield _progress_message(item)
                continue
            kind, payload = item
            if kind == "result":
                yield _final_message(request_id, payload)
            else:
                self._abort_for(context, payload)

    @staticmethod
    def _abort_for(context, exc: BaseException) -> None:
        # TeacherConfigError is also a ValueError: the server's configuration, not the request,
        # is what is missing, so it is checked first.
        if isinstance(exc, TeacherConfigError | service.RequestFailed):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        if isinstance(exc, UnknownModelType | ScenarioSearchError | RequestConflict | ValueError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if isinstance(exc, KeyError):
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc.args[0]))
        log.exception("generation failed", exc_info=exc)
        context.abort(grpc.StatusCode.INTERNAL, f"generation failed: {type(exc).__name__}")

    def VerifyTrajectory(self, request, context):
        try:
            if request.trajectory_json:
                trajectory = Trajectory.model_validate_json(request.trajectory_json)
                scenario, steps = trajectory.scenario, list(trajectory.steps)
            else:
                scenario = Scenario.model_validate_json(request.scenario_json)
                steps = json.loads(request.steps_json or "[]")
                if not isinstance(steps, list):
                    raise ValueError("steps_json must be a JSON list")
            answer = service.verify_submission(scenario, steps)
        except (ValidationError, ValueError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)[:2000])
        verdict = answer["verdict"]
        return collab_pb2.VerifyTrajectoryResponse(
            success=verdict.success,
            outcome_reward=verdict.outcome_reward,
            keep=answer["keep"],
            reject_reason=answer["reason"],
            episode_verdict_json=verdict.model_dump_json(),
            step_verdicts_json=[v.model_dump_json() for v in answer["steps"]],
            rules_version=answer["rules_version"],
        )

    def GetRules(self, request, context):
        try:
            rules, versions = service.rules_info(request.version)
        except RuleFileError as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        sources = {
            f"{name}.{table}": citation
            for name, tables in rules.sources().items()
            for table, citation in tables.items()
        }
        return collab_pb2.GetRulesResponse(
            identity=rules.identity,
            version=rules.version,
            content_hash=rules.content_hash,
            sources=sources,
            files=sorted(rules.files),
            available_versions=versions,
        )

    def GetLoreBundle(self, request, context):
        if not request.species or not request.model_type:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "species and model_type are required")
        try:
            scenario = (
                Scenario.model_validate_json(request.scenario_json)
                if request.scenario_json
                else None
            )
            bundle, report = service.lore_bundle(
                request.species,
                request.model_type,
                scenario,
                request.query,
                request.top_k or None,
                self.settings,
            )
        except (ValidationError, UnknownModelType) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)[:2000])
        return collab_pb2.GetLoreBundleResponse(
            bundle_json=bundle.model_dump_json(),
            rules_version=bundle.rules_version,
            disagreements=report.disagreements,
            unverifiable=report.unverifiable,
        )


def build_server(
    settings: CollabSettings | None = None, address: str | None = None
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A started-ready server (not started) and its bound port; ``:0`` picks a free port."""
    settings = settings or get_settings()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.grpc_workers),
        interceptors=grpc_server_interceptors(),
    )
    collab_pb2_grpc.add_CollabServiceServicer_to_server(CollabServicer(settings), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address or f"{settings.grpc_host}:{settings.grpc_port}")
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def serve() -> None:
    logging.basicConfig(level=logging.INFO)
    configure_tracing("srlforge-collab")
    server, port, _ = build_server()
    server.start()
    log.info("CollabService listening on port %d", port)
    server.wait_for_termination()


if __name__ == "__main__":
    serve()
