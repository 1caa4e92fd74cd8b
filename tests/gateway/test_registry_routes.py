"""The registry and metric routes against a real EmbeddedTracker (SQLite and PostgreSQL).

Models are registered through the tracker itself, as the pipeline does; the routes are driven
through the whole ASGI stack. Promote/rollback need an admin tenant (``ops`` here); ``acme`` is
an ordinary tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from tests.support.postgres import BACKENDS, temporary_schema
from tracker_service.db import upgrade
from tracker_service.embedded import EmbeddedTracker
from tracker_service.orm import Base

# Beats V1 on every gate metric (accuracy, quality, latency_ms); WORSE loses on accuracy.
V1 = {"accuracy": 0.80, "quality": 0.80, "latency_ms": 120.0}
V2 = {"accuracy": 0.90, "quality": 0.85, "latency_ms": 100.0}
WORSE = {"accuracy": 0.60, "quality": 0.85, "latency_ms": 100.0}


@pytest.fixture(scope="module", params=BACKENDS)
def migrated_tracker_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated tracker database per module and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
        upgrade(url)
        yield url
        return
    with temporary_schema("gateway_tracker_test") as url:
        upgrade(url)
        yield url


@pytest.fixture
def tracker_url(migrated_tracker_url: str) -> str:
    """The module's tracker database with empty tables."""
    engine = create_engine(migrated_tracker_url)
    try:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    finally:
        engine.dispose()
    return migrated_tracker_url


@pytest.fixture
def tracker(tracker_url: str) -> Iterator[EmbeddedTracker]:
    with EmbeddedTracker(tracker_url) as client:
        yield client


@pytest.fixture
def api(make_api, tracker_url):
    return make_api(tracker="embedded", tracker_db_url=tracker_url, registry_admin_tenants=["ops"])


def _register(tracker: EmbeddedTracker, model_id: str, evaluation: dict, model_type="facial"):
    return tracker.register_model(
        model_type=model_type,
        model_id=model_id,
        run_id=f"run-{model_id}",
        evaluation=evaluation,
        rules_version="1.0.0+000000000000",
    )


def _promote(api, model_id: str, reason: str = "better on held-out", **extra):
    return api.post(
        f"/v1/models/{model_id}:promote",
        headers=api.key("ops"),
        json={"reason": reason, **extra},
    )


def _production(api, model_type: str = "facial"):
    return api.get(f"/v1/models/production/{model_type}", headers=api.key("acme"))


def test_list_filters_by_type_and_stage(api, tracker):
    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v2", V2)
    _register(tracker, "animals-v1", V1, model_type="animals")
    tracker.promote("facial-v1", actor="test")
    headers = api.key("acme")

    everything = api.get("/v1/models", headers=headers)
    assert everything.status_code == 200, everything.text
    models = everything.json()["models"]
    assert [m["model_id"] for m in models] == ["animals-v1", "facial-v1", "facial-v2"]
    by_id = {m["model_id"]: m for m in models}
    assert by_id["facial-v2"]["evaluation"] == V2
    assert by_id["facial-v2"]["run_id"] == "run-facial-v2"

    facial = api.get("/v1/models", headers=headers, params={"model_type": "facial"}).json()
    assert [m["model_id"] for m in facial["models"]] == ["facial-v1", "facial-v2"]
    both = {"model_type": "facial", "stage": "candidate"}
    candidates = api.get("/v1/models", headers=headers, params=both).json()
    assert [m["model_id"] for m in candidates["models"]] == ["facial-v2"]
    production = api.get("/v1/models", headers=headers, params={"stage": "production"}).json()
    assert [m["model_id"] for m in production["models"]] == ["facial-v1"]


def test_promote_sets_production_and_audits_the_tenant(api, tracker):
    _register(tracker, "facial-v1", V1)
    missing = _production(api)
    assert missing.status_code == 404
    assert "no production version" in missing.json()["detail"]

    promoted = _promote(api, "facial-v1", reason="first verified model")
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert body["model"]["model_id"] == "facial-v1" and body["model"]["stage"] == "production"
    assert body["changed"] is True and body["previous"] is None

    current = _production(api)
    assert current.status_code == 200
    assert current.json()["model_id"] == "facial-v1"
    # The tracker itself records the tenant as the actor, with the reason given.
    promote = [t for t in tracker.audit_trail("facial") if t.action == "promote"]
    assert len(promote) == 1
    assert (
        promote[0].actor.startswith("tenant:ops ") and promote[0].reason == "first verified model"
    )
    audit = api.get("/v1/models/audit", headers=api.key("acme"), params={"model_type": "facial"})
    assert [t["action"] for t in audit.json()["transitions"]] == ["register", "promote"]

    again = _promote(api, "facial-v1")
    assert again.status_code == 200 and again.json()["changed"] is False


