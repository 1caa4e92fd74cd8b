"""``POST /v1/models:select``: the weighted score, weights from settings, hard limits, the
rationale; candidates from the request or from the tracker's registry."""

from __future__ import annotations

import pytest

from gateway.selection import Candidate, SelectRequest, select_models

URL = "/v1/models:select"
ACCURATE = {
    "model_id": "facial-big",
    "model_type": "facial",
    "evaluation": {"accuracy": 0.95, "quality": 0.9},
    "cost_per_token": 4e-6,
    "latency_ms": 900.0,
}
CHEAP = {
    "model_id": "facial-small",
    "model_type": "facial",
    "evaluation": {"accuracy": 0.7, "quality": 0.7},
    "cost_per_token": 1e-7,
    "latency_ms": 40.0,
}


def _rank(body) -> list[str]:
    return [r["model_id"] for r in body["ranking"]]


def test_scores_follow_the_documented_formula(settings_for):
    settings = settings_for()
    request = SelectRequest(model_type="facial", responsibilities=["facial", "lipsync"])
    result = select_models(request, [Candidate(**ACCURATE)], settings, source="request")
    row = result.ranking[0]
    b = row.breakdown
    assert b["capability"].score == pytest.approx((0.95 + 0.9) / 2, abs=1e-6)
    assert b["responsibility"].score == pytest.approx(0.5, abs=1e-6)
    assert "missing lipsync" in b["responsibility"].basis
    assert b["cost"].score == pytest.approx(2e-6 / (2e-6 + 4e-6), abs=1e-6)
    assert b["latency"].score == pytest.approx(250 / (250 + 900), abs=1e-6)
    # Scores are reported to 6 decimals.
    assert sum(result.weights.values()) == pytest.approx(1.0)
    assert row.total == pytest.approx(sum(c.contribution for c in b.values()), abs=1e-5)


def test_weights_come_from_settings_and_change_the_winner(make_api):
    body = {"model_type": "facial", "candidates": [ACCURATE, CHEAP]}
    quality_first = make_api(
        select_weight_capability=1.0, select_weight_cost=0.0, select_weight_latency=0.0
    )
    thrift_first = make_api(
        select_weight_capability=0.1, select_weight_cost=1.0, select_weight_latency=1.0
    )
    a = quality_first.post(URL, headers=quality_first.key("acme"), json=body).json()
    b = thrift_first.post(URL, headers=thrift_first.key("acme"), json=body).json()
    assert _rank(a) == ["facial-big", "facial-small"]
    assert _rank(b) == ["facial-small", "facial-big"]
    assert a["weights"]["capability"] == pytest.approx(1.0 / 1.3)
    assert "facial-big ranks first" in a["rationale"]
    assert "beats facial-small" in a["rationale"] and "capability" in a["rationale"]
    assert "facial-small ranks first" in b["rationale"]


def test_hard_limits_exclude_with_reasons_and_unknowns_score_zero(api):
    mystery = {"model_id": "mystery", "evaluation": {"accuracy": 0.99}}
    other_type = {**CHEAP, "model_id": "animals-1", "model_type": "animals"}
    body = {
        "model_type": "facial",
        "candidates": [ACCURATE, CHEAP, mystery, other_type],
        "max_latency_ms": 500,
    }
    result = api.post(URL, headers=api.key("acme"), json=body).json()
    assert _rank(result) == ["facial-small"]
    reasons = {e["model_id"]: " ".join(e["reasons"]) for e in result["excluded"]}
    assert "latency 900 ms above the limit 500 ms" in reasons["facial-big"]
    assert "latency unknown" in reasons["mystery"]
    assert "serves animals, not facial" in reasons["animals-1"]
    no_limits = api.post(URL, headers=api.key("acme"), json={"candidates": [mystery]}).json()
    breakdown = no_limits["ranking"][0]["breakdown"]
    assert breakdown["cost"]["score"] == 0.0 and breakdown["cost"]["basis"] == "unknown cost"
    assert breakdown["latency"]["score"] == 0.0


