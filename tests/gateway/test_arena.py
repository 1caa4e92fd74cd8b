"""``/v1/arena``: deterministic samples, verification under the scenario's own rules, and
malformed steps as verdicts, never errors."""

from __future__ import annotations

import pytest

from srlforge.arena import get_arena
from srlforge.schema import Scenario

# Arenas whose modules are committed and stable; the others are being written alongside.
MODEL_TYPES = ["facial", "animals"]


def _sample(api, headers, model_type="facial", **params):
    response = api.get(f"/v1/arena/{model_type}/sample", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_samples_are_deterministic_and_carry_the_action_schema(api, model_type):
    headers = api.key("acme")
    first = _sample(api, headers, model_type, seed=7, index=3, difficulty=4)
    again = _sample(api, headers, model_type, seed=7, index=3, difficulty=4)
    other = _sample(api, headers, model_type, seed=7, index=4, difficulty=4)
    assert first == again
    assert first["scenario"] != other["scenario"]
    local = get_arena(model_type).sample(7, 3, 4)
    assert first["scenario"] == local.model_dump(mode="json")
    assert first["action_schema"]["type"] == "object"
    held_out = _sample(api, headers, model_type, seed=1_000_000)
    assert held_out["scenario"]["split"] == "heldout"


def test_bad_sample_requests(api):
    headers = api.key("acme")
    assert api.get("/v1/arena/dragons/sample", headers=headers).status_code == 404
    for params in ({"difficulty": 6}, {"seed": -1}, {"rules_version": "latest; rm -rf"}):
        response = api.get("/v1/arena/facial/sample", headers=headers, params=params)
        assert response.status_code == 422, params
    response = api.get(
        "/v1/arena/facial/sample", headers=headers, params={"rules_version": "9.9.9"}
    )
    assert response.status_code == 404
    assert "9.9.9" in response.json()["detail"]


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_expert_episode_verifies_step_by_step(api, model_type):
    headers = api.key("acme")
    scenario = _sample(api, headers, model_type, seed=1, index=2, difficulty=3)["scenario"]
    expert = get_arena(model_type).expert_trajectory(Scenario.model_validate(scenario))
    steps = [s.model_dump(mode="json") for s in expert.steps]
    response = api.post(
        "/v1/arena/verify", headers=headers, json={"scenario": scenario, "steps": steps}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_type"] == model_type
    assert body["rules_version"] == scenario["rules_version"]
    assert len(body["steps"]) == len(steps)
    assert all(v["format_valid"] for v in body["steps"])
    assert body["episode"]["success"] is True
    assert body["episode"]["outcome_reward"] == pytest.approx(expert.outcome.outcome_reward)


def test_malformed_steps_are_verdicts_not_errors(api):
    headers = api.key("acme")
    scenario = _sample(api, headers, seed=2, index=0, difficulty=2)["scenario"]
    steps = ["not a completion", {"action": "{broken json"}, {"action": None}, 42, [1, [2]]]
    response = api.post(
        "/v1/arena/verify", headers=headers, json={"scenario": scenario, "steps": steps}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["episode"]["success"] is False
    assert body["episode"]["outcome_reward"] == 0.0
    verdicts = body["steps"][: scenario["max_steps"]]
    assert verdicts and not any(v["format_valid"] for v in verdicts)


def test_a_scenario_under_unknown_rules_is_refused(api):
    headers = api.key("acme")
    scenario = _sample(api, headers)["scenario"]
    forged = {**scenario, "rules_version": "1.0.0+000000000000"}
    response = api.post("/v1/arena/verify", headers=headers, json={"scenario": forged, "steps": []})
    assert response.status_code == 404
    assert "1.0.0+000000000000" in response.json()["detail"]


def test_too_many_steps_is_a_422(api):
    headers = api.key("acme")
    scenario = _sample(api, headers)["scenario"]
    response = api.post(
        "/v1/arena/verify", headers=headers, json={"scenario": scenario, "steps": [{}] * 257}
    )
    assert response.status_code == 422
    assert "body.steps" in response.json()["detail"]


def test_an_edited_scenario_is_refused_not_verified(api):
    headers = api.key("acme")
    scenario = _sample(api, headers, seed=3, index=1, difficulty=2)["scenario"]
    edits = [
        {**scenario, "objective": "anything goes"},
        {**scenario, "max_steps": scenario["max_steps"] + 5},
        {**scenario, "state": {}},  # a world the arena never made: no 500, a 422
        {**scenario, "state": {**scenario["state"], "unexpected": [1, 2, 3]}},
    ]
    for edited in edits:
        response = api.post(
            "/v1/arena/verify", headers=headers, json={"scenario": edited, "steps": []}
        )
        assert response.status_code == 422, response.text
        assert "differs from the one the arena generates" in response.json()["detail"]
        reward = api.post(
            "/v1/rewards/facial",
            headers=headers,
            json={"example": {"scenario": edited}, "response": ""},
        )
        assert reward.status_code == 422