def test_a_promotion_the_gate_refuses_is_a_409_with_the_reason(api, tracker):
    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v3", WORSE)
    assert _promote(api, "facial-v1").status_code == 200

    refused = _promote(api, "facial-v3")
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "does not beat production 'facial-v1'" in detail
    assert "accuracy 0.6 vs 0.8" in detail
    assert _production(api).json()["model_id"] == "facial-v1"
    assert tracker.get_model("facial-v3").stage == "candidate"


def test_staging_then_production_and_an_archived_model_is_a_409(api, tracker):
    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v2", V2)
    staged = _promote(api, "facial-v1", stage="staging")
    assert staged.status_code == 200 and staged.json()["model"]["stage"] == "staging"
    assert _production(api).status_code == 404
    assert _promote(api, "facial-v1").status_code == 200
    replaced = _promote(api, "facial-v2")
    assert replaced.status_code == 200
    assert replaced.json()["previous"]["model_id"] == "facial-v1"
    assert replaced.json()["previous"]["stage"] == "archived"

    archived = _promote(api, "facial-v1")
    assert archived.status_code == 409
    assert "archived" in archived.json()["detail"] and "rollback" in archived.json()["detail"]


def test_rollback_restores_the_replaced_version_then_refuses(api, tracker):
    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v2", V2)
    assert _promote(api, "facial-v1").status_code == 200
    assert _promote(api, "facial-v2").status_code == 200
    headers = api.key("ops")

    rolled = api.post("/v1/models/facial:rollback", headers=headers, json={"reason": "bad canary"})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["model"]["model_id"] == "facial-v1"
    assert rolled.json()["previous"]["model_id"] == "facial-v2"
    assert _production(api).json()["model_id"] == "facial-v1"
    rollbacks = [t for t in tracker.audit_trail("facial") if t.action == "rollback"]
    assert {t.reason for t in rollbacks} == {"bad canary"}
    assert all(t.actor.startswith("tenant:ops ") for t in rollbacks)

    nothing = api.post("/v1/models/facial:rollback", headers=headers, json={"reason": "again"})
    assert nothing.status_code == 409
    assert "no earlier version" in nothing.json()["detail"]
    none = api.post("/v1/models/animals:rollback", headers=headers, json={"reason": "x"})
    assert none.status_code == 409 and "no production version" in none.json()["detail"]


def test_unknown_model_ids_are_404(api, tracker):
    _register(tracker, "facial-v1", V1)
    unknown = _promote(api, "facial-v99")
    assert unknown.status_code == 404
    assert "facial-v99" in unknown.json()["detail"]
    headers = api.key("acme")
    for url, params in (
        ("/v1/metrics/series", {"model_id": "facial-v99", "metric": "accuracy"}),
        ("/v1/regressions", {"model_id": "facial-v99"}),
        ("/v1/weaknesses", {"model_id": "facial-v99"}),
    ):
        response = api.get(url, headers=headers, params=params)
        assert response.status_code == 404, (url, response.text)


