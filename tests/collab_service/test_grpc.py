"""CollabService over a real gRPC server on 127.0.0.1:0: health, rules, lore, verification,
streamed generation (idempotent per request id), status codes and deadlines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from collab_service.grpc_server import SERVICE_NAME, build_server
from collab_service.ledger import Ledger
from srlforge.arena import get_arena
from srlforge.proto.v1 import collab_pb2, collab_pb2_grpc
from srlforge.rules import load_rules

MODEL_TYPE = "personality"
TIMEOUT = 30.0


@pytest.fixture
def stub(settings):
    server, port, _ = build_server(settings, "127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield collab_pb2_grpc.CollabServiceStub(channel), channel
    finally:
        channel.close()
        server.stop(grace=None)


def test_health_reports_serving(stub):
    _, channel = stub
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE_NAME):
        answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_get_rules_and_lore_bundle(stub):
    client, _ = stub
    rules = client.GetRules(collab_pb2.GetRulesRequest(), timeout=TIMEOUT)
    assert rules.identity == load_rules().identity
    assert "species.species" in rules.sources and MODEL_TYPE in rules.files
    with pytest.raises(grpc.RpcError) as info:
        client.GetRules(collab_pb2.GetRulesRequest(version="9.9.9"), timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND

    scenario = get_arena(MODEL_TYPE).sample(0, 4, 3)
    answer = client.GetLoreBundle(
        collab_pb2.GetLoreBundleRequest(
            species="vampire", model_type=MODEL_TYPE, scenario_json=scenario.model_dump_json()
        ),
        timeout=TIMEOUT,
    )
    bundle = json.loads(answer.bundle_json)
    assert bundle["species"] == "vampire" and bundle["rules_version"] == rules.identity
    assert all(f["source"] for f in bundle["facts"] + bundle["weaknesses"])
    assert any("running_water" in d for d in answer.disagreements)
    with pytest.raises(grpc.RpcError) as info:
        client.GetLoreBundle(collab_pb2.GetLoreBundleRequest(species="vampire"), timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_verify_trajectory_keeps_the_expert_and_rejects_tampering(stub):
    client, _ = stub
    arena = get_arena(MODEL_TYPE)
    trajectory = arena.expert_trajectory(arena.sample(0, 6, 3))
    good = client.VerifyTrajectory(
        collab_pb2.VerifyTrajectoryRequest(trajectory_json=trajectory.model_dump_json()),
        timeout=TIMEOUT,
    )
    assert good.success and good.keep and good.outcome_reward > 0
    assert len(good.step_verdicts_json) == len(trajectory.steps)
    steps = [{"think": "", "action": s.action} for s in trajectory.steps][:-1]
    steps.append({"think": "", "action": {"type": "not-an-action"}})
    bad = client.VerifyTrajectory(
        collab_pb2.VerifyTrajectoryRequest(
            scenario_json=trajectory.scenario.model_dump_json(), steps_json=json.dumps(steps)
        ),
        timeout=TIMEOUT,
    )
    assert not bad.keep and bad.reject_reason
    with pytest.raises(grpc.RpcError) as info:
        client.VerifyTrajectory(
            collab_pb2.VerifyTrajectoryRequest(scenario_json="{}"), timeout=TIMEOUT
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_generate_streams_progress_and_is_idempotent(stub, settings):
    client, _ = stub
    request = collab_pb2.GenerateTrajectoriesRequest(
        request_id="grpc-req-1", model_type=MODEL_TYPE, species="ghoul", n=4, difficulties=[2]
    )
    first = list(client.GenerateTrajectories(request, timeout=TIMEOUT))
    assert len(first) >= 2 and not any(m.done for m in first[:-1])
    final = first[-1]
    assert final.done and final.status == "succeeded" and final.kept == 4
    assert Path(final.dataset_uri).is_file() and Path(final.manifest_uri).is_file()
    again = list(client.GenerateTrajectories(request, timeout=TIMEOUT))
    assert len(again) == 1 and again[0].dataset_hash == final.dataset_hash  # no second run
    assert Ledger(settings.resolved_database_url()).statuses() == {"grpc-req-1": "succeeded"}


def test_generate_maps_errors_to_status_codes(stub):
    client, _ = stub
    cases = [
        (dict(model_type=MODEL_TYPE, n=0), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(model_type="nosuch", n=2), grpc.StatusCode.INVALID_ARGUMENT),
        (dict(model_type=MODEL_TYPE, n=2, teacher="openai"), grpc.StatusCode.FAILED_PRECONDITION),
    ]
    for fields, code in cases:
        with pytest.raises(grpc.RpcError) as info:
            list(
                client.GenerateTrajectories(
                    collab_pb2.GenerateTrajectoriesRequest(**fields), timeout=TIMEOUT
                )
            )
        assert info.value.code() == code, fields
    # the missing-key message names the fix and no secret
    assert "API key" in info.value.details()


def test_deadline_stops_generation_and_releases_the_request(stub, settings, fake, with_openai):
    with fake.FakeOpenAI(fake.slow(0.3)) as server:
        slow_settings = with_openai(settings, server)
        slow_server, port, _ = build_server(slow_settings, "127.0.0.1:0")
        slow_server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                client = collab_pb2_grpc.CollabServiceStub(channel)
                request = collab_pb2.GenerateTrajectoriesRequest(
                    request_id="grpc-deadline", model_type=MODEL_TYPE, n=50, teacher="openai"
                )
                with pytest.raises(grpc.RpcError) as info:
                    list(client.GenerateTrajectories(request, timeout=1.0))
                assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        finally:
            slow_server.stop(grace=5.0)
    ledger = Ledger(slow_settings.resolved_database_url())
    for _ in range(50):  # the worker thread notices the deadline between steps
        if ledger.statuses().get("grpc-deadline") == "queued":
            break
        time.sleep(0.1)
    assert ledger.statuses()["grpc-deadline"] == "queued"  # released, not half-done
    assert not (slow_settings.resolved_artifact_dir() / "collab" / "grpc-deadline").exists()