def test_ties_break_on_the_id_and_bad_requests_are_422(api):
    headers = api.key("acme")
    twins = [{**CHEAP, "model_id": "b"}, {**CHEAP, "model_id": "a"}]
    assert _rank(api.post(URL, headers=headers, json={"candidates": twins}).json()) == ["a", "b"]
    for body in (
        {"candidates": []},
        {"candidates": [{**CHEAP, "price": 1}]},
        {"candidates": [{**CHEAP, "latency_ms": -1}]},
        {"min_capability": 2},
    ):
        response = api.post(URL, headers=headers, json=body)
        assert response.status_code == 422, body
    nan = api.post(
        URL,
        headers={**headers, "content-type": "application/json"},
        content=b'{"candidates": [{"model_id": "x", "latency_ms": NaN}]}',
    )
    assert nan.status_code == 422


@pytest.fixture
def tracker_url(tmp_path):
    from tracker_service.db import upgrade

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    return url


def _register(url: str, model_id: str, evaluation: dict, promote: bool, **config):
    from tracker_service.embedded import EmbeddedTracker

    with EmbeddedTracker(url) as tracker:
        tracker.register_model(
            model_type="facial",
            model_id=model_id,
            evaluation=evaluation,
            rules_version="1.0.0+000000000000",
            config=config,
        )
        if promote:
            tracker.promote(model_id, actor="test")


def test_candidates_come_from_the_tracker_registry(make_api, tracker_url):
    _register(
        tracker_url,
        "facial-v1",
        {"accuracy": 0.8, "quality": 0.8, "latency_ms": 120.0, "cost_per_token": 1e-7},
        promote=True,
        responsibilities=["lipsync"],
    )
    _register(
        tracker_url,
        "facial-v2",
        {"accuracy": 0.6, "quality": 0.6, "latency_ms": 300.0},
        promote=False,
    )
    api = make_api(tracker="embedded", tracker_db_url=tracker_url)
    body = {"model_type": "facial", "responsibilities": ["facial", "lipsync"]}
    result = api.post(URL, headers=api.key("acme"), json=body).json()
    assert result["source"] == "tracker"
    assert _rank(result) == ["facial-v1", "facial-v2"]
    top = result["ranking"][0]["breakdown"]
    assert top["responsibility"]["score"] == 1.0
    assert top["latency"]["basis"] == "120 ms"
    assert result["ranking"][1]["breakdown"]["responsibility"]["score"] == 0.5


def test_no_tracker_and_no_candidates_is_explained(api):
    response = api.post(URL, headers=api.key("acme"), json={"model_type": "facial"})
    assert response.status_code == 422
    assert "candidates" in response.json()["detail"]


def test_a_rules_upload_asks_the_tracker_to_retrain_what_changed(make_api, tracker_url):
    import yaml

    from srlforge.rules import DATA_DIR, available_versions

    _register(
        tracker_url,
        "facial-v1",
        {"accuracy": 0.8, "quality": 0.8, "latency_ms": 120.0},
        promote=True,
    )
    api = make_api(tracker="embedded", tracker_db_url=tracker_url)
    root = DATA_DIR / available_versions()[-1]
    facial = yaml.safe_load((root / "facial.yaml").read_text())
    sounds = yaml.safe_load((root / "sounds.yaml").read_text())
    files = {
        "facial.yaml": yaml.safe_dump({**facial, "description": "new facial rules"}),
        "sounds.yaml": yaml.safe_dump({**sounds, "description": "new sound rules"}),
    }
    response = api.post(
        "/v1/rules", headers=api.key("acme"), json={"version": "8.0.0", "files": files}
    )
    assert response.status_code == 201, response.text
    retrain = response.json()["retrain"]
    assert set(retrain) == {"facial", "sounds"}
    assert retrain["sounds"]["status"] == "no production model"
    facial_outcome = retrain["facial"]
    # The tracker fires only on two conditions; the rules change is one of them, and met.
    assert facial_outcome["status"] == "conditions not met"
    conditions = {c["name"]: c["met"] for c in facial_outcome["conditions"]}
    assert conditions["rules_version_changed"] is True
    stored = api.get(f"/v1/rules/uploads/{response.json()['upload_id']}", headers=api.key("acme"))
    assert stored.json()["retrain"] == retrain


def test_a_malformed_model_type_is_a_422_not_a_tracker_error(make_api, tracker_url):
    api = make_api(tracker="embedded", tracker_db_url=tracker_url)
    response = api.post(URL, headers=api.key("acme"), json={"model_type": "Facial!"})
    assert response.status_code == 422
    assert "body.model_type" in response.json()["detail"]