def test_ids_with_slashes_and_colons_reach_the_tracker(api, tracker):
    _register(tracker, "org/facial:v1", V1)
    promoted = _promote(api, "org/facial:v1")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["model"]["model_id"] == "org/facial:v1"


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("GET", "/v1/models", {"params": {"stage": "retired"}}),
        ("GET", "/v1/models", {"params": {"model_type": "Facial!"}}),
        ("GET", "/v1/models/production/Facial", {}),
        ("POST", "/v1/models/facial-v1:promote", {"json": {}}),
        ("POST", "/v1/models/facial-v1:promote", {"json": {"reason": "   "}}),
        # PostgreSQL text cannot hold NUL: it must be refused before the tracker writes it.
        ("POST", "/v1/models/facial-v1:promote", {"json": {"reason": "a\x00b"}}),
        ("POST", "/v1/models/facial:rollback", {"json": {"reason": "\x00"}}),
        ("POST", "/v1/models/facial-v1:promote", {"json": {"reason": "x", "force": True}}),
        ("POST", "/v1/models/facial-v1:promote", {"json": {"reason": "x", "stage": "archived"}}),
        ("POST", "/v1/models/bad id:promote", {"json": {"reason": "x"}}),
        ("POST", "/v1/models/Bad-Type:rollback", {"json": {"reason": "x"}}),
        ("GET", "/v1/metrics/series", {"params": {"model_id": "facial-v1"}}),
        ("GET", "/v1/metrics/series", {"params": {"model_id": "facial-v1", "metric": "acc"}}),
        (
            "GET",
            "/v1/metrics/series",
            {"params": {"model_id": "facial-v1", "metric": "accuracy", "buckets": 0}},
        ),
        (
            "GET",
            "/v1/metrics/series",
            {
                "params": {
                    "model_id": "facial-v1",
                    "metric": "accuracy",
                    "since": "2026-02-01T00:00:00Z",
                    "until": "2026-01-01T00:00:00Z",
                }
            },
        ),
        # Valid ISO 8601, but outside what a UTC datetime can hold once converted.
        (
            "GET",
            "/v1/metrics/series",
            {
                "params": {
                    "model_id": "facial-v1",
                    "metric": "accuracy",
                    "since": "0001-01-01T00:00:00+14:00",
                }
            },
        ),
        (
            "GET",
            "/v1/metrics/series",
            {
                "params": {
                    "model_id": "facial-v1",
                    "metric": "accuracy",
                    "until": "9999-12-31T23:59:59-14:00",
                }
            },
        ),
        ("GET", "/v1/regressions", {"params": {"model_id": "facial-v1", "alpha": 1}}),
        ("GET", "/v1/regressions", {"params": {"model_id": "facial-v1", "threshold": "nan"}}),
        ("GET", "/v1/regressions", {"params": {"model_id": "facial-v1", "recent_window": 2}}),
        ("GET", "/v1/regressions", {"params": {"model_id": "facial-v1", "metric": "nope"}}),
        ("GET", "/v1/weaknesses", {"params": {"min_severity": "low"}}),
    ],
)
def test_bad_parameters_are_422(api, tracker, method, url, kwargs):
    _register(tracker, "facial-v1", V1)
    response = api.request(method, url, headers=api.key("ops"), **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert tracker.get_model("facial-v1").stage == "candidate"


def test_an_unknown_metric_names_the_declared_ones(api, tracker):
    _register(tracker, "facial-v1", V1)
    params = {"model_id": "facial-v1", "metric": "acuracy"}
    response = api.get("/v1/metrics/series", headers=api.key("acme"), params=params)
    assert response.status_code == 422
    assert "did you mean 'accuracy'" in response.json()["detail"]


NEW_ROUTES = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/production/facial", None),
    ("GET", "/v1/models/audit", None),
    ("POST", "/v1/models/facial-v1:promote", {"reason": "x"}),
    ("POST", "/v1/models/facial:rollback", {"reason": "x"}),
    ("GET", "/v1/metrics/series?model_id=facial-v1&metric=accuracy", None),
    ("GET", "/v1/regressions?model_id=facial-v1", None),
    ("GET", "/v1/weaknesses", None),
]


def test_every_new_route_needs_a_valid_key(api, tracker):
    _register(tracker, "facial-v1", V1)
    for method, url, body in NEW_ROUTES:
        for headers in ({}, {"X-API-Key": "srlf_000000000000_" + "a" * 43}):
            response = api.request(method, url, headers=headers, json=body)
            assert response.status_code == 401, (method, url, response.text)
    assert tracker.get_model("facial-v1").stage == "candidate"


def test_only_admin_tenants_change_the_registry(api, tracker):
    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v2", V2)
    tracker.promote("facial-v1", actor="test")
    tracker.promote("facial-v2", actor="test")
    acme = api.key("acme")
    refused = api.post("/v1/models/facial-v1:promote", headers=acme, json={"reason": "mine"})
    assert refused.status_code == 403
    assert "SRLFORGE_GATEWAY_REGISTRY_ADMIN_TENANTS" in refused.json()["detail"]
    back = api.post("/v1/models/facial:rollback", headers=acme, json={"reason": "mine"})
    assert back.status_code == 403
    assert tracker.get_production("facial").model_id == "facial-v2"
    # Reads are open to every tenant.
    assert _production(api).json()["model_id"] == "facial-v2"


def test_without_a_tracker_the_routes_answer_503(make_api):
    api = make_api(tracker="off", registry_admin_tenants=["ops"])
    for method, url, body in NEW_ROUTES:
        response = api.request(method, url, headers=api.key("ops"), json=body)
        assert response.status_code == 503, (method, url, response.text)
        assert "SRLFORGE_GATEWAY_TRACKER=off" in response.json()["detail"]


def _points(model_id: str, values: list[float], start: datetime) -> list[dict]:
    return [
        {
            "model_id": model_id,
            "metric": "accuracy",
            "value": value,
            "step": i,
            "ts": start + timedelta(hours=i),
            "split": "validation",  # registration wrote its evaluation to heldout
        }
        for i, value in enumerate(values)
    ]


def test_metric_series_and_regressions_read_the_tracker(api, tracker):
    _register(tracker, "facial-v1", V1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # 30 good points, then 10 clearly worse ones: a regression by any window.
    tracker.record_metrics(_points("facial-v1", [0.9] * 30 + [0.5] * 10, start))
    headers = api.key("acme")

    series = api.get(
        "/v1/metrics/series",
        headers=headers,
        params={"model_id": "facial-v1", "metric": "accuracy", "split": "validation", "buckets": 4},
    )
    assert series.status_code == 200, series.text
    trend = series.json()
    assert trend["count"] == 40
    assert trend["mean"] == pytest.approx((0.9 * 30 + 0.5 * 10) / 40)
    assert trend["status"] == "worsening" and trend["direction"] == "higher"
    assert len(trend["buckets"]) == 4

    window = {"since": (start + timedelta(hours=35)).isoformat()}
    recent = api.get(
        "/v1/metrics/series",
        headers=headers,
        params={"model_id": "facial-v1", "metric": "accuracy", "split": "validation", **window},
    ).json()
    assert recent["count"] == 5 and recent["max"] == pytest.approx(0.5)

    found = api.get(
        "/v1/regressions",
        headers=headers,
        params={
            "model_id": "facial-v1",
            "metric": ["accuracy"],
            "split": "validation",
            "baseline_window": 20,
            "recent_window": 10,
        },
    )
    assert found.status_code == 200, found.text
    (accuracy,) = found.json()["regressions"]
    assert accuracy["metric"] == "accuracy" and accuracy["regression"] is True
    assert accuracy["recent"] == pytest.approx(0.5)


def test_weaknesses_are_refreshed_and_filtered(api, tracker):
    # facial needs accuracy >= 0.75: 0.5 is below 0.8 x 0.75, a high-severity weakness.
    _register(tracker, "facial-v1", {"accuracy": 0.5, "quality": 0.9, "latency_ms": 100.0})
    tracker.promote("facial-v1", actor="test")
    headers = api.key("acme")
    assert api.get("/v1/weaknesses", headers=headers).json() == {"weaknesses": []}

    refreshed = api.get(
        "/v1/weaknesses", headers=headers, params={"model_type": "facial", "refresh": "true"}
    )
    assert refreshed.status_code == 200, refreshed.text
    (weakness,) = refreshed.json()["weaknesses"]
    assert weakness["model_id"] == "facial-v1" and weakness["metric"] == "accuracy"
    assert weakness["severity"] == "high" and weakness["bound"] == "min"
    high = api.get("/v1/weaknesses", headers=headers, params={"min_severity": "high"}).json()
    assert [w["metric"] for w in high["weaknesses"]] == ["accuracy"]
    other = api.get("/v1/weaknesses", headers=headers, params={"model_type": "animals"}).json()
    assert other["weaknesses"] == []


def test_through_the_grpc_tracker_the_answers_are_the_same(make_api, tracker):
    """The gateway on ``tracker=grpc``: refusals come back over the wire as the same statuses."""
    from tracker_service.grpc_server import build_server

    _register(tracker, "facial-v1", V1)
    _register(tracker, "facial-v3", WORSE)
    server, port, _ = build_server(tracker, "127.0.0.1:0", max_workers=2)
    server.start()
    try:
        api = make_api(
            tracker="grpc", tracker_target=f"127.0.0.1:{port}", registry_admin_tenants=["ops"]
        )
        assert _promote(api, "facial-v1").status_code == 200
        refused = _promote(api, "facial-v3")
        assert refused.status_code == 409
        assert "does not beat production 'facial-v1'" in refused.json()["detail"]
        assert _promote(api, "facial-v99").status_code == 404
        nothing = api.post(
            "/v1/models/facial:rollback", headers=api.key("ops"), json={"reason": "x"}
        )
        assert nothing.status_code == 409
        params = {"model_id": "facial-v1", "metric": "acuracy"}
        unknown = api.get("/v1/metrics/series", headers=api.key("acme"), params=params)
        assert unknown.status_code == 422 and "did you mean 'accuracy'" in unknown.json()["detail"]
        listed = api.get("/v1/models", headers=api.key("acme")).json()["models"]
        assert {m["model_id"]: m["stage"] for m in listed} == {
            "facial-v1": "production",
            "facial-v3": "candidate",
        }
    finally:
        server.stop(grace=None)
